/**
 * The PostgreSQL side of the store: a `pg` pool behind Kysely's PostgresDialect, configured so that the
 * repositories see what they see on SQLite (64-bit integers as numbers, bytes as Buffers) and every
 * COMMIT is durable before it returns (`synchronous_commit = on`, whatever the server's default).
 */
import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { redactUrl } from './url.js';

const INT8_OID = 20;

/** int8 → number while it is exact, else bigint (no amount or time in the schema comes near 2^53). */
export function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format);
  },
} as unknown as pg.CustomTypesConfig;

export interface PostgresPool {
  pool: pg.Pool;
  /** A connection of its own (not from the pool), for session-level advisory locks. */
  connect(): Promise<pg.Client>;
}

/** A pool for `url` with the type parsers and session settings above; `max` connections. */
export function createPool(url: string, max: number): PostgresPool {
  const config: pg.PoolConfig = { connectionString: url, max, types, keepAlive: true };
  const pool = new pg.Pool(config);
  // Queued ahead of anything else on the new connection (pg runs a client's queries in order), so no
  // transaction commits under a server default of synchronous_commit=off. The URL's own `options`
  // (e.g. a search_path) stay untouched.
  // A connection that breaks must not take the process down, idle or checked out: the pool re-emits an
  // idle client's error (below), but a client that is lent out (inside a transaction, between two of
  // its queries) emits its own 'error' with no listener of the pool's, which would be an uncaught
  // exception. Its queries are rejected either way, and the pool drops a broken client on release.
  pool.on('connect', (c) => {
    c.on('error', () => undefined);
    void c.query('SET synchronous_commit = on').catch(() => undefined);
  });
  pool.on('error', () => undefined);
  return {
    pool,
    async connect() {
      const c = new pg.Client(config);
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
  };
}

/** Fails with one line naming the server (no password) if it cannot be reached. */
export async function checkConnection(p: PostgresPool, url: string, context: string): Promise<void> {
  try {
    const c = await p.pool.connect();
    c.release();
  } catch (err) {
    await p.pool.end().catch(() => undefined);
    throw new Error(`${context}: cannot connect to ${redactUrl(url)}: ${(err as Error).message}`);
  }
}

export function postgresKysely<S>(p: PostgresPool): Kysely<S> {
  return new Kysely<S>({ dialect: new PostgresDialect({ pool: p.pool }) });
}

/**
 * `blob`, the migrations' bytes type, as a domain over `bytea` (in the connection's schema), so one
 * migration text serves both backends. Idempotent, and safe when several processes start at once.
 */
export async function ensureBlobDomain(db: Kysely<unknown>): Promise<void> {
  await sql`DO $$ BEGIN
    IF to_regtype('blob') IS NULL THEN CREATE DOMAIN blob AS bytea; END IF;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`.execute(db);
}

/**
 * A session-level advisory lock on its own connection: held until `release()` or until the process
 * dies (the server ends the session and frees the lock). `null` when another session holds it. The
 * lock is `name` in the connection's schema (advisory locks are database-wide; two anode databases in
 * two schemas of one PostgreSQL database are two databases).
 */
export async function tryAdvisoryLock(p: PostgresPool, name: string): Promise<{ release(): Promise<void>; lost: Promise<void> } | null> {
  const client = await p.connect();
  let released = false;
  // The lock lives as long as this connection: if it breaks, the lock may already be someone else's.
  const lost = new Promise<void>((resolve) => {
    client.on('error', () => resolve());
    client.on('end', () => {
      if (!released) resolve();
    });
  });
  try {
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext(current_schema())) AS ok', [name]);
    if (!r.rows[0]?.ok) {
      await client.end();
      return null;
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return {
    lost,
    async release() {
      released = true;
      await client.end().catch(() => undefined);
    },
  };
}

/** Advisory lock names: one node per database; one lookout per tower database. */
export const NODE_LOCK = 'anode node';
export const LOOKOUT_LOCK = 'anode lookout';

/**
 * The schema the connection works in (the first of its search_path). Kysely's Migrator looks for its
 * tables in every schema unless told which, so a second anode database in another schema of the same
 * PostgreSQL database would see the first one's.
 */
export async function currentSchema(db: Kysely<unknown>): Promise<string> {
  const r = await sql<{ s: string | null }>`SELECT current_schema() AS s`.execute(db);
  const s = r.rows[0]?.s;
  if (!s) throw new Error('no schema in the search_path to create tables in');
  return s;
}
