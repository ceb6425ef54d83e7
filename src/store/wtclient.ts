/**
 * The watchtower client's storage (LND `wtdb/client_db.go`, spec §4), with one difference that matters:
 * the backup queue itself is durable (§4.3 [analysis]). Every method that changes state runs in one
 * transaction and resolves only after COMMIT, so what it reports is what a restart will find.
 *
 * Rows, in the order a revoked state travels through them:
 * - `wtc_backups`: a revoked state (channel, height, breach data), from `addBackup` until the tower acks
 *   it; `session_id`/`seq_num` are set once it is committed to a session, cleared again if that session
 *   is terminated or its tower removed (re-queued);
 * - `wtc_committed`: (session, seq) → (hint, ciphertext), written in the same transaction that bumps the
 *   session's `seq_num`, before the first transmission; deleted by the ack;
 * - `wtc_session_channels`: acked counts per (session, channel), for clean-up after channel close.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Schema, WtcSessionTable, WtcTowerTable } from './schema.js';

export const TOWER_ACTIVE = 0;
export const TOWER_INACTIVE = 1;
export const SESSION_ACTIVE = 0;
export const SESSION_TERMINAL = 1;
/** LND: on CreateSession AlreadyExists the key index jumps by this much. */
export const KEY_INDEX_JUMP = 1000;

export class WtClientStoreError extends Error {
  override name = 'WtClientStoreError';
}

export interface TowerRow {
  id: number;
  pubkey: Buffer;
  /** `host:port`, most recent first. */
  addresses: string[];
  status: number;
}

export interface SessionRow extends NewSession {
  seqNum: number;
  towerLastApplied: number;
  status: number;
  numAcked: number;
  closableHeight: number | null;
  /** Committed, not yet acked (filled by the queries that say so). */
  numCommitted: number;
}

export interface CommittedUpdate {
  seqNum: number;
  backupId: number;
  hint: Buffer;
  blob: Buffer;
}

export interface BackupRow {
  id: number;
  blobType: number;
  channelId: Buffer;
  commitHeight: number;
  breach: string;
}

export interface NewSession {
  id: Buffer;
  towerId: number;
  keyIndex: number;
  blobType: number;
  maxUpdates: number;
  rewardBase: number;
  rewardRate: number;
  sweepFeeRateSatPerKw: bigint;
  rewardScript: Buffer;
}

/** What `ackUpdate` did. */
export type AckResult =
  /** The committed update was acked; `exhausted` when this was the session's last slot. */
  | { kind: 'acked'; exhausted: boolean }
  /** No committed update under that seq (already acked, or re-queued elsewhere): last_applied noted only. */
  | { kind: 'unknown' };

type Tx = Transaction<Schema> | Kysely<Schema>;

function towerRow(r: Selectable<WtcTowerTable>): TowerRow {
  return { id: r.id, pubkey: Buffer.from(r.pubkey), addresses: JSON.parse(r.addresses) as string[], status: r.status };
}

function sessionRow(r: Selectable<WtcSessionTable> & { num_committed?: number | bigint | null }): SessionRow {
  return {
    id: Buffer.from(r.id),
    towerId: r.tower_id,
    keyIndex: r.key_index,
    blobType: r.blob_type,
    maxUpdates: r.max_updates,
    rewardBase: r.reward_base,
    rewardRate: r.reward_rate,
    sweepFeeRateSatPerKw: BigInt(r.sweep_fee_rate),
    rewardScript: Buffer.from(r.reward_script),
    seqNum: r.seq_num,
    towerLastApplied: r.tower_last_applied,
    status: r.status,
    numAcked: r.num_acked,
    closableHeight: r.closable_height,
    numCommitted: Number(r.num_committed ?? 0),
  };
}

/** Exhausted (LND): every slot handed out and none waiting for an ack. */
export function isExhausted(s: SessionRow): boolean {
  return s.seqNum >= s.maxUpdates && s.numCommitted === 0;
}

