/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): HChaCha20 in JavaScript derives a subkey from the key
 * and the first 16 bytes of the 24-byte nonce; node:crypto's ChaCha20-Poly1305 (RFC 8439) then runs with
 * that subkey and the nonce `0x00000000 ‖ nonce[16..24]`. This is what LND's watchtower uses for justice
 * kits (`chacha20poly1305.NewX`).
 */
import { AeadError, chachaOpen, chachaSeal, TAG_LENGTH } from './aead.js';

export const XCHACHA_KEY_LENGTH = 32;
export const XCHACHA_NONCE_LENGTH = 24;
export { TAG_LENGTH as XCHACHA_TAG_LENGTH };

/** Thrown for a key or nonce of the wrong length (a bad tag throws {@link AeadError}). */
export class XChaChaError extends Error {
  readonly code = 'XCHACHA_INVALID';
}

const SIGMA: readonly number[] = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

function readLE32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2): the ChaCha20 state from `key` and a 16-byte `nonce16`,
 * 20 rounds, and words 0–3 and 12–15 of the result (no feed-forward addition), little-endian.
 */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  if (key.length !== 32) throw new XChaChaError(`hchacha20: key must be 32 bytes, got ${key.length}`);
  if (nonce16.length !== 16) throw new XChaChaError(`hchacha20: nonce must be 16 bytes, got ${nonce16.length}`);
  let x0 = SIGMA[0]!, x1 = SIGMA[1]!, x2 = SIGMA[2]!, x3 = SIGMA[3]!;
  let x4 = readLE32(key, 0), x5 = readLE32(key, 4), x6 = readLE32(key, 8), x7 = readLE32(key, 12);
  let x8 = readLE32(key, 16), x9 = readLE32(key, 20), x10 = readLE32(key, 24), x11 = readLE32(key, 28);
  let x12 = readLE32(nonce16, 0), x13 = readLE32(nonce16, 4), x14 = readLE32(nonce16, 8), x15 = readLE32(nonce16, 12);
  for (let i = 0; i < 10; i++) {
    // column rounds
    x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 16); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 12);
    x0 = (x0 + x4) | 0; x12 = rotl(x12 ^ x0, 8); x8 = (x8 + x12) | 0; x4 = rotl(x4 ^ x8, 7);
    x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 16); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 12);
    x1 = (x1 + x5) | 0; x13 = rotl(x13 ^ x1, 8); x9 = (x9 + x13) | 0; x5 = rotl(x5 ^ x9, 7);
    x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 16); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 12);
    x2 = (x2 + x6) | 0; x14 = rotl(x14 ^ x2, 8); x10 = (x10 + x14) | 0; x6 = rotl(x6 ^ x10, 7);
    x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 16); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 12);
    x3 = (x3 + x7) | 0; x15 = rotl(x15 ^ x3, 8); x11 = (x11 + x15) | 0; x7 = rotl(x7 ^ x11, 7);
    // diagonal rounds
    x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 16); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 12);
    x0 = (x0 + x5) | 0; x15 = rotl(x15 ^ x0, 8); x10 = (x10 + x15) | 0; x5 = rotl(x5 ^ x10, 7);
    x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 16); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 12);
    x1 = (x1 + x6) | 0; x12 = rotl(x12 ^ x1, 8); x11 = (x11 + x12) | 0; x6 = rotl(x6 ^ x11, 7);
    x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 16); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 12);
    x2 = (x2 + x7) | 0; x13 = rotl(x13 ^ x2, 8); x8 = (x8 + x13) | 0; x7 = rotl(x7 ^ x8, 7);
    x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 16); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 12);
    x3 = (x3 + x4) | 0; x14 = rotl(x14 ^ x3, 8); x9 = (x9 + x14) | 0; x4 = rotl(x4 ^ x9, 7);
  }
  const out = Buffer.allocUnsafe(32);
  const words = [x0, x1, x2, x3, x12, x13, x14, x15];
  for (let i = 0; i < 8; i++) out.writeUInt32LE(words[i]! >>> 0, 4 * i);
  return out;
}

function subkeyAndNonce(key: Uint8Array, nonce: Uint8Array, context: string): [Buffer, Buffer] {
  if (key.length !== XCHACHA_KEY_LENGTH) throw new XChaChaError(`${context}: key must be 32 bytes, got ${key.length}`);
  if (nonce.length !== XCHACHA_NONCE_LENGTH) throw new XChaChaError(`${context}: nonce must be 24 bytes, got ${nonce.length}`);
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  const n12 = Buffer.alloc(12);
  n12.set(nonce.subarray(16, 24), 4);
  return [subkey, n12];
}

/** XChaCha20-Poly1305 seal: ciphertext ‖ 16-byte tag. */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Buffer {
  const [subkey, n12] = subkeyAndNonce(key, nonce, 'xchacha20poly1305');
  return chachaSeal(subkey, n12, ad, plaintext);
}

/** XChaCha20-Poly1305 open of ciphertext ‖ tag; throws {@link AeadError} (prefixed with `context`) on a bad tag. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, ad: Uint8Array, sealed: Uint8Array, context = 'xchacha20poly1305'): Buffer {
  const [subkey, n12] = subkeyAndNonce(key, nonce, context);
  return chachaOpen(subkey, n12, ad, sealed, context);
}

export { AeadError };
