/**
 * The tower's reply codes over real connections (real TCP, BOLT 8, SQLite file): LND's
 * `wtserver/server_test.go` sequences (spec §6.1) as data, plus the CreateSession, DeleteSession and
 * connection-flow rules of §1.4–§1.8.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CHAIN_HASHES, WtErrorCode as C, type WtMessage } from '../../../src/watchtower/wire/index.js';
import { blobFor, createSession, createSessionMsg, hintFor, randomKey, startTower, stateUpdateMsg, WtClient, type TestTower } from './client.js';

type Step = [seq: number, echo: number] | 'reconnect';
interface UpdateCase {
  name: string;
  maxUpdates: number;
  steps: Step[];
  /** [code, last_applied] per update, in order. */
  replies: [number, number][];
}

// LND wtserver/server_test.go `stateUpdateTests` (spec §6.1).
const UPDATE_CASES: UpdateCase[] = [
  {
    name: 'perm fail after sending seqnum equal lastapplied',
    maxUpdates: 3,
    steps: [[1, 0], [2, 1], [3, 2], [3, 3]],
    replies: [[C.OK, 1], [C.OK, 2], [C.OK, 3], [C.PermanentFailure, 3]],
  },
  { name: 'skip sequence number', maxUpdates: 1024, steps: [[2, 0]], replies: [[C.StateUpdateSeqNumOutOfOrder, 0]] },
  {
    name: 'revert to older seqnum',
    maxUpdates: 1024,
    steps: [[1, 0], [2, 0], [1, 0]],
    replies: [[C.OK, 1], [C.OK, 2], [C.StateUpdateSeqNumOutOfOrder, 2]],
  },
  {
    name: 'revert to older lastapplied',
    maxUpdates: 1024,
    steps: [[1, 0], [2, 1], [3, 2], [4, 1]],
    replies: [[C.OK, 1], [C.OK, 2], [C.OK, 3], [C.StateUpdateClientBehind, 3]],
  },
  {
    name: 'resume after disconnect',
    maxUpdates: 1024,
    steps: [[1, 0], [2, 1], 'reconnect', [3, 2], [4, 3]],
    replies: [[C.OK, 1], [C.OK, 2], [C.OK, 3], [C.OK, 4]],
  },
  {
    name: 'resume after disconnect lagging lastapplied',
    maxUpdates: 1024,
    steps: [[1, 0], [2, 0], 'reconnect', [3, 0], [4, 3]],
    replies: [[C.OK, 1], [C.OK, 2], [C.OK, 3], [C.OK, 4]],
  },
  {
    name: 'resume after disconnect lagging lastapplied, re-sending the last update',
    maxUpdates: 1024,
    steps: [[1, 0], [2, 0], 'reconnect', [2, 0], [3, 0], [4, 3]],
    replies: [[C.OK, 1], [C.OK, 2], [C.OK, 2], [C.OK, 3], [C.OK, 4]],
  },
  {
    name: 'seqnum exceed maxupdates',
    maxUpdates: 3,
    steps: [[1, 0], [2, 1], [3, 2], [4, 3]],
    replies: [[C.OK, 1], [C.OK, 2], [C.OK, 3], [C.StateUpdateMaxUpdatesExceeded, 3]],
  },
  { name: 'perm fail after seqnum 0', maxUpdates: 1024, steps: [[0, 0]], replies: [[C.PermanentFailure, 0]] },
];

let tower: TestTower;
before(async () => {
  tower = await startTower({ newRewardScript: async () => Buffer.from('0014' + '11'.repeat(20), 'hex') });
});
after(async () => tower.close());

