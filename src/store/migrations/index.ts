import { sql, type Kysely, type Migration } from 'kysely';
import { autoId } from './portable.js';
import { invoiceHtlcsMigration, invoicesMigration } from './invoices.js';
import { paymentsMigration } from './payments.js';
import { forwardsMigration } from './forwards.js';
import { invoiceHtlcDetailsMigration } from './invoice-htlc-details.js';
import { gossipMigration } from '../gossip.js';
import { policyMigration } from './policy.js';
import { missionMigration } from './mission.js';

/**
 * Every schema change is a migration, named so that they sort in order of application. Never edit a
 * migration that has shipped: add the next one.
 *
 * One list for both backends (SQLite and PostgreSQL), so only Kysely's schema builder and portable
 * types: `text`; `bigint` for every integer (64-bit on both: amounts, millisecond times; PostgreSQL's
 * `integer` is 32-bit); `blob` for bytes (on PostgreSQL a domain over `bytea` that the backend creates);
 * `autoId` for a surrogate key. No SQL functions in defaults: the repositories write every value.
 * (0001–0006 shipped with SQLite-only defaults and `integer`; on SQLite the schema they now produce is
 * the same in every way the repositories rely on, and databases created before keep working.)
 */
export const migrations: Record<string, Migration> = {
  '0001_peers': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('peers')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('addresses', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('features', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
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
        .$call(autoId(db, 'id'))
        .addColumn('channel_id', 'text', (c) => c.notNull().unique())
        .addColumn('peer_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('opener', 'text', (c) => c.notNull().check(sql`opener in ('local', 'remote')`))
        .addColumn('short_channel_id', 'text')
        .addColumn('funding_txid', 'text')
        .addColumn('funding_outnum', 'bigint')
        .addColumn('capacity_sat', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
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
        .addColumn('created_at', 'bigint', (c) => c.notNull())
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
        .$call(autoId(db, 'id'))
        .addColumn('pubkey', 'blob', (c) => c.notNull().unique())
        .addColumn('addresses', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('status', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('wtc_key_index')
        .addColumn('tower_id', 'bigint', (c) => c.notNull())
        .addColumn('blob_type', 'bigint', (c) => c.notNull())
        .addColumn('key_index', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('wtc_key_index_pk', ['tower_id', 'blob_type'])
        .execute();
      await db.schema
        .createTable('wtc_meta')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('wtc_sessions')
        .addColumn('id', 'blob', (c) => c.primaryKey())
        .addColumn('tower_id', 'bigint', (c) => c.notNull())
        .addColumn('key_index', 'bigint', (c) => c.notNull())
        .addColumn('blob_type', 'bigint', (c) => c.notNull())
        .addColumn('max_updates', 'bigint', (c) => c.notNull())
        .addColumn('reward_base', 'bigint', (c) => c.notNull())
        .addColumn('reward_rate', 'bigint', (c) => c.notNull())
        .addColumn('sweep_fee_rate', 'bigint', (c) => c.notNull())
        .addColumn('reward_script', 'blob', (c) => c.notNull())
        .addColumn('seq_num', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('tower_last_applied', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('num_acked', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('closable_height', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('wtc_sessions_tower').on('wtc_sessions').columns(['tower_id', 'blob_type']).execute();
      await db.schema
        .createTable('wtc_committed')
        .addColumn('session_id', 'blob', (c) => c.notNull())
        .addColumn('seq_num', 'bigint', (c) => c.notNull())
        .addColumn('backup_id', 'bigint', (c) => c.notNull())
        .addColumn('hint', 'blob', (c) => c.notNull())
        .addColumn('blob', 'blob', (c) => c.notNull())
        .addPrimaryKeyConstraint('wtc_committed_pk', ['session_id', 'seq_num'])
        .execute();
      await db.schema
        .createTable('wtc_backups')
        .$call(autoId(db, 'id'))
        .addColumn('blob_type', 'bigint', (c) => c.notNull())
        .addColumn('channel_id', 'blob', (c) => c.notNull())
        .addColumn('commit_height', 'bigint', (c) => c.notNull())
        .addColumn('breach', 'text', (c) => c.notNull())
        .addColumn('session_id', 'blob')
        .addColumn('seq_num', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('wtc_backups_queue').on('wtc_backups').columns(['blob_type', 'session_id', 'id']).execute();
      await db.schema
        .createTable('wtc_channels')
        .addColumn('channel_id', 'blob', (c) => c.primaryKey())
        .addColumn('max_height', 'bigint', (c) => c.notNull())
        .addColumn('closed_height', 'bigint')
        .execute();
      await db.schema
        .createTable('wtc_session_channels')
        .addColumn('session_id', 'blob', (c) => c.notNull())
        .addColumn('channel_id', 'blob', (c) => c.notNull())
        .addColumn('num_acked', 'bigint', (c) => c.notNull())
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
        .addColumn('vout', 'bigint', (c) => c.notNull())
        .addColumn('amount_sat', 'bigint', (c) => c.notNull())
        .addColumn('script', 'blob', (c) => c.notNull())
        .addColumn('key_kind', 'text', (c) => c.notNull())
        .addColumn('key_branch', 'bigint', (c) => c.notNull())
        .addColumn('key_index', 'bigint', (c) => c.notNull())
        .addColumn('coinbase', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('block_height', 'bigint')
        .addColumn('block_hash', 'text')
        .addColumn('spent_txid', 'text')
        .addColumn('spent_height', 'bigint')
        .addColumn('spent_block_hash', 'text')
        .addColumn('reserved_till', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('wallet_utxos_pk', ['txid', 'vout'])
        .execute();
      await db.schema.createIndex('wallet_utxos_block').on('wallet_utxos').column('block_hash').execute();
      await db.schema.createIndex('wallet_utxos_spent_block').on('wallet_utxos').column('spent_block_hash').execute();
      await db.schema
        .createTable('wallet_txs')
        .addColumn('txid', 'text', (c) => c.primaryKey())
        .addColumn('raw', 'blob', (c) => c.notNull())
        .addColumn('block_height', 'bigint')
        .addColumn('block_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
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
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // One row per revoked counterparty commitment: what the penalty needs if that txid ever shows up.
      await db.schema
        .createTable('channel_revocations')
        .addColumn('txid', 'text', (c) => c.primaryKey())
        .addColumn('channel_id', 'text', (c) => c.notNull())
        .addColumn('commit_num', 'bigint', (c) => c.notNull())
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
  '0007_invoices': invoicesMigration,
  '0008_payments': paymentsMigration,
  '0009_gossip': gossipMigration,
  '0010_invoice_htlcs': invoiceHtlcsMigration,
  '0011_forwards': forwardsMigration,
  '0012_channel_policies': policyMigration,
  '0014_invoice_htlc_details': invoiceHtlcDetailsMigration,
  '0015_mission_control': missionMigration,
};
