import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationResultSet } from 'kysely';
import { SqlChannelDataRepository, type ChannelDataRepository } from './channel-data.js';
import { SqlChannelRepository, type ChannelRepository } from './channels.js';
import { migrations } from './migrations/index.js';
import { SqlRootKeyRepository, type RootKeyRepository } from './macaroons.js';
import { SqlPeerRepository, type PeerRepository } from './peers.js';
import type { Schema } from './schema.js';
import { SqlWalletRepository, type WalletRepository } from './wallet.js';
import { SqlWtClientRepository, type WtClientRepository } from './wtclient.js';

export class StoreError extends Error {
  override name = 'StoreError';
}

/** The database and one repository per domain. Callers only see the repositories. */
export interface Store {
  readonly peers: PeerRepository;
  readonly channels: ChannelRepository;
  /** The channel layer's full state, revocations and counters. */
  readonly channelData: ChannelDataRepository;
  readonly rootKeys: RootKeyRepository;
  /** The watchtower client's towers, sessions and durable backup queue. */
  readonly wtclient: WtClientRepository;
  /** The on-chain wallet's outputs, scan tip and address indexes. */
  readonly wallet: WalletRepository;
  /** Kysely handle, for repositories added by later layers. */
  readonly db: Kysely<Schema>;
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) the SQLite database at `path` and applies pending migrations.
 * WAL with synchronous=FULL: a committed transaction survives power loss, which is what every
 * acknowledgement we send relies on.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(path);
  } catch (err) {
    throw new StoreError(`store: cannot open database ${path}: ${(err as Error).message}`);
  }
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  const result = await migrate(db);
  if (result.error) {
    await db.destroy();
    throw new StoreError(`store: migration failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
  const peers = new SqlPeerRepository(db);
  return {
    db,
    peers,
    channels: new SqlChannelRepository(db),
    channelData: new SqlChannelDataRepository(db),
    rootKeys: new SqlRootKeyRepository(db),
    wtclient: new SqlWtClientRepository(db),
    wallet: new SqlWalletRepository(db),
    async close() {
      await peers.flush();
      await db.destroy();
    },
  };
}

export function migrate(db: Kysely<Schema>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'anode_migrations',
    migrationLockTableName: 'anode_migrations_lock',
  });
  return migrator.migrateToLatest();
}
