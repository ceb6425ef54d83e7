/**
 * The watchtower client against anode's real tower (WatchtowerServer + SQLite over loopback BOLT 8), and
 * against a scripted fake tower where a misbehaving one is needed.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { breachHint, breachKey } from '../../../src/watchtower/blob/derivation.js';
import { decryptJusticeKit } from '../../../src/watchtower/blob/blob.js';
import { KeyFamily } from '../../../src/crypto/keychain.js';
import { terminateSession as rpcTerminate, deactivateTower as rpcDeactivate } from '../../../src/rpc/lnd/wtclient.js';
import type { NodeCore } from '../../../src/node/core/index.js';
import { createSession, startTower, stateUpdateMsg, WtClient, type TestTower } from '../server/client.js';
import { tempDir } from '../../harness/daemon.js';
import { breachFor, channelId, FakeTower, keychain, startClient, towerUri, TOWER_B_KEY, type TestClient } from './helpers.js';
import { sleep, until } from '../../harness/wait.js';
import { rawDb } from '../../../src/store/database.js';

const NO_SESSIONS = { includeSessions: true, excludeExhaustedSessions: false };
/** Tests about one client type run only the legacy client: the other three would negotiate sessions too. */
const LEGACY_ONLY = { tuning: { commitmentTypes: ['legacy'] as const } };

async function storedHints(tower: TestTower): Promise<string[]> {
  const out: string[] = [];
  for (const row of await tower.store.db.selectFrom('tower_sessions').select('id').execute()) {
    for (const u of await tower.store.listUpdates(Buffer.from(row.id as Buffer))) out.push(u.hint.toString('hex'));
  }
  return out.sort();
}

/** States acked to the client, over all its sessions. */
async function ackedBy(c: TestClient): Promise<number> {
  return (await c.store.wtclient.listSessions()).reduce((a, s) => a + s.numAcked, 0);
}

function hintOf(chan: number, height: number): string {
  return breachHint(breachFor(chan, height).breachTxid).toString('hex');
}

