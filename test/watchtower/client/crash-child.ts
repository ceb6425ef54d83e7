/**
 * The watchtower client as a child process that stops at one exact moment, for the deterministic kill -9
 * test: `node crash-child.js <db> <tower port> <moment> <count>`, moment one of
 *   a  — a state's backupState has returned, the worker is about to commit it to a session (nothing sent);
 *   b  — the (seq, hint, ciphertext) commit is done, nothing sent yet for it, so no ack;
 *   c  — the tower has stored the update and answered OK, the client has not applied the ack.
 * The hook sits in the store the client is given (a Proxy over the real repository), so the client code
 * runs unchanged. The child backs up states 1..5 of channel 1 and waits until they are acked (a warm
 * session), arms the hook, backs up 6..<count>, prints `ok <h>` once each backupState returned, and
 * `hook <moment> <json>` when it stalls; it then stalls forever for the parent to kill it.
 */
import { openSqliteStore } from '../../../src/store/database.js';
import type { WtClientRepository } from '../../../src/store/wtclient.js';
import { createWatchtowerClient } from '../../../src/watchtower/client/index.js';
import { testLogger } from '../../harness/daemon.js';
import { CHAIN } from '../server/client.js';
import { breachFor, channelId, FAST, keychain, towerUri } from './helpers.js';
import { until } from '../../harness/wait.js';

const [dbPath, port, moment, count] = process.argv.slice(2);
if (!dbPath || !port || !moment || !count || !['a', 'b', 'c'].includes(moment)) throw new Error('crash-child: usage: crash-child <db> <port> a|b|c <count>');

const store = await openSqliteStore(dbPath);
const real = store.wtclient;
let armed = false;
let fired = false;
const stall = (info: unknown): Promise<never> => {
  fired = true;
  process.stdout.write(`hook ${moment} ${JSON.stringify(info)}\n`);
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
};
const hooked = new Proxy(real, {
  get(target, prop, recv) {
    const v = Reflect.get(target, prop, recv) as unknown;
    if (typeof v !== 'function') return v;
    const fn = (v as (...a: unknown[]) => unknown).bind(target);
    if (prop === 'commitUpdates') {
      return async (...args: Parameters<WtClientRepository['commitUpdates']>) => {
        if (armed && !fired && moment === 'a') return stall({ backups: args[1].map((i) => i.backupId) });
        const r = await (fn(...args) as ReturnType<WtClientRepository['commitUpdates']>);
        if (armed && !fired && moment === 'b' && r.length > 0) return stall({ seqs: r.map((u) => u.seqNum), hints: r.map((u) => u.hint.toString('hex')) });
        return r;
      };
    }
    if (prop === 'ackUpdate') {
      return async (...args: Parameters<WtClientRepository['ackUpdate']>) => {
        if (armed && !fired && moment === 'c') return stall({ session: args[0].toString('hex'), seq: args[1] });
        return fn(...args);
      };
    }
    return fn;
  },
});

const client = createWatchtowerClient({ store: hooked, keychain: keychain(), chainHash: CHAIN, log: testLogger(), tuning: { ...FAST, commitmentTypes: ['legacy'] } });
await client.start();
const t = towerUri(Number(port));
await client.addTower(t.pubkey, t.address);
for (let h = 1; h <= 5; h++) {
  await client.backupState(channelId(1), h, breachFor(1, h));
  process.stdout.write(`ok ${h}\n`);
}
await until(async () => (await real.listSessions()).reduce((a, s) => a + s.numAcked, 0) === 5, 'warm-up acked');
armed = true;
for (let h = 6; h <= Number(count); h++) {
  await client.backupState(channelId(1), h, breachFor(1, h));
  process.stdout.write(`ok ${h}\n`);
}
process.stdout.write('done\n');
setInterval(() => undefined, 1 << 30);
