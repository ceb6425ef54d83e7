/**
 * The on-chain wallet's storage. Each block's effects (new outputs, spends) and the scan tip are written
 * in one transaction, so after a crash the wallet resumes exactly from the last block it fully recorded.
 *
 * An output row lives from the block that creates it (or from our broadcast, for our change) until a
 * reorg removes that block; `spent_*` records the spend. Disconnecting a block deletes the outputs it
 * created (those of our own transactions go back to unconfirmed) and un-spends what it spent (a spend by
 * our own transaction goes back to pending).
 */
import type { Kysely, Selectable } from 'kysely';
import type { Schema, WalletUtxoTable } from './schema.js';

export interface UtxoRecord {
  txid: string;
  vout: number;
  amountSat: bigint;
  script: Buffer;
  keyKind: string;
  keyBranch: number;
  keyIndex: number;
  coinbase: boolean;
  blockHeight: number | null;
  blockHash: string | null;
  spentTxid: string | null;
  spentHeight: number | null;
  reservedTill: number | null;
}

export interface NewUtxo {
  txid: string;
  vout: number;
  amountSat: bigint;
  script: Uint8Array;
  keyKind: string;
  keyBranch: number;
  keyIndex: number;
  coinbase: boolean;
}

export interface ScanTip {
  height: number;
  hash: string;
}

export interface BlockEffects {
  height: number;
  hash: string;
  created: NewUtxo[];
  spent: { txid: string; vout: number; spentTxid: string }[];
  /** Txids in the block (to confirm our own transactions). */
  ourTxids: string[];
}

export interface WalletRepository {
  getMeta(name: string): Promise<string | undefined>;
  setMeta(name: string, value: string): Promise<void>;
  getScanTip(): Promise<ScanTip | null>;
  setScanTip(tip: ScanTip): Promise<void>;
  /** Records one connected block and moves the scan tip to it, atomically. Idempotent. */
  connectBlock(effects: BlockEffects): Promise<void>;
  /** Undoes the block `tip` (idempotent); the block watcher then moves the scan tip to its parent. */
  disconnectBlock(tip: ScanTip): Promise<void>;
  /** Unspent outputs (unconfirmed included), or every output with `includeSpent`. */
  listUtxos(opts?: { includeSpent?: boolean }): Promise<UtxoRecord[]>;
  /** Highest key index seen in an output, per `kind:branch`. */
  maxUsedIndexes(): Promise<Map<string, number>>;
  /** Reserves outputs up to and including `tillHeight` (null releases them). */
  reserve(outpoints: readonly { txid: string; vout: number }[], tillHeight: number | null): Promise<void>;
  /** Our transaction was published: its inputs are pending spends, reserved; its change is unconfirmed. */
  recordBroadcast(tx: { txid: string; raw: Uint8Array }, spends: readonly { txid: string; vout: number }[], change: readonly NewUtxo[], reservedTill: number): Promise<void>;
  /** Our published transactions not yet in a block. */
  unconfirmedTxs(): Promise<{ txid: string; raw: Buffer }[]>;
  /** Every transaction we published, with its block height once confirmed (listtransactions). */
  publishedTxs(): Promise<{ txid: string; raw: Buffer; blockHeight: number | null }[]>;
}

function toRecord(r: Selectable<WalletUtxoTable>): UtxoRecord {
  return {
    txid: r.txid,
    vout: r.vout,
    amountSat: BigInt(r.amount_sat),
    script: r.script,
    keyKind: r.key_kind,
    keyBranch: r.key_branch,
    keyIndex: r.key_index,
    coinbase: r.coinbase === 1,
    blockHeight: r.block_height,
    blockHash: r.block_hash,
    spentTxid: r.spent_txid,
    spentHeight: r.spent_height,
    reservedTill: r.reserved_till,
  };
}

function utxoRow(u: NewUtxo, block: { height: number; hash: string } | null, now: number): WalletUtxoTable {
  return {
    txid: u.txid,
    vout: u.vout,
    amount_sat: Number(u.amountSat),
    script: Buffer.from(u.script),
    key_kind: u.keyKind,
    key_branch: u.keyBranch,
    key_index: u.keyIndex,
    coinbase: u.coinbase ? 1 : 0,
    block_height: block?.height ?? null,
    block_hash: block?.hash ?? null,
    spent_txid: null,
    spent_height: null,
    spent_block_hash: null,
    reserved_till: null,
    created_at: now,
  };
}

export class SqlWalletRepository implements WalletRepository {
  constructor(private readonly db: Kysely<Schema>) {}

  async getMeta(name: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('wallet_meta').select('value').where('name', '=', name).executeTakeFirst();
    return r?.value;
  }

  async setMeta(name: string, value: string): Promise<void> {
    await this.db.insertInto('wallet_meta').values({ name, value }).onConflict((oc) => oc.column('name').doUpdateSet({ value })).execute();
  }

  async getScanTip(): Promise<ScanTip | null> {
    const rows = await this.db.selectFrom('wallet_meta').selectAll().where('name', 'in', ['scan_height', 'scan_hash']).execute();
    const h = rows.find((r) => r.name === 'scan_height');
    const hash = rows.find((r) => r.name === 'scan_hash');
    if (!h || !hash) return null;
    return { height: Number(h.value), hash: hash.value };
  }

