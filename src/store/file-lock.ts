import BetterSqlite3 from 'better-sqlite3';

/**
 * An exclusive lock on a file, held for the life of the process: an exclusive SQLite transaction on it.
 * The kernel releases it when the process dies, even by kill -9, so a crash never leaves a stale lock.
 * Throws `{ code: 'SQLITE_BUSY' }` when another process holds it.
 */
export function lockFile(path: string): { release(): void } {
  const db = new BetterSqlite3(path, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    release() {
      if (db.open) db.close();
    },
  };
}
