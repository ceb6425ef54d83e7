/** The anode ↔ anode channel scenario on PostgreSQL: the same scenario, every store on the PostgreSQL server (see harness/backend.ts). */
import { runOn } from '../harness/backend.js';

await runOn('postgres', 'the anode ↔ anode channel scenario on PostgreSQL', () => import('./anode-pair.test.js'));
