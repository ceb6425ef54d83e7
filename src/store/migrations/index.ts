import { sql, type Kysely, type Migration } from 'kysely';
import { gossipMigration } from '../gossip.js';

/**
 * Every schema change is a migration, named so that they sort in order of application. Never edit a
 * migration that has shipped: add the next one.
 */
export const migrations: Record<string, Migration> = {
  '0001_peers': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('peers')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('addresses', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('features', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('last_seen', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull().defaultTo(sql`(unixepoch() * 1000)`))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('peers').execute();
    },
  },
  '0002_channels': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('channels')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('channel_id', 'text', (c) => c.notNull().unique())
        .addColumn('peer_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('opener', 'text', (c) => c.notNull().check(sql`opener in ('local', 'remote')`))
        .addColumn('short_channel_id', 'text')
        .addColumn('funding_txid', 'text')
        .addColumn('funding_outnum', 'integer')
        .addColumn('capacity_sat', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('channels_peer_id').on('channels').column('peer_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('channels').execute();
    },
  },
  '0003_macaroon_root_keys': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('macaroon_root_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('root_key', 'blob', (c) => c.notNull())
        .addColumn('created_at', 'integer', (c) => c.notNull().defaultTo(sql`(unixepoch() * 1000)`))
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('macaroon_root_keys').execute();
    },
  },
  '0004_wtclient': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('wtc_towers')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('pubkey', 'blob', (c) => c.notNull().unique())
        .addColumn('addresses', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('wtc_key_index')
        .addColumn('tower_id', 'integer', (c) => c.notNull())
        .addColumn('blob_type', 'integer', (c) => c.notNull())
        .addColumn('key_index', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('wtc_key_index_pk', ['tower_id', 'blob_type'])
        .execute();
      await db.schema
        .createTable('wtc_meta')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('wtc_sessions')
        .addColumn('id', 'blob', (c) => c.primaryKey())
        .addColumn('tower_id', 'integer', (c) => c.notNull())
        .addColumn('key_index', 'integer', (c) => c.notNull())
        .addColumn('blob_type', 'integer', (c) => c.notNull())
        .addColumn('max_updates', 'integer', (c) => c.notNull())
        .addColumn('reward_base', 'integer', (c) => c.notNull())
        .addColumn('reward_rate', 'integer', (c) => c.notNull())
        .addColumn('sweep_fee_rate', 'integer', (c) => c.notNull())
        .addColumn('reward_script', 'blob', (c) => c.notNull())
        .addColumn('seq_num', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('tower_last_applied', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('num_acked', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('closable_height', 'integer')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('wtc_sessions_tower').on('wtc_sessions').columns(['tower_id', 'blob_type']).execute();
      await db.schema
        .createTable('wtc_committed')
        .addColumn('session_id', 'blob', (c) => c.notNull())
        .addColumn('seq_num', 'integer', (c) => c.notNull())
        .addColumn('backup_id', 'integer', (c) => c.notNull())
        .addColumn('hint', 'blob', (c) => c.notNull())
        .addColumn('blob', 'blob', (c) => c.notNull())
        .addPrimaryKeyConstraint('wtc_committed_pk', ['session_id', 'seq_num'])
        .execute();
      await db.schema
        .createTable('wtc_backups')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('blob_type', 'integer', (c) => c.notNull())
        .addColumn('channel_id', 'blob', (c) => c.notNull())
        .addColumn('commit_height', 'integer', (c) => c.notNull())
        .addColumn('breach', 'text', (c) => c.notNull())
        .addColumn('session_id', 'blob')
        .addColumn('seq_num', 'integer')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('wtc_backups_queue').on('wtc_backups').columns(['blob_type', 'session_id', 'id']).execute();
      await db.schema
        .createTable('wtc_channels')
        .addColumn('channel_id', 'blob', (c) => c.primaryKey())
        .addColumn('max_height', 'integer', (c) => c.notNull())
        .addColumn('closed_height', 'integer')
        .execute();
      await db.schema
        .createTable('wtc_session_channels')
        .addColumn('session_id', 'blob', (c) => c.notNull())
        .addColumn('channel_id', 'blob', (c) => c.notNull())
        .addColumn('num_acked', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('wtc_session_channels_pk', ['session_id', 'channel_id'])
        .execute();
      await db.schema.createIndex('wtc_session_channels_channel').on('wtc_session_channels').column('channel_id').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['wtc_session_channels', 'wtc_channels', 'wtc_backups', 'wtc_committed', 'wtc_sessions', 'wtc_meta', 'wtc_key_index', 'wtc_towers']) {
        await db.schema.dropTable(t).execute();
      }
    },
  },
  '0005_wallet': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('wallet_meta')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('wallet_utxos')
        .addColumn('txid', 'text', (c) => c.notNull())
        .addColumn('vout', 'integer', (c) => c.notNull())
        .addColumn('amount_sat', 'integer', (c) => c.notNull())
        .addColumn('script', 'blob', (c) => c.notNull())
        .addColumn('key_kind', 'text', (c) => c.notNull())
        .addColumn('key_branch', 'integer', (c) => c.notNull())
        .addColumn('key_index', 'integer', (c) => c.notNull())
        .addColumn('coinbase', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('block_height', 'integer')
        .addColumn('block_hash', 'text')
        .addColumn('spent_txid', 'text')
        .addColumn('spent_height', 'integer')
        .addColumn('spent_block_hash', 'text')
        .addColumn('reserved_till', 'integer')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('wallet_utxos_pk', ['txid', 'vout'])
        .execute();
      await db.schema.createIndex('wallet_utxos_block').on('wallet_utxos').column('block_hash').execute();
      await db.schema.createIndex('wallet_utxos_spent_block').on('wallet_utxos').column('spent_block_hash').execute();
      await db.schema
        .createTable('wallet_txs')
        .addColumn('txid', 'text', (c) => c.primaryKey())
        .addColumn('raw', 'blob', (c) => c.notNull())
        .addColumn('block_height', 'integer')
        .addColumn('block_hash', 'text')
        .addColumn('created_at', 'integer', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['wallet_txs', 'wallet_utxos', 'wallet_meta']) await db.schema.dropTable(t).execute();
    },
  },
  '0006_channel_data': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The whole BOLT 2 state of each channel (JSON), written in the same transaction as its row in
      // `channels`, before any message that depends on it is sent.
      await db.schema
        .createTable('channel_data')
        .addColumn('channel_id', 'text', (c) => c.primaryKey())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .execute();
      // One row per revoked counterparty commitment: what the penalty needs if that txid ever shows up.
      await db.schema
        .createTable('channel_revocations')
        .addColumn('txid', 'text', (c) => c.primaryKey())
        .addColumn('channel_id', 'text', (c) => c.notNull())
        .addColumn('commit_num', 'integer', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('channel_meta')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['channel_meta', 'channel_revocations', 'channel_data']) await db.schema.dropTable(t).execute();
    },
  },
  '0007_gossip': gossipMigration,
};
