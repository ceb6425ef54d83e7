/**
 * Which store backend a scenario file runs on. A scenario is written once; its PostgreSQL twin is a
 * file that runs it on PostgreSQL:
 *
 *   await runOn('postgres', 'the crash test', () => import('./crash.test.js'));
 *
 * The scenario asks `walletArgs(key)` for its nodes' `--wallet` (nothing on SQLite; on PostgreSQL a
 * database schema of its own per key, the same one again for the same key, so a restarted node finds
 * its data) and `towerLocation(key, sqlitePath)` for a tower's database. The file's database is dropped
 * after the scenario's own `after` hooks (its nodes and stores closed first).
 */
import { after } from 'node:test';
import { usePostgres, type SharedPostgres } from './postgres.js';

let backend: 'sqlite' | 'postgres' = 'sqlite';
let pg: SharedPostgres | undefined;
const locations = new Map<string, Promise<string>>();

export async function runOn(b: 'sqlite' | 'postgres', what: string, scenario: () => Promise<unknown>): Promise<void> {
  backend = b;
  const db = b === 'postgres' ? usePostgres(what, { dropAtEnd: false }) : undefined;
  pg = db;
  await scenario();
  // Registered after the scenario's hooks, so it runs after them.
  if (db) after(() => db.drop());
}

export function backendName(): 'sqlite' | 'postgres' {
  return backend;
}

/** For `describe(…, { skip })`: PostgreSQL missing (skipped loudly, or fatal under ANODE_REQUIRE_INTEROP=1). */
export function backendSkip(): string | false {
  return pg?.skip ?? false;
}

/** ` (postgres)` on PostgreSQL, for test names. */
export function backendSuffix(): string {
  return backend === 'sqlite' ? '' : ` (${backend})`;
}

function location(key: string): Promise<string> {
  let l = locations.get(key);
  if (!l) locations.set(key, (l = pg!.fresh()));
  return l;
}

/** The `--wallet` option for the node known as `key` (none on SQLite: the data directory's file). */
export async function walletArgs(key: string): Promise<string[]> {
  return backend === 'sqlite' ? [] : [`--wallet=${await location(key)}`];
}

/** The node store location for `key`: `sqlitePath` on SQLite. */
export async function storeLocation(key: string, sqlitePath: string): Promise<string> {
  return backend === 'sqlite' ? sqlitePath : location(key);
}