describe('state update sequences (LND server_test.go)', () => {
  for (const tc of UPDATE_CASES) {
    test(tc.name, async () => {
      const key = randomKey();
      const created = await createSession(tower.port, key, { maxUpdates: tc.maxUpdates });
      assert.equal((created as { code: number }).code, C.OK);
      let client = await WtClient.open(tower.port, key);
      const got: [number, number][] = [];
      for (const step of tc.steps) {
        if (step === 'reconnect') {
          client.close();
          await client.closed;
          client = await WtClient.open(tower.port, key);
          continue;
        }
        const r = await client.request(stateUpdateMsg(key, step[0], step[1]));
        assert.equal(r?.type, 605, `no reply to update ${step.join(',')}`);
        const { code, lastApplied } = r as Extract<WtMessage, { type: 605 }>;
        got.push([code, lastApplied]);
        if (code !== C.OK) {
          await client.closed; // the tower closes after any non-OK reply
          break;
        }
      }
      assert.deepEqual(got, tc.replies);
      client.close();
      // What the tower kept: exactly the accepted seqs, each with its hint and blob.
      const accepted = new Set(tc.steps.filter((s): s is [number, number] => s !== 'reconnect').map((s) => s[0]));
      const okSeqs = [...accepted].filter((s) => got.some(([code, la]) => code === C.OK && la === s)).sort((a, b) => a - b);
      const stored = await tower.store.listUpdates(key.publicKey);
      assert.deepEqual(stored.map((u) => u.seqNum), okSeqs);
      for (const u of stored) {
        assert.deepEqual(u.hint, hintFor(key, u.seqNum));
        assert.deepEqual(u.encryptedBlob, blobFor(u.seqNum));
      }
    });
  }
});

interface CreateCase {
  name: string;
  /** Sessions already present: created with this policy, then this many updates. */
  before?: { over?: Partial<Extract<WtMessage, { type: 602 }>>; updates: number };
  req: Partial<Extract<WtMessage, { type: 602 }>>;
  code: number;
  lastApplied: number;
  data: 'empty' | 'reward';
}

const REWARD = Buffer.from('0014' + '11'.repeat(20), 'hex');

const CREATE_CASES: CreateCase[] = [
  { name: 'legacy altruist', req: {}, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'anchor', req: { blobType: 0x0006 }, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'taproot staging', req: { blobType: 0x000a }, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'taproot final', req: { blobType: 0x001a }, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'reward session gets the reward script', req: { blobType: 0x0003, rewardBase: 1000, rewardRate: 10000 }, code: C.OK, lastApplied: 0, data: 'reward' },
  { name: 'duplicate before any update is processed again', before: { updates: 0 }, req: {}, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'duplicate before any update may change the policy', before: { updates: 0 }, req: { blobType: 0x0006, maxUpdates: 5 }, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'duplicate after one update: AlreadyExists with last_applied', before: { updates: 1 }, req: {}, code: C.CreateSessionAlreadyExists, lastApplied: 1, data: 'empty' },
  {
    name: 'duplicate reward session after updates: AlreadyExists with the stored script',
    before: { over: { blobType: 0x0003, rewardBase: 1000, rewardRate: 10000 }, updates: 3 },
    req: { blobType: 0x0003, rewardBase: 1000, rewardRate: 10000 },
    code: C.CreateSessionAlreadyExists,
    lastApplied: 3,
    data: 'reward',
  },
  { name: 'AlreadyExists comes before the blob-type check', before: { updates: 2 }, req: { blobType: 0 }, code: C.CreateSessionAlreadyExists, lastApplied: 2, data: 'empty' },
  { name: 'blob type 0', req: { blobType: 0 }, code: C.CreateSessionRejectBlobType, lastApplied: 0, data: 'empty' },
  { name: 'unsupported blob type 0x0007', req: { blobType: 0x0007 }, code: C.CreateSessionRejectBlobType, lastApplied: 0, data: 'empty' },
  { name: 'blob type checked before the policy', req: { blobType: 0xffff, maxUpdates: 0 }, code: C.CreateSessionRejectBlobType, lastApplied: 0, data: 'empty' },
  { name: 'max_updates 0', req: { maxUpdates: 0 }, code: C.TemporaryFailure, lastApplied: 0, data: 'empty' },
  { name: 'sweep fee rate 999 sat/kW', req: { sweepFeeRateSatPerKw: 999n }, code: C.TemporaryFailure, lastApplied: 0, data: 'empty' },
  { name: 'sweep fee rate 1000 sat/kW is the minimum', req: { sweepFeeRateSatPerKw: 1000n }, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'sweep fee rate u64 max', req: { sweepFeeRateSatPerKw: 0xffffffffffffffffn }, code: C.OK, lastApplied: 0, data: 'empty' },
  { name: 'altruist with reward base', req: { rewardBase: 1 }, code: C.TemporaryFailure, lastApplied: 0, data: 'empty' },
  { name: 'altruist with reward rate', req: { rewardRate: 1 }, code: C.TemporaryFailure, lastApplied: 0, data: 'empty' },
];

