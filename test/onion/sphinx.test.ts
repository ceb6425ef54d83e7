/**
 * BOLT 4 onion construction and peeling against `onion-test.json` (test/vectors/bolt04-onion.json),
 * then the ways a hop meets a bad onion: each BADONION code with sha256_of_onion, and each
 * invalid_onion_payload case with its type.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { FailureCode } from '../../src/onion/failure.js';
import { decodeHopPayload, encodeHopPayload, KEYSEND_TLV_TYPE } from '../../src/onion/payload.js';
import { createOnion, ONION_PACKET_SIZE, peelOnion, type PeeledOnion } from '../../src/onion/sphinx.js';
import { decodeBigSize } from '../../src/wire/bigsize.js';
import { hex, loadVectors } from '../wire/helpers.js';

interface OnionVector {
  generate: { session_key: string; associated_data: string; hops: { pubkey: string; payload: string }[] };
  onion: string;
  decode: string[];
}

const v = loadVectors<OnionVector>('bolt04-onion.json');
/** The vector's payloads carry their BigSize length; the API takes the TLV stream alone. */
const stream = (framed: string): Buffer => {
  const b = hex(framed);
  const { value, size } = decodeBigSize(b);
  assert.equal(Number(value), b.length - size);
  return b.subarray(size);
};
const hops = v.generate.hops.map((h) => ({ nodeId: hex(h.pubkey), payload: stream(h.payload) }));
const assoc = hex(v.generate.associated_data);

describe('BOLT 4 onion-test.json', () => {
  it('builds the onion of the vector, byte for byte', () => {
    const { packet, sharedSecrets } = createOnion({ sessionKey: hex(v.generate.session_key), hops, associatedData: assoc });
    assert.equal(packet.length, ONION_PACKET_SIZE);
    assert.equal(packet.toString('hex'), v.onion);
    assert.equal(sharedSecrets.length, 5);
  });

  it('each hop peels its layer with its node key: its payload, then the next onion, the last one final', () => {
    let onion = hex(v.onion);
    v.decode.forEach((key, i) => {
      assert.deepEqual(secp.publicKey(hex(key)), hops[i]!.nodeId, `decode[${i}] is hop ${i}'s key`);
      const peeled = peelOnion(onion, hex(key), assoc);
      const last = i === v.decode.length - 1;
      assert.equal(peeled.kind, last ? 'final' : 'forward', `hop ${i}`);
      if (peeled.kind !== 'forward' && peeled.kind !== 'final') return;
      assert.deepEqual(encodeHopPayload(peeled.payload), hops[i]!.payload, `hop ${i} payload round-trips`);
      if (peeled.kind === 'forward') onion = peeled.nextOnion;
    });
  });

  it('the hop payloads decode to their fields (amounts, CLTVs, channels, payment_data, an unknown odd record)', () => {
    const first = decodeHopPayload(hops[0]!.payload);
    assert.ok(first.ok);
    assert.equal(first.payload.amtToForward, 15000n);
    assert.equal(first.payload.outgoingCltvValue, 1500);
    assert.equal(first.payload.shortChannelId, '0x0x1');
    const last = decodeHopPayload(hops[4]!.payload);
    assert.ok(last.ok);
    assert.equal(last.payload.paymentData?.totalMsat, 10000n);
    assert.equal(last.payload.paymentData?.paymentSecret.toString('hex'), '24a33562c54507a9334e79f0dc4f17d407e6d7c61f0e2f3d0d38599502f61704');
    assert.deepEqual(last.payload.extraTlvs.map((r) => [r.type, r.value.length]), [[301n, 224]]);
  });
});

/** A random route of `n` hops with their keys. */
function route(n: number) {
  const keys = Array.from({ length: n }, () => randomBytes(32));
  return keys.map((key, i) => ({
    key,
    nodeId: secp.publicKey(key),
    payload: encodeHopPayload(
      i === n - 1
        ? { amtToForward: 1000n, outgoingCltvValue: 500, paymentData: { paymentSecret: randomBytes(32), totalMsat: 1000n } }
        : { amtToForward: 1000n + BigInt(n - i), outgoingCltvValue: 500 + 40 * (n - i), shortChannelId: `${100 + i}x1x0` },
    ),
  }));
}

