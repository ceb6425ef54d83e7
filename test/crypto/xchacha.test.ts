/**
 * XChaCha20-Poly1305 against draft-irtf-cfrg-xchacha-03 (§2.2.1 HChaCha20, Appendix A.3.1 AEAD).
 * @noble/ciphers is not installed, so there is no differential run; the watchtower blob vectors of the
 * LND spec (§6.2, test/vectors/watchtower-blob.json) are a second, independent check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hchacha20, xchachaOpen, xchachaSeal, XChaChaError } from '../../src/crypto/xchacha.js';
import { AeadError } from '../../src/crypto/aead.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s:]/g, ''), 'hex');
const range = (a: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => a + i));

describe('HChaCha20 (draft-irtf-cfrg-xchacha §2.2.1)', () => {
  it('derives the subkey of the test vector', () => {
    const key = range(0, 32);
    const nonce = hex('00:00:00:09:00:00:00:4a:00:00:00:00:31:41:59:27');
    assert.equal(
      hchacha20(key, nonce).toString('hex'),
      '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc',
    );
  });
  it('rejects wrong key and nonce sizes', () => {
    assert.throws(() => hchacha20(Buffer.alloc(31), Buffer.alloc(16)), XChaChaError);
    assert.throws(() => hchacha20(Buffer.alloc(32), Buffer.alloc(24)), XChaChaError);
  });
});

describe('XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha Appendix A.3.1)', () => {
  const plaintext = Buffer.from(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const ad = hex('50515253c0c1c2c3c4c5c6c7');
  const key = range(0x80, 32);
  const nonce = range(0x40, 24);
  const ciphertext =
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e';
  const tag = 'c0875924c1c7987947deafd8780acf49';

  it('seals to the draft ciphertext and tag', () => {
    const sealed = xchachaSeal(key, nonce, ad, plaintext);
    assert.equal(sealed.subarray(sealed.length - 16).toString('hex'), tag);
    assert.equal(sealed.subarray(0, sealed.length - 16).toString('hex'), ciphertext);
  });
  it('opens the draft ciphertext', () => {
    assert.deepEqual(xchachaOpen(key, nonce, ad, hex(ciphertext + tag)), plaintext);
  });
  it('rejects a modified tag, ciphertext, nonce or associated data', () => {
    const sealed = hex(ciphertext + tag);
    const bad = Buffer.from(sealed);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => xchachaOpen(key, nonce, ad, bad), AeadError);
    const bad2 = Buffer.from(sealed);
    bad2[0]! ^= 0x80;
    assert.throws(() => xchachaOpen(key, nonce, ad, bad2), AeadError);
    const n2 = Buffer.from(nonce);
    n2[3]! ^= 1; // in the HChaCha20 part
    assert.throws(() => xchachaOpen(key, n2, ad, sealed), AeadError);
    const n3 = Buffer.from(nonce);
    n3[20]! ^= 1; // in the ChaCha20 part
    assert.throws(() => xchachaOpen(key, n3, ad, sealed), AeadError);
    assert.throws(() => xchachaOpen(key, nonce, Buffer.alloc(0), sealed), AeadError);
  });
  it('rejects short input with AeadError and bad sizes with XChaChaError', () => {
    assert.throws(() => xchachaOpen(key, nonce, ad, Buffer.alloc(15)), AeadError);
    assert.throws(() => xchachaSeal(key, Buffer.alloc(12), ad, plaintext), XChaChaError);
    assert.throws(() => xchachaOpen(Buffer.alloc(16), nonce, ad, Buffer.alloc(16)), XChaChaError);
  });
  it('round-trips arbitrary inputs (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 700 }),
        (k, n, a, p) => {
          const sealed = xchachaSeal(k, n, a, p);
          assert.equal(sealed.length, p.length + 16);
          assert.deepEqual(new Uint8Array(xchachaOpen(k, n, a, sealed)), p);
        },
      ),
      { numRuns: 200 },
    );
  });
});
