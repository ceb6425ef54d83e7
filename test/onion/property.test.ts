/**
 * Property tests for every decoder of `src/onion/`: random and mutated input gives a value or an
 * OnionError, never another exception; peeling is total on any bytes; what is built peels back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp } from '../../src/crypto/secp256k1.js';
import { OnionError } from '../../src/onion/errors.js';
import { attributeFailure, createFailure, wrapFailure } from '../../src/onion/failure-onion.js';
import { decodeFailureMessage, encodeFailureMessage, FailureCode, type FailureMessage } from '../../src/onion/failure.js';
import { senderSecrets } from '../../src/onion/keys.js';
import { decodeHopPayload, encodeHopPayload, type HopPayload } from '../../src/onion/payload.js';
import { createOnion, ONION_PACKET_SIZE, peelOnion } from '../../src/onion/sphinx.js';
import { mutate, mutationsArb } from '../wire/mutations.js';
import { totalOf } from './total.js';

/** Raise with ONION_PROPERTY_RUNS=5000 for a deeper run. */
const RUNS = { numRuns: Number(process.env.ONION_PROPERTY_RUNS ?? 200) };

const total = totalOf(OnionError);

const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength, maxLength }).map((b) => Buffer.from(b));
const key = bytes(32, 32).filter((k) => secp.isPrivateKey(k));
const scid = fc.tuple(fc.nat(0xffffff), fc.nat(0xffffff), fc.nat(0xffff)).map(([b, t, o]) => `${b}x${t}x${o}`);

const payloadArb: fc.Arbitrary<Partial<HopPayload>> = fc.record(
  {
    amtToForward: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
    outgoingCltvValue: fc.nat(0xffff_ffff),
    shortChannelId: scid,
    paymentData: fc.record({ paymentSecret: bytes(32, 32), totalMsat: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }, { noNullPrototype: true }),
    paymentMetadata: bytes(0, 40),
    keysendPreimage: bytes(32, 32),
  },
  { requiredKeys: [], noNullPrototype: true },
);

describe('property: hop payloads', () => {
  it('decode(encode(p)) = p', () => {
    fc.assert(
      fc.property(payloadArb, (p) => {
        const r = decodeHopPayload(encodeHopPayload(p));
        assert.ok(r.ok);
        assert.deepEqual(r.payload, { extraTlvs: [], ...p });
      }),
      RUNS,
    );
  });

  it('random and mutated streams → a payload or the problem to report, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(0, 80), fc.tuple(payloadArb, mutationsArb).map(([p, ms]) => mutate(encodeHopPayload(p), ms))), (b) => {
        const r = decodeHopPayload(b);
        if (!r.ok) assert.ok(r.offset >= 0 && r.offset <= b.length);
      }),
      RUNS,
    );
  });
});

describe('property: peeling', () => {
  it('any bytes peel to a result (mostly malformed), never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(0, 64), bytes(ONION_PACKET_SIZE, ONION_PACKET_SIZE)), key, bytes(32, 32), (packet, k, hash) => {
        const r = peelOnion(packet, k, hash);
        assert.ok(['malformed', 'invalid-payload', 'forward', 'final'].includes(r.kind));
      }),
      { numRuns: 50 },
    );
  });

  it('authentic onions with arbitrary payload bytes peel to a result; mutated ones to malformed', () => {
    fc.assert(
      fc.property(key, key, bytes(1, 300), bytes(32, 32), mutationsArb, (session, nodeKey, payload, hash, ms) => {
        const { packet } = createOnion({ sessionKey: session, hops: [{ nodeId: secp.publicKey(nodeKey), payload }], associatedData: hash });
        const r = peelOnion(packet, nodeKey, hash);
        assert.notEqual(r.kind, 'malformed');
        const bad = mutate(packet, ms);
        if (!bad.equals(packet)) assert.equal(peelOnion(bad, nodeKey, hash).kind, 'malformed');
      }),
      { numRuns: 60 },
    );
  });
});

const failureArb: fc.Arbitrary<FailureMessage> = fc.oneof(
  fc.constantFrom(FailureCode.TEMPORARY_NODE_FAILURE, FailureCode.UNKNOWN_NEXT_PEER, FailureCode.MPP_TIMEOUT).map((code) => ({ code }) as FailureMessage),
  fc.record({ code: fc.constant(FailureCode.FEE_INSUFFICIENT), htlcMsat: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), channelUpdate: bytes(0, 200) }),
  fc.record({ code: fc.constant(FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS), htlcMsat: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), height: fc.nat(0xffff_ffff) }),
  fc.record({ code: fc.constant(FailureCode.INVALID_ONION_PAYLOAD), tlvType: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), offset: fc.nat(0xffff) }),
  fc.record({ code: fc.constant(FailureCode.CHANNEL_DISABLED), disabledFlags: fc.nat(0xffff), channelUpdate: bytes(0, 200) }),
);

describe('property: failure messages', () => {
  it('decode(encode(m)) = m', () => {
    fc.assert(
      fc.property(failureArb, (m) => {
        assert.deepEqual(decodeFailureMessage(encodeFailureMessage(m)), { extraTlvs: [], ...m });
      }),
      RUNS,
    );
  });

  it('random and mutated messages → a message or OnionError', () => {
    const codes = Object.values(FailureCode);
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(0, 60),
          fc.tuple(fc.constantFrom(...codes), bytes(0, 60)).map(([c, rest]) => Buffer.concat([Buffer.from([c >> 8, c & 0xff]), rest])),
          fc.tuple(failureArb, mutationsArb).map(([m, ms]) => mutate(encodeFailureMessage(m), ms)),
        ),
        (b) => void total(() => decodeFailureMessage(b)),
      ),
      RUNS,
    );
  });

  it('random and mutated return packets → an attribution or OnionError', () => {
    const { sharedSecrets } = senderSecrets(Buffer.alloc(32, 7), [secp.publicKey(Buffer.alloc(32, 1)), secp.publicKey(Buffer.alloc(32, 2))]);
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(0, 400),
          fc.tuple(failureArb, mutationsArb).map(([m, ms]) => mutate(wrapFailure(sharedSecrets[0]!, createFailure(sharedSecrets[1]!, m)), ms)),
        ),
        (b) => {
          const r = total(() => attributeFailure(sharedSecrets, b));
          if (!(r instanceof OnionError)) assert.ok(r.hopIndex === 0 || r.hopIndex === 1);
        },
      ),
      RUNS,
    );
  });
});
