/**
 * What the tower's two databases (SQLite, `tower.ts`; PostgreSQL, `tower-postgres.ts`) share: the
 * interface the node wires (the server's `TowerStore` and the lookout's `LookoutStore`, plus the
 * lookout lock), the session and lookout tables, whose columns are the same on both, and the lookout's
 * queries over them.
 */
import type { Generated, Kysely, Selectable, Transaction } from 'kysely';
import { GroupCommit, type GroupCommitStats } from './group-commit.js';
import type { HintMatch, LookoutStore, PunishmentCounts, PunishmentOutcome, PunishmentRecord } from '../watchtower/lookout/store.js';
import type { Policy } from '../watchtower/policy.js';
import type { TowerSession } from '../watchtower/server/rules.js';
import type { TowerStore } from '../watchtower/server/tower-store.js';

export class TowerStoreError extends Error {
  override name = 'TowerStoreError';
}

/** An update as stored: what a client uploaded under one (session, seq). */
export type StoredUpdate = Omit<HintMatch, 'policy' | 'rewardScript'>;

/** The lookout runs in one tower process at a time: whoever holds this. */
export interface LookoutLock {
  release(): Promise<void>;
  /** Settles if the lock is lost without `release` (its database connection broke). */
  readonly lost: Promise<void>;
}

/** A tower database, whichever backend. */
export interface TowerDatabase extends TowerStore, LookoutStore {
  readonly backend: 'sqlite' | 'postgres';
  /** The lookout lock, or null while another process holds it (SQLite: always granted). */
  acquireLookoutLock(): Promise<LookoutLock | null>;
  listUpdates(sessionId: Buffer): Promise<StoredUpdate[]>;
  counts(): Promise<{ sessions: number; updates: number }>;
  close(): Promise<void>;
}

export interface SessionTable {
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

export interface LookoutTipTable {
  /** Always 1: a single row. */
  id: number;
  height: number;
  hash: string;
}

export interface PunishmentTable {
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

export interface LookoutTables {
  tower_lookout_tip: LookoutTipTable;
  tower_punishments: PunishmentTable;
}

export function rowToPolicy(r: Pick<SessionTable, 'blob_type' | 'max_updates' | 'reward_base' | 'reward_rate' | 'sweep_fee_rate'>): Policy {
  return {
    blobType: r.blob_type,
    maxUpdates: r.max_updates,
    rewardBase: r.reward_base,
    rewardRate: r.reward_rate,
    sweepFeeRateSatPerKw: BigInt(r.sweep_fee_rate),
  };
}

export function rowToSession(r: Selectable<SessionTable>): TowerSession {
  return {
    id: r.id,
    policy: rowToPolicy(r),
    lastApplied: r.last_applied,
    clientLastApplied: r.client_last_applied,
    rewardScript: r.reward_script,
    createdAt: r.created_at,
  };
}

/** The columns of a new session (both backends). */
export function sessionValues(s: TowerSession) {
  return {
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

/**
 * What both tower databases do the same way: the group commit (every write resolves after its COMMIT)
 * and the lookout's half of `LookoutStore` over the shared tables. Subclasses add the sessions and
 * updates, whose layouts differ.
 */
export abstract class TowerDatabaseBase<S extends LookoutTables> {
  readonly #writes: GroupCommit<S>;
  #closed = false;

  constructor(
    readonly db: Kysely<S>,
    maxBatch: number,
  ) {
    this.#writes = new GroupCommit<S>(db, maxBatch);
  }

  get commits(): GroupCommitStats {
    return this.#writes.stats;
  }

  protected write<T>(op: (tx: Transaction<S>) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new TowerStoreError('tower store: closed'));
    return this.#writes.run(op);
  }

  /** The lookout tables, typed as such. */
  get #ldb(): Kysely<LookoutTables> {
    return this.db as unknown as Kysely<LookoutTables>;
  }

  #lwrite<T>(op: (tx: Transaction<LookoutTables>) => Promise<T>): Promise<T> {
    return this.write((tx) => op(tx as unknown as Transaction<LookoutTables>));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes.drain();
    await this.db.destroy();
  }

  async loadLookoutTip(): Promise<{ height: number; hash: string } | null> {
    const r = await this.#ldb.selectFrom('tower_lookout_tip').select(['height', 'hash']).where('id', '=', 1).executeTakeFirst();
    return r ? { height: r.height, hash: r.hash } : null;
  }

  saveLookoutTip(tip: { height: number; hash: string }): Promise<void> {
    return this.#lwrite(async (tx) => {
      await tx
        .insertInto('tower_lookout_tip')
        .values({ id: 1, height: tip.height, hash: tip.hash })
        .onConflict((oc) => oc.column('id').doUpdateSet({ height: tip.height, hash: tip.hash }))
        .execute();
    });
  }

  insertPunishment(p: PunishmentRecord): Promise<boolean> {
    return this.#lwrite(async (tx) => {
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
    const r = await this.#ldb.selectFrom('tower_punishments').selectAll().where('justice_txid', '=', justiceTxid).executeTakeFirst();
    return r ? rowToPunishment(r) : undefined;
  }

  async listPunishments(opts: { pending?: boolean; limit?: number } = {}): Promise<PunishmentRecord[]> {
    let q = this.#ldb.selectFrom('tower_punishments').selectAll();
    if (opts.pending) q = q.where('outcome', 'is', null);
    q = q.orderBy('created_at', 'desc').orderBy('justice_txid');
    if (opts.limit !== undefined) q = q.limit(opts.limit);
    return (await q.execute()).map(rowToPunishment);
  }

  notePublishAttempt(justiceTxid: string, at: number, error: string | null): Promise<void> {
    return this.#lwrite(async (tx) => {
      await tx
        .updateTable('tower_punishments')
        .set((eb) => ({ publish_attempts: eb('publish_attempts', '+', 1), last_published_at: at, last_error: error }))
        .where('justice_txid', '=', justiceTxid)
        .execute();
    });
  }

  resolvePunishment(justiceTxid: string, r: { outcome: PunishmentOutcome; height: number; blockHash: string; byTxid: string }): Promise<void> {
    return this.#lwrite(async (tx) => {
      await tx
        .updateTable('tower_punishments')
        .set({ outcome: r.outcome, resolved_height: r.height, resolved_block_hash: r.blockHash, resolved_by_txid: r.byTxid })
        .where('justice_txid', '=', justiceTxid)
        .execute();
    });
  }

  unresolvePunishments(blockHash: string): Promise<number> {
    return this.#lwrite(async (tx) => {
      const r = await tx
        .updateTable('tower_punishments')
        .set({ outcome: null, resolved_height: null, resolved_block_hash: null, resolved_by_txid: null })
        .where('resolved_block_hash', '=', blockHash)
        .executeTakeFirst();
      return Number(r.numUpdatedRows);
    });
  }

  async punishmentCounts(): Promise<PunishmentCounts> {
    const rows = await this.#ldb
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
}
