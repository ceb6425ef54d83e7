/** Kill -9 during a commitment exchange on PostgreSQL: the same scenario, every store on the PostgreSQL server (see harness/backend.ts). */
import { runOn } from '../harness/backend.js';

await runOn('postgres', 'kill -9 during a commitment exchange on PostgreSQL', () => import('./crash.test.js'));
