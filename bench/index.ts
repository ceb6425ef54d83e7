/**
 * `npm run bench`: the foundation's performance figures, each next to a reference measured in the
 * same run (a ratio), since the machines this runs on are shared and noisy. See bench/README.md.
 *
 * Options (after `npm run bench --`):
 *   --only handshake,aead,transport,rss,memory,tower,wtclient,rpc,channel,onion,onchain,postgres,payment,gossip,routing,gossip-sync   run a subset
 *   --rounds N         interleaved rounds for the timed benchmarks (default 9)
 *   --batch-ms N       target duration of one timed batch (default 100)
 *   --peers N          idle peers for the memory benchmark (default 1000)
 *   --memory-rounds N  fresh listener processes per side (default 3)
 *   --memory-warmup N  peers connected and dropped before the baseline (default: --peers)
 *   --rss-rounds N     started nodes per kind for the RSS-at-rest figure (default 1)
 *   --rss-settle N     seconds a started node rests before its RSS is read (default 75)
 *   --channels N       channels of the gossip-sync section (default 5,000; 50,000 is mainnet's size)
 *
 * Sections: handshake, aead (raw ChaCha20-Poly1305 per size), transport, rss (a started node at rest), memory, tower (watchtower server), wtclient (watchtower client), rpc (API
 * shells), channel (commitment update round trips on one anode ↔ anode channel; its batches are 3 × --batch-ms),
 * onion (BOLT 4 onion construction and peeling next to their raw EC cost),
 * onchain (a commitment with 400 HTLCs: the block to every sweep published; at most 5 rounds),
 * postgres (the tower and HTLC round trips on PostgreSQL next to the raw commit rate and SQLite; bench/postgres.ts),
 * payment (payments per second over one anode ↔ anode channel next to the HTLC round-trip floor),
 * gossip (graph bytes per channel at mainnet size, channel ingest next to its EC bound),
 * routing (route queries/s and latency on a 15,000-node, 50,000-channel synthetic graph next to a plain Dijkstra by fee).
 * gossip-sync (initial sync of --channels channels from one peer over BOLT 8: time, peak RSS, next to decode + checks alone).
 *
 * Tables go to stdout, progress to stderr; the results also go to dist/bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { secpBackend } from '../src/crypto/secp256k1.js';
import { benchAead, type AeadResult } from './aead.js';
import { benchChannel, printChannel } from './channel.js';
import { benchOnchain, printOnchain } from './onchain.js';
import { benchRss, type RssResult } from './rss.js';
import { benchHandshake, type HandshakeResult } from './handshake.js';
import { fmt, fmtInt, fmtPct, median, table, type Comparison, type RunOptions } from './harness.js';
import { benchGossip, printGossip } from './gossip.js';
import { benchRouting, printRouting } from './routing.js';
import { benchGossipSync, printGossipSync } from './gossip-sync.js';
import { benchOnion, printOnion } from './onion.js';
import { benchPayment, printPayment } from './payment.js';
import { benchMemory, fdsNeeded, openFilesLimit, type MemoryResult, type PerPeer } from './memory.js';
import { benchPostgres, printPostgres } from './postgres.js';
import { benchRpc, printRpc } from './rpc.js';
import { benchTower, printTower } from './tower.js';
import { benchTransport, type TransportRow } from './transport.js';
import { benchWtClient, printWtClient } from './wtclient.js';

const SELF = fileURLToPath(import.meta.url);

// Re-exec with --expose-gc so sections start from a collected heap (the memory listeners get it too).
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, SELF, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/** Issue 19's targets (measured there against LND on this machine kind; see docs/performance.md). */
const GOALS = {
  handshakeRatio: 0.8,
  handshakesPerSecond: 1200,
  transportRatio64k: 0.8,
  /** 32 B messages/s: in memory (TransportCipher), over loopback TCP (NoiseSocket). */
  small: { cipher: 160_000, socket: 150_000 },
  rssMiB: 80,
  memoryKiB: 30,
};

