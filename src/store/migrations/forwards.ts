import type { Kysely, Migration } from 'kysely';
import { autoId } from './portable.js';

/**
 * HTLCs we forward (CLN's `forwards` table, LND's forwarding log): one row per incoming HTLC whose onion
 * said "forward", written before the downstream `update_add_htlc` leaves (or when it is refused here:
 * `local_failed`). Schema builder and portable types only (SQLite and PostgreSQL); amounts are decimal
 * text so no backend rounds a u64; times are Unix milliseconds.
 */
export const forwardsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('forwards')
      .$call(autoId(db, 'id'))
      .addColumn('in_channel', 'text', (c) => c.notNull())
      .addColumn('in_scid', 'text')
      .addColumn('in_htlc_id', 'bigint', (c) => c.notNull())
      .addColumn('in_msat', 'text', (c) => c.notNull())
      .addColumn('payment_hash', 'text', (c) => c.notNull())
      .addColumn('out_channel', 'text')
      .addColumn('out_scid', 'text')
      .addColumn('out_htlc_id', 'bigint')
      .addColumn('out_msat', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('preimage', 'text')
      .addColumn('failcode', 'bigint')
      .addColumn('failreason', 'text')
      .addColumn('upstream_reason', 'text')
      .addColumn('received_time', 'bigint', (c) => c.notNull())
      .addColumn('resolved_time', 'bigint')
      .execute();
    await db.schema.createIndex('forwards_in').on('forwards').columns(['in_channel', 'in_htlc_id']).unique().execute();
    await db.schema.createIndex('forwards_out').on('forwards').columns(['out_channel', 'out_htlc_id']).execute();
    await db.schema.createIndex('forwards_status').on('forwards').column('status').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('forwards').execute();
  },
};
