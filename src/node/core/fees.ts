import { FEERATE_FLOOR_SAT_PER_KW } from '../../chain/chain-source.js';
import { closingWeight } from '../../channel/closing.js';
import { commitmentWeight, htlcSuccessFeeSat, htlcTimeoutFeeSat } from '../../channel/commitment.js';
import { acceptableFeerates } from '../../channel/fee-policy.js';
import { FEERATE_TARGETS, INPUT_WEIGHT, TX_OVERHEAD_WEIGHT, feeForWeight, outputWeight } from '../../wallet/index.js';
import type { NodeCore } from './api.js';

/** The confirmation targets lightningd lists in `feerates.estimates`. */
export const ESTIMATE_TARGETS = [2, 6, 12, 100] as const;

/** The uses lightningd names in `feerates`, each at the target anode's wallet and channels use for it. */
const USES = ['opening', 'mutual_close', 'unilateral_close', 'unilateral_anchor_close', 'penalty', 'splice'] as const;
export type FeerateUse = (typeof USES)[number];

export interface FeeRates {
  /** sat per 1000 weight for each use the backend has an estimate for (missing: no estimate). */
  uses: Partial<Record<FeerateUse, number>>;
  /** The backend's estimate at each of {@link ESTIMATE_TARGETS} it answered for. */
  estimates: { blocks: number; feeRateSatPerKw: number }[];
  /** The lowest rate anode ever uses (the relay floor). */
  floorSatPerKw: number;
  /** The range anode accepts in a peer's update_fee (from the 'normal' estimate and max-fee-multiplier). */
  minAcceptableSatPerKw: number;
  maxAcceptableSatPerKw: number;
  /** Some use had no estimate. */
  missing: boolean;
}

/** A P2WSH script's length (the funding output) and a P2WPKH script's (change, closing outputs). */
const P2WSH_LEN = 34;
const P2WPKH_LEN = 22;

/**
 * The fee rates anode uses now, from the backend's estimates (asked at each call; no smoothing, so each
 * is the backend's figure clamped to the floor). `maxFeeMultiplier` is --max-fee-multiplier.
 */
export async function feeRates(core: NodeCore, maxFeeMultiplier: number): Promise<FeeRates> {
  const targets = new Set<number>([...ESTIMATE_TARGETS, ...USES.map((u) => FEERATE_TARGETS[u]!), FEERATE_TARGETS.normal!]);
  const byTarget = new Map<number, number>();
  await Promise.all(
    [...targets].map(async (t) => {
      const est = await core.chain?.estimateFeeSatPerKw(t).catch(() => null);
      if (est) byTarget.set(t, Math.max(est.feeRateSatPerKw, FEERATE_FLOOR_SAT_PER_KW));
    }),
  );
  const uses: Partial<Record<FeerateUse, number>> = {};
  for (const u of USES) {
    const r = byTarget.get(FEERATE_TARGETS[u]!);
    if (r !== undefined) uses[u] = r;
  }
  const normal = byTarget.get(FEERATE_TARGETS.normal!);
  const range = acceptableFeerates(normal === undefined ? null : BigInt(normal), maxFeeMultiplier);
  return {
    uses,
    estimates: ESTIMATE_TARGETS.filter((b) => byTarget.has(b)).map((b) => ({ blocks: b, feeRateSatPerKw: byTarget.get(b)! })),
    floorSatPerKw: FEERATE_FLOOR_SAT_PER_KW,
    minAcceptableSatPerKw: Number(range.min),
    maxAcceptableSatPerKw: Number(range.max),
    missing: Object.keys(uses).length < USES.length,
  };
}

export interface OnchainFeeEstimates {
  openingChannelSat: bigint;
  mutualCloseSat: bigint;
  unilateralCloseSat: bigint;
  unilateralCloseNonanchorSat: bigint;
  htlcTimeoutSat: bigint;
  htlcSuccessSat: bigint;
}

/**
 * What typical transactions cost at these rates, from the weights anode builds them with: a funding
 * transaction (one P2WPKH input, the P2WSH funding output, P2WPKH change), a closing transaction to two
 * P2WPKH outputs, a commitment without HTLCs (zero-fee-HTLC anchors, and without anchors), the
 * non-anchor HTLC transactions. Undefined when a rate it needs is missing.
 */
export function onchainFeeEstimates(r: FeeRates): OnchainFeeEstimates | undefined {
  const { opening, mutual_close: mutual, unilateral_close: unilateral, unilateral_anchor_close: anchor } = r.uses;
  if (opening === undefined || mutual === undefined || unilateral === undefined || anchor === undefined) return undefined;
  const fundingWeight = TX_OVERHEAD_WEIGHT + INPUT_WEIGHT.p2wpkh + outputWeight(new Uint8Array(P2WSH_LEN)) + outputWeight(new Uint8Array(P2WPKH_LEN));
  const perKw = (rate: number, weight: bigint | number): bigint => (BigInt(rate) * BigInt(weight)) / 1000n;
  return {
    openingChannelSat: feeForWeight(fundingWeight, opening),
    mutualCloseSat: perKw(mutual, closingWeight(Buffer.alloc(P2WPKH_LEN), Buffer.alloc(P2WPKH_LEN))),
    unilateralCloseSat: perKw(anchor, commitmentWeight(0, 'anchors_zero_fee_htlc_tx')),
    unilateralCloseNonanchorSat: perKw(unilateral, commitmentWeight(0, 'static_remotekey')),
    htlcTimeoutSat: htlcTimeoutFeeSat(BigInt(unilateral), 'static_remotekey'),
    htlcSuccessSat: htlcSuccessFeeSat(BigInt(unilateral), 'static_remotekey'),
  };
}
