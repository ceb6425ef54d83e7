/**
 * LND's justice-transaction weight estimate (`input.TxWeightEstimator`; spec §3.7), with its quirks:
 *
 *   weight = 4 × (8 + varint(nIn) + 41·nIn + varint(nOut) + Σ outputSize) + 2 + Σ witnessSize
 *
 * Legacy to_local uses 156 (one less than the real 157: LND keeps the historical off-by-one so old
 * signatures stay valid); taproot to_remote is 139 (staging) / 138 (final).
 */
import type { CommitmentType } from '../blob/type.js';
import { JusticeError } from './errors.js';
import { scriptClass } from '../../bitcoin/script.js';
import { compactSizeLength } from '../../bitcoin/weight.js';

export const WITNESS_SIZE: Readonly<Record<CommitmentType, { toLocal: number; toRemote: number }>> = {
  legacy: { toLocal: 156, toRemote: 109 },
  anchor: { toLocal: 157, toRemote: 113 },
  taproot: { toLocal: 202, toRemote: 139 },
  'taproot-final': { toLocal: 202, toRemote: 138 },
};

export const P2WPKH_OUTPUT_SIZE = 31;
export const P2WSH_OUTPUT_SIZE = 43;
export const P2TR_OUTPUT_SIZE = 43;
export const BASE_TX_SIZE = 8;
export const INPUT_SIZE = 41;

/** Output size as the **client** counts it (`addScriptWeight`): by script class P2WPKH / P2WSH / P2TR. */
export function clientOutputSize(script: Uint8Array): number {
  switch (scriptClass(script)) {
    case 'p2wpkh':
      return P2WPKH_OUTPUT_SIZE;
    case 'p2wsh':
      return P2WSH_OUTPUT_SIZE;
    case 'p2tr':
      return P2TR_OUTPUT_SIZE;
    default:
      throw new JusticeError('UNKNOWN_SWEEP_ADDR_TYPE', `justice: invalid addr type ${Buffer.from(script).toString('hex')}`);
  }
}

/** Sweep output size as the **tower** counts it: by script length 22 → 31, 34 → 43, else an error. */
export function towerSweepOutputSize(script: Uint8Array): number {
  if (script.length === 22) return P2WPKH_OUTPUT_SIZE;
  if (script.length === 34) return P2WSH_OUTPUT_SIZE;
  throw new JusticeError('UNKNOWN_SWEEP_ADDR_TYPE', 'justice: sweep addr is not p2wkh or p2wsh');
}

/** The tower sizes the reward output as P2WPKH whatever the script is (LND quirk). */
export const TOWER_REWARD_OUTPUT_SIZE = P2WPKH_OUTPUT_SIZE;

export interface WeightInputs {
  commitment: CommitmentType;
  toLocal: boolean;
  toRemote: boolean;
  /** Sizes of the outputs (8 + 1 + script length, or LND's estimate of it). */
  outputSizes: readonly number[];
}

export function justiceTxWeight(w: WeightInputs): number {
  const ws = WITNESS_SIZE[w.commitment];
  let nIn = 0;
  let witness = 0;
  if (w.toLocal) (nIn++, (witness += ws.toLocal));
  if (w.toRemote) (nIn++, (witness += ws.toRemote));
  const outputs = w.outputSizes.reduce((a, b) => a + b, 0);
  const stripped = BASE_TX_SIZE + compactSizeLength(nIn) + INPUT_SIZE * nIn + compactSizeLength(w.outputSizes.length) + outputs;
  return stripped * 4 + (nIn > 0 ? 2 + witness : 0);
}
