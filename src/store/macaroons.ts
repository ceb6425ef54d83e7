import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

/** Macaroon root keys by storage id; the same shape the LND RPC layer's RootKeyStore expects. */
export interface RootKeyRepository {
  getRootKey(id: string): Promise<Buffer | undefined>;
  /** The key for `id`, created (32 random bytes, committed) on first use. */
  createRootKey(id: string): Promise<Buffer>;
}

export class SqlRootKeyRepository implements RootKeyRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async getRootKey(id: string): Promise<Buffer | undefined> {
    const row = await this.db.selectFrom('macaroon_root_keys').select('root_key').where('id', '=', id).executeTakeFirst();
    return row ? Buffer.from(row.root_key) : undefined;
  }

  async createRootKey(id: string): Promise<Buffer> {
    // Insert-or-keep in one statement, then read back: two concurrent callers end with the same key.
    await this.db
      .insertInto('macaroon_root_keys')
      .values({ id, root_key: randomBytes(32), created_at: Date.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    return (await this.getRootKey(id))!;
  }
}
