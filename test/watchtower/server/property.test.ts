/**
 * Property tests (fast-check) for what the tower parses and decides: external addresses, the
 * state-update rules against a straightforward model of LND's checks, and arbitrary message sequences
 * thrown at a real tower connection.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { formatHostPort, parseTowerAddress, TowerAddressError } from '../../../src/watchtower/server/address.js';
import { checkStateUpdate, type TowerSession } from '../../../src/watchtower/server/rules.js';
import { encodeMessage, WtErrorCode as C, type WtMessage } from '../../../src/watchtower/wire/index.js';
import { CHAIN, createSession, randomKey, startTower, stateUpdateMsg, WtClient, type TestTower } from './client.js';

test('parseTowerAddress is total: a HostPort or a TowerAddressError, never anything else', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (s) => {
      try {
        const a = parseTowerAddress(s);
        assert.ok(a.port >= 1 && a.port <= 65535);
        assert.deepEqual(parseTowerAddress(formatHostPort(a)), a);
      } catch (e) {
        assert.ok(e instanceof TowerAddressError, String(e));
      }
    }),
    { numRuns: 2000 },
  );
});

test('parseTowerAddress round-trips host:port for IPv4, IPv6 and names', () => {
  const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
  fc.assert(
    fc.property(host, fc.integer({ min: 1, max: 65535 }), (h, port) => {
      const parsed = parseTowerAddress(formatHostPort({ host: h, port }));
      assert.equal(parsed.port, port);
      assert.equal(parsed.host, h);
      assert.equal(parseTowerAddress(h).port, 9911);
    }),
    { numRuns: 1000 },
  );
});

/** LND's InsertStateUpdate, written as directly as possible from spec §1.7. */
function model(s: { la: number; cla: number; max: number; size: number } | undefined, seq: number, echo: number, len: number): number {
  if (!s) return C.PermanentFailure;
  if (len !== s.size) return C.TemporaryFailure;
  if (seq <= echo) return C.PermanentFailure;
  if (echo < s.cla) return C.StateUpdateClientBehind;
  if (seq > s.max) return C.StateUpdateMaxUpdatesExceeded;
  if (seq !== s.la && seq !== s.la + 1) return C.StateUpdateSeqNumOutOfOrder;
  return C.OK;
}

test('checkStateUpdate: matches the model on random streams; last_applied never decreases nor passes max', () => {
  const u16 = fc.integer({ min: 0, max: 65535 });
  const step = fc.record({
    seq: fc.oneof(u16, fc.integer({ min: 0, max: 8 })),
    echo: fc.oneof(u16, fc.integer({ min: 0, max: 8 })),
    len: fc.constantFrom(314, 314, 314, 340, 0, 313),
  });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.constantFrom(0x0002, 0x0006, 0x000a, 0x001a), fc.array(step, { maxLength: 40 }), (max, blobType, steps) => {
      const size = blobType & 0x08 ? 340 : 314;
      const session: TowerSession = {
        id: Buffer.alloc(33),
        policy: { blobType, maxUpdates: max, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n },
        lastApplied: 0,
        clientLastApplied: 0,
        rewardScript: Buffer.alloc(0),
        createdAt: 0,
      };
      for (const st of steps) {
        const expected = model({ la: session.lastApplied, cla: session.clientLastApplied, max, size }, st.seq, st.echo, st.len);
        const v = checkStateUpdate(session, { seqNum: st.seq, lastApplied: st.echo, hint: Buffer.alloc(16), encryptedBlob: Buffer.alloc(st.len) });
        assert.equal(v.code, expected);
        if (v.code === C.OK) {
          assert.ok(v.lastApplied >= session.lastApplied && v.lastApplied <= max);
          session.lastApplied = v.lastApplied;
          session.clientLastApplied = (v as { clientLastApplied: number }).clientLastApplied;
        } else assert.equal(v.lastApplied, session.lastApplied);
      }
      assert.equal(checkStateUpdate(undefined, { seqNum: 1, lastApplied: 0, hint: Buffer.alloc(16), encryptedBlob: Buffer.alloc(314) }).code, C.PermanentFailure);
    }),
    { numRuns: 2000 },
  );
});

let tower: TestTower;
before(async () => {
  tower = await startTower({ readTimeoutMs: 300 });
});
after(async () => tower.close());

const anyMessage: fc.Arbitrary<WtMessage> = fc.oneof(
  fc.record({ type: fc.constant(600 as const), features: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }), chainHash: fc.constantFrom(CHAIN, Buffer.alloc(32)) }),
  fc.record({ type: fc.constant(601 as const), code: fc.integer({ min: 0, max: 65535 }), data: fc.uint8Array({ maxLength: 40 }).map(Buffer.from) }),
  fc.record({
    type: fc.constant(602 as const),
    blobType: fc.constantFrom(0, 2, 3, 6, 7, 10, 26, 65535),
    maxUpdates: fc.integer({ min: 0, max: 65535 }),
    rewardBase: fc.constantFrom(0, 1, 4294967295),
    rewardRate: fc.constantFrom(0, 1),
    sweepFeeRateSatPerKw: fc.constantFrom(0n, 999n, 1000n, 2500n, 0xffffffffffffffffn),
  }),
  fc.record({
    type: fc.constant(604 as const),
    seqNum: fc.integer({ min: 0, max: 5 }),
    lastApplied: fc.integer({ min: 0, max: 5 }),
    isComplete: fc.integer({ min: 0, max: 255 }),
    hint: fc.uint8Array({ minLength: 16, maxLength: 16 }).map(Buffer.from),
    encryptedBlob: fc.constantFrom(314, 340, 0, 1000).map((n) => Buffer.alloc(n, 7)),
  }),
  fc.record({ type: fc.constant(605 as const), code: fc.integer({ min: 0, max: 65535 }), lastApplied: fc.integer({ min: 0, max: 65535 }) }),
  fc.constant({ type: 606 as const }),
);
const anyFrame = fc.oneof(
  anyMessage.map((m) => encodeMessage(m)),
  fc.uint8Array({ maxLength: 400 }).map(Buffer.from),
  anyMessage.map((m) => encodeMessage(m)).chain((b) => fc.integer({ min: 0, max: b.length }).map((n) => b.subarray(0, n))),
);

test('any sequence of frames on a real connection: only well-formed replies, then the tower still serves', { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(anyFrame, { minLength: 1, maxLength: 6 }), async (withSession, frames) => {
      const key = randomKey();
      if (withSession) await createSession(tower.port, key);
      const c = await WtClient.dial(tower.port, key);
      for (const f of frames) c.sendRaw(f);
      // Read whatever comes until the tower closes or goes quiet.
      const replies: WtMessage[] = [];
      for (;;) {
        const m = await c.next(3000).catch(() => undefined);
        if (!m) break;
        replies.push(m);
      }
      c.close();
      // The tower opens with its Init (a connection it resets at once may lose even that: RST drops unread data).
      if (replies.length > 0) assert.equal(replies[0]!.type, 600, 'the tower opens with its Init');
      for (const r of replies.slice(1)) assert.ok([603, 605, 607].includes(r.type), `reply type ${r.type}`);
      assert.ok(replies.length <= 1 + frames.length);
      // The tower is unharmed: a fresh honest session works.
      const h = randomKey();
      assert.equal(((await createSession(tower.port, h)) as { code: number }).code, C.OK);
      const u = await WtClient.open(tower.port, h);
      assert.deepEqual(await u.request(stateUpdateMsg(h, 1, 0, 1)), { type: 605, code: C.OK, lastApplied: 1 });
    }),
    { numRuns: 50 },
  );
});
