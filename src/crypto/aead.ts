import { createCipheriv, createDecipheriv } from 'node:crypto';

/** Thrown when an authentication tag does not verify. */
export class AeadError extends Error {
  readonly code = 'AEAD_BAD_TAG';
  constructor(context: string) {
    super(`${context}: authentication failed`);
  }
}

export const TAG_LENGTH = 16;

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
  const [body, tag] = chachaSealParts(key, nonce, ad, plaintext);
  body.copy(out, outOffset);
  tag.copy(out, outOffset + body.length);
  return body.length + TAG_LENGTH;
}

/** ChaCha20-Poly1305 seal returning ciphertext and tag as two buffers, without copying either. */
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
