/**
 * Initial gossip sync from ONE peer (issue 15): `channels` channels (default 5,000; 50,000 is mainnet's
 * size) with a heavy-tailed degree distribution, each a channel_announcement and two channel_updates, plus
 * a node_announcement (alias, one IPv4 address) for each of 0.3 × `channels` nodes (mainnet's ratio),
 * every one validly signed by keys derived deterministically from its index.
 *
 * Three processes, so the syncing one's RSS is its own: the serving peer (anode's Gossip over its own
 * SQLite store, reused between runs), the syncing node (a fresh anode Gossip + SQLite store, anode's
 * PeerManager with BOLT 8 over loopback TCP: query_channel_range → reply_channel_range →
 * query_short_channel_ids → the messages → reply_short_channel_ids_end → gossip_timestamp_filter), and
 * the reference: the same messages decoded and signature-checked (validate.ts) with no store and no
 * protocol, measured before and after the sync in its own process; the ratio sync / reference shows what
 * the store and the protocol cost. Both sides check funding outputs against the same in-memory chain
 * (MemoryChainSource: the funding transactions, 1,000 outputs each, one per block).
 *
 * Signing is expensive (6 signatures per channel + 1 per node): done once, timed, and cached in the temp
 * directory (`anode-bench-gossip-sync-<channels>.bin`, regenerated after a week since updates older than
 * two weeks are dropped), next to the serving peer's database.
 *
 *   node --expose-gc dist/bench/gossip-sync.js [--channels N] [--queue N]      this section alone (--queue:
 *   the syncing node's maxQueuePerPeer, to see what its default costs)
 *
 * The sync ends at the last reply_short_channel_ids_end once everything queued is processed; what the
 * syncing node then holds is reported, and a sync that ends with channels or node announcements missing
 * (e.g. messages dropped past the per-peer queue limit) is marked INCOMPLETE.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { MemoryChainSource } from '../src/chain/memory-chain.js';
import { secp } from '../src/crypto/secp256k1.js';
import { encodeAddresses } from '../src/gossip/address.js';
import { Gossip } from '../src/gossip/gossip.js';
import { decodeGossipMessage, GossipMessageType, type ChannelAnnouncement, type ChannelUpdate, type NodeAnnouncement } from '../src/gossip/messages.js';
import { announcedFundingScript, checkChannelAnnouncement, checkChannelUpdate, checkNodeAnnouncement, signNodeAnnouncement } from '../src/gossip/validate.js';
import { INIT_FEATURES } from '../src/node/node.js';
import { DEFAULT_PEER_OPTIONS, PeerManager } from '../src/peer/manager.js';
import { MessageRouter } from '../src/peer/router.js';
import { openSqliteStore } from '../src/store/database.js';
import { CHAIN_HASH } from '../src/wire/messages.js';
import { fmt, fmtInt, table, seededRandom } from './harness.js';
import { channelBetween, fundingTx, signChannel, syntheticEdges, type BenchKey } from './gossip.js';

const SELF = fileURLToPath(import.meta.url);
const FORMAT = 1;
const PER_TX = 1000;
const NODES_PER_CHANNEL = 0.3;
const WEEK_S = 7 * 86_400;
const chainHash = CHAIN_HASH.regtest;
const silent = pino({ level: 'silent' });

export interface GossipSyncResult {
  channels: number;
  nodes: number;
  messages: number;
  bytes: number;
  /** Generating and signing the messages (in this run, or when the cache was made). */
  sign: { seconds: number; signatures: number; cached: boolean };
  sync: { seconds: number; channelsPerSecond: number; rssBeforeMiB: number; peakRssMiB: number; rssAfterMiB: number };
  /** What the syncing node holds at the end (channels with both updates, node announcements) and the messages its per-peer queue dropped. */
  synced: { complete: boolean; channels: number; nodes: number; dropped: number; queue: number | undefined; ended: 'complete' | 'disconnected' };
  reference: { channelsPerSecond: number; runs: number[] };
  ratio: number;
}

/** A private key derived from a tag and an index (deterministic: the cache can be remade identically). */
function derivedKey(tag: string, i: number): BenchKey {
  const priv = createHash('sha256').update(`anode-bench-gossip-sync/${tag}/${i}`).digest();
  return { priv, id: secp.publicKey(priv) };
}

export interface Corpus {
  channels: number;
  nodes: number;
  createdAt: number;
  signSeconds: number;
  signatures: number;
  /** One funding transaction per block, from height 1. */
  blocks: Buffer[];
  /** In sending order: per channel its announcement and two updates, then the node announcements. */
  messages: { type: number; payload: Buffer }[];
}

