/**
 * The tower as a child process, for the crash test: `node tower-child.js <db path> [port]`. Prints
 * `{"port":N}` on stdout once listening; runs until killed.
 */
import { pino } from 'pino';
import { openTowerStore } from '../../../src/store/tower.js';
import { WatchtowerServer } from '../../../src/watchtower/server/server.js';
import { CHAIN, TOWER_KEY } from './client.js';

const [dbPath, port] = process.argv.slice(2);
if (!dbPath) throw new Error('tower-child: usage: tower-child <db path> [port]');
const store = await openTowerStore(dbPath);
const server = new WatchtowerServer();
await server.start({
  listen: [{ host: '127.0.0.1', port: Number(port ?? 0) }],
  towerKey: TOWER_KEY,
  chainHash: CHAIN,
  store,
  log: pino({ level: process.env.ANODE_TEST_LOG ?? 'silent' }, pino.destination(2)),
});
process.stdout.write(JSON.stringify({ port: server.bound[0]!.port }) + '\n');
process.on('SIGTERM', () => {
  void server.stop().then(() => store.close()).then(() => process.exit(0));
});
