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
      throw new Error(`'${hidePassword(value)}' is not a valid postgres:// URL`);
    }
    if (!url.hostname && !url.searchParams.get('host')) throw new Error(`'${hidePassword(value)}' names no host`);
    return value;
  }
  const m = /^sqlite3:\/\/(.+)$/.exec(value);
  if (!m) throw new Error(`'${hidePassword(value)}' is neither postgres://user:pass@host:port/db nor sqlite3://path`);
  return `sqlite3://${isAbsolute(m[1]!) ? m[1]! : resolve(dataDir, m[1]!)}`;
}

/** A mistyped URL's password (from the first `:` after the scheme to the last `@`) hidden; one line. */
function hidePassword(value: string): string {
  const scheme = /^[a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
  const rest = value.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  const hidden = at > 0 && colon >= 0 && colon < at ? `${scheme}${rest.slice(0, colon + 1)}***${rest.slice(at)}` : value;
  return hidden.replace(/[\r\n]+/g, ' ');
}
