/** The watchtower end-to-end scenario on PostgreSQL: the same scenario, every store on the PostgreSQL server (see harness/backend.ts). */
import { runOn } from '../../harness/backend.js';

await runOn('postgres', 'the watchtower end-to-end scenario on PostgreSQL', () => import('./client-btcd.test.js'));
