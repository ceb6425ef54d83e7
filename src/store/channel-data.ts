import type { Kysely } from 'kysely';
import type { ChannelState } from './channels.js';
import type { Schema } from './schema.js';

/** The summary row `channels` keeps for listings (peer counts, getinfo, disconnect checks). */
export interface ChannelSummary {
  channelId: string;
  peerId: string;
  state: ChannelState;
  opener: 'local' | 'remote';
  shortChannelId: string | null;
  fundingTxid: string;
  fundingOutnum: number;
  capacitySat: number;
  createdAt: number;
}

/**
 * The channel layer's persistent state: one JSON document per channel (written together with its
 * `channels` row in one SQLite transaction), the revoked counterparty commitments by txid, and a few
 * counters. Async so a PostgreSQL implementation fits behind the same interface.
 */
export interface ChannelDataRepository {
  save(summary: ChannelSummary, data: string): Promise<void>;
  loadAll(): Promise<{ channelId: string; data: string }[]>;
  addRevocation(r: { txid: string; channelId: string; commitNum: number; data: string }): Promise<void>;
  findRevocation(txid: string): Promise<{ channelId: string; commitNum: number; data: string } | undefined>;
  /** Next unused channel key index (persisted before it is handed out). */
  nextKeyIndex(): Promise<number>;
  getMeta(name: string): Promise<string | undefined>;
  setMeta(name: string, value: string): Promise<void>;
}

export class SqlChannelDataRepository implements ChannelDataRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async save(s: ChannelSummary, data: string): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('channel_data')
        .values({ channel_id: s.channelId, data, updated_at: now })
        .onConflict((oc) => oc.column('channel_id').doUpdateSet({ data, updated_at: now }))
        .execute();
      const row = {
        peer_id: s.peerId,
        state: s.state,
        opener: s.opener,
        short_channel_id: s.shortChannelId,
        funding_txid: s.fundingTxid,
        funding_outnum: s.fundingOutnum,
        capacity_sat: s.capacitySat,
        updated_at: now,
      };
      await trx
        .insertInto('channels')
        .values({ channel_id: s.channelId, created_at: s.createdAt, ...row })
        .onConflict((oc) => oc.column('channel_id').doUpdateSet(row))
        .execute();
    });
  }

  async loadAll(): Promise<{ channelId: string; data: string }[]> {
    const rows = await this.db.selectFrom('channel_data').select(['channel_id', 'data']).orderBy('channel_id').execute();
    return rows.map((r) => ({ channelId: r.channel_id, data: r.data }));
  }

  async addRevocation(r: { txid: string; channelId: string; commitNum: number; data: string }): Promise<void> {
    await this.db
      .insertInto('channel_revocations')
      .values({ txid: r.txid, channel_id: r.channelId, commit_num: r.commitNum, data: r.data })
      .onConflict((oc) => oc.column('txid').doNothing())
      .execute();
  }

  async findRevocation(txid: string): Promise<{ channelId: string; commitNum: number; data: string } | undefined> {
    const row = await this.db.selectFrom('channel_revocations').selectAll().where('txid', '=', txid).executeTakeFirst();
    return row && { channelId: row.channel_id, commitNum: row.commit_num, data: row.data };
  }

  async nextKeyIndex(): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('channel_meta').select('value').where('name', '=', 'next_key_index').executeTakeFirst();
      const n = row ? Number(row.value) : 0;
      await trx
        .insertInto('channel_meta')
        .values({ name: 'next_key_index', value: String(n + 1) })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: String(n + 1) }))
        .execute();
      return n;
    });
  }

  async getMeta(name: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('channel_meta').select('value').where('name', '=', name).executeTakeFirst();
    return row?.value;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.db
      .insertInto('channel_meta')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
      .execute();
  }
}
