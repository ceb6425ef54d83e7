/**
 * The tower's own database (as LND keeps `watchtower.db` apart from the node's): sessions and the
 * encrypted justice kits clients upload. It implements, structurally, the interfaces the tower's two
 * roles declare for their storage — the server's `TowerStore` (watchtower/server/tower-store.ts) and the
 * lookout's `LookoutStore` (watchtower/lookout/store.ts), as `TowerDatabase` (tower-database.ts).
 * {@link openTowerDatabase} opens the one `--watchtower.wallet` names: this SQLite one (Kysely over
 * better-sqlite3, own versioned migrations, WAL + synchronous=FULL; {@link openTowerStore}) or the
 * PostgreSQL one of tower-postgres.ts, which several tower processes share.
 *
 * Layout (SQLite):
 * - `tower_sessions`: one row per session; `sid` is a small integer alias of the 33-byte session id so
 *   that updates do not repeat the id.
 * - `tower_updates`: one row per (session, seq). Its rowid *is* `sid << 16 | seq`, so a session's updates
 *   are one contiguous key range of the table b-tree (DeleteSession is a range delete, no extra index)
 *   and a re-send of the same seq replaces its row. The lookout's index is on the first 8 bytes of the
 *   16-byte hint (`substr(hint, 1, 8)`, an expression index, so nothing is stored twice): ~17 bytes per
 *   entry, small enough to stay cached at tens of millions of updates; a miss never touches the table.
 * - `tower_lookout_tip` (one row) and `tower_punishments` (one row per justice txid): the lookout's scan tip,
 *   written after every block, and the justice transactions it publishes until they confirm (migration
 *   0002).
 *
 * Writes go through a group commit: every write requested while the event loop was busy is applied in
 * one transaction, and each caller's promise resolves only after that transaction committed (WAL with
 * synchronous=FULL: the WAL is fsynced at commit). So a reply sent on the strength of a resolved write is
 * never ahead of its commit, and a hundred sessions cost one fsync instead of a hundred.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, type Selectable, SqliteDialect, sql, type Migration, type MigrationResultSet } from 'kysely';
import type { HintMatch } from '../watchtower/lookout/store.js';
import { isPostgresUrl } from './url.js';
import {
  rowToPolicy,
  rowToSession,
  sessionValues,
  TowerDatabaseBase,
  TowerStoreError,
  type LookoutLock,
  type LookoutTables,
  type SessionTable,
  type StoredUpdate,
  type TowerDatabase,
} from './tower-database.js';
import { checkStateUpdate, type StateUpdateInput, type StateUpdateVerdict, type TowerSession } from '../watchtower/server/rules.js';
import type { InsertSessionResult } from '../watchtower/server/tower-store.js';

// ---- schema and migrations --------------------------------------------------------------------------

interface UpdateTable {
  /** `sid << 16 | seq` (rowid). */
  id: number;
  hint: Buffer;
  blob: Buffer;
}

export interface TowerSchema extends LookoutTables {
  tower_sessions: SessionTable;
  tower_updates: UpdateTable;
}

export { TowerStoreError, type StoredUpdate, type TowerDatabase } from './tower-database.js';

