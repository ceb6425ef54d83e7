/**
 * Timing harness shared by the benchmarks: warm up, calibrate each side to a target batch duration,
 * then run interleaved rounds (candidate and reference alternating, start position rotating) and
 * report medians, IQR and the median of per-round ratios. Machines here are shared and noisy, so the
 * ratio taken within a round is the figure to trust, not the absolute rate.
 */
import { performance } from 'node:perf_hooks';

/** Something to time: `run(n)` performs n operations (sync, or async for socket benchmarks). */
export interface Op {
  name: string;
  run(n: number): void | Promise<void>;
}

export interface RunOptions {
  rounds: number;
  /** Target duration of one timed batch. */
  batchMs: number;
  /** Untimed warm-up per op before calibration. */
  warmupMs: number;
}

export interface Stats {
  name: string;
  /** Operations per timed batch, after calibration. */
  batch: number;
  /** ops/s of each round. */
  rates: number[];
  median: number;
  /** Interquartile range as a percentage of the median. */
  iqrPct: number;
}

export interface Comparison {
  candidate: Stats;
  reference: Stats;
  /** candidate rate / reference rate, per round. */
  ratios: number[];
  ratio: number;
  ratioIqrPct: number;
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(xs: number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

export function iqrPct(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = quantile(s, 0.5);
  return m === 0 ? 0 : ((quantile(s, 0.75) - quantile(s, 0.25)) / Math.abs(m)) * 100;
}

export function stats(name: string, batch: number, rates: number[]): Stats {
  return { name, batch, rates, median: median(rates), iqrPct: iqrPct(rates) };
}

/** Seconds taken by `op.run(n)`; awaits only when the op is asynchronous. */
export async function timeOnce(op: Op, n: number): Promise<number> {
  const t0 = performance.now();
  const r = op.run(n);
  if (r) await r;
  return (performance.now() - t0) / 1000;
}

async function warmup(op: Op, ms: number): Promise<void> {
  const end = performance.now() + ms;
  let n = 1;
  while (performance.now() < end) {
    const t = await timeOnce(op, n);
    if (t < 0.02) n *= 2;
  }
}

/** Batch size for which one run takes about `targetMs`. */
export async function calibrate(op: Op, targetMs: number): Promise<number> {
  let n = 1;
  for (;;) {
    const t = await timeOnce(op, n);
    if (t * 1000 >= targetMs / 8 || n >= 1 << 30) {
      // Measure once more at the extrapolated size, so a cold first run does not skew the estimate.
      const m = Math.max(1, Math.round((n * targetMs) / 1000 / t));
      const t2 = await timeOnce(op, m);
      return Math.max(1, Math.round((m * targetMs) / 1000 / t2));
    }
    n *= t * 1000 < targetMs / 100 ? 8 : 2;
  }
}

/** Interleaved rounds of candidate vs reference. */
export async function compare(candidate: Op, reference: Op, opts: RunOptions): Promise<Comparison> {
  await warmup(candidate, opts.warmupMs);
  await warmup(reference, opts.warmupMs);
  const nc = await calibrate(candidate, opts.batchMs);
  const nr = await calibrate(reference, opts.batchMs);
  const rc: number[] = [];
  const rr: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    let c = 0;
    let r = 0;
    // Alternate which side goes first, so a slow drift or a burst does not always hit the same one.
    if (round % 2 === 0) {
      c = nc / (await timeOnce(candidate, nc));
      r = nr / (await timeOnce(reference, nr));
    } else {
      r = nr / (await timeOnce(reference, nr));
      c = nc / (await timeOnce(candidate, nc));
    }
    rc.push(c);
    rr.push(r);
    ratios.push(c / r);
  }
  return {
    candidate: stats(candidate.name, nc, rc),
    reference: stats(reference.name, nr, rr),
    ratios,
    ratio: median(ratios),
    ratioIqrPct: iqrPct(ratios),
  };
}

// ---- output --------------------------------------------------------------------------------------

export function fmtInt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.round(x).toLocaleString('en-US');
}

export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(digits);
}

export function fmtPct(x: number): string {
  return `${x.toFixed(0)}%`;
}

/** A plain-text table: the first `leftCols` columns left-aligned, the (numeric) rest right-aligned. */
export function table(headers: string[], rows: string[][], leftCols = 1): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** mulberry32: a small seeded PRNG, so a benchmark builds the same data and asks the same queries every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
