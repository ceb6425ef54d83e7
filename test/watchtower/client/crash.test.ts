/**
 * kill -9 of the client while it backs up states to a real tower: after each restart nothing that
 * backupState returned is lost, the tower holds every state exactly once, and ListTowers/Stats agree with
 * what the tower holds. Kills land at random moments: before a state is sent, after it is committed
 * but before its ack, after the tower stored it but before the ack was applied.
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
import { startTower } from '../server/client.js';
import { tempDir } from '../../harness/daemon.js';
import { breachFor, startClient } from './helpers.js';
import { until } from '../../harness/wait.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'client-child.js');
const ROUNDS = 5;

test('kill -9 during backups: every state backupState returned reaches the tower exactly once', { timeout: 120_000 }, async () => {
  const dir = tempDir('anode-wtclient-');
  const dbPath = join(dir, 'anode.sqlite3');
  const tower = await startTower();
  try {
    const returned = new Set<number>();
    let next = 1;
    let killedWithCommitted = 0;
    let killedWithQueued = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawn(process.execPath, [CHILD, dbPath, String(tower.port), String(next), '400'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! });
      const killAfter = 5 + Math.floor(Math.random() * 60);
      let seen = 0;
      let last = next - 1;
      const exited = once(child, 'exit');
      await new Promise<void>((resolve) => {
        lines.on('line', (l) => {
          const m = /^ok (\d+)$/.exec(l);
          if (!m) return;
          returned.add(Number(m[1]));
          last = Number(m[1]);
          if (++seen === killAfter) {
            // Let some sends and acks run, then kill at a random moment.
            setTimeout(() => {
              child.kill('SIGKILL');
              resolve();
            }, Math.floor(Math.random() * 30));
          }
        });
        void exited.then(() => resolve());
      });
      await exited;
      const peek = await openSqliteStore(dbPath);
      const sessions = await peek.wtclient.listSessions();
      if (sessions.some((s) => s.numCommitted > 0)) killedWithCommitted++;
      if ((await peek.wtclient.countPending()) > 0) killedWithQueued++;
      await peek.close();
      // States whose backupState was running when killed may or may not be queued; never reuse a height.
      next = last + 50;
    }
    const c = await startClient(dbPath);
    try {
      await until(async () => (await c.store.wtclient.countPending()) === 0 && (await c.store.wtclient.listSessions()).every((s) => s.numCommitted === 0), { what: 'queue drained', timeoutMs: 60_000 });
      const hints: string[] = [];
      for (const row of await tower.store.db.selectFrom('tower_sessions').select('id').execute()) {
        for (const u of await tower.store.listUpdates(Buffer.from(row.id as Buffer))) hints.push(u.hint.toString('hex'));
      }
      assert.equal(new Set(hints).size, hints.length, 'no state stored twice');
      const stored = new Set(hints);
      for (const h of returned) assert.ok(stored.has(breachHint(breachFor(1, h).breachTxid).toString('hex')), `state ${h} returned by backupState is at the tower`);
      const [tw] = await c.client.listTowers({ includeSessions: true, excludeExhaustedSessions: false });
      const acked = tw!.sessionInfo.flatMap((i) => i.sessions).reduce((a, s) => a + s.numBackups, 0);
      assert.equal(acked, hints.length, 'ListTowers counts exactly what the tower holds');
      assert.equal(tw!.sessionInfo.flatMap((i) => i.sessions).reduce((a, s) => a + s.numPendingBackups, 0), 0);
      assert.equal((await c.client.stats()).numPendingBackups, 0);
      assert.ok(returned.size >= ROUNDS * 5);
      // Not a guarantee of every moment, but the kills do land mid-stream.
      assert.ok(killedWithCommitted + killedWithQueued > 0, 'some kill left work in flight');
    } finally {
      await c.close();
    }
  } finally {
    await tower.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
