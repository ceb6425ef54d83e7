/**
 * BOLT 7 gossip: (1) graph memory at mainnet size — a synthetic graph of 15,000 nodes and 50,000
 * channels with a heavy-tailed degree distribution (preferential attachment), both directions' policies
 * set — in bytes per channel, next to the same data held as plain objects in a Map (the reference);
 * (2) ingest of whole channels (channel_announcement + two channel_updates: decode, 6 signature checks,
 * the funding output looked up in an in-memory chain, the SQLite store, the graph), as an initial sync
 * from one peer delivers them: channels/s next to the raw EC bound (6 ECDSA verifications, measured
 * before each tenth of the ingest, interleaved), and the time and peak memory of ingesting `channels` channels. Store
 * writes are batched (store/gossip.ts), so the ingest can come close to its EC bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { MemoryChainSource } from '../src/chain/memory-chain.js';
import { secp } from '../src/crypto/secp256k1.js';
import { Gossip } from '../src/gossip/gossip.js';
import { ChannelGraph } from '../src/gossip/graph.js';
import { decodeGossipMessage, gossipMessagePayload, GossipMessageType, scidFromParts, type ChannelAnnouncement } from '../src/gossip/messages.js';
import { announcedFundingScript, channelAnnouncementDigest, signChannelUpdate } from '../src/gossip/validate.js';
import type { MessageRouter } from '../src/peer/router.js';
import { openSqliteStore } from '../src/store/database.js';
import { CHAIN_HASH } from '../src/wire/messages.js';
import { fmt, fmtInt, fmtPct, median, table } from './harness.js';

export interface GossipBenchOptions {
  /** Channels ingested in section 2 (default 3,000: the figure at 50,000 is extrapolated from the rate). */
  channels?: number;
  nodes?: number;
  graphChannels?: number;
  progress?: (s: string) => void;
}

