/**
 * The tower's own database (as LND keeps `watchtower.db` apart from the node's): sessions and the
 * encrypted justice kits clients upload. It implements, structurally, the interfaces the tower's two
 * roles declare for their storage — the server's `TowerStore` (watchtower/server/tower-store.ts) and the
 * lookout's `LookoutStore` (watchtower/lookout/store.ts) — so that a PostgreSQL implementation can come
 * later; {@link openTowerStore} opens the SQLite one (Kysely over better-sqlite3, own versioned
 * migrations, WAL + synchronous=FULL).
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
import { Kysely, Migrator, type Generated, type Selectable, SqliteDialect, sql, type Migration, type MigrationResultSet, type Transaction } from 'kysely';
import type { HintMatch, PunishmentCounts, PunishmentOutcome, PunishmentRecord } from '../watchtower/lookout/store.js';
import type { Policy } from '../watchtower/policy.js';
import { checkStateUpdate, type StateUpdateInput, type StateUpdateVerdict, type TowerSession } from '../watchtower/server/rules.js';
import type { InsertSessionResult } from '../watchtower/server/tower-store.js';

export class TowerStoreError extends Error {
  override name = 'TowerStoreError';
}

/** An update as stored: what a client uploaded under one (session, seq). */
export type StoredUpdate = Omit<HintMatch, 'policy' | 'rewardScript'>;

// ---- schema and migrations --------------------------------------------------------------------------

interface SessionTable {
  sid: Generated<number>;
  id: Buffer;
  blob_type: number;
  max_updates: number;
  reward_base: number;
  reward_rate: number;
  /** u64 sat/kW as decimal text (a u64 does not fit SQLite's signed INTEGER). */
  sweep_fee_rate: string;
  last_applied: number;
  client_last_applied: number;
  reward_script: Buffer;
  created_at: number;
}

interface UpdateTable {
  /** `sid << 16 | seq` (rowid). */
  id: number;
  hint: Buffer;
  blob: Buffer;
}

interface LookoutTipTable {
  /** Always 1: a single row. */
  id: number;
  height: number;
  hash: string;
}

interface PunishmentTable {
  justice_txid: string;
  justice_tx: Buffer;
  breach_txid: string;
  session_id: Buffer;
  seq_num: number;
  blob_type: number;
  breach_height: number;
  breach_block_hash: string;
  total_sat: number;
  sweep_sat: number;
  reward_sat: number;
  fee_sat: number;
  created_at: number;
  publish_attempts: number;
  last_published_at: number | null;
  last_error: string | null;
  outcome: string | null;
  resolved_height: number | null;
  resolved_block_hash: string | null;
  resolved_by_txid: string | null;
}

export interface TowerSchema {
  tower_sessions: SessionTable;
  tower_updates: UpdateTable;
  tower_lookout_tip: LookoutTipTable;
  tower_punishments: PunishmentTable;
}

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

function rowToPolicy(r: Pick<SessionTable, 'blob_type' | 'max_updates' | 'reward_base' | 'reward_rate' | 'sweep_fee_rate'>): Policy {
  return {
    blobType: r.blob_type,
    maxUpdates: r.max_updates,
    rewardBase: r.reward_base,
    rewardRate: r.reward_rate,
    sweepFeeRateSatPerKw: BigInt(r.sweep_fee_rate),
  };
}

function rowToSession(r: Selectable<SessionTable>): TowerSession {
  return {
    id: r.id,
    policy: rowToPolicy(r),
    lastApplied: r.last_applied,
    clientLastApplied: r.client_last_applied,
    rewardScript: r.reward_script,
    createdAt: r.created_at,
  };
}

function rowToPunishment(r: Selectable<PunishmentTable>): PunishmentRecord {
  return {
    justiceTxid: r.justice_txid,
    justiceTx: r.justice_tx,
    breachTxid: r.breach_txid,
    sessionId: r.session_id,
    seqNum: r.seq_num,
    blobType: r.blob_type,
    breachHeight: r.breach_height,
    breachBlockHash: r.breach_block_hash,
    totalSat: BigInt(r.total_sat),
    sweepSat: BigInt(r.sweep_sat),
    rewardSat: BigInt(r.reward_sat),
    feeSat: BigInt(r.fee_sat),
    createdAt: r.created_at,
    publishAttempts: r.publish_attempts,
    lastPublishedAt: r.last_published_at,
    lastError: r.last_error,
    outcome: r.outcome as PunishmentOutcome | null,
    resolvedHeight: r.resolved_height,
    resolvedBlockHash: r.resolved_block_hash,
    resolvedByTxid: r.resolved_by_txid,
  };
}