/** The signed corpus of `channels` channels and their nodes (deterministic but for the timestamps). */
export function generateCorpus(channels: number): Corpus {
  const t0 = performance.now();
  const nodes = Math.max(2, Math.round(channels * NODES_PER_CHANNEL));
  const keys = Array.from({ length: nodes }, (_, i) => derivedKey('node', i));
  const edges = syntheticEdges(nodes, channels, seededRandom(channels));
  const chain = new MemoryChainSource();
  const now = Math.floor(Date.now() / 1000);
  const blocks: Buffer[] = [];
  const messages: Corpus['messages'] = [];
  let signatures = 0;
  for (let start = 0; start < channels; start += PER_TX) {
    const height = chain.height + 1;
    const batch = edges.slice(start, start + PER_TX).map(([x, y], i) => channelBetween(chainHash, height, i, keys[x]!, keys[y]!, [derivedKey('bitcoin', 2 * (start + i)), derivedKey('bitcoin', 2 * (start + i) + 1)]));
    const tx = fundingTx(batch.map((c) => announcedFundingScript(c.ann)));
    chain.mine(1, [tx]);
    blocks.push(tx);
    for (const c of batch) {
      const [ann, u0, u1] = signChannel(c.ann, c.keys, now);
      messages.push({ type: GossipMessageType.CHANNEL_ANNOUNCEMENT, payload: ann! }, { type: GossipMessageType.CHANNEL_UPDATE, payload: u0! }, { type: GossipMessageType.CHANNEL_UPDATE, payload: u1! });
      signatures += 6;
    }
  }
  const connected = new Set(edges.flat());
  keys.forEach((k, i) => {
    if (!connected.has(i)) return;
    const alias = Buffer.alloc(32);
    alias.write(`bench-node-${i}`);
    const { payload } = signNodeAnnouncement(
      { type: GossipMessageType.NODE_ANNOUNCEMENT, features: Buffer.from([0x08, 0xa0]), timestamp: now, nodeId: k.id, rgbColor: Buffer.from([i & 255, (i >> 8) & 255, 7]), alias, addresses: encodeAddresses([`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9735`]) },
      (d) => secp.sign(d, k.priv),
    );
    messages.push({ type: GossipMessageType.NODE_ANNOUNCEMENT, payload });
    signatures++;
  });
  return { channels, nodes: connected.size, createdAt: now, signSeconds: (performance.now() - t0) / 1000, signatures, blocks, messages };
}

/* ------------------------------------------ the cache ------------------------------------------ */

const cachePath = (dir: string, channels: number): string => join(dir, `anode-bench-gossip-sync-${channels}.bin`);
const serverDbPath = (dir: string, channels: number): string => join(dir, `anode-bench-gossip-sync-${channels}.server.sqlite3`);

function writeCorpus(file: string, c: Corpus): void {
  writeFileSync(file, encodeCorpus(c));
}

/** The cache file: a length-prefixed JSON header, the funding transactions, then each message as type, length, payload. */
export function encodeCorpus(c: Corpus): Buffer {
  const header = Buffer.from(JSON.stringify({ format: FORMAT, channels: c.channels, nodes: c.nodes, createdAt: c.createdAt, signSeconds: c.signSeconds, signatures: c.signatures, blocks: c.blocks.length }));
  const parts: Buffer[] = [be32(header.length), header];
  for (const b of c.blocks) parts.push(be32(b.length), b);
  for (const m of c.messages) parts.push(Buffer.from([m.type >> 8, m.type & 255]), be32(m.payload.length), m.payload);
  return Buffer.concat(parts);
}

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function readCorpus(file: string): Corpus | undefined {
  if (!existsSync(file)) return undefined;
  const c = decodeCorpus(readFileSync(file));
  return c && c.createdAt >= Date.now() / 1000 - WEEK_S ? c : undefined;
}

