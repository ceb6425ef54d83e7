/**
 * The invoice book's storage: one row per invoice (CLN's `invoices` table in spirit) and a few counters.
 * Every write runs in one transaction and resolves only after COMMIT, so an invoice string handed to a
 * caller, or a preimage handed to the HTLC intake, always has its row on disk first.
 *
 * Portable by construction (a PostgreSQL backend shares it): text and integer columns only; amounts in
 * millisatoshis as decimal text (exact beyond 2^53); times in Unix seconds.
 */
import type { Generated, Kysely, Selectable } from 'kysely';
import type { Schema } from './schema.js';

/** The `invoices` table; `id` is CLN's `created_index`. */
export interface InvoiceTable {
  id: Generated<number>;
  label: string;
  /** 32 bytes, hex (unique). */
  payment_hash: string;
  /** 32 bytes, hex. */
  preimage: string;
  /** 32 bytes, hex. */
  payment_secret: string;
  /** Decimal msat; null for an invoice of any amount. */
  amount_msat: string | null;
  /** The description as given (null once deleted by `delinvoice desconly`, or for a hash-only invoice created from a hash). */
  description: string | null;
  bolt11: string;
  /** Unix seconds. */
  created_at: number;
  expires_at: number;
  /** The invoice's `c` field: the smallest final CLTV delta an HTLC paying it may carry. */
  min_final_cltv_expiry: number;
  /** 'unpaid' or 'paid' (expiry is computed at read time). */
  state: string;
  pay_index: number | null;
  amount_received_msat: string | null;
  paid_at: number | null;
  /** How many HTLCs paid it. */
  paid_parts: number | null;
  /** The HTLCs that paid it, `channel_id/htlc_id` comma-separated (null before migration 0008 or unpaid). */
  paid_htlcs: string | null;
  /** JSON: each paying HTLC as the intake accepted it ({@link PaidHtlc}, amounts as decimal text); null before migration 0014 or unpaid. */
  paid_htlc_details: string | null;
  updated_index: number | null;
}

/** One HTLC that paid an invoice, as the intake accepted it. */
export interface PaidHtlc {
  /** `channel_id/htlc_id`, as in {@link InvoiceRow.paidHtlcs}. */
  name: string;
  amountMsat: bigint;
  /** Its cltv_expiry. */
  expiryHeight: number;
  /** Our block height and the Unix time (seconds) when the intake took it. */
  acceptHeight: number;
  acceptTime: number;
  /** The payment's total its onion named (the HTLC's own amount without MPP). */
  mppTotalMsat: bigint;
}

export interface InvoiceMetaTable {
  name: string;
  value: number;
}

type InvoiceSchema = Schema & { invoices: InvoiceTable; invoice_meta: InvoiceMetaTable };

export interface InvoiceRow {
  createdIndex: number;
  label: string;
  paymentHash: Buffer;
  preimage: Buffer;
  paymentSecret: Buffer;
  amountMsat: bigint | undefined;
  description: string | undefined;
  bolt11: string;
  createdAt: number;
  expiresAt: number;
  minFinalCltvExpiry: number;
  state: 'unpaid' | 'paid';
  payIndex: number | undefined;
  amountReceivedMsat: bigint | undefined;
  paidAt: number | undefined;
  paidParts: number | undefined;
  /** The HTLCs that paid it (`channel_id/htlc_id`), as the intake named them. */
  paidHtlcs: string[];
  /** What the intake knew of each paying HTLC (none for invoices paid before migration 0014). */
  paidHtlcDetails: PaidHtlc[];
  updatedIndex: number | undefined;
}

export type NewInvoiceRow = Pick<InvoiceRow, 'label' | 'paymentHash' | 'preimage' | 'paymentSecret' | 'amountMsat' | 'description' | 'bolt11' | 'createdAt' | 'expiresAt' | 'minFinalCltvExpiry'>;

export type InvoiceStoreErrorCode = 'DUPLICATE_LABEL' | 'DUPLICATE_HASH';

