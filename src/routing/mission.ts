/**
 * Mission control (LND's name): what past attempts taught about each channel direction and node. Held
 * in memory for the pathfinder and, when the node gives it a {@link MissionSink} (the store's
 * `mission` repository), written as it is learnt — each attempt's changes committed before the payment
 * goes on (`learn`), loaded at start (`load`) — so a restart does not forget which channels just failed.
 * LND persists its results the same way (a bounded log, replayed at start); CLN's pay forgets them.
 *
 * Per direction (`scid/direction`, BOLT 7's direction bit: 0 when the sender is node_id_1) we keep the
 * largest amount that went through and the smallest that failed, with their times (milliseconds since
 * the epoch, so decay goes on across a restart), and the two node ids (for LND's node-pair view). They
 * bound the direction's liquidity: below the success everything passes, at or above the failure nothing
 * does. Both bounds relax with a half-life (LND's default, one hour): the failure bound climbs back
 * towards the capacity, the success bound falls towards zero, so old knowledge fades into the prior.
 *
 * A node that failed as a node (BOLT 4's NODE bit, an unreadable reply, a bad onion) gets a penalty
 * factor on every channel into it that also fades with the half-life.
 *
 * Bounded: at most `maxEntries` directions and as many nodes, the least recently updated dropped first
 * (in memory and, through the sink, on disk). One record per direction rather than LND's log of results:
 * the record is already the summary the pathfinder reads (a log would be replayed into the same thing),
 * and a direction's record holds all its results however many there were.
 */
import { FailureCode, NODE, PERM, UPDATE } from '../onion/failure.js';

export const DEFAULT_HALF_LIFE_MS = 60 * 60 * 1000;
/** Directions (and nodes) kept: LND keeps 1000 results; each of our records sums up every result of its direction. */
export const DEFAULT_MAX_ENTRIES = 1000;

interface PairState {
  /** Smallest amount (msat) that failed, and when (ms); Infinity when none. */
  failAmt: number;
  failTime: number;
  /** Largest amount that succeeded, and when; 0 when none. */
  successAmt: number;
  successTime: number;
  /** The direction's sender and receiver (hex), when an attempt named them. */
  from?: string;
  to?: string;
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
  /** The direction's sender and receiver (hex), when known. */
  from?: string;
  to?: string;
  failAmtMsat?: bigint;
  failTime?: number;
  successAmtMsat?: bigint;
  successTime?: number;
}

/** One directed node pair's merged history (LND's PairHistory). */
export interface NodePairHistory {
  from: string;
  to: string;
  failAmtMsat?: bigint;
  failTime?: number;
  successAmtMsat?: bigint;
  successTime?: number;
}

export interface MissionNode {
  node: string;
  failTime: number;
}

/** What one report changed: the records to write and the ones the bound dropped. */
export interface MissionChanges {
  pairs: MissionPair[];
  nodes: MissionNode[];
  droppedPairs: string[];
  droppedNodes: string[];
}

/** Where mission control's knowledge is kept (the store's `mission` repository). */
export interface MissionSink {
  save(changes: MissionChanges): Promise<void>;
  reset(): Promise<void>;
}

export type AttemptOutcome = { success: true } | { success: false; erringIndex: number; code?: number };

/** BOLT 7's direction of a hop from `from` to `to`: 0 when `from` is node_id_1 (the lesser id). */
export function directionOf(from: string, to: string): 0 | 1 {
  return from < to ? 0 : 1;
}

export function pairKey(scid: string, direction: 0 | 1): string {
  return `${scid}/${direction}`;
}

export class MissionControl {
  readonly halfLifeMs: number;
  readonly maxEntries: number;
  /** In order of last update, oldest first (a touched entry moves to the end). */
  readonly #pairs = new Map<string, PairState>();
  readonly #nodes = new Map<string, number>();
  /** The channels of #pairs with how many of their directions are known (the pathfinder asks only about those). */
  readonly #scids = new Map<string, number>();
  readonly #sink: MissionSink | undefined;
  readonly #onError: (err: Error) => void;
  /** What the reports since the last `#take` changed. */
  #touchedPairs = new Set<string>();
  #touchedNodes = new Set<string>();
  #droppedPairs = new Set<string>();
  #droppedNodes = new Set<string>();

