import type { Kysely, Selectable } from 'kysely';
import type { ChannelTable, Schema } from './schema.js';

/**
 * Channel records, with Core Lightning's state names so the JSON-RPC answers (and operators' habits)
 * match CLN's. The channel layer owns the transitions; this repository only stores them.
 */
export const CHANNEL_STATES = [
  'CHANNELD_AWAITING_LOCKIN',
  'CHANNELD_NORMAL',
  'CHANNELD_SHUTTING_DOWN',
  'CLOSINGD_SIGEXCHANGE',
  'CLOSINGD_COMPLETE',
  'AWAITING_UNILATERAL',
  'FUNDING_SPEND_SEEN',
  'ONCHAIN',
  'CLOSED',
  'DUALOPEND_OPEN_INIT',
  'DUALOPEND_AWAITING_LOCKIN',
  'CHANNELD_AWAITING_SPLICE',
  'DUALOPEND_OPEN_COMMITTED',
  'DUALOPEND_OPEN_COMMIT_READY',
] as const;

export type ChannelState = (typeof CHANNEL_STATES)[number];

export function isChannelState(s: string): s is ChannelState {
  return (CHANNEL_STATES as readonly string[]).includes(s);
}

/**
 * States in which the channel needs to talk to the peer (CLN's channel_state_wants_peercomms): a plain
 * `disconnect` is refused while any channel is in one of them.
 */
export const PEER_COMMS_STATES: ReadonlySet<ChannelState> = new Set<ChannelState>([
  'CHANNELD_AWAITING_LOCKIN',
  'DUALOPEND_OPEN_COMMIT_READY',
  'DUALOPEND_OPEN_COMMITTED',
  'DUALOPEND_AWAITING_LOCKIN',
  'CHANNELD_NORMAL',
  'CHANNELD_AWAITING_SPLICE',
  'CHANNELD_SHUTTING_DOWN',
  'CLOSINGD_SIGEXCHANGE',
]);

export function wantsPeerComms(state: ChannelState): boolean {
  return PEER_COMMS_STATES.has(state);
}

/** How `getinfo` counts a channel: num_pending_channels, num_active_channels, num_inactive_channels. */
export function channelStateGroup(state: ChannelState): 'pending' | 'active' | 'inactive' {
  switch (state) {
    case 'CHANNELD_AWAITING_LOCKIN':
    case 'DUALOPEND_OPEN_INIT':
    case 'DUALOPEND_OPEN_COMMIT_READY':
    case 'DUALOPEND_OPEN_COMMITTED':
    case 'DUALOPEND_AWAITING_LOCKIN':
      return 'pending';
    case 'CHANNELD_NORMAL':
    case 'CHANNELD_AWAITING_SPLICE':
    case 'CHANNELD_SHUTTING_DOWN':
    case 'CLOSINGD_SIGEXCHANGE':
      return 'active';
    case 'CLOSINGD_COMPLETE':
    case 'AWAITING_UNILATERAL':
    case 'FUNDING_SPEND_SEEN':
    case 'ONCHAIN':
    case 'CLOSED':
      return 'inactive';
  }
}

export interface ChannelRecord {
  /** 32-byte channel id, hex (the temporary id until funding). */
  channelId: string;
  /** The peer's node id, hex. */
  peerId: string;
  state: ChannelState;
  /** Who opened (funded) the channel. */
  opener: 'local' | 'remote';
  shortChannelId: string | null;
  fundingTxid: string | null;
  fundingOutnum: number | null;
  capacitySat: number;
  /** Unix time, milliseconds. */
  createdAt: number;
  updatedAt: number;
}

export type NewChannel = Pick<ChannelRecord, 'channelId' | 'peerId' | 'state' | 'opener'> &
  Partial<Pick<ChannelRecord, 'shortChannelId' | 'fundingTxid' | 'fundingOutnum' | 'capacitySat' | 'createdAt'>>;

/** Channels by peer. Async so that a PostgreSQL implementation fits behind the same interface. */
export interface ChannelRepository {
  insert(channel: NewChannel): Promise<void>;
  get(channelId: string): Promise<ChannelRecord | undefined>;
  /** A peer's channels, oldest first. */
  listByPeer(peerId: string): Promise<ChannelRecord[]>;
  /** Every channel, oldest first. */
  list(): Promise<ChannelRecord[]>;
  /** Number of channel records (any state) per peer that has at least one. */
  countByPeer(): Promise<Map<string, number>>;
  setState(channelId: string, state: ChannelState, when?: number): Promise<void>;
  remove(channelId: string): Promise<void>;
}

/** A selected row (the table's columns as Kysely reads them, without the surrogate id). */
type Row = Omit<Selectable<ChannelTable>, 'id'>;

export class StoreChannelError extends Error {
  override name = 'StoreChannelError';
}

export class SqlChannelRepository implements ChannelRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async insert(c: NewChannel): Promise<void> {
    if (!isChannelState(c.state)) throw new StoreChannelError(`channels: unknown state '${String(c.state)}'`);
    const now = c.createdAt ?? Date.now();
    await this.db
      .insertInto('channels')
      .values({
        channel_id: c.channelId,
        peer_id: c.peerId,
        state: c.state,
        opener: c.opener,
        short_channel_id: c.shortChannelId ?? null,
        funding_txid: c.fundingTxid ?? null,
        funding_outnum: c.fundingOutnum ?? null,
        capacity_sat: c.capacitySat ?? 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async get(channelId: string): Promise<ChannelRecord | undefined> {
    const row = await this.db.selectFrom('channels').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
    return row && toRecord(row);
  }

  async listByPeer(peerId: string): Promise<ChannelRecord[]> {
    const rows = await this.db.selectFrom('channels').selectAll().where('peer_id', '=', peerId).orderBy('id').execute();
    return rows.map(toRecord);
  }

  async list(): Promise<ChannelRecord[]> {
    const rows = await this.db.selectFrom('channels').selectAll().orderBy('id').execute();
    return rows.map(toRecord);
  }

  async countByPeer(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('channels')
      .select(['peer_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('peer_id')
      .execute();
    return new Map(rows.map((r) => [r.peer_id, Number(r.n)]));
  }

  async setState(channelId: string, state: ChannelState, when = Date.now()): Promise<void> {
    if (!isChannelState(state)) throw new StoreChannelError(`channels: unknown state '${String(state)}'`);
    const r = await this.db.updateTable('channels').set({ state, updated_at: when }).where('channel_id', '=', channelId).executeTakeFirst();
    if (r.numUpdatedRows === 0n) throw new StoreChannelError(`channels: no channel ${channelId}`);
  }

  async remove(channelId: string): Promise<void> {
    await this.db.deleteFrom('channels').where('channel_id', '=', channelId).execute();
  }
}

function toRecord(row: Row): ChannelRecord {
  if (!isChannelState(row.state)) throw new StoreChannelError(`channels: row ${row.channel_id} has unknown state '${row.state}'`);
  return {
    channelId: row.channel_id,
    peerId: row.peer_id,
    state: row.state,
    opener: row.opener === 'remote' ? 'remote' : 'local',
    shortChannelId: row.short_channel_id,
    fundingTxid: row.funding_txid,
    fundingOutnum: row.funding_outnum,
    capacitySat: row.capacity_sat,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
