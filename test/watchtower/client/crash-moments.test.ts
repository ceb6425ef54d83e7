/**
 * kill -9 of the client at three exact moments (issue 6, crash safety), forced by a hook in the child
 * (crash-child.ts), not by timing:
 *   (a) after backupState returned, before the state was committed to a session or sent;
 *   (b) after the (seq, hint, ciphertext) commit, before anything was sent for it (so before any ack);
 *   (c) after the tower stored the update and answered, before the client applied the ack.
 * Each time the parent checks the databases at the moment of the kill, restarts the client on the same
 * file, and asserts that the tower holds every state exactly once and that Stats and ListTowers agree.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { breachHint } from '../../../src/watchtower/blob/derivation.js';
import { openSqliteStore } from '../../../src/store/database.js';
import { startTower, type TestTower } from '../server/client.js';
import { tempDir } from '../../harness/daemon.js';
import { breachFor, startClient } from './helpers.js';
import { until, withTimeout } from '../../harness/wait.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'crash-child.js');
const COUNT = 20;

const hintOf = (h: number): string => breachHint(breachFor(1, h).breachTxid).toString('hex');

async function towerHints(tower: TestTower): Promise<{ hint: string; seq: number }[]> {
  const out: { hint: string; seq: number }[] = [];
  for (const row of await tower.store.db.selectFrom('tower_sessions').select('id').execute()) {
    for (const u of await tower.store.listUpdates(Buffer.from(row.id as Buffer))) out.push({ hint: u.hint.toString('hex'), seq: u.seqNum });
  }
  return out;
}

/** Runs the child until it stalls at `moment` with every backupState returned, then kill -9. */
async function runUntilHook(dbPath: string, port: number, moment: 'a' | 'b' | 'c'): Promise<{ returned: number[]; info: Record<string, unknown> }> {
  const child = spawn(process.execPath, [CHILD, dbPath, String(port), moment, String(COUNT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const returned: number[] = [];
  let info: Record<string, unknown> | undefined;
  let done = false;
  try {
    const reached = new Promise<void>((resolve, reject) => {
      lines.on('line', (l) => {
        const ok = /^ok (\d+)$/.exec(l);
        if (ok) returned.push(Number(ok[1]));
        const hook = /^hook ([abc]) (.*)$/.exec(l);
        if (hook) info = JSON.parse(hook[2]!) as Record<string, unknown>;
        if (l === 'done') done = true;
        if (info && done) resolve();
      });
      void exited.then(() => reject(new Error('child exited before the hook')));
    });
    await withTimeout(reached, 30_000, `the child to reach moment ${moment}`).catch((e: Error) => {
      throw new Error(`${e.message} (hook ${info ? 'fired' : 'not fired'}, done ${done})`);
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  return { returned, info: info! };
}

async function crashAt(moment: 'a' | 'b' | 'c'): Promise<void> {
  const dir = tempDir('anode-wtclient-');
  const dbPath = join(dir, 'anode.sqlite3');
  const tower = await startTower();
  try {
    const { returned, info } = await runUntilHook(dbPath, tower.port, moment);
    assert.deepEqual(returned, Array.from({ length: COUNT }, (_, i) => i + 1), 'every backupState returned before the kill');

    // The databases at the moment of the kill.
    const peek = await openSqliteStore(dbPath);
    const sessions = await peek.wtclient.listSessions();
    const pendingAtKill = await peek.wtclient.countPending();
    const committedAtKill = sessions.reduce((a, s) => a + s.numCommitted, 0);
    const ackedAtKill = sessions.reduce((a, s) => a + s.numAcked, 0);
    const committedHints = (await Promise.all(sessions.map((s) => peek.wtclient.committedUpdates(s.id)))).flat().map((u) => u.hint.toString('hex'));
    await peek.close();
    const atTower = await towerHints(tower);
    assert.equal(ackedAtKill + committedAtKill + pendingAtKill, COUNT, 'every returned state is acked, committed or queued: none lost, none doubled');
    if (moment === 'a') {
      assert.ok(pendingAtKill > 0, 'states queued, not yet committed');
      assert.equal(committedAtKill, 0);
      assert.equal(atTower.length, ackedAtKill, 'the tower has only what was acked');
    } else if (moment === 'b') {
      const hints = info.hints as string[];
      assert.ok(hints.length > 0);
      assert.deepEqual(committedHints.sort(), [...hints].sort(), 'exactly the stalled batch is committed');
      for (const h of hints) assert.ok(!atTower.some((x) => x.hint === h), 'committed but never sent');
      assert.equal(atTower.length, ackedAtKill);
    } else {
      const seq = info.seq as number;
      const stored = atTower.find((x) => x.seq === seq);
      assert.ok(stored, `the tower stored seq ${seq}`);
      assert.ok(committedHints.includes(stored.hint), 'the client still holds it committed (ack never applied)');
      assert.equal(atTower.length, ackedAtKill + 1, 'the tower has one more than the client knows acked');
    }

    // Restart on the same file: everything reaches the tower exactly once.
    const c = await startClient(dbPath, { tuning: { commitmentTypes: ['legacy'] } });
    try {
      await until(async () => (await c.store.wtclient.countPending()) === 0 && (await c.store.wtclient.listSessions()).every((s) => s.numCommitted === 0), { what: 'drained', timeoutMs: 30_000 });
      const hints = await towerHints(tower);
      assert.equal(hints.length, COUNT, 'the tower holds every state');
      assert.equal(new Set(hints.map((x) => x.hint)).size, COUNT, 'each exactly once');
      for (let h = 1; h <= COUNT; h++) assert.ok(hints.some((x) => x.hint === hintOf(h)), `state ${h} at the tower`);
      assert.deepEqual(
        hints.map((x) => x.seq).sort((p, q) => p - q),
        Array.from({ length: COUNT }, (_, i) => i + 1),
        'one session, sequence numbers 1..n without gap or reuse',
      );
      assert.equal((await tower.store.counts()).updates, COUNT);

      const [tw] = await c.client.listTowers({ includeSessions: true, excludeExhaustedSessions: false });
      const ss = tw!.sessionInfo.flatMap((i) => i.sessions);
      assert.equal(ss.length, 1);
      assert.equal(ss[0]!.numBackups, COUNT, 'ListTowers: acked = what the tower holds');
      assert.equal(ss[0]!.numPendingBackups, 0);
      const info2 = await c.client.getTowerInfo(tw!.pubkey, { includeSessions: true, excludeExhaustedSessions: false });
      assert.deepEqual(info2, tw, 'GetTowerInfo agrees');
      // Stats are in memory, since this start: the queued states were accepted into the session now.
      const st = await c.client.stats();
      assert.deepEqual(st, { numBackups: pendingAtKill, numPendingBackups: 0, numFailedBackups: 0, numSessionsAcquired: 0, numSessionsExhausted: 0 });
    } finally {
      await c.close();
    }
  } finally {
    await tower.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('kill -9 (a) after backupState returned, before sending: queued states are sent after restart, once', { timeout: 90_000 }, () => crashAt('a'));
test('kill -9 (b) after the (seq, hint, blob) commit, before the ack: the same update is sent after restart, once', { timeout: 90_000 }, () => crashAt('b'));
test('kill -9 (c) after the tower stored the update, before the ack was applied: re-sent with the same seq, stored once', { timeout: 90_000 }, () => crashAt('c'));
