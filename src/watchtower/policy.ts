/**
 * Session policy (LND `watchtower/wtpolicy/policy.go`; spec §2.2): the negotiated TxPolicy (which fixes
 * the justice transaction) plus MaxUpdates, with LND's defaults and `Validate`.
 */
import { perVbyteFromPerKw } from '../bitcoin/weight.js';
import { BlobFlag, BlobType, hasFlag } from './blob/type.js';
import { FeatureBit } from './wire/features.js';

export interface TxPolicy {
  blobType: number;
  /** Fixed reward in satoshis (reward sessions only). */
  rewardBase: number;
  /** Proportional reward in millionths (reward sessions only). */
  rewardRate: number;
  sweepFeeRateSatPerKw: bigint;
}

export interface Policy extends TxPolicy {
  maxUpdates: number;
}

export const DEFAULT_MAX_UPDATES = 1024;
/** The protocol's default reward rate (unused by altruist sessions). */
export const DEFAULT_REWARD_RATE = 10000;
/** 2500 sat/kW = `wtclient.sweep-fee-rate` 10 sat/vB × 250. */
export const DEFAULT_SWEEP_FEE_RATE_SAT_PER_KW = 2500n;
/** 1000 sat/kW (4 sat/vB), enforced by the client at start-up and the tower on CreateSession. */
export const MIN_SWEEP_FEE_RATE_SAT_PER_KW = 1000n;
export const REWARD_SCALE = 1_000_000;

export type PolicyErrorCode = 'ALTRUIST_REWARD' | 'NO_MAX_UPDATES' | 'SWEEP_FEE_RATE_TOO_LOW';

/** LND's `ErrAltruistReward`, `ErrNoMaxUpdates`, `ErrSweepFeeRateTooLow` (the tower answers 40). */
export class PolicyError extends Error {
  readonly code: PolicyErrorCode;

  constructor(code: PolicyErrorCode, message: string) {
    super(message);
    this.name = 'PolicyError';
    this.code = code;
  }
}

/** LND `DefaultPolicy()`: legacy altruist, 1024 updates, 2500 sat/kW. */
export function defaultPolicy(): Policy {
  return {
    blobType: BlobType.AltruistCommit,
    rewardBase: 0,
    rewardRate: 0,
    sweepFeeRateSatPerKw: DEFAULT_SWEEP_FEE_RATE_SAT_PER_KW,
    maxUpdates: DEFAULT_MAX_UPDATES,
  };
}

/**
 * LND `Policy.Validate`, checks in LND's order: reward parameters on an altruist type, then
 * `maxUpdates == 0`, then a sweep fee rate below 1000 sat/kW. (Blob-type support is a separate check, `isSupportedBlobType`;
 * the tower answers 64 for it before validating.)
 */
export function validatePolicy(p: Policy): void {
  if (!hasFlag(p.blobType, BlobFlag.Reward) && (p.rewardBase !== 0 || p.rewardRate !== 0)) {
    throw new PolicyError('ALTRUIST_REWARD', 'policy: altruist policy has reward params');
  }
  if (p.maxUpdates === 0) throw new PolicyError('NO_MAX_UPDATES', 'policy: max updates must be positive');
  if (p.sweepFeeRateSatPerKw < MIN_SWEEP_FEE_RATE_SAT_PER_KW) throw new PolicyError('SWEEP_FEE_RATE_TOO_LOW', 'policy: sweep fee rate too low');
}

/** Two sessions are interchangeable iff their TxPolicies are equal (MaxUpdates may differ). */
export function txPolicyEqual(a: TxPolicy, b: TxPolicy): boolean {
  return (
    a.blobType === b.blobType &&
    a.rewardBase === b.rewardBase &&
    a.rewardRate === b.rewardRate &&
    a.sweepFeeRateSatPerKw === b.sweepFeeRateSatPerKw
  );
}

export function txPolicyOf(p: TxPolicy): TxPolicy {
  return { blobType: p.blobType, rewardBase: p.rewardBase, rewardRate: p.rewardRate, sweepFeeRateSatPerKw: p.sweepFeeRateSatPerKw };
}

/** LND `Policy.FeatureBits`: bit 0, plus 4 for taproot (staging and final) or 2 for anchor. */
export function policyFeatureBits(p: TxPolicy): number[] {
  const bits: number[] = [FeatureBit.AltruistSessionsRequired];
  if (hasFlag(p.blobType, BlobFlag.TaprootChannel)) bits.push(FeatureBit.TaprootCommitRequired);
  else if (hasFlag(p.blobType, BlobFlag.AnchorChannel)) bits.push(FeatureBit.AnchorCommitRequired);
  return bits;
}

/** `sweep_sat_per_vbyte` as the RPC reports it (whole sat/vB). */
export function sweepSatPerVbyte(p: TxPolicy): number {
  return perVbyteFromPerKw(Number(p.sweepFeeRateSatPerKw));
}

/** LND `String()`: `(blob-type=10 max-updates=1024 reward-rate=0 sweep-fee-rate=2500)`, blob type in binary. */
export function policyString(p: Policy): string {
  return `(blob-type=${p.blobType.toString(2)} max-updates=${p.maxUpdates} reward-rate=${p.rewardRate} sweep-fee-rate=${p.sweepFeeRateSatPerKw})`;
}
