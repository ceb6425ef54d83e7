/**
 * Pathfinding over the gossip graph: one minimum-cost search (Dijkstra) from the payee back to us, so the
 * amount and CLTV each hop needs accumulate exactly as BOLT 7 prices them — the HTLC into a node carries
 * what that node forwards plus its fee (`fee_base_msat + amount × fee_proportional_millionths / 10⁶`,
 * rounded down) and the CLTV it sends on plus its `cltv_expiry_delta`. Pure over the graph's read API.
 *
 * The cost of a hop (msat) is its fee, plus a CLTV risk term (CLN's `riskfactor`: the annual percentage
 * charged for the amount locked during the delta), plus a probability penalty: the attempt cost (LND's
 * default, 100 sat + 1000 ppm of the amount) times −ln p, with p the chance the direction has the
 * liquidity. −ln p adds along a path exactly as probabilities multiply, so the search stays a Dijkstra.
 *
 * Probability model: uniform liquidity (CLN's and Pickhardt–Richter's): with no other knowledge the
 * balance of a direction of capacity c is uniform on [0, c], so p(a) = (c + 1 − a) / (c + 1). Mission
 * control narrows it to [lo, hi) (lo passed before, hi failed) and then p(a) = (hi − a) / (hi − lo), 1
 * below lo, 0 at hi and above; amounts our own other parts hold in flight over a direction are taken
 * off both bounds. Chosen over LND's a-priori model (a fixed 60 % per hop that ignores the amount) and its
 * bimodal one (which needs a liquidity scale fitted to mainnet) because it needs only the capacity the
 * graph has and mission control's bounds fit it without a tuning constant. Our own channels are known
 * exactly: their real spendable balance (payment/capacity.ts), probability 1 below it, not the gossip
 * capacity. Route hint channels have no capacity: p = 1 until mission control learns otherwise.
 */
import type { ChannelGraph, PolicyNumbers } from '../gossip/graph.js';
import { scidFromString, scidToString } from '../gossip/messages.js';
import type { RouteHintHop } from '../invoice/bolt11.js';
import { directionOf, pairKey, type MissionControl } from './mission.js';

/** CLN's BLOCKS_PER_YEAR, for `riskfactor` (an annual percentage). */
const BLOCKS_PER_YEAR = 52_596;
/** LND's defaults for the cost of one more attempt, which the probability penalty is scaled by. */
const ATTEMPT_COST_MSAT = 100_000;
const ATTEMPT_COST_PPM = 1_000;
/**
 * Routes less likely than this are not offered by `pay` and `getroute` (LND's default minimum route
 * probability): right after a failure, mission control leaves the failed amount a tiny but non-zero
 * chance as its bound starts to relax, and this keeps that from being tried again at once.
 */
export const MIN_ROUTE_PROBABILITY = 0.01;
/** BOLT 4: 1300 bytes of onion; LND and CLN cap routes at 20 hops. */
export const MAX_HOPS = 20;

/** One of our channels as the pathfinder sees it. */
export interface LocalChannel {
  channelId: string;
  /** Short channel id `BLOCKxTXxOUT` (an alias before it has one). */
  scid: string;
  peer: string;
  /** What it can still send in one more HTLC. */
  spendableMsat: bigint;
  /** The smallest HTLC the peer accepts. */
  htlcMinimumMsat: bigint;
}

export interface RouteQuery {
  /** Our node id (hex). */
  source: string;
  target: string;
  /** What the payee receives. */
  amountMsat: bigint;
  /** The payee's CLTV delta (relative to the current height, what its final HTLC carries). */
  finalCltvDelta: number;
  /** Our channels; when given, they replace the graph's edges out of `source`. */
  local?: readonly LocalChannel[];
  /** Invoice route hints (BOLT 11 `r`): private last hops into `target`. */
  hints?: readonly (readonly RouteHintHop[])[];
  /** Fees above this (msat) make a route unacceptable. */
  maxFeeMsat?: bigint;
  /** The most blocks the first HTLC may be locked for (CLN's `maxdelay`, LND's `cltv_limit`). */
  maxCltvDelta?: number;
  maxHops?: number;
  /** Channels `scid` (both directions) or `scid/direction` not to use. */
  excludeChannels?: ReadonlySet<string>;
  excludeNodes?: ReadonlySet<string>;
  /** Directed node pairs not to use, each `fromHex + toHex` (LND's `ignored_pairs`). */
  excludePairs?: ReadonlySet<string>;
  /** The node the route must reach the payee from (LND's `last_hop_pubkey`). */
  lastHop?: string;
  mission?: MissionControl;
  /** Milliseconds, for mission control's decay. */
  now?: number;
  /** What our other parts already hold per direction (`scid/direction`), taken off its liquidity. */
  inFlight?: ReadonlyMap<string, bigint>;
  /** CLN's riskfactor (annual percent for the locked amount); default 10, as CLN's pay. */
  riskFactor?: number;
  /** Weight of the probability penalty; 0 = cheapest by fees and risk only. Default 1. */
  probabilityWeight?: number;
  /** Routes less likely than this are not returned (LND's 1 %). */
  minProbability?: number;
}

