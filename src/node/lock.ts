import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';

export class LockError extends Error {
  override name = 'LockError';
}

/**
 * One daemon per data directory. The lock is an exclusive SQLite transaction on `anode.lock`, held
 * for the life of the process: the kernel releases it when the process dies, even by kill -9, so a
 * crash never leaves a stale lock behind. `anode.pid` only serves the error message.
 */
export class DataDirLock {
  private constructor(private readonly db: BetterSqlite3.Database) {}

  static acquire(dataDir: string): DataDirLock {
    const db = new BetterSqlite3(join(dataDir, 'anode.lock'), { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
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
    return new DataDirLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
