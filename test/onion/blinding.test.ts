/**
 * Route blinding against the spec's vectors (test/vectors/bolt04-route-blinding.json and
 * bolt04-blinded-payment-onion.json, from lightning/bolts): recipient data encoding, the path's
 * construction (ephemeral keys, shared secrets, rho, blinded node ids, encrypted data), each node's
 * unblinding, and a payment onion through a partially blinded route peeled hop by hop with the relay
 * amounts and expiries each blinded node computes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { aggregatePaymentRelay, blindedAmountToForward, blindedNodeKey, createBlindedPath, decodeRecipientData, encodeRecipientData, nextPathKey, openRecipientData, type RecipientData } from '../../src/onion/blinding.js';
import { isBlindedHtlc, peelHtlc, readBlindedHop, type IncomingHtlc } from '../../src/onion/blinded-hop.js';
import { FailureCode } from '../../src/onion/failure.js';
import { decodeHopPayload, encodeHopPayload } from '../../src/onion/payload.js';
import { createOnion } from '../../src/onion/sphinx.js';
import { decodeBigSize } from '../../src/wire/bigsize.js';

const vectors = (name: string): any => JSON.parse(readFileSync(new URL(`../../../test/vectors/${name}`, import.meta.url), 'utf8'));
const ROUTE = vectors('bolt04-route-blinding.json');
const PAYMENT = vectors('bolt04-blinded-payment-onion.json');
const hex = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('hex'));
const buf = (h: string): Buffer => Buffer.from(h, 'hex');

/** Recipient data from a vector's `tlvs` object (unknown_tag_N are odd records kept as they are). */
function dataOf(tlvs: any): Partial<RecipientData> {
  const extraTlvs = Object.entries(tlvs)
    .filter(([k]) => k.startsWith('unknown_tag_'))
    .map(([k, v]) => ({ type: BigInt(k.slice('unknown_tag_'.length)), value: buf(v as string) }));
  const features = (bits: number[]): Buffer => {
    if (bits.length === 0) return Buffer.alloc(0);
    const top = Math.max(...bits);
    const out = Buffer.alloc(Math.floor(top / 8) + 1);
    for (const b of bits) out[out.length - 1 - Math.floor(b / 8)]! |= 1 << b % 8;
    return out;
  };
  const override = tlvs.next_blinding_override ?? tlvs.next_path_key_override;
  return {
    ...(tlvs.padding !== undefined ? { padding: buf(tlvs.padding) } : {}),
    ...(tlvs.short_channel_id !== undefined ? { shortChannelId: tlvs.short_channel_id } : {}),
    ...(tlvs.next_node_id !== undefined ? { nextNodeId: buf(tlvs.next_node_id) } : {}),
    ...(tlvs.path_id !== undefined ? { pathId: buf(tlvs.path_id) } : {}),
    ...(override !== undefined ? { nextPathKeyOverride: buf(override) } : {}),
    ...(tlvs.payment_relay !== undefined
      ? {
          paymentRelay: {
            cltvExpiryDelta: tlvs.payment_relay.cltv_expiry_delta,
            feeProportionalMillionths: tlvs.payment_relay.fee_proportional_millionths ?? 0,
            feeBaseMsat: tlvs.payment_relay.fee_base_msat ?? 0,
          },
        }
      : {}),
    ...(tlvs.payment_constraints !== undefined
      ? { paymentConstraints: { maxCltvExpiry: tlvs.payment_constraints.max_cltv_expiry, htlcMinimumMsat: BigInt(tlvs.payment_constraints.htlc_minimum_msat) } }
      : {}),
    ...(tlvs.allowed_features !== undefined ? { allowedFeatures: features(tlvs.allowed_features.features) } : {}),
    extraTlvs,
  };
}

describe('route blinding: recipient data (bolt04/route-blinding-test.json)', () => {
  for (const hop of ROUTE.generate.hops) {
    it(`${hop.alias}: encodes to the vector's bytes and decodes back`, () => {
      const data = dataOf(hop.tlvs);
      assert.equal(hex(encodeRecipientData(data)), hop.encoded_tlvs);
      const decoded = decodeRecipientData(buf(hop.encoded_tlvs));
      assert.deepEqual(decoded, { ...data });
    });
  }
});

