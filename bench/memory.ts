/**
 * Benchmark 3: memory per idle connected peer. Each measurement is a fresh listener process
 * (listener.ts, with --expose-gc) whose dialer is yet another child, so only the accepting side is
 * counted. anode's PeerManager is measured against bare TCP connections, alternating order per round.
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median, iqrPct } from './harness.js';
import type { ListenerReport, MemorySample } from './listener.js';

export interface PerPeer {
  /** KiB per peer of resident set size. */
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** heapUsed + external (external already includes arrayBuffers). */
  js: number;
}

export interface MemoryRound {
  anode: PerPeer;
  tcp: PerPeer;
  anodeConnectSeconds: number;
}

export interface MemoryResult {
  peers: number;
  warmup: number;
  rounds: MemoryRound[];
  anode: PerPeer;
  tcp: PerPeer;
  /** Medians of per-round anode/tcp ratios. */
  ratio: PerPeer;
  anodeRssIqrPct: number;
}

/** The soft open-files limit, as the shell reports it (inherited by our children), or undefined. */
export function openFilesLimit(): number | undefined {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Infinity : Number(out);
  } catch {
    return undefined;
  }
}

/** Each of the listener and the dialer holds one fd per connection, plus ~50 of its own. */
export function fdsNeeded(peers: number): number {
  return peers + 100;
}

function perPeer(r: ListenerReport): PerPeer {
  const d = (k: keyof MemorySample): number => (r.after[k] - r.before[k]) / 1024 / r.peers;
  return { rss: d('rss'), heapTotal: d('heapTotal'), heapUsed: d('heapUsed'), external: d('external'), js: d('heapUsed') + d('external') };
}

function runListener(mode: 'anode' | 'tcp', peers: number, warmup: number): Promise<ListenerReport> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./listener.js', import.meta.url)), [mode, String(peers), String(warmup)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: ListenerReport | undefined;
    child.on('message', (m: ListenerReport) => (report = m));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (report && code === 0) resolve(report);
      else reject(new Error(`bench: ${mode} listener exited with code ${code}${report ? '' : ' before reporting'}`));
    });
  });
}

const medianOf = (rows: PerPeer[], k: keyof PerPeer): number => median(rows.map((r) => r[k]));

export async function benchMemory(opts: { peers: number; warmup: number; rounds: number; progress: (s: string) => void }): Promise<MemoryResult> {
  const rounds: MemoryRound[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    const order: Array<'anode' | 'tcp'> = i % 2 === 0 ? ['anode', 'tcp'] : ['tcp', 'anode'];
    const got: Partial<Record<'anode' | 'tcp', ListenerReport>> = {};
    for (const mode of order) {
      opts.progress(`memory round ${i + 1}/${opts.rounds}: ${mode}, ${opts.peers} peers`);
      got[mode] = await runListener(mode, opts.peers, opts.warmup);
    }
    rounds.push({ anode: perPeer(got.anode!), tcp: perPeer(got.tcp!), anodeConnectSeconds: got.anode!.connectSeconds });
  }
  const keys: Array<keyof PerPeer> = ['rss', 'heapTotal', 'heapUsed', 'external', 'js'];
  const pick = (side: 'anode' | 'tcp'): PerPeer =>
    Object.fromEntries(keys.map((k) => [k, medianOf(rounds.map((r) => r[side]), k)])) as unknown as PerPeer;
  const ratio = Object.fromEntries(keys.map((k) => [k, median(rounds.map((r) => r.anode[k] / r.tcp[k]))])) as unknown as PerPeer;
  return {
    peers: opts.peers,
    warmup: opts.warmup,
    rounds,
    anode: pick('anode'),
    tcp: pick('tcp'),
    ratio,
    anodeRssIqrPct: iqrPct(rounds.map((r) => r.anode.rss)),
  };
}
