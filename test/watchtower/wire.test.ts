/** wtwire codec against the §6.2 hex (test/vectors/wtwire-messages.json), LND's TestCheckRemoteInit cases, codes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHAIN_HASHES,
  checkRemoteInit,
  decodeMessage,
  encodeMessage,
  errorCodeName,
  maxPayloadLength,
  payloadLength,
  WtErrorCode,
  WtWireError,
  type WtMessage,
  type WtInit,
} from '../../src/watchtower/wire/index.js';
import { assertCode, hex, readVector } from './helpers.js';

type JsonMessage = Record<string, unknown> & { type: number };
interface Vectors {
  chain_hash: string;
  valid: { name: string; message: JsonMessage; hex: string }[];
  decode_only: { name: string; message: JsonMessage; hex: string }[];
  invalid: { name: string; hex: string; code: string }[];
  encode_invalid: { name: string; message: JsonMessage; code: string }[];
}
const V = readVector<Vectors>('wtwire-messages.json');

/** JSON → message: hex strings for byte fields, decimal strings for u64. */
export function fromJson(m: JsonMessage): WtMessage {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) {
    if (['chainHash', 'data', 'hint', 'encryptedBlob'].includes(k)) out[k] = hex(v as string);
    else if (k === 'sweepFeeRateSatPerKw') out[k] = BigInt(v as string);
    else out[k] = v;
  }
  return out as unknown as WtMessage;
}

describe('wtwire §6.2 vectors', () => {
  for (const v of V.valid) {
    it(`encodes ${v.name}`, () => {
      const m = fromJson(v.message);
      assert.equal(encodeMessage(m).toString('hex'), v.hex);
      assert.equal(payloadLength(m), v.hex.length / 2 - 2);
    });
    it(`decodes ${v.name}`, () => {
      assert.deepEqual(decodeMessage(hex(v.hex)), fromJson(v.message));
    });
  }
  for (const v of V.decode_only) {
    it(`decodes ${v.name}`, () => assert.deepEqual(decodeMessage(hex(v.hex)), fromJson(v.message)));
  }
  for (const v of V.invalid) {
    it(`rejects ${v.name} (${v.code})`, () => assertCode(() => decodeMessage(hex(v.hex)), WtWireError, v.code, /^wtwire: /));
  }
  for (const v of V.encode_invalid) {
    it(`refuses to encode ${v.name} (${v.code})`, () => assertCode(() => encodeMessage(fromJson(v.message)), WtWireError, v.code));
  }
  it('the mainnet chain hash is the genesis hash in internal order', () => {
    assert.equal(CHAIN_HASHES.bitcoin.toString('hex'), V.chain_hash);
  });
});

describe('wtwire encoder limits', () => {
  it('per-message maxima are LND’s', () => {
    assert.deepEqual(
      [600, 601, 602, 603, 604, 605, 606, 607].map((t) => maxPayloadLength(t as never)),
      [65535, 65535, 20, 1029, 65535, 4, 0, 2],
    );
  });
  it('CreateSessionReply carries at most 1022 bytes of data', () => {
    const m = (n: number): WtMessage => ({ type: 603, code: 0, lastApplied: 0, data: Buffer.alloc(n) });
    assert.equal(encodeMessage(m(1022)).length, 2 + 1029);
    assertCode(() => encodeMessage(m(1023)), WtWireError, 'TOO_LARGE');
    assert.equal((decodeMessage(encodeMessage(m(1022))) as { data: Buffer }).data.length, 1022);
  });
  it('a StateUpdate whose payload exceeds 65535 is TOO_LARGE both ways', () => {
    const big: WtMessage = { type: 604, seqNum: 1, lastApplied: 0, isComplete: 0, hint: Buffer.alloc(16), encryptedBlob: Buffer.alloc(65535 - 21 - 3 + 1) };
    assertCode(() => encodeMessage(big), WtWireError, 'TOO_LARGE');
    const ok: WtMessage = { ...big, encryptedBlob: Buffer.alloc(65535 - 21 - 3) };
    assert.equal(encodeMessage(ok).length, 65537);
    assertCode(() => decodeMessage(Buffer.concat([encodeMessage(ok), Buffer.from([0])])), WtWireError, 'TOO_LARGE');
  });
  it('rejects out-of-range fields with INVALID and a context', () => {
    assertCode(() => encodeMessage({ type: 605, code: 65536, lastApplied: 0 }), WtWireError, 'INVALID', /state_update_reply: code/);
    assertCode(() => encodeMessage({ type: 604, seqNum: 1, lastApplied: 0, isComplete: 256, hint: Buffer.alloc(16), encryptedBlob: Buffer.alloc(0) }), WtWireError, 'INVALID');
    assertCode(() => encodeMessage({ type: 604, seqNum: 1, lastApplied: 0, isComplete: 0, hint: Buffer.alloc(15), encryptedBlob: Buffer.alloc(0) }), WtWireError, 'INVALID', /hint/);
    assertCode(() => encodeMessage({ type: 602, blobType: 2, maxUpdates: 1, rewardBase: -1, rewardRate: 0, sweepFeeRateSatPerKw: 1n }), WtWireError, 'INVALID');
    assertCode(() => encodeMessage({ type: 602, blobType: 2, maxUpdates: 1, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 1n << 64n }), WtWireError, 'INVALID');
    assertCode(() => encodeMessage({ type: 600, features: [-1], chainHash: Buffer.alloc(32) }), WtWireError, 'INVALID');
    assertCode(() => encodeMessage({ type: 600, features: [], chainHash: Buffer.alloc(31) }), WtWireError, 'INVALID');
    assertCode(() => encodeMessage({ type: 609 } as never), WtWireError, 'INVALID');
  });
  it('u64 sweep fee rate round-trips at its maximum', () => {
    const m: WtMessage = { type: 602, blobType: 0xffff, maxUpdates: 0xffff, rewardBase: 0xffffffff, rewardRate: 0xffffffff, sweepFeeRateSatPerKw: (1n << 64n) - 1n };
    assert.deepEqual(decodeMessage(encodeMessage(m)), m);
  });
});

