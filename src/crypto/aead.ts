import { createCipheriv, createDecipheriv } from 'node:crypto';
import { chachaKeyWords, jsOpen, jsSeal, LITTLE_ENDIAN, nonceWord } from './chacha-poly.js';

/** Thrown when an authentication tag does not verify. */
export class AeadError extends Error {
  readonly code = 'AEAD_BAD_TAG';
  constructor(context: string) {
    super(`${context}: authentication failed`);
  }
}

export const TAG_LENGTH = 16;

/**
 * Largest plaintext sealed or opened by the JavaScript ChaCha20-Poly1305 (`chacha-poly.ts`); larger
 * messages go to node:crypto. node:crypto pays ~3 µs per call to set up a cipher object and then runs at
 * GB/s; the JavaScript path pays nothing per call but ~1 ns per byte; `npm run bench -- --only aead`
 * measures both per size on the machine at hand (docs/performance.md: the crossing lies between 512 B
 * and 1 KiB on the 2-core machines this project runs on). -1 (never) on a big-endian machine, where the
 * JavaScript path's keystream view would be wrong.
 */
export const JS_AEAD_MAX = LITTLE_ENDIAN ? 512 : -1;

const keyWords = new Uint32Array(8);

/**
 * ChaCha20-Poly1305 (RFC 8439) seal: writes ciphertext ‖ tag into `out` at `outOffset` (which must have
 * room for plaintext.length + 16 bytes) and returns the number of bytes written. Writing into a caller's
 * buffer avoids a concat per frame on the transport's hot path.
 */
export function chachaSealInto(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  plaintext: Uint8Array,
  out: Buffer,
  outOffset: number,
): number {
  if (plaintext.length <= JS_AEAD_MAX) {
    return jsSeal(chachaKeyWords(key, keyWords), nonceWord(nonce, 0), nonceWord(nonce, 1), nonceWord(nonce, 2), ad, plaintext, 0, plaintext.length, out, outOffset);
  }
  const [body, tag] = chachaSealParts(key, nonce, ad, plaintext);
  body.copy(out, outOffset);
  tag.copy(out, outOffset + body.length);
  return body.length + TAG_LENGTH;
}

/** ChaCha20-Poly1305 seal through node:crypto, returning ciphertext and tag as two buffers without copying either. */
export function chachaSealParts(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): [Buffer, Buffer] {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
  if (ad.length > 0) c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  return [body, c.getAuthTag()];
}

export function chachaSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(plaintext.length + TAG_LENGTH);
  chachaSealInto(key, nonce, ad, plaintext, out, 0);
  return out;
}

/** ChaCha20-Poly1305 open of ciphertext ‖ tag; throws AeadError (prefixed with `context`) on a bad tag. */
export function chachaOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  sealed: Uint8Array,
  context = 'aead',
): Buffer {
  if (sealed.length < TAG_LENGTH) throw new AeadError(context);
  const n = sealed.length - TAG_LENGTH;
  if (n <= JS_AEAD_MAX) {
    const out = Buffer.allocUnsafe(n);
    const k = chachaKeyWords(key, keyWords);
    if (!jsOpen(k, nonceWord(nonce, 0), nonceWord(nonce, 1), nonceWord(nonce, 2), ad, sealed, 0, sealed.length, out, 0)) throw new AeadError(context);
    return out;
  }
  return nodeOpen(key, nonce, ad, sealed, context);
}

/** ChaCha20-Poly1305 open through node:crypto (any size; the reference for the JavaScript path). */
export function nodeOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array, context = 'aead'): Buffer {
  if (sealed.length < TAG_LENGTH) throw new AeadError(context);
  const n = sealed.length - TAG_LENGTH;
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH });
  if (ad.length > 0) d.setAAD(ad, { plaintextLength: n });
  d.setAuthTag(sealed.subarray(n));
  const body = d.update(sealed.subarray(0, n));
  try {
    d.final();
  } catch {
    throw new AeadError(context);
  }
  return body;
}
