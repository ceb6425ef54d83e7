/**
 * The watchtower client as a child process, for the kill -9 test:
 * `node client-child.js <db path> <tower port> <first height> <count>`. Adds the tower, then backs up
 * states of channel 1 from <first height> on, printing `ok <height>` once each backupState has returned.
 */
import { breachFor, channelId, startClient, towerUri } from './helpers.js';

const [dbPath, port, first, count] = process.argv.slice(2);
if (!dbPath || !port || !first || !count) throw new Error('client-child: usage: client-child <db> <port> <first> <count>');
const c = await startClient(dbPath);
const t = towerUri(Number(port));
await c.client.addTower(t.pubkey, t.address);
process.stdout.write('ready\n');
for (let h = Number(first); h < Number(first) + Number(count); h++) {
  await c.client.backupState(channelId(1), h, breachFor(1, h));
  process.stdout.write(`ok ${h}\n`);
}
process.stdout.write('done\n');
