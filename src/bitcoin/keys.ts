/**
 * BOLT 3 key derivation: per-commitment points, `derive_pubkey`/`derive_privkey` (localpubkey,
 * htlcpubkey, delayedpubkey, and remotepubkey without `option_static_remotekey`), and the revocation
 * key pair — the one copy the channel, the watchtower client and the sweeps use.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { BitcoinError } from './errors.js';

/** The group order n of secp256k1. */
export const CURVE_ORDER = secp256k1.Point.CURVE().n;

function needPoint(p: Uint8Array, what: string): void {
  if (!(p instanceof Uint8Array) || p.length !== 33) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} must be 33 bytes`);
  if (!secp.isPublicKey(p)) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} is not a valid point`);
}

function needSecret(k: Uint8Array, what: string): void {
  if (!(k instanceof Uint8Array) || k.length !== 32) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} must be 32 bytes`);
  if (!secp.isPrivateKey(k)) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} is not a valid private key`);
}

/** `per_commitment_point = per_commitment_secret · G`. */
export function perCommitmentPoint(secret: Uint8Array): Buffer {
  needSecret(secret, 'per-commitment secret');
  return secp.publicKey(secret);
}

/** `pubkey = basepoint + SHA256(per_commitment_point || basepoint) · G`. */
export function derivePubkey(basepoint: Uint8Array, perCommitmentPoint: Uint8Array): Buffer {
  needPoint(basepoint, 'basepoint');
  needPoint(perCommitmentPoint, 'per-commitment point');
  const tweak = sha256(perCommitmentPoint, basepoint);
  try {
    return secp.pointAdd(basepoint, secp.publicKey(tweak));
  } catch {
    throw new BitcoinError('INVALID_KEY', 'bitcoin: derived pubkey is the point at infinity or the tweak is out of range');
  }
}

/** `privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)`. */
export function derivePrivkey(basepointSecret: Uint8Array, perCommitmentPoint: Uint8Array): Buffer {
  needSecret(basepointSecret, 'basepoint secret');
  needPoint(perCommitmentPoint, 'per-commitment point');
  const tweak = sha256(perCommitmentPoint, secp.publicKey(basepointSecret));
  try {
    return secp.privateAdd(basepointSecret, tweak);
  } catch {
    throw new BitcoinError('INVALID_KEY', 'bitcoin: derived private key is zero or the tweak is out of range');
  }
}

/**
 * `revocationpubkey = revocation_basepoint · SHA256(revocation_basepoint || per_commitment_point)
 *                   + per_commitment_point · SHA256(per_commitment_point || revocation_basepoint)`.
 */
export function deriveRevocationPubkey(revocationBasepoint: Uint8Array, perCommitmentPoint: Uint8Array): Buffer {
  needPoint(revocationBasepoint, 'revocation basepoint');
  needPoint(perCommitmentPoint, 'per-commitment point');
  try {
    const a = secp.pointMultiply(revocationBasepoint, sha256(revocationBasepoint, perCommitmentPoint));
    const b = secp.pointMultiply(perCommitmentPoint, sha256(perCommitmentPoint, revocationBasepoint));
    return secp.pointAdd(a, b);
  } catch {
    throw new BitcoinError('INVALID_KEY', 'bitcoin: revocation pubkey derivation gave an invalid point');
  }
}

/**
 * `revocationprivkey = revocation_basepoint_secret · SHA256(revocation_basepoint || per_commitment_point)
 *                    + per_commitment_secret · SHA256(per_commitment_point || revocation_basepoint)` (mod n).
 */
export function deriveRevocationPrivkey(revocationBasepointSecret: Uint8Array, perCommitmentSecret: Uint8Array): Buffer {
  needSecret(revocationBasepointSecret, 'revocation basepoint secret');
  needSecret(perCommitmentSecret, 'per-commitment secret');
  const rb = secp.publicKey(revocationBasepointSecret);
  const pcp = secp.publicKey(perCommitmentSecret);
  const n = CURVE_ORDER;
  const h1 = bytesToNumberBE(sha256(rb, pcp)) % n;
  const h2 = bytesToNumberBE(sha256(pcp, rb)) % n;
  const k = (bytesToNumberBE(revocationBasepointSecret) * h1 + bytesToNumberBE(perCommitmentSecret) * h2) % n;
  if (k === 0n) throw new BitcoinError('INVALID_KEY', 'bitcoin: revocation private key is zero');
  return Buffer.from(numberToBytesBE(k, 32));
}
