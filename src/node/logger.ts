import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogLevel } from './config.js';

/** pino-pretty and its dependencies are loaded only for a terminal (RSS at rest, docs/performance.md). */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/**
 * Structured logs with pino: human-readable lines when stdout is a terminal, JSON lines otherwise
 * (for log collectors and for tests that read the daemon's output). Never log secrets.
 */
export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const usePretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level, base: { name: 'anode' } };
  if (usePretty) {
    return pino(base, loadPretty()({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', destination: opts.destination ?? 1, sync: true }));
  }
  return pino(base, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}