export interface PathHop {
  /** The node this hop reaches. */
  id: string;
  scid: string;
  /** BOLT 7 direction of the channel from the previous node to this one. */
  direction: 0 | 1;
  /** The HTLC arriving at this node: amount and CLTV delta (relative to the current height). */
  amountMsat: bigint;
  cltvDelta: number;
  /** From gossip; absent for a route hint's or our private channel. */
  capacitySat?: number;
  /** Our channel's id (first hop only). */
  channelId?: string;
}

export interface FoundRoute {
  hops: PathHop[];
  /** What we send (the first HTLC), the fees in it, the first HTLC's CLTV delta. */
  amountMsat: bigint;
  feeMsat: bigint;
  cltvDelta: number;
  probability: number;
}

interface Extra {
  from: number;
  scid: string;
  direction: 0 | 1;
  base: number;
  prop: number;
  cltv: number;
  htlcMin: number;
  htlcMax: number;
  /** NaN when unknown. */
  capMsat: number;
  local?: LocalChannel;
}

/** BOLT 7's fee for forwarding `amount` msat, exact in doubles for any amount below 2⁵³ msat. */
export function forwardFee(base: number, prop: number, amount: number): number {
  const q = Math.floor(amount / 1_000_000);
  const r = amount - q * 1_000_000;
  return base + q * prop + Math.floor((r * prop) / 1_000_000);
}

/** Uniform-liquidity probability that `amount` passes a direction whose liquidity lies in [lo, hi). */
export function uniformProbability(amount: number, lo: number, hi: number): number {
  if (amount < lo) return 1;
  if (amount >= hi) return 0;
  return hi === Infinity ? 1 : (hi - amount) / (hi - lo);
}

/** A binary min-heap of (key, node) over typed arrays; callers skip stale entries (lazy deletion). */
export class Heap {
  #keys = new Float64Array(1024);
  #vals = new Int32Array(1024);
  size = 0;
  push(key: number, val: number): void {
    if (this.size === this.#keys.length) {
      const k = new Float64Array(this.size * 2);
      k.set(this.#keys);
      this.#keys = k;
      const v = new Int32Array(this.size * 2);
      v.set(this.#vals);
      this.#vals = v;
    }
    let i = this.size++;
    const keys = this.#keys;
    const vals = this.#vals;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= key) break;
      keys[i] = keys[p]!;
      vals[i] = vals[p]!;
      i = p;
    }
    keys[i] = key;
    vals[i] = val;
  }
  pop(): number {
    const keys = this.#keys;
    const vals = this.#vals;
    const top = vals[0]!;
    const n = --this.size;
    const key = keys[n]!;
    const val = vals[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= key) break;
      keys[i] = keys[c]!;
      vals[i] = vals[c]!;
      i = c;
    }
    keys[i] = key;
    vals[i] = val;
    return top;
  }
}

