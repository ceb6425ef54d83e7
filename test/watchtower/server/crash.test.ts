/**
 * Crash test: the tower in a child process, 20 sessions sending 10,000 state updates in total, `kill -9`
 * mid-way. After a restart on the same database every acknowledged update is stored, and every client
 * resumes from its last acknowledged sequence as an LND client does (CreateSession → AlreadyExists with
 * last_applied; re-send of the un-acked update; continue).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openTowerStore } from '../../../src/store/tower.js';
import { WtErrorCode as C, type WtMessage } from '../../../src/watchtower/wire/index.js';
import { blobFor, createSession, hintFor, randomKey, stateUpdateMsg, WtClient } from './client.js';
import type { StaticKey } from '../../../src/transport/noise.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'tower-child.js');
const SESSIONS = 20;
const PER_SESSION = 500;

async function spawnTower(dbPath: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [CHILD, dbPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('tower child exited before listening');
    }),
  ])) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

interface ClientState {
  key: StaticKey;
  /** Highest seq the tower acknowledged (the client's TowerLastApplied). */
  acked: number;
}

/** Sends updates acked+1 … PER_SESSION, LND-style; stops at the first failure (connection gone). */
async function run(port: number, st: ClientState, onAck: () => void): Promise<void> {
  let c: WtClient;
  try {
    c = await WtClient.open(port, st.key);
  } catch {
    return;
  }
  for (let s = st.acked + 1; s <= PER_SESSION; s++) {
    let r: WtMessage | undefined;
    try {
      r = await c.request(stateUpdateMsg(st.key, s, st.acked, s === PER_SESSION ? 1 : 0));
    } catch {
      break;
    }
    if (r?.type !== 605) break;
    assert.equal(r.code, C.OK, `session update ${s}: code ${r.code}`);
    assert.equal(r.lastApplied, s);
    st.acked = s;
    onAck();
  }
  c.close();
}

test('kill -9 during 10,000 updates from 20 sessions: nothing acknowledged is lost; clients resume', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anode-tower-crash-'));
  const dbPath = join(dir, 'watchtower.sqlite3');
  try {
    let tower = await spawnTower(dbPath);
    const clients: ClientState[] = Array.from({ length: SESSIONS }, () => ({ key: randomKey(), acked: 0 }));
    for (const st of clients) assert.equal(((await createSession(tower.port, st.key)) as { code: number }).code, C.OK);

    // Kill somewhere between 30% and 70% of the way.
    const killAt = Math.floor(SESSIONS * PER_SESSION * (0.3 + Math.random() * 0.4));
    let total = 0;
    let killed = false;
    const exited = once(tower.child, 'exit');
    await Promise.all(
      clients.map((st) =>
        run(tower.port, st, () => {
          if (++total >= killAt && !killed) {
            killed = true;
            tower.child.kill('SIGKILL');
          }
        }),
      ),
    );
    const [, signal] = await exited;
    assert.equal(signal, 'SIGKILL');
    const ackedBefore = clients.reduce((n, c) => n + c.acked, 0);
    assert.ok(ackedBefore >= killAt && ackedBefore < SESSIONS * PER_SESSION, `killed mid-way (${ackedBefore} acked)`);

    tower = await spawnTower(dbPath);
    try {
      // 1. Every acknowledged update is in the store (read while the restarted tower runs: WAL readers).
      const store = await openTowerStore(dbPath);
      for (const st of clients) {
        const s = await store.getSession(st.key.publicKey);
        assert.ok(s, 'session survived');
        assert.ok(s.lastApplied === st.acked || s.lastApplied === st.acked + 1, `last_applied ${s.lastApplied} vs acked ${st.acked}`);
        const stored = await store.listUpdates(st.key.publicKey);
        assert.deepEqual(stored.slice(0, st.acked).map((u) => u.seqNum), Array.from({ length: st.acked }, (_, i) => i + 1));
        for (const u of stored) {
          assert.deepEqual(u.hint, hintFor(st.key, u.seqNum));
          assert.deepEqual(u.encryptedBlob, blobFor(u.seqNum));
        }
      }
      await store.close();

      // 2. Each client resumes: CreateSession says AlreadyExists with last_applied ≥ its ack.
      for (const st of clients) {
        const r = (await createSession(tower.port, st.key)) as { code: number; lastApplied: number };
        if (st.acked === 0 && r.code === C.OK) continue; // never got an ack: a fresh session is fine
        assert.equal(r.code, C.CreateSessionAlreadyExists);
        assert.ok(r.lastApplied >= st.acked);
      }
      // 3. … and continues from its last acknowledged sequence to the end.
      await Promise.all(clients.map((st) => run(tower.port, st, () => {})));
      assert.ok(clients.every((c) => c.acked === PER_SESSION), 'every client finished');
      const check = await openTowerStore(dbPath);
      assert.deepEqual(await check.counts(), { sessions: SESSIONS, updates: SESSIONS * PER_SESSION });
      await check.close();
    } finally {
      tower.child.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
