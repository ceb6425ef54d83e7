/**
 * lightningd's log book: the node's recent log entries kept in memory, whatever level is printed, so
 * `getlog` and `listpeers <id> <level>` can show them. Entries are pino's JSON lines, kept as written and
 * read when listed; one about a peer carries its `peer` binding. When the lines outgrow `bytesMax` the
 * oldest are dropped (counted, and shown as skipped).
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
  /** The pino JSON line, read only when listed (logging stays cheap). */
  line: string;
  read?: { source: string; peer?: string; text: string };
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
    this.#entries.push({ at: process.hrtime.bigint() - this.#start, level, line });
    this.#bytes += line.length;
    while (this.#bytes > this.bytesMax && this.#head < this.#entries.length) {
      this.#bytes -= this.#entries[this.#head]!.line.length;
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
      const r = e.level < floor ? undefined : (e.read ??= read(e.line));
      if (!r || (peer !== undefined && r.peer !== peer)) {
        skipped++;
        continue;
      }
      if (skipped) out.push({ type: 'SKIPPED', num_skipped: skipped });
      skipped = 0;
      out.push({ type: clnType(e.level), time: seconds(e.at), ...(r.peer ? { node_id: r.peer } : {}), source: r.source, log: r.text });
    }
    if (skipped) out.push({ type: 'SKIPPED', num_skipped: skipped });
    return out;
  }
}

/** An entry's source, peer and text from its pino line. */
function read(line: string): { source: string; peer?: string; text: string } {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { source: 'anode', text: line };
  }
  const extra = Object.entries(o).filter(([k]) => !ENVELOPE.has(k));
  const msg = typeof o.msg === 'string' ? o.msg : '';
  const text = extra.length ? `${msg} ${JSON.stringify(Object.fromEntries(extra))}` : msg;
  const source = typeof o.component === 'string' ? o.component : typeof o.module === 'string' ? o.module : 'anode';
  const peer = typeof o.peer === 'string' && /^0[23][0-9a-f]{64}$/.test(o.peer) ? o.peer : undefined;
  return { source, ...(peer ? { peer } : {}), text };
}

/** Nanoseconds as lightningd prints times: seconds with 9 decimals. */
function seconds(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}
