/**
 * BOLT 3 key derivation: per-commitment secrets from a seed (`generate_from_seed`), per-commitment
 * points, `derive_pubkey`/`derive_privkey` (localpubkey, htlcpubkey, delayedpubkey, and remotepubkey
 * without `option_static_remotekey`), and the revocation key pair.
 */
import { sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { ChannelError } from './errors.js';

/** The group order n of secp256k1. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** 2^48 - 1: the first per-commitment index, and the largest. */
export const MAX_SHACHAIN_INDEX = 0xffffffffffffn;

function need(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new ChannelError('INVALID_KEY', `channel: ${what} must be ${n} bytes`);
}

function needPoint(p: Uint8Array, what: string): void {
  need(p, 33, what);
  if (!secp.isPublicKey(p)) throw new ChannelError('INVALID_KEY', `channel: ${what} is not a valid point`);
}

function needSecret(k: Uint8Array, what: string): void {
  need(k, 32, what);
  if (!secp.isPrivateKey(k)) throw new ChannelError('INVALID_KEY', `channel: ${what} is not a valid private key`);
}

export function checkIndex(index: bigint, what = 'index'): void {
  if (typeof index !== 'bigint' || index < 0n || index > MAX_SHACHAIN_INDEX)
    throw new ChannelError('INVALID_INDEX', `channel: ${what} ${String(index)} is outside 0 … 2^48 - 1`);
}

/**
 * `derive_secret(base, bits, I)`: flip bits `bits - 1` … 0 of `base` where set in `index`, hashing
 * after each flip. With `bits` = 48 and a seed it is `generate_from_seed`.
 */
export function deriveShachainSecret(base: Uint8Array, bits: number, index: bigint): Buffer {
  let p: Buffer = Buffer.from(base);
  for (let b = bits - 1; b >= 0; b--) {
    if ((index >> BigInt(b)) & 1n) {
      p[b >> 3]! ^= 1 << (b & 7);
      p = sha256(p);
    }
  }
  return p;
}

/** BOLT 3 `generate_from_seed(seed, I)`: the per-commitment secret of shachain index `index`. */
export function perCommitmentSecretFromSeed(seed: Uint8Array, index: bigint): Buffer {
  need(seed, 32, 'per-commitment seed');
  checkIndex(index);
  return deriveShachainSecret(seed, 48, index);
}

/** Shachain index of commitment number `n` (the first commitment, 0, uses index 2^48 - 1). */
export function shachainIndex(commitmentNumber: bigint): bigint {
  checkIndex(commitmentNumber, 'commitment number');
  return MAX_SHACHAIN_INDEX - commitmentNumber;
}

/** The per-commitment secret of commitment number `n` (0 is the first commitment). */
export function perCommitmentSecret(seed: Uint8Array, commitmentNumber: bigint): Buffer {
  return perCommitmentSecretFromSeed(seed, shachainIndex(commitmentNumber));
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
    throw new ChannelError('INVALID_KEY', 'channel: derived pubkey is the point at infinity or the tweak is out of range');
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
    throw new ChannelError('INVALID_KEY', 'channel: derived private key is zero or the tweak is out of range');
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
    throw new ChannelError('INVALID_KEY', 'channel: revocation pubkey derivation gave an invalid point');
  }
}

function toBig(b: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(b).toString('hex'));
}

function toBytes32(v: bigint): Buffer {
  return Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
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
  const h1 = toBig(sha256(rb, pcp)) % N;
  const h2 = toBig(sha256(pcp, rb)) % N;
  const k = (toBig(revocationBasepointSecret) * h1 + toBig(perCommitmentSecret) * h2) % N;
  if (k === 0n) throw new ChannelError('INVALID_KEY', 'channel: revocation private key is zero');
  return toBytes32(k);
}

/** The keys one commitment transaction uses, all 33-byte compressed points. */
export interface CommitmentKeys {
  /** Owner's `revocationpubkey` (from the other side's revocation basepoint and the owner's point). */
  revocationPubkey: Uint8Array;
  /** Owner's `local_delayedpubkey`. */
  localDelayedPubkey: Uint8Array;
  /** Owner's `local_htlcpubkey`. */
  localHtlcPubkey: Uint8Array;
  /** Other side's `remote_htlcpubkey`. */
  remoteHtlcPubkey: Uint8Array;
  /** Other side's `remotepubkey` (its payment basepoint with `option_static_remotekey`/anchors). */
  remotePubkey: Uint8Array;
}

/** The basepoints a side announces in `open_channel`/`accept_channel`. */
export interface ChannelBasepoints {
  revocationBasepoint: Uint8Array;
  paymentBasepoint: Uint8Array;
  delayedPaymentBasepoint: Uint8Array;
  htlcBasepoint: Uint8Array;
}

/**
 * The keys of the commitment owned by `owner` at `perCommitmentPoint` (the owner's point).
 * `staticRemoteKey` is true for `option_static_remotekey` and every anchors channel type.
 */
export function deriveCommitmentKeys(
  owner: ChannelBasepoints,
  other: ChannelBasepoints,
  perCommitmentPoint: Uint8Array,
  staticRemoteKey: boolean,
): CommitmentKeys {
  return {
    revocationPubkey: deriveRevocationPubkey(other.revocationBasepoint, perCommitmentPoint),
    localDelayedPubkey: derivePubkey(owner.delayedPaymentBasepoint, perCommitmentPoint),
    localHtlcPubkey: derivePubkey(owner.htlcBasepoint, perCommitmentPoint),
    remoteHtlcPubkey: derivePubkey(other.htlcBasepoint, perCommitmentPoint),
    remotePubkey: staticRemoteKey ? Buffer.from(other.paymentBasepoint) : derivePubkey(other.paymentBasepoint, perCommitmentPoint),
  };
}