interface Args {
  only: Set<string>;
  rounds: number;
  batchMs: number;
  peers: number;
  memoryRounds: number;
  memoryWarmup: number | undefined;
  rssRounds: number;
  rssSettle: number;
  channels: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    only: new Set(['handshake', 'aead', 'transport', 'rss', 'memory', 'tower', 'wtclient', 'rpc', 'channel', 'onion', 'onchain', 'postgres', 'payment', 'gossip', 'routing', 'gossip-sync']),
    rounds: 9,
    batchMs: 100,
    peers: 1000,
    memoryRounds: 3,
    memoryWarmup: undefined,
    rssRounds: 1,
    rssSettle: 75,
    channels: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    const num = (): number => {
      const n = Number(value());
      if (!(n > 0) || !Number.isInteger(n)) throw new Error(`bench: ${flag} needs a positive integer`);
      return n;
    };
    switch (flag) {
      case '--only':
        a.only = new Set(value().split(','));
        break;
      case '--rounds':
        a.rounds = num();
        break;
      case '--batch-ms':
        a.batchMs = num();
        break;
      case '--peers':
        a.peers = num();
        break;
      case '--memory-rounds':
        a.memoryRounds = num();
        break;
      case '--rss-rounds':
        a.rssRounds = num();
        break;
      case '--rss-settle':
        a.rssSettle = num();
        break;
      case '--channels':
        a.channels = num();
        break;
      case '--memory-warmup':
        a.memoryWarmup = Number(value());
        if (!(a.memoryWarmup >= 0) || !Number.isInteger(a.memoryWarmup)) throw new Error('bench: --memory-warmup needs an integer ≥ 0');
        break;
      default:
        throw new Error(`bench: unknown option ${flag}`);
    }
  }
  return a;
}

const progress = (s: string): void => {
  process.stderr.write(`[bench] ${s}\n`);
};
const gc = (): void => (globalThis as unknown as { gc: () => void }).gc();
const verdict = (ok: boolean): string => (ok ? 'MET' : 'NOT MET');
const noisy = (iqr: number): string => (iqr > 20 ? ' (noisy)' : '');

function printHandshake(h: HandshakeResult): string[] {
  const c = h.comparison;
  const out: string[] = [];
  out.push(`## 1. BOLT 8 handshake (both sides in one process, fresh ephemeral keys; EC backend ${secpBackend.name}, ${secpBackend.reason})`);
  out.push('');
  out.push(
    table(
      ['', 'per second', 'IQR', 'µs each', 'batch'],
      [
        [c.candidate.name, fmtInt(c.candidate.median), fmtPct(c.candidate.iqrPct) + noisy(c.candidate.iqrPct), fmtInt(h.handshakeUs), String(c.candidate.batch)],
        [c.reference.name, fmtInt(c.reference.median), fmtPct(c.reference.iqrPct) + noisy(c.reference.iqrPct), fmtInt(h.boundUs), String(c.reference.batch)],
      ],
    ),
  );
  out.push('');
  out.push(
    `ratio handshake / EC bound (median of ${c.ratios.length} per-round ratios): ${fmt(c.ratio)} (IQR ${fmtPct(c.ratioIqrPct)}; rounds ${c.ratios.map((r) => fmt(r)).join(' ')})`,
  );
  out.push(`  goal ≥ ${GOALS.handshakeRatio}: ${verdict(c.ratio >= GOALS.handshakeRatio)}`);
  out.push(`  not EC (symmetric crypto, hashing, extra point checks, allocation): ${fmtInt(h.handshakeUs - h.boundUs)} µs per handshake`);
  out.push(`absolute: ${fmtInt(c.candidate.median)} handshakes/s, goal ≥ ${fmtInt(GOALS.handshakesPerSecond)}/s: ${verdict(c.candidate.median >= GOALS.handshakesPerSecond)}`);
  return out;
}

