/**
 * Property tests for the HTLC intake, which reads a peer's untrusted onion: for any onion bytes
 * (random, or an authentic onion to us mutated) the decision is made without an exception and is a
 * BOLT 4 answer — update_fail_malformed_htlc with a BADONION code and the onion's SHA-256, or an
 * update_fail_htlc whose reason is exactly what the payer would decrypt as a failure of ours.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { HtlcAdd } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { attributeFailure } from '../../src/onion/failure-onion.js';
import { BADONION } from '../../src/onion/failure.js';
import { encodeHopPayload } from '../../src/onion/payload.js';
import { createOnion, ONION_PACKET_SIZE } from '../../src/onion/sphinx.js';
import { decideIncomingHtlc } from '../../src/payment/intake.js';
import { mutate, mutationsArb } from '../wire/mutations.js';

const RUNS = { numRuns: Number(process.env.PAYMENT_PROPERTY_RUNS ?? 150) };
const NODE_KEY = Buffer.alloc(32, 0x31);
const NODE_ID = secp.publicKey(NODE_KEY);
const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
const key = bytes(32, 32).filter((k) => secp.isPrivateKey(k));

function check(h: HtlcAdd, sharedSecrets?: Buffer[]): void {
  const d = decideIncomingHtlc(h, NODE_KEY, 500);
  if (d.kind === 'fail-malformed') {
    assert.ok((d.failureCode & BADONION) !== 0);
    assert.deepEqual(d.sha256OfOnion, sha256(h.onion));
    return;
  }
  assert.equal(d.kind, 'fail');
  if (sharedSecrets) {
    const seen = attributeFailure(sharedSecrets, d.reason);
    assert.equal(seen.hopIndex, 0);
    assert.equal(seen.failure?.code, d.failure.code);
  }
}

describe('property: the intake decides every onion', () => {
  it('random bytes of any length: a BOLT 4 answer, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(bytes(0, 1500), bytes(ONION_PACKET_SIZE, ONION_PACKET_SIZE)), bytes(32, 32), (onion, paymentHash) => {
        check({ id: 0n, amountMsat: 1000n, paymentHash, cltvExpiry: 600, onion });
      }),
      RUNS,
    );
  });

  it('an authentic onion to us, mutated: malformed, or a failure the payer attributes to us', () => {
    fc.assert(
      fc.property(key, bytes(32, 32), fc.bigInt({ min: 1n, max: 2n ** 40n }), fc.nat(1000), mutationsArb, (sessionKey, paymentHash, amt, cltv, mutations) => {
        const { packet, sharedSecrets } = createOnion({ sessionKey, associatedData: paymentHash, hops: [{ nodeId: NODE_ID, payload: encodeHopPayload({ amtToForward: amt, outgoingCltvValue: cltv }) }] });
        check({ id: 0n, amountMsat: amt, paymentHash, cltvExpiry: cltv, onion: packet }, sharedSecrets);
        const mutated = mutate(packet, mutations);
        check({ id: 0n, amountMsat: amt, paymentHash, cltvExpiry: cltv, onion: mutated });
      }),
      RUNS,
    );
  });
});