/** The cache file's contents, or undefined when it is not a corpus of this format (then it is made again). */
export function decodeCorpus(buf: Buffer): Corpus | undefined {
  let at = 0;
  const take = (n: number): Buffer | undefined => (n > buf.length - at ? undefined : buf.subarray(at, (at += n)));
  const sized = (): Buffer | undefined => {
    const n = take(4)?.readUInt32BE(0);
    return n === undefined ? undefined : take(n);
  };
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(sized()?.toString() ?? '') as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const num = (k: string): number | undefined => (typeof h?.[k] === 'number' && Number.isFinite(h[k]) ? (h[k] as number) : undefined);
  const [channels, nodes, createdAt, signSeconds, signatures, blockCount] = ['channels', 'nodes', 'createdAt', 'signSeconds', 'signatures', 'blocks'].map(num);
  if (h?.format !== FORMAT || [channels, nodes, createdAt, signSeconds, signatures].includes(undefined)) return undefined;
  if (blockCount === undefined || !Number.isInteger(blockCount) || blockCount < 0 || blockCount > (buf.length - at) / 4) return undefined;
  const blocks: Buffer[] = [];
  for (let i = 0; i < blockCount; i++) {
    const b = sized();
    if (!b) return undefined;
    blocks.push(b);
  }
  const messages: Corpus['messages'] = [];
  while (at < buf.length) {
    const type = take(2)?.readUInt16BE(0);
    const payload = sized();
    if (type === undefined || !payload) return undefined;
    messages.push({ type, payload });
  }
  return { channels: channels!, nodes: nodes!, createdAt: createdAt!, signSeconds: signSeconds!, signatures: signatures!, blocks, messages };
}

function chainOf(c: Corpus): MemoryChainSource {
  const chain = new MemoryChainSource();
  for (const tx of c.blocks) chain.mine(1, [tx]);
  return chain;
}

/* ------------------------------------- the child processes ------------------------------------- */

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const emit = (o: unknown): boolean => process.stdout.write(JSON.stringify(o) + '\n');

