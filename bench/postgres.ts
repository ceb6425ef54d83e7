/**
 * Benchmark: anode on PostgreSQL, each figure next to a reference measured in the same run.
 *
 * 1. Tower durable state updates per second (real TCP + BOLT 8 clients in this process; towers in child
 *    processes, as deployed): one tower process and three tower processes on one PostgreSQL database,
 *    with 1 session (sequential; with three towers, one session per tower) and 100 sessions (concurrent,
 *    spread over the towers). Reference: the raw PostgreSQL commit rate — one 314-byte INSERT per
 *    transaction on one connection, synchronous_commit=on, the floor a one-commit-per-update design
 *    cannot beat. Next to them, the SQLite tower (1 and 100 sessions, one process) against the raw SQLite
 *    commit rate (WAL + synchronous=FULL) in the same run.
 * 2. HTLC round trips per second on one anode ↔ anode channel (bench/channel.ts's pair and rounds) with
 *    both nodes on PostgreSQL, against the same pair on SQLite files, interleaved.
 *
 * The server: $ANODE_BENCH_POSTGRES or $ANODE_TEST_POSTGRES (a database is created and dropped); without
 * either, a throw-away cluster is started with scripts/postgres-cluster.sh (PostgreSQL installed).
 * Standalone: `node dist/bench/postgres.js` (7 rounds of ~200 ms); with options, `npm run bench -- --only postgres`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { secp } from '../src/crypto/secp256k1.js';
import { openPair, Rounds, type Pair } from './channel.js';
import { compare, fmt, fmtInt, fmtPct, table, type Comparison, type Op, type RunOptions } from './harness.js';
import { rawCommitOp, Uploader } from './tower.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, 'postgres-tower-child.js');
const CLUSTER = join(HERE, '..', '..', 'scripts', 'postgres-cluster.sh');

export interface PostgresBenchResult {
  server: string;
  /** PostgreSQL tower rows, each against the raw PostgreSQL commit. */
  postgres: { label: string; c: Comparison }[];
  /** SQLite tower rows, each against the raw SQLite commit. */
  sqlite: { label: string; c: Comparison }[];
  /** HTLC round trips: both nodes on PostgreSQL (candidate) vs both on SQLite (reference). */
  htlc: Comparison;
}

