/**
 * Property tests of every watchtower decoder: totality (a value or the module's typed error, never
 * another exception, never a hang) on random and mutated bytes, and round trips.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, WtWireError, type WtMessage } from '../../src/watchtower/wire/index.js';
import {
  BlobError,
  decodeJusticeKitV0,
  decodeJusticeKitV1,
  decryptJusticeKit,
  encodeJusticeKit,
  encryptJusticeKit,
  type JusticeKit,
} from '../../src/watchtower/blob/index.js';
import { buildJusticeTx, JusticeError, parseBreachTx, verifyJusticeTx } from '../../src/watchtower/justice/index.js';

/** fc.record with ordinary objects (deepStrictEqual compares prototypes). */
const rec: typeof fc.record = ((model: never, constraints?: object) =>
  fc.record(model, { ...(constraints ?? {}), noNullPrototype: true })) as typeof fc.record;

const RUNS = { numRuns: Number(process.env.WT_PROPERTY_RUNS ?? 300) };

function total<T>(fn: () => T, ...errors: (new (...a: never[]) => Error)[]): T | Error {
  try {
    return fn();
  } catch (e) {
    if (errors.some((c) => e instanceof c)) return e as Error;
    throw e;
  }
}

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const message: fc.Arbitrary<WtMessage> = fc.oneof(
  rec({ type: fc.constant(600 as const), features: fc.uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 8 }).map((a) => a.sort((x, y) => x - y)), chainHash: bytes(32, 32) }),
  rec({ type: fc.constant(601 as const), code: u16, data: bytes(0, 600) }),
  rec({ type: fc.constant(602 as const), blobType: u16, maxUpdates: u16, rewardBase: u32, rewardRate: u32, sweepFeeRateSatPerKw: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  rec({ type: fc.constant(603 as const), code: u16, lastApplied: u16, data: bytes(0, 1022) }),
  rec({ type: fc.constant(604 as const), seqNum: u16, lastApplied: u16, isComplete: fc.integer({ min: 0, max: 255 }), hint: bytes(16, 16), encryptedBlob: bytes(0, 400) }),
  rec({ type: fc.constant(605 as const), code: u16, lastApplied: u16 }),
  rec({ type: fc.constant(606 as const) }),
  rec({ type: fc.constant(607 as const), code: u16 }),
) as fc.Arbitrary<WtMessage>;

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'truncate'; at: number } | { kind: 'extend'; tail: Buffer } | { kind: 'set'; at: number; value: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  rec({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  rec({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  rec({ kind: fc.constant('extend' as const), tail: bytes(1, 16) }),
  rec({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0xfd, 0xfe, 0xff, 0x02, 0x03, 0x2b) }),
);
function mutate(b: Buffer, ms: Mutation[]): Buffer {
  let out = Buffer.from(b);
  for (const m of ms) {
    if (out.length === 0 && m.kind !== 'extend') continue;
    if (m.kind === 'flip') out[m.at % out.length]! ^= 1 << m.bit;
    else if (m.kind === 'set') out[m.at % out.length] = m.value;
    else if (m.kind === 'truncate') out = out.subarray(0, m.at % out.length);
    else out = Buffer.concat([out, m.tail]);
  }
  return out;
}

describe('wtwire: property tests', () => {
  it('encode → decode is the identity', () => {
    fc.assert(fc.property(message, (m) => assert.deepEqual(decodeMessage(encodeMessage(m)), m)), RUNS);
  });
  it('random bytes: a message or a WtWireError', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(0, 64), fc.tuple(fc.integer({ min: 600, max: 607 }), bytes(0, 400)).map(([t, b]) => Buffer.concat([Buffer.from([t >> 8, t & 0xff]), b]))), (b) => {
        const r = total(() => decodeMessage(b), WtWireError);
        if (!(r instanceof Error)) assert.deepEqual(decodeMessage(encodeMessage(r)), r);
      }),
      RUNS,
    );
  });
  it('mutated valid encodings: a message or a WtWireError', () => {
    fc.assert(
      fc.property(message, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, ms) => {
        total(() => decodeMessage(mutate(encodeMessage(m), ms)), WtWireError);
      }),
      RUNS,
    );
  });
});