export interface GossipBenchResult {
  graph: { nodes: number; channels: number; bytesPerChannel: number; referenceBytesPerChannel: number; maxDegree: number; medianDegree: number };
  ingest: { channels: number; seconds: number; channelsPerSecond: number; ecBoundPerSecond: number; ratio: number; peakRssMiB: number; rssBeforeMiB: number };
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Preferential attachment: each new channel picks one end uniformly, the other proportionally to degree. */
export function syntheticEdges(nodes: number, channels: number, random: () => number = Math.random): [number, number][] {
  const ends: number[] = [];
  const edges: [number, number][] = [];
  for (let i = 1; i < nodes && edges.length < channels; i++) {
    const j = Math.floor(random() * i);
    edges.push([i, j]);
    ends.push(i, j);
  }
  while (edges.length < channels) {
    const a = Math.floor(random() * nodes);
    const b = ends[Math.floor(random() * ends.length)]!;
    if (a === b) continue;
    edges.push([a, b]);
    ends.push(a, b);
  }
  return edges;
}

function graphMemory(nodes: number, channels: number): GossipBenchResult['graph'] {
  const ids = Array.from({ length: nodes }, () => `02${randomBytes(32).toString('hex')}`);
  const edges = syntheticEdges(nodes, channels);
  const degree = new Array<number>(nodes).fill(0);
  for (const [a, b] of edges) (degree[a]!++, degree[b]!++);
  const sorted = [...degree].sort((x, y) => x - y);
  const policy = (d: number, i: number) => ({
    timestamp: 1_700_000_000 + i,
    channelFlags: d,
    messageFlags: 1,
    cltvExpiryDelta: 40 + (i % 100),
    htlcMinimumMsat: 1000n,
    htlcMaximumMsat: 990_000_000n,
    feeBaseMsat: 1000,
    feeProportionalMillionths: i % 5000,
  });
  gc();
  const before = used();
  const g = new ChannelGraph();
  edges.forEach(([a, b], i) => {
    const scid = scidFromParts({ block: 600_000 + (i >> 10), tx: i & 1023, output: 0 });
    g.addChannel(scid, ids[a]!, ids[b]!, 1_000_000n + BigInt(i));
    g.setPolicy(scid, policy(0, i));
    g.setPolicy(scid, policy(1, i));
  });
  gc();
  const compact = used() - before;
  // Reference: the same channels as objects in a Map keyed by scid, adjacency as arrays of scids.
  gc();
  const before2 = used();
  const ref = new Map<bigint, { node1: string; node2: string; capacitySat: bigint; policies: ReturnType<typeof policy>[] }>();
  const adj = new Map<string, bigint[]>();
  edges.forEach(([a, b], i) => {
    const scid = scidFromParts({ block: 600_000 + (i >> 10), tx: i & 1023, output: 0 });
    ref.set(scid, { node1: ids[a]!, node2: ids[b]!, capacitySat: 1_000_000n + BigInt(i), policies: [policy(0, i), policy(1, i)] });
    for (const n of [ids[a]!, ids[b]!]) (adj.get(n) ?? adj.set(n, []).get(n)!).push(scid);
  });
  gc();
  const reference = used() - before2;
  if (g.channelCount !== channels || ref.size !== channels) throw new Error('bench: graph sizes differ');
  return {
    nodes,
    channels,
    bytesPerChannel: compact / channels,
    referenceBytesPerChannel: reference / channels,
    maxDegree: sorted.at(-1)!,
    medianDegree: sorted[Math.floor(nodes / 2)]!,
  };
}

/** A transaction paying each script (value 1,000,000 + i sat), one fake input. */
export function fundingTx(scripts: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from('02000000', 'hex'), Buffer.of(1), randomBytes(32), Buffer.alloc(4), Buffer.of(0), Buffer.from('ffffffff', 'hex')];
  const n = scripts.length;
  parts.push(n < 0xfd ? Buffer.of(n) : Buffer.from([0xfd, n & 0xff, n >> 8]));
  scripts.forEach((s, i) => {
    const v = Buffer.alloc(8);
    v.writeBigUInt64LE(1_000_000n + BigInt(i));
    parts.push(v, Buffer.of(s.length), s);
  });
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** An unsigned channel_announcement. */
export type UnsignedAnnouncement = Omit<ChannelAnnouncement, 'nodeSignature1' | 'nodeSignature2' | 'bitcoinSignature1' | 'bitcoinSignature2'>;

/** A signing key and its public key. */
export interface BenchKey {
  priv: Buffer;
  id: Buffer;
}

/**
 * The channel funded by output `output` of block `height`'s funding transaction (at index 1) between
 * nodes `x` and `y` (ordered here), with its bitcoin keys; `keys` in signing order (see signChannel).
 */
export function channelBetween(chainHash: Buffer, height: number, output: number, x: BenchKey, y: BenchKey, btc: [BenchKey, BenchKey]): { keys: BenchKey[]; ann: UnsignedAnnouncement } {
  const [a, b] = Buffer.compare(x.id, y.id) < 0 ? [x, y] : [y, x];
  return {
    keys: [a, b, btc[0], btc[1]],
    ann: {
      type: GossipMessageType.CHANNEL_ANNOUNCEMENT,
      features: Buffer.alloc(0),
      chainHash,
      shortChannelId: scidFromParts({ block: height, tx: 1, output }),
      nodeId1: a.id,
      nodeId2: b.id,
      bitcoinKey1: btc[0].id,
      bitcoinKey2: btc[1].id,
    },
  };
}

/**
 * The channel_announcement (signed by node 1, node 2, bitcoin key 1, bitcoin key 2: `keys` in that
 * order) and a channel_update for each direction, as payloads.
 */
export function signChannel(ann: UnsignedAnnouncement, keys: readonly { priv: Buffer }[], timestamp: number): Buffer[] {
  const h = channelAnnouncementDigest(ann);
  const [s1, s2, s3, s4] = keys.map((k) => secp.sign(h, k.priv));
  const signed = gossipMessagePayload({ ...ann, nodeSignature1: s1!, nodeSignature2: s2!, bitcoinSignature1: s3!, bitcoinSignature2: s4! });
  const ups = ([0, 1] as const).map(
    (d) =>
      signChannelUpdate(
        {
          type: GossipMessageType.CHANNEL_UPDATE,
          chainHash: ann.chainHash,
          shortChannelId: ann.shortChannelId,
          timestamp,
          messageFlags: 1,
          channelFlags: d,
          cltvExpiryDelta: 40,
          htlcMinimumMsat: 1000n,
          feeBaseMsat: 1000,
          feeProportionalMillionths: 100,
          htlcMaximumMsat: 500_000_000n,
        },
        (x) => secp.sign(x, keys[d]!.priv),
      ).payload,
  );
  return [signed, ...ups];
}

async function ingest(channels: number, progress: (s: string) => void): Promise<GossipBenchResult['ingest']> {
  const chainHash = CHAIN_HASH.regtest;
  const key = () => {
    const priv = randomBytes(32);
    return { priv, id: secp.publicKey(priv) };
  };
  const nodes = Array.from({ length: Math.max(2, Math.floor(channels / 3)) }, key);
  progress(`gossip: signing ${channels} channels …`);
  const chain = new MemoryChainSource();
  chain.mine(1);
  const PER_TX = 1000;
  const messages: Buffer[][] = [];
  for (let start = 0; start < channels; start += PER_TX) {
    const batch: { ann: UnsignedAnnouncement; keys: BenchKey[] }[] = [];
    const height = (await chain.getBlockCount()) + 1;
    for (let i = 0; i < Math.min(PER_TX, channels - start); i++) {
      const a = nodes[Math.floor(Math.random() * nodes.length)]!;
      let b = nodes[Math.floor(Math.random() * nodes.length)]!;
      while (b === a) b = nodes[Math.floor(Math.random() * nodes.length)]!;
      batch.push(channelBetween(chainHash, height, i, a, b, [key(), key()]));
    }
    chain.mine(1, [fundingTx(batch.map((c) => announcedFundingScript(c.ann)))]);
    for (const c of batch) messages.push(signChannel(c.ann, c.keys, Math.floor(Date.now() / 1000)));
  }
  // The EC bound: 6 verifications per channel, on the same signatures.
  const sample = messages.slice(0, 200).map((m) => {
    const a = decodeGossipMessage(GossipMessageType.CHANNEL_ANNOUNCEMENT, m[0]!) as ChannelAnnouncement;
    return { h: channelAnnouncementDigest(a), key: a.nodeId1, sig: a.nodeSignature1 };
  });
  // Interleaved with the ingest (the machine is shared): the bound is measured before each tenth of the
  // channels is ingested, and the ratio is the median of the per-tenth ratios.
  const CHUNKS = 10;
  const chunk = Math.ceil(channels / CHUNKS);
  let ok = 0;
  const ecBound = (): number => {
    const t0 = performance.now();
    for (let r = 0; r < 6 * chunk; r++) {
      const s = sample[r % sample.length]!;
      if (secp.verify(s.h, s.key, s.sig)) ok++;
    }
    return chunk / ((performance.now() - t0) / 1000);
  };

  const dir = mkdtempSync(join(tmpdir(), 'anode-gossip-bench-'));
  const store = await openSqliteStore(join(dir, 'anode.sqlite3'));
  const router = { handle() {}, watch() {} } as unknown as MessageRouter;
  const gossip = new Gossip({ router, chain, chainHash, store: store.gossip, log: pino({ level: 'silent' }) });
  gc();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  progress(`gossip: ingesting ${channels} channels …`);
  let seconds = 0;
  const bounds: number[] = [];
  const ratios: number[] = [];
  try {
    for (let from = 0; from < messages.length; from += chunk) {
      const bound = ecBound();
      if (ok === 0) throw new Error('bench: EC reference verified nothing');
      const part = messages.slice(from, from + chunk);
      const start = performance.now();
      for (const [ann, u0, u1] of part) {
        for (const [type, p] of [[256, ann], [258, u0], [258, u1]] as const) {
          const bad = await gossip.addOwn(type, p!);
          if (bad) throw new Error(`bench: refused: ${bad}`);
        }
      }
      const s = (performance.now() - start) / 1000;
      seconds += s;
      bounds.push(bound);
      ratios.push(part.length / s / bound);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const ecBoundPerSecond = median(bounds);
    if (gossip.graph.channelCount !== channels) throw new Error(`bench: ${gossip.graph.channelCount} channels in the graph, expected ${channels}`);
    const channelsPerSecond = channels / seconds;
    return { channels, seconds, channelsPerSecond, ecBoundPerSecond, ratio: median(ratios), peakRssMiB: peak / 2 ** 20, rssBeforeMiB: rssBefore / 2 ** 20 };
  } finally {
    clearInterval(sampler);
    await gossip.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchGossip(o: GossipBenchOptions = {}): Promise<GossipBenchResult> {
  const progress = o.progress ?? (() => undefined);
  progress('gossip: graph memory …');
  const graph = graphMemory(o.nodes ?? 15_000, o.graphChannels ?? 50_000);
  const ing = await ingest(o.channels ?? 3_000, progress);
  return { graph, ingest: ing };
}

export function printGossip(r: GossipBenchResult): string[] {
  const g = r.graph;
  const i = r.ingest;
  return [
    `## Gossip: the channel graph (${fmtInt(g.nodes)} nodes, ${fmtInt(g.channels)} channels, preferential attachment: median degree ${g.medianDegree}, max ${g.maxDegree})`,
    '',
    table(
      ['', 'bytes per channel'],
      [
        ['ChannelGraph (typed arrays, both policies set)', fmtInt(g.bytesPerChannel)],
        ['reference: objects in a Map + adjacency arrays', fmtInt(g.referenceBytesPerChannel)],
      ],
    ),
    `ratio compact / objects: ${fmt(g.bytesPerChannel / g.referenceBytesPerChannel)} (${fmtPct((1 - g.bytesPerChannel / g.referenceBytesPerChannel) * 100)} less)`,
    '',
    `## Gossip: ingest of ${fmtInt(i.channels)} channels (announcement + 2 updates each: decode, 6 signature checks, funding output, SQLite, graph)`,
    '',
    table(
      ['', 'channels/s'],
      [
        ['ingest', fmtInt(i.channelsPerSecond)],
        ['EC bound (6 ECDSA verifications)', fmtInt(i.ecBoundPerSecond)],
      ],
    ),
    `ratio ingest / EC bound (median of 10 interleaved pairs): ${fmt(i.ratio)}; ${fmt(i.seconds, 1)} s for ${fmtInt(i.channels)} channels (${fmt((i.seconds * 50_000) / i.channels, 0)} s at 50,000 at this rate); RSS ${fmt(i.rssBeforeMiB, 0)} MiB before, peak ${fmt(i.peakRssMiB, 0)} MiB`,
  ];
}
