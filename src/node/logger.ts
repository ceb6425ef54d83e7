import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from './config.js';

/**
 * Structured logs with pino: human-readable lines when stdout is a terminal, JSON lines otherwise
 * (for log collectors and for tests that read the daemon's output). Never log secrets.
 */
export function createLogger(level: LogLevel, opts: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const usePretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level, base: { name: 'anode' } };
  if (usePretty) {
    return pino(base, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name', destination: opts.destination ?? 1, sync: true }));
  }
  return pino(base, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}
