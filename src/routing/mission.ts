/**
 * Mission control (LND's name): what past attempts taught about each channel direction and node, in
 * memory for the node's life (not persisted: after a restart the graph's capacities are the prior again,
 * which costs a few retries at most; LND persists it, CLN's pay forgets it after each payment).
 *
 * Per direction (`scid/direction`, BOLT 7's direction bit: 0 when the sender is node_id_1) we keep the
 * largest amount that went through and the smallest that failed, with their times. They bound the
 * direction's liquidity: below the success everything passes, at or above the failure nothing does. Both
 * bounds relax with a half-life (LND's default, one hour): the failure bound climbs back towards the
 * capacity, the success bound falls towards zero, so old knowledge fades into the prior.
 *
 * A node that failed as a node (BOLT 4's NODE bit, an unreadable reply, a bad onion) gets a penalty
 * factor on every channel into it that also fades with the half-life.
 */
import { FailureCode, NODE, PERM, UPDATE } from '../onion/failure.js';

export const DEFAULT_HALF_LIFE_MS = 60 * 60 * 1000;

interface PairState {
  /** Smallest amount (msat) that failed, and when (ms); Infinity when none. */
  failAmt: number;
  failTime: number;
  /** Largest amount that succeeded, and when; 0 when none. */
  successAmt: number;
  successTime: number;
}

/** One channel direction of an attempt's route: `from` forwards `amountMsat` over `scid` to `to`. */
export interface AttemptHop {
  from: string;
  to: string;
  scid: string;
  amountMsat: bigint;
}

export interface MissionPair {
  /** `scid/direction`. */
  pair: string;
  failAmtMsat?: bigint;
  failTime?: number;
  successAmtMsat?: bigint;
  successTime?: number;
}

/** BOLT 7's direction of a hop from `from` to `to`: 0 when `from` is node_id_1 (the lesser id). */
export function directionOf(from: string, to: string): 0 | 1 {
  return from < to ? 0 : 1;
}

export function pairKey(scid: string, direction: 0 | 1): string {
  return `${scid}/${direction}`;
}

export class MissionControl {
  readonly halfLifeMs: number;
  readonly #pairs = new Map<string, PairState>();
  readonly #nodes = new Map<string, number>();
  /** The channels of #pairs (so the pathfinder asks only about channels with knowledge). */
  readonly #scids = new Set<string>();

  constructor(opts: { halfLifeMs?: number } = {}) {
    this.halfLifeMs = opts.halfLifeMs ?? DEFAULT_HALF_LIFE_MS;
  }

