/**
 * lightningd's log book: the node's recent log entries kept in memory, whatever level is printed, so
 * `getlog` and `listpeers <id> <level>` can show them. Entries come from pino's JSON lines; one about a
 * peer carries its `peer` binding. When the entries' text outgrows `bytesMax` the oldest are dropped
 * (counted, and shown as skipped).
 */

/** lightningd's log levels, lowest first (`io` is the wire bytes; anode logs none). */
export const CLN_LOG_LEVELS = ['io', 'trace', 'debug', 'info', 'unusual', 'broken'] as const;
export type ClnLogLevel = (typeof CLN_LOG_LEVELS)[number];

/** An entry as lightningd's JSON shows it. */
export type ClnLogItem =
  | { type: 'SKIPPED'; num_skipped: number }
  | { type: 'BROKEN' | 'UNUSUAL' | 'INFO' | 'DEBUG' | 'TRACE'; time: string; node_id?: string; source: string; log: string };

interface Entry {
  /** Nanoseconds since the book was created. */
  at: bigint;
  /** pino's numeric level. */
  level: number;
  source: string;
  peer?: string;
  text: string;
  bytes: number;
}

/** The lowest pino level of each lightningd level (io and trace are both pino's trace). */
const PINO_FLOOR: Readonly<Record<ClnLogLevel, number>> = { io: 10, trace: 10, debug: 20, info: 30, unusual: 40, broken: 50 };

function clnType(level: number): Exclude<ClnLogItem['type'], 'SKIPPED'> {
  if (level >= 50) return 'BROKEN';
  if (level >= 40) return 'UNUSUAL';
  if (level >= 30) return 'INFO';
  if (level >= 20) return 'DEBUG';
  return 'TRACE';
}

/** Keys of a pino line that are not the entry's own fields. */
const ENVELOPE = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'component', 'module', 'peer']);

/** lightningd keeps 10 MiB of log text by default (its ring's `bytes_max`). */
export const DEFAULT_LOG_BOOK_BYTES = 10 * 1024 * 1024;

export class LogBook {
  /** Unix time of creation, nanoseconds. */
  readonly createdAtNs: bigint;
  readonly #start: bigint;
  readonly #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;
  /** Entries dropped to stay under bytesMax. */
  #dropped = 0;

  constructor(readonly bytesMax: number = DEFAULT_LOG_BOOK_BYTES) {
    this.#start = process.hrtime.bigint();
    this.createdAtNs = BigInt(Date.now()) * 1_000_000n;
  }

  get bytesUsed(): number {
    return this.#bytes;
  }

  /** lightningd's `created_at`: Unix seconds with 9 decimals. */
  get createdAt(): string {
    return seconds(this.createdAtNs);
  }

  /** Records one pino JSON line (`level` is its numeric level, already read by the caller). */
  add(line: string, level: number): void {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const extra = Object.entries(o).filter(([k]) => !ENVELOPE.has(k));
    const msg = typeof o.msg === 'string' ? o.msg : '';
    const text = extra.length ? `${msg} ${JSON.stringify(Object.fromEntries(extra))}` : msg;
    const source = typeof o.component === 'string' ? o.component : typeof o.module === 'string' ? o.module : 'anode';
    const peer = typeof o.peer === 'string' && /^0[23][0-9a-f]{64}$/.test(o.peer) ? o.peer : undefined;
    const bytes = text.length + source.length + (peer ? 66 : 0);
    this.#entries.push({ at: process.hrtime.bigint() - this.#start, level, source, ...(peer ? { peer } : {}), text, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.bytesMax && this.#head < this.#entries.length) {
      this.#bytes -= this.#entries[this.#head]!.bytes;
      this.#head++;
      this.#dropped++;
    }
    // Compact now and then rather than shifting the array on every drop.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /**
   * The entries at `level` or above (about `peer` only, when given), oldest first, as lightningd lists
   * them: a run of entries left out (below the level, about another peer, or dropped) is one SKIPPED item.
   */
  list(level: ClnLogLevel, peer?: string): ClnLogItem[] {
    const floor = PINO_FLOOR[level];
    const out: ClnLogItem[] = [];
    let skipped = this.#dropped;
    for (let i = this.#head; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (e.level < floor || (peer !== undefined && e.peer !== peer)) {
        skipped++;
        continue;
      }
      if (skipped) out.push({ type: 'SKIPPED', num_skipped: skipped });
      skipped = 0;
      out.push({ type: clnType(e.level), time: seconds(e.at), ...(e.peer ? { node_id: e.peer } : {}), source: e.source, log: e.text });
    }
    if (skipped) out.push({ type: 'SKIPPED', num_skipped: skipped });
    return out;
  }
}

/** Nanoseconds as lightningd prints times: seconds with 9 decimals. */
function seconds(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}
