import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { AeadError, chachaOpen, chachaSeal, JS_AEAD_MAX, nodeOpen } from '../../src/crypto/aead.js';
import { chachaKeyWords, jsOpen, jsSeal, nonceWord, poly1305WholeBlocks } from '../../src/crypto/chacha-poly.js';

/** The JavaScript ChaCha20-Poly1305 of chacha-poly.ts, sealing `pt` whole. */
function seal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pt: Uint8Array): Buffer {
  const out = Buffer.alloc(pt.length + 16);
  jsSeal(chachaKeyWords(key), nonceWord(nonce, 0), nonceWord(nonce, 1), nonceWord(nonce, 2), ad, pt, 0, pt.length, out, 0);
  return out;
}
function open(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  const out = Buffer.alloc(Math.max(0, sealed.length - 16));
  return jsOpen(chachaKeyWords(key), nonceWord(nonce, 0), nonceWord(nonce, 1), nonceWord(nonce, 2), ad, sealed, 0, sealed.length, out, 0) ? out : undefined;
}
function openssl(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, pt: Uint8Array): Buffer {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  if (ad.length > 0) c.setAAD(ad, { plaintextLength: pt.length });
  const body = c.update(pt);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));

describe('ChaCha20-Poly1305 in JavaScript (chacha-poly.ts)', () => {
  it('RFC 8439 §2.8.2 AEAD vector', () => {
    const key = Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex');
    const nonce = Buffer.from('070000004041424344454647', 'hex');
    const ad = Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex');
    const pt = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const sealed = seal(key, nonce, ad, pt);
    assert.equal(sealed.subarray(0, 16).toString('hex'), 'd31a8d34648e60db7b86afbc53ef7ec2');
    assert.equal(sealed.subarray(pt.length).toString('hex'), '1ae10b594f09e26a7e902ecbd0600691');
    assert.deepEqual(open(key, nonce, ad, sealed), pt);
  });

  it('equals OpenSSL (node:crypto) and @noble/ciphers for every size up to 1,100 bytes, with and without AD', () => {
    fc.assert(
      fc.property(bytes(32, 32), bytes(12, 12), bytes(0, 70), bytes(0, 1100), (key, nonce, ad, pt) => {
        const want = openssl(key, nonce, ad, pt);
        assert.deepEqual(seal(key, nonce, ad, pt), want);
        assert.deepEqual(Buffer.from(chacha20poly1305(key, nonce, ad).encrypt(pt)), want);
        assert.deepEqual(open(key, nonce, ad, want), pt);
      }),
      { numRuns: 1500 },
    );
  });

  it('edge inputs: all-ones key, plaintext and AD, block boundaries, counter words near 2^32', () => {
    const key = Buffer.alloc(32, 0xff);
    for (const n of [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 511, 512, 513]) {
      for (const nonce of [Buffer.alloc(12), Buffer.alloc(12, 0xff), Buffer.from('00000000ffffffff00000000', 'hex')]) {
        const pt = Buffer.alloc(n, 0xff);
        const ad = Buffer.alloc(n % 33, 0xff);
        assert.deepEqual(seal(key, nonce, ad, pt), openssl(key, nonce, ad, pt), `size ${n}`);
      }
    }
  });

  it('open is total: random and mutated input never throws, and only the untouched message opens', () => {
    const key = Buffer.alloc(32, 7);
    const nonce = Buffer.alloc(12, 1);
    fc.assert(
      fc.property(bytes(0, 300), fc.nat(), fc.integer({ min: 1, max: 255 }), bytes(0, 40), (pt, i, x, junk) => {
        const sealed = seal(key, nonce, Buffer.alloc(0), pt);
        const bad = Buffer.from(sealed);
        bad[i % bad.length]! ^= x;
        assert.equal(open(key, nonce, Buffer.alloc(0), bad), undefined);
        assert.equal(open(key, nonce, Buffer.alloc(1), sealed), undefined);
        assert.ok(open(key, nonce, Buffer.alloc(0), junk) === undefined || junk.length >= 16);
        assert.deepEqual(open(key, nonce, Buffer.alloc(0), sealed), pt);
      }),
      { numRuns: 500 },
    );
  });

  it('a failed open writes no plaintext', () => {
    const key = Buffer.alloc(32, 3);
    const nonce = Buffer.alloc(12);
    const sealed = seal(key, nonce, Buffer.alloc(0), Buffer.alloc(40, 9));
    sealed[45]! ^= 1;
    const out = Buffer.alloc(40);
    assert.equal(jsOpen(chachaKeyWords(key), 0, 0, 0, Buffer.alloc(0), sealed, 0, sealed.length, out, 0), false);
    assert.deepEqual(out, Buffer.alloc(40));
  });
});

describe('aead.ts picks the path by size, with the same results on both sides of the crossing', () => {
  it('chachaSeal/chachaOpen equal OpenSSL around JS_AEAD_MAX, and both paths reject a bad tag with AeadError', () => {
    assert.ok(JS_AEAD_MAX > 0);
    const key = Buffer.alloc(32, 5);
    const nonce = Buffer.alloc(12, 6);
    const ad = Buffer.from('ad');
    for (const n of [0, 2, JS_AEAD_MAX - 1, JS_AEAD_MAX, JS_AEAD_MAX + 1, 4096]) {
      const pt = Buffer.alloc(n, n & 0xff);
      const sealed = chachaSeal(key, nonce, ad, pt);
      assert.deepEqual(sealed, openssl(key, nonce, ad, pt));
      assert.deepEqual(chachaOpen(key, nonce, ad, sealed), pt);
      assert.deepEqual(nodeOpen(key, nonce, ad, sealed), pt);
      sealed[sealed.length - 1]! ^= 1;
      assert.throws(() => chachaOpen(key, nonce, ad, sealed, 'ctx'), AeadError);
    }
  });
});

describe('Poly1305 reduction edges (RFC 8439 Appendix A.3 vectors 5 to 9)', () => {
  const cases: Array<[string, string, string, string]> = [
    // [r, s, message, tag], each 16 bytes hex per block
    ['02' + '00'.repeat(15), '00'.repeat(16), 'ff'.repeat(16), '03' + '00'.repeat(15)],
    ['02' + '00'.repeat(15), 'ff'.repeat(16), '02' + '00'.repeat(15), '03' + '00'.repeat(15)],
    ['01' + '00'.repeat(15), '00'.repeat(16), 'ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15), '05' + '00'.repeat(15)],
    ['01' + '00'.repeat(15), '00'.repeat(16), 'ff'.repeat(16) + 'fb' + 'fe'.repeat(15) + '01'.repeat(16), '00'.repeat(16)],
    ['02' + '00'.repeat(15), '00'.repeat(16), 'fd' + 'ff'.repeat(15), 'fa' + 'ff'.repeat(15)],
  ];
  for (const [i, [r, s, m, t]] of cases.entries()) {
    it(`vector ${i + 5}`, () => {
      const tag = poly1305WholeBlocks(Buffer.from(r + s, 'hex'), Buffer.from(m, 'hex'));
      assert.equal(Buffer.from(tag).toString('hex'), t);
    });
  }
});
