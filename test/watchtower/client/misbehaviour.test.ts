/**
 * Tower misbehaviour (issue 6): a tower answering every error code of §1.5 to CreateSession and to
 * StateUpdate, hanging up instead of answering, closing mid-stream, and rejecting forever (LND #10994).
 * The misbehaving tower is the scripted FakeTower, a second one is anode's real tower: the client backs
 * off the bad one, keeps backing up to the good one, never blocks backupState, and loses or doubles
 * nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { breachHint } from '../../../src/watchtower/blob/derivation.js';
import { WtErrorCode } from '../../../src/watchtower/wire/codes.js';
import type { WtMessage } from '../../../src/watchtower/wire/index.js';
import { startTower, type TestTower } from '../server/client.js';
import { tempDir } from '../../harness/daemon.js';
import { breachFor, channelId, FakeTower, startClient, towerUri, type FakeTowerBehaviour, type TestClient } from './helpers.js';
import { sleep, until } from '../../harness/wait.js';

type Update = Extract<WtMessage, { type: 604 }>;
const hintOf = (h: number): string => breachHint(breachFor(1, h).breachTxid).toString('hex');
const ALL = { includeSessions: true, excludeExhaustedSessions: false };

async function towerHints(tower: TestTower): Promise<string[]> {
  const out: string[] = [];
  for (const row of await tower.store.db.selectFrom('tower_sessions').select('id').execute()) {
    for (const u of await tower.store.listUpdates(Buffer.from(row.id as Buffer))) out.push(u.hint.toString('hex'));
  }
  return out.sort();
}

async function withTowers(
  behaviour: FakeTowerBehaviour,
  tuning: { backoff: { minMs: number; maxMs: number }; timeoutMs?: number },
  fn: (x: { fake: FakeTower; real: TestTower; c: TestClient }) => Promise<void>,
): Promise<void> {
  const dir = tempDir('anode-wtclient-');
  const fake = new FakeTower(behaviour);
  await fake.start();
  const real = await startTower();
  const c = await startClient(join(dir, 'anode.sqlite3'), { tuning: { commitmentTypes: ['legacy'], ...tuning } });
  try {
    await fn({ fake, real, c });
  } finally {
    await c.close();
    await fake.stop();
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  }
}


describe('CreateSession refused: the tower is backed off, the next tower gives the session', () => {
  const cases: [string, FakeTowerBehaviour['createCode']][] = [
    ['TemporaryFailure (40)', WtErrorCode.TemporaryFailure],
    ['PermanentFailure (50)', WtErrorCode.PermanentFailure],
    ['RejectMaxUpdates (61)', WtErrorCode.CreateSessionRejectMaxUpdates],
    ['RejectRewardRate (62)', WtErrorCode.CreateSessionRejectRewardRate],
    ['RejectSweepFeeRate (63)', WtErrorCode.CreateSessionRejectSweepFeeRate],
    ['RejectBlobType (64)', WtErrorCode.CreateSessionRejectBlobType],
    ['an unknown code (99)', 99],
    ['hang-up without a reply', 'close'],
    ['no reply at all (deadline)', 'hang'],
  ];
  for (const [name, code] of cases) {
    it(name, async () => {
      await withTowers({ createCode: code }, { backoff: { minMs: 200, maxMs: 1600 }, timeoutMs: 400 }, async ({ fake, real, c }) => {
        const f = towerUri(fake.port, fake.key);
        await c.client.addTower(f.pubkey, f.address);
        await until(() => fake.count(602) >= 1 || undefined, 'asked');
        // Alone, the refusing tower is asked again, but backed off (200 ms doubling), not hammered.
        await sleep(700);
        const asked = fake.count(602);
        assert.ok(asked >= 2 && asked <= 4, `asked ${asked} times in ~0.7 s`);
        assert.equal((await c.client.stats()).numSessionsAcquired, 0);
        const r = towerUri(real.port);
        await c.client.addTower(r.pubkey, r.address);
        for (let h = 1; h <= 3; h++) await c.client.backupState(channelId(1), h, breachFor(1, h));
        await until(async () => (await real.store.counts()).updates === 3, '3 at the good tower');
        assert.deepEqual(await towerHints(real), [1, 2, 3].map(hintOf).sort());
        assert.equal(fake.count(604), 0, 'nothing sent to the refusing tower');
        const towers = await c.client.listTowers(ALL);
        assert.deepEqual(
          towers.map((t) => t.sessionInfo[0]!.numSessions),
          [0, 1],
          'no session at the refusing tower, one at the good one',
        );
        // With a usable session, no more negotiation: the refusing tower is left alone.
        const now = fake.count(602);
        await sleep(400);
        assert.equal(fake.count(602), now);
        const st = await c.client.stats();
        assert.equal(st.numSessionsAcquired, 1);
        assert.equal(st.numBackups, 3);
        assert.equal(st.numPendingBackups, 0);
      });
    });
  }
});

describe('StateUpdate refused: the update stays with its session and is resent identically, new states go to the other tower', () => {
  const cases: [string, NonNullable<FakeTowerBehaviour['update']>][] = [
    ['TemporaryFailure (40)', WtErrorCode.TemporaryFailure],
    ['PermanentFailure (50)', WtErrorCode.PermanentFailure],
    ['ClientBehind (70)', WtErrorCode.StateUpdateClientBehind],
    ['MaxUpdatesExceeded (71)', WtErrorCode.StateUpdateMaxUpdatesExceeded],
    ['SeqNumOutOfOrder (72)', WtErrorCode.StateUpdateSeqNumOutOfOrder],
    ['an unknown code (99)', 99],
    ['hang-up without a reply', 'close'],
  ];
  for (const [name, code] of cases) {
    it(name, async () => {
      await withTowers({ update: code }, { backoff: { minMs: 1000, maxMs: 2000 } }, async ({ fake, real, c }) => {
        const f = towerUri(fake.port, fake.key);
        await c.client.addTower(f.pubkey, f.address);
        await until(async () => (await c.client.stats()).numSessionsAcquired === 1, 'session at the fake tower');
        await c.client.backupState(channelId(1), 1, breachFor(1, 1));
        await until(() => fake.count(604) >= 1 || undefined, 'refused');
        // Backed off (1 s): states backed up now go to a session at the other tower.
        const r = towerUri(real.port);
        await c.client.addTower(r.pubkey, r.address);
        for (let h = 2; h <= 4; h++) await c.client.backupState(channelId(1), h, breachFor(1, h));
        await until(async () => (await real.store.counts()).updates === 3, '3 at the good tower');
        assert.deepEqual(await towerHints(real), [2, 3, 4].map(hintOf).sort());
        const [ft] = await c.client.listTowers(ALL);
        assert.deepEqual(
          ft!.sessionInfo[0]!.sessions.map((s) => [s.numBackups, s.numPendingBackups]),
          [[0, 1]],
          'state 1 committed at the refusing tower, not acked',
        );
        // Retried with backoff, always the same bytes (§1.7: same seq, hint and ciphertext).
        await until(() => fake.count(604) >= 2 || undefined, { what: 'retried', timeoutMs: 5000 });
        const sent = fake.seen.filter((m): m is Update => m.type === 604);
        for (const m of sent) {
          assert.equal(m.seqNum, 1);
          assert.equal(m.lastApplied, 0);
          assert.equal(m.hint.toString('hex'), hintOf(1));
          assert.ok(m.encryptedBlob.equals(sent[0]!.encryptedBlob), 'identical ciphertext on every retry');
        }
        // The tower recovers: state 1 is acked there, nothing moved, nothing doubled.
        fake.behaviour = {};
        await until(async () => (await c.store.wtclient.listSessions()).every((s) => s.numCommitted === 0), { what: 'acked at the recovered tower', timeoutMs: 10_000 });
        const towers = await c.client.listTowers(ALL);
        assert.deepEqual(
          towers.map((t) => t.sessionInfo[0]!.sessions.reduce((a, s) => a + s.numBackups, 0)),
          [1, 3],
        );
        assert.equal((await real.store.counts()).updates, 3);
        assert.deepEqual(await c.client.stats(), { numBackups: 4, numPendingBackups: 0, numFailedBackups: 0, numSessionsAcquired: 2, numSessionsExhausted: 0 });
      });
    });
  }
});

it('a tower closing mid-stream (acks one update per connection, then hangs up): backed off, nothing lost or doubled', async () => {
  const ackedByFake = new Set<string>();
  const update = (m: Update, onConn: number): 'ok' | 'close' => {
    if (onConn > 0) return 'close';
    ackedByFake.add(m.hint.toString('hex'));
    return 'ok';
  };
  await withTowers({ update }, { backoff: { minMs: 300, maxMs: 1200 } }, async ({ fake, real, c }) => {
    const f = towerUri(fake.port, fake.key);
    await c.client.addTower(f.pubkey, f.address);
    await until(async () => (await c.client.stats()).numSessionsAcquired === 1, 'session at the fake tower');
    for (let h = 1; h <= 4; h++) await c.client.backupState(channelId(1), h, breachFor(1, h));
    const r = towerUri(real.port);
    await c.client.addTower(r.pubkey, r.address);
    for (let h = 5; h <= 8; h++) await c.client.backupState(channelId(1), h, breachFor(1, h));
    await until(async () => (await c.store.wtclient.countPending()) === 0 && (await c.store.wtclient.listSessions()).every((s) => s.numCommitted === 0), { what: 'all acked', timeoutMs: 20_000 });
    const atReal = await towerHints(real);
    const all = [...ackedByFake, ...atReal];
    assert.equal(new Set(all).size, all.length, 'no state acked by both towers or twice');
    assert.deepEqual([...all].sort(), Array.from({ length: 8 }, (_, i) => hintOf(i + 1)).sort(), 'every state acked once');
    assert.ok(ackedByFake.size >= 1);
    const towers = await c.client.listTowers(ALL);
    assert.deepEqual(
      towers.map((t) => t.sessionInfo[0]!.sessions.reduce((a, s) => a + s.numBackups, 0)),
      [ackedByFake.size, atReal.length],
      'ListTowers agrees with what each tower acked',
    );
    // Each extra connection to the fake tower came after a backoff: far fewer than the updates resent.
    assert.ok(fake.count(604) <= ackedByFake.size * 2 + 2, `${fake.count(604)} updates sent to the fake tower`);
  });
});

it('a tower rejecting forever (LND #10994): backupState never waits, backups keep flowing to the good tower', { timeout: 60_000 }, async () => {
  await withTowers({ update: WtErrorCode.TemporaryFailure }, { backoff: { minMs: 200, maxMs: 1600 } }, async ({ fake, real, c }) => {
    const f = towerUri(fake.port, fake.key);
    await c.client.addTower(f.pubkey, f.address);
    await until(async () => (await c.client.stats()).numSessionsAcquired === 1, 'session at the bad tower');
    await c.client.backupState(channelId(1), 1, breachFor(1, 1));
    await until(() => fake.count(604) >= 1 || undefined, 'refused');
    const r = towerUri(real.port);
    await c.client.addTower(r.pubkey, r.address);
    // 40 revoked states over ~4 s, as a busy channel produces them.
    let slowest = 0;
    for (let h = 2; h <= 41; h++) {
      const t0 = performance.now();
      await c.client.backupState(channelId(1), h, breachFor(1, h));
      slowest = Math.max(slowest, performance.now() - t0);
      await sleep(100);
      // Backups flow while the bad tower keeps refusing: never more than a few behind.
      if (h % 10 === 1) await until(async () => (await towerHints(real)).includes(hintOf(h)) || undefined, { what: `state ${h} at the good tower`, timeoutMs: 3000 });
    }
    await until(async () => (await real.store.counts()).updates === 40, '40 at the good tower').catch(async (err: Error) => {
      const towers = await c.client.listTowers(ALL);
      throw new Error(`${err.message}; good tower has ${(await real.store.counts()).updates}; stats ${JSON.stringify(await c.client.stats())}; sessions ${JSON.stringify(towers.map((t) => t.sessionInfo[0]!.sessions.map((x) => [x.numBackups, x.numPendingBackups])))}`);
    });
    assert.ok(slowest < 500, `backupState took up to ${slowest.toFixed(0)} ms`);
    const attempts = fake.count(604);
    assert.ok(attempts >= 3, `the bad tower is still retried (${attempts})`);
    assert.ok(attempts <= 12, `but backed off, not hammered (${attempts} in ~4.5 s)`);
    // The good tower stores an update before the client has read its ack: wait for the client's count too.
    await until(async () => (await c.client.listTowers(ALL))[1]!.sessionInfo[0]!.sessions.reduce((a, s) => a + s.numBackups, 0) === 40 || undefined, 'the 40 acks read by the client');
    const [bad, good] = await c.client.listTowers(ALL);
    assert.deepEqual(bad!.sessionInfo[0]!.sessions.map((s) => [s.numBackups, s.numPendingBackups]), [[0, 1]], 'only state 1 is held by the bad session');
    assert.equal(good!.sessionInfo[0]!.sessions.reduce((a, s) => a + s.numBackups, 0), 40);
    assert.deepEqual(await c.client.stats(), { numBackups: 41, numPendingBackups: 0, numFailedBackups: 0, numSessionsAcquired: 2, numSessionsExhausted: 0 });
  });
});
