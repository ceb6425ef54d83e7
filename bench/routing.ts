/**
 * Pathfinding (routing/pathfind.ts) at mainnet size: a synthetic graph of 15,000 nodes and 50,000
 * channels, generated from a fixed seed with preferential attachment (a few hubs with thousands of
 * channels, most nodes with one or two, as mainnet), log-uniform capacities from 20,000 sat to 0.16 BTC,
 * heavy-tailed fees, common CLTV deltas and a few disabled directions. Random payer/payee pairs and
 * log-uniform amounts (1,000 sat to 0.01 BTC); each query is timed alone (latency median and p99,
 * queries/s from the mean). The reference, in the same run over the same graph and pairs: a plain
 * Dijkstra by fee only (the same backwards search with the same heap and read API and the same hard limits —
 * HTLC minimum/maximum, capacity — but no probability, risk, fee or CLTV budget, mission control) — the ratio is what pricing success probability costs. Also the graph's bytes per
 * channel (heap and typed arrays after GC).
 */
import { performance } from 'node:perf_hooks';
import { ChannelGraph, type PolicyNumbers } from '../src/gossip/graph.js';
import { scidFromParts } from '../src/gossip/messages.js';
import { findRoute, forwardFee, Heap } from '../src/routing/pathfind.js';
import { MissionControl } from '../src/routing/mission.js';
import { fmt, fmtInt, median, quantile, table, seededRandom } from './harness.js';

export interface RoutingBenchOptions {
  nodes?: number;
  channels?: number;
  queries?: number;
  seed?: number;
  progress?: (s: string) => void;
}

interface Latency {
  queriesPerSecond: number;
  medianMs: number;
  p99Ms: number;
  found: number;
}