describe('create session', () => {
  for (const tc of CREATE_CASES) {
    test(tc.name, async () => {
      const key = randomKey();
      if (tc.before) {
        assert.equal((await createSession(tower.port, key, tc.before.over ?? {}) as { code: number }).code, C.OK);
        if (tc.before.updates > 0) {
          const c = await WtClient.open(tower.port, key);
          const size = (tc.before.over?.blobType ?? 2) & 0x08 ? 340 : 314;
          for (let s = 1; s <= tc.before.updates; s++) {
            const r = await c.request(stateUpdateMsg(key, s, s - 1, s === tc.before.updates ? 1 : 0, blobFor(s, size)));
            assert.equal((r as { code: number }).code, C.OK);
          }
          await c.closed;
        }
      }
      const c = await WtClient.open(tower.port, key);
      const r = await c.request(createSessionMsg(tc.req));
      assert.equal(r?.type, 603);
      const reply = r as Extract<WtMessage, { type: 603 }>;
      assert.deepEqual([reply.code, reply.lastApplied], [tc.code, tc.lastApplied]);
      assert.deepEqual(reply.data, tc.data === 'reward' ? REWARD : Buffer.alloc(0));
      await c.closed; // one request per connection: the tower closes after the reply
      const s = await tower.store.getSession(key.publicKey);
      if (tc.code === C.OK) {
        assert.equal(s?.policy.blobType, tc.req.blobType ?? 2);
        assert.equal(s?.policy.maxUpdates, tc.req.maxUpdates ?? 1024);
        assert.equal(s?.policy.sweepFeeRateSatPerKw, tc.req.sweepFeeRateSatPerKw ?? 2500n);
      } else if (!tc.before) assert.equal(s, undefined);
    });
  }

  test('reward session refused with 64 when the tower has no reward script source (LND default)', async () => {
    const t = await startTower();
    try {
      const r = await createSession(t.port, randomKey(), { blobType: 0x0003, rewardBase: 1000, rewardRate: 10000 });
      assert.equal((r as { code: number }).code, C.CreateSessionRejectBlobType);
    } finally {
      await t.close();
    }
  });
});

describe('state update checks', () => {
  const cases: { name: string; blobType: number; size: number; code: number }[] = [
    { name: 'legacy 313 bytes', blobType: 0x0002, size: 313, code: C.TemporaryFailure },
    { name: 'legacy 315 bytes', blobType: 0x0002, size: 315, code: C.TemporaryFailure },
    { name: 'legacy 340 bytes', blobType: 0x0002, size: 340, code: C.TemporaryFailure },
    { name: 'legacy empty', blobType: 0x0002, size: 0, code: C.TemporaryFailure },
    { name: 'legacy 314 bytes', blobType: 0x0002, size: 314, code: C.OK },
    { name: 'anchor 314 bytes', blobType: 0x0006, size: 314, code: C.OK },
    { name: 'taproot 314 bytes', blobType: 0x000a, size: 314, code: C.TemporaryFailure },
    { name: 'taproot 340 bytes', blobType: 0x000a, size: 340, code: C.OK },
    { name: 'taproot final 340 bytes', blobType: 0x001a, size: 340, code: C.OK },
  ];
  for (const tc of cases) {
    test(`blob size: ${tc.name} → ${tc.code}`, async () => {
      const key = randomKey();
      await createSession(tower.port, key, { blobType: tc.blobType });
      const c = await WtClient.open(tower.port, key);
      const r = await c.request(stateUpdateMsg(key, 1, 0, 0, blobFor(1, tc.size)));
      assert.deepEqual([(r as { code: number }).code, (r as { lastApplied: number }).lastApplied], [tc.code, tc.code === 0 ? 1 : 0]);
      if (tc.code !== C.OK) await c.closed;
      c.close();
    });
  }

  test('unknown session → PermanentFailure (50), last_applied 0', async () => {
    const key = randomKey();
    const c = await WtClient.open(tower.port, key);
    const r = await c.request(stateUpdateMsg(key, 1, 0));
    assert.deepEqual(r, { type: 605, code: C.PermanentFailure, lastApplied: 0 });
    await c.closed;
  });

  test('blob size is checked before the sequence rules (size error on a bad seq is 40)', async () => {
    const key = randomKey();
    await createSession(tower.port, key);
    const c = await WtClient.open(tower.port, key);
    const r = await c.request(stateUpdateMsg(key, 0, 0, 0, blobFor(0, 10)));
    assert.equal((r as { code: number }).code, C.TemporaryFailure);
  });

  test('is_complete=1: reply, then the tower closes', async () => {
    const key = randomKey();
    await createSession(tower.port, key);
    const c = await WtClient.open(tower.port, key);
    const r = await c.request(stateUpdateMsg(key, 1, 0, 1));
    assert.deepEqual(r, { type: 605, code: C.OK, lastApplied: 1 });
    await c.closed;
  });

  test('a re-sent seq with another hint replaces the stored update', async () => {
    const key = randomKey();
    await createSession(tower.port, key);
    const c = await WtClient.open(tower.port, key);
    await c.request(stateUpdateMsg(key, 1, 0));
    const other = Buffer.alloc(16, 0xab);
    const r = await c.request({ type: 604, seqNum: 1, lastApplied: 0, isComplete: 1, hint: other, encryptedBlob: blobFor(9) });
    assert.equal((r as { code: number }).code, C.OK);
    const stored = await tower.store.listUpdates(key.publicKey);
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0]!.hint, other);
    assert.deepEqual(stored[0]!.encryptedBlob, blobFor(9));
  });
});

