import { accessSync, chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Start-up failures as the user reads them: one line, `cannot <what>: <reason>` (the daemon prints it
 * after `anode: `, exits non-zero, and shows a stack only at --log-level=debug); and the checks that run
 * before any listener opens, so that a data dir or database anode cannot write stops the start at once
 * instead of after peers and RPC clients were let in.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENOSPC: 'no space left on device',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
};

/** A failure's reason in one line: the errno's words and code when there is one, else the message. */
export function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = String(e?.message ?? err).replace(/\s+/g, ' ').trim();
  const code = e?.code && ERRNO_TEXT[e.code] ? e.code : Object.keys(ERRNO_TEXT).find((c) => text.includes(c));
  return code ? `${ERRNO_TEXT[code]} (${code})` : text;
}

/** Runs a start-up step; its failure becomes `cannot <what>: <reason>` (the original kept as `cause`). */
export async function step<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof StartupError) throw err;
    // A listener names the address that failed (`… cannot listen on HOST:PORT: …`); so does the line,
    // the errno first: `cannot listen on HOST:PORT: EADDRINUSE: address already in use (<what>)`.
    const at = /cannot listen on (\S+?):? /.exec(String((err as Error)?.message))?.[1];
    if (at) {
      const r = reason(err);
      const m = /^(.*) \(([A-Z]+)\)$/.exec(r);
      throw new StartupError(`cannot listen on ${at}: ${m ? `${m[2]}: ${m[1]}` : r} (${what})`, { cause: err });
    }
    throw new StartupError(`cannot ${what}: ${reason(err)}`, { cause: err });
  }
}

/** Creates the data dir (0700) if needed and proves it writable by writing and removing a file in it. */
export function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.write-test-${process.pid}`);
    const fd = openSync(probe, 'w', 0o600);
    try {
      writeSync(fd, 'ok');
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (err) {
    throw new StartupError(`cannot write to the data directory ${dir}: ${reason(err)}`, { cause: err });
  }
}

/**
 * A SQLite database file anode will write: an existing one (and its -wal/-shm) must be writable and is
 * made mode 0600; a new one is created empty with mode 0600 before SQLite opens it (SQLite gives its
 * -wal and -shm files the database's mode), so no other user can ever read it.
 */
export function prepareDatabaseFile(path: string): void {
  try {
    if (!existsSync(path)) {
      closeSync(openSync(path, 'wx', 0o600));
      return;
    }
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      if (!existsSync(f)) continue;
      accessSync(f, constants.R_OK | constants.W_OK);
      if ((statSync(f).mode & 0o777) !== 0o600) tightenMode(f);
    }
  } catch (err) {
    throw new StartupError(`cannot write the database ${path}: ${reason(err)}`, { cause: err });
  }
}

/** chmod 600 where we may (a file another user owns keeps its mode: it is theirs to fix). */
function tightenMode(f: string): void {
  try {
    chmodSync(f, 0o600);
  } catch {
    /* not ours */
  }
}

/** The optional `native/trim` addon (package `anode-malloc-trim`): glibc's `malloc_trim(0)`. */
export interface MallocTrim {
  /** Returns to the OS what malloc holds free; true when something was released. */
  trim(): boolean;
  /** False on a C library without malloc_trim (there trim() does nothing). */
  supported: boolean;
}

/**
 * Loads the trim addon: the installed package, else the repository's own build (a checkout built before
 * `npm install` linked it). An optional dependency whose build failed is not an error: the node runs
 * without the trim, and says why at debug level.
 */
export function loadMallocTrim(): MallocTrim | { error: string } {
  const require = createRequire(import.meta.url);
  let first: unknown;
  for (const id of ['anode-malloc-trim', '../../../native/trim/index.js']) {
    try {
      return require(id) as MallocTrim;
    } catch (err) {
      first ??= err;
    }
  }
  return { error: reason(first) };
}

/** When the trim runs after start-up (ms), then how often while the node runs. */
export const TRIM_AFTER_MS: readonly number[] = [2_000, 20_000];
export const TRIM_EVERY_MS = 60_000;

/**
 * Gives back, after start-up and then once a minute, the memory malloc keeps free (docs/performance.md,
 * "RSS at rest": ~8 MiB after a start, mostly in the per-thread arenas). The timers are unref'd (they never
 * keep the process alive); the returned function stops them.
 */
export function trimMallocAtRest(trim: MallocTrim, afterMs: readonly number[] = TRIM_AFTER_MS, everyMs = TRIM_EVERY_MS): () => void {
  const timers: NodeJS.Timeout[] = afterMs.map((ms) => setTimeout(() => trim.trim(), ms).unref());
  timers.push(setInterval(() => trim.trim(), everyMs).unref());
  return () => timers.forEach((t) => clearTimeout(t));
}
