/**
 * The gossip store: every announced channel (its `channel_announcement`, funding outpoint, capacity and
 * the latest `channel_update` per direction) and every `node_announcement`, kept as the raw payloads
 * peers signed, so replies to queries and re-broadcasts send exactly what was received, and the graph
 * (`gossip/graph.ts`) is rebuilt from them at start. Short channel ids are decimal text (a u64 does not
 * fit every backend's integer type).
 *
 * Writes are behind: they queue and go in one transaction every {@link FLUSH_MS} or
 * {@link FLUSH_OPS} writes (that write then waits for it), and before every read. Gossip is not a promise
 * to anyone: what a crash loses is fetched again from peers, and an initial sync is not bound by one
 * fsync per message.
 *
 * The migration uses only Kysely's schema builder and portable types (`text`, `bigint`, `blob`); integers
 * are read through Number() (PostgreSQL's driver gives a bigint as a string).
 */
import type { Kysely, Migration } from 'kysely';

export type GossipChannelTable = {
  scid: string;
  announcement: Buffer;
  funding_txid: string;
  funding_vout: number;
  capacity_sat: string;
  update_0: Buffer | null;
  update_1: Buffer | null;
};

export type GossipNodeTable = {
  node_id: string;
  announcement: Buffer;
  timestamp: number;
};

export type GossipTables = {
  gossip_channels: GossipChannelTable;
  gossip_nodes: GossipNodeTable;
};

export const gossipMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('gossip_channels')
      .addColumn('scid', 'text', (c) => c.primaryKey())
      .addColumn('announcement', 'blob', (c) => c.notNull())
      .addColumn('funding_txid', 'text', (c) => c.notNull())
      .addColumn('funding_vout', 'bigint', (c) => c.notNull())
      .addColumn('capacity_sat', 'text', (c) => c.notNull())
      .addColumn('update_0', 'blob')
      .addColumn('update_1', 'blob')
      .execute();
    await db.schema
      .createTable('gossip_nodes')
      .addColumn('node_id', 'text', (c) => c.primaryKey())
      .addColumn('announcement', 'blob', (c) => c.notNull())
      .addColumn('timestamp', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('gossip_nodes').execute();
    await db.schema.dropTable('gossip_channels').execute();
  },
};

export interface StoredChannel {
  scid: bigint;
  announcement: Buffer;
  fundingTxid: string;
  fundingVout: number;
  capacitySat: bigint;
  updates: [Buffer | null, Buffer | null];
}

export const FLUSH_MS = 250;
export const FLUSH_OPS = 2000;

type Op = (db: Kysely<GossipTables>) => Promise<unknown>;

export interface GossipRepository {
  loadChannels(): Promise<StoredChannel[]>;
  loadNodes(): Promise<{ nodeId: string; announcement: Buffer }[]>;
  addChannel(c: Omit<StoredChannel, 'updates'>): Promise<void>;
  setUpdate(scid: bigint, direction: 0 | 1, update: Buffer | null): Promise<void>;
  removeChannel(scid: bigint): Promise<void>;
  setNode(nodeId: string, announcement: Buffer, timestamp: number): Promise<void>;
  removeNode(nodeId: string): Promise<void>;
  /** The raw messages of a channel (for query replies): announcement and both updates. */
  channel(scid: bigint): Promise<StoredChannel | undefined>;
  node(nodeId: string): Promise<Buffer | undefined>;
  /** Writes what is queued now. */
  flush(): Promise<void>;
}

/** `db` is the store's Kysely handle, whatever its schema type: the gossip tables are added to it. */
export class SqlGossipRepository implements GossipRepository {
  readonly #db: Kysely<GossipTables>;
  #pending: Op[] = [];
  #timer: NodeJS.Timeout | undefined;
  #failed: Error | undefined;

  constructor(db: Kysely<any>) {
    this.#db = db.withTables<GossipTables>() as unknown as Kysely<GossipTables>;
  }

  async #queue(op: Op): Promise<void> {
    if (this.#failed) throw this.#failed;
    this.#pending.push(op);
    if (this.#pending.length >= FLUSH_OPS) return this.flush();
    this.#timer ??= setTimeout(() => void this.flush().catch((e: Error) => (this.#failed = e)), FLUSH_MS);
  }

  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      await this.#db.transaction().execute(async (tx) => {
        for (const op of batch) await op(tx);
      });
    }
    if (this.#failed) {
      const e = this.#failed;
      this.#failed = undefined;
      throw e;
    }
  }

  async loadChannels(): Promise<StoredChannel[]> {
    await this.flush();
    const rows = await this.#db.selectFrom('gossip_channels').selectAll().execute();
    return rows.map(toStored);
  }

  async loadNodes(): Promise<{ nodeId: string; announcement: Buffer }[]> {
    await this.flush();
    const rows = await this.#db.selectFrom('gossip_nodes').select(['node_id', 'announcement']).execute();
    return rows.map((r) => ({ nodeId: r.node_id, announcement: Buffer.from(r.announcement) }));
  }

  addChannel(c: Omit<StoredChannel, 'updates'>): Promise<void> {
    return this.#queue((db) =>
      db
        .insertInto('gossip_channels')
        .values({
          scid: c.scid.toString(),
          announcement: c.announcement,
          funding_txid: c.fundingTxid,
          funding_vout: c.fundingVout,
          capacity_sat: c.capacitySat.toString(),
          update_0: null,
          update_1: null,
        })
        .onConflict((oc) => oc.column('scid').doNothing())
        .execute(),
    );
  }

  setUpdate(scid: bigint, direction: 0 | 1, update: Buffer | null): Promise<void> {
    return this.#queue((db) => {
      const q = db.updateTable('gossip_channels').where('scid', '=', scid.toString());
      return (direction === 0 ? q.set({ update_0: update }) : q.set({ update_1: update })).execute();
    });
  }

  removeChannel(scid: bigint): Promise<void> {
    return this.#queue((db) => db.deleteFrom('gossip_channels').where('scid', '=', scid.toString()).execute());
  }

  setNode(nodeId: string, announcement: Buffer, timestamp: number): Promise<void> {
    return this.#queue((db) =>
      db
        .insertInto('gossip_nodes')
        .values({ node_id: nodeId, announcement, timestamp })
        .onConflict((oc) => oc.column('node_id').doUpdateSet({ announcement, timestamp }))
        .execute(),
    );
  }

  removeNode(nodeId: string): Promise<void> {
    return this.#queue((db) => db.deleteFrom('gossip_nodes').where('node_id', '=', nodeId).execute());
  }

  async channel(scid: bigint): Promise<StoredChannel | undefined> {
    await this.flush();
    const r = await this.#db.selectFrom('gossip_channels').selectAll().where('scid', '=', scid.toString()).executeTakeFirst();
    return r && toStored(r);
  }

  async node(nodeId: string): Promise<Buffer | undefined> {
    await this.flush();
    const r = await this.#db.selectFrom('gossip_nodes').select('announcement').where('node_id', '=', nodeId).executeTakeFirst();
    return r && Buffer.from(r.announcement);
  }
}

function toStored(r: GossipChannelTable): StoredChannel {
  return {
    scid: BigInt(r.scid),
    announcement: Buffer.from(r.announcement),
    fundingTxid: r.funding_txid,
    fundingVout: Number(r.funding_vout),
    capacitySat: BigInt(r.capacity_sat),
    updates: [r.update_0 && Buffer.from(r.update_0), r.update_1 && Buffer.from(r.update_1)],
  };
}
