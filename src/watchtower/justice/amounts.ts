/**
 * Justice-transaction amounts (LND `wtpolicy`): fee, reward, sweep and the dust rules (spec §3.7).
 *
 *   fee = ⌊sweep_fee_rate × weight / 1000⌋
 *   altruist: sweep = total − fee                  (dust limit from the sweep script's length)
 *   reward:   reward = base + ⌈(total − base) × rate / 1e6⌉,  sweep = total − reward − fee
 *                                                   (dust limit from the reward script's length: LND quirk)
 */
import { BlobFlag, hasFlag } from '../blob/type.js';
import { JusticeError } from './errors.js';

export const REWARD_SCALE = 1_000_000n;

export interface TxPolicyAmounts {
  blobType: number;
  rewardBase: number;
  rewardRate: number;
  sweepFeeRateSatPerKw: bigint;
}

export function feeForWeight(feeRateSatPerKw: bigint, weight: number): bigint {
  return (feeRateSatPerKw * BigInt(weight)) / 1000n;
}

/** `base + ⌈(total − base) × rate / 1e6⌉`, or just `base` when base exceeds total. */
export function computeRewardAmount(totalSat: bigint, base: number, rate: number): bigint {
  const b = BigInt(base);
  if (b > totalSat) return b;
  const p = (totalSat - b) * BigInt(rate);
  return b + (p + REWARD_SCALE - 1n) / REWARD_SCALE;
}

/** LND `lnwallet.DustLimitForSize` (btcd mempool dust rule at 1000 sat/kvB) by pkScript length. */
export function dustLimitForSize(scriptSize: number): bigint {
  switch (scriptSize) {
    case 22: // P2WPKH
      return 294n;
    case 34: // P2WSH, P2TR
      return 330n;
    case 23: // P2SH
      return 540n;
    case 25: // P2PKH
      return 546n;
    case 42: // unknown witness program of maximal size
      return 354n;
    default:
      throw new JusticeError('UNKNOWN_SCRIPT_SIZE', `justice: no dust limit for a ${scriptSize}-byte script`);
  }
}

export interface JusticeOutput {
  script: Buffer;
  amountSat: bigint;
}

export interface JusticeAmounts {
  feeSat: bigint;
  sweepSat: bigint;
  rewardSat: bigint;
  /** Sweep output, then the reward output if any (unsorted). */
  outputs: JusticeOutput[];
}

/** LND `Policy.ComputeJusticeTxOuts`. */
export function computeJusticeTxOuts(
  policy: TxPolicyAmounts,
  totalSat: bigint,
  weight: number,
  sweepScript: Uint8Array,
  rewardScript?: Uint8Array,
): JusticeAmounts {
  const fee = feeForWeight(policy.sweepFeeRateSatPerKw, weight);
  if (fee > totalSat) throw new JusticeError('FEE_EXCEEDS_INPUTS', 'justice: fee exceeds inputs');
  const sweep = Buffer.from(sweepScript);
  if (!hasFlag(policy.blobType, BlobFlag.Reward)) {
    const sweepSat = totalSat - fee;
    if (sweepSat < dustLimitForSize(sweep.length)) throw new JusticeError('CREATES_DUST', 'justice: sweep output would be dust');
    return { feeSat: fee, sweepSat, rewardSat: 0n, outputs: [{ script: sweep, amountSat: sweepSat }] };
  }
  if (!rewardScript) throw new JusticeError('INVALID', 'justice: reward session without a reward script');
  const reward = computeRewardAmount(totalSat, policy.rewardBase, policy.rewardRate);
  if (reward + fee > totalSat) throw new JusticeError('REWARD_EXCEEDS_INPUTS', 'justice: reward and fee exceed inputs');
  const sweepSat = totalSat - reward - fee;
  if (sweepSat < dustLimitForSize(rewardScript.length)) throw new JusticeError('CREATES_DUST', 'justice: sweep output would be dust');
  return {
    feeSat: fee,
    sweepSat,
    rewardSat: reward,
    outputs: [
      { script: sweep, amountSat: sweepSat },
      { script: Buffer.from(rewardScript), amountSat: reward },
    ],
  };
}
