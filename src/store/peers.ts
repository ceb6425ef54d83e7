import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

export interface PeerRecord {
  nodeId: string;
  /** "host:port", most recent first. */
  addresses: string[];
  /** Init features, hex. */
  features: string;
  /** Unix time, milliseconds. */
  lastSeen: number;
}

/** Peers we have talked to. Async so that a PostgreSQL implementation fits behind the same interface. */
export interface PeerRepository {
  /** Records a connection: merges `address` at the front of the address list (at most 5 kept). */
  recordConnection(nodeId: string, address: string | undefined, features: string, when: number): Promise<void>;
  get(nodeId: string): Promise<PeerRecord | undefined>;
  list(): Promise<PeerRecord[]>;
  remove(nodeId: string): Promise<void>;
  /** Writes anything still buffered (called before the database closes). */
  flush(): Promise<void>;
}

const MAX_ADDRESSES = 5;

interface PendingConnection {
  nodeId: string;
  address: string | undefined;
  features: string;
  when: number;
  done: { resolve: () => void; reject: (e: Error) => void };
}

/**
 * Connections are recorded in batches: every record arriving within one short window goes into one
 * transaction, so a reconnect storm of a thousand peers costs a handful of commits instead of a
 * thousand synchronous fsyncs on the event loop. (Nothing is promised to a peer on the strength of
 * this record, so the window does not weaken any acknowledgement.)
 */
export class SqlPeerRepository implements PeerRepository {
  #pending: PendingConnection[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly batchWindowMs = 20,
  ) {}

  recordConnection(nodeId: string, address: string | undefined, features: string, when: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ nodeId, address, features, when, done: { resolve, reject } });
      this.#timer ??= setTimeout(() => void this.flush(), this.batchWindowMs);
    });
  }

  /** Writes every pending connection record now, in one transaction. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const p of batch) {
          const row = await tx.selectFrom('peers').select('addresses').where('node_id', '=', p.nodeId).executeTakeFirst();
          const previous: string[] = row ? (JSON.parse(row.addresses) as string[]) : [];
          const addresses = p.address ? [p.address, ...previous.filter((a) => a !== p.address)].slice(0, MAX_ADDRESSES) : previous;
          const values = { addresses: JSON.stringify(addresses), features: p.features, last_seen: p.when };
          await tx
            .insertInto('peers')
            .values({ node_id: p.nodeId, created_at: Date.now(), ...values })
            .onConflict((oc) => oc.column('node_id').doUpdateSet(values))
            .execute();
        }
      });
      for (const p of batch) p.done.resolve();
    } catch (err) {
      for (const p of batch) p.done.reject(err as Error);
    }
  }

  async get(nodeId: string): Promise<PeerRecord | undefined> {
    const row = await this.db.selectFrom('peers').selectAll().where('node_id', '=', nodeId).executeTakeFirst();
    return row && toRecord(row);
  }

  async list(): Promise<PeerRecord[]> {
    const rows = await this.db.selectFrom('peers').selectAll().orderBy('node_id').execute();
    return rows.map(toRecord);
  }

  async remove(nodeId: string): Promise<void> {
    await this.db.deleteFrom('peers').where('node_id', '=', nodeId).execute();
  }
}

function toRecord(row: { node_id: string; addresses: string; features: string; last_seen: number }): PeerRecord {
  return { nodeId: row.node_id, addresses: JSON.parse(row.addresses) as string[], features: row.features, lastSeen: row.last_seen };
}