async function setup(over: Parameters<typeof startClient>[1] = {}): Promise<{ tower: TestTower; c: TestClient; dir: string; done: () => Promise<void> }> {
  const dir = tempDir('anode-wtclient-');
  const tower = await startTower();
  const c = await startClient(join(dir, 'anode.sqlite3'), over);
  return {
    tower,
    c,
    dir,
    async done() {
      await c.close().catch(() => undefined);
      await tower.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('add a tower, back up states: the tower stores each once, decryptable, and the figures agree', async () => {
  const { tower, c, done } = await setup();
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    // One session per client type, negotiated as soon as the tower is added (§2.3).
    await until(async () => (await tower.store.counts()).sessions === 4, '4 sessions');
    for (let h = 1; h <= 5; h++) assert.equal(await c.client.backupState(channelId(1), h, breachFor(1, h)), true);
    assert.equal(await c.client.backupState(channelId(1), 5, breachFor(1, 5)), false, 'a height already queued is a duplicate');
    await until(async () => (await tower.store.counts()).updates === 5, '5 updates at the tower');
    const expected = [1, 2, 3, 4, 5].map((h) => hintOf(1, h)).sort();
    assert.deepEqual(await storedHints(tower), expected);
    // The tower can open what it holds with the breach key, and the kit carries our sweep script.
    const legacySession = (await c.store.wtclient.listSessions({ blobType: 0x0002 }))[0]!;
    const sid = legacySession.id;
    const u = (await tower.store.listUpdates(Buffer.from(sid)))[0]!;
    const b = breachFor(1, u.seqNum);
    const kit = decryptJusticeKit(u.encryptedBlob, breachKey(b.breachTxid), 0x0002);
    assert.deepEqual(kit.sweepScript, b.sweepScript);
    // Session id = family 8 key at its reserved index, one of the first four (one per client type).
    assert.ok(legacySession.keyIndex >= 1 && legacySession.keyIndex <= 4);
    assert.deepEqual(Buffer.from(sid), keychain().derive(KeyFamily.TOWER_SESSION, legacySession.keyIndex).publicKey);
    await until(async () => (await c.client.stats()).numBackups === 5 && (await c.client.listTowers(NO_SESSIONS))[0]!.sessionInfo[0]!.sessions[0]?.numBackups === 5, 'acks applied');
    const [tw] = await c.client.listTowers(NO_SESSIONS);
    assert.equal(tw!.addresses[0], `127.0.0.1:${tower.port}`);
    assert.equal(tw!.sessionInfo.length, 4);
    assert.deepEqual(tw!.sessionInfo.map((i) => i.policyType), ['LEGACY', 'ANCHOR', 'TAPROOT', 'TAPROOT']);
    const legacy = tw!.sessionInfo[0]!;
    assert.equal(legacy.numSessions, 1);
    assert.equal(legacy.activeSessionCandidate, true);
    assert.deepEqual(legacy.sessions[0], { id: Buffer.from(sid), numBackups: 5, numPendingBackups: 0, maxBackups: 1024, sweepSatPerVbyte: 10, status: 'active' });
    const stats = await c.client.stats();
    assert.deepEqual(stats, { numBackups: 5, numPendingBackups: 0, numFailedBackups: 0, numSessionsAcquired: 4, numSessionsExhausted: 0 });
    assert.equal((await tower.store.counts()).sessions, 4, 'the backups used the session negotiated up front');
    assert.deepEqual(await c.client.policy('LEGACY'), { maxUpdates: 1024, sweepSatPerVbyte: 10 });
    await assert.rejects(c.client.policy('NOPE' as never), /unknown policy type/);
    await assert.rejects(c.client.getTowerInfo(TOWER_B_KEY.publicKey, NO_SESSIONS), /^WtClientError: tower not found$/);
  } finally {
    await done();
  }
});

test('AddTower: every client type negotiates its own session at once, before any backup; none more after a restart', async () => {
  const { tower, c, dir, done } = await setup();
  let c2: TestClient | undefined;
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    await until(async () => (await tower.store.counts()).sessions === 4, '4 sessions at the tower');
    await until(async () => (await c.client.stats()).numSessionsAcquired === 4, '4 sessions recorded');
    const ours = await c.store.wtclient.listSessions();
    assert.deepEqual(ours.map((s) => s.blobType).sort(), [0x0002, 0x0006, 0x000a, 0x001a].sort());
    // Each key index reserved once, durably, and consumed by its session: 1..4, no reservation left over.
    assert.deepEqual(ours.map((s) => s.keyIndex).sort(), [1, 2, 3, 4]);
    assert.deepEqual(await rawDb(c.store).selectFrom('wtc_key_index').selectAll().execute(), []);
    for (const s of ours) assert.ok(await tower.store.getSession(s.id), 'the tower holds each session');
    const [tw] = await c.client.listTowers(NO_SESSIONS);
    assert.deepEqual(tw!.sessionInfo.map((i) => i.numSessions), [1, 1, 1, 1]);
    assert.deepEqual(tw!.sessionInfo.flatMap((i) => i.sessions.map((s) => s.numBackups)), [0, 0, 0, 0]);
    // A second tower does not get sessions while every type has a usable one (LND: only on demand).
    const other = await startTower({ towerKey: TOWER_B_KEY });
    try {
      const b = towerUri(other.port, TOWER_B_KEY);
      await c.client.addTower(b.pubkey, b.address);
      await sleep(200);
      assert.equal((await other.store.counts()).sessions, 0);
      await c.client.removeTower(b.pubkey);
    } finally {
      await other.close();
    }
    // Backups use those sessions; a restart finds a usable session per type and negotiates nothing.
    const types = ['legacy', 'anchor', 'taproot', 'taproot-final'] as const;
    for (const [i, ct] of types.entries()) await c.client.backupState(channelId(10 + i), 1, breachFor(10 + i, 1, ct));
    await until(async () => (await tower.store.counts()).updates === 4, '4 updates');
    await c.close();
    c2 = await startClient(join(dir, 'anode.sqlite3'));
    await sleep(200);
    assert.equal((await tower.store.counts()).sessions, 4);
    assert.equal((await c2.client.stats()).numSessionsAcquired, 0);
  } finally {
    await c2?.close();
    await done();
  }
});

test('start-up with an active tower but no usable session negotiates at once; an exhausted session is replaced before the next backup', async () => {
  const dir = tempDir('anode-wtclient-');
  const tower = await startTower();
  const port = tower.port;
  await tower.stop();
  const db = join(dir, 'anode.sqlite3');
  let c = await startClient(db, { ...LEGACY_ONLY, maxUpdates: 2 });
  try {
    const t = towerUri(port);
    await c.client.addTower(t.pubkey, t.address);
    // Tower down: the negotiation fails and backs off; the reservation made before dialling persists.
    await until(async () => (await rawDb(c.store).selectFrom('wtc_key_index').selectAll().execute()).length === 1 || undefined, 'reservation');
    await sleep(100);
    assert.equal((await c.store.wtclient.listSessions()).length, 0);
    await c.close();
    await tower.restart();
    c = await startClient(db, { ...LEGACY_ONLY, maxUpdates: 2 });
    await until(async () => (await tower.store.counts()).sessions === 1 && (await c.store.wtclient.listSessions()).length === 1, 'session negotiated at start-up');
    const [s1] = await c.store.wtclient.listSessions();
    assert.equal(s1!.keyIndex, 1, 'the index reserved before the failed dial is the one used');
    // Fill it: once exhausted, a replacement is negotiated with nothing queued.
    await c.client.backupState(channelId(20), 1, breachFor(20, 1));
    await c.client.backupState(channelId(20), 2, breachFor(20, 2));
    await until(async () => (await c.store.wtclient.listSessions()).length === 2 && (await c.client.stats()).numSessionsExhausted === 1, 'replacement');
    assert.equal((await tower.store.counts()).sessions, 2);
    assert.equal(await c.store.wtclient.countPending(), 0);
    const after = await c.store.wtclient.listSessions();
    assert.deepEqual(after.map((s) => [s.keyIndex, s.numAcked]), [
      [1, 2],
      [2, 0],
    ]);
    await sleep(150);
    assert.equal((await tower.store.counts()).sessions, 2, 'one usable session is enough');
  } finally {
    await c.close();
    await tower.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('eager negotiation: no tower → nothing dialled; a tower refusing sessions is backed off; stop() cuts a hung negotiation, the index is reused', async () => {
  const dir = tempDir('anode-wtclient-');
  const fake = new FakeTower({ createCode: 40 });
  await fake.start();
  const db = join(dir, 'anode.sqlite3');
  let c = await startClient(db, { tuning: { commitmentTypes: ['legacy'], backoff: { minMs: 200, maxMs: 800 } } });
  try {
    await sleep(100);
    assert.deepEqual(await rawDb(c.store).selectFrom('wtc_key_index').selectAll().execute(), [], 'no tower: no reservation, no dial');
    const f = towerUri(fake.port, fake.key);
    await c.client.addTower(f.pubkey, f.address);
    await until(() => fake.count(602) >= 1 || undefined, 'refused');
    const t0 = Date.now();
    await sleep(700);
    const n = fake.count(602);
    // 200 ms then 400 ms (then 800 ms): at most 3 attempts in ~700 ms, not a tight loop.
    assert.ok(n <= 3, `${n} CreateSession in ${Date.now() - t0} ms`);
    assert.equal((await c.store.wtclient.listSessions()).length, 0);
    const [r] = await rawDb(c.store).selectFrom('wtc_key_index').selectAll().execute();
    assert.ok(r, 'a reservation waits for the session');
    // The tower now accepts CreateSession but never answers: stop() must not wait for the deadline.
    fake.behaviour = { createCode: 'hang' };
    await c.client.addTower(f.pubkey, f.address); // resets the backoff
    await until(() => fake.count(602) > n || undefined, 'hung');
    const s0 = Date.now();
    await c.close();
    assert.ok(Date.now() - s0 < 1000, `stop took ${Date.now() - s0} ms`);
    // Restart (as after a crash mid-negotiation): the same reserved index, nothing skipped.
    fake.behaviour = {};
    c = await startClient(db, LEGACY_ONLY);
    await until(async () => (await c.store.wtclient.listSessions()).length === 1 || undefined, 'session');
    assert.equal((await c.store.wtclient.listSessions())[0]!.keyIndex, r.key_index);
  } finally {
    await c.close();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('small max-updates: sessions fill, are exhausted and replaced; exclude_exhausted_sessions hides them', async () => {
  const { tower, c, done } = await setup({ ...LEGACY_ONLY, maxUpdates: 3 });
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    for (let h = 1; h <= 7; h++) await c.client.backupState(channelId(2), h, breachFor(2, h));
    await until(async () => (await tower.store.counts()).updates === 7, '7 updates');
    await until(async () => (await c.client.stats()).numSessionsExhausted === 2 && (await c.store.wtclient.listSessions()).reduce((a, x) => a + x.numAcked, 0) === 7, 'acks');
    const [all] = await c.client.listTowers(NO_SESSIONS);
    assert.equal(all!.sessionInfo[0]!.numSessions, 3);
    assert.deepEqual(all!.sessionInfo[0]!.sessions.map((s) => s.numBackups).sort(), [1, 3, 3]);
    const [live] = await c.client.listTowers({ includeSessions: false, excludeExhaustedSessions: true });
    assert.equal(live!.sessionInfo[0]!.numSessions, 1);
    assert.deepEqual(live!.sessionInfo[0]!.sessions, []);
    assert.equal((await c.client.stats()).numSessionsAcquired, 3);
    assert.deepEqual(await storedHints(tower), [1, 2, 3, 4, 5, 6, 7].map((h) => hintOf(2, h)).sort());
  } finally {
    await done();
  }
});

test('tower offline, then back; client restarted with states queued: all delivered after backoff', async () => {
  const { tower, c, dir, done } = await setup(LEGACY_ONLY);
  let c2: TestClient | undefined;
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    await c.client.backupState(channelId(3), 1, breachFor(3, 1));
    await until(async () => (await tower.store.counts()).updates === 1, 'first update');
    await tower.stop();
    for (let h = 2; h <= 4; h++) await c.client.backupState(channelId(3), h, breachFor(3, h));
    await sleep(200);
    await c.close();
    c2 = await startClient(join(dir, 'anode.sqlite3'), LEGACY_ONLY);
    assert.equal((await c2.client.stats()).numPendingBackups, 3);
    await tower.restart();
    await until(async () => (await tower.store.counts()).updates === 4, 'all 4 at the tower');
    assert.deepEqual(await storedHints(tower), [1, 2, 3, 4].map((h) => hintOf(3, h)).sort());
    await until(async () => (await c2!.store.wtclient.countPending()) === 0 && (await c2!.client.listTowers(NO_SESSIONS))[0]!.sessionInfo[0]!.sessions[0]!.numBackups === 4, 'acked');
    // Same session across the restart.
    assert.equal((await tower.store.db.selectFrom('tower_sessions').selectAll().execute()).length, 1);
  } finally {
    await c2?.close();
    await done();
  }
});

test('TerminateSession: nothing sent, idempotent, LND strings, new backups go to a new session, even after restart', async () => {
  const { tower, c, dir, done } = await setup(LEGACY_ONLY);
  let c2: TestClient | undefined;
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    await c.client.backupState(channelId(4), 1, breachFor(4, 1));
    // The ack applied too: terminating before it would (rightly) re-queue the state to the next session.
    await until(async () => (await tower.store.counts()).updates === 1 && (await ackedBy(c)) === 1, 'update');
    const [s1] = await c.store.wtclient.listSessions();
    const core = { watchtowerClient: c.client } as unknown as NodeCore;
    const r = await rpcTerminate(core, { session_id: s1!.id });
    assert.deepEqual(r, { status: `Successful termination of session: ${s1!.id.toString('hex')}` });
    assert.deepEqual(await rpcTerminate(core, { session_id: s1!.id }), r, 'terminating a terminal session succeeds');
    await assert.rejects(c.client.terminateSession(TOWER_B_KEY.publicKey), /^WtClientError: client session not found$/);
    // The tower still has the session and its update: terminate sends nothing.
    assert.ok(await tower.store.getSession(s1!.id));
    await c.client.backupState(channelId(4), 2, breachFor(4, 2));
    await until(async () => (await tower.store.counts()).sessions === 2 && (await tower.store.counts()).updates === 2, 'second session');
    assert.deepEqual(await tower.store.listUpdates(s1!.id).then((u) => u.length), 1);
    await c.close();
    c2 = await startClient(join(dir, 'anode.sqlite3'), LEGACY_ONLY);
    await c2.client.backupState(channelId(4), 3, breachFor(4, 3));
    await until(async () => (await tower.store.counts()).updates === 3, 'third update');
    assert.equal((await tower.store.listUpdates(s1!.id)).length, 1, 'the terminated session is never used again');
    assert.equal((await tower.store.counts()).sessions, 2);
    const [tw] = await c2.client.listTowers(NO_SESSIONS);
    assert.equal(tw!.sessionInfo[0]!.numSessions, 2);
  } finally {
    await c2?.close();
    await done();
  }
});

test('RemoveTower re-queues committed-but-unacked updates to another tower; DeactivateTower does not', async () => {
  const dir = tempDir('anode-wtclient-');
  const fake = new FakeTower({ update: 'close' });
  await fake.start();
  const real = await startTower({ towerKey: TOWER_B_KEY });
  const c = await startClient(join(dir, 'anode.sqlite3'));
  try {
    const f = towerUri(fake.port, fake.key);
    await c.client.addTower(f.pubkey, f.address);
    for (let h = 1; h <= 3; h++) await c.client.backupState(channelId(5), h, breachFor(5, h));
    // The fake tower takes the session, then hangs up on every update: all three stay committed.
    await until(async () => (await c.store.wtclient.listSessions())[0]?.numCommitted === 3, 'committed at the fake tower');
    const [sf] = await c.store.wtclient.listSessions();
    const b = towerUri(real.port, TOWER_B_KEY);
    await c.client.addTower(b.pubkey, b.address);

    // Deactivate: the committed updates stay with the fake tower's session; new states go to B.
    const core = { watchtowerClient: c.client } as unknown as NodeCore;
    assert.deepEqual(await rpcDeactivate(core, { pubkey: f.pubkey }), { status: `Successful deactivation of tower: ${f.pubkey.toString('hex')}` });
    await c.client.backupState(channelId(5), 4, breachFor(5, 4));
    await until(async () => (await real.store.counts()).updates === 1, 'state 4 at B');
    assert.deepEqual(await storedHints(real), [hintOf(5, 4)]);
    assert.equal((await c.store.wtclient.getSession(sf!.id))!.numCommitted, 3);
    const [info] = (await c.client.listTowers(NO_SESSIONS)).filter((t) => t.pubkey.equals(f.pubkey));
    assert.equal(info!.sessionInfo[0]!.activeSessionCandidate, false);
    assert.equal(info!.sessionInfo[0]!.sessions[0]!.numPendingBackups, 3);
    // Terminating a session of an inactive tower that holds un-acked updates is refused, as in LND.
    await assert.rejects(c.client.terminateSession(sf!.id), /^WtClientError: session has un-acked updates$/);

    // Remove: re-queued, delivered to B.
    await c.client.removeTower(f.pubkey);
    await until(async () => (await real.store.counts()).updates === 4, 'all 4 at B');
    assert.deepEqual(await storedHints(real), [1, 2, 3, 4].map((h) => hintOf(5, h)).sort());
    const after = await c.store.wtclient.getSession(sf!.id);
    assert.equal(after!.status, 1, 'terminal');
    assert.equal(after!.numCommitted, 0);
    // The tower is kept (it has sessions) but inactive; removing again still works; unknown → not found.
    await c.client.removeTower(f.pubkey);
    await assert.rejects(c.client.removeTower(Buffer.alloc(33, 2)), /^WtClientError: tower not found$/);
    await assert.rejects(c.client.deactivateTower(Buffer.alloc(33, 2)), /^WtClientError: tower not found$/);
  } finally {
    await c.close();
    await fake.stop();
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('addresses: newest first, remove one, never the last', async () => {
  const dir = tempDir('anode-wtclient-');
  // Long backoff: once the eager negotiation with these dead addresses has failed, nothing holds them.
  const c = await startClient(join(dir, 'anode.sqlite3'), { tuning: { backoff: { minMs: 60_000, maxMs: 60_000 } } });
  try {
    const pk = TOWER_B_KEY.publicKey;
    await c.client.addTower(pk, { host: '127.0.0.1', port: 1 });
    await c.client.addTower(pk, { host: '127.0.0.2', port: 9911 });
    await until(async () => {
      await sleep(50);
      return c.client.addressesInUse.size === 0 && (await rawDb(c.store).selectFrom('wtc_key_index').selectAll().execute()).length === 4;
    }, 'negotiations over');
    assert.deepEqual((await c.client.getTowerInfo(pk, NO_SESSIONS)).addresses, ['127.0.0.2:9911', '127.0.0.1:1']);
    await c.client.removeTower(pk, { host: '127.0.0.1', port: 1 });
    await assert.rejects(c.client.removeTower(pk, { host: '127.0.0.2', port: 9911 }), /^WtClientError: cannot remove last tower address$/);
    await c.client.removeTower(pk);
    assert.deepEqual(await c.client.listTowers(NO_SESSIONS), [], 'a tower without sessions is deleted');
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CreateSession AlreadyExists (60): the key index jumps by 1000', async () => {
  const { tower, c, done } = await setup(LEGACY_ONLY);
  try {
    // Someone (a restored copy of this node) already used key index 1 with this tower, with an update.
    const k1 = keychain().derive(KeyFamily.TOWER_SESSION, 1);
    const key = { privateKey: k1.privateKey, publicKey: k1.publicKey };
    await createSession(tower.port, key);
    const w = await WtClient.open(tower.port, key);
    assert.equal(((await w.request(stateUpdateMsg(key, 1, 0, 1))) as { code: number }).code, 0);
    w.close();
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    await c.client.backupState(channelId(6), 1, breachFor(6, 1));
    await until(async () => (await tower.store.counts()).updates === 2, 'our update');
    const [s] = await c.store.wtclient.listSessions();
    assert.equal(s!.keyIndex, 1001);
    assert.deepEqual(s!.id, keychain().derive(KeyFamily.TOWER_SESSION, 1001).publicKey);
  } finally {
    await done();
  }
});

test('a tower refusing every update is backed off, and another tower takes the states', async () => {
  const dir = tempDir('anode-wtclient-');
  const fake = new FakeTower({ update: 50 });
  await fake.start();
  const real = await startTower({ towerKey: TOWER_B_KEY });
  const c = await startClient(join(dir, 'anode.sqlite3'), { tuning: { backoff: { minMs: 300, maxMs: 2000 } } });
  try {
    const f = towerUri(fake.port, fake.key);
    await c.client.addTower(f.pubkey, f.address);
    await c.client.backupState(channelId(7), 1, breachFor(7, 1));
    await until(() => fake.count(604) >= 1 || undefined, 'refused once');
    const b = towerUri(real.port, TOWER_B_KEY);
    await c.client.addTower(b.pubkey, b.address);
    for (let h = 2; h <= 4; h++) await c.client.backupState(channelId(7), h, breachFor(7, h));
    await until(async () => (await real.store.counts()).updates === 3, '3 new states at B');
    // State 1 stays with the refusing tower's session (committed there); retries are spaced out.
    const before = fake.count(604);
    await sleep(500);
    assert.ok(fake.count(604) - before <= 2, `retries are backed off (${fake.count(604) - before} in 500 ms)`);
    // The operator removes the bad tower: state 1 moves to B.
    await c.client.removeTower(f.pubkey);
    await until(async () => (await real.store.counts()).updates === 4, '4 at B');
  } finally {
    await c.close();
    await fake.stop();
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('session clean-up: exhausted session deleted at the tower after its channel closes (close range 1); empty terminal session too', async () => {
  const { tower, c, done } = await setup({ ...LEGACY_ONLY, maxUpdates: 2, sessionCloseRange: 1 });
  try {
    const t = towerUri(tower.port);
    await c.client.addTower(t.pubkey, t.address);
    await c.client.backupState(channelId(8), 1, breachFor(8, 1));
    await c.client.backupState(channelId(8), 2, breachFor(8, 2));
    await until(async () => (await c.client.stats()).numSessionsExhausted === 1, 'exhausted');
    const [s] = await c.store.wtclient.listSessions();
    await c.client.blockConnected(99);
    assert.ok(await tower.store.getSession(s!.id), 'channel still open: kept');
    await c.client.markChannelClosed(channelId(8), 100);
    await c.client.blockConnected(100);
    assert.equal(await tower.store.getSession(s!.id), undefined, 'deleted at the tower');
    assert.equal(await c.store.wtclient.getSession(s!.id), undefined, 'and locally');
    assert.equal((await tower.store.counts()).updates, 0);

    // A terminated session that never held a backup is cleaned up as well.
    await c.client.backupState(channelId(9), 1, breachFor(9, 1));
    // The ack applied too: terminating before it would (rightly) re-queue the state to the next session.
    await until(async () => (await tower.store.counts()).updates === 1 && (await ackedBy(c)) === 1, 'update');
    const [s2] = await c.store.wtclient.listSessions();
    await c.client.terminateSession(s2!.id);
    await c.client.blockConnected(101);
    assert.ok(await c.store.wtclient.getSession(s2!.id), 'holds a backup of an open channel: kept');
    await c.client.markChannelClosed(channelId(9), 102);
    await c.client.blockConnected(102);
    assert.equal(await c.store.wtclient.getSession(s2!.id), undefined);
    assert.equal(await tower.store.getSession(s2!.id), undefined);
  } finally {
    await done();
  }
});

test('empty terminal sessions are deleted at the next block', async () => {
  const dir = tempDir('anode-wtclient-');
  const fake = new FakeTower({ update: 'close' });
  await fake.start();
  const c = await startClient(join(dir, 'anode.sqlite3'), { sessionCloseRange: 1 });
  try {
    const f = towerUri(fake.port, fake.key);
    await c.client.addTower(f.pubkey, f.address);
    await c.client.backupState(channelId(11), 1, breachFor(11, 1));
    await until(async () => (await c.store.wtclient.listSessions())[0]?.numCommitted === 1, 'committed');
    const [s] = await c.store.wtclient.listSessions();
    await c.client.terminateSession(s!.id); // re-queued: the session holds nothing now
    await c.client.deactivateTower(f.pubkey);
    fake.behaviour = {};
    await c.client.addTower(f.pubkey, f.address);
    await c.client.blockConnected(500);
    await until(async () => (await c.store.wtclient.getSession(s!.id)) === undefined || undefined, 'deleted');
    assert.equal(fake.count(606), 1);
  } finally {
    await c.close();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
