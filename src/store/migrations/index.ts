import { sql, type Kysely, type Migration } from 'kysely';

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
};