describe('delete session', () => {
  test('unknown → 80; existing → 0 and every update gone; again → 80; updates then → 50; create again → OK', async () => {
    const key = randomKey();
    const del = async (): Promise<number> => {
      const c = await WtClient.open(tower.port, key);
      const r = await c.request({ type: 606 });
      assert.equal(r?.type, 607);
      await c.closed;
      return (r as { code: number }).code;
    };
    assert.equal(await del(), C.DeleteSessionNotFound);
    await createSession(tower.port, key);
    const c = await WtClient.open(tower.port, key);
    for (let s = 1; s <= 5; s++) await c.request(stateUpdateMsg(key, s, s - 1));
    c.close();
    await c.closed;
    const neighbour = randomKey();
    await createSession(tower.port, neighbour);
    const n = await WtClient.open(tower.port, neighbour);
    await n.request(stateUpdateMsg(neighbour, 1, 0, 1));
    assert.equal((await tower.store.findByHints([hintFor(key, 3)])).length, 1);
    assert.equal(await del(), C.OK);
    assert.deepEqual(await tower.store.listUpdates(key.publicKey), []);
    assert.equal(await tower.store.getSession(key.publicKey), undefined);
    assert.deepEqual(await tower.store.findByHints([1, 2, 3, 4, 5].map((s) => hintFor(key, s))), []);
    assert.equal((await tower.store.listUpdates(neighbour.publicKey)).length, 1, 'other sessions untouched');
    assert.equal(await del(), C.DeleteSessionNotFound);
    const u = await WtClient.open(tower.port, key);
    assert.equal(((await u.request(stateUpdateMsg(key, 1, 0))) as { code: number }).code, C.PermanentFailure);
    assert.equal(((await createSession(tower.port, key)) as { code: number }).code, C.OK);
  });
});

