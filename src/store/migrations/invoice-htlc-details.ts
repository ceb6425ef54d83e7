import type { Kysely, Migration } from 'kysely';

/**
 * What each HTLC paying an invoice was when the intake accepted it (amount, CLTV expiry, the height and
 * time it was accepted, the MPP total it carried), written with the payment beside `paid_htlcs`' names:
 * LND's `Invoice.htlcs`. JSON text (portable: SQLite and PostgreSQL); null for invoices paid before.
 */
export const invoiceHtlcDetailsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('invoices').addColumn('paid_htlc_details', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('invoices').dropColumn('paid_htlc_details').execute();
  },
};
