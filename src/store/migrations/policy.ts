import type { Kysely, Migration } from 'kysely';

/**
 * Our forwarding policy per channel (CLN's `setchannel`, LND's `UpdateChannelPolicy`): one row per
 * channel whose policy was set; a channel without a row uses the node's defaults (`--fee-base`, …).
 * The fee that was in force before the last change is kept with the time it stops being honoured
 * (`setchannel`'s `enforcedelay`). Schema builder and portable types only (SQLite and PostgreSQL);
 * msat limits are decimal text so no backend rounds a u64.
 */
export const policyMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('channel_policies')
      .addColumn('channel_id', 'text', (c) => c.primaryKey())
      .addColumn('fee_base_msat', 'bigint', (c) => c.notNull())
      .addColumn('fee_ppm', 'bigint', (c) => c.notNull())
      .addColumn('cltv_expiry_delta', 'bigint', (c) => c.notNull())
      .addColumn('htlc_minimum_msat', 'text')
      .addColumn('htlc_maximum_msat', 'text')
      .addColumn('ignore_fee_limits', 'bigint', (c) => c.notNull())
      .addColumn('previous_fee_base_msat', 'bigint')
      .addColumn('previous_fee_ppm', 'bigint')
      .addColumn('previous_cltv_expiry_delta', 'bigint')
      .addColumn('previous_until', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('channel_policies').execute();
  },
};