describe('connection flow (§1.4, §1.6)', () => {
  test("the tower reads the client's Init before sending its own (bits 1,3, our chain), as LND's", async () => {
    const c = await WtClient.dial(tower.port, randomKey());
    await assert.rejects(c.next(300), /timed out|a message/, 'nothing from the tower before our Init');
    c.send({ type: 600, features: [0], chainHash: CHAIN_HASHES.regtest });
    const init = await c.next();
    assert.deepEqual(init, { type: 600, features: [1, 3], chainHash: CHAIN_HASHES.regtest });
    c.close();
  });

  test('anything but Init first: closed without a word (not even the tower’s Init)', async () => {
    const c = await WtClient.dial(tower.port, randomKey());
    c.send({ type: 606 });
    assert.equal(await c.next(), undefined);
    await c.closed;
  });

  const initCases: { name: string; features: number[]; chain?: Buffer; accepted: boolean }[] = [
    { name: 'empty feature vector', features: [], accepted: true },
    { name: 'legacy bit 0', features: [0], accepted: true },
    { name: 'anchor bits 0,2', features: [0, 2], accepted: true },
    { name: 'taproot bits 0,4', features: [0, 4], accepted: true },
    { name: 'unknown optional bit 7', features: [0, 7], accepted: true },
    { name: 'unknown required bit 6', features: [0, 6], accepted: false },
    { name: 'unknown required bit 100', features: [100], accepted: false },
    { name: 'mainnet chain hash', features: [0], chain: CHAIN_HASHES.bitcoin, accepted: false },
  ];
  for (const tc of initCases) {
    test(`init: ${tc.name} → ${tc.accepted ? 'served' : 'closed'}`, async () => {
      const c = await WtClient.dial(tower.port, randomKey());
      c.send({ type: 600, features: tc.features, chainHash: tc.chain ?? CHAIN_HASHES.regtest });
      assert.equal((await c.next())?.type, 600, "the tower's Init, whatever the client's");
      const r = await c.request({ type: 606 });
      if (tc.accepted) assert.deepEqual(r, { type: 607, code: C.DeleteSessionNotFound });
      else assert.equal(r, undefined);
      await c.closed;
    });
  }

  const badOrder: { name: string; msgs: WtMessage[] }[] = [
    { name: 'first message not Init', msgs: [{ type: 606 }] },
    { name: 'Init twice', msgs: [{ type: 600, features: [0], chainHash: CHAIN_HASHES.regtest }, { type: 600, features: [0], chainHash: CHAIN_HASHES.regtest }] },
    { name: 'a reply type as request', msgs: [{ type: 600, features: [0], chainHash: CHAIN_HASHES.regtest }, { type: 605, code: 0, lastApplied: 0 }] },
    { name: 'Error message as request', msgs: [{ type: 600, features: [0], chainHash: CHAIN_HASHES.regtest }, { type: 601, code: 1, data: Buffer.alloc(0) }] },
  ];
  for (const tc of badOrder) {
    test(`${tc.name} → closed without reply`, async () => {
      const c = await WtClient.dial(tower.port, randomKey());
      for (const m of tc.msgs) c.send(m);
      // The tower's Init answers a client Init; nothing else comes.
      if (tc.msgs[0]!.type === 600) assert.equal((await c.next())?.type, 600);
      assert.equal(await c.next(), undefined);
    });
  }

  test('one request kind per connection: anything but StateUpdate mid-stream closes', async () => {
    const key = randomKey();
    await createSession(tower.port, key);
    const c = await WtClient.open(tower.port, key);
    assert.equal(((await c.request(stateUpdateMsg(key, 1, 0))) as { code: number }).code, C.OK);
    assert.equal(await c.request({ type: 606 }), undefined);
    assert.ok(await tower.store.getSession(key.publicKey), 'the DeleteSession was not executed');
  });

  test('one connection per session id: the second is closed at once, the first keeps working', async () => {
    const key = randomKey();
    await createSession(tower.port, key);
    const first = await WtClient.open(tower.port, key);
    const second = await WtClient.dial(tower.port, key);
    assert.equal(await second.next(), undefined, 'closed without even an Init');
    assert.equal(((await first.request(stateUpdateMsg(key, 1, 0, 1))) as { code: number }).code, C.OK);
    await first.closed;
    const third = await WtClient.open(tower.port, key); // free again once the first is gone
    assert.equal(((await third.request(stateUpdateMsg(key, 2, 1, 1))) as { code: number }).code, C.OK);
  });

  test('info(): pubkey, listeners, uris from externalIps', async () => {
    const t = await startTower({ externalIps: ['203.0.113.5', '198.51.100.1:9912', '[2001:db8::1]'] });
    try {
      const info = t.server.info();
      assert.deepEqual(info.pubkey, (await import('./client.js')).TOWER_KEY.publicKey);
      assert.deepEqual(info.listeners, [`127.0.0.1:${t.port}`]);
      const pk = info.pubkey.toString('hex');
      assert.deepEqual(info.uris, [`${pk}@203.0.113.5:9911`, `${pk}@198.51.100.1:9912`, `${pk}@[2001:db8::1]:9911`]);
    } finally {
      await t.close();
    }
  });
});