export class InvoiceStoreError extends Error {
  override name = 'InvoiceStoreError';
  constructor(
    readonly code: InvoiceStoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface InvoiceListQuery {
  /** Order and filter by `created` (id) or `updated` (updated_index; rows never updated are left out). */
  index?: 'created' | 'updated';
  /** Smallest index returned. */
  start?: number;
  limit?: number;
}

/** Async so a PostgreSQL implementation fits behind the same interface. */
export interface InvoiceRepository {
  /** Takes the next preimage index (committed before it is returned, so no index is ever used twice). */
  nextPreimageIndex(): Promise<number>;
  /** Inserts and commits; throws InvoiceStoreError on a duplicate label or payment hash. */
  insert(row: NewInvoiceRow): Promise<InvoiceRow>;
  byHash(paymentHash: Buffer): Promise<InvoiceRow | undefined>;
  byLabel(label: string): Promise<InvoiceRow | undefined>;
  list(q?: InvoiceListQuery): Promise<InvoiceRow[]>;
  /** The paid invoices with pay_index > `after`, in pay order. */
  paidAfter(after: number, limit?: number): Promise<InvoiceRow[]>;
  /**
   * Marks an unpaid invoice paid (pay_index and updated_index from the counters) in one transaction;
   * undefined when it is not unpaid any more (already paid, or deleted).
   */
  markPaid(paymentHash: Buffer, p: { amountReceivedMsat: bigint; parts: number; paidAt: number; htlcs?: readonly (string | PaidHtlc)[] }): Promise<InvoiceRow | undefined>;
  /** How many invoices are unpaid, paid, and expired (unpaid with `expires_at` at or before `now`), counted by the database. */
  countByStatus(now: number): Promise<{ unpaid: number; paid: number; expired: number }>;
  /** Deletes by label; returns whether a row went. */
  delete(label: string): Promise<boolean>;
  /** Removes the description (delinvoice desconly); bumps updated_index. */
  deleteDescription(label: string): Promise<InvoiceRow | undefined>;
}

const hex = (b: Buffer): string => b.toString('hex');
const opt = <T, U>(v: T | null, f: (x: T) => U): U | undefined => (v === null ? undefined : f(v));

function fromRow(r: Selectable<InvoiceTable>): InvoiceRow {
  return {
    createdIndex: r.id,
    label: r.label,
    paymentHash: Buffer.from(r.payment_hash, 'hex'),
    preimage: Buffer.from(r.preimage, 'hex'),
    paymentSecret: Buffer.from(r.payment_secret, 'hex'),
    amountMsat: opt(r.amount_msat, BigInt),
    description: r.description ?? undefined,
    bolt11: r.bolt11,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    minFinalCltvExpiry: Number(r.min_final_cltv_expiry),
    state: r.state === 'paid' ? 'paid' : 'unpaid',
    payIndex: opt(r.pay_index, Number),
    amountReceivedMsat: opt(r.amount_received_msat, BigInt),
    paidAt: opt(r.paid_at, Number),
    paidParts: opt(r.paid_parts, Number),
    paidHtlcs: r.paid_htlcs ? r.paid_htlcs.split(',') : [],
    paidHtlcDetails: r.paid_htlc_details ? parseHtlcDetails(r.paid_htlc_details) : [],
    updatedIndex: opt(r.updated_index, Number),
  };
}

type StoredHtlc = Omit<PaidHtlc, 'amountMsat' | 'mppTotalMsat'> & { amountMsat: string; mppTotalMsat: string };

function parseHtlcDetails(json: string): PaidHtlc[] {
  return (JSON.parse(json) as StoredHtlc[]).map((h) => ({ ...h, amountMsat: BigInt(h.amountMsat), mppTotalMsat: BigInt(h.mppTotalMsat) }));
}

/** The names (`paid_htlcs`) and, when the intake gave them, the details (`paid_htlc_details`) of the paying HTLCs. */
function htlcColumns(htlcs: readonly (string | PaidHtlc)[] | undefined): { paid_htlcs: string | null; paid_htlc_details: string | null } {
  if (!htlcs?.length) return { paid_htlcs: null, paid_htlc_details: null };
  const details = htlcs.filter((h): h is PaidHtlc => typeof h !== 'string');
  const stored: StoredHtlc[] = details.map((h) => ({ ...h, amountMsat: h.amountMsat.toString(), mppTotalMsat: h.mppTotalMsat.toString() }));
  return { paid_htlcs: htlcs.map((h) => (typeof h === 'string' ? h : h.name)).join(','), paid_htlc_details: stored.length ? JSON.stringify(stored) : null };
}

export class SqlInvoiceRepository implements InvoiceRepository {
  private readonly db: Kysely<InvoiceSchema>;

  constructor(db: Kysely<Schema>) {
    this.db = db.withTables<{ invoices: InvoiceTable; invoice_meta: InvoiceMetaTable }>();
  }

  /** Takes counter `name` (starting at 1) inside `trx`. */
  private async take(trx: Kysely<InvoiceSchema>, name: string): Promise<number> {
    const row = await trx.selectFrom('invoice_meta').select('value').where('name', '=', name).executeTakeFirst();
    const value = row ? Number(row.value) + 1 : 1;
    if (row) await trx.updateTable('invoice_meta').set({ value }).where('name', '=', name).execute();
    else await trx.insertInto('invoice_meta').values({ name, value }).execute();
    return value;
  }

  async nextPreimageIndex(): Promise<number> {
    // Index 0 is the first one handed out.
    return this.db.transaction().execute(async (trx) => (await this.take(trx, 'preimage_index')) - 1);
  }

  async insert(row: NewInvoiceRow): Promise<InvoiceRow> {
    return this.db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('invoices').select('id').where('label', '=', row.label).executeTakeFirst()) {
        throw new InvoiceStoreError('DUPLICATE_LABEL', `invoices: duplicate label '${row.label}'`);
      }
      if (await trx.selectFrom('invoices').select('id').where('payment_hash', '=', hex(row.paymentHash)).executeTakeFirst()) {
        throw new InvoiceStoreError('DUPLICATE_HASH', `invoices: duplicate payment hash ${hex(row.paymentHash)}`);
      }
      const inserted = await trx
        .insertInto('invoices')
        .values({
          label: row.label,
          payment_hash: hex(row.paymentHash),
          preimage: hex(row.preimage),
          payment_secret: hex(row.paymentSecret),
          amount_msat: row.amountMsat === undefined ? null : row.amountMsat.toString(),
          description: row.description ?? null,
          bolt11: row.bolt11,
          created_at: row.createdAt,
          expires_at: row.expiresAt,
          min_final_cltv_expiry: row.minFinalCltvExpiry,
          state: 'unpaid',
          pay_index: null,
          amount_received_msat: null,
          paid_at: null,
          paid_parts: null,
          paid_htlcs: null,
          paid_htlc_details: null,
          updated_index: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return fromRow(inserted);
    });
  }

  async byHash(paymentHash: Buffer): Promise<InvoiceRow | undefined> {
    const r = await this.db.selectFrom('invoices').selectAll().where('payment_hash', '=', hex(paymentHash)).executeTakeFirst();
    return r && fromRow(r);
  }

  async byLabel(label: string): Promise<InvoiceRow | undefined> {
    const r = await this.db.selectFrom('invoices').selectAll().where('label', '=', label).executeTakeFirst();
    return r && fromRow(r);
  }

  async list(q: InvoiceListQuery = {}): Promise<InvoiceRow[]> {
    const column = q.index === 'updated' ? 'updated_index' : 'id';
    let query = this.db.selectFrom('invoices').selectAll().orderBy(column);
    if (q.index === 'updated') query = query.where('updated_index', 'is not', null);
    if (q.start !== undefined) query = query.where(column, '>=', q.start);
    if (q.limit !== undefined) query = query.limit(q.limit);
    return (await query.execute()).map(fromRow);
  }

  async paidAfter(after: number, limit?: number): Promise<InvoiceRow[]> {
    let query = this.db.selectFrom('invoices').selectAll().where('pay_index', '>', after).orderBy('pay_index');
    if (limit !== undefined) query = query.limit(limit);
    return (await query.execute()).map(fromRow);
  }

  async markPaid(paymentHash: Buffer, p: { amountReceivedMsat: bigint; parts: number; paidAt: number; htlcs?: readonly (string | PaidHtlc)[] }): Promise<InvoiceRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('invoices').select(['id', 'state']).where('payment_hash', '=', hex(paymentHash)).executeTakeFirst();
      if (!current || current.state !== 'unpaid') return undefined;
      const payIndex = await this.take(trx, 'pay_index');
      const updatedIndex = await this.take(trx, 'updated_index');
      const r = await trx
        .updateTable('invoices')
        .set({ state: 'paid', pay_index: payIndex, updated_index: updatedIndex, amount_received_msat: p.amountReceivedMsat.toString(), paid_at: p.paidAt, paid_parts: p.parts, ...htlcColumns(p.htlcs) })
        .where('id', '=', current.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return fromRow(r);
    });
  }

  async countByStatus(now: number): Promise<{ unpaid: number; paid: number; expired: number }> {
    const byState = await this.db.selectFrom('invoices').select(['state', (eb) => eb.fn.countAll<number | string | bigint>().as('n')]).groupBy('state').execute();
    const expired = await this.db
      .selectFrom('invoices')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('state', '=', 'unpaid')
      .where('expires_at', '<=', now)
      .executeTakeFirstOrThrow();
    const count = (state: string): number => Number(byState.find((r) => r.state === state)?.n ?? 0);
    const e = Number(expired.n);
    return { unpaid: count('unpaid') - e, paid: count('paid'), expired: e };
  }

  async delete(label: string): Promise<boolean> {
    const r = await this.db.deleteFrom('invoices').where('label', '=', label).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async deleteDescription(label: string): Promise<InvoiceRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('invoices').select('id').where('label', '=', label).executeTakeFirst();
      if (!current) return undefined;
      const updatedIndex = await this.take(trx, 'updated_index');
      const r = await trx.updateTable('invoices').set({ description: null, updated_index: updatedIndex }).where('id', '=', current.id).returningAll().executeTakeFirstOrThrow();
      return fromRow(r);
    });
  }
}