describe('route blinding: building the path (bolt04/route-blinding-test.json)', () => {
  const hops = ROUTE.generate.hops;
  // Eve builds Dave → Eve; Bob builds Bob → Carol and joins it to Eve's with Carol's next_blinding_override.
  const eve = createBlindedPath(buf(hops[2].session_key), hops.slice(2).map((h: any) => ({ nodeId: buf(h.node_id), data: buf(h.encoded_tlvs) })));
  const bob = createBlindedPath(buf(hops[0].session_key), hops.slice(0, 2).map((h: any) => ({ nodeId: buf(h.node_id), data: buf(h.encoded_tlvs) })));
  const steps = [...bob.steps, ...eve.steps];

  it('each hop: ephemeral keys, shared secret, rho, blinded node id, encrypted data', () => {
    hops.forEach((h: any, i: number) => {
      const s = steps[i]!;
      assert.equal(hex(s.ephemeralPrivateKey), h.ephemeral_privkey, `${h.alias} ephemeral_privkey`);
      assert.equal(hex(s.ephemeralKey), h.ephemeral_pubkey, `${h.alias} ephemeral_pubkey`);
      assert.equal(hex(s.sharedSecret), h.shared_secret, `${h.alias} shared_secret`);
      assert.equal(hex(s.rho), h.rho, `${h.alias} rho`);
      assert.equal(hex(s.encryptedData), h.encrypted_data, `${h.alias} encrypted_data`);
      assert.equal(hex(s.blindedNodeId), h.blinded_node_id, `${h.alias} blinded_node_id`);
    });
  });

  it('the joined route: introduction node, first path key, hops', () => {
    assert.equal(hex(bob.introductionNodeId), ROUTE.route.introduction_node_id);
    assert.equal(hex(bob.pathKey), ROUTE.route.blinding);
    const joined = [...bob.hops, ...eve.hops].map((h) => ({ blinded_node_id: hex(h.blindedNodeId), encrypted_data: hex(h.encryptedData) }));
    assert.deepEqual(joined, ROUTE.route.hops);
  });
});

describe('route blinding: unblinding at each node (bolt04/route-blinding-test.json)', () => {
  for (const hop of ROUTE.unblind.hops) {
    it(`${hop.alias}: blinded private key, decrypted data, next path key`, () => {
      const nodeKey = buf(hop.node_privkey);
      const pathKey = buf(hop.ephemeral_pubkey);
      assert.equal(hex(blindedNodeKey(nodeKey, pathKey)), hop.blinded_privkey);
      const encrypted = ROUTE.route.hops[ROUTE.unblind.hops.indexOf(hop)].encrypted_data;
      const opened = openRecipientData(nodeKey, pathKey, buf(encrypted));
      assert.equal(hex(opened.plaintext), hop.decrypted_data);
      assert.equal(hex(nextPathKey(pathKey, opened.sharedSecret)), hop.next_ephemeral_pubkey);
      assert.equal(hex(opened.nextPathKey), hop.next_ephemeral_pubkey_override ?? hop.next_ephemeral_pubkey);
      // The blinded private key is the one of the blinded node id the path names.
      assert.equal(hex(secp.publicKey(blindedNodeKey(nodeKey, pathKey))), ROUTE.route.hops[ROUTE.unblind.hops.indexOf(hop)].blinded_node_id);
    });
  }

  it('data sealed for one node does not open with another node key, nor with a flipped byte', () => {
    const [bobHop, carol] = ROUTE.unblind.hops;
    const enc = buf(ROUTE.route.hops[0].encrypted_data);
    assert.throws(() => openRecipientData(buf(carol.node_privkey), buf(bobHop.ephemeral_pubkey), enc), /does not decrypt/);
    enc[5]! ^= 1;
    assert.throws(() => openRecipientData(buf(bobHop.node_privkey), buf(bobHop.ephemeral_pubkey), enc), /does not decrypt/);
  });
});