describe('peeling a bad onion', () => {
  const paymentHash = randomBytes(32);
  const r = route(2);
  const { packet } = createOnion({ sessionKey: randomBytes(32), hops: r, associatedData: paymentHash });

  const expectMalformed = (peeled: PeeledOnion, code: number, onion: Uint8Array): void => {
    assert.equal(peeled.kind, 'malformed');
    if (peeled.kind !== 'malformed') return;
    assert.equal(peeled.failureCode, code);
    assert.deepEqual(peeled.sha256OfOnion, sha256(onion));
  };

  it('an unknown version is invalid_onion_version', () => {
    const bad = Buffer.from(packet);
    bad[0] = 1;
    expectMalformed(peelOnion(bad, r[0]!.key, paymentHash), FailureCode.INVALID_ONION_VERSION, bad);
  });

  it('an ephemeral key off the curve is invalid_onion_key', () => {
    const bad = Buffer.from(packet);
    bad.fill(0xff, 2, 34);
    expectMalformed(peelOnion(bad, r[0]!.key, paymentHash), FailureCode.INVALID_ONION_KEY, bad);
  });

  it('a flipped payload bit, a wrong payment hash or the wrong node key is invalid_onion_hmac', () => {
    const bad = Buffer.from(packet);
    bad[100] ^= 1;
    expectMalformed(peelOnion(bad, r[0]!.key, paymentHash), FailureCode.INVALID_ONION_HMAC, bad);
    expectMalformed(peelOnion(packet, r[0]!.key, randomBytes(32)), FailureCode.INVALID_ONION_HMAC, packet);
    expectMalformed(peelOnion(packet, r[1]!.key, paymentHash), FailureCode.INVALID_ONION_HMAC, packet);
  });

  it('a forwarding payload without short_channel_id, or with an unknown even record, is invalid_onion_payload naming it', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const cases: [Buffer, bigint][] = [
      [encodeHopPayload({ amtToForward: 5n, outgoingCltvValue: 9 }), 6n],
      [encodeHopPayload({ outgoingCltvValue: 9, shortChannelId: '1x1x1' }), 2n],
      // Type 10 was the unknown even record here until route blinding made it encrypted_recipient_data; 100 is unknown.
      [Buffer.concat([encodeHopPayload({ amtToForward: 5n, outgoingCltvValue: 9, shortChannelId: '1x1x1' }), Buffer.from([100, 1, 0])]), 100n],
    ];
    for (const [payload, type] of cases) {
      const hops2 = [
        { nodeId: secp.publicKey(a), payload },
        { nodeId: secp.publicKey(b), payload: encodeHopPayload({ amtToForward: 5n, outgoingCltvValue: 9 }) },
      ];
      const onion = createOnion({ sessionKey: randomBytes(32), hops: hops2, associatedData: paymentHash }).packet;
      const peeled = peelOnion(onion, a, paymentHash);
      assert.equal(peeled.kind, 'invalid-payload');
      if (peeled.kind !== 'invalid-payload') continue;
      assert.equal(peeled.failure.code, FailureCode.INVALID_ONION_PAYLOAD);
      assert.equal('tlvType' in peeled.failure && peeled.failure.tlvType, type);
      assert.equal(peeled.sharedSecret.length, 32);
    }
  });

  it('a keysend preimage (even type 5482373484) and an unknown odd record reach the final hop', () => {
    const key = randomBytes(32);
    const preimage = randomBytes(32);
    const odd = { type: KEYSEND_TLV_TYPE + 1n, value: Buffer.from('x') };
    const payload = encodeHopPayload({ amtToForward: 7n, outgoingCltvValue: 40, keysendPreimage: preimage, extraTlvs: [odd] });
    const { packet: onion } = createOnion({ sessionKey: randomBytes(32), hops: [{ nodeId: secp.publicKey(key), payload }], associatedData: paymentHash });
    const peeled = peelOnion(onion, key, paymentHash);
    assert.equal(peeled.kind, 'final');
    if (peeled.kind !== 'final') return;
    assert.deepEqual(peeled.payload.keysendPreimage, preimage);
    assert.deepEqual(peeled.payload.extraTlvs, [odd]);
  });

  it('a route of 20 small hops peels to the end; payloads over 1300 bytes are refused at construction', () => {
    const long = route(20);
    let onion = createOnion({ sessionKey: randomBytes(32), hops: long, associatedData: paymentHash }).packet;
    long.forEach((h, i) => {
      const peeled = peelOnion(onion, h.key, paymentHash);
      assert.equal(peeled.kind, i === 19 ? 'final' : 'forward', `hop ${i}`);
      if (peeled.kind === 'forward') onion = peeled.nextOnion;
    });
    const big = [{ nodeId: r[0]!.nodeId, payload: Buffer.alloc(1300, 1) }];
    assert.throws(() => createOnion({ sessionKey: randomBytes(32), hops: big, associatedData: paymentHash }), /more than 1300/);
  });
});
