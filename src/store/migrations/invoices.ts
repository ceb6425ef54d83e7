import type { Kysely, Migration } from 'kysely';
import { autoId } from './portable.js';

/**
 * The invoice book (src/store/invoices.ts): invoices and their counters. Kysely's schema builder with
 * portable types only (text, bigint; `autoId` for the key), so SQLite and PostgreSQL share it.
 */
export const invoicesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('invoices')
      .$call(autoId(db, 'id'))
      .addColumn('label', 'text', (c) => c.notNull().unique())
      .addColumn('payment_hash', 'text', (c) => c.notNull().unique())
      .addColumn('preimage', 'text', (c) => c.notNull())
      .addColumn('payment_secret', 'text', (c) => c.notNull())
      .addColumn('amount_msat', 'text')
      .addColumn('description', 'text')
      .addColumn('bolt11', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('min_final_cltv_expiry', 'bigint', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('pay_index', 'bigint', (c) => c.unique())
      .addColumn('amount_received_msat', 'text')
      .addColumn('paid_at', 'bigint')
      .addColumn('paid_parts', 'bigint')
      .addColumn('updated_index', 'bigint')
      .execute();
    await db.schema
      .createTable('invoice_meta')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['invoice_meta', 'invoices']) await db.schema.dropTable(t).execute();
  },
};

/**
 * Which HTLCs paid each invoice (`channel_id/htlc_id`, comma-separated), written with the payment: after
 * a restart the intake fulfils exactly those HTLCs when their channel announces them again, and refuses
 * any other HTLC for a paid invoice.
 */
export const invoiceHtlcsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('invoices').addColumn('paid_htlcs', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('invoices').dropColumn('paid_htlcs').execute();
  },
};
