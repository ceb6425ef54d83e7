/**
 * The tower's SQLite store: its own migrations and pragmas, restart, commit-before-reply seen from a
 * second database connection, group commit, and the query plans the lookout relies on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { openTowerStore, TOWER_MIGRATION_TABLE } from '../../src/store/tower.js';
import type { TowerSession } from '../../src/watchtower/server/rules.js';
import { WtErrorCode as C } from '../../src/watchtower/wire/index.js';
import { blobFor, createSession, hintFor, randomKey, startTower, stateUpdateMsg, WtClient } from '../watchtower/server/client.js';

function tmpDb(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'anode-tower-store-'));
  return { dir, path: join(dir, 'watchtower.sqlite3') };
}

function session(id: Buffer, maxUpdates = 1024): TowerSession {
  return {
    id,
    policy: { blobType: 2, maxUpdates, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n },
    lastApplied: 0,
    clientLastApplied: 0,
    rewardScript: Buffer.alloc(0),
    createdAt: 1,
  };
}

test('own migration table, WAL, synchronous=FULL; reopening is idempotent', async () => {
  const { dir, path } = tmpDb();
  try {
    const s = await openTowerStore(path);
    assert.equal(s.sqlite.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(s.sqlite.pragma('synchronous', { simple: true }), 2); // FULL
    const names = s.sqlite.prepare(`SELECT name FROM ${TOWER_MIGRATION_TABLE}`).all() as { name: string }[];
    assert.deepEqual(names.map((n) => n.name), ['0001_sessions_updates', '0002_lookout']);
    await s.close();
    const again = await openTowerStore(path);
    assert.equal((again.sqlite.prepare(`SELECT count(*) AS n FROM ${TOWER_MIGRATION_TABLE}`).get() as { n: number }).n, 2);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('query plans: hint look-up uses the 8-byte prefix index; session delete is a rowid range', async () => {
  const { dir, path } = tmpDb();
  try {
    const s = await openTowerStore(path);
    const plan = (q: string, ...args: unknown[]): string =>
      (s.sqlite.prepare(`EXPLAIN QUERY PLAN ${q}`).all(...args) as { detail: string }[]).map((r) => r.detail).join(' | ');
    const p = Buffer.alloc(8);
    const lookup = plan('SELECT u.id, u.hint, u.blob, s.reward_script FROM tower_updates u JOIN tower_sessions s ON s.sid = (u.id >> 16) WHERE substr(u.hint, 1, 8) IN (?, ?)', p, p);
    assert.match(lookup, /SEARCH u USING INDEX tower_updates_hint \(<expr>=\?\)/);
    assert.match(lookup, /s USING INTEGER PRIMARY KEY/);
    const del = plan('DELETE FROM tower_updates WHERE id >= ? AND id < ?', 1, 2);
    assert.match(del, /USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('findByHints: exact 16-byte match only (same 8-byte prefix is filtered), duplicates, chunks', async () => {
  const { dir, path } = tmpDb();
  try {
    const s = await openTowerStore(path);
    const a = randomKey().publicKey;
    assert.deepEqual(await s.insertSession(session(a)), { ok: true });
    const h1 = Buffer.from('00112233445566770000000000000001', 'hex');
    const h2 = Buffer.from('00112233445566770000000000000002', 'hex');
    assert.equal((await s.applyStateUpdate(a, { seqNum: 1, lastApplied: 0, hint: h1, encryptedBlob: blobFor(1) })).code, 0);
    const m = await s.findByHints([h2]);
    assert.deepEqual(m, []);
    const hits = await s.findByHints([h1, h1, ...Array.from({ length: 1200 }, (_, i) => hintFor(randomKey(), i))]);
    assert.equal(hits.length, 1);
    assert.deepEqual(hits[0]!.sessionId, a);
    assert.equal(hits[0]!.seqNum, 1);
    assert.deepEqual(hits[0]!.encryptedBlob, blobFor(1));
    assert.equal(hits[0]!.policy.sweepFeeRateSatPerKw, 2500n);
    await assert.rejects(s.findByHints([Buffer.alloc(15)]), /16 bytes/);
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('group commit: concurrent writes share transactions; each resolves after its commit', async () => {
  const { dir, path } = tmpDb();
  try {
    const s = await openTowerStore(path);
    const ids = Array.from({ length: 200 }, () => randomKey().publicKey);
    await Promise.all(ids.map((id) => s.insertSession(session(id))));
    const before = { ...s.commits };
    const reader = new BetterSqlite3(path, { readonly: true });
    const count = reader.prepare('SELECT count(*) AS n FROM tower_updates WHERE hint = ?');
    const results = await Promise.all(
      ids.map((id, i) =>
        s.applyStateUpdate(id, { seqNum: 1, lastApplied: 0, hint: hintFor({ publicKey: id, privateKey: Buffer.alloc(0) }, i), encryptedBlob: blobFor(i) }).then((v) => {
          // At the moment the promise resolves, another connection already sees the row: committed.
          assert.equal((count.get(hintFor({ publicKey: id, privateKey: Buffer.alloc(0) }, i)) as { n: number }).n, 1);
          return v;
        }),
      ),
    );
    assert.ok(results.every((r) => r.code === 0));
    const tx = s.commits.transactions - before.transactions;
    assert.ok(tx >= 1 && tx <= 2, `200 concurrent updates took ${tx} transactions`);
    reader.close();
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that throws does not fail the others in its batch', async () => {
  const { dir, path } = tmpDb();
  try {
    const s = await openTowerStore(path);
    const good = randomKey().publicKey;
    const results = await Promise.allSettled([
      s.insertSession(session(good)),
      s.insertSession(session(Buffer.alloc(5, 1))), // violates CHECK (length(id) = 33)
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.ok(await s.getSession(good));
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('over the wire: every OK reply is visible to another connection when it arrives', async () => {
  const tower = await startTower();
  const reader = new BetterSqlite3(tower.dbPath, { readonly: true });
  const get = reader.prepare('SELECT last_applied FROM tower_sessions WHERE id = ?');
  const row = reader.prepare('SELECT count(*) AS n FROM tower_updates WHERE hint = ?');
  try {
    const keys = Array.from({ length: 10 }, () => randomKey());
    await Promise.all(keys.map((k) => createSession(tower.port, k)));
    await Promise.all(
      keys.map(async (k) => {
        const c = await WtClient.open(tower.port, k);
        for (let s = 1; s <= 30; s++) {
          const r = (await c.request(stateUpdateMsg(k, s, s - 1))) as { code: number; lastApplied: number };
          assert.equal(r.code, C.OK);
          assert.equal((get.get(k.publicKey) as { last_applied: number }).last_applied, s);
          assert.equal((row.get(hintFor(k, s)) as { n: number }).n, 1);
        }
        c.close();
      }),
    );
  } finally {
    reader.close();
    await tower.close();
  }
});

test('restart keeps sessions and updates; clients resume where they were', async () => {
  const tower = await startTower();
  try {
    const k = randomKey();
    const reward = randomKey();
    await createSession(tower.port, k, { maxUpdates: 10 });
    await createSession(tower.port, reward, { blobType: 0x001a });
    const c = await WtClient.open(tower.port, k);
    for (let s = 1; s <= 4; s++) assert.equal(((await c.request(stateUpdateMsg(k, s, s - 1))) as { code: number }).code, C.OK);
    c.close();
    await tower.restart();
    const s = await tower.store.getSession(k.publicKey);
    assert.equal(s?.lastApplied, 4);
    assert.equal(s?.clientLastApplied, 3);
    assert.equal(s?.policy.maxUpdates, 10);
    assert.equal((await tower.store.getSession(reward.publicKey))?.policy.blobType, 0x001a);
    assert.deepEqual((await tower.store.listUpdates(k.publicKey)).map((u) => u.seqNum), [1, 2, 3, 4]);
    // CreateSession after updates: AlreadyExists with last_applied, as LND.
    const again = (await createSession(tower.port, k)) as { code: number; lastApplied: number };
    assert.deepEqual([again.code, again.lastApplied], [C.CreateSessionAlreadyExists, 4]);
    const d = await WtClient.open(tower.port, k);
    assert.equal(((await d.request(stateUpdateMsg(k, 4, 3))) as { code: number }).code, C.OK, 're-send of the last one');
    assert.equal(((await d.request(stateUpdateMsg(k, 5, 4, 1))) as { code: number }).code, C.OK);
    assert.equal((await tower.store.findByHints([hintFor(k, 5)])).length, 1);
  } finally {
    await tower.close();
  }
});