function printAead(a: AeadResult): string[] {
  const out: string[] = [];
  out.push('## 2a. Raw ChaCha20-Poly1305, seal + open of one message (each candidate against node:crypto in the same rounds)');
  out.push('');
  const body = a.rows.map((r) => {
    const best = r.js.ratio >= 1 && r.js.ratio >= r.noble.ratio ? 'anode JS' : r.noble.ratio >= 1 ? '@noble/ciphers' : 'node:crypto';
    const used = r.size <= a.jsAeadMax ? 'anode JS' : 'node:crypto';
    return [
      `${r.size} B`,
      fmtInt(r.js.reference.median),
      fmtInt(r.js.candidate.median),
      fmt(r.js.ratio),
      fmtInt(r.noble.candidate.median),
      fmt(r.noble.ratio),
      best,
      used + (used === best ? '' : ' (not the fastest here)'),
    ];
  });
  out.push(table(['message', 'node:crypto/s', 'anode JS/s', 'ratio', '@noble/ciphers/s', 'ratio', 'fastest', 'anode uses'], body, 1));
  out.push(`JS_AEAD_MAX = ${a.jsAeadMax} B: messages up to it take the JavaScript path (src/crypto/aead.ts).`);
  return out;
}

function printTransport(rows: TransportRow[]): string[] {
  const out: string[] = [];
  out.push('## 2. Encrypted messages (sender encrypts, receiver decrypts; reference: the fastest raw AEAD, 2 seal + 2 open per message)');
  out.push('');
  const mbs = (rate: number, size: number): string => {
    const x = (rate * size) / 1e6;
    return fmt(x, x < 10 ? 2 : 0);
  };
  const body = rows.map((r) => {
    const c: Comparison = r.comparison;
    let goal = '';
    if (r.size === 65535 && r.path !== 'socket') goal = `≥ ${GOALS.transportRatio64k}: ${verdict(c.ratio >= GOALS.transportRatio64k)}`;
    if (r.size === 32 && r.path !== 'socket-vs-floor') {
      const want = r.path === 'cipher' ? GOALS.small.cipher : GOALS.small.socket;
      goal = `≥ ${fmtInt(want)}/s: ${verdict(c.candidate.median >= want)}`;
    }
    return [
      `${r.size} B`,
      r.path === 'socket' ? 'NoiseSocket, loopback TCP' : r.path === 'cipher' ? 'TransportCipher, no socket' : 'NoiseSocket vs floor*',
      fmtInt(c.candidate.median),
      mbs(c.candidate.median, r.size),
      fmtPct(c.candidate.iqrPct) + noisy(c.candidate.iqrPct),
      fmtInt(c.reference.median),
      mbs(c.reference.median, r.size),
      fmt(c.ratio),
      fmtPct(c.ratioIqrPct) + noisy(c.ratioIqrPct),
      goal,
    ];
  });
  out.push(table(['message', 'path', 'msgs/s', 'MB/s', 'IQR', 'reference msgs/s', 'MB/s', 'ratio', 'ratio IQR', 'goal'], body, 2));
  out.push('* floor: the same raw AEAD work plus the same bytes through a plain loopback TCP pair on the same thread');
  out.push('  (no anode code): what the socket row could reach at best when both ends share one core. The 64 KiB');
  out.push('  goal is judged on the in-memory row and on the socket against this floor.');
  return out;
}

