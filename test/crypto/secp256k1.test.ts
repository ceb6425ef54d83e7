import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { loadNativeSecp256k1, Secp256k1Error, tinySecp256k1, type Secp256k1 } from '../../src/crypto/secp256k1.js';
import { hkdf2, hmacSha256, sha256 } from '../../src/crypto/hash.js';
import { hkdfSync } from 'node:crypto';

const privKey = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => tinySecp256k1.isPrivateKey(k)).map((k) => Buffer.from(k));

const loaded = loadNativeSecp256k1();
const backends: Array<[string, Secp256k1 | undefined]> = [
  ['libsecp256k1 native addon', 'ec' in loaded ? loaded.ec : undefined],
  ['tiny-secp256k1', tinySecp256k1],
];

it('the native libsecp256k1 addon loads on this machine', () => {
  assert.ok('ec' in loaded, 'error' in loaded ? loaded.error : '');
});

for (const [name, backend] of backends) describe(`secp256k1 backend ${name}, differential against @noble/curves (test-only oracle)`, () => {
  const secp = backend!;
  if (!backend) return;

  it('publicKey and BOLT 8 ecdh (SHA-256 of the compressed shared point) agree', () => {
    fc.assert(
      fc.property(privKey, privKey, (a, b) => {
        const pubB = secp.publicKey(b);
        assert.deepEqual(pubB, Buffer.from(noble.getPublicKey(b, true)));
        const shared = noble.getSharedSecret(a, pubB, true);
        assert.deepEqual(secp.ecdh(a, pubB), Buffer.from(nobleSha256(shared)));
        assert.deepEqual(secp.ecdh(a, pubB), secp.ecdh(b, secp.publicKey(a)));
      }),
      { numRuns: 100 },
    );
  });

  it('RFC 6979 signatures are byte-identical and verify both ways', () => {
    fc.assert(
      fc.property(privKey, fc.uint8Array({ minLength: 32, maxLength: 32 }), (k, digest) => {
        const sig = secp.sign(digest, k);
        assert.deepEqual(sig, Buffer.from(noble.sign(digest, k, { prehash: false })));
        assert.ok(secp.verify(digest, secp.publicKey(k), sig));
        const bad = Buffer.from(digest);
        bad[0]! ^= 1;
        assert.equal(secp.verify(bad, secp.publicKey(k), sig), false);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects invalid points and keys with a typed error', () => {
    const k = Buffer.alloc(32, 1);
    // x = 5 is not on the curve (5³ + 7 = 132 is not a square mod p).
    const offCurve = Buffer.concat([Buffer.from([2]), Buffer.alloc(31), Buffer.from([5])]);
    assert.equal(secp.isPublicKey(offCurve), false);
    assert.throws(() => secp.ecdh(k, offCurve), Secp256k1Error);
    assert.throws(() => secp.ecdh(k, Buffer.concat([Buffer.from([4]), offCurve.subarray(1)])), Secp256k1Error);
    assert.throws(() => secp.ecdh(k, Buffer.alloc(32, 2)), Secp256k1Error);
    assert.throws(() => secp.publicKey(Buffer.alloc(32)), Secp256k1Error);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const ok = secp.isPublicKey(bytes);
        try {
          secp.ecdh(k, bytes);
          assert.ok(ok, 'ecdh accepted only what isPublicKey accepts');
        } catch (e) {
          assert.ok(e instanceof Secp256k1Error);
          assert.equal(ok, false);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('hashes and HKDF (node:crypto)', () => {
  it('sha256 of several parts equals that of their concatenation', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 5 }), (parts) => {
        assert.deepEqual(sha256(...parts), Buffer.from(nobleSha256(Buffer.concat(parts))));
      }),
    );
    assert.equal(sha256(Buffer.from('abc')).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hkdf2 (three HMACs) equals RFC 5869 HKDF-SHA256 with empty info, 64 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (salt, ikm) => {
        const want = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.alloc(0), 64));
        const [a, b] = hkdf2(salt, ikm);
        assert.deepEqual(Buffer.concat([a, b]), want);
      }),
    );
    assert.equal(hmacSha256(Buffer.from('key'), Buffer.from('The quick brown fox jumps over the lazy dog')).toString('hex'), 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });
});
