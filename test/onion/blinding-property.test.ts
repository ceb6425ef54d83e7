/**
 * Property tests of route blinding's decoders: recipient data (random and mutated streams give data or
 * an OnionError, never another exception, and what is encoded decodes back), sealed data opened with
 * any key, and a blinded hop read from any payload bytes — always a decision, never a throw or a hang.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp } from '../../src/crypto/secp256k1.js';
import { createBlindedPath, decodeRecipientData, encodeRecipientData, openRecipientData, type RecipientData } from '../../src/onion/blinding.js';
import { peelHtlc, readBlindedHop } from '../../src/onion/blinded-hop.js';
import { OnionError } from '../../src/onion/errors.js';
import { encodeHopPayload } from '../../src/onion/payload.js';
import { createOnion } from '../../src/onion/sphinx.js';
import { mutate, mutationsArb } from '../wire/mutations.js';
import { totalOf } from './total.js';

const RUNS = { numRuns: Number(process.env.ONION_PROPERTY_RUNS ?? 200) };
const total = totalOf(OnionError);
const bytes = (minLength: number, maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength, maxLength }).map((b) => Buffer.from(b));
const key = bytes(32, 32).filter((k) => secp.isPrivateKey(k));
const point = key.map((k) => secp.publicKey(k));
const scid = fc.tuple(fc.nat(0xffffff), fc.nat(0xffffff), fc.nat(0xffff)).map(([b, t, o]) => `${b}x${t}x${o}`);

const dataArb: fc.Arbitrary<Partial<RecipientData>> = fc.record(
  {
    padding: bytes(0, 40),
    shortChannelId: scid,
    nextNodeId: point,
    pathId: bytes(0, 40),
    nextPathKeyOverride: point,
    paymentRelay: fc.record({ cltvExpiryDelta: fc.nat(0xffff), feeProportionalMillionths: fc.nat(0xffff_ffff), feeBaseMsat: fc.nat(0xffff_ffff) }, { noNullPrototype: true }),
    paymentConstraints: fc.record({ maxCltvExpiry: fc.nat(0xffff_ffff), htlcMinimumMsat: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }, { noNullPrototype: true }),
    allowedFeatures: bytes(0, 8),
  },
  { requiredKeys: [], noNullPrototype: true },
);

describe('property: recipient data', () => {
  it('decode(encode(d)) = d', () => {
    fc.assert(
      fc.property(dataArb, (d) => assert.deepEqual(decodeRecipientData(encodeRecipientData(d)), { extraTlvs: [], ...d })),
      RUNS,
    );
  });

  it('random and mutated streams → data or an OnionError, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(0, 120), fc.tuple(dataArb, mutationsArb).map(([d, ms]) => mutate(encodeRecipientData(d), ms))), (b) => {
        const r = total(() => decodeRecipientData(b));
        if (r instanceof OnionError) assert.equal(r.code, 'MALFORMED');
      }),
      RUNS,
    );
  });

  it('sealed data opens only for its node and path key; random or mutated ciphertext is an OnionError', () => {
    fc.assert(
      fc.property(key, key, key, dataArb, mutationsArb, (session, nodeKey, other, d, ms) => {
        const path = createBlindedPath(session, [{ nodeId: secp.publicKey(nodeKey), data: encodeRecipientData(d) }]);
        const sealed = path.hops[0]!.encryptedData;
        assert.deepEqual(openRecipientData(nodeKey, path.pathKey, sealed).data, { extraTlvs: [], ...d });
        if (!Buffer.from(other).equals(nodeKey)) assert.ok(total(() => openRecipientData(other, path.pathKey, sealed)) instanceof OnionError);
        const bad = mutate(sealed, ms);
        if (!bad.equals(sealed)) assert.ok(total(() => openRecipientData(nodeKey, path.pathKey, bad)) instanceof OnionError);
      }),
      { numRuns: 100 },
    );
  });

  it('random path keys and ciphertexts → an OnionError, never another exception', () => {
    fc.assert(
      fc.property(key, bytes(0, 40), bytes(0, 80), (nodeKey, pathKey, sealed) => {
        assert.ok(total(() => openRecipientData(nodeKey, pathKey, sealed)) instanceof OnionError);
      }),
      RUNS,
    );
  });
});

describe('property: a blinded hop read from any payload', () => {
  it('arbitrary recipient data bytes in an authentic onion → forward, final or a failure, never a throw', () => {
    fc.assert(
      fc.property(key, key, key, fc.oneof(bytes(0, 60), dataArb.map((d) => encodeRecipientData(d))), fc.boolean(), fc.boolean(), (session, pathSession, nodeKey, data, final, intro) => {
        const path = createBlindedPath(pathSession, [{ nodeId: secp.publicKey(nodeKey), data }]);
        const hopPayload = encodeHopPayload({
          encryptedRecipientData: path.hops[0]!.encryptedData,
          ...(intro ? { currentPathKey: path.pathKey } : {}),
          ...(final ? { amtToForward: 1000n, outgoingCltvValue: 100, totalAmountMsat: 1000n } : {}),
        });
        const hops = [{ nodeId: intro ? secp.publicKey(nodeKey) : path.hops[0]!.blindedNodeId, payload: hopPayload }];
        if (!final) hops.push({ nodeId: secp.publicKey(session), payload: encodeHopPayload({ amtToForward: 1n, outgoingCltvValue: 1 }) });
        const hash = Buffer.alloc(32, 7);
        const { packet } = createOnion({ sessionKey: session, hops, associatedData: hash });
        const htlc = { amountMsat: 1000n, cltvExpiry: 200, paymentHash: hash, onion: packet, ...(intro ? {} : { pathKey: path.pathKey }) };
        const hop = readBlindedHop(htlc, peelHtlc(htlc, nodeKey), nodeKey, 100);
        assert.ok(['forward', 'final', 'fail'].includes(hop.kind));
        assert.notEqual(hop.kind, final ? 'forward' : 'final');
      }),
      { numRuns: 100 },
    );
  });
});
