/**
 * The repository suite runs on both backends: each test file declares its tests once, inside
 * `forEachBackend`, and gets a fresh database location per call of `location()` — an SQLite file, or a
 * new schema in this file's PostgreSQL database. Open it with `openStore`; reopening the same location
 * finds the same data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { usePostgres } from '../harness/postgres.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty database location (`sqlite3://…` or `postgres://…`). */
  location(): Promise<string>;
}

export function forEachBackend(what: string, body: (backend: Backend) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'anode-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  describe(`${what} (sqlite)`, () => body({ name: 'sqlite', location: async () => `sqlite3://${join(dir, `db${++files}.sqlite3`)}` }));
  const pg = usePostgres(what);
  describe(`${what} (postgres)`, { skip: pg.skip }, () => body({ name: 'postgres', location: () => pg.fresh() }));
}

/**
 * `it` for a test that only means something on PostgreSQL (several processes on one database, advisory
 * locks): registered in the PostgreSQL run of a shared suite, absent from the SQLite one (not skipped).
 */
export function postgresOnly(backend: string): (name: string, fn: () => Promise<void>) => void {
  return (name, fn) => {
    if (backend === 'postgres') it(name, fn);
  };
}
