/**
 * lightningd's `feerate` parameter: a name (`urgent`, `normal`, `slow`, `minimum`, `opening`, …) or a
 * number with an optional `perkw` / `perkb` suffix; a bare number is sat per 1000 virtual bytes (bitcoind
 * style). Results are clamped to the relay floor of 253 sat/kw, as lightningd does.
 */
import { FEERATE_FLOOR_SAT_PER_KW } from '../chain/chain-source.js';
import { WalletError } from './keys.js';

/** Confirmation targets for lightningd's feerate names. */
export const FEERATE_TARGETS: Readonly<Record<string, number>> = {
  urgent: 2,
  normal: 6,
  opening: 12,
  mutual_close: 12,
  unilateral_close: 6,
  unilateral_anchor_close: 12,
  delayed_to_us: 12,
  htlc_resolution: 6,
  penalty: 2,
  splice: 12,
  slow: 100,
  minimum: 1008,
  min_acceptable: 1008,
  max_acceptable: 2,
};

export type FeerateSpec = { kind: 'target'; name: string; blocks: number } | { kind: 'fixed'; feeRateSatPerKw: number };

const MAX_FEERATE = 0xffffffff;

export function parseFeerate(value: unknown): FeerateSpec {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_FEERATE) throw new WalletError('INVALID', 'should be a feerate');
    return fixed(Math.floor(value / 4));
  }
  if (typeof value !== 'string') throw new WalletError('INVALID', 'should be a feerate');
  const blocks = FEERATE_TARGETS[value];
  if (blocks !== undefined) return { kind: 'target', name: value, blocks };
  const m = /^([0-9]{1,10})(perkw|perkb)?$/.exec(value);
  if (!m) throw new WalletError('INVALID', 'should be a feerate');
  const n = Number(m[1]);
  if (n > MAX_FEERATE) throw new WalletError('INVALID', 'should be a feerate');
  return fixed(m[2] === 'perkw' ? n : Math.floor(n / 4));
}

function fixed(perkw: number): FeerateSpec {
  return { kind: 'fixed', feeRateSatPerKw: Math.max(perkw, FEERATE_FLOOR_SAT_PER_KW) };
}