/** The cheapest acceptable route for the query, or undefined when none exists. */
export function findRoute(graph: ChannelGraph, q: RouteQuery): FoundRoute | undefined {
  const A = Number(q.amountMsat);
  if (!(A > 0)) return undefined;
  const now = q.now ?? Date.now();
  const maxFee = q.maxFeeMsat === undefined ? Infinity : Number(q.maxFeeMsat);
  const maxCltv = q.maxCltvDelta ?? Infinity;
  const maxHops = q.maxHops ?? MAX_HOPS;
  const risk = (q.riskFactor ?? 10) / (BLOCKS_PER_YEAR * 100);
  const weight = q.probabilityWeight ?? 1;
  const minProb = q.minProbability ?? 0;
  const attempt = ATTEMPT_COST_MSAT + (A * ATTEMPT_COST_PPM) / 1_000_000;
  const mission = q.mission;
  const inFlight = q.inFlight;

  // Node rows: the graph's, then nodes only we know (ourselves when private, hint nodes, the payee).
  const G = graph.nodeCount;
  const virtualIds: string[] = [];
  const virtualRow = new Map<string, number>();
  const rowOf = (id: string): number => {
    const r = graph.nodeIndex(id);
    if (r !== undefined) return r;
    let v = virtualRow.get(id);
    if (v === undefined) {
      v = G + virtualIds.length;
      virtualIds.push(id);
      virtualRow.set(id, v);
    }
    return v;
  };
  const idOf = (row: number): string => (row < G ? graph.nodeId(row) : virtualIds[row - G]!);
  const src = rowOf(q.source);
  const dst = rowOf(q.target);
  if (src === dst) return undefined;

  // Edges the graph does not have: our channels (when given) and route hints, by the node they lead to.
  const extras: Extra[] = [];
  const extraIn = new Map<number, number[]>();
  const addExtra = (to: number, e: Extra): void => {
    extras.push(e);
    const l = extraIn.get(to) ?? [];
    l.push(extras.length - 1);
    extraIn.set(to, l);
  };
  for (const c of q.local ?? []) {
    const spend = Number(c.spendableMsat);
    addExtra(rowOf(c.peer), { from: src, scid: c.scid, direction: directionOf(q.source, c.peer), base: 0, prop: 0, cltv: 0, htlcMin: Number(c.htlcMinimumMsat), htlcMax: spend, capMsat: spend, local: c });
  }
  for (const hint of q.hints ?? []) {
    for (let i = 0; i < hint.length; i++) {
      const h = hint[i]!;
      const from = h.nodeId.toString('hex');
      const to = i === hint.length - 1 ? q.target : hint[i + 1]!.nodeId.toString('hex');
      if (from === q.source && q.local) continue;
      addExtra(rowOf(to), { from: rowOf(from), scid: h.shortChannelId, direction: directionOf(from, to), base: h.feeBaseMsat, prop: h.feeProportionalMillionths, cltv: h.cltvExpiryDelta, htlcMin: 0, htlcMax: Infinity, capMsat: NaN });
    }
  }

  // Excluded graph directions (row * 2 + direction) and nodes.
  const excludedDir = new Set<number>();
  const excludedScid = new Set<string>();
  for (const s of q.excludeChannels ?? []) {
    const [scid, dir] = s.split('/');
    const row = graph.row(scidFromString(scid!) ?? -1n);
    if (dir === undefined) excludedScid.add(scid!);
    else excludedScid.add(s);
    if (row === undefined) continue;
    if (dir === undefined || dir === '0') excludedDir.add(row * 2);
    if (dir === undefined || dir === '1') excludedDir.add(row * 2 + 1);
  }
  const excludedNode = new Uint8Array(G + virtualIds.length);
  for (const id of q.excludeNodes ?? []) {
    const r = graph.nodeIndex(id) ?? virtualRow.get(id);
    if (r !== undefined && r !== dst && r !== src) excludedNode[r] = 1;
  }

  const N = G + virtualIds.length;
  const cost = new Float64Array(N).fill(Infinity);
  const amt = new Float64Array(N);
  const cltv = new Float64Array(N);
  const prob = new Float64Array(N);
  const hops = new Uint8Array(N);
  const next = new Int32Array(N).fill(-1);
  /** The edge from a node towards the payee: graph row × 2 + direction, or −(extra index + 1). */
  const via = new Int32Array(N);
  const done = new Uint8Array(N);
  const heap = new Heap();
  cost[dst] = 0;
  amt[dst] = A;
  cltv[dst] = q.finalCltvDelta;
  prob[dst] = 1;
  heap.push(0, dst);

  // Relaxes the edge u → v (v already settled) priced by the given policy.
  const pairs = q.excludePairs !== undefined && q.excludePairs.size > 0 ? q.excludePairs : undefined;
  const lastHop = q.lastHop === undefined ? -1 : (graph.nodeIndex(q.lastHop) ?? virtualRow.get(q.lastHop) ?? -2);
  const relax = (u: number, v: number, edge: number, base: number, prop: number, delta: number, htlcMin: number, htlcMax: number, capMsat: number, pair: string | undefined, isLocal: boolean): void => {
    if (done[u] === 1 || excludedNode[u] === 1) return;
    if (v === dst && lastHop !== -1 && u !== lastHop) return;
    if (pairs && pairs.has(idOf(u) + idOf(v))) return;
    const aV = amt[v]!;
    // What our other parts hold over the direction counts against its htlc_maximum_msat too: LDK and LND
    // announce their max_htlc_value_in_flight there, so parts that each fit but together exceed it fail.
    const held = pair !== undefined && inFlight ? Number(inFlight.get(pair) ?? 0n) : 0;
    if (aV < htlcMin || aV + held > htlcMax || aV + held > capMsat) return;
    const first = u === src;
    const fee = first ? 0 : forwardFee(base, prop, aV);
    const aU = aV + fee;
    const cU = cltv[v]! + (first ? 0 : delta);
    if (aU - A > maxFee || cU > maxCltv || hops[v]! + 1 > maxHops) return;
    let p = 1;
    if (!isLocal) {
      let lo = 0;
      let hi = Number.isNaN(capMsat) ? Infinity : capMsat + 1;
      if (mission && pair !== undefined) ({ lo, hi } = mission.bounds(pair, capMsat, now));
      p = uniformProbability(aV, Math.max(0, lo - held), hi - held) * factorV;
    }
    if (p <= 0) return;
    const pathProb = prob[v]! * p;
    if (pathProb < minProb) return;
    const c = cost[v]! + fee + aU * delta * risk - weight * attempt * Math.log(p);
    if (c < cost[u]!) {
      cost[u] = c;
      amt[u] = aU;
      cltv[u] = cU;
      prob[u] = pathProb;
      hops[u] = hops[v]! + 1;
      next[u] = v;
      via[u] = edge;
      heap.push(c, u);
    }
  };

  const skipGraphOut = q.local !== undefined;
  // Per-direction knowledge is looked up (a string key) only for the channels it is about.
  const known = new Set<bigint>();
  for (const scid of mission?.channels ?? []) known.add(scidFromString(scid) ?? -1n);
  for (const pair of inFlight?.keys() ?? []) known.add(scidFromString(pair.split('/')[0]!) ?? -1n);
  const keyed = known.size > 0;
  const pol: PolicyNumbers = { disabled: false, cltvExpiryDelta: 0, htlcMinimumMsat: 0, htlcMaximumMsat: 0, feeBaseMsat: 0, feeProportionalMillionths: 0 };
  /** The popped node's mission-control factor (a node-level failure fades it back to 1). */
  let factorV = 1;
  const visit = (row: number, d: 0 | 1, u: number, v: number): void => {
    if (u === src && skipGraphOut) return;
    const dir = (1 - d) as 0 | 1; // the policy of u → v
    const k = row * 2 + dir;
    if (excludedDir.has(k)) return;
    if (!graph.readPolicy(row, dir, pol) || pol.disabled) return;
    const capMsat = graph.capacitySat(row) * 1000;
    const scid = keyed ? graph.scid(row) : 0n;
    const pair = keyed && known.has(scid) ? pairKey(scidToString(scid), dir) : undefined;
    relax(u, v, k, pol.feeBaseMsat, pol.feeProportionalMillionths, pol.cltvExpiryDelta, pol.htlcMinimumMsat, pol.htlcMaximumMsat, capMsat, pair, false);
  };
  while (heap.size > 0) {
    const v = heap.pop();
    if (done[v] === 1) continue;
    done[v] = 1;
    if (v === src) break;
    factorV = mission && !mission.empty ? mission.nodeFactor(idOf(v), now) : 1;
    if (v < G) graph.forEachEdge(v, (row, d, u) => visit(row, d, u, v));
    for (const i of extraIn.get(v) ?? []) {
      const e = extras[i]!;
      if (excludedScid.has(e.scid) || excludedScid.has(pairKey(e.scid, e.direction))) continue;
      relax(e.from, v, -(i + 1), e.base, e.prop, e.cltv, e.htlcMin, e.htlcMax, e.capMsat, pairKey(e.scid, e.direction), e.local !== undefined);
    }
  }
  if (done[src] !== 1) return undefined;

  const out: PathHop[] = [];
  for (let u = src; u !== dst; ) {
    const v = next[u]!;
    const edge = via[u]!;
    const hop: PathHop = { id: idOf(v), scid: '', direction: 0, amountMsat: BigInt(amt[v]!), cltvDelta: cltv[v]! };
    if (edge >= 0) {
      const row = edge >> 1;
      hop.scid = scidToString(graph.scid(row));
      hop.direction = (edge & 1) as 0 | 1;
      hop.capacitySat = graph.capacitySat(row);
    } else {
      const e = extras[-edge - 1]!;
      hop.scid = e.scid;
      hop.direction = e.direction;
      if (e.local) hop.channelId = e.local.channelId;
    }
    out.push(hop);
    u = v;
  }
  const amountMsat = BigInt(amt[src]!);
  return { hops: out, amountMsat, feeMsat: amountMsat - q.amountMsat, cltvDelta: cltv[src]!, probability: prob[src]! };
}