/** Never edit a shipped migration: add the next one. */
export const towerMigrations: Record<string, Migration> = {
  '0001_sessions_updates': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE tower_sessions (
        sid INTEGER PRIMARY KEY AUTOINCREMENT,
        id BLOB NOT NULL UNIQUE CHECK (length(id) = 33),
        blob_type INTEGER NOT NULL,
        max_updates INTEGER NOT NULL,
        reward_base INTEGER NOT NULL,
        reward_rate INTEGER NOT NULL,
        sweep_fee_rate TEXT NOT NULL,
        last_applied INTEGER NOT NULL,
        client_last_applied INTEGER NOT NULL,
        reward_script BLOB NOT NULL,
        created_at INTEGER NOT NULL
      )`.execute(db);
      await sql`CREATE TABLE tower_updates (
        id INTEGER PRIMARY KEY,
        hint BLOB NOT NULL CHECK (length(hint) = 16),
        blob BLOB NOT NULL
      )`.execute(db);
      await sql`CREATE INDEX tower_updates_hint ON tower_updates (substr(hint, 1, 8))`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`DROP TABLE tower_updates`.execute(db);
      await sql`DROP TABLE tower_sessions`.execute(db);
    },
  },
  '0002_lookout': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`CREATE TABLE tower_lookout_tip (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        height INTEGER NOT NULL,
        hash TEXT NOT NULL
      )`.execute(db);
      await sql`CREATE TABLE tower_punishments (
        justice_txid TEXT PRIMARY KEY,
        justice_tx BLOB NOT NULL,
        breach_txid TEXT NOT NULL,
        session_id BLOB NOT NULL,
        seq_num INTEGER NOT NULL,
        blob_type INTEGER NOT NULL,
        breach_height INTEGER NOT NULL,
        breach_block_hash TEXT NOT NULL,
        total_sat INTEGER NOT NULL,
        sweep_sat INTEGER NOT NULL,
        reward_sat INTEGER NOT NULL,
        fee_sat INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        publish_attempts INTEGER NOT NULL,
        last_published_at INTEGER,
        last_error TEXT,
        outcome TEXT CHECK (outcome IN ('confirmed', 'conflicted')),
        resolved_height INTEGER,
        resolved_block_hash TEXT,
        resolved_by_txid TEXT
      ) WITHOUT ROWID`.execute(db);
      await sql`CREATE INDEX tower_punishments_pending ON tower_punishments (created_at) WHERE outcome IS NULL`.execute(db);
      await sql`CREATE INDEX tower_punishments_resolved_block ON tower_punishments (resolved_block_hash) WHERE resolved_block_hash IS NOT NULL`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`DROP TABLE tower_punishments`.execute(db);
      await sql`DROP TABLE tower_lookout_tip`.execute(db);
    },
  },
};

export const TOWER_MIGRATION_TABLE = 'tower_migrations';

export function migrateTowerDb(db: Kysely<TowerSchema>): Promise<MigrationResultSet> {
  return new Migrator({
    db,
    provider: { getMigrations: async () => towerMigrations },
    migrationTableName: TOWER_MIGRATION_TABLE,
    migrationLockTableName: `${TOWER_MIGRATION_TABLE}_lock`,
  }).migrateToLatest();
}

const SEQ_BITS = 16;
const SEQ_SPAN = 1 << SEQ_BITS;
const updateKey = (sid: number, seq: number): number => sid * SEQ_SPAN + seq;

// ---- SQLite implementation --------------------------------------------------------------------------

type Db = Kysely<TowerSchema>;

/**
 * Opens the tower database `--watchtower.wallet` names: `postgres://…` (shared by any number of tower
 * processes) or `sqlite3://path` / a path.
 */
export function openTowerDatabase(location: string, opts: TowerStoreOptions = {}): Promise<TowerDatabase> {
  if (isPostgresUrl(location)) return import('./tower-postgres.js').then((m) => m.openPostgresTowerStore(location, opts));
  return openTowerStore(location.startsWith('sqlite3://') ? location.slice('sqlite3://'.length) : location, opts);
}

export interface TowerStoreOptions {
  /** Most writes per transaction (default 1000). */
  maxBatch?: number;
  /** SQLite page cache in KiB (default 65536). */
  cacheKiB?: number;
}

