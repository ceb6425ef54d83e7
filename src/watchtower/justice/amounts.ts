/**
 * Justice-transaction amounts (LND `wtpolicy`): fee, reward, sweep and the dust rules (spec §3.7).
 *
 *   fee = ⌊sweep_fee_rate × weight / 1000⌋
 *   altruist: sweep = total − fee                  (dust limit from the sweep script's length)
 *   reward:   reward = base + ⌈(total − base) × rate / 1e6⌉,  sweep = total − reward − fee
 *                                                   (dust limit from the reward script's length: LND quirk)
 */
import { dustThresholdOfLength } from '../../bitcoin/weight.js';
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

/**
 * Whether the script of each length LND's `lnwallet.DustLimitForSize` knows is a witness program: P2WPKH
 * (22), P2WSH and P2TR (34), an unknown witness program of maximal size (42); P2SH (23), P2PKH (25).
 */
const WITNESS_PROGRAM_BY_SIZE: ReadonlyMap<number, boolean> = new Map([
  [22, true],
  [34, true],
  [42, true],
  [23, false],
  [25, false],
]);

/** LND `lnwallet.DustLimitForSize`: the dust threshold by pkScript length alone (294, 330, 354, 540, 546 sat). */
export function dustLimitForSize(scriptSize: number): bigint {
  const witnessProgram = WITNESS_PROGRAM_BY_SIZE.get(scriptSize);
  if (witnessProgram === undefined) throw new JusticeError('UNKNOWN_SCRIPT_SIZE', `justice: no dust limit for a ${scriptSize}-byte script`);
  return dustThresholdOfLength(scriptSize, witnessProgram);
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
