import type { Kysely, Migration } from 'kysely';
import { autoId } from './portable.js';

/**
 * Payments we send (CLN's `payments` table, LND's control tower): one row per payment hash and one per
 * HTLC part, each part written before its `update_add_htlc` leaves. Schema builder and portable types
 * only (SQLite and PostgreSQL); amounts are decimal text so no backend rounds a u64.
 */
export const paymentsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('payments')
      .addColumn('payment_hash', 'text', (c) => c.primaryKey())
      .addColumn('destination', 'text')
      .addColumn('amount_msat', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('group_id', 'bigint', (c) => c.notNull())
      .addColumn('preimage', 'text')
      .addColumn('bolt11', 'text')
      .addColumn('label', 'text')
      .addColumn('failure', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema
      .createTable('payment_parts')
      .$call(autoId(db, 'id'))
      .addColumn('payment_hash', 'text', (c) => c.notNull())
      .addColumn('group_id', 'bigint', (c) => c.notNull())
      .addColumn('part_id', 'bigint', (c) => c.notNull())
      .addColumn('channel_id', 'text', (c) => c.notNull())
      .addColumn('htlc_id', 'bigint', (c) => c.notNull())
      .addColumn('amount_msat', 'text', (c) => c.notNull())
      .addColumn('delivered_msat', 'text', (c) => c.notNull())
      .addColumn('route', 'text', (c) => c.notNull())
      .addColumn('shared_secrets', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('preimage', 'text')
      .addColumn('failure', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema.createIndex('payment_parts_hash').on('payment_parts').column('payment_hash').execute();
    await db.schema.createIndex('payment_parts_htlc').on('payment_parts').columns(['channel_id', 'htlc_id']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['payment_parts', 'payments']) await db.schema.dropTable(t).execute();
  },
};
