/**
 * The tower database on both backends (SQLite and PostgreSQL): the server's and the lookout's store
 * contracts, restart; and on PostgreSQL what scale-out relies on — two processes' stores on one database
 * racing on the same session (the database orders them), and the lookout lock.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import pg from 'pg';
import { openTowerDatabase, type TowerDatabase } from '../../src/store/tower.js';
import type { PunishmentRecord } from '../../src/watchtower/lookout/store.js';
import type { TowerSession } from '../../src/watchtower/server/rules.js';
import { WtErrorCode as C } from '../../src/watchtower/wire/index.js';
import { blobFor, hintFor, randomKey } from '../watchtower/server/client.js';
import { forEachBackend, postgresOnly } from './backends.js';

function session(id: Buffer, maxUpdates = 1024): TowerSession {
  return {
    id,
    policy: { blobType: 2, maxUpdates, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2n ** 63n + 5n },
    lastApplied: 0,
    clientLastApplied: 0,
    rewardScript: Buffer.alloc(0),
    createdAt: 1_765_000_000_000,
  };
}

const update = (key: ReturnType<typeof randomKey>, seq: number, echo = seq - 1) => ({ seqNum: seq, lastApplied: echo, hint: hintFor(key, seq), encryptedBlob: blobFor(seq) });

function punishment(txid: string): PunishmentRecord {
  return {
    justiceTxid: txid,
    justiceTx: Buffer.from('0200', 'hex'),
    breachTxid: 'bb'.repeat(32),
    sessionId: Buffer.alloc(33, 1),
    seqNum: 3,
    blobType: 2,
    breachHeight: 500,
    breachBlockHash: 'cc'.repeat(32),
    totalSat: 5_000_000_000n,
    sweepSat: 4_999_000_000n,
    rewardSat: 0n,
    feeSat: 1_000_000n,
    createdAt: 1_765_000_000_000,
    publishAttempts: 0,
    lastPublishedAt: null,
    lastError: null,
    outcome: null,
    resolvedHeight: null,
    resolvedBlockHash: null,
    resolvedByTxid: null,
  };
}

/** Two tower processes' stores on one database (two SQLite handles on one file, on SQLite). */
async function twoStores(path: string, fn: (a: TowerDatabase, b: TowerDatabase) => Promise<void>): Promise<void> {
  const a = await openTowerDatabase(path);
  const b = await openTowerDatabase(path);
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

forEachBackend('tower database', ({ name, location }) => {
  it('sessions and updates: LND rules, re-sends replace, exact hint look-up, delete, restart', async () => {
    const path = await location();
    let s: TowerDatabase = await openTowerDatabase(path);
    assert.equal(s.backend, name);
    const k = randomKey();
    const other = randomKey();
    assert.deepEqual(await s.insertSession(session(k.publicKey, 10)), { ok: true });
    assert.deepEqual(await s.insertSession(session(k.publicKey, 12)), { ok: true }, 'replaced while nothing applied');
    assert.deepEqual(await s.insertSession(session(other.publicKey)), { ok: true });
    for (let q = 1; q <= 3; q++) assert.equal((await s.applyStateUpdate(k.publicKey, update(k, q))).code, C.OK);
    assert.equal((await s.applyStateUpdate(k.publicKey, update(k, 3))).code, C.OK, 're-send of the last one');
    assert.equal((await s.applyStateUpdate(k.publicKey, update(k, 5, 3))).code, C.StateUpdateSeqNumOutOfOrder);
    assert.equal((await s.applyStateUpdate(k.publicKey, update(k, 13, 3))).code, C.StateUpdateMaxUpdatesExceeded);
    assert.equal((await s.applyStateUpdate(randomKey().publicKey, update(k, 1))).code, C.PermanentFailure);
    assert.equal((await s.applyStateUpdate(other.publicKey, update(other, 1))).code, C.OK);
    const refused = await s.insertSession(session(k.publicKey));
    assert.equal(refused.ok, false);
    await s.close();

    s = await openTowerDatabase(path);
    const got = await s.getSession(k.publicKey);
    assert.equal(got?.lastApplied, 3);
    assert.equal(got?.policy.maxUpdates, 12);
    assert.equal(got?.policy.sweepFeeRateSatPerKw, 2n ** 63n + 5n, 'a u64 fee rate is exact');
    assert.equal(got?.createdAt, 1_765_000_000_000);
    assert.deepEqual((await s.listUpdates(k.publicKey)).map((u) => u.seqNum), [1, 2, 3]);
    const near = Buffer.from(hintFor(k, 2));
    near[10] ^= 1; // same 8-byte prefix, different hint (and no other stored one)
    const hits = await s.findByHints([hintFor(k, 2), hintFor(k, 2), near, ...Array.from({ length: 700 }, (_, i) => hintFor(randomKey(), i))]);
    assert.equal(hits.length, 1);
    assert.deepEqual([hits[0]!.sessionId, hits[0]!.seqNum, hits[0]!.encryptedBlob], [k.publicKey, 2, blobFor(2)]);
    await assert.rejects(s.findByHints([Buffer.alloc(15)]), /16 bytes/);
    assert.deepEqual(await s.counts(), { sessions: 2, updates: 4 });
    assert.equal(await s.deleteSession(k.publicKey), true);
    assert.equal(await s.deleteSession(k.publicKey), false);
    assert.deepEqual(await s.counts(), { sessions: 1, updates: 1 });
    assert.deepEqual(await s.findByHints([hintFor(k, 1)]), []);
    await s.close();
  });

  it('the lookout: tip, punishments recorded once, attempts, resolution and reorg', async () => {
    const path = await location();
    const s = await openTowerDatabase(path);
    assert.equal(await s.loadLookoutTip(), null);
    await s.saveLookoutTip({ height: 100, hash: 'aa' });
    await s.saveLookoutTip({ height: 101, hash: 'ab' });
    assert.deepEqual(await s.loadLookoutTip(), { height: 101, hash: 'ab' });
    assert.equal(await s.insertPunishment(punishment('01'.repeat(32))), true);
    assert.equal(await s.insertPunishment(punishment('01'.repeat(32))), false);
    assert.equal(await s.insertPunishment({ ...punishment('02'.repeat(32)), createdAt: 1_765_000_000_001 }), true);
    await s.notePublishAttempt('01'.repeat(32), 1_765_000_000_500, 'insufficient fee');
    await s.notePublishAttempt('01'.repeat(32), 1_765_000_000_600, null);
    const p = await s.getPunishment('01'.repeat(32));
    assert.deepEqual([p?.publishAttempts, p?.lastPublishedAt, p?.lastError, p?.totalSat], [2, 1_765_000_000_600, null, 5_000_000_000n]);
    await s.resolvePunishment('01'.repeat(32), { outcome: 'confirmed', height: 102, blockHash: 'ac', byTxid: '01'.repeat(32) });
    assert.deepEqual(await s.punishmentCounts(), { total: 2, pending: 1, confirmed: 1, conflicted: 0 });
    assert.deepEqual((await s.listPunishments()).map((x) => x.justiceTxid.slice(0, 2)), ['02', '01'], 'newest first');
    assert.deepEqual((await s.listPunishments({ pending: true })).map((x) => x.justiceTxid.slice(0, 2)), ['02']);
    assert.equal(await s.unresolvePunishments('ac'), 1);
    assert.deepEqual(await s.punishmentCounts(), { total: 2, pending: 2, confirmed: 0, conflicted: 0 });
    await s.close();
  });

  it('the lookout lock: one holder at a time; the next one gets it once released', async () => {
    await twoStores(await location(), async (a, b) => {
      const lockA = await a.acquireLookoutLock();
      assert.ok(lockA);
      const lockB = await b.acquireLookoutLock();
      if (name === 'sqlite') {
        assert.ok(lockB, 'SQLite: one tower process per file, the lock is its own');
        await lockB.release();
      } else {
        assert.equal(lockB, null, 'held by the other process');
        await lockA.release();
        const again = await b.acquireLookoutLock();
        assert.ok(again, 'free once released');
        await again.release();
      }
      await lockA.release();
    });
  });

  postgresOnly(name)('two processes on one database: the database orders a session’s updates, each seq stored once', async () => {
    await twoStores(await location(), async (a, b) => {
      const k = randomKey();
      assert.deepEqual(await a.insertSession(session(k.publicKey)), { ok: true });
      // Both processes receive every update of the session, each in its own order of arrival (a client
      // re-sending to another tower while the first one still works); the transactions interleave.
      const codes: number[] = [];
      const send = async (t: TowerDatabase): Promise<void> => {
        for (let q = 1; q <= 80; q++) codes.push((await t.applyStateUpdate(k.publicKey, update(k, q))).code);
      };
      await Promise.all([send(a), send(b)]);
      // Every update either applied in order or was refused by the rules on what the database held
      // (out of order, or an echo behind what the other process already recorded).
      assert.ok(codes.every((c) => c === C.OK || c === C.StateUpdateSeqNumOutOfOrder || c === C.StateUpdateClientBehind), String(codes));
      const s = await b.getSession(k.publicKey);
      assert.equal(s?.lastApplied, 80, 'last_applied never went back');
      const stored = (await a.listUpdates(k.publicKey)).map((u) => u.seqNum);
      assert.deepEqual(stored, Array.from({ length: 80 }, (_, i) => i + 1), 'contiguous, each seq once');
      // From here on, sequentially through either process, the rules see the database's state.
      for (let q = 81; q <= 90; q++) assert.equal((await (q % 2 ? a : b).applyStateUpdate(k.publicKey, update(k, q))).code, C.OK);
      assert.equal((await a.applyStateUpdate(k.publicKey, update(k, 92, 90))).code, C.StateUpdateSeqNumOutOfOrder, 'b applied 90: a knows');
      assert.deepEqual(await a.counts(), { sessions: 1, updates: 90 });
    });
  });

  postgresOnly(name)('an update checked against a session another process is changing waits for it, and sees its result', async () => {
    const path = await location();
    const s = await openTowerDatabase(path);
    const other = new pg.Client(path);
    await other.connect();
    try {
      const k = randomKey();
      await s.insertSession(session(k.publicKey));
      for (let q = 1; q <= 5; q++) assert.equal((await s.applyStateUpdate(k.publicKey, update(k, q))).code, C.OK);
      // Another tower process, mid-transaction, as tower-postgres.ts does it: session row locked, 6 and 7 applied.
      await other.query('BEGIN');
      const { rows } = await other.query<{ sid: string }>('SELECT sid FROM tower_sessions WHERE id = $1 FOR UPDATE', [k.publicKey]);
      const pending = s.applyStateUpdate(k.publicKey, update(k, 6));
      await new Promise((r) => setTimeout(r, 200)); // this process's check is now under way
      for (const q of [6, 7]) await other.query('INSERT INTO tower_updates (sid, seq, hint, blob) VALUES ($1, $2, $3, $4)', [rows[0]!.sid, q, hintFor(k, q), blobFor(q)]);
      await other.query('UPDATE tower_sessions SET last_applied = 7, client_last_applied = 6 WHERE sid = $1', [rows[0]!.sid]);
      await other.query('COMMIT');
      // Checked after the other commit, against what it wrote: the client's echo (5) is behind the 6 the
      // other process recorded, so 6 is refused — not applied over 7 (without the row lock it would be).
      assert.equal((await pending).code, C.StateUpdateClientBehind);
      assert.equal((await s.getSession(k.publicKey))?.lastApplied, 7, 'last_applied never goes back');
    } finally {
      await other.end();
      await s.close();
    }
  });

  postgresOnly(name)('the lookout lock is lost with its connection, and another process takes it', async () => {
    const path = await location();
    await twoStores(path, async (a, b) => {
      const lockA = await a.acquireLookoutLock();
      assert.ok(lockA);
      assert.equal(await b.acquireLookoutLock(), null);
      // The holder's connection dies (its process, its machine or the network): the server frees the lock.
      const admin = new pg.Client(path);
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`);
      await admin.end();
      await lockA.lost;
      const lockB = await b.acquireLookoutLock();
      assert.ok(lockB, 'taken over');
      await lockB.release();
    });
  });
});
