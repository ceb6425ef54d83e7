import type { Generated } from 'kysely';

/** The database as Kysely sees it; one interface per table. Columns are snake_case as in SQL. */
export interface PeerTable {
  /** 33-byte compressed public key, hex. */
  node_id: string;
  /** JSON array of "host:port" strings, most recent first. */
  addresses: string;
  /** Init features the peer last sent, hex (global and local merged). */
  features: string;
  /** Unix time, milliseconds. */
  last_seen: number;
  created_at: Generated<number>;
}

/** Channels, with Core Lightning's state names (see channels.ts). */
export interface ChannelTable {
  id: Generated<number>;
  /** 32-byte channel id, hex. */
  channel_id: string;
  /** The peer's node id, hex. */
  peer_id: string;
  /** CLN state name, e.g. CHANNELD_NORMAL. */
  state: string;
  /** 'local' or 'remote'. */
  opener: string;
  short_channel_id: string | null;
  funding_txid: string | null;
  funding_outnum: number | null;
  capacity_sat: number;
  /** Unix time, milliseconds. */
  created_at: number;
  updated_at: number;
}

/** Root keys of the LND-style macaroons (never logged). */
export interface MacaroonRootKeyTable {
  /** The macaroon's storage id (LND uses "0" for the default key). */
  id: string;
  root_key: Buffer;
  created_at: Generated<number>;
}

export interface Schema {
  peers: PeerTable;
  channels: ChannelTable;
  macaroon_root_keys: MacaroonRootKeyTable;
}
