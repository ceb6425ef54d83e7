import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

export type PaymentStatus = 'pending' | 'complete' | 'failed';

/** A payment we send, by payment hash (CLN's `listpays` entry, LND's `Payment`). */
export interface PaymentRecord {
  paymentHash: string;
  /** The payee's node id, hex (absent for a `sendpay` whose route we were only given in part). */
  destination?: string;
  /** What the payee is to receive in total, msat. */
  amountMsat: bigint;
  status: PaymentStatus;
  /** Each new attempt of a failed hash is a new group (CLN's `groupid`). */
  groupId: number;
  preimage?: string;
  bolt11?: string;
  label?: string;
  /** The final failure, JSON (see payment/send.ts `PartFailure`). */
  failure?: string;
  /** Unix seconds. */
  createdAt: number;
  completedAt?: number;
}

/** One HTLC of a payment (CLN's `sendpays` row): recorded before its `update_add_htlc` is sent. */
export interface PaymentPart {
  /** Creation index (CLN's `created_index`, LND's `attempt_id`). */
  id: number;
  paymentHash: string;
  groupId: number;
  partId: number;
  channelId: string;
  htlcId: bigint;
  /** The HTLC's amount (what we send, fees included). */
  amountMsat: bigint;
  /** What this part delivers to the payee. */
  deliveredMsat: bigint;
  /** The route, JSON (CLN's `sendpay` route: id, channel, amount_msat, delay). */
  route: string;
  /** The onion's shared secrets, hex, in route order: what attributes a failure. */
  sharedSecrets: string[];
  status: PaymentStatus;
  preimage?: string;
  failure?: string;
  createdAt: number;
  completedAt?: number;
}

export interface PaymentRepository {
  /**
   * Starts (or joins, for another part of the same pending group) the payment of `p.paymentHash`, in one
   * transaction: refused with the existing record when that hash is complete, or pending in another
   * group. A failed hash starts over in the next group. Returns the record as stored.
   */
  begin(p: Omit<PaymentRecord, 'status' | 'groupId' | 'createdAt'> & { groupId?: number; createdAt: number }): Promise<{ ok: true; payment: PaymentRecord } | { ok: false; existing: PaymentRecord }>;
  addPart(part: Omit<PaymentPart, 'id' | 'status'>): Promise<PaymentPart>;
  settlePart(id: number, outcome: { preimage: string } | { failure: string }, when: number): Promise<void>;
  finish(paymentHash: string, outcome: { preimage: string } | { failure: string }, when: number): Promise<void>;
  get(paymentHash: string): Promise<PaymentRecord | undefined>;
  /** Every payment in creation order (ties by payment hash, so the order, and LND's payment_index, is stable). */
  list(): Promise<PaymentRecord[]>;
  /** The 1-based place of `paymentHash` in {@link list}'s order, counted in the database; undefined if unknown. */
  position(paymentHash: string): Promise<number | undefined>;
  /** How many payments are in each status (one grouped count). */
  countByStatus(): Promise<Map<PaymentStatus, number>>;
  /** Parts of one payment, or every part, in creation order. */
  parts(paymentHash?: string): Promise<PaymentPart[]>;
  pendingParts(): Promise<PaymentPart[]>;
}

interface PaymentTable {
  payment_hash: string;
  destination: string | null;
  amount_msat: string;
  status: string;
  group_id: number;
  preimage: string | null;
  bolt11: string | null;
  label: string | null;
  failure: string | null;
  created_at: number;
  completed_at: number | null;
}

interface PartTable {
  id: number | undefined;
  payment_hash: string;
  group_id: number;
  part_id: number;
  channel_id: string;
  /** Written as a bigint (exact to 2^63 − 1 on both backends), read as text (SQLite returns a lossy number past 2^53). */
  htlc_id: bigint | number | string;
  amount_msat: string;
  delivered_msat: string;
  route: string;
  shared_secrets: string;
  status: string;
  preimage: string | null;
  failure: string | null;
  created_at: number;
  completed_at: number | null;
}

interface PaymentSchema {
  payments: PaymentTable;
  payment_parts: PartTable;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function payment(r: PaymentTable): PaymentRecord {
  return {
    paymentHash: r.payment_hash,
    destination: opt(r.destination),
    amountMsat: BigInt(r.amount_msat),
    status: r.status as PaymentStatus,
    groupId: Number(r.group_id),
    preimage: opt(r.preimage),
    bolt11: opt(r.bolt11),
    label: opt(r.label),
    failure: opt(r.failure),
    createdAt: Number(r.created_at),
    completedAt: r.completed_at === null ? undefined : Number(r.completed_at),
  };
}

function part(r: PartTable & { htlc_id_text?: string }): PaymentPart {
  return {
    id: Number(r.id),
    paymentHash: r.payment_hash,
    groupId: Number(r.group_id),
    partId: Number(r.part_id),
    channelId: r.channel_id,
    htlcId: BigInt(r.htlc_id_text ?? r.htlc_id),
    amountMsat: BigInt(r.amount_msat),
    deliveredMsat: BigInt(r.delivered_msat),
    route: r.route,
    sharedSecrets: JSON.parse(r.shared_secrets) as string[],
    status: r.status as PaymentStatus,
    preimage: opt(r.preimage),
    failure: opt(r.failure),
    createdAt: Number(r.created_at),
    completedAt: r.completed_at === null ? undefined : Number(r.completed_at),
  };
}

/** The payments repository on Kysely (the store's `db`; the migration is `migrations/payments.ts`). */
export class SqlPaymentRepository implements PaymentRepository {
  readonly #db: Kysely<PaymentSchema>;

