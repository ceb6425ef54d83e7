import { createHmac, hash } from 'node:crypto';

/** SHA-256 of the concatenation of `parts` (node:crypto one-shot for the common single-part case). */
export function sha256(...parts: Uint8Array[]): Buffer {
  if (parts.length === 1) return hash('sha256', parts[0]!, 'buffer');
  return hash('sha256', Buffer.concat(parts), 'buffer');
}

export function hmacSha256(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
}

const ONE = Buffer.from([1]);
const TWO = Buffer.from([2]);

/**
 * HKDF-SHA256 (RFC 5869) with an empty `info`, producing 64 bytes returned as two 32-byte halves —
 * the form BOLT 8 uses for every key derivation. Three HMACs are as fast as `hkdfSync` and avoid its
 * per-call overhead.
 */
export function hkdf2(salt: Uint8Array, ikm: Uint8Array): [Buffer, Buffer] {
  const prk = hmacSha256(salt, ikm);
  const t1 = hmacSha256(prk, ONE);
  const t2 = hmacSha256(prk, t1, TWO);
  return [t1, t2];
}

/** RIPEMD-160 (HASH160's outer hash, and the payment-hash commitment of BOLT 3 HTLC scripts). */
export function ripemd160(data: Uint8Array): Buffer {
  return hash('ripemd160', data, 'buffer');
}
