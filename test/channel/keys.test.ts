/** BOLT 3 key derivation: Appendix E, and the keys Appendix C derives from its secrets (test/vectors/bolt3-keys.json). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex, readVector } from '../helpers.js';
import { secp } from '../../src/crypto/secp256k1.js';
import {
  ChannelError,
  commitmentNumberObscurer,
  deriveCommitmentKeys,
  derivePrivkey,
  derivePubkey,
  deriveRevocationPrivkey,
  deriveRevocationPubkey,
  fundingScript,
  perCommitmentPoint,
} from '../../src/channel/index.js';

interface KeyVectors {
  appendixE: Record<string, string>;
  appendixC: Record<string, string>;
}
const v = readVector<KeyVectors>('bolt3-keys.json');
const E = v.appendixE;
const C = v.appendixC;
const h = (s: string | undefined): Buffer => hex(s!);

describe('BOLT 3 Appendix E: key derivation', () => {
  it('base point and per-commitment point from their secrets', () => {
    assert.equal(secp.publicKey(h(E.base_secret)).toString('hex'), E.base_point);
    assert.equal(perCommitmentPoint(h(E.per_commitment_secret)).toString('hex'), E.per_commitment_point);
  });
  it('derivation of pubkey from basepoint and per_commitment_point', () => {
    assert.equal(derivePubkey(h(E.base_point), h(E.per_commitment_point)).toString('hex'), E.localpubkey);
  });
  it('derivation of private key from basepoint secret and per_commitment_secret', () => {
    const k = derivePrivkey(h(E.base_secret), h(E.per_commitment_point));
    assert.equal(k.toString('hex'), E.localprivkey);
    assert.equal(secp.publicKey(k).toString('hex'), E.localpubkey);
  });
  it('derivation of revocation pubkey from basepoint and per_commitment_point', () => {
    assert.equal(deriveRevocationPubkey(h(E.base_point), h(E.per_commitment_point)).toString('hex'), E.revocationpubkey);
  });
  it('derivation of revocation secret from basepoint_secret and per_commitment_secret', () => {
    const k = deriveRevocationPrivkey(h(E.base_secret), h(E.per_commitment_secret));
    assert.equal(k.toString('hex'), E.revocationprivkey);
    assert.equal(secp.publicKey(k).toString('hex'), E.revocationpubkey);
  });
  it('rejects malformed keys with a typed error', () => {
    const bad = (f: () => unknown) => assert.throws(f, (e) => e instanceof ChannelError && e.code === 'INVALID_KEY');
    bad(() => derivePubkey(Buffer.concat([Buffer.from([5]), Buffer.alloc(32, 1)]), h(E.per_commitment_point)));
    bad(() => derivePubkey(h(E.base_point), Buffer.alloc(32)));
    bad(() => derivePrivkey(Buffer.alloc(32), h(E.per_commitment_point)));
    bad(() => deriveRevocationPrivkey(h(E.base_secret), Buffer.alloc(32, 0xff)));
  });
});

describe('BOLT 3 Appendix C: the keys of the commitment vectors', () => {
  const pcp = h(C.local_per_commitment_point);
  it('per-commitment point and basepoints from the INTERNAL secrets', () => {
    assert.equal(perCommitmentPoint(h(C.local_per_commitment_secret)).toString('hex'), C.local_per_commitment_point);
    assert.equal(secp.publicKey(h(C.local_payment_basepoint_secret)).toString('hex'), C.local_payment_basepoint);
    assert.equal(secp.publicKey(h(C.remote_payment_basepoint_secret)).toString('hex'), C.remote_payment_basepoint);
    assert.equal(secp.publicKey(h(C.remote_revocation_basepoint_secret)).toString('hex'), C.remote_revocation_basepoint);
    assert.equal(secp.publicKey(h(C.local_delayed_payment_basepoint_secret)).toString('hex'), C.local_delayed_payment_basepoint);
    assert.equal(secp.publicKey(h(C.local_funding_privkey)).toString('hex'), C.local_funding_pubkey);
    assert.equal(secp.publicKey(h(C.remote_funding_privkey)).toString('hex'), C.remote_funding_pubkey);
  });
  it('localpubkey, remotepubkey (rotated), local_delayedpubkey and their private keys', () => {
    assert.equal(derivePubkey(h(C.local_payment_basepoint), pcp).toString('hex'), C.localpubkey);
    assert.equal(derivePrivkey(h(C.local_payment_basepoint_secret), pcp).toString('hex'), C.local_privkey);
    assert.equal(derivePubkey(h(C.remote_payment_basepoint), pcp).toString('hex'), C.remotepubkey);
    assert.equal(derivePrivkey(h(C.remote_payment_basepoint_secret), pcp).toString('hex'), C.remote_privkey);
    assert.equal(derivePubkey(h(C.local_delayed_payment_basepoint), pcp).toString('hex'), C.local_delayedpubkey);
    assert.equal(derivePrivkey(h(C.local_delayed_payment_basepoint_secret), pcp).toString('hex'), C.local_delayed_privkey);
    assert.equal(deriveRevocationPubkey(h(C.remote_revocation_basepoint), pcp).toString('hex'), C.local_revocation_pubkey);
  });
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
  it('obscuring factor and funding witness script', () => {
    assert.equal(commitmentNumberObscurer(h(C.local_payment_basepoint), h(C.remote_payment_basepoint)), BigInt('0x' + C.obscuring_factor));
    assert.equal(fundingScript(h(C.local_funding_pubkey), h(C.remote_funding_pubkey)).toString('hex'), C.funding_witness_script);
    assert.equal(fundingScript(h(C.remote_funding_pubkey), h(C.local_funding_pubkey)).toString('hex'), C.funding_witness_script);
  });
});