/** A server for the run: the given URL, or a throw-away cluster (stopped by `stop`). */
function server(): { url: string; stop(): void } {
  const given = process.env.ANODE_BENCH_POSTGRES ?? process.env.ANODE_TEST_POSTGRES;
  if (given) return { url: given, stop: () => undefined };
  const r = spawnSync(CLUSTER, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: no PostgreSQL (set ANODE_BENCH_POSTGRES, or install postgresql): ${r.stderr.trim()}`);
  const env = Object.fromEntries([...r.stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { url: env.ANODE_TEST_POSTGRES!, stop: () => void spawnSync(CLUSTER, ['stop', env.ANODE_TEST_POSTGRES_DIR!]) };
}

/** One statement on a connection of its own. */
async function statement(url: string, text: string): Promise<Record<string, unknown>[]> {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(text)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}

/** A fresh database on the server, dropped by `drop`. */
async function database(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `anode_bench_${randomBytes(4).toString('hex')}`;
  await statement(base, `CREATE DATABASE ${name}`);
  const u = new URL(base);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => statement(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined) };
}

/** Raw floor: one 314-byte row per transaction (autocommit), one connection, synchronous_commit=on. */
async function rawPostgresOp(url: string): Promise<{ op: Op; close(): Promise<void> }> {
  const c = new pg.Client(url);
  c.on('error', () => undefined);
  await c.connect();
  await c.query('SET synchronous_commit = on');
  await c.query('CREATE TABLE raw_commit (id bigserial PRIMARY KEY, hint bytea NOT NULL, blob bytea NOT NULL)');
  const blob = randomBytes(314);
  return {
    op: {
      name: 'raw PostgreSQL INSERT+COMMIT',
      async run(n) {
        for (let i = 0; i < n; i++) await c.query('INSERT INTO raw_commit (hint, blob) VALUES ($1, $2)', [randomBytes(16), blob]);
      },
    },
    close: () => c.end(),
  };
}

interface TowerProcs {
  ports: number[];
  key: Buffer;
  stop(): Promise<void>;
}

/** `n` tower processes on the database at `location` (one key: they are one tower to clients). */
async function towers(location: string, n: number): Promise<TowerProcs> {
  const priv = randomBytes(32);
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [CHILD, location, priv.toString('hex')], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout! }), 'line'),
      once(child, 'exit').then(() => {
        throw new Error('bench: tower process exited before listening');
      }),
    ])) as [string];
    ports.push((JSON.parse(line) as { port: number }).port);
  }
  return {
    ports,
    key: Buffer.from(secp.publicKey(priv)),
    async stop() {
      await Promise.all(
        children.map((c) => {
          const exited = once(c, 'exit');
          c.kill('SIGTERM');
          return exited;
        }),
      );
    },
  };
}

/** `sessions` uploaders spread round-robin over the towers; `run(n)` uploads n updates in all, concurrently. */
function uploads(t: TowerProcs, sessions: number, name: string): { op: Op; close(): void } {
  const us = Array.from({ length: sessions }, (_, i) => new Uploader(t.ports[i % t.ports.length]!, t.key));
  return {
    op: { name, run: (n) => Promise.all(us.map((u, i) => u.upload(Math.floor(n / sessions) + (i < n % sessions ? 1 : 0)))).then(() => undefined) },
    close: () => us.forEach((u) => u.close()),
  };
}

async function towerRow(t: TowerProcs, sessions: number, label: string, reference: Op, opts: RunOptions): Promise<{ label: string; c: Comparison }> {
  const u = uploads(t, sessions, label);
  try {
    // Every session created and connected before timing: the figure is updates, not handshakes.
    await u.op.run(sessions);
    return { label, c: await compare(u.op, reference, opts) };
  } finally {
    u.close();
  }
}

export async function benchPostgres(opts: RunOptions & { progress?: (s: string) => void }): Promise<PostgresBenchResult> {
  const progress = opts.progress ?? ((s: string) => process.stderr.write(`[bench] ${s}\n`));
  const srv = server();
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-pg-'));
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    const db = await database(srv.url);
    cleanup.push(() => db.drop());
    const serverVersion = (await statement(db.url, `SELECT current_setting('server_version') AS v`))[0]!.v as string;
    const rawPg = await rawPostgresOp(db.url);
    cleanup.push(() => rawPg.close());
    const rawSqlite = rawCommitOp(dir);
    cleanup.push(() => rawSqlite.close());

    const postgres: PostgresBenchResult['postgres'] = [];
    for (const procs of [1, 3]) {
      progress(`postgres: ${procs} tower process(es) …`);
      const t = await towers(db.url, procs);
      try {
        postgres.push(await towerRow(t, procs, procs === 1 ? 'PostgreSQL tower, 1 process, 1 session' : `PostgreSQL tower, ${procs} processes, 1 session each`, rawPg.op, opts));
        postgres.push(await towerRow(t, 100, `PostgreSQL tower, ${procs} process${procs === 1 ? '' : 'es'}, 100 sessions`, rawPg.op, opts));
      } finally {
        await t.stop();
      }
    }

    progress('postgres: the SQLite tower in the same run …');
    const sqlite: PostgresBenchResult['sqlite'] = [];
    const st = await towers(join(dir, 'watchtower.sqlite3'), 1);
    try {
      sqlite.push(await towerRow(st, 1, 'SQLite tower, 1 process, 1 session', rawSqlite.op, opts));
      sqlite.push(await towerRow(st, 100, 'SQLite tower, 1 process, 100 sessions', rawSqlite.op, opts));
    } finally {
      await st.stop();
    }

    progress('postgres: HTLC round trips, PostgreSQL pair vs SQLite pair …');
    const pairs: Pair[] = [];
    cleanup.push(async () => {
      for (const p of pairs) await p.close();
    });
    const schemaUrl = async (s: string): Promise<string> => {
      await statement(db.url, `CREATE SCHEMA ${s}`);
      const u = new URL(db.url);
      u.searchParams.set('options', `-c search_path=${s}`);
      return u.toString();
    };
    const pgPair = await openPair(dir, [await schemaUrl('node_a'), await schemaUrl('node_b')]);
    pairs.push(pgPair);
    const sqliteDir = mkdtempSync(join(dir, 'pair-'));
    const sqPair = await openPair(sqliteDir);
    pairs.push(sqPair);
    const rounds = (p: Pair, name: string): Op => {
      const r = new Rounds(p);
      return {
        name,
        async run(n) {
          for (let i = 0; i < n; i++) await r.htlc();
        },
      };
    };
    const htlc = await compare(rounds(pgPair, 'HTLC round trips, both nodes on PostgreSQL'), rounds(sqPair, 'HTLC round trips, both nodes on SQLite'), { ...opts, batchMs: opts.batchMs * 3 });
    return { server: serverVersion, postgres, sqlite, htlc };
  } finally {
    for (const c of cleanup.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
    srv.stop();
  }
}

export function printPostgres(r: PostgresBenchResult): string[] {
  const out: string[] = [];
  out.push(`## PostgreSQL ${r.server}: tower durable state updates (towers in child processes on one database; real TCP + BOLT 8 clients)`);
  out.push('');
  const row = (c: Comparison['candidate']): string[] => [c.name, fmtInt(c.median), fmtPct(c.iqrPct), String(c.batch)];
  const rows = [...r.postgres, ...r.sqlite].flatMap((x) => [row(x.c.candidate), [`  ${x.c.reference.name}`, fmtInt(x.c.reference.median), fmtPct(x.c.reference.iqrPct), String(x.c.reference.batch)]]);
  out.push(table(['', 'updates/s', 'IQR', 'batch'], rows));
  out.push('');
  for (const x of [...r.postgres, ...r.sqlite]) out.push(`ratio ${x.label} / its raw commit: ${fmt(x.c.ratio)} (IQR ${fmtPct(x.c.ratioIqrPct)})`);
  out.push('');
  out.push('## HTLC round trips on one anode ↔ anode channel (bench/channel.ts rounds), PostgreSQL vs SQLite, interleaved');
  out.push('');
  out.push(table(['', 'round trips/s', 'IQR', 'batch'], [row(r.htlc.candidate), row(r.htlc.reference)]));
  out.push('');
  out.push(`ratio PostgreSQL / SQLite: ${fmt(r.htlc.ratio)} (IQR ${fmtPct(r.htlc.ratioIqrPct)})`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await benchPostgres({ rounds: 7, batchMs: 200, warmupMs: 200 });
  process.stdout.write(printPostgres(r).join('\n') + '\n');
}