/** Opens (creating if needed) the tower database at `path` and applies pending migrations. */
export async function openTowerStore(path: string, opts: TowerStoreOptions = {}): Promise<SqliteTowerStore> {
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(path);
  } catch (err) {
    throw new TowerStoreError(`tower store: cannot open database ${path}: ${(err as Error).message}`);
  }
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma(`cache_size = -${opts.cacheKiB ?? 65536}`);
  const db = new Kysely<TowerSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
  const result = await migrateTowerDb(db);
  if (result.error) {
    await db.destroy();
    throw new TowerStoreError(`tower store: migration failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
  return new SqliteTowerStore(db, sqlite, opts.maxBatch ?? 1000);
}

/** Hints are looked up in chunks of this many parameters per statement. */
const HINT_CHUNK = 500;

/** The SQLite tower database; `db`, `sqlite` and `commits` are for benchmarks and tests (pages, query plans). */
export class SqliteTowerStore extends TowerDatabaseBase<TowerSchema> implements TowerDatabase {
  readonly backend = 'sqlite';
  readonly #hot: { session: BetterSqlite3.Statement; upsert: BetterSqlite3.Statement; advance: BetterSqlite3.Statement };

  constructor(
    db: Db,
    readonly sqlite: BetterSqlite3.Database,
    maxBatch: number,
  ) {
    super(db, maxBatch);
    this.#hot = {
      session: sqlite.prepare('SELECT * FROM tower_sessions WHERE id = ?'),
      upsert: sqlite.prepare('INSERT INTO tower_updates (id, hint, blob) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET hint = excluded.hint, blob = excluded.blob'),
      advance: sqlite.prepare('UPDATE tower_sessions SET last_applied = ?, client_last_applied = ? WHERE sid = ?'),
    };
  }

  /** SQLite has one writer, this process: the lookout lock is always granted. */
  async acquireLookoutLock(): Promise<LookoutLock> {
    return { release: async () => undefined, lost: new Promise<void>(() => undefined) };
  }

  async getSession(id: Buffer): Promise<TowerSession | undefined> {
    const r = await this.db.selectFrom('tower_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToSession(r) : undefined;
  }

  insertSession(s: TowerSession): Promise<InsertSessionResult> {
    return this.write(async (tx) => {
      const row = await tx.selectFrom('tower_sessions').selectAll().where('id', '=', s.id).executeTakeFirst();
      if (row && row.last_applied > 0) return { ok: false, existing: rowToSession(row) };
      const values = sessionValues(s);
      if (row) await tx.updateTable('tower_sessions').set(values).where('sid', '=', row.sid).execute();
      else await tx.insertInto('tower_sessions').values({ id: s.id, ...values }).execute();
      return { ok: true };
    });
  }

  applyStateUpdate(sessionId: Buffer, u: StateUpdateInput): Promise<StateUpdateVerdict> {
    // The hot path: prepared statements on the same connection, inside the group-commit transaction
    // Kysely holds open (better-sqlite3 is synchronous, so nothing else runs in between).
    const st = this.#hot;
    return this.write(async () => {
      const row = st.session.get(sessionId) as Selectable<SessionTable> | undefined;
      const verdict = checkStateUpdate(row ? rowToSession(row) : undefined, u);
      if (verdict.code !== 0 || !row) return verdict;
      st.upsert.run(updateKey(row.sid, u.seqNum), u.hint, u.encryptedBlob);
      st.advance.run(u.seqNum, u.lastApplied, row.sid);
      return verdict;
    });
  }

  deleteSession(id: Buffer): Promise<boolean> {
    return this.write(async (tx) => {
      const row = await tx.selectFrom('tower_sessions').select('sid').where('id', '=', id).executeTakeFirst();
      if (!row) return false;
      await tx
        .deleteFrom('tower_updates')
        .where('id', '>=', updateKey(row.sid, 0))
        .where('id', '<', updateKey(row.sid + 1, 0))
        .execute();
      await tx.deleteFrom('tower_sessions').where('sid', '=', row.sid).execute();
      return true;
    });
  }

  async findByHints(hints: readonly Buffer[]): Promise<HintMatch[]> {
    const wanted = new Set<string>();
    const prefixes: Buffer[] = [];
    for (const h of hints) {
      if (h.length !== 16) throw new TowerStoreError(`tower store: a hint is 16 bytes, got ${h.length}`);
      const k = h.toString('hex');
      if (wanted.has(k)) continue;
      wanted.add(k);
      prefixes.push(h.subarray(0, 8));
    }
    const out: HintMatch[] = [];
    for (let i = 0; i < prefixes.length; i += HINT_CHUNK) {
      const chunk = prefixes.slice(i, i + HINT_CHUNK);
      // The IN list must use the indexed expression verbatim for SQLite to pick tower_updates_hint.
      const rows = await this.db
        .selectFrom('tower_updates as u')
        .innerJoin('tower_sessions as s', (j) => j.on('s.sid', '=', sql<number>`u.id >> ${sql.lit(SEQ_BITS)}`))
        .select(['u.id as uid', 'u.hint', 'u.blob', 's.id as session_id', 's.blob_type', 's.max_updates', 's.reward_base', 's.reward_rate', 's.sweep_fee_rate', 's.reward_script'])
        .where(sql<Buffer>`substr(u.hint, 1, 8)`, 'in', chunk)
        .execute();
      for (const r of rows) {
        if (!wanted.has(r.hint.toString('hex'))) continue; // same 8-byte prefix, different hint
        out.push({
          sessionId: r.session_id,
          seqNum: r.uid % SEQ_SPAN,
          hint: r.hint,
          encryptedBlob: r.blob,
          policy: rowToPolicy(r),
          rewardScript: r.reward_script,
        });
      }
    }
    return out;
  }

  async listUpdates(sessionId: Buffer): Promise<StoredUpdate[]> {
    const row = await this.db.selectFrom('tower_sessions').select('sid').where('id', '=', sessionId).executeTakeFirst();
    if (!row) return [];
    const rows = await this.db
      .selectFrom('tower_updates')
      .selectAll()
      .where('id', '>=', updateKey(row.sid, 0))
      .where('id', '<', updateKey(row.sid + 1, 0))
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ sessionId, seqNum: r.id % SEQ_SPAN, hint: r.hint, encryptedBlob: r.blob }));
  }

  async counts(): Promise<{ sessions: number; updates: number }> {
    const s = await this.db.selectFrom('tower_sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const u = await this.db.selectFrom('tower_updates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { sessions: Number(s.n), updates: Number(u.n) };
  }
}
