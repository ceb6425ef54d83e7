/**
 * A tower that scales out: three tower processes (standing for three machines) on one PostgreSQL
 * database, 20 clients streaming state updates to all three at once, the tower that runs the lookout
 * SIGKILLed mid-stream. Its clients reconnect to the others and resume as LND clients do
 * (CreateSession → AlreadyExists with last_applied; re-send; continue). Afterwards every acknowledged
 * update is in the database exactly once, another process has taken over the lookout lock, and its
 * lookout punishes a breach on btcd (the justice transaction is mined).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openTowerDatabase } from '../../../src/store/tower.js';
import type { StaticKey } from '../../../src/transport/noise.js';
import { WtErrorCode as C, type WtMessage } from '../../../src/watchtower/wire/index.js';
import { useBtcd } from '../../harness/btcd.js';
import { usePostgres } from '../../harness/postgres.js';
import { sleep, until } from '../../harness/wait.js';
import { BLOB_TYPE, justiceKitFor, makeBreach, Victim } from '../lookout/harness.js';
import { blobFor, createSession, hintFor, randomKey, stateUpdateMsg, WtClient } from '../server/client.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'tower-child.js');
const TOWERS = 3;
const CLIENTS = 20;
const PER_CLIENT = 150;

const btcd = useBtcd('the scale-out tower test');
const pg = usePostgres('the scale-out tower test');

interface TowerProcess {
  child: ChildProcess;
  port: number;
  /** Resolves when this process's lookout starts (it holds the lookout lock). */
  lookout: Promise<void>;
}

async function spawnTower(location: string): Promise<TowerProcess> {
  const child = spawn(process.execPath, [CHILD, location, JSON.stringify(btcd.node.rpcOptions)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let lookoutStarted!: () => void;
  const lookout = new Promise<void>((r) => (lookoutStarted = r));
  const port = new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { port?: number; lookout?: boolean };
      if (m.port) resolve(m.port);
      if (m.lookout) lookoutStarted();
    });
    child.once('exit', () => reject(new Error('tower child exited before listening')));
  });
  return { child, port: await port, lookout };
}

interface ClientState {
  key: StaticKey;
  /** Highest seq a tower acknowledged. */
  acked: number;
  tower: number;
}

/** Streams acked+1 … PER_CLIENT to one tower; stops at the first failure (the connection is gone). */
async function stream(port: number, st: ClientState, onAck: () => void): Promise<void> {
  let c: WtClient;
  try {
    c = await WtClient.open(port, st.key);
  } catch {
    return;
  }
  for (let s = st.acked + 1; s <= PER_CLIENT; s++) {
    let r: WtMessage | undefined;
    try {
      r = await c.request(stateUpdateMsg(st.key, s, st.acked));
    } catch {
      break;
    }
    if (r?.type !== 605) break;
    assert.equal(r.code, C.OK, `update ${s}: code ${r.code}`);
    assert.equal(r.lastApplied, s);
    st.acked = s;
    onAck();
  }
  c.close();
}

describe('tower scale-out on PostgreSQL', { skip: btcd.skip || pg.skip, timeout: 300_000 }, () => {
  it('3 towers, 20 clients, the lookout tower SIGKILLed mid-stream: nothing acknowledged lost, lookout taken over, breach punished', async () => {
    const location = await pg.fresh();
    const towers: TowerProcess[] = [];
    try {
      // The first tower wins the lookout lock; the others wait for it.
      towers.push(await spawnTower(location));
      await towers[0]!.lookout;
      for (let i = 1; i < TOWERS; i++) towers.push(await spawnTower(location));

      const clients: ClientState[] = Array.from({ length: CLIENTS }, (_, i) => ({ key: randomKey(), acked: 0, tower: i % TOWERS }));
      for (const st of clients) assert.equal(((await createSession(towers[st.tower]!.port, st.key)) as { code: number }).code, C.OK);

      // All three serve at once; the lookout tower dies between 30% and 70% of the way.
      const killAt = Math.floor(CLIENTS * PER_CLIENT * (0.3 + Math.random() * 0.4));
      let total = 0;
      const victim = towers[0]!;
      const exited = once(victim.child, 'exit');
      await Promise.all(
        clients.map((st) =>
          stream(towers[st.tower]!.port, st, () => {
            if (++total === killAt) victim.child.kill('SIGKILL');
          }),
        ),
      );
      const [, signal] = await exited;
      assert.equal(signal, 'SIGKILL');
      const orphans = clients.filter((c) => c.tower === 0);
      assert.ok(orphans.some((c) => c.acked < PER_CLIENT), 'the kill cut some clients off mid-stream');

      // Its clients reconnect to the other towers and resume from what the database says.
      for (const st of orphans) {
        st.tower = 1 + (clients.indexOf(st) % (TOWERS - 1));
        const r = (await createSession(towers[st.tower]!.port, st.key)) as { code: number; lastApplied: number };
        if (st.acked === 0 && r.code === C.OK) continue;
        assert.equal(r.code, C.CreateSessionAlreadyExists);
        assert.ok(r.lastApplied === st.acked || r.lastApplied === st.acked + 1, `last_applied ${r.lastApplied} vs acked ${st.acked}`);
      }
      await Promise.all(orphans.map((st) => stream(towers[st.tower]!.port, st, () => {})));
      assert.ok(clients.every((c) => c.acked === PER_CLIENT), 'every client finished');

      // Every acknowledged update is in the database, exactly once, as sent.
      const db = await openTowerDatabase(location);
      try {
        for (const st of clients) {
          const stored = await db.listUpdates(st.key.publicKey);
          assert.deepEqual(stored.map((u) => u.seqNum), Array.from({ length: PER_CLIENT }, (_, i) => i + 1));
          for (const u of stored) {
            assert.deepEqual(u.hint, hintFor(st.key, u.seqNum));
            assert.deepEqual(u.encryptedBlob, blobFor(u.seqNum));
          }
        }
        assert.deepEqual(await db.counts(), { sessions: CLIENTS, updates: CLIENTS * PER_CLIENT });

        // Another process took the lookout over …
        const tookOver = Promise.race(towers.slice(1).map((t) => t.lookout)).then(() => true);
        assert.ok(await Promise.race([tookOver, sleep(30_000).then(() => false)]), 'another tower took the lookout lock within 30 s');
        // … and punishes a breach whose justice kit reached a tower that does not run the lookout
        // (or does: whichever, the database is one).
        const b = await makeBreach(btcd.node, 'anchor', 600_000n, 300_000n);
        const v = await Victim.create(towers[2]!.port, BLOB_TYPE.anchor);
        const kit = justiceKitFor(b, BLOB_TYPE.anchor);
        await v.upload(kit.hint, kit.blob);
        await btcd.node.sendRawTransaction(b.hex);
        await btcd.node.generate(1);
        await until(async () => (await db.listPunishments()).some((p) => p.breachTxid === b.txid && p.publishAttempts > 0), 'the lookout published a justice transaction');
        const p = (await db.listPunishments()).find((x) => x.breachTxid === b.txid)!;
        assert.equal(p.lastError, null, `published without error (${p.lastError})`);
        await btcd.node.generate(1);
        await until(async () => (await db.getPunishment(p.justiceTxid))?.outcome === 'confirmed', 'justice transaction mined');
        assert.equal((await db.listPunishments()).filter((x) => x.breachTxid === b.txid).length, 1, 'punished once, by one lookout');
      } finally {
        await db.close();
      }
    } finally {
      for (const t of towers) t.child.kill('SIGKILL');
    }
  });
});
