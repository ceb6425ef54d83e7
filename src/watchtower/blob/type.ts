/**
 * Blob types (LND `watchtower/blob/type.go`): a u16 bit field of flags. The tower supports exactly the
 * types of {@link SUPPORTED_BLOB_TYPES}; the flags decide the commitment type and the plaintext format.
 */
import { BlobError } from './errors.js';

export const BlobFlag = {
  /** The justice transaction has a second output paying the tower. */
  Reward: 0x01,
  /** Sweeps commitment to_local / to_remote outputs (set in every type). */
  CommitOutputs: 0x02,
  /** Anchor channel: to_remote is P2WSH `<pk> OP_CHECKSIGVERIFY OP_1 OP_CSV`; V0 plaintext. */
  AnchorChannel: 0x04,
  /** Simple taproot channel: P2TR outputs; V1 plaintext. */
  TaprootChannel: 0x08,
  /** Production ("final") taproot scripts (LND 0.21+). */
  TaprootFinalChannel: 0x10,
} as const;

export const BlobType = {
  AltruistCommit: 0x0002,
  RewardCommit: 0x0003,
  AltruistAnchorCommit: 0x0006,
  AltruistTaprootCommit: 0x000a,
  AltruistTaprootFinalCommit: 0x001a,
} as const;
export type BlobType = number;

export const SUPPORTED_BLOB_TYPES: readonly number[] = [0x0002, 0x0003, 0x0006, 0x000a, 0x001a];

export type CommitmentType = 'legacy' | 'anchor' | 'taproot' | 'taproot-final';

export const V0_PLAINTEXT_SIZE = 274;
export const V1_PLAINTEXT_SIZE = 300;
export const NONCE_SIZE = 24;
export const CIPHERTEXT_EXPANSION = 16;
export const MAX_SWEEP_SCRIPT_SIZE = 42;

export function hasFlag(t: number, flag: number): boolean {
  return (t & flag) === flag;
}

export function isSupportedBlobType(t: number): boolean {
  return SUPPORTED_BLOB_TYPES.includes(t);
}

/**
 * The commitment type of a blob type, from its flags as LND's `Type.CommitmentType` does (precedence
 * final > taproot > anchor > legacy). Works for types the tower does not support (the client computes
 * amounts for e.g. 0x0007); throws UNKNOWN_BLOB_TYPE without the CommitOutputs flag.
 */
export function commitmentType(t: number): CommitmentType {
  if (!Number.isInteger(t) || t < 0 || t > 0xffff || !hasFlag(t, BlobFlag.CommitOutputs)) {
    throw new BlobError('UNKNOWN_BLOB_TYPE', `blob: unknown blob type 0x${Number(t).toString(16).padStart(4, '0')}`);
  }
  if (hasFlag(t, BlobFlag.TaprootFinalChannel)) return 'taproot-final';
  if (hasFlag(t, BlobFlag.TaprootChannel)) return 'taproot';
  if (hasFlag(t, BlobFlag.AnchorChannel)) return 'anchor';
  return 'legacy';
}

export function isTaproot(c: CommitmentType): boolean {
  return c === 'taproot' || c === 'taproot-final';
}

/** Plaintext size of a supported blob type: 274 (V0) or 300 (V1). */
export function plaintextSize(t: number): number {
  return isTaproot(commitmentType(t)) ? V1_PLAINTEXT_SIZE : V0_PLAINTEXT_SIZE;
}

/** Encrypted blob size of a supported blob type: nonce + plaintext + tag = 314 or 340. */
export function blobSize(t: number): number {
  return NONCE_SIZE + plaintextSize(t) + CIPHERTEXT_EXPANSION;
}

/** The blob type for a commitment type (altruist; `reward` sets the reward flag, legacy only in LND). */
export function blobTypeFor(c: CommitmentType, reward = false): number {
  const base = { legacy: 0x0002, anchor: 0x0006, taproot: 0x000a, 'taproot-final': 0x001a }[c];
  return reward ? base | BlobFlag.Reward : base;
}

/** A short name of a blob type for logs. */
export function blobTypeName(t: number): string {
  switch (t) {
    case 0x0002:
      return 'altruist-commit';
    case 0x0003:
      return 'reward-commit';
    case 0x0006:
      return 'altruist-anchor-commit';
    case 0x000a:
      return 'altruist-taproot-commit';
    case 0x001a:
      return 'altruist-taproot-final-commit';
    default:
      return `unknown-0x${t.toString(16).padStart(4, '0')}`;
  }
}
