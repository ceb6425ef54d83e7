/**
 * Benchmark: resident memory of a started node at rest. `node dist/src/bin/anode.js` with default options
 * (only the ports moved to free ones and the chain backend pointed at a closed port, so nothing arrives),
 * first on a fresh data directory (seed, database, TLS certificate and macaroons created), then restarted
 * on the same directory. RSS is read from /proc every second from the "anode started" line on; the table
 * gives it 10 s after start and at the end of the settle time. Start-up grows V8's young generation (~30 MB)
 * unless the bin's `--optimize-for-size` holds it at 1 MB; V8's default memory reducer gives it back only
 * after a minute or more idle, if at all. References, measured the same way at the same time: a first start
 * with V8's default flags (`ANODE_V8_FLAGS=''`: what the bin's flags buy, Turbofan off during start-up
 * included) and an empty Node process
 * (`setInterval` only), the floor below which no Node program gets. `ANODE_BENCH_RSS_AGAINST=<other-root>`
 * (a root holding another build's `dist/`, as for `bench/versus.ts`) adds that build's first start to
 * every round, alongside this build's: a before/after figure measured in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './harness.js';

const BIN = fileURLToPath(new URL('../src/bin/anode.js', import.meta.url));
const AGAINST = process.env.ANODE_BENCH_RSS_AGAINST;

export interface RssRow {
  name: string;
  /** MiB 10 s after start, one per round. */
  early: number[];
  /** MiB at the end of the settle time, one per round. */
  rounds: number[];
  median: number;
}

export interface RssResult {
  settleSeconds: number;
  rows: RssRow[];
  /** A first start without the bin's V8 flags: what they buy, measured in the same run. */
  defaults: RssRow;
  /** The empty Node process. */
  reference: RssRow;
}

/** VmRSS of a process, in MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`bench: no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  s.close();
  return port;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Starts the process, waits for `ready` on its stdout (or at once), reads RSS after 10 s and after `settleMs`, stops it. */
async function measure(args: string[], ready: RegExp | undefined, settleMs: number, env: NodeJS.ProcessEnv = process.env): Promise<[number, number]> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  try {
    let out = '';
    if (ready) {
      await new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer): void => {
          out += d.toString();
          if (ready.test(out)) resolve();
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => reject(new Error(`bench: process exited (${code}) before it was ready: ${out.slice(-400)}`)));
      });
    }
    child.stdout!.resume();
    child.stderr!.resume();
    const early = Math.min(EARLY_MS, settleMs);
    await new Promise((r) => setTimeout(r, early));
    const first = rssMiB(child.pid!);
    await new Promise((r) => setTimeout(r, settleMs - early));
    return [first, rssMiB(child.pid!)];
  } finally {
    await stop(child);
  }
}

const EARLY_MS = 10_000;
const row = (name: string, samples: Array<[number, number]>): RssRow => {
  const rounds = samples.map((x) => x[1]);
  return { name, early: samples.map((x) => x[0]), rounds, median: median(rounds) };
};

export async function benchRss(opts: { rounds: number; settleSeconds: number; progress: (s: string) => void }): Promise<RssResult> {
  const settleMs = opts.settleSeconds * 1000;
  const first: Array<[number, number]> = [];
  const again: Array<[number, number]> = [];
  const plain: Array<[number, number]> = [];
  const empty: Array<[number, number]> = [];
  const other: Array<[number, number]> = [];
  const args = async (dir: string, bin = BIN): Promise<string[]> => {
    const [p, rpc, rest, chain] = [await freePort(), await freePort(), await freePort(), await freePort()];
    return [bin, `--anode-dir=${dir}`, `--addr=127.0.0.1:${p}`, `--rpclisten=127.0.0.1:${rpc}`, `--restlisten=127.0.0.1:${rest}`, `--bitcoin-rpcport=${chain}`];
  };
  for (let i = 0; i < opts.rounds; i++) {
    opts.progress(`rss round ${i + 1}/${opts.rounds} (${opts.settleSeconds} s settle each)`);
    const dir = mkdtempSync(join(tmpdir(), 'anode-rss-'));
    const plainDir = mkdtempSync(join(tmpdir(), 'anode-rss-'));
    const otherDir = mkdtempSync(join(tmpdir(), 'anode-rss-'));
    try {
      const started = /anode started/;
      // The empty process and a first start with V8's default flags (ANODE_V8_FLAGS='', what the bin set
      // before) rest alongside the first start: all are idle; none disturbs the others.
      const [f, d, e, o] = await Promise.all([
        measure(await args(dir), started, settleMs),
        measure(await args(plainDir), started, settleMs, { ...process.env, ANODE_V8_FLAGS: '' }),
        measure(['-e', 'setInterval(() => {}, 1e9)'], undefined, settleMs),
        AGAINST ? measure(await args(otherDir, join(AGAINST, 'dist/src/bin/anode.js')), started, settleMs) : undefined,
      ]);
      first.push(f);
      plain.push(d);
      empty.push(e);
      if (o) other.push(o);
      again.push(await measure(await args(dir), started, settleMs));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(plainDir, { recursive: true, force: true });
      rmSync(otherDir, { recursive: true, force: true });
    }
  }
  return {
    settleSeconds: opts.settleSeconds,
    rows: [
      row('anode, first start (creates seed, database, TLS certificate, macaroons)', first),
      row('anode, restart on the same directory', again),
      ...(AGAINST ? [row(`other build (${AGAINST}), first start`, other)] : []),
    ],
    defaults: row(`anode, first start with V8's default flags (ANODE_V8_FLAGS='')`, plain),
    reference: row('empty Node process (setInterval only)', empty),
  };
}
