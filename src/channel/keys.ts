/**
 * A channel's keys per commitment: per-commitment secrets from a seed (BOLT 3 `generate_from_seed`,
 * indexed as shachain indexes) and the key set of one commitment transaction, derived with the
 * bitcoin layer's BOLT 3 derivations.
 */
import { sha256 } from '../crypto/hash.js';
import { derivePubkey, deriveRevocationPubkey } from '../bitcoin/keys.js';
import { ChannelError } from './errors.js';

/** 2^48 - 1: the first per-commitment index, and the largest. */
export const MAX_SHACHAIN_INDEX = 0xffffffffffffn;

function need(b: Uint8Array, n: number, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) throw new ChannelError('INVALID_KEY', `channel: ${what} must be ${n} bytes`);
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
