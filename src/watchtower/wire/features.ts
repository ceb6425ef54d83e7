/**
 * wtwire feature bits (LND `watchtower/wtwire/features.go`) and the raw feature vector encoding: a u16
 * big-endian byte length, then the bytes with bit i in byte `len-1-⌊i/8⌋` under mask `1 << (i % 8)`
 * (BOLT 9 order). Even bits are "required", odd "optional".
 */
import { WtWireError } from './errors.js';

export const FeatureBit = {
  AltruistSessionsRequired: 0,
  AltruistSessionsOptional: 1,
  AnchorCommitRequired: 2,
  AnchorCommitOptional: 3,
  TaprootCommitRequired: 4,
  TaprootCommitOptional: 5,
} as const;
export type FeatureBit = (typeof FeatureBit)[keyof typeof FeatureBit];

/** The known-name table LND checks remote vectors against (bits 0–5). */
export const FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'altruist-sessions'],
  [1, 'altruist-sessions'],
  [2, 'anchor-commit'],
  [3, 'anchor-commit'],
  [4, 'taproot-commit'],
  [5, 'taproot-commit'],
]);

/** Bits an LND tower sends in its Init (altruist and anchor, both optional; never taproot). */
export const TOWER_FEATURES: readonly number[] = [FeatureBit.AltruistSessionsOptional, FeatureBit.AnchorCommitOptional];

/** Bits a client sends on state-update and delete-session connections. */
export const CLIENT_BASE_FEATURES: readonly number[] = [FeatureBit.AltruistSessionsRequired];

/** Largest bit number a u16-length vector can carry. */
export const MAX_FEATURE_BIT = 65535 * 8 - 1;

/** Canonical (minimal) bytes of a set of bits, without the length prefix. */
export function featureBytes(bits: Iterable<number>): Buffer {
  let max = -1;
  const list = [...bits];
  for (const b of list) {
    if (!Number.isInteger(b) || b < 0 || b > MAX_FEATURE_BIT) throw new WtWireError('INVALID', `features: bad bit ${b}`);
    if (b > max) max = b;
  }
  const len = max < 0 ? 0 : (max >> 3) + 1;
  const out = Buffer.alloc(len);
  for (const b of list) out[len - 1 - (b >> 3)]! |= 1 << (b & 7);
  return out;
}

/** Sorted set bits of a raw vector (no length prefix). */
export function featureBitsOf(raw: Uint8Array): number[] {
  const bits: number[] = [];
  const len = raw.length;
  for (let i = len - 1; i >= 0; i--) {
    const byte = raw[i]!;
    if (byte === 0) continue;
    const base = (len - 1 - i) * 8;
    for (let j = 0; j < 8; j++) if (byte & (1 << j)) bits.push(base + j);
  }
  return bits;
}

/** Required (even) bits of `bits` that are not in the known-name table. */
export function unknownRequiredFeatures(bits: Iterable<number>, known: ReadonlyMap<number, string> = FEATURE_NAMES): number[] {
  return [...bits].filter((b) => b % 2 === 0 && !known.has(b)).sort((a, b) => a - b);
}