  constructor(opts: { halfLifeMs?: number; maxEntries?: number; sink?: MissionSink; onError?: (err: Error) => void } = {}) {
    this.halfLifeMs = opts.halfLifeMs ?? DEFAULT_HALF_LIFE_MS;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#sink = opts.sink;
    this.#onError = opts.onError ?? (() => undefined);
  }

  #decay(since: number, now: number): number {
    return Math.pow(2, -Math.max(0, now - since) / this.halfLifeMs);
  }

  #state(pair: string): PairState {
    let s = this.#pairs.get(pair);
    if (s) this.#pairs.delete(pair);
    else {
      s = { failAmt: Infinity, failTime: 0, successAmt: 0, successTime: 0 };
      const scid = pair.split('/')[0]!;
      this.#scids.set(scid, (this.#scids.get(scid) ?? 0) + 1);
    }
    this.#pairs.set(pair, s);
    this.#touchedPairs.add(pair);
    this.#droppedPairs.delete(pair);
    this.#bound();
    return s;
  }

  #bound(): void {
    while (this.#pairs.size > this.maxEntries) {
      const oldest = this.#pairs.keys().next().value as string;
      this.#forgetPair(oldest);
      this.#touchedPairs.delete(oldest);
      this.#droppedPairs.add(oldest);
    }
    while (this.#nodes.size > this.maxEntries) {
      const oldest = this.#nodes.keys().next().value as string;
      this.#nodes.delete(oldest);
      this.#touchedNodes.delete(oldest);
      this.#droppedNodes.add(oldest);
    }
  }

  #forgetPair(pair: string): void {
    this.#pairs.delete(pair);
    const scid = pair.split('/')[0]!;
    const n = (this.#scids.get(scid) ?? 1) - 1;
    if (n > 0) this.#scids.set(scid, n);
    else this.#scids.delete(scid);
  }

  /** The channels (`scid` strings) something is known about. */
  get channels(): Iterable<string> {
    return this.#scids.keys();
  }

  /** True while nothing was learnt (the pathfinder then skips the per-direction lookups). */
  get empty(): boolean {
    return this.#pairs.size === 0 && this.#nodes.size === 0;
  }

  reportSuccess(pair: string, amountMsat: number, now: number): void {
    const s = this.#state(pair);
    // Whole millisatoshis, as stored: what a restart loads is what was in memory.
    s.successAmt = Math.floor(Math.max(amountMsat, s.successAmt * this.#decay(s.successTime, now)));
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
    this.#nodes.delete(node);
    this.#nodes.set(node, now);
    this.#touchedNodes.add(node);
    this.#droppedNodes.delete(node);
    this.#bound();
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
  reportAttempt(hops: readonly AttemptHop[], outcome: AttemptOutcome, now: number): void {
    const key = (h: AttemptHop): string => pairKey(h.scid, directionOf(h.from, h.to));
    const named = (h: AttemptHop): void => {
      const s = this.#pairs.get(pairKey(h.scid, directionOf(h.from, h.to)));
      if (s) Object.assign(s, { from: h.from, to: h.to });
    };
    if (outcome.success) {
      for (const h of hops) {
        this.reportSuccess(key(h), Number(h.amountMsat), now);
        named(h);
      }
      return;
    }
    const e = outcome.erringIndex;
    if (e <= 0 || e > hops.length) return;
    for (let i = 0; i < e; i++) {
      this.reportSuccess(key(hops[i]!), Number(hops[i]!.amountMsat), now);
      named(hops[i]!);
    }
    if (e === hops.length) return;
    const erring = hops[e - 1]!.to;
    const out = hops[e]!;
    const code = outcome.code;
    if (code === undefined || (code & NODE) !== 0 || (code & 0x8000) !== 0) this.reportNodeFailure(erring, now);
    else if (code === FailureCode.TEMPORARY_CHANNEL_FAILURE) this.reportFailure(key(out), Number(out.amountMsat), now);
    else if ((code & UPDATE) !== 0 || (code & PERM) !== 0) this.reportFailure(key(out), 0, now);
    else this.reportNodeFailure(erring, now);
    named(out);
  }

  /**
   * `reportAttempt`, then what it changed written through the sink before this resolves (so what the
   * next attempt is routed by is on disk first). A failed write is reported to `onError` and never
   * fails the payment: the knowledge stays in memory.
   */
  async learn(hops: readonly AttemptHop[], outcome: AttemptOutcome, now: number): Promise<void> {
    this.reportAttempt(hops, outcome, now);
    const changes = this.#take();
    if (!this.#sink || (changes.pairs.length === 0 && changes.nodes.length === 0 && changes.droppedPairs.length === 0 && changes.droppedNodes.length === 0)) return;
    try {
      await this.#sink.save(changes);
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  /** The changes since the last call, as records. */
  #take(): MissionChanges {
    const out: MissionChanges = {
      pairs: [...this.#touchedPairs].flatMap((p) => {
        const s = this.#pairs.get(p);
        return s ? [record(p, s)] : [];
      }),
      nodes: [...this.#touchedNodes].flatMap((n) => {
        const t = this.#nodes.get(n);
        return t === undefined ? [] : [{ node: n, failTime: t }];
      }),
      droppedPairs: [...this.#droppedPairs],
      droppedNodes: [...this.#droppedNodes],
    };
    this.#touchedPairs = new Set();
    this.#touchedNodes = new Set();
    this.#droppedPairs = new Set();
    this.#droppedNodes = new Set();
    return out;
  }

  /** Restores what was kept (oldest first, as `pairs()`/`nodes()` list it), before the first payment. */
  load(kept: { pairs: readonly MissionPair[]; nodes: readonly MissionNode[] }): void {
    for (const p of kept.pairs) {
      const s = this.#state(p.pair);
      Object.assign(s, {
        failAmt: p.failAmtMsat === undefined ? Infinity : Number(p.failAmtMsat),
        failTime: p.failTime ?? 0,
        successAmt: p.successAmtMsat === undefined ? 0 : Number(p.successAmtMsat),
        successTime: p.successTime ?? 0,
        ...(p.from !== undefined && p.to !== undefined ? { from: p.from, to: p.to } : {}),
      });
    }
    for (const n of kept.nodes) this.reportNodeFailure(n.node, n.failTime);
    this.#take();
  }

  /** What is known, least recently updated first (for LND's QueryMissionControl and the store). */
  pairs(): MissionPair[] {
    return [...this.#pairs].map(([pair, s]) => record(pair, s));
  }

  nodes(): MissionNode[] {
    return [...this.#nodes].map(([node, failTime]) => ({ node, failTime }));
  }

  /**
   * What is known per directed node pair (LND's QueryMissionControl view): the channels of one pair
   * merged — the latest failure and the latest success of any of them — in order of (from, to). A
   * direction that did not name its nodes is placed by `nodesOf` (the graph), or left out.
   */
  nodePairs(nodesOf: (pair: string) => { from: string; to: string } | undefined = () => undefined): NodePairHistory[] {
    const out = new Map<string, NodePairHistory>();
    for (const p of this.pairs()) {
      const ends = p.from !== undefined && p.to !== undefined ? { from: p.from, to: p.to } : nodesOf(p.pair);
      if (!ends) continue;
      const k = ends.from + ends.to;
      const h = out.get(k) ?? { from: ends.from, to: ends.to };
      if (p.failTime !== undefined && (h.failTime === undefined || p.failTime > h.failTime)) Object.assign(h, { failTime: p.failTime, failAmtMsat: p.failAmtMsat });
      if (p.successTime !== undefined && (h.successTime === undefined || p.successTime > h.successTime)) Object.assign(h, { successTime: p.successTime, successAmtMsat: p.successAmtMsat });
      out.set(k, h);
    }
    return [...out.values()].sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1));
  }

  /** Forgets everything (LND's ResetMissionControl), on disk too. */
  async reset(): Promise<void> {
    this.#scids.clear();
    this.#pairs.clear();
    this.#nodes.clear();
    this.#take();
    await this.#sink?.reset();
  }
}

function record(pair: string, s: PairState): MissionPair {
  return {
    pair,
    ...(s.from !== undefined && s.to !== undefined ? { from: s.from, to: s.to } : {}),
    ...(s.failAmt !== Infinity ? { failAmtMsat: BigInt(Math.round(s.failAmt)), failTime: s.failTime } : {}),
    ...(s.successTime > 0 ? { successAmtMsat: BigInt(Math.round(s.successAmt)), successTime: s.successTime } : {}),
  };
}
