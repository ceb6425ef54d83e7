import { createRequire } from 'node:module';
import { pino, type Bindings, type ChildLoggerOptions, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogLevel } from './config.js';
import { LogBook } from './log-book.js';

export { LogBook, CLN_LOG_LEVELS, type ClnLogLevel, type ClnLogItem } from './log-book.js';

/** What may be printed: the option's levels, and LND's `critical` (pino's fatal) and `off` (silent) from DebugLevel. */
export type PrintLevel = LogLevel | 'fatal' | 'silent';

/** pino's numeric levels. */
const LEVEL_VALUES: Readonly<Record<PrintLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** What the running node may change of its logging: the printed level (setconfig log-level) and its log book. */
export interface LogControl {
  readonly book: LogBook;
  /** The level printed to stdout (the log book keeps every level whatever this is). */
  printLevel: PrintLevel;
}

const CONTROLS = new WeakMap<Logger, LogControl>();

/**
 * The printed level as LND's DebugLevel reads and sets it (pino's names): through the level switch of a
 * logger made by {@link createLogger} (its log book keeps every level), else pino's own level.
 */
export function levelSwitch(log: Logger): { get(): string; set(level: string): void } {
  const c = CONTROLS.get(log);
  return {
    get: () => c?.printLevel ?? log.level,
    set: (level) => {
      if (!(level in LEVEL_VALUES)) throw new Error(`logger: unknown level ${level}`);
      if (c) c.printLevel = level as PrintLevel;
      else log.level = level;
    },
  };
}

/** The log book and level switch of a logger made by {@link createLogger} (undefined for any other logger). */
export function logControl(log: Logger): LogControl | undefined {
  return CONTROLS.get(log);
}

/** pino-pretty and its dependencies are loaded only for a terminal (RSS at rest, docs/performance.md). */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/**
 * Structured logs with pino: human-readable lines when stdout is a terminal, JSON lines otherwise
 * (for log collectors and for tests that read the daemon's output). Never log secrets.
 *
 * Every entry, whatever the printed level, also goes to a {@link LogBook} (lightningd's log ring), which
 * `getlog` and `listpeers <id> <level>` read; the printed level can change while running. A child
 * logger never repeats a key its parent already has (`"component":"lookout"` twice is not JSON one can
 * rely on): an equal binding is dropped, a different value replaces the parent's.
 */
export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: NodeJS.WritableStream; book?: LogBook } = {}): Logger {
  const usePretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const out: { write(s: string): unknown } = usePretty
    ? loadPretty()({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', destination: opts.destination ?? 1, sync: true })
    : (opts.destination ?? pino.destination({ dest: 1, sync: true }));
  const book = opts.book ?? new LogBook();
  const control: LogControl = { book, printLevel: level };
  const tee = {
    write(line: string): void {
      const m = /^\{"level":(\d+)/.exec(line);
      const value = m ? Number(m[1]) : LEVEL_VALUES.info;
      if (value >= LEVEL_VALUES[control.printLevel]) out.write(line);
      book.add(line, value);
    },
  };
  // The logger itself passes everything: the tee decides what is printed, the book keeps it all. The
  // configuration logged at start never carries the backend's password (nor the command line naming it).
  const root = pino({ level: 'trace', base: { name: 'anode' }, redact: { paths: ['config.chain.password', 'config.argv'], censor: '[redacted]' } }, tee);
  guardChildren(root);
  CONTROLS.set(root, control);
  return root;
}

type ChildFn = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;

/**
 * Replaces `child` on the root with one that drops bindings the parent already has, so no key repeats on
 * a line. pino makes each child with Object.create(parent): every descendant inherits the replacement.
 */
function guardChildren(root: Logger): void {
  const original = root.child as unknown as ChildFn;
  const child: ChildFn = function (this: Logger, bindings, options) {
    const have = this.bindings();
    const fresh: Bindings = {};
    let clash = false;
    for (const [k, v] of Object.entries(bindings)) {
      if (!(k in have)) fresh[k] = v;
      else if (have[k] !== v) clash = true;
    }
    if (!clash) return original.call(this, fresh, options);
    // Another value for a key the parent has: the bindings rebuilt once from the root, the child's value last.
    const merged: Bindings = { ...have, ...bindings };
    for (const k of Object.keys(root.bindings())) delete merged[k];
    const made = original.call(root, merged, options);
    made.level = this.level;
    return made;
  };
  root.child = child as unknown as Logger['child'];
}
