/** A commitment's key set and obscuring factor from the keys BOLT 3 Appendix C derives (test/vectors/bolt3-keys.json). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex, readVector } from '../helpers.js';
import { commitmentNumberObscurer, deriveCommitmentKeys } from '../../src/channel/index.js';

interface KeyVectors {
  appendixC: Record<string, string>;
}
const C = readVector<KeyVectors>('bolt3-keys.json').appendixC;
const h = (s: string | undefined): Buffer => hex(s!);

describe('BOLT 3 Appendix C: the keys of the commitment vectors', () => {
  const pcp = h(C.local_per_commitment_point);
  it('deriveCommitmentKeys: static remotekey keeps the payment basepoint, legacy rotates it', () => {
    const local = { revocationBasepoint: h(C.local_payment_basepoint), paymentBasepoint: h(C.local_payment_basepoint), delayedPaymentBasepoint: h(C.local_delayed_payment_basepoint), htlcBasepoint: h(C.local_payment_basepoint) };
    const remote = { revocationBasepoint: h(C.remote_revocation_basepoint), paymentBasepoint: h(C.remote_payment_basepoint), delayedPaymentBasepoint: h(C.remote_payment_basepoint), htlcBasepoint: h(C.remote_payment_basepoint) };
    const legacy = deriveCommitmentKeys(local, remote, pcp, false);
    assert.equal(Buffer.from(legacy.remotePubkey).toString('hex'), C.remotepubkey);
    assert.equal(Buffer.from(legacy.localHtlcPubkey).toString('hex'), C.localpubkey);
    assert.equal(Buffer.from(legacy.remoteHtlcPubkey).toString('hex'), C.remotepubkey);
    assert.equal(Buffer.from(legacy.localDelayedPubkey).toString('hex'), C.local_delayedpubkey);
    assert.equal(Buffer.from(legacy.revocationPubkey).toString('hex'), C.local_revocation_pubkey);
    const stat = deriveCommitmentKeys(local, remote, pcp, true);
    assert.equal(Buffer.from(stat.remotePubkey).toString('hex'), C.remote_payment_basepoint);
  });
  it('obscuring factor', () => {
    assert.equal(commitmentNumberObscurer(h(C.local_payment_basepoint), h(C.remote_payment_basepoint)), BigInt('0x' + C.obscuring_factor));
  });
});