  #decay(since: number, now: number): number {
    return Math.pow(2, -Math.max(0, now - since) / this.halfLifeMs);
  }

  #state(pair: string): PairState {
    let s = this.#pairs.get(pair);
    if (!s) {
      s = { failAmt: Infinity, failTime: 0, successAmt: 0, successTime: 0 };
      this.#pairs.set(pair, s);
      this.#scids.add(pair.split('/')[0]!);
    }
    return s;
  }

  /** The channels (`scid` strings) something is known about. */
  get channels(): ReadonlySet<string> {
    return this.#scids;
  }

  /** True while nothing was learnt (the pathfinder then skips the per-direction lookups). */
  get empty(): boolean {
    return this.#pairs.size === 0 && this.#nodes.size === 0;
  }

  reportSuccess(pair: string, amountMsat: number, now: number): void {
    const s = this.#state(pair);
    s.successAmt = Math.max(amountMsat, s.successAmt * this.#decay(s.successTime, now));
    s.successTime = now;
    // A newer success above an older failure: the failure no longer holds there.
    if (s.failAmt <= s.successAmt) s.failAmt = s.successAmt + 1;
  }

  reportFailure(pair: string, amountMsat: number, now: number): void {
    const s = this.#state(pair);
    s.failAmt = amountMsat;
    s.failTime = now;
    if (s.successAmt >= amountMsat) s.successAmt = Math.max(0, amountMsat - 1);
  }

  reportNodeFailure(node: string, now: number): void {
    this.#nodes.set(node, now);
  }

  /**
   * The liquidity bounds [lo, hi) of a direction of capacity `capacityMsat` (NaN when unknown, as for a
   * route hint's channel) as known at `now`: lo passes for sure, hi and above fails for sure.
   */
  bounds(pair: string, capacityMsat: number, now: number): { lo: number; hi: number } {
    const cap = Number.isNaN(capacityMsat) ? Infinity : capacityMsat + 1;
    const s = this.#pairs.get(pair);
    if (!s) return { lo: 0, hi: cap };
    let hi = cap;
    if (s.failAmt !== Infinity) {
      const d = this.#decay(s.failTime, now);
      // Unknown capacity: the failure bound doubles each half-life instead of climbing to the capacity.
      hi = Math.min(cap, cap === Infinity ? s.failAmt / d : s.failAmt + (cap - s.failAmt) * (1 - d));
    }
    const lo = Math.min(s.successAmt * this.#decay(s.successTime, now), hi);
    return { lo, hi };
  }

  /** The factor (0..1] a node's past node-level failure leaves on the probability of reaching it. */
  nodeFactor(node: string, now: number): number {
    const t = this.#nodes.get(node);
    return t === undefined ? 1 : 1 - this.#decay(t, now);
  }

  /**
   * Learns from one attempt (LND's result interpretation, simplified): on success every direction
   * carried its amount. On a failure reported by hop `erringIndex` (1 = the first node, as `attribute`
   * gives; 0 = our own channel refused, nothing to learn about the network), the directions up to the
   * erring node carried the HTLC; the erring node's outgoing direction failed — at the amount for a
   * temporary_channel_failure (liquidity), at every amount for a policy (UPDATE) or permanent channel
   * failure; a node-level failure (NODE bit, or no readable code) penalises the node. A failure at the
   * payee teaches nothing about the channels beyond their successes.
   */
  reportAttempt(hops: readonly AttemptHop[], outcome: { success: true } | { success: false; erringIndex: number; code?: number }, now: number): void {
    const key = (h: AttemptHop): string => pairKey(h.scid, directionOf(h.from, h.to));
    if (outcome.success) {
      for (const h of hops) this.reportSuccess(key(h), Number(h.amountMsat), now);
      return;
    }
    const e = outcome.erringIndex;
    if (e <= 0 || e > hops.length) return;
    for (let i = 0; i < e; i++) this.reportSuccess(key(hops[i]!), Number(hops[i]!.amountMsat), now);
    if (e === hops.length) return;
    const erring = hops[e - 1]!.to;
    const out = hops[e]!;
    const code = outcome.code;
    if (code === undefined || (code & NODE) !== 0 || (code & 0x8000) !== 0) this.reportNodeFailure(erring, now);
    else if (code === FailureCode.TEMPORARY_CHANNEL_FAILURE) this.reportFailure(key(out), Number(out.amountMsat), now);
    else if ((code & UPDATE) !== 0 || (code & PERM) !== 0) this.reportFailure(key(out), 0, now);
    else this.reportNodeFailure(erring, now);
  }

  /** What is known, for LND's QueryMissionControl. */
  pairs(): MissionPair[] {
    return [...this.#pairs].map(([pair, s]) => ({
      pair,
      ...(s.failAmt !== Infinity ? { failAmtMsat: BigInt(Math.round(s.failAmt)), failTime: s.failTime } : {}),
      ...(s.successTime > 0 ? { successAmtMsat: BigInt(Math.round(s.successAmt)), successTime: s.successTime } : {}),
    }));
  }

  nodes(): { node: string; failTime: number }[] {
    return [...this.#nodes].map(([node, failTime]) => ({ node, failTime }));
  }

  reset(): void {
    this.#scids.clear();
    this.#pairs.clear();
    this.#nodes.clear();
  }
}