function printRss(r: RssResult): string[] {
  const out: string[] = [];
  out.push(`## 3a. RSS at rest (node dist/src/bin/anode.js, default options; read 10 s and ${r.settleSeconds} s after "anode started"; medians of ${r.reference.rounds.length})`);
  out.push('');
  const mib = (x: number): string => fmt(x, 1);
  out.push(
    table(
      ['process', 'MiB at 10 s', `MiB at ${r.settleSeconds} s`, 'rounds', 'above the empty process', `goal ≤ ${GOALS.rssMiB} MiB`],
      [
        ...r.rows.map((x) => [x.name, mib(median(x.early)), mib(x.median), x.rounds.map(mib).join(' '), mib(x.median - r.reference.median), verdict(x.median <= GOALS.rssMiB)]),
        [r.defaults.name, mib(median(r.defaults.early)), mib(r.defaults.median), r.defaults.rounds.map(mib).join(' '), mib(r.defaults.median - r.reference.median), ''],
        [r.reference.name, mib(median(r.reference.early)), mib(r.reference.median), r.reference.rounds.map(mib).join(' '), '', ''],
      ],
    ),
  );
  return out;
}

function printMemory(m: MemoryResult): string[] {
  const out: string[] = [];
  out.push(
    `## 3. Memory per idle connected peer (${m.peers} inbound peers after handshake + init; listener in a fresh process, dialer in another;`,
  );
  out.push(`##    ${m.warmup} peers connected and dropped before the baseline; ${m.rounds.length} rounds per side, medians)`);
  out.push('');
  const row = (label: string, k: keyof PerPeer): string[] => [
    label,
    fmt(m.anode[k], 1),
    fmt(m.tcp[k], 1),
    fmt(m.anode[k] - m.tcp[k], 1),
    // A ratio to (nearly) nothing says nothing.
    m.tcp[k] >= 0.1 ? fmt(m.ratio[k], 1) : '–',
  ];
  out.push(
    table(
      ['KiB per peer', 'anode PeerManager', 'plain TCP socket', 'anode adds', 'ratio'],
      [
        row('rss', 'rss'),
        row('heapTotal (V8 committed)', 'heapTotal'),
        row('heapUsed', 'heapUsed'),
        row('external (incl. arrayBuffers)', 'external'),
        row('heapUsed + external', 'js'),
      ],
    ),
  );
  out.push('');
  out.push(
    `per round, rss / heapUsed+external: anode ${m.rounds.map((r) => `${fmt(r.anode.rss, 1)}/${fmt(r.anode.js, 1)}`).join(', ')}; ` +
      `tcp ${m.rounds.map((r) => `${fmt(r.tcp.rss, 1)}/${fmt(r.tcp.js, 1)}`).join(', ')}`,
  );
  out.push(`anode: ${m.peers} peers connected (handshake + init + store write) in ${m.rounds.map((r) => fmt(r.anodeConnectSeconds, 1)).join(', ')} s`);
  const ok = m.anode.rss <= GOALS.memoryKiB && m.anode.js <= GOALS.memoryKiB;
  out.push(`goal ≤ ${GOALS.memoryKiB} KiB per peer (rss ${fmt(m.anode.rss, 1)}, heapUsed + external ${fmt(m.anode.js, 1)}): ${verdict(ok)}`);
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const opts: RunOptions = { rounds: args.rounds, batchMs: args.batchMs, warmupMs: 300 };
  const started = Date.now();
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
    loadavgBefore: loadavg(),
    options: { rounds: args.rounds, batchMs: args.batchMs, peers: args.peers, memoryRounds: args.memoryRounds, memoryWarmup: args.memoryWarmup ?? args.peers },
  };
  const report: string[] = [];
  let failed = false;

  if (args.only.has('handshake')) {
    progress('handshake …');
    gc();
    const h = await benchHandshake(opts);
    results.handshake = h;
    report.push(...printHandshake(h), '');
  }
  if (args.only.has('aead')) {
    progress('aead …');
    gc();
    const a = await benchAead(opts, progress);
    results.aead = a;
    report.push(...printAead(a), '');
  }
  if (args.only.has('transport')) {
    progress('transport …');
    gc();
    const rows = await benchTransport(opts);
    results.transport = rows;
    report.push(...printTransport(rows), '');
  }
  if (args.only.has('rss')) {
    progress('rss …');
    const r = await benchRss({ rounds: args.rssRounds, settleSeconds: args.rssSettle, progress });
    results.rss = r;
    report.push(...printRss(r), '');
  }
  if (args.only.has('memory')) {
    const limit = openFilesLimit();
    const need = fdsNeeded(args.peers);
    if (limit !== undefined && limit < need) {
      const msg =
        `## 3. Memory per idle peer: SKIPPED — the open-files limit is ${limit} (ulimit -n), and ${args.peers} peers need ` +
        `about ${need} in the listener and as many in the dialer. Raise it (e.g. \`ulimit -n 4096\`) or pass --peers.`;
      console.error(`[bench] ERROR: ${msg}`);
      report.push(msg, '');
      results.memory = { skipped: msg };
      failed = true;
    } else {
      const m = await benchMemory({ peers: args.peers, warmup: args.memoryWarmup ?? args.peers, rounds: args.memoryRounds, progress });
      results.memory = m;
      report.push(...printMemory(m), '');
    }
  }

  if (args.only.has('tower')) {
    progress('tower …');
    gc();
    const t = await benchTower({ ...opts, hints: [1_000_000], progress });
    results.tower = t;
    report.push(...printTower(t), '');
  }

  if (args.only.has('wtclient')) {
    progress('wtclient …');
    gc();
    const w = await benchWtClient({ ...opts, progress });
    results.wtclient = w;
    report.push(...printWtClient(w), '');
  }

  if (args.only.has('rpc')) {
    progress('rpc …');
    gc();
    const r = await benchRpc({ ...opts, peers: args.peers, progress });
    results.rpc = r;
    report.push(...printRpc(r), '');
  }

  if (args.only.has('channel')) {
    progress('channel …');
    gc();
    const c = await benchChannel({ ...opts, progress });
    results.channel = c;
    report.push(...printChannel(c), '');
  }

  if (args.only.has('onion')) {
    progress('onion …');
    gc();
    const o = await benchOnion(opts);
    results.onion = o;
    report.push(...printOnion(o), '');
  }
  if (args.only.has('onchain')) {
    progress('onchain …');
    gc();
    const o = await benchOnchain({ rounds: Math.min(args.rounds, 5) });
    results.onchain = o;
    report.push(...printOnchain(o), '');
  }
  if (args.only.has('postgres')) {
    progress('postgres …');
    gc();
    const p = await benchPostgres({ ...opts, progress });
    results.postgres = p;
    report.push(...printPostgres(p), '');
  }

  if (args.only.has('payment')) {
    progress('payment …');
    gc();
    results.payment = await benchPayment({ ...opts, progress });
    report.push(...printPayment(results.payment as Awaited<ReturnType<typeof benchPayment>>), '');
  }

  if (args.only.has('gossip')) {
    progress('gossip …');
    gc();
    const g = await benchGossip({ progress });
    results.gossip = g;
    report.push(...printGossip(g), '');
  }

  if (args.only.has('routing')) {
    progress('routing …');
    gc();
    results.routing = benchRouting({ progress });
    report.push(...printRouting(results.routing as ReturnType<typeof benchRouting>), '');
  }

  if (args.only.has('gossip-sync')) {
    progress('gossip-sync …');
    gc();
    const g = await benchGossipSync({ channels: args.channels, progress });
    results.gossipSync = g;
    report.push(...printGossipSync(g), '');
  }

  results.loadavgAfter = loadavg();
  results.seconds = (Date.now() - started) / 1000;
  const header = `anode bench — ${results.date} — Node ${process.version}, ${results.cpu}, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; ${args.rounds} rounds of ~${args.batchMs} ms, ratios are medians of per-round ratios`;
  console.log([header, '', ...report].join('\n'));
  const file = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`results: ${file} (${fmt(results.seconds as number, 0)} s)`);
  if (failed) process.exitCode = 1;
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