export interface WtClientRepository {
  // Towers
  getTower(id: number): Promise<TowerRow | undefined>;
  getTowerByPubkey(pubkey: Buffer): Promise<TowerRow | undefined>;
  listTowers(): Promise<TowerRow[]>;
  /** Creates the tower or merges the address at the front; status → active. */
  addTower(pubkey: Buffer, address: string, now: number): Promise<TowerRow>;
  /** Removes one address; throws `cannot remove last tower address`. */
  removeTowerAddress(towerId: number, address: string): Promise<void>;
  setTowerStatus(towerId: number, status: number): Promise<void>;
  /**
   * Removes the tower: each of its sessions has its committed updates re-queued and becomes terminal;
   * a tower without sessions is deleted, else marked inactive. Returns how many updates were re-queued.
   */
  removeTower(towerId: number): Promise<number>;

  // Session keys
  /** The key index reserved for (tower, blob type), reserving a fresh one (or one 1000 further) as needed. */
  reserveKeyIndex(towerId: number, blobType: number, forceNext: boolean): Promise<number>;

  // Sessions
  createSession(s: NewSession, now: number): Promise<SessionRow>;
  getSession(id: Buffer): Promise<SessionRow | undefined>;
  /** Sessions of towers (all if omitted), with their committed counts. */
  listSessions(filter?: { towerId?: number; blobType?: number }): Promise<SessionRow[]>;
  /** Active sessions of active towers with this exact TxPolicy and a free slot. */
  candidateSessions(p: { blobType: number; rewardBase: number; rewardRate: number; sweepFeeRateSatPerKw: bigint }): Promise<SessionRow[]>;
  /** Active sessions of active towers that have committed updates waiting for an ack. */
  sessionsWithCommitted(blobType: number): Promise<SessionRow[]>;
  committedUpdates(sessionId: Buffer): Promise<CommittedUpdate[]>;
  /**
   * Terminal, never used again. `requeue`: committed updates go back to the queue first; without it a
   * session with committed updates is refused (`session has un-acked updates`). Idempotent.
   */
  terminateSession(id: Buffer, requeue: boolean): Promise<'terminated' | 'already'>;

  // Backup queue
  /** Queues a revoked state durably; false (nothing written) for a height at or below the channel's highest. */
  addBackup(blobType: number, channelId: Buffer, commitHeight: number, breach: string, now: number): Promise<boolean>;
  /** Queued states not bound to any session, oldest first. */
  pendingBackups(blobType: number, limit: number): Promise<BackupRow[]>;
  countPending(blobType?: number): Promise<number>;
  /** Drops a state that can never be backed up (dust, fee above inputs). */
  dropBackup(id: number): Promise<void>;
  /**
   * Commits updates to a session in one transaction: each gets the next sequence number and the hint and
   * ciphertext are stored. Stops at the session's MaxUpdates; refuses (returns []) unless the session is
   * active. Returns what was committed, in order.
   */
  commitUpdates(sessionId: Buffer, items: { backupId: number; hint: Buffer; blob: Buffer }[]): Promise<CommittedUpdate[]>;
  /** Applies a tower's OK for `seq` with LND's checks (§1.7), atomically. Throws on a bad last_applied. */
  ackUpdate(sessionId: Buffer, seq: number, lastApplied: number): Promise<AckResult>;

  // Clean-up
  /** Records the close and marks the sessions that thereby become closable; returns them. */
  markChannelClosed(channelId: Buffer, height: number): Promise<Buffer[]>;
  /**
   * Marks closable at `height` every session that has become closable without a channel close being
   * reported (terminated or exhausted after its channels closed; terminal with no backups). Returns them.
   */
  markClosableSessions(height: number): Promise<Buffer[]>;
  closableSessions(): Promise<{ id: Buffer; height: number }[]>;
  /** Deletes a closable session locally, with channel details no session needs any more. */
  deleteSession(id: Buffer): Promise<boolean>;
}

