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
};