describe('Init.CheckRemoteInit (LND TestCheckRemoteInit)', () => {
  const main = CHAIN_HASHES.bitcoin;
  const init = (features: number[], chainHash = main): WtInit => ({ type: 600, features, chainHash });
  const accept: [string, number[]][] = [
    ['no features', []],
    ['client legacy {0}', [0]],
    ['client anchor {0,2}', [0, 2]],
    ['client taproot {0,4}', [0, 4]],
    ['tower {1,3}', [1, 3]],
    ['taproot optional 5', [1, 3, 5]],
    ['unknown optional bit 7', [7]],
    ['unknown optional bit 101', [1, 101]],
  ];
  for (const [name, bits] of accept) it(`accepts ${name}`, () => checkRemoteInit(init(bits), main));
  it('rejects an unknown required bit 6', () => assertCode(() => checkRemoteInit(init([0, 6]), main), WtWireError, 'UNKNOWN_REQUIRED_FEATURES', /6/));
  it('rejects an unknown required bit 100', () => assertCode(() => checkRemoteInit(init([100]), main), WtWireError, 'UNKNOWN_REQUIRED_FEATURES'));
  it('rejects another chain (checked first)', () => {
    assertCode(() => checkRemoteInit(init([0], CHAIN_HASHES.testnet), main), WtWireError, 'UNKNOWN_CHAIN_HASH');
    assertCode(() => checkRemoteInit(init([6], CHAIN_HASHES.regtest), main), WtWireError, 'UNKNOWN_CHAIN_HASH');
  });
});

describe('wtwire error codes (§1.5)', () => {
  it('have LND’s values and names', () => {
    const table: [number, string][] = [
      [WtErrorCode.OK, 'CodeOK'],
      [WtErrorCode.TemporaryFailure, 'CodeTemporaryFailure'],
      [WtErrorCode.PermanentFailure, 'CodePermanentFailure'],
      [WtErrorCode.CreateSessionAlreadyExists, 'CreateSessionCodeAlreadyExists'],
      [WtErrorCode.CreateSessionRejectMaxUpdates, 'CreateSessionCodeRejectMaxUpdates'],
      [WtErrorCode.CreateSessionRejectRewardRate, 'CreateSessionCodeRejectRewardRate'],
      [WtErrorCode.CreateSessionRejectSweepFeeRate, 'CreateSessionCodeRejectSweepFeeRate'],
      [WtErrorCode.CreateSessionRejectBlobType, 'CreateSessionCodeRejectBlobType'],
      [WtErrorCode.StateUpdateClientBehind, 'StateUpdateCodeClientBehind'],
      [WtErrorCode.StateUpdateMaxUpdatesExceeded, 'StateUpdateCodeMaxUpdatesExceeded'],
      [WtErrorCode.StateUpdateSeqNumOutOfOrder, 'StateUpdateCodeSeqNumOutOfOrder'],
      [WtErrorCode.DeleteSessionNotFound, 'DeleteSessionCodeNotFound'],
    ];
    assert.deepEqual(table.map(([c]) => c), [0, 40, 50, 60, 61, 62, 63, 64, 70, 71, 72, 80]);
    for (const [c, n] of table) assert.equal(errorCodeName(c), n);
    assert.equal(errorCodeName(41), 'UnknownErrorCode: 41');
  });
});
