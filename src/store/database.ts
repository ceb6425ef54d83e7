import { SqlInvoiceRepository } from './invoices.js';
import { SqlPaymentRepository } from './payments.js';
import { SqlForwardRepository } from './forwards.js';
import { SqlGossipRepository } from './gossip.js';
import { SqlPolicyRepository, type PolicyRepository } from './policies.js';
import { SqlMissionRepository, type MissionRepository } from './mission.js';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type MigrationResultSet } from 'kysely';
import { isPostgres } from './migrations/portable.js';
import { isPostgresUrl, redactUrl } from './url.js';
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
  /** The invoice book's invoices and counters. */
  readonly invoices: SqlInvoiceRepository;
  /** Payments we send and their parts. */
  readonly payments: SqlPaymentRepository;
  /** HTLCs we forward (the switch's durable log). */
  readonly forwards: SqlForwardRepository;
  /** The channel graph's signed gossip (BOLT 7). */
  readonly gossip: SqlGossipRepository;
  /** Our forwarding policy per channel (setchannel, UpdateChannelPolicy). */
  readonly policies: PolicyRepository;
  /** What mission control learnt from past payment attempts (routing/mission.ts). */
  readonly mission: MissionRepository;
  /** Which database is behind the repositories. */
  readonly backend: 'sqlite' | 'postgres';
  /** Resolves if the store loses its exclusive hold on the database (PostgreSQL's lock session ended); never on SQLite. */
  readonly lockLost?: Promise<void>;
  close(): Promise<void>;
}

/** The handle behind each store: for repositories in this folder and for tests, never for callers. */
const handles = new WeakMap<Store, Kysely<Schema>>();

/** The Kysely handle of `store`. Only tests (checking what is on disk) and src/store use it. */
export function rawDb(store: Store): Kysely<Schema> {
  const db = handles.get(store);
  if (!db) throw new StoreError('store: not a store opened by openStore');
  return db;
}

/**
 * Opens the store named by `location`, as lightningd's `--wallet`: `postgres://user:pass@host:port/db`
 * (or `postgresql://`), `sqlite3://path`, or a plain path (SQLite).
 */
export function openStore(location: string): Promise<Store> {
  if (isPostgresUrl(location)) return openPostgresStore(location);
  return openSqliteStore(location.startsWith('sqlite3://') ? location.slice('sqlite3://'.length) : location);
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
  await migrateOrThrow(db);
  return repositories(db, 'sqlite', () => db.destroy());
}

/**
 * Opens the PostgreSQL database at `url` and applies pending migrations. One connection, as SQLite has
 * one: the repositories' read-then-write transactions stay serial, as they are on SQLite. Each COMMIT
 * is durable when it returns (synchronous_commit=on). One node per database: a session advisory lock
 * held for the life of the store (freed by the server if the process dies, even by kill -9).
 */
export async function openPostgresStore(url: string): Promise<Store> {
  // Loaded here, not at start-up: a node on SQLite never pays for the driver.
  const { checkConnection, createPool, ensureBlobDomain, NODE_LOCK, postgresKysely, tryAdvisoryLock } = await import('./postgres.js');
  const p = createPool(url, 1);
  await checkConnection(p, url, 'store');
  const lock = await tryAdvisoryLock(p, NODE_LOCK).catch(async (err: Error) => {
    await p.pool.end();
    throw new StoreError(`store: cannot lock ${redactUrl(url)}: ${err.message}`);
  });
  if (!lock) {
    await p.pool.end();
    throw new StoreError(`store: another anode is already using the database ${redactUrl(url)}`);
  }
  const db = postgresKysely<Schema>(p);
  try {
    await ensureBlobDomain(db as Kysely<unknown>);
    await migrateOrThrow(db);
  } catch (err) {
    await db.destroy().catch(() => undefined); // (already ended if the migration failed)
    await lock.release();
    throw err instanceof StoreError ? err : new StoreError(`store: ${(err as Error).message}`);
  }
  return repositories(db, 'postgres', async () => {
    await db.destroy();
    await lock.release();
  }, lock.lost);
}

async function migrateOrThrow(db: Kysely<Schema>): Promise<void> {
  const result = await migrate(db);
  if (result.error) {
    await db.destroy();
    throw new StoreError(`store: migration failed: ${(result.error as Error).message ?? String(result.error)}`);
  }
}

function repositories(db: Kysely<Schema>, backend: Store['backend'], destroy: () => Promise<void>, lockLost?: Promise<void>): Store {
  const peers = new SqlPeerRepository(db);
  const gossip = new SqlGossipRepository(db);
  let closed = false;
  const store: Store = {
    backend,
    ...(lockLost ? { lockLost } : {}),
    peers,
    channels: new SqlChannelRepository(db),
    channelData: new SqlChannelDataRepository(db),
    rootKeys: new SqlRootKeyRepository(db),
    wtclient: new SqlWtClientRepository(db),
    wallet: new SqlWalletRepository(db),
    invoices: new SqlInvoiceRepository(db),
    payments: new SqlPaymentRepository(db),
    forwards: new SqlForwardRepository(db),
    gossip,
    policies: new SqlPolicyRepository(db),
    mission: new SqlMissionRepository(db),
    async close() {
      if (closed) return;
      closed = true;
      await peers.flush();
      await gossip.flush(); // its writes are behind, as the peers': what is queued goes in before the handle closes
      await destroy();
    },
  };
  handles.set(store, db);
  return store;
}

export async function migrate(db: Kysely<Schema>): Promise<MigrationResultSet> {
  const schema = isPostgres(db as Kysely<unknown>) ? await (await import('./postgres.js')).currentSchema(db as Kysely<unknown>) : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'anode_migrations',
    migrationLockTableName: 'anode_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  return migrator.migrateToLatest();
}
