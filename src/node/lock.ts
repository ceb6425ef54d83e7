import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lockFile } from '../store/file-lock.js';

export class LockError extends Error {
  override name = 'LockError';
}

/**
 * One daemon per data directory. The lock is held on `anode.lock` for the life of the process (see
 * store/file-lock.ts): the kernel releases it when the process dies, even by kill -9, so a crash never
 * leaves a stale lock behind. `anode.pid` only serves the error message. (On PostgreSQL the store adds
 * its own lock: one node per database.)
 */
export class DataDirLock {
  private constructor(private readonly lock: { release(): void }) {}

  static acquire(dataDir: string): DataDirLock {
    let lock: { release(): void };
    try {
      lock = lockFile(join(dataDir, 'anode.lock'));
    } catch (err) {
      let holder = '';
      try {
        holder = ` (pid ${readFileSync(join(dataDir, 'anode.pid'), 'utf8').trim()})`;
      } catch {
        /* no pid file */
      }
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new LockError(`another anode is already running on ${dataDir}${holder}`);
      }
      throw new LockError(`cannot lock ${dataDir}: ${(err as Error).message}`);
    }
    writeFileSync(join(dataDir, 'anode.pid'), `${process.pid}\n`);
    return new DataDirLock(lock);
  }

  release(): void {
    this.lock.release();
  }
}

/**
 * A node that lost its exclusive hold on its database (PostgreSQL: the lock's session ended — the server
 * restarted, the connection broke, an operator terminated it) stops: another node may already hold the
 * lock and be writing the same channels. It does not try to take the lock again — whatever happened
 * between the loss and a new lock is not in its memory — as LND's leader election, whose node exits when
 * its lease is lost. `stop` is called once, with the one line to log.
 */
export function onLockLost(lost: Promise<void> | undefined, database: string, stop: (line: string) => void): void {
  void lost?.then(() => stop(`lost the exclusive lock on the database ${database}: another node may hold it now; stopping`));
}
