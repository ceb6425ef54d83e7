/**
 * PostgreSQL for tests. `.ci/run` starts one cluster for the whole run (scripts/postgres-cluster.sh) and
 * exports its URL as ANODE_TEST_POSTGRES; each test file gets a database of its own (created on first
 * use, dropped at the end), and each `fresh()` call a schema of its own in it (cheap, so every test can
 * start empty). Without ANODE_TEST_POSTGRES the tests skip with a printed reason, or fail under
 * ANODE_REQUIRE_INTEROP=1.
 *
 *   const pg = usePostgres('the store');
 *   describe('…', { skip: pg.skip }, () => { it('…', async () => { const url = await pg.fresh(); … }) });
 */
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { interopGate } from '../interop/adapter.js';

export interface SharedPostgres {
  /** For `describe(…, { skip })`. */
  skip: string | false;
  /** The URL of a new, empty schema in this file's database (search_path set through the URL). */
  fresh(): Promise<string>;
  /** The URL of this file's database itself (public schema). */
  database(): Promise<string>;
}

const BASE = process.env.ANODE_TEST_POSTGRES;

/**
 * `dropAtEnd: false` leaves the file's `after` hook to the caller (`drop()`), for a file whose own
 * `after` hooks must run first: top-level hooks run in the order they were registered, and dropping the
 * database (WITH FORCE) under stores still open breaks their connections mid-teardown.
 */
export function usePostgres(what: string, opts: { dropAtEnd?: boolean } = {}): SharedPostgres & { drop(): Promise<void> } {
  const gate = interopGate('postgresql', what, BASE ? null : 'ANODE_TEST_POSTGRES is not set (eval "$(scripts/postgres-cluster.sh)")');
  let dbUrl: Promise<string> | undefined;
  let admin: pg.Client | undefined;
  let name: string | undefined;
  let n = 0;
  const database = (): Promise<string> => {
    gate.require();
    dbUrl ??= (async () => {
      name = `anode_${process.pid}_${randomBytes(4).toString('hex')}`;
      const root = new pg.Client(BASE);
      await root.connect();
      try {
        await root.query(`CREATE DATABASE ${name}`);
      } finally {
        await root.end();
      }
      const u = new URL(BASE!);
      u.pathname = `/${name}`;
      admin = new pg.Client(u.toString());
      await admin.connect();
      return u.toString();
    })();
    return dbUrl;
  };
  const drop = async (): Promise<void> => {
    if (!dbUrl) return;
    await dbUrl.catch(() => undefined);
    await admin?.end().catch(() => undefined);
    if (!name) return;
    const root = new pg.Client(BASE);
    await root.connect();
    try {
      await root.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await root.end();
    }
  };
  if (opts.dropAtEnd !== false) after(drop);
  return {
    skip: gate.skip,
    drop,
    database,
    async fresh() {
      const base = await database();
      const schema = `s${++n}`;
      await admin!.query(`CREATE SCHEMA ${schema}`);
      const u = new URL(base);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return u.toString();
    },
  };
}
