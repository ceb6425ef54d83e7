/** BOLT 3 key derivation (src/bitcoin/keys.ts): Appendix E, and the keys Appendix C derives from its secrets (test/vectors/bolt3-keys.json). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hex, readVector } from '../helpers.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { BitcoinError } from '../../src/bitcoin/errors.js';
import { CURVE_ORDER, derivePrivkey, derivePubkey, deriveRevocationPrivkey, deriveRevocationPubkey, perCommitmentPoint } from '../../src/bitcoin/keys.js';

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
    const bad = (f: () => unknown) => assert.throws(f, (e) => e instanceof BitcoinError && e.code === 'INVALID_KEY');
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
});

describe('private and public derivations agree', () => {
  const secret = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp.isPrivateKey(k));
  it('derive_privkey · G = derive_pubkey and revocationprivkey · G = revocationpubkey, for any secrets', () => {
    fc.assert(
      fc.property(secret, secret, (base, per) => {
        const B = secp.publicKey(base);
        const P = perCommitmentPoint(per);
        assert.deepEqual(secp.publicKey(derivePrivkey(base, P)), derivePubkey(B, P));
        assert.deepEqual(secp.publicKey(deriveRevocationPrivkey(base, per)), deriveRevocationPubkey(B, P));
      }),
      { numRuns: 200 },
    );
  });
  it('the curve order is secp256k1 n', () => {
    assert.equal(CURVE_ORDER, 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n);
  });
});
