/**
 * The commitment feerate policy (BOLT 2 `update_fee`), pure: which feerate we accept from the opener, and
 * when and where we, as opener, move the feerate of our channels.
 *
 * - Non-opener: accept from the minimum relay fee (253 sat/kw) up to `maxFeeMultiplier` times our own
 *   estimate (CLN's `--max-fee-multiplier`, default 10).
 * - Opener: follow the backend's estimate, as LND does: only when it differs from the channel's feerate by
 *   at least 10 % (hysteresis) or the channel is below the relay floor, and at most once per
 *   `minUpdateIntervalMs` per channel (LND waits 10 to 60 minutes between fee updates). The new feerate is
 *   capped so that the commitment fee (anchors included) takes at most half of the opener's balance
 *   (LND's `max-channel-fee-allocation`, 0.5), but never lowered below the current feerate for that. Anchor channels are fee-bumped by CPFP at close, so their
 *   commitment feerate stays low: capped at 2500 sat/kw (LND's `max-commit-fee-rate-anchors`, 10 sat/vB).
 */
import { openerCostMsat } from './commitments.js';
import { ChannelProtocolError } from './errors.js';
import { reduceSpec, type ChannelData, type Update } from './state.js';

/** The minimum relay fee, sat per 1000 weight (BOLT 2: never below). */
export const MIN_FEERATE_PER_KW = 253n;
/** The largest feerate update_fee carries (u32). */
export const MAX_FEERATE_PER_KW = 0xffffffffn;

export interface FeePolicy {
  /** The opener may set at most this multiple of our estimate (CLN `--max-fee-multiplier`). */
  maxFeeMultiplier: number;
  /** At least this long between two of our update_fee on one channel, ms. */
  minUpdateIntervalMs: number;
  /** Update only when the estimate differs from the channel's feerate by at least this fraction. */
  hysteresis: number;
  /** The highest commitment feerate of an anchor channel we open, sat/kw. */
  maxAnchorFeeratePerKw: bigint;
  /** The share of the opener's balance the commitment fee may take. */
  maxFeeAllocation: number;
}

export const DEFAULT_FEE_POLICY: FeePolicy = {
  maxFeeMultiplier: 10,
  minUpdateIntervalMs: 10 * 60_000,
  hysteresis: 0.1,
  maxAnchorFeeratePerKw: 2500n,
  maxFeeAllocation: 0.5,
};

/**
 * The feerates we accept in the opener's update_fee: at least the relay floor, at most our estimate times
 * the multiplier (CLN's --max-fee-multiplier). Without an estimate the other side is not limited beyond
 * what it can afford, as lightningd does: refusing would force-close on a guess.
 */
export function acceptableFeerates(estimatePerKw: bigint | null, maxFeeMultiplier: number): { min: bigint; max: bigint } {
  if (estimatePerKw === null) return { min: MIN_FEERATE_PER_KW, max: MAX_FEERATE_PER_KW };
  const max = (estimatePerKw * BigInt(Math.round(maxFeeMultiplier * 1000))) / 1000n;
  return { min: MIN_FEERATE_PER_KW, max: max < MIN_FEERATE_PER_KW ? MIN_FEERATE_PER_KW : max };
}

/** Why an opener's feerate is refused (the error text), or null when it is acceptable. */
export function feerateRefusal(feerate: bigint, range: { min: bigint; max: bigint }): string | null {
  if (feerate < range.min) return `feerate ${feerate} below ${range.min} sat/kw`;
  if (feerate > range.max) return `feerate ${feerate} sat/kw above our maximum ${range.max} (our estimate times the fee multiplier)`;
  return null;
}

/** Checks the opener's update_fee (we are the non-opener): within `range`, and affordable by the opener in our next commitment. */
export function checkOpenerUpdateFee(d: ChannelData, feeratePerKw: bigint, range: { min: bigint; max: bigint }): void {
  const refused = feerateRefusal(feeratePerKw, range);
  if (refused) throw new ChannelProtocolError(`update_fee: ${refused}`);
  const reduced = reduceSpec(d.localCommit.spec, d.localChanges.acked, [...d.remoteChanges.proposed, { kind: 'fee', feeratePerKw }]);
  if (reduced.toRemoteMsat < openerCostMsat(d, reduced, d.local.dustLimitSat)) throw new ChannelProtocolError(`update_fee: the opener cannot afford feerate ${feeratePerKw}`);
}

/** The highest feerate whose commitment fee takes at most `allocation` of the opener's (our) balance in their next commitment. */
export function maxAffordableFeerate(d: ChannelData, allocation: number): bigint {
  const base = d.nextRemoteCommit?.spec ?? d.remoteCommit.spec;
  const fits = (feeratePerKw: bigint): boolean => {
    const u: Update = { kind: 'fee', feeratePerKw };
    const spec = reduceSpec(base, d.remoteChanges.acked, [...d.localChanges.proposed, u]);
    return openerCostMsat(d, spec, d.remote.dustLimitSat) * 1000n <= spec.toRemoteMsat * BigInt(Math.round(allocation * 1000));
  };
  if (!fits(MIN_FEERATE_PER_KW)) return MIN_FEERATE_PER_KW;
  let lo = MIN_FEERATE_PER_KW;
  let hi = MAX_FEERATE_PER_KW;
  while (lo < hi) {
    const mid = (lo + hi + 1n) / 2n;
    if (fits(mid)) lo = mid;
    else hi = mid - 1n;
  }
  return lo;
}

export interface OpenerFeeInput {
  /** The channel's current feerate (latest we signed or proposed). */
  currentPerKw: bigint;
  /** The backend's estimate, sat/kw. */
  estimatePerKw: bigint;
  /** Whether the channel has anchor outputs. */
  anchors: boolean;
  /** The highest feerate the opener's balance allows (see {@link maxAffordableFeerate}). */
  affordablePerKw: bigint;
  /** When we last sent update_fee on this channel (ms), if ever. */
  lastUpdateAt?: number;
  now: number;
}

/** The feerate to send in update_fee now, or null to leave the channel as it is. */
export function openerFeerateUpdate(i: OpenerFeeInput, p: FeePolicy = DEFAULT_FEE_POLICY): bigint | null {
  if (i.lastUpdateAt !== undefined && i.now - i.lastUpdateAt < p.minUpdateIntervalMs) return null;
  let target = i.estimatePerKw < MIN_FEERATE_PER_KW ? MIN_FEERATE_PER_KW : i.estimatePerKw;
  if (i.anchors && target > p.maxAnchorFeeratePerKw) target = p.maxAnchorFeeratePerKw;
  // Never lowered below the current feerate for want of balance (LND: a drained opener must not sink the fee).
  const cap = i.affordablePerKw > i.currentPerKw ? i.affordablePerKw : i.currentPerKw;
  if (target > cap) target = cap;
  if (target === i.currentPerKw) return null;
  const diff = target > i.currentPerKw ? target - i.currentPerKw : i.currentPerKw - target;
  const belowFloor = i.currentPerKw < MIN_FEERATE_PER_KW;
  if (!belowFloor && Number(diff) < Number(i.currentPerKw) * p.hysteresis) return null;
  return target;
}
