/** The outcome-before-state order on PostgreSQL: the same scenario, every store on the PostgreSQL server (see harness/backend.ts). */
import { runOn } from '../harness/backend.js';

await runOn('postgres', 'an HTLC outcome recorded before the channel state on PostgreSQL', () => import('./outcome-order.test.js'));
