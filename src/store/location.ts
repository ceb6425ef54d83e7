import { isAbsolute, resolve } from 'node:path';
import { isPostgresUrl } from './url.js';

/** The default SQLite files in the data directory: the node's, and the tower's (as LND's watchtower.db). */
export const DATABASE_FILE = 'anode.sqlite3';
export const TOWER_DATABASE_FILE = 'watchtower.sqlite3';

/**
 * Where a database lives, as lightningd's `--wallet` names it: `postgres://user:pass@host:port/db`
 * (`postgresql://` too) or `sqlite3://path` (a relative path is under `dataDir`). Returns the canonical
 * form (`sqlite3://` with an absolute path); `undefined` gives `defaultFile` in `dataDir`.
 */
export function resolveStoreLocation(value: string | undefined, dataDir: string, defaultFile: string): string {
  if (value === undefined || value === '') return `sqlite3://${resolve(dataDir, defaultFile)}`;
  if (isPostgresUrl(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`'${value.replace(/:[^:@/]*@/, ':***@')}' is not a valid postgres:// URL`);
    }
    if (!url.hostname && !url.searchParams.get('host')) throw new Error(`'${value.replace(/:[^:@/]*@/, ':***@')}' names no host`);
    return value;
  }
  const m = /^sqlite3:\/\/(.+)$/.exec(value);
  if (!m) throw new Error(`'${value}' is neither postgres://user:pass@host:port/db nor sqlite3://path`);
  return `sqlite3://${isAbsolute(m[1]!) ? m[1]! : resolve(dataDir, m[1]!)}`;
}