export class SqlWtClientRepository implements WtClientRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  #tx<T>(fn: (tx: Transaction<Schema>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async getTower(id: number): Promise<TowerRow | undefined> {
    const r = await this.db.selectFrom('wtc_towers').selectAll().where('id', '=', id).executeTakeFirst();
    return r && towerRow(r);
  }

  async getTowerByPubkey(pubkey: Buffer): Promise<TowerRow | undefined> {
    const r = await this.db.selectFrom('wtc_towers').selectAll().where('pubkey', '=', pubkey).executeTakeFirst();
    return r && towerRow(r);
  }

  async listTowers(): Promise<TowerRow[]> {
    return (await this.db.selectFrom('wtc_towers').selectAll().orderBy('id').execute()).map(towerRow);
  }

  addTower(pubkey: Buffer, address: string, now: number): Promise<TowerRow> {
    return this.#tx(async (tx) => {
      const r = await tx.selectFrom('wtc_towers').selectAll().where('pubkey', '=', pubkey).executeTakeFirst();
      if (!r) {
        await tx.insertInto('wtc_towers').values({ pubkey, addresses: JSON.stringify([address]), status: TOWER_ACTIVE, created_at: now }).execute();
      } else {
        const addrs = JSON.parse(r.addresses) as string[];
        const next = addrs.includes(address) ? addrs : [address, ...addrs];
        await tx.updateTable('wtc_towers').set({ addresses: JSON.stringify(next), status: TOWER_ACTIVE }).where('id', '=', r.id).execute();
      }
      return towerRow((await tx.selectFrom('wtc_towers').selectAll().where('pubkey', '=', pubkey).executeTakeFirstOrThrow()));
    });
  }

  removeTowerAddress(towerId: number, address: string): Promise<void> {
    return this.#tx(async (tx) => {
      const r = await tx.selectFrom('wtc_towers').selectAll().where('id', '=', towerId).executeTakeFirst();
      if (!r) throw new WtClientStoreError('tower not found');
      const addrs = JSON.parse(r.addresses) as string[];
      if (!addrs.includes(address)) return;
      if (addrs.length === 1) throw new WtClientStoreError('cannot remove last tower address');
      await tx.updateTable('wtc_towers').set({ addresses: JSON.stringify(addrs.filter((a) => a !== address)) }).where('id', '=', towerId).execute();
    });
  }

  async setTowerStatus(towerId: number, status: number): Promise<void> {
    await this.db.updateTable('wtc_towers').set({ status }).where('id', '=', towerId).execute();
  }

  removeTower(towerId: number): Promise<number> {
    return this.#tx(async (tx) => {
      const sessions = await tx.selectFrom('wtc_sessions').select('id').where('tower_id', '=', towerId).execute();
      let requeued = 0;
      for (const s of sessions) {
        requeued += await requeueCommitted(tx, Buffer.from(s.id));
        await tx.updateTable('wtc_sessions').set({ status: SESSION_TERMINAL }).where('id', '=', s.id).execute();
      }
      await tx.deleteFrom('wtc_key_index').where('tower_id', '=', towerId).execute();
      if (sessions.length === 0) await tx.deleteFrom('wtc_towers').where('id', '=', towerId).execute();
      else await tx.updateTable('wtc_towers').set({ status: TOWER_INACTIVE }).where('id', '=', towerId).execute();
      return requeued;
    });
  }

  reserveKeyIndex(towerId: number, blobType: number, forceNext: boolean): Promise<number> {
    return this.#tx(async (tx) => {
      if (!forceNext) {
        const r = await tx.selectFrom('wtc_key_index').select('key_index').where('tower_id', '=', towerId).where('blob_type', '=', blobType).executeTakeFirst();
        if (r) return r.key_index;
      }
      const m = await tx.selectFrom('wtc_meta').select('value').where('name', '=', 'key_index').executeTakeFirst();
      const last = m?.value ?? 0;
      const next = forceNext ? last + KEY_INDEX_JUMP : last + 1;
      if (next >= 0x80000000) throw new WtClientStoreError('wtclient: session key indexes exhausted');
      await tx
        .insertInto('wtc_meta')
        .values({ name: 'key_index', value: next })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: next }))
        .execute();
      await tx
        .insertInto('wtc_key_index')
        .values({ tower_id: towerId, blob_type: blobType, key_index: next })
        .onConflict((oc) => oc.columns(['tower_id', 'blob_type']).doUpdateSet({ key_index: next }))
        .execute();
      return next;
    });
  }

  createSession(s: NewSession, now: number): Promise<SessionRow> {
    return this.#tx(async (tx) => {
      // A tower removed or deactivated while we negotiated gets no session.
      const t = await tx.selectFrom('wtc_towers').select('status').where('id', '=', s.towerId).executeTakeFirst();
      if (!t || t.status !== TOWER_ACTIVE) throw new WtClientStoreError('tower not found');
      await tx
        .insertInto('wtc_sessions')
        .values({
          id: s.id,
          tower_id: s.towerId,
          key_index: s.keyIndex,
          blob_type: s.blobType,
          max_updates: s.maxUpdates,
          reward_base: s.rewardBase,
          reward_rate: s.rewardRate,
          sweep_fee_rate: Number(s.sweepFeeRateSatPerKw),
          reward_script: s.rewardScript,
          seq_num: 0,
          tower_last_applied: 0,
          status: SESSION_ACTIVE,
          num_acked: 0,
          closable_height: null,
          created_at: now,
        })
        .execute();
      // The reservation is consumed: the next session with this tower gets a fresh key.
      await tx.deleteFrom('wtc_key_index').where('tower_id', '=', s.towerId).where('blob_type', '=', s.blobType).where('key_index', '=', s.keyIndex).execute();
      return sessionRow(await tx.selectFrom('wtc_sessions').selectAll().where('id', '=', s.id).executeTakeFirstOrThrow());
    });
  }

  #sessions(tx: Tx) {
    return tx
      .selectFrom('wtc_sessions')
      .selectAll('wtc_sessions')
      .select((eb) => eb.selectFrom('wtc_committed').select(eb.fn.countAll<number>().as('n')).whereRef('wtc_committed.session_id', '=', 'wtc_sessions.id').as('num_committed'));
  }

  async getSession(id: Buffer): Promise<SessionRow | undefined> {
    const r = await this.#sessions(this.db).where('wtc_sessions.id', '=', id).executeTakeFirst();
    return r && sessionRow(r);
  }

  async listSessions(filter: { towerId?: number; blobType?: number } = {}): Promise<SessionRow[]> {
    let q = this.#sessions(this.db);
    if (filter.towerId !== undefined) q = q.where('wtc_sessions.tower_id', '=', filter.towerId);
    if (filter.blobType !== undefined) q = q.where('wtc_sessions.blob_type', '=', filter.blobType);
    return (await q.orderBy('wtc_sessions.created_at').execute()).map(sessionRow);
  }

  async candidateSessions(p: { blobType: number; rewardBase: number; rewardRate: number; sweepFeeRateSatPerKw: bigint }): Promise<SessionRow[]> {
    const rows = await this.#sessions(this.db)
      .innerJoin('wtc_towers', 'wtc_towers.id', 'wtc_sessions.tower_id')
      .where('wtc_towers.status', '=', TOWER_ACTIVE)
      .where('wtc_sessions.status', '=', SESSION_ACTIVE)
      .where('wtc_sessions.blob_type', '=', p.blobType)
      .where('wtc_sessions.reward_base', '=', p.rewardBase)
      .where('wtc_sessions.reward_rate', '=', p.rewardRate)
      .where('wtc_sessions.sweep_fee_rate', '=', Number(p.sweepFeeRateSatPerKw))
      .whereRef('wtc_sessions.seq_num', '<', 'wtc_sessions.max_updates')
      .orderBy('wtc_sessions.created_at')
      .execute();
    return rows.map(sessionRow);
  }

  async sessionsWithCommitted(blobType: number): Promise<SessionRow[]> {
    const rows = await this.#sessions(this.db)
      .innerJoin('wtc_towers', 'wtc_towers.id', 'wtc_sessions.tower_id')
      .where('wtc_towers.status', '=', TOWER_ACTIVE)
      .where('wtc_sessions.status', '=', SESSION_ACTIVE)
      .where('wtc_sessions.blob_type', '=', blobType)
      .where((eb) => eb.exists(eb.selectFrom('wtc_committed').select('seq_num').whereRef('wtc_committed.session_id', '=', 'wtc_sessions.id')))
      .orderBy('wtc_sessions.created_at')
      .execute();
    return rows.map(sessionRow);
  }

  async committedUpdates(sessionId: Buffer): Promise<CommittedUpdate[]> {
    const rows = await this.db.selectFrom('wtc_committed').selectAll().where('session_id', '=', sessionId).orderBy('seq_num').execute();
    return rows.map((r) => ({ seqNum: r.seq_num, backupId: r.backup_id, hint: Buffer.from(r.hint), blob: Buffer.from(r.blob) }));
  }

  terminateSession(id: Buffer, requeue: boolean): Promise<'terminated' | 'already'> {
    return this.#tx(async (tx) => {
      const s = await tx.selectFrom('wtc_sessions').select(['status']).where('id', '=', id).executeTakeFirst();
      if (!s) throw new WtClientStoreError('client session not found');
      if (s.status === SESSION_TERMINAL) return 'already';
      if (requeue) await requeueCommitted(tx, id);
      else {
        const c = await tx.selectFrom('wtc_committed').select('seq_num').where('session_id', '=', id).executeTakeFirst();
        if (c) throw new WtClientStoreError('session has un-acked updates');
      }
      await tx.updateTable('wtc_sessions').set({ status: SESSION_TERMINAL }).where('id', '=', id).execute();
      return 'terminated';
    });
  }

  addBackup(blobType: number, channelId: Buffer, commitHeight: number, breach: string, now: number): Promise<boolean> {
    return this.#tx(async (tx) => {
      const ch = await tx.selectFrom('wtc_channels').select('max_height').where('channel_id', '=', channelId).executeTakeFirst();
      if (ch && commitHeight <= ch.max_height) return false;
      await tx.insertInto('wtc_backups').values({ blob_type: blobType, channel_id: channelId, commit_height: commitHeight, breach, session_id: null, seq_num: null, created_at: now }).execute();
      if (ch) await tx.updateTable('wtc_channels').set({ max_height: commitHeight }).where('channel_id', '=', channelId).execute();
      else await tx.insertInto('wtc_channels').values({ channel_id: channelId, max_height: commitHeight, closed_height: null }).execute();
      return true;
    });
  }

  async pendingBackups(blobType: number, limit: number): Promise<BackupRow[]> {
    const rows = await this.db
      .selectFrom('wtc_backups')
      .select(['id', 'blob_type', 'channel_id', 'commit_height', 'breach'])
      .where('blob_type', '=', blobType)
      .where('session_id', 'is', null)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, blobType: r.blob_type, channelId: Buffer.from(r.channel_id), commitHeight: r.commit_height, breach: r.breach }));
  }

  async countPending(blobType?: number): Promise<number> {
    let q = this.db.selectFrom('wtc_backups').select((eb) => eb.fn.countAll<number>().as('n')).where('session_id', 'is', null);
    if (blobType !== undefined) q = q.where('blob_type', '=', blobType);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  async dropBackup(id: number): Promise<void> {
    await this.db.deleteFrom('wtc_backups').where('id', '=', id).where('session_id', 'is', null).execute();
  }

  commitUpdates(sessionId: Buffer, items: { backupId: number; hint: Buffer; blob: Buffer }[]): Promise<CommittedUpdate[]> {
    return this.#tx(async (tx) => {
      const s = await tx
        .selectFrom('wtc_sessions')
        .innerJoin('wtc_towers', 'wtc_towers.id', 'wtc_sessions.tower_id')
        .select(['wtc_sessions.seq_num', 'wtc_sessions.max_updates', 'wtc_sessions.status', 'wtc_towers.status as tower_status'])
        .where('wtc_sessions.id', '=', sessionId)
        .executeTakeFirst();
      if (!s || s.status !== SESSION_ACTIVE || s.tower_status !== TOWER_ACTIVE) return [];
      let seq = s.seq_num;
      const out: CommittedUpdate[] = [];
      for (const it of items) {
        if (seq >= s.max_updates) break;
        const next = seq + 1;
        const r = await tx
          .updateTable('wtc_backups')
          .set({ session_id: sessionId, seq_num: next })
          .where('id', '=', it.backupId)
          .where('session_id', 'is', null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) continue;
        await tx.insertInto('wtc_committed').values({ session_id: sessionId, seq_num: next, backup_id: it.backupId, hint: it.hint, blob: it.blob }).execute();
        seq = next;
        out.push({ seqNum: next, backupId: it.backupId, hint: it.hint, blob: it.blob });
      }
      if (out.length > 0) await tx.updateTable('wtc_sessions').set({ seq_num: seq }).where('id', '=', sessionId).execute();
      return out;
    });
  }

  ackUpdate(sessionId: Buffer, seq: number, lastApplied: number): Promise<AckResult> {
    return this.#tx(async (tx) => {
      const s = await tx.selectFrom('wtc_sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
      if (!s) throw new WtClientStoreError('client session not found');
      // LND ErrUnallocatedLastApplied / ErrLastAppliedReversion.
      if (lastApplied > s.seq_num) throw new WtClientStoreError(`tower acked last_applied ${lastApplied} beyond our seq_num ${s.seq_num}`);
      if (lastApplied < s.tower_last_applied) throw new WtClientStoreError(`tower's last_applied went back from ${s.tower_last_applied} to ${lastApplied}`);
      const c = await tx.selectFrom('wtc_committed').select('backup_id').where('session_id', '=', sessionId).where('seq_num', '=', seq).executeTakeFirst();
      if (!c) {
        await tx.updateTable('wtc_sessions').set({ tower_last_applied: lastApplied }).where('id', '=', sessionId).execute();
        return { kind: 'unknown' };
      }
      await tx.deleteFrom('wtc_committed').where('session_id', '=', sessionId).where('seq_num', '=', seq).execute();
      const b = await tx.selectFrom('wtc_backups').select('channel_id').where('id', '=', c.backup_id).executeTakeFirst();
      await tx.deleteFrom('wtc_backups').where('id', '=', c.backup_id).execute();
      await tx.updateTable('wtc_sessions').set({ tower_last_applied: lastApplied, num_acked: s.num_acked + 1 }).where('id', '=', sessionId).execute();
      if (b) {
        await tx
          .insertInto('wtc_session_channels')
          .values({ session_id: sessionId, channel_id: b.channel_id, num_acked: 1 })
          .onConflict((oc) => oc.columns(['session_id', 'channel_id']).doUpdateSet((eb) => ({ num_acked: eb('wtc_session_channels.num_acked', '+', 1) })))
          .execute();
      }
      const left = await tx.selectFrom('wtc_committed').select('seq_num').where('session_id', '=', sessionId).executeTakeFirst();
      return { kind: 'acked', exhausted: s.seq_num >= s.max_updates && !left };
    });
  }

  markChannelClosed(channelId: Buffer, height: number): Promise<Buffer[]> {
    return this.#tx(async (tx) => {
      await tx
        .insertInto('wtc_channels')
        .values({ channel_id: channelId, max_height: 0, closed_height: height })
        .onConflict((oc) => oc.column('channel_id').doUpdateSet({ closed_height: height }))
        .execute();
      const sessions = await tx.selectFrom('wtc_session_channels').select('session_id').where('channel_id', '=', channelId).execute();
      const out: Buffer[] = [];
      for (const { session_id } of sessions) {
        if (await closable(tx, Buffer.from(session_id))) {
          await tx.updateTable('wtc_sessions').set({ closable_height: height }).where('id', '=', session_id).where('closable_height', 'is', null).execute();
          out.push(Buffer.from(session_id));
        }
      }
      return out;
    });
  }

  markClosableSessions(height: number): Promise<Buffer[]> {
    return this.#tx(async (tx) => {
      const rows = await tx
        .selectFrom('wtc_sessions')
        .select('id')
        .where('closable_height', 'is', null)
        .where((eb) => eb.or([eb('status', '=', SESSION_TERMINAL), eb('seq_num', '>=', eb.ref('max_updates'))]))
        .where((eb) => eb.not(eb.exists(eb.selectFrom('wtc_committed').select('seq_num').whereRef('wtc_committed.session_id', '=', 'wtc_sessions.id'))))
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('wtc_session_channels')
                .innerJoin('wtc_channels', 'wtc_channels.channel_id', 'wtc_session_channels.channel_id')
                .select('wtc_channels.channel_id')
                .whereRef('wtc_session_channels.session_id', '=', 'wtc_sessions.id')
                .where('wtc_channels.closed_height', 'is', null),
            ),
          ),
        )
        // An exhausted session with no acked channel at all is left alone (nothing says it is done with).
        .where((eb) => eb.or([eb('status', '=', SESSION_TERMINAL), eb('num_acked', '>', 0)]))
        .execute();
      for (const r of rows) await tx.updateTable('wtc_sessions').set({ closable_height: height }).where('id', '=', r.id).execute();
      return rows.map((r) => Buffer.from(r.id));
    });
  }

  async closableSessions(): Promise<{ id: Buffer; height: number }[]> {
    const rows = await this.db.selectFrom('wtc_sessions').select(['id', 'closable_height']).where('closable_height', 'is not', null).execute();
    return rows.map((r) => ({ id: Buffer.from(r.id), height: r.closable_height! }));
  }

  deleteSession(id: Buffer): Promise<boolean> {
    return this.#tx(async (tx) => {
      const s = await tx.selectFrom('wtc_sessions').select(['closable_height', 'tower_id']).where('id', '=', id).executeTakeFirst();
      if (!s || s.closable_height === null) return false;
      const channels = await tx.selectFrom('wtc_session_channels').select('channel_id').where('session_id', '=', id).execute();
      await tx.deleteFrom('wtc_session_channels').where('session_id', '=', id).execute();
      await tx.deleteFrom('wtc_sessions').where('id', '=', id).execute();
      for (const { channel_id } of channels) {
        const still = await tx.selectFrom('wtc_session_channels').select('session_id').where('channel_id', '=', channel_id).executeTakeFirst();
        const queued = await tx.selectFrom('wtc_backups').select('id').where('channel_id', '=', channel_id).executeTakeFirst();
        if (!still && !queued) await tx.deleteFrom('wtc_channels').where('channel_id', '=', channel_id).where('closed_height', 'is not', null).execute();
      }
      return true;
    });
  }
}

