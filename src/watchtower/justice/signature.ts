/**
 * The 64-byte `r‖s` signatures of a justice kit and their DER witness form, as LND's `lnwire.Sig.ToSignature`
 * + btcec `Signature.Serialize` produce it: r and s must be in [1, n-1]; s is normalised to low-S; DER
 * with minimal integers.
 */
import { JusticeError } from './errors.js';

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

function toBig(b: Uint8Array): bigint {
  return BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
}

function toBytes32(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
}

function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** Parse a compact `r‖s` (throws INVALID_SIGNATURE) and return it with s normalised to low-S. */
export function normalizeCompactSig(sig: Uint8Array): Buffer {
  if (sig.length !== 64) throw new JusticeError('INVALID_SIGNATURE', 'justice: signature must be 64 bytes');
  const r = toBig(sig.subarray(0, 32));
  let s = toBig(sig.subarray(32));
  if (r === 0n || r >= N) throw new JusticeError('INVALID_SIGNATURE', 'justice: signature R is zero or overflows the group order');
  if (s === 0n || s >= N) throw new JusticeError('INVALID_SIGNATURE', 'justice: signature S is zero or overflows the group order');
  if (s > HALF_N) s = N - s;
  return Buffer.concat([Buffer.from(sig.subarray(0, 32)), toBytes32(s)]);
}

/** DER encoding (without sighash byte) of a compact signature, low-S. */
export function compactToDer(sig: Uint8Array): Buffer {
  const c = normalizeCompactSig(sig);
  const r = derInt(c.subarray(0, 32));
  const s = derInt(c.subarray(32));
  return Buffer.concat([Buffer.from([0x30, r.length + s.length]), r, s]);
}

/** Inverse of {@link compactToDer} for strict DER (used by tests and verification). */
export function derToCompact(der: Uint8Array): Buffer {
  const bad = (): never => {
    throw new JusticeError('INVALID_SIGNATURE', 'justice: malformed DER signature');
  };
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) bad();
  let at = 2;
  const parts: Buffer[] = [];
  for (let k = 0; k < 2; k++) {
    if (der[at] !== 0x02) bad();
    const len = der[at + 1]!;
    if (len === 0 || len > 33 || at + 2 + len > der.length) bad();
    let v = Buffer.from(der.subarray(at + 2, at + 2 + len));
    at += 2 + len;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) bad();
    parts.push(Buffer.concat([Buffer.alloc(32 - v.length), v]));
  }
  if (at !== der.length) bad();
  return Buffer.concat(parts);
}