/**
 * MPP splitting (LND's): a route for the whole of `amountMsat` (no more than `maxPartMsat`, LND's
 * max_shard_size_msat), else for half of it, a quarter…, down to `minPartMsat`, until a part finds a
 * route at least `minProbability` likely. Without `mpp` only that first amount is tried. Returns the route and the amount it delivers.
 */
export function findPart(find: (amountMsat: bigint) => FoundRoute | undefined, amountMsat: bigint, opts: { mpp: boolean; minPartMsat: bigint; minProbability: number; maxPartMsat?: bigint }): FoundRoute | undefined {
  let part = opts.maxPartMsat !== undefined && opts.maxPartMsat > 0n && opts.maxPartMsat < amountMsat ? opts.maxPartMsat : amountMsat;
  let best: FoundRoute | undefined;
  for (;;) {
    const r = find(part);
    if (r && r.probability >= opts.minProbability) return r;
    if (r && !best) best = r;
    const half = (part + 1n) / 2n;
    if (!opts.mpp || half < opts.minPartMsat || half === part) return opts.mpp ? best : r;
    part = half;
  }
}

/** The minimum part size of MPP splitting (LND's DefaultShardMinAmt, 10,000 sat; CLN's presplit size is the same). */
export const MIN_PART_MSAT = 10_000_000n;

