/**
 * The tower's database on PostgreSQL, for towers that scale out: several tower processes (on several
 * machines) serve clients against one database.
 *
 * - A session's sequence numbers are enforced by the database, not by process memory: each state update
 *   locks its session row (`SELECT … FOR UPDATE`) inside the write transaction, applies the rules of
 *   `checkStateUpdate` to what the database holds, and writes; `(sid, seq)` is the primary key of
 *   `tower_updates`, so an update is stored once whichever process received it (a re-send replaces it).
 * - Writes use the same group commit as SQLite: every write that arrived in one turn of the event loop
 *   is one transaction, and each caller's promise resolves after its COMMIT (`synchronous_commit = on`).
 * - The lookout runs in one process at a time: `acquireLookoutLock` takes a session advisory lock on its
 *   own connection; the server frees it when that process dies, and another process takes it over.
 *
 * Its migrations are its own list (written with Kysely's schema builder, portable types only): the SQLite
 * tower keeps its shipped layout (updates keyed by rowid `sid << 16 | seq`, an expression index on the
 * hint prefix), which has no PostgreSQL equivalent worth having; here updates are keyed by `(sid, seq)`
 * and indexed by hint.
 */
import { Migrator, type Kysely, type Migration, type Transaction } from 'kysely';
import type { HintMatch } from '../watchtower/lookout/store.js';
import { checkStateUpdate, type StateUpdateInput, type StateUpdateVerdict, type TowerSession } from '../watchtower/server/rules.js';
import type { InsertSessionResult } from '../watchtower/server/tower-store.js';
import { autoId } from './migrations/portable.js';
import { checkConnection, createPool, currentSchema, ensureBlobDomain, LOOKOUT_LOCK, postgresKysely, tryAdvisoryLock, type PostgresPool } from './postgres.js';
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

interface UpdateTable {
  sid: number;
  seq: number;
  hint: Buffer;
  blob: Buffer;
}

interface PgTowerSchema extends LookoutTables {
  tower_sessions: SessionTable;
  tower_updates: UpdateTable;
}

/** Never edit a shipped migration: add the next one. */
export const towerPostgresMigrations: Record<string, Migration> = {
  '0001_sessions_updates': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('tower_sessions')
        .$call(autoId(db, 'sid'))
        .addColumn('id', 'blob', (c) => c.notNull().unique())
        .addColumn('blob_type', 'bigint', (c) => c.notNull())
        .addColumn('max_updates', 'bigint', (c) => c.notNull())
        .addColumn('reward_base', 'bigint', (c) => c.notNull())
        .addColumn('reward_rate', 'bigint', (c) => c.notNull())
        .addColumn('sweep_fee_rate', 'text', (c) => c.notNull())
        .addColumn('last_applied', 'bigint', (c) => c.notNull())
        .addColumn('client_last_applied', 'bigint', (c) => c.notNull())
        .addColumn('reward_script', 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('tower_updates')
        .addColumn('sid', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hint', 'blob', (c) => c.notNull())
        .addColumn('blob', 'blob', (c) => c.notNull())
        .addPrimaryKeyConstraint('tower_updates_pk', ['sid', 'seq'])
        .execute();
      await db.schema.createIndex('tower_updates_hint').on('tower_updates').column('hint').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('tower_updates').execute();
      await db.schema.dropTable('tower_sessions').execute();
    },
  },
  '0002_lookout': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('tower_lookout_tip')
        .addColumn('id', 'bigint', (c) => c.primaryKey())
        .addColumn('height', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      let t = db.schema.createTable('tower_punishments').addColumn('justice_txid', 'text', (c) => c.primaryKey());
      t = t.addColumn('justice_tx', 'blob', (c) => c.notNull()).addColumn('breach_txid', 'text', (c) => c.notNull());
      t = t.addColumn('session_id', 'blob', (c) => c.notNull());
      for (const n of ['seq_num', 'blob_type', 'breach_height']) t = t.addColumn(n, 'bigint', (c) => c.notNull());
      t = t.addColumn('breach_block_hash', 'text', (c) => c.notNull());
      for (const n of ['total_sat', 'sweep_sat', 'reward_sat', 'fee_sat', 'created_at', 'publish_attempts']) t = t.addColumn(n, 'bigint', (c) => c.notNull());
      t = t.addColumn('last_published_at', 'bigint').addColumn('last_error', 'text').addColumn('outcome', 'text');
      t = t.addColumn('resolved_height', 'bigint').addColumn('resolved_block_hash', 'text').addColumn('resolved_by_txid', 'text');
      await t.execute();
      await db.schema.createIndex('tower_punishments_created').on('tower_punishments').column('created_at').execute();
      await db.schema.createIndex('tower_punishments_resolved_block').on('tower_punishments').column('resolved_block_hash').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('tower_punishments').execute();
      await db.schema.dropTable('tower_lookout_tip').execute();
    },
  },
};

const TOWER_MIGRATION_TABLE = 'tower_migrations';

/** Connections per tower process: the group commit uses one at a time, reads the others. */
const POOL_SIZE = 4;
const HINT_CHUNK = 500;

type Db = Kysely<PgTowerSchema>;
type Tx = Transaction<PgTowerSchema>;