  async setScanTip(tip: ScanTip): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const [name, value] of [['scan_height', String(tip.height)], ['scan_hash', tip.hash]] as const) {
        await trx.insertInto('wallet_meta').values({ name, value }).onConflict((oc) => oc.column('name').doUpdateSet({ value })).execute();
      }
    });
  }

  async connectBlock(e: BlockEffects): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      for (const u of e.created) {
        await trx
          .insertInto('wallet_utxos')
          .values(utxoRow(u, e, now))
          .onConflict((oc) => oc.columns(['txid', 'vout']).doUpdateSet({ block_height: e.height, block_hash: e.hash }))
          .execute();
      }
      for (const s of e.spent) {
        await trx
          .updateTable('wallet_utxos')
          .set({ spent_txid: s.spentTxid, spent_height: e.height, spent_block_hash: e.hash })
          .where('txid', '=', s.txid)
          .where('vout', '=', s.vout)
          .execute();
      }
      if (e.ourTxids.length) {
        await trx.updateTable('wallet_txs').set({ block_height: e.height, block_hash: e.hash }).where('txid', 'in', e.ourTxids).execute();
      }
      for (const [name, value] of [['scan_height', String(e.height)], ['scan_hash', e.hash]] as const) {
        await trx.insertInto('wallet_meta').values({ name, value }).onConflict((oc) => oc.column('name').doUpdateSet({ value })).execute();
      }
    });
  }

  async disconnectBlock(tip: ScanTip): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const ours = trx.selectFrom('wallet_txs').select('txid');
      // Outputs of our own transactions go back to unconfirmed; others vanish with their block.
      await trx.updateTable('wallet_utxos').set({ block_height: null, block_hash: null }).where('block_hash', '=', tip.hash).where('txid', 'in', ours).execute();
      await trx.deleteFrom('wallet_utxos').where('block_hash', '=', tip.hash).execute();
      // Spends by our own transactions go back to pending; others are undone.
      await trx
        .updateTable('wallet_utxos')
        .set({ spent_height: null, spent_block_hash: null })
        .where('spent_block_hash', '=', tip.hash)
        .where('spent_txid', 'in', ours)
        .execute();
      await trx
        .updateTable('wallet_utxos')
        .set({ spent_txid: null, spent_height: null, spent_block_hash: null })
        .where('spent_block_hash', '=', tip.hash)
        .execute();
      await trx.updateTable('wallet_txs').set({ block_height: null, block_hash: null }).where('block_hash', '=', tip.hash).execute();
    });
  }

  async listUtxos(opts: { includeSpent?: boolean } = {}): Promise<UtxoRecord[]> {
    let q = this.db.selectFrom('wallet_utxos').selectAll();
    if (!opts.includeSpent) q = q.where('spent_height', 'is', null);
    const rows = await q.orderBy('block_height', (o) => o.asc().nullsFirst()).orderBy('txid').orderBy('vout').execute();
    return rows.map(toRecord);
  }

  async maxUsedIndexes(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('wallet_utxos')
      .select(['key_kind', 'key_branch', (eb) => eb.fn.max('key_index').as('max_index')])
      .groupBy(['key_kind', 'key_branch'])
      .execute();
    return new Map(rows.map((r) => [`${r.key_kind}:${r.key_branch}`, Number(r.max_index)]));
  }

  async reserve(outpoints: readonly { txid: string; vout: number }[], tillHeight: number | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const o of outpoints) {
        await trx.updateTable('wallet_utxos').set({ reserved_till: tillHeight }).where('txid', '=', o.txid).where('vout', '=', o.vout).execute();
      }
    });
  }

  async recordBroadcast(tx: { txid: string; raw: Uint8Array }, spends: readonly { txid: string; vout: number }[], change: readonly NewUtxo[], reservedTill: number): Promise<void> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('wallet_txs')
        .values({ txid: tx.txid, raw: Buffer.from(tx.raw), block_height: null, block_hash: null, created_at: now })
        .onConflict((oc) => oc.column('txid').doNothing())
        .execute();
      for (const o of spends) {
        await trx
          .updateTable('wallet_utxos')
          .set({ spent_txid: tx.txid, reserved_till: reservedTill })
          .where('txid', '=', o.txid)
          .where('vout', '=', o.vout)
          .where('spent_height', 'is', null)
          .execute();
      }
      for (const u of change) {
        await trx.insertInto('wallet_utxos').values(utxoRow(u, null, now)).onConflict((oc) => oc.columns(['txid', 'vout']).doNothing()).execute();
      }
    });
  }

  async unconfirmedTxs(): Promise<{ txid: string; raw: Buffer }[]> {
    return this.db.selectFrom('wallet_txs').select(['txid', 'raw']).where('block_height', 'is', null).orderBy('created_at').execute();
  }

  async publishedTxs(): Promise<{ txid: string; raw: Buffer; blockHeight: number | null }[]> {
    const rows = await this.db.selectFrom('wallet_txs').select(['txid', 'raw', 'block_height']).orderBy('created_at').execute();
    return rows.map((r) => ({ txid: r.txid, raw: r.raw, blockHeight: r.block_height }));
  }
}
