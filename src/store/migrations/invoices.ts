import type { Kysely, Migration } from 'kysely';

/**
 * The invoice book (src/store/invoices.ts): invoices and their counters. Kysely's schema builder with
 * portable types only (text, integer), so SQLite and PostgreSQL share it.
 */
export const invoicesMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('invoices')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('label', 'text', (c) => c.notNull().unique())
      .addColumn('payment_hash', 'text', (c) => c.notNull().unique())
      .addColumn('preimage', 'text', (c) => c.notNull())
      .addColumn('payment_secret', 'text', (c) => c.notNull())
      .addColumn('amount_msat', 'text')
      .addColumn('description', 'text')
      .addColumn('bolt11', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull())
      .addColumn('min_final_cltv_expiry', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('pay_index', 'integer', (c) => c.unique())
      .addColumn('amount_received_msat', 'text')
      .addColumn('paid_at', 'integer')
      .addColumn('paid_parts', 'integer')
      .addColumn('updated_index', 'integer')
      .execute();
    await db.schema
      .createTable('invoice_meta')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'integer', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    for (const t of ['invoice_meta', 'invoices']) await db.schema.dropTable(t).execute();
  },
};