/** Committed updates of a session back to the queue (their breach data is still there), commits deleted. */
async function requeueCommitted(tx: Transaction<Schema>, sessionId: Buffer): Promise<number> {
  const r = await tx.updateTable('wtc_backups').set({ session_id: null, seq_num: null }).where('session_id', '=', sessionId).executeTakeFirst();
  await tx.deleteFrom('wtc_committed').where('session_id', '=', sessionId).execute();
  return Number(r.numUpdatedRows);
}

/**
 * LND `isSessionClosable`: no committed updates; exhausted or terminal; every channel with acked updates
 * in it closed (a terminal session with no acked updates qualifies too).
 */
async function closable(tx: Transaction<Schema>, sessionId: Buffer): Promise<boolean> {
  const s = await tx.selectFrom('wtc_sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
  if (!s) return false;
  const committed = await tx.selectFrom('wtc_committed').select('seq_num').where('session_id', '=', sessionId).executeTakeFirst();
  if (committed) return false;
  if (s.status !== SESSION_TERMINAL && s.seq_num < s.max_updates) return false;
  const open = await tx
    .selectFrom('wtc_session_channels')
    .innerJoin('wtc_channels', 'wtc_channels.channel_id', 'wtc_session_channels.channel_id')
    .select('wtc_channels.channel_id')
    .where('wtc_session_channels.session_id', '=', sessionId)
    .where('wtc_channels.closed_height', 'is', null)
    .executeTakeFirst();
  return !open;
}