// ---- group commit -----------------------------------------------------------------------------------

type Db = Kysely<TowerSchema>;
type Tx = Transaction<TowerSchema>;

interface QueuedWrite {
  op: (tx: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface GroupCommitStats {
  transactions: number;
  writes: number;
}

/**
 * Collects writes requested during one turn of the event loop and commits them in one transaction
 * (at most `maxBatch` per transaction). Each promise settles after its transaction's COMMIT. If a
 * batch fails, its writes are retried one per transaction, so one bad write cannot fail the others.
 */
class GroupCommit {
  #queue: QueuedWrite[] = [];
  #scheduled = false;
  #running: Promise<void> | undefined;
  readonly stats: GroupCommitStats = { transactions: 0, writes: 0 };

  constructor(
    private readonly db: Db,
    private readonly maxBatch: number,
  ) {}

  run<T>(op: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    // setImmediate: after this turn's I/O callbacks, so every request that arrived with them shares the commit.
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#flush().finally(() => {
        this.#running = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    let results: unknown[];
    try {
      results = await this.db.transaction().execute(async (tx) => {
        const out: unknown[] = [];
        for (const w of batch) out.push(await w.op(tx));
        return out;
      });
    } catch {
      // Isolate the culprit: one transaction per write.
      for (const w of batch) {
        try {
          const r = await this.db.transaction().execute((tx) => w.op(tx));
          this.#count(1);
          w.resolve(r);
        } catch (err) {
          w.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      return;
    }
    this.#count(batch.length);
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  #count(writes: number): void {
    this.stats.transactions++;
    this.stats.writes += writes;
  }

  /** Resolves once every write queued so far has settled. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#running || this.#scheduled) {
      if (this.#running) await this.#running;
      else await new Promise((r) => setImmediate(r));
    }
  }
}

// ---- SQLite implementation --------------------------------------------------------------------------

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
export class SqliteTowerStore {
  readonly #writes: GroupCommit;
  readonly #hot: { session: BetterSqlite3.Statement; upsert: BetterSqlite3.Statement; advance: BetterSqlite3.Statement };
  #closed = false;

  constructor(
    readonly db: Db,
    readonly sqlite: BetterSqlite3.Database,
    maxBatch: number,
  ) {
    this.#writes = new GroupCommit(db, maxBatch);
    this.#hot = {
      session: sqlite.prepare('SELECT * FROM tower_sessions WHERE id = ?'),
      upsert: sqlite.prepare('INSERT INTO tower_updates (id, hint, blob) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET hint = excluded.hint, blob = excluded.blob'),
      advance: sqlite.prepare('UPDATE tower_sessions SET last_applied = ?, client_last_applied = ? WHERE sid = ?'),
    };
  }

  get commits(): GroupCommitStats {
    return this.#writes.stats;
  }

  #write<T>(op: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TowerStoreError('tower store: closed'));
    return this.#writes.run(op);
  }

  async getSession(id: Buffer): Promise<TowerSession | undefined> {
    const r = await this.db.selectFrom('tower_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToSession(r) : undefined;
  }

  insertSession(s: TowerSession): Promise<InsertSessionResult> {
    return this.#write(async (tx) => {
      const row = await tx.selectFrom('tower_sessions').selectAll().where('id', '=', s.id).executeTakeFirst();
      if (row && row.last_applied > 0) return { ok: false, existing: rowToSession(row) };
      const values = {
        blob_type: s.policy.blobType,
        max_updates: s.policy.maxUpdates,
        reward_base: s.policy.rewardBase,
        reward_rate: s.policy.rewardRate,
        sweep_fee_rate: s.policy.sweepFeeRateSatPerKw.toString(),
        last_applied: 0,
        client_last_applied: 0,
        reward_script: s.rewardScript,
        created_at: s.createdAt,
      };
      if (row) await tx.updateTable('tower_sessions').set(values).where('sid', '=', row.sid).execute();
      else await tx.insertInto('tower_sessions').values({ id: s.id, ...values }).execute();
      return { ok: true };
    });
  }

  applyStateUpdate(sessionId: Buffer, u: StateUpdateInput): Promise<StateUpdateVerdict> {
    // The hot path: prepared statements on the same connection, inside the group-commit transaction
    // Kysely holds open (better-sqlite3 is synchronous, so nothing else runs in between).
    const st = this.#hot;
    return this.#write(async () => {
      const row = st.session.get(sessionId) as Selectable<SessionTable> | undefined;
      const verdict = checkStateUpdate(row ? rowToSession(row) : undefined, u);
      if (verdict.code !== 0 || !row) return verdict;
      st.upsert.run(updateKey(row.sid, u.seqNum), u.hint, u.encryptedBlob);
      st.advance.run(u.seqNum, u.lastApplied, row.sid);
      return verdict;
    });
  }

  deleteSession(id: Buffer): Promise<boolean> {
    return this.#write(async (tx) => {
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

  // ---- lookout (migration 0002) ----

  async loadLookoutTip(): Promise<{ height: number; hash: string } | null> {
    const r = await this.db.selectFrom('tower_lookout_tip').select(['height', 'hash']).where('id', '=', 1).executeTakeFirst();
    return r ? { height: r.height, hash: r.hash } : null;
  }

  saveLookoutTip(tip: { height: number; hash: string }): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .insertInto('tower_lookout_tip')
        .values({ id: 1, height: tip.height, hash: tip.hash })
        .onConflict((oc) => oc.column('id').doUpdateSet({ height: tip.height, hash: tip.hash }))
        .execute();
    });
  }

  insertPunishment(p: PunishmentRecord): Promise<boolean> {
    return this.#write(async (tx) => {
      const r = await tx
        .insertInto('tower_punishments')
        .values({
          justice_txid: p.justiceTxid,
          justice_tx: p.justiceTx,
          breach_txid: p.breachTxid,
          session_id: p.sessionId,
          seq_num: p.seqNum,
          blob_type: p.blobType,
          breach_height: p.breachHeight,
          breach_block_hash: p.breachBlockHash,
          total_sat: Number(p.totalSat),
          sweep_sat: Number(p.sweepSat),
          reward_sat: Number(p.rewardSat),
          fee_sat: Number(p.feeSat),
          created_at: p.createdAt,
          publish_attempts: p.publishAttempts,
          last_published_at: p.lastPublishedAt,
          last_error: p.lastError,
          outcome: p.outcome,
          resolved_height: p.resolvedHeight,
          resolved_block_hash: p.resolvedBlockHash,
          resolved_by_txid: p.resolvedByTxid,
        })
        .onConflict((oc) => oc.column('justice_txid').doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
    });
  }

  async getPunishment(justiceTxid: string): Promise<PunishmentRecord | undefined> {
    const r = await this.db.selectFrom('tower_punishments').selectAll().where('justice_txid', '=', justiceTxid).executeTakeFirst();
    return r ? rowToPunishment(r) : undefined;
  }

  async listPunishments(opts: { pending?: boolean; limit?: number } = {}): Promise<PunishmentRecord[]> {
    let q = this.db.selectFrom('tower_punishments').selectAll();
    if (opts.pending) q = q.where('outcome', 'is', null);
    q = q.orderBy('created_at', 'desc').orderBy('justice_txid');
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.execute()).map(rowToPunishment);
  }

  notePublishAttempt(justiceTxid: string, at: number, error: string | null): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .updateTable('tower_punishments')
        .set((eb) => ({ publish_attempts: eb('publish_attempts', '+', 1), last_published_at: at, last_error: error }))
        .where('justice_txid', '=', justiceTxid)
        .execute();
    });
  }

  resolvePunishment(justiceTxid: string, r: { outcome: PunishmentOutcome; height: number; blockHash: string; byTxid: string }): Promise<void> {
    return this.#write(async (tx) => {
      await tx
        .updateTable('tower_punishments')
        .set({ outcome: r.outcome, resolved_height: r.height, resolved_block_hash: r.blockHash, resolved_by_txid: r.byTxid })
        .where('justice_txid', '=', justiceTxid)
        .execute();
    });
  }

  unresolvePunishments(blockHash: string): Promise<number> {
    return this.#write(async (tx) => {
      const r = await tx
        .updateTable('tower_punishments')
        .set({ outcome: null, resolved_height: null, resolved_block_hash: null, resolved_by_txid: null })
        .where('resolved_block_hash', '=', blockHash)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    });
  }

  async punishmentCounts(): Promise<PunishmentCounts> {
    const rows = await this.db
      .selectFrom('tower_punishments')
      .select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('outcome')
      .execute();
    const c: PunishmentCounts = { total: 0, pending: 0, confirmed: 0, conflicted: 0 };
    for (const r of rows) {
      const n = Number(r.n);
      c.total += n;
      if (r.outcome === null) c.pending += n;
      else if (r.outcome === 'confirmed') c.confirmed += n;
      else if (r.outcome === 'conflicted') c.conflicted += n;
    }
    return c;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.drain();
    await this.db.destroy();
  }
}
