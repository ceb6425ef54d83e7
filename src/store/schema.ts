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
  /** Unix time, milliseconds (first connection). */
  created_at: number;
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
  created_at: number;
}

/** Watchtower client: towers we back up to (see wtclient.ts). */
export interface WtcTowerTable {
  id: Generated<number>;
  /** 33-byte compressed key. */
  pubkey: Buffer;
  /** JSON array of "host:port", most recent first. */
  addresses: string;
  /** 0 active, 1 inactive. */
  status: number;
  created_at: number;
}

/** Watchtower client: session-key indexes reserved before dialling, per (tower, blob type). */
export interface WtcKeyIndexTable {
  tower_id: number;
  blob_type: number;
  key_index: number;
}

/** Watchtower client: counters (`key_index`: the last session-key index handed out). */
export interface WtcMetaTable {
  name: string;
  value: number;
}

/** Watchtower client sessions (LND ClientSession). */
export interface WtcSessionTable {
  /** 33-byte session id: the public session key. */
  id: Buffer;
  tower_id: number;
  key_index: number;
  blob_type: number;
  max_updates: number;
  reward_base: number;
  reward_rate: number;
  sweep_fee_rate: number;
  reward_script: Buffer;
  /** Last sequence number handed out (committed). */
  seq_num: number;
  tower_last_applied: number;
  /** 0 active, 1 terminal. */
  status: number;
  num_acked: number;
  /** Set once the session is closable: the close height deletion is scheduled from. */
  closable_height: number | null;
  created_at: number;
}

/** Watchtower client: updates committed to a session (sequence, hint, ciphertext), not yet acked. */
export interface WtcCommittedTable {
  session_id: Buffer;
  seq_num: number;
  backup_id: number;
  hint: Buffer;
  blob: Buffer;
}

/** Watchtower client: the durable backup queue (one row per revoked state until the tower acks it). */
export interface WtcBackupTable {
  id: Generated<number>;
  blob_type: number;
  channel_id: Buffer;
  commit_height: number;
  /** Encoded breach data (breach.ts). */
  breach: string;
  /** Set once committed to a session. */
  session_id: Buffer | null;
  seq_num: number | null;
  created_at: number;
}

/** Watchtower client: per channel, the highest height queued and the close height. */
export interface WtcChannelTable {
  channel_id: Buffer;
  max_height: number;
  closed_height: number | null;
}

/** Watchtower client: which sessions hold acked updates of which channel. */
export interface WtcSessionChannelTable {
  session_id: Buffer;
  channel_id: Buffer;
  num_acked: number;
}

/** Wallet: scan tip and address indexes (`scan_height`, `scan_hash`, `next:<kind>:<branch>`). */
export interface WalletMetaTable {
  name: string;
  value: string;
}

/** Wallet: outputs paying our keys (see wallet.ts). */
export interface WalletUtxoTable {
  /** Display order hex. */
  txid: string;
  vout: number;
  amount_sat: number;
  script: Buffer;
  /** 'p2wpkh' or 'p2tr'. */
  key_kind: string;
  /** 0 receive, 1 change. */
  key_branch: number;
  key_index: number;
  /** 1 when created by a coinbase (spendable after 100 confirmations). */
  coinbase: number;
  /** Null while unconfirmed (our own change, before its block). */
  block_height: number | null;
  block_hash: string | null;
  /** The transaction spending it: ours while pending, or the one found in a block. */
  spent_txid: string | null;
  /** Set once the spend is in a block. */
  spent_height: number | null;
  spent_block_hash: string | null;
  /** Reserved (not selectable) up to and including this height. */
  reserved_till: number | null;
  created_at: number;
}

/** Wallet: transactions we built and published. */
export interface WalletTxTable {
  txid: string;
  raw: Buffer;
  block_height: number | null;
  block_hash: string | null;
  created_at: number;
}

export interface Schema {
  peers: PeerTable;
  channels: ChannelTable;
  macaroon_root_keys: MacaroonRootKeyTable;
  wtc_towers: WtcTowerTable;
  wtc_key_index: WtcKeyIndexTable;
  wtc_meta: WtcMetaTable;
  wtc_sessions: WtcSessionTable;
  wtc_committed: WtcCommittedTable;
  wtc_backups: WtcBackupTable;
  wtc_channels: WtcChannelTable;
  wtc_session_channels: WtcSessionChannelTable;
  wallet_meta: WalletMetaTable;
  wallet_utxos: WalletUtxoTable;
  wallet_txs: WalletTxTable;
  channel_data: ChannelDataTable;
  channel_revocations: ChannelRevocationTable;
  channel_meta: ChannelMetaTable;
}

/** The BOLT 2 state of one channel (JSON written by channel/state.ts). */
export interface ChannelDataTable {
  channel_id: string;
  data: string;
  updated_at: number;
}

/** A revoked counterparty commitment, by txid. */
export interface ChannelRevocationTable {
  txid: string;
  channel_id: string;
  commit_num: number;
  data: string;
}

export interface ChannelMetaTable {
  name: string;
  value: string;
}