describe('route blinding: a payment onion to a blinded route (bolt04/blinded-payment-onion-test.json)', () => {
  const g = PAYMENT.generate;
  const payloadOf = (framed: string): Buffer => {
    const b = buf(framed);
    const { value, size } = decodeBigSize(b);
    assert.equal(BigInt(b.length - size), value);
    return b.subarray(size);
  };

  it('the hop payloads encode as the vector says', () => {
    const [alice, bob, carol, dave, eve] = g.full_route.hops;
    const enc = (i: number): Buffer => buf(g.blinded_route.hops[i].encrypted_data);
    assert.equal(hex(encodeHopPayload({ shortChannelId: alice.tlvs.outgoing_channel_id, amtToForward: BigInt(alice.tlvs.amt_to_forward), outgoingCltvValue: alice.tlvs.outgoing_cltv_value })), hex(payloadOf(alice.payload)));
    assert.equal(hex(encodeHopPayload({ encryptedRecipientData: enc(0), currentPathKey: buf(bob.tlvs.current_blinding_point) })), hex(payloadOf(bob.payload)));
    assert.equal(hex(encodeHopPayload({ encryptedRecipientData: enc(1) })), hex(payloadOf(carol.payload)));
    assert.equal(hex(encodeHopPayload({ encryptedRecipientData: enc(2) })), hex(payloadOf(dave.payload)));
    const evePayload = { amtToForward: BigInt(eve.tlvs.amt_to_forward), totalAmountMsat: BigInt(eve.tlvs.total_amount_msat), outgoingCltvValue: eve.tlvs.outgoing_cltv_value, encryptedRecipientData: enc(3) };
    assert.equal(hex(encodeHopPayload(evePayload)), hex(payloadOf(eve.payload)));
    const decoded = decodeHopPayload(payloadOf(eve.payload));
    assert.ok(decoded.ok);
    assert.equal(decoded.payload.totalAmountMsat, 150000n);
  });

  it('the blinded route is built from each node recipient data with the route vector session keys', () => {
    const full = g.full_route.hops;
    const route = ROUTE.generate.hops;
    const first = createBlindedPath(buf(route[0].session_key), [1, 2].map((i) => ({ nodeId: buf(route[i - 1].node_id), data: encodeRecipientData(dataOf(full[i].tlvs.encrypted_recipient_data)) })));
    const second = createBlindedPath(buf(route[2].session_key), [3, 4].map((i) => ({ nodeId: buf(route[i - 1].node_id), data: encodeRecipientData(dataOf(full[i].tlvs.encrypted_recipient_data)) })));
    assert.equal(hex(first.pathKey), g.blinded_route.blinding);
    assert.deepEqual(
      [...first.hops, ...second.hops].map((h) => ({ blinded_node_id: hex(h.blindedNodeId), encrypted_data: hex(h.encryptedData) })),
      g.blinded_route.hops.map((h: any) => ({ blinded_node_id: h.blinded_node_id, encrypted_data: h.encrypted_data })),
    );
  });

  it('the path\'s payinfo is its relays\' payment_relay folded from the recipient back', () => {
    const relays = g.full_route.hops.slice(1, 4).map((h: any) => dataOf(h.tlvs.encrypted_recipient_data).paymentRelay!);
    const { fee_base_msat, fee_proportional_millionths, cltv_expiry_delta } = g.blinded_payinfo;
    assert.deepEqual(aggregatePaymentRelay(relays), { feeBaseMsat: fee_base_msat, feeProportionalMillionths: fee_proportional_millionths, cltvExpiryDelta: cltv_expiry_delta });
    // The payer's fee on the aggregate (BOLT 7's, rounded down) is what Alice forwards to Bob in the vector.
    const agg = aggregatePaymentRelay(relays);
    const amount = BigInt(g.final_amount_msat);
    assert.equal(amount + BigInt(agg.feeBaseMsat) + (amount * BigInt(agg.feeProportionalMillionths)) / 1_000_000n, BigInt(g.full_route.hops[0].tlvs.amt_to_forward));
    assert.equal(g.final_cltv + agg.cltvExpiryDelta, g.full_route.hops[0].tlvs.outgoing_cltv_value);
  });

  it('the onion is the vector onion', () => {
    const { packet } = createOnion({
      sessionKey: buf(g.session_key),
      associatedData: buf(g.associated_data),
      hops: g.full_route.hops.map((h: any) => ({ nodeId: buf(h.pubkey), payload: payloadOf(h.payload) })),
    });
    assert.equal(hex(packet), g.onion);
  });

  it('each node peels its layer: the next onion, the next path key, the relay amounts and expiries', () => {
    const hops = PAYMENT.decrypt.hops;
    const paymentHash = buf(g.associated_data);
    // Alice is outside the path: a plain forward of 110125 msat at 749150.
    let htlc: IncomingHtlc = { amountMsat: 110125n, cltvExpiry: 749150, paymentHash, onion: buf(hops[0].onion) };
    const alice = peelHtlc({ ...htlc, amountMsat: 110125n, cltvExpiry: 749150 + 10 }, buf(hops[0].node_privkey));
    assert.equal(alice.kind, 'forward');
    assert.ok(!isBlindedHtlc(htlc, alice));
    assert.equal(hex(alice.kind === 'forward' ? alice.nextOnion : undefined), hops[1].onion);
    const expected = [
      { amt: 100125n, cltv: 749100 },
      { amt: 100010n, cltv: 749025 },
      { amt: 100000n, cltv: 749000 },
    ];
    htlc = { amountMsat: 110125n, cltvExpiry: 749150, paymentHash, onion: buf(hops[1].onion) };
    for (let i = 1; i <= 3; i++) {
      const peeled = peelHtlc(htlc, buf(hops[i].node_privkey));
      assert.ok(isBlindedHtlc(htlc, peeled), hops[i].alias);
      const hop = readBlindedHop(htlc, peeled, buf(hops[i].node_privkey), 700_000);
      assert.equal(hop.kind, 'forward', hops[i].alias);
      if (hop.kind !== 'forward') return;
      assert.equal(hex(hop.nextOnion), hops[i + 1].onion, `${hops[i].alias} next onion`);
      assert.equal(hex(hop.nextPathKey), hops[i].next_blinding, `${hops[i].alias} next path key`);
      assert.equal(hop.amtToForward, expected[i - 1]!.amt, `${hops[i].alias} amount`);
      assert.equal(hop.outgoingCltvValue, expected[i - 1]!.cltv, `${hops[i].alias} expiry`);
      htlc = { amountMsat: hop.amtToForward, cltvExpiry: hop.outgoingCltvValue, paymentHash, onion: hop.nextOnion, pathKey: hop.nextPathKey };
    }
    const eve = readBlindedHop(htlc, peelHtlc(htlc, buf(hops[4].node_privkey)), buf(hops[4].node_privkey), 700_000);
    assert.equal(eve.kind, 'final');
    if (eve.kind !== 'final') return;
    assert.equal(eve.amtToForward, 100000n);
    assert.equal(eve.totalMsat, 150000n);
    assert.equal(eve.outgoingCltvValue, 749000);
    assert.equal(hex(eve.pathId), 'c9cf92f45ade68345bc20ae672e2012f4af487ed4415');
  });

  it('failures inside the path: malformed invalid_onion_blinding after the introduction node, encrypted at it', () => {
    const hops = PAYMENT.decrypt.hops;
    const paymentHash = buf(g.associated_data);
    // Carol, with Bob's path key, but the HTLC's expiry past her max_cltv_expiry (750100).
    const carolHtlc: IncomingHtlc = { amountMsat: 100125n, cltvExpiry: 750101, paymentHash, onion: buf(hops[2].onion), pathKey: buf(hops[1].next_blinding) };
    const carol = readBlindedHop(carolHtlc, peelHtlc(carolHtlc, buf(hops[2].node_privkey)), buf(hops[2].node_privkey), 700_000);
    assert.deepEqual(carol, { kind: 'fail', failure: { kind: 'fail-malformed', failureCode: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha256(buf(hops[2].onion)) } });
    // A wrong path key: the onion does not peel — still invalid_onion_blinding, not invalid_onion_hmac.
    const wrong = peelHtlc({ ...carolHtlc, pathKey: buf(hops[3].next_blinding) }, buf(hops[2].node_privkey));
    assert.equal(wrong.kind === 'malformed' ? wrong.failureCode : undefined, FailureCode.INVALID_ONION_BLINDING);
    // Bob (introduction node) below his htlc_minimum_msat (50): update_fail_htlc with invalid_onion_blinding.
    const bobHtlc: IncomingHtlc = { amountMsat: 49n, cltvExpiry: 749150, paymentHash, onion: buf(hops[1].onion) };
    const bob = readBlindedHop(bobHtlc, peelHtlc(bobHtlc, buf(hops[1].node_privkey)), buf(hops[1].node_privkey), 700_000);
    assert.equal(bob.kind, 'fail');
    if (bob.kind !== 'fail' || bob.failure.kind !== 'fail') return assert.fail('expected update_fail_htlc');
    assert.deepEqual(bob.failure.failure, { code: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha256(buf(hops[1].onion)) });
    // An HTLC with both a path key and current_path_key in its payload (Bob's onion handed a path key).
    const both = { ...bobHtlc, amountMsat: 110125n, pathKey: buf(hops[1].next_blinding) };
    assert.equal(peelHtlc(both, buf(hops[1].node_privkey)).kind, 'malformed');
  });

  it('the relay amount rounds up the fee (BOLT 4 formula)', () => {
    assert.equal(blindedAmountToForward(110125n, { cltvExpiryDelta: 50, feeProportionalMillionths: 0, feeBaseMsat: 10000 }), 100125n);
    assert.equal(blindedAmountToForward(9999n, { cltvExpiryDelta: 50, feeProportionalMillionths: 0, feeBaseMsat: 10000 }), undefined);
    // 1000 msat at 1%: amt_to_forward is ⌈1000 / 1.01⌉ = ⌈990.1⌉, the spec's rounding towards the recipient.
    assert.equal(blindedAmountToForward(1000n, { cltvExpiryDelta: 0, feeProportionalMillionths: 10_000, feeBaseMsat: 0 }), 991n);
  });
});