  constructor(db: Kysely<Schema>) {
    this.#db = db as unknown as Kysely<PaymentSchema>;
  }

  begin(p: Parameters<PaymentRepository['begin']>[0]): ReturnType<PaymentRepository['begin']> {
    return this.#db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('payments').selectAll().where('payment_hash', '=', p.paymentHash).executeTakeFirst();
      const existing = row ? payment(row) : undefined;
      if (existing && (existing.status === 'complete' || (existing.status === 'pending' && existing.groupId !== p.groupId))) return { ok: false as const, existing };
      if (existing?.status === 'pending') return { ok: true as const, payment: existing };
      const values: PaymentTable = {
        payment_hash: p.paymentHash,
        destination: p.destination ?? null,
        amount_msat: p.amountMsat.toString(),
        status: 'pending',
        group_id: existing ? existing.groupId + 1 : (p.groupId ?? 1),
        preimage: null,
        bolt11: p.bolt11 ?? null,
        label: p.label ?? null,
        failure: null,
        created_at: p.createdAt,
        completed_at: null,
      };
      if (existing) await tx.updateTable('payments').set(values).where('payment_hash', '=', p.paymentHash).execute();
      else await tx.insertInto('payments').values(values).execute();
      return { ok: true as const, payment: payment(values) };
    });
  }

  async addPart(p: Omit<PaymentPart, 'id' | 'status'>): Promise<PaymentPart> {
    const values: PartTable = {
      id: undefined,
      payment_hash: p.paymentHash,
      group_id: p.groupId,
      part_id: p.partId,
      channel_id: p.channelId,
      htlc_id: p.htlcId,
      amount_msat: p.amountMsat.toString(),
      delivered_msat: p.deliveredMsat.toString(),
      route: p.route,
      shared_secrets: JSON.stringify(p.sharedSecrets),
      status: 'pending',
      preimage: null,
      failure: null,
      created_at: p.createdAt,
      completed_at: null,
    };
    const { id: _id, ...insert } = values;
    const r = await this.#db.insertInto('payment_parts').values(insert).returning('id').executeTakeFirstOrThrow();
    return part({ ...values, id: Number(r.id) });
  }

  async settlePart(id: number, outcome: { preimage: string } | { failure: string }, when: number): Promise<void> {
    const set = 'preimage' in outcome ? { status: 'complete', preimage: outcome.preimage } : { status: 'failed', failure: outcome.failure };
    await this.#db.updateTable('payment_parts').set({ ...set, completed_at: when }).where('id', '=', id).where('status', '=', 'pending').execute();
  }

  async finish(paymentHash: string, outcome: { preimage: string } | { failure: string }, when: number): Promise<void> {
    const set = 'preimage' in outcome ? { status: 'complete', preimage: outcome.preimage, failure: null } : { status: 'failed', failure: outcome.failure };
    let q = this.#db.updateTable('payments').set({ ...set, completed_at: when }).where('payment_hash', '=', paymentHash);
    // A failure never overwrites a success (a late part failing after the preimage came back).
    if (!('preimage' in outcome)) q = q.where('status', '=', 'pending');
    await q.execute();
  }

  async get(paymentHash: string): Promise<PaymentRecord | undefined> {
    const r = await this.#db.selectFrom('payments').selectAll().where('payment_hash', '=', paymentHash).executeTakeFirst();
    return r ? payment(r) : undefined;
  }

  async list(): Promise<PaymentRecord[]> {
    return (await this.#db.selectFrom('payments').selectAll().orderBy('created_at').orderBy('payment_hash').execute()).map(payment);
  }

  async countByStatus(): Promise<Map<PaymentStatus, number>> {
    const rows = await this.#db.selectFrom('payments').select(['status', (eb) => eb.fn.countAll<number | string | bigint>().as('n')]).groupBy('status').execute();
    return new Map(rows.map((r) => [r.status as PaymentStatus, Number(r.n)]));
  }

  async position(paymentHash: string): Promise<number | undefined> {
    const p = await this.get(paymentHash);
    if (!p) return undefined;
    const r = await this.#db
      .selectFrom('payments')
      .select((eb) => eb.fn.countAll().as('n'))
      .where((eb) => eb.or([eb('created_at', '<', p.createdAt), eb.and([eb('created_at', '=', p.createdAt), eb('payment_hash', '<', paymentHash)])]))
      .executeTakeFirstOrThrow();
    return Number(r.n) + 1;
  }

  async parts(paymentHash?: string): Promise<PaymentPart[]> {
    let q = this.#parts();
    if (paymentHash !== undefined) q = q.where('payment_hash', '=', paymentHash);
    return (await q.orderBy('id').execute()).map(part);
  }

  async pendingParts(): Promise<PaymentPart[]> {
    return (await this.#parts().where('status', '=', 'pending').orderBy('id').execute()).map(part);
  }

  /** The parts' rows, `htlc_id` also as text: exact past 2^53 whatever number type the driver reads. */
  #parts() {
    return this.#db.selectFrom('payment_parts').selectAll().select((eb) => eb.cast<string>('htlc_id', 'text').as('htlc_id_text'));
  }
}