/** Opens the tower database at `url` (migrating it; several processes may do so at once). */
export async function openPostgresTowerStore(url: string, opts: { maxBatch?: number } = {}): Promise<PostgresTowerStore> {
  const p = createPool(url, POOL_SIZE);
  await checkConnection(p, url, 'tower store');
  const db = postgresKysely<PgTowerSchema>(p);
  try {
    await ensureBlobDomain(db as Kysely<unknown>);
    const result = await new Migrator({
      db,
      provider: { getMigrations: async () => towerPostgresMigrations },
      migrationTableName: TOWER_MIGRATION_TABLE,
      migrationLockTableName: `${TOWER_MIGRATION_TABLE}_lock`,
      migrationTableSchema: await currentSchema(db as Kysely<unknown>),
    }).migrateToLatest();
    if (result.error) throw result.error;
  } catch (err) {
    await db.destroy();
    throw new TowerStoreError(`tower store: migration failed: ${(err as Error).message ?? String(err)}`);
  }
  return new PostgresTowerStore(db, p, opts.maxBatch ?? 1000);
}

export class PostgresTowerStore extends TowerDatabaseBase<PgTowerSchema> implements TowerDatabase {
  readonly backend = 'postgres';

  constructor(
    db: Db,
    private readonly pool: PostgresPool,
    maxBatch: number,
  ) {
    super(db, maxBatch);
  }

  async getSession(id: Buffer): Promise<TowerSession | undefined> {
    const r = await this.db.selectFrom('tower_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToSession(r) : undefined;
  }

  insertSession(s: TowerSession): Promise<InsertSessionResult> {
    return this.write(async (tx) => {
      const values = sessionValues(s);
      // Insert-or-keep, then lock: two processes creating the same session end with one row.
      await tx.insertInto('tower_sessions').values({ id: s.id, ...values }).onConflict((oc) => oc.column('id').doNothing()).execute();
      const row = await tx.selectFrom('tower_sessions').selectAll().where('id', '=', s.id).forUpdate().executeTakeFirstOrThrow();
      if (row.last_applied > 0) return { ok: false, existing: rowToSession(row) };
      await tx.updateTable('tower_sessions').set(values).where('sid', '=', row.sid).execute();
      return { ok: true };
    });
  }

  applyStateUpdate(sessionId: Buffer, u: StateUpdateInput): Promise<StateUpdateVerdict> {
    return this.write(async (tx) => {
      // The row lock orders this update after any other process's update of the same session.
      const row = await tx.selectFrom('tower_sessions').selectAll().where('id', '=', sessionId).forUpdate().executeTakeFirst();
      const verdict = checkStateUpdate(row ? rowToSession(row) : undefined, u);
      if (verdict.code !== 0 || !row) return verdict;
      // The session's advance and the update in one statement (one round trip fewer per update).
      await tx
        .with('advanced', (db) => db.updateTable('tower_sessions').set({ last_applied: u.seqNum, client_last_applied: u.lastApplied }).where('sid', '=', row.sid).returning('sid'))
        .insertInto('tower_updates')
        .values({ sid: row.sid, seq: u.seqNum, hint: u.hint, blob: u.encryptedBlob })
        .onConflict((oc) => oc.columns(['sid', 'seq']).doUpdateSet({ hint: u.hint, blob: u.encryptedBlob }))
        .execute();
      return verdict;
    });
  }

  deleteSession(id: Buffer): Promise<boolean> {
    return this.write(async (tx) => {
      const row = await tx.selectFrom('tower_sessions').select('sid').where('id', '=', id).forUpdate().executeTakeFirst();
      if (!row) return false;
      await tx.deleteFrom('tower_updates').where('sid', '=', row.sid).execute();
      await tx.deleteFrom('tower_sessions').where('sid', '=', row.sid).execute();
      return true;
    });
  }

  async findByHints(hints: readonly Buffer[]): Promise<HintMatch[]> {
    const unique = new Map<string, Buffer>();
    for (const h of hints) {
      if (h.length !== 16) throw new TowerStoreError(`tower store: a hint is 16 bytes, got ${h.length}`);
      unique.set(h.toString('hex'), h);
    }
    const all = [...unique.values()];
    const out: HintMatch[] = [];
    for (let i = 0; i < all.length; i += HINT_CHUNK) {
      const rows = await this.db
        .selectFrom('tower_updates as u')
        .innerJoin('tower_sessions as s', 's.sid', 'u.sid')
        .select(['u.seq', 'u.hint', 'u.blob', 's.id as session_id', 's.blob_type', 's.max_updates', 's.reward_base', 's.reward_rate', 's.sweep_fee_rate', 's.reward_script'])
        .where('u.hint', 'in', all.slice(i, i + HINT_CHUNK))
        .execute();
      for (const r of rows) {
        out.push({ sessionId: r.session_id, seqNum: r.seq, hint: r.hint, encryptedBlob: r.blob, policy: rowToPolicy(r), rewardScript: r.reward_script });
      }
    }
    return out;
  }

  async listUpdates(sessionId: Buffer): Promise<StoredUpdate[]> {
    const rows = await this.db
      .selectFrom('tower_updates as u')
      .innerJoin('tower_sessions as s', 's.sid', 'u.sid')
      .select(['u.seq', 'u.hint', 'u.blob'])
      .where('s.id', '=', sessionId)
      .orderBy('u.seq')
      .execute();
    return rows.map((r) => ({ sessionId, seqNum: r.seq, hint: r.hint, encryptedBlob: r.blob }));
  }

  async counts(): Promise<{ sessions: number; updates: number }> {
    const s = await this.db.selectFrom('tower_sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const u = await this.db.selectFrom('tower_updates').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return { sessions: Number(s.n), updates: Number(u.n) };
  }

  async acquireLookoutLock(): Promise<LookoutLock | null> {
    return tryAdvisoryLock(this.pool, LOOKOUT_LOCK);
  }

}
