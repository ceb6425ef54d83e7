/**
 * One tower process of the scale-out test: `node tower-child.js <tower database> <btcd rpc JSON>`.
 * Serves wtwire on a free port against the shared database and runs the lookout while it holds the
 * lookout lock (retrying every 100 ms). Prints `{"port":N}` once listening and `{"lookout":true}` when
 * its lookout starts; runs until killed.
 */
import { BitcoindRpcClient } from '../../../src/chain/bitcoind-rpc.js';
import { openTowerDatabase } from '../../../src/store/tower.js';
import { Lookout } from '../../../src/watchtower/lookout/index.js';
import { LookoutLease } from '../../../src/watchtower/lookout/lease.js';
import { WatchtowerServer } from '../../../src/watchtower/server/server.js';
import { testLogger } from '../../harness/daemon.js';
import { CHAIN, TOWER_KEY } from '../server/client.js';

const [location, rpc] = process.argv.slice(2);
if (!location || !rpc) throw new Error('tower-child: usage: tower-child <tower database> <btcd rpc JSON>');
const log = testLogger();
const store = await openTowerDatabase(location);
const server = new WatchtowerServer();
await server.start({ listen: [{ host: '127.0.0.1', port: 0 }], towerKey: TOWER_KEY, chainHash: CHAIN, store, log });
const chain = new BitcoindRpcClient({ ...(JSON.parse(rpc) as { host: string; port: number; user: string; password: string }), retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 } });
const lookout = new Lookout({ chain, store, log, pollIntervalMs: 50 });
const reported = {
  start: async () => {
    await lookout.start();
    process.stdout.write(JSON.stringify({ lookout: true }) + '\n');
  },
  stop: () => lookout.stop(),
};
const lease = new LookoutLease(store, reported, log, 100);
process.stdout.write(JSON.stringify({ port: server.bound[0]!.port }) + '\n');
await lease.start();
process.on('SIGTERM', () => {
  void lease
    .stop()
    .then(() => server.stop())
    .then(() => store.close())
    .then(() => process.exit(0));
});