export interface RoutingBenchResult {
  nodes: number;
  channels: number;
  maxDegree: number;
  medianDegree: number;
  bytesPerChannel: number;
  queries: number;
  pathfinder: Latency;
  dijkstra: Latency;
  /** Pathfinder median latency over the plain Dijkstra's. */
  ratio: number;
  /** Mean hops of the routes found, and their mean fee over the Dijkstra's fee on the same pairs. */
  meanHops: number;
  feeOverOptimum: number;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Builds the synthetic graph (fixed seed); returns it with the node ids and the degree figures. */
export function syntheticGraph(nodes: number, channels: number, seed: number): { graph: ChannelGraph; ids: string[]; degree: number[]; bytesPerChannel: number } {
  const rnd = seededRandom(seed);
  const ids = Array.from({ length: nodes }, (_, i) => {
    // Distinct 33-byte ids from the PRNG (the pathfinder never checks they are curve points).
    let h = '';
    for (let k = 0; k < 8; k++) h += Math.floor(rnd() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return `02${h}`.slice(0, 66 - 4) + i.toString(16).padStart(4, '0');
  });
  const edges: [number, number][] = [];
  const ends: number[] = [];
  for (let i = 1; i < nodes && edges.length < channels; i++) {
    const j = ends.length > 0 && rnd() < 0.8 ? ends[Math.floor(rnd() * ends.length)]! : Math.floor(rnd() * i);
    edges.push([i, j]);
    ends.push(i, j);
  }
  while (edges.length < channels) {
    const a = Math.floor(rnd() * nodes);
    const b = ends[Math.floor(rnd() * ends.length)]!;
    if (a === b) continue;
    edges.push([a, b]);
    ends.push(a, b);
  }
  const degree = new Array<number>(nodes).fill(0);
  for (const [a, b] of edges) (degree[a]!++, degree[b]!++);
  const ppmChoices = [1, 10, 100, 200, 500, 1000, 2500, 5000];
  const cltvChoices = [18, 34, 40, 80, 144];
  gc();
  const before = used();
  const graph = new ChannelGraph();
  edges.forEach(([a, b], i) => {
    const [n1, n2] = ids[a]! < ids[b]! ? [ids[a]!, ids[b]!] : [ids[b]!, ids[a]!];
    const scid = scidFromParts({ block: 600_000 + (i >> 10), tx: i & 1023, output: 0 });
    const capacitySat = BigInt(Math.round(20_000 * Math.pow(800, rnd())));
    graph.addChannel(scid, n1, n2, capacitySat);
    for (const dir of [0, 1] as const) {
      graph.setPolicy(scid, {
        timestamp: 1_700_000_000 + i,
        channelFlags: dir | (rnd() < 0.03 ? 2 : 0),
        messageFlags: 1,
        cltvExpiryDelta: cltvChoices[Math.floor(rnd() * cltvChoices.length)]!,
        htlcMinimumMsat: rnd() < 0.8 ? 1000n : 1n,
        htlcMaximumMsat: (capacitySat * 1000n * 99n) / 100n,
        feeBaseMsat: rnd() < 0.4 ? 0 : Math.floor(rnd() * 1000),
        feeProportionalMillionths: ppmChoices[Math.floor(rnd() * ppmChoices.length)]!,
      });
    }
  });
  gc();
  return { graph, ids, degree, bytesPerChannel: (used() - before) / channels };
}

/** The reference: Dijkstra by fee alone, backwards from the payee, over the directions that could carry the amount. */
function plainDijkstra(graph: ChannelGraph, source: number, target: number, amountMsat: number): number | undefined {
  const n = graph.nodeCount;
  const fee = new Float64Array(n).fill(Infinity);
  const done = new Uint8Array(n);
  const p: PolicyNumbers = { disabled: false, cltvExpiryDelta: 0, htlcMinimumMsat: 0, htlcMaximumMsat: 0, feeBaseMsat: 0, feeProportionalMillionths: 0 };
  const heap = new Heap();
  heap.push(0, target);
  fee[target] = 0;
  while (heap.size > 0) {
    const v = heap.pop();
    if (done[v] === 1) continue;
    done[v] = 1;
    if (v === source) return fee[v];
    const amt = amountMsat + fee[v]!;
    graph.forEachEdge(v, (row, d, u) => {
      if (done[u] === 1) return;
      // Only what makes a route impossible: enabled, within the HTLC limits and the capacity.
      if (!graph.readPolicy(row, (1 - d) as 0 | 1, p) || p.disabled || amt < p.htlcMinimumMsat || amt > p.htlcMaximumMsat || amt > graph.capacitySat(row) * 1000) return;
      const f = fee[v]! + (u === source ? 0 : forwardFee(p.feeBaseMsat, p.feeProportionalMillionths, amt));
      if (f < fee[u]!) {
        fee[u] = f;
        heap.push(f, u);
      }
    });
  }
  return undefined;
}

function latency(times: number[], found: number): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  return { queriesPerSecond: 1000 / mean, medianMs: median(sorted), p99Ms: quantile(sorted, 0.99), found };
}

export function benchRouting(opts: RoutingBenchOptions = {}): RoutingBenchResult {
  const nodes = opts.nodes ?? 15_000;
  const channels = opts.channels ?? 50_000;
  const queries = opts.queries ?? 300;
  const progress = opts.progress ?? (() => {});
  progress(`routing: building a ${fmtInt(nodes)}-node, ${fmtInt(channels)}-channel graph …`);
  const { graph, ids, degree, bytesPerChannel } = syntheticGraph(nodes, channels, opts.seed ?? 15);
  const rnd = seededRandom((opts.seed ?? 15) + 1);
  const pairs = Array.from({ length: queries }, () => {
    const s = Math.floor(rnd() * nodes);
    let t = Math.floor(rnd() * nodes);
    if (t === s) t = (t + 1) % nodes;
    return { s, t, amountMsat: Math.round(1_000_000 * Math.pow(1000, rnd())) };
  });
  const mission = new MissionControl();
  const ours: number[] = [];
  const ref: number[] = [];
  let foundOurs = 0;
  let foundRef = 0;
  let hops = 0;
  let feeOurs = 0;
  let feeRef = 0;
  progress(`routing: ${queries} queries, each timed alone, pathfinder and plain Dijkstra interleaved …`);
  // Warm-up (JIT) on a few pairs.
  for (const p of pairs.slice(0, 10)) {
    findRoute(graph, { source: ids[p.s]!, target: ids[p.t]!, amountMsat: BigInt(p.amountMsat), finalCltvDelta: 18, mission, now: 0 });
    plainDijkstra(graph, graph.nodeIndex(ids[p.s]!)!, graph.nodeIndex(ids[p.t]!)!, p.amountMsat);
  }
  for (const p of pairs) {
    let t0 = performance.now();
    const r = findRoute(graph, { source: ids[p.s]!, target: ids[p.t]!, amountMsat: BigInt(p.amountMsat), finalCltvDelta: 18, maxCltvDelta: 2016, mission, now: 0 });
    ours.push(performance.now() - t0);
    t0 = performance.now();
    const f = plainDijkstra(graph, graph.nodeIndex(ids[p.s]!)!, graph.nodeIndex(ids[p.t]!)!, p.amountMsat);
    ref.push(performance.now() - t0);
    if (r) foundOurs++;
    if (f !== undefined) foundRef++;
    if (r && f !== undefined) {
      hops += r.hops.length;
      feeOurs += Number(r.feeMsat);
      feeRef += f;
    }
  }
  const pathfinder = latency(ours, foundOurs);
  const dijkstra = latency(ref, foundRef);
  const sortedDeg = [...degree].sort((a, b) => a - b);
  return {
    nodes,
    channels,
    maxDegree: sortedDeg.at(-1)!,
    medianDegree: sortedDeg[Math.floor(nodes / 2)]!,
    bytesPerChannel,
    queries,
    pathfinder,
    dijkstra,
    ratio: pathfinder.medianMs / dijkstra.medianMs,
    meanHops: foundOurs > 0 ? hops / Math.min(foundOurs, foundRef) : 0,
    feeOverOptimum: feeRef > 0 ? feeOurs / feeRef : 1,
  };
}

export function printRouting(r: RoutingBenchResult): string[] {
  return [
    `Pathfinding on a synthetic graph of ${fmtInt(r.nodes)} nodes and ${fmtInt(r.channels)} channels (preferential attachment, fixed seed; degree median ${r.medianDegree}, max ${fmtInt(r.maxDegree)}), ${r.queries} random pairs and amounts:`,
    table(
      ['search', 'queries/s', 'median ms', 'p99 ms', 'routes found'],
      [
        ['pathfinder (fees + CLTV risk + probability)', fmt(r.pathfinder.queriesPerSecond, 1), fmt(r.pathfinder.medianMs), fmt(r.pathfinder.p99Ms), `${r.pathfinder.found}/${r.queries}`],
        ['plain Dijkstra by fee (reference)', fmt(r.dijkstra.queriesPerSecond, 1), fmt(r.dijkstra.medianMs), fmt(r.dijkstra.p99Ms), `${r.dijkstra.found}/${r.queries}`],
      ],
    ),
    `pathfinder / Dijkstra median latency: ${fmt(r.ratio)} (aim: median under 20 ms); routes ${fmt(r.meanHops, 1)} hops on average, fees ${fmt(r.feeOverOptimum)}× the fee optimum (the price of likelier routes)`,
    `graph memory: ${fmt(r.bytesPerChannel, 0)} bytes per channel`,
  ];
}
