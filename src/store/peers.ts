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
}

const MAX_ADDRESSES = 5;

export class SqlPeerRepository implements PeerRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async recordConnection(nodeId: string, address: string | undefined, features: string, when: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('peers').select('addresses').where('node_id', '=', nodeId).executeTakeFirst();
      const previous: string[] = row ? (JSON.parse(row.addresses) as string[]) : [];
      const addresses = address ? [address, ...previous.filter((a) => a !== address)].slice(0, MAX_ADDRESSES) : previous;
      await tx
        .insertInto('peers')
        .values({ node_id: nodeId, addresses: JSON.stringify(addresses), features, last_seen: when })
        .onConflict((oc) =>
          oc.column('node_id').doUpdateSet({ addresses: JSON.stringify(addresses), features, last_seen: when }),
        )
        .execute();
    });
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