const kitV0: fc.Arbitrary<JusticeKit> = rec({
  version: fc.constant(0 as const),
  sweepScript: bytes(0, 42),
  revocationPubKey: bytes(33, 33),
  localDelayPubKey: bytes(33, 33),
  csvDelay: u32,
  toLocalSig: bytes(64, 64),
  toRemotePubKey: fc.oneof(bytes(32, 32).map((b) => Buffer.concat([Buffer.from([2]), b])), fc.constant(Buffer.alloc(33))),
  toRemoteSig: bytes(64, 64),
}).map((k) => (k.toRemotePubKey[0] === 0 ? { ...k, toRemoteSig: Buffer.alloc(64) } : k));
const kitV1: fc.Arbitrary<JusticeKit> = rec({
  version: fc.constant(1 as const),
  sweepScript: bytes(0, 42),
  revocationPubKey: bytes(32, 32),
  localDelayPubKey: bytes(32, 32),
  toLocalSig: bytes(64, 64),
  delayScriptHash: bytes(32, 32),
  toRemotePubKey: fc.oneof(bytes(32, 32).map((b) => Buffer.concat([Buffer.from([3]), b])), fc.constant(Buffer.alloc(33))),
  toRemoteSig: bytes(64, 64),
}).map((k) => (k.toRemotePubKey[0] === 0 ? { ...k, toRemoteSig: Buffer.alloc(64) } : k));

describe('justice kits and blobs: property tests', () => {
  it('kit encode → decode is the identity (V0 and V1)', () => {
    fc.assert(
      fc.property(fc.oneof(kitV0, kitV1), (k) => {
        const p = encodeJusticeKit(k);
        assert.equal(p.length, k.version === 0 ? 274 : 300);
        assert.deepEqual(k.version === 0 ? decodeJusticeKitV0(p) : decodeJusticeKitV1(p), k);
      }),
      RUNS,
    );
  });
  it('random and mutated plaintexts: a kit or a BlobError', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(0, 310), bytes(274, 274), bytes(300, 300)), fc.array(mutation, { maxLength: 3 }), (b, ms) => {
        const x = mutate(b, ms);
        total(() => decodeJusticeKitV0(x), BlobError);
        total(() => decodeJusticeKitV1(x), BlobError);
      }),
      RUNS,
    );
  });
  it('blob encrypt → decrypt is the identity; random or mutated blobs give a BlobError', () => {
    fc.assert(
      fc.property(fc.oneof(kitV0, kitV1), bytes(32, 32), fc.array(mutation, { minLength: 1, maxLength: 3 }), (k, key, ms) => {
        const type = k.version === 0 ? 0x02 : 0x0a;
        const blob = encryptJusticeKit(k, key);
        assert.deepEqual(decryptJusticeKit(blob, key, type), k);
        const bad = mutate(blob, ms);
        if (!bad.equals(blob)) assert.ok(total(() => decryptJusticeKit(bad, key, type), BlobError) instanceof BlobError);
        total(() => decryptJusticeKit(bad, key, 0x06), BlobError);
      }),
      RUNS,
    );
  });
  it('rebuilding a justice tx from any kit: a transaction or a JusticeError, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(kitV0, kitV1), fc.constantFrom(0x02, 0x03, 0x06, 0x0a, 0x1a), bytes(0, 40), (k, blobType, script) => {
        if ((k.version === 1) !== (blobType === 0x0a || blobType === 0x1a)) return;
        const breach = { txid: Buffer.alloc(32, 1), outputs: [{ script, amountSat: 100000n }] };
        const r = total(() => buildJusticeTx({ breach, kit: k, policy: { blobType, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 1000n }, rewardScript: Buffer.alloc(22) }), JusticeError);
        if (!(r instanceof Error)) total(() => verifyJusticeTx(r), JusticeError);
      }),
      RUNS,
    );
  });
  it('breach transaction parser: a transaction or a JusticeError', () => {
    fc.assert(fc.property(bytes(0, 200), (b) => void total(() => parseBreachTx(b), JusticeError)), RUNS);
  });
});