async function peerManager(tag: string, listen: boolean): Promise<{ peers: PeerManager; router: MessageRouter; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `anode-bench-sync-${tag}-`));
  const store = await openSqliteStore(join(dir, 'peers.sqlite3'));
  const k = derivedKey(tag, 0);
  const peers = new PeerManager({ ...DEFAULT_PEER_OPTIONS, localKey: { privateKey: k.priv, publicKey: k.id }, chainHash, features: INIT_FEATURES, listen: listen ? [{ host: '127.0.0.1', port: 0 }] : [], peers: store.peers, log: silent });
  const router = new MessageRouter(peers, silent);
  return {
    peers,
    router,
    async close() {
      await peers.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The serving peer: its store filled once (through Gossip's own checks) and kept for later runs. */
async function serve(dir: string, channels: number): Promise<void> {
  const corpus = readCorpus(cachePath(dir, channels))!;
  const chain = chainOf(corpus);
  const fresh = !existsSync(serverDbPath(dir, channels));
  const store = await openSqliteStore(serverDbPath(dir, channels));
  const { peers, router, close } = await peerManager('server', true);
  const gossip = new Gossip({ router, chain, chainHash, store: store.gossip, log: silent });
  if (fresh) {
    for (const m of corpus.messages) {
      const bad = await gossip.addOwn(m.type, m.payload);
      if (bad) throw new Error(`gossip-sync server: refused: ${bad}`);
    }
    await store.gossip.flush();
  }
  await gossip.start();
  // Why the serving side ends a connection (e.g. the syncing node cut off for not reading fast enough), for the record.
  const said = (reason: string): boolean => reason !== 'connection closed by peer' && process.stderr.write(`gossip-sync: the serving peer closed its connection to the syncing node: ${reason}\n`);
  router.watch({ connected: (p) => void p.closed.then(said), disconnected: () => undefined });
  router.start();
  await peers.start();
  emit({ port: peers.bound[0]!.port, id: derivedKey('server', 0).id.toString('hex'), channels: gossip.graph.channelCount });
  process.on('SIGTERM', () => void gossip.stop().then(close).then(() => store.close()).then(() => process.exit(0)));
}

/** The syncing node: a fresh store, one peer, until the sync is complete and everything is stored. */
async function sync(cacheDir: string, channels: number, port: number, serverId: string, queue: number | undefined): Promise<void> {
  let chain: MemoryChainSource | undefined;
  {
    const corpus = readCorpus(cachePath(cacheDir, channels))!;
    chain = chainOf(corpus);
  }
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-sync-'));
  const store = await openSqliteStore(join(dir, 'anode.sqlite3'));
  const { peers, router, close } = await peerManager('client', false);
  const gossip = new Gossip({ router, chain, chainHash, store: store.gossip, log: silent, ...(queue !== undefined ? { limits: { maxQueuePerPeer: queue } } : {}) });
  await gossip.start();
  router.start();
  await peers.start();
  gc();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  await peers.connect(Buffer.from(serverId, 'hex'), '127.0.0.1', port);
  // Complete once the last reply_short_channel_ids_end is in and every message queued before it is
  // processed; or ended early when the serving peer drops the connection.
  let ended: 'complete' | 'disconnected' = 'complete';
  while (!gossip.sync.completed.has(serverId)) {
    if (!peers.peer(serverId)?.connected) {
      ended = 'disconnected';
      break;
    }
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`gossip-sync: not complete after 30 minutes (${gossip.graph.channelCount}/${channels} channels)`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await gossip.idle();
  await store.gossip.flush();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  gc();
  const rssAfter = process.memoryUsage().rss;
  // What was stored, read back after the memory figures (reading it all costs memory of its own).
  const stored = (await store.gossip.loadChannels()).filter((c) => c.updates[0] && c.updates[1]).length;
  const nodes = (await store.gossip.loadNodes()).length;
  emit({ seconds, rssBefore, peak, rssAfter, stored, nodes, dropped: gossip.stats.dropped, ended });
  await gossip.stop();
  await close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

/** The reference: every message decoded and checked (signatures, and each update against its channel). */
function reference(dir: string, channels: number): void {
  const corpus = readCorpus(cachePath(dir, channels))!;
  const t0 = performance.now();
  const known = new Map<bigint, ChannelAnnouncement>();
  for (const m of corpus.messages) {
    const msg = decodeGossipMessage(m.type, m.payload);
    let bad: string | undefined;
    if (m.type === GossipMessageType.CHANNEL_ANNOUNCEMENT) {
      const a = msg as ChannelAnnouncement;
      bad = checkChannelAnnouncement(a, m.payload, chainHash);
      known.set(a.shortChannelId, a);
    } else if (m.type === GossipMessageType.CHANNEL_UPDATE) {
      const u = msg as ChannelUpdate;
      const a = known.get(u.shortChannelId)!;
      bad = checkChannelUpdate(u, m.payload, chainHash, [a.nodeId1, a.nodeId2], 1_000_000_000n);
    } else bad = checkNodeAnnouncement(msg as NodeAnnouncement, m.payload);
    if (bad) throw new Error(`gossip-sync reference: ${bad}`);
  }
  emit({ seconds: (performance.now() - t0) / 1000 });
}

function child(args: string[]): { proc: ReturnType<typeof spawn>; line: Promise<Record<string, number | string>> } {
  const proc = spawn(process.execPath, ['--expose-gc', SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = new Promise<Record<string, number | string>>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Record<string, number | string>);
    });
    proc.on('exit', (code) => reject(new Error(`gossip-sync: child ${args[0]} exited (${code}) before answering`)));
  });
  return { proc, line };
}

/* ------------------------------------------ the section ------------------------------------------ */

export async function benchGossipSync(
  o: {
    channels?: number;
    progress?: (s: string) => void;
    /** Where the corpus and the serving peer's database are kept (default: the temp directory). */
    dir?: string;
    /** The syncing node's per-peer gossip queue (maxQueuePerPeer; default Gossip's). */
    queue?: number;
  } = {},
): Promise<GossipSyncResult> {
  const channels = o.channels ?? 5_000;
  const dir = o.dir ?? tmpdir();
  const progress = o.progress ?? (() => undefined);
  let corpus = readCorpus(cachePath(dir, channels));
  const cached = corpus !== undefined;
  if (!corpus) {
    progress(`gossip-sync: signing ${fmtInt(channels)} channels and their nodes (cached for later runs) …`);
    for (const ext of ['', '-wal', '-shm']) rmSync(serverDbPath(dir, channels) + ext, { force: true });
    corpus = generateCorpus(channels);
    writeCorpus(cachePath(dir, channels), corpus);
  }
  const messages = corpus.messages.length;
  const bytes = corpus.messages.reduce((s, m) => s + m.payload.length + 2, 0);
  const { nodes, signSeconds, signatures } = corpus;
  corpus = undefined;
  progress('gossip-sync: starting the serving peer …');
  const server = child(['serve', dir, String(channels)]);
  try {
    const s = await server.line;
    if (s.channels !== channels) throw new Error(`gossip-sync: the serving peer holds ${s.channels} channels`);
    const ref = async (): Promise<number> => channels / Number((await child(['reference', dir, String(channels)]).line).seconds);
    progress('gossip-sync: reference …');
    const r1 = await ref();
    progress(`gossip-sync: syncing ${fmtInt(channels)} channels …`);
    const r = await child(['sync', dir, String(channels), String(s.port), String(s.id), ...(o.queue !== undefined ? [String(o.queue)] : [])]).line;
    const r2 = await ref();
    const seconds = Number(r.seconds);
    const refRate = (r1 + r2) / 2;
    const MiB = 2 ** 20;
    return {
      channels,
      nodes,
      messages,
      bytes,
      sign: { seconds: signSeconds, signatures, cached },
      sync: { seconds, channelsPerSecond: Number(r.stored) / seconds, rssBeforeMiB: Number(r.rssBefore) / MiB, peakRssMiB: Number(r.peak) / MiB, rssAfterMiB: Number(r.rssAfter) / MiB },
      synced: { complete: Number(r.stored) === channels && Number(r.nodes) === nodes, channels: Number(r.stored), nodes: Number(r.nodes), dropped: Number(r.dropped), queue: o.queue, ended: r.ended as 'complete' | 'disconnected' },
      reference: { channelsPerSecond: refRate, runs: [r1, r2] },
      ratio: Number(r.stored) / seconds / refRate,
    };
  } finally {
    const exited = new Promise((r) => (server.proc.exitCode !== null ? r(undefined) : server.proc.once('exit', r)));
    server.proc.kill('SIGTERM');
    await exited;
  }
}

export function printGossipSync(r: GossipSyncResult): string[] {
  const at50k = (x: number): string => fmt((x * 50_000) / r.channels, 0);
  return [
    `## Gossip: initial sync of ${fmtInt(r.channels)} channels and ${fmtInt(r.nodes)} node announcements from one peer (BOLT 8 over loopback, gossip queries, fresh SQLite store)`,
    '',
    table(
      ['', 'channels/s', 'seconds'],
      [
        ['initial sync (store + protocol + checks)', fmtInt(r.sync.channelsPerSecond), fmt(r.sync.seconds, 1)],
        ['reference: decode + signature checks only', fmtInt(r.reference.channelsPerSecond), fmt(r.channels / r.reference.channelsPerSecond, 1)],
      ],
    ),
    `ratio sync / reference: ${fmt(r.ratio)} (reference measured before and after the sync: ${r.reference.runs.map((x) => fmtInt(x)).join(', ')} channels/s); ${fmtInt(r.messages)} messages, ${fmt(r.bytes / 2 ** 20, 1)} MiB`,
    ...(r.synced.complete
      ? []
      : [
          `INCOMPLETE${r.synced.ended === 'disconnected' ? ' (the serving peer dropped the connection)' : ''}: the sync ended with ${fmtInt(r.synced.channels)} of ${fmtInt(r.channels)} channels and ${fmtInt(r.synced.nodes)} of ${fmtInt(r.nodes)} node announcements; ${fmtInt(r.synced.dropped)} messages dropped at the per-peer queue limit (${r.synced.queue === undefined ? 'the default maxQueuePerPeer' : `maxQueuePerPeer ${fmtInt(r.synced.queue)}`})`,
        ]),
    ...(r.synced.queue === undefined ? [] : [`the syncing node's per-peer queue: ${fmtInt(r.synced.queue)} messages (--queue)`]),
    `both nodes run with every default (outbound buffer ${fmtInt(DEFAULT_PEER_OPTIONS.maxOutboundBuffer / 2 ** 20)} MiB, paced replies)`,
    `syncing process RSS: ${fmt(r.sync.rssBeforeMiB, 0)} MiB before, peak ${fmt(r.sync.peakRssMiB, 0)} MiB, ${fmt(r.sync.rssAfterMiB, 0)} MiB after`,
    `signing the corpus: ${fmtInt(r.sign.signatures)} signatures in ${fmt(r.sign.seconds, 1)} s${r.sign.cached ? ' (when cached; read from the cache in this run)' : ''}`,
    ...(r.channels === 50_000 ? [] : [`at 50,000 channels, linearly: sync ≈ ${at50k(r.sync.seconds)} s, signing ≈ ${at50k(r.sign.seconds)} s (run with --channels 50000 to measure)`]),
  ];
}

/* --------------------------------------------- entry --------------------------------------------- */

if (process.argv[1] === SELF) {
  const [role, ...rest] = process.argv.slice(2);
  const n = (s: string | undefined): number => {
    const v = Number(s);
    if (!(v > 0) || !Number.isInteger(v)) throw new Error(`gossip-sync: bad channel count ${s}`);
    return v;
  };
  const run = async (): Promise<void> => {
    if (role === 'serve') return serve(rest[0]!, n(rest[1]));
    if (role === 'sync') return sync(rest[0]!, n(rest[1]), Number(rest[2]), rest[3]!, rest[4] === undefined ? undefined : n(rest[4]));
    if (role === 'reference') return reference(rest[0]!, n(rest[1]));
    const flag = (name: string): number | undefined => (process.argv.includes(name) ? n(process.argv[process.argv.indexOf(name) + 1]) : undefined);
    const r = await benchGossipSync({ channels: flag('--channels'), queue: flag('--queue'), progress: (s) => process.stderr.write(`${s}\n`) });
    console.log(printGossipSync(r).join('\n'));
  };
  run().catch((e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
}