/**
 * Splits `query.amountMsat` into parts (each found with what the earlier ones hold in flight taken off
 * the liquidity they use), until they add up to the amount exactly; undefined when some of it finds no
 * route. The plan `pay` would send if every part succeeded (getroute shows one route; tests and the
 * benchmark use the plan).
 */
export function planParts(graph: ChannelGraph, query: RouteQuery, opts: { mpp?: boolean; minPartMsat?: bigint; maxParts?: number } = {}): FoundRoute[] | undefined {
  const inFlight = new Map(query.inFlight ?? []);
  const local = (query.local ?? []).map((c) => ({ ...c }));
  const parts: FoundRoute[] = [];
  let remaining = query.amountMsat;
  while (remaining > 0n) {
    if (parts.length >= (opts.maxParts ?? 16)) return undefined;
    const r = findPart((amt) => findRoute(graph, { ...query, amountMsat: amt, inFlight, ...(query.local ? { local } : {}) }), remaining, {
      mpp: opts.mpp ?? true,
      minPartMsat: opts.minPartMsat ?? MIN_PART_MSAT,
      minProbability: query.minProbability ?? 0,
    });
    if (!r) return undefined;
    parts.push(r);
    remaining -= r.hops[r.hops.length - 1]!.amountMsat;
    holdParts(r, inFlight, local);
  }
  return parts;
}

/**
 * Records what a sent route holds: per direction of the network in `inFlight`, and off our own channel's
 * spendable balance (our channels are priced by that balance, not by `inFlight`).
 */
export function holdParts(r: FoundRoute, inFlight: Map<string, bigint>, local: LocalChannel[] = []): void {
  for (const h of r.hops) {
    if (h.channelId !== undefined) continue;
    const k = pairKey(h.scid, h.direction);
    inFlight.set(k, (inFlight.get(k) ?? 0n) + h.amountMsat);
  }
  const first = r.hops[0]!;
  const c = local.find((x) => x.channelId === first.channelId);
  if (c) c.spendableMsat -= first.amountMsat;
}
