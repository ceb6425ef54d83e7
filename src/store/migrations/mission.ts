import type { Kysely, Migration } from 'kysely';

/**
 * Mission control (routing/mission.ts): one row per channel direction (`scid/direction`) with the
 * largest amount that passed and the smallest that failed, their times (unix ms) and the direction's
 * two node ids; one row per node with its last node-level failure. Bounded by the repository (the least
 * recently updated rows go first). Schema builder and portable types only; msat amounts as decimal text.
 */
export const missionMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('mission_pairs')
      .addColumn('pair', 'text', (c) => c.primaryKey())
      .addColumn('node_from', 'text')
      .addColumn('node_to', 'text')
      .addColumn('fail_amt_msat', 'text')
      .addColumn('fail_time', 'bigint')
      .addColumn('success_amt_msat', 'text')
      .addColumn('success_time', 'bigint')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('mission_pairs_updated').on('mission_pairs').column('updated_at').execute();
    await db.schema
      .createTable('mission_nodes')
      .addColumn('node_id', 'text', (c) => c.primaryKey())
      .addColumn('fail_time', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('mission_nodes').execute();
    await db.schema.dropTable('mission_pairs').execute();
  },
};
