import type { Generated } from 'kysely';

/** The database as Kysely sees it; one interface per table. Columns are snake_case as in SQL. */
export interface PeerTable {
  /** 33-byte compressed public key, hex. */
  node_id: string;
  /** JSON array of "host:port" strings, most recent first. */
  addresses: string;
  /** Init features the peer last sent, hex (global and local merged). */
  features: string;
  /** Unix time, milliseconds. */
  last_seen: number;
  created_at: Generated<number>;
}

export interface Schema {
  peers: PeerTable;
}
