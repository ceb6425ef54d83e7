import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

/** CLN's forward statuses (`listforwards`); LND's forwarding history shows `settled` ones only. */
export type ForwardStatus = 'offered' | 'settled' | 'failed' | 'local_failed';

/** One incoming HTLC we forwarded or refused to forward (CLN's `forwards` row). */
export interface ForwardRecord {
  /** Creation index (CLN's `created_index`). */
  id: number;
  /** The incoming channel's id (hex) and its short channel id when it had one. */
  inChannel: string;
  inScid?: string;
  inHtlcId: bigint;
  inMsat: bigint;
  paymentHash: string;
  /** The outgoing channel (absent when no channel was found). */
  outChannel?: string;
  outScid?: string;
  /** The downstream HTLC's id (absent for `local_failed`). */
  outHtlcId?: bigint;
  /** What we offered downstream (or were asked to, for `local_failed`). */
  outMsat?: bigint;
  status: ForwardStatus;
  /** The downstream preimage, hex (settled). */
  preimage?: string;
  /** BOLT 4 failure code of a local failure. */
  failcode?: number;
  failreason?: string;
  /** What goes back upstream in `update_fail_htlc`, hex (failed, local_failed). */
  upstreamReason?: string;
  /** Unix milliseconds. */
  receivedTime: number;
  resolvedTime?: number;
}

export interface ForwardQuery {
  status?: ForwardStatus;
  inChannel?: string;
  outChannel?: string;
  /** First creation index (CLN's `start` with `index: "created"`). */
  start?: number;
  limit?: number;
}

export interface ForwardRepository {
  get(inChannel: string, inHtlcId: bigint): Promise<ForwardRecord | undefined>;
  /** Inserts (or, for the same incoming HTLC never sent downstream, replaces) the record of an offer. */
  offer(r: Omit<ForwardRecord, 'id' | 'status'>): Promise<ForwardRecord>;
  /** A forward refused here: its failure, and what goes upstream. */
  localFail(r: Omit<ForwardRecord, 'id' | 'status' | 'outHtlcId'>): Promise<ForwardRecord>;
  /** The downstream HTLC was fulfilled: the preimage, before anything goes upstream. False if it was not `offered`. */
  settle(id: number, preimage: string, when: number): Promise<boolean>;
  /** The downstream HTLC failed: what goes upstream. False if it was not `offered`. */
  fail(id: number, upstreamReason: string, failreason: string | undefined, when: number): Promise<boolean>;
  byStatus(status: ForwardStatus): Promise<ForwardRecord[]>;
  list(q?: ForwardQuery): Promise<ForwardRecord[]>;
  /** Settled forwards resolved in [startMs, endMs), in resolution order, after `offset`, at most `max` (LND's ForwardingHistory). */
  settledBetween(startMs: number, endMs: number, offset: number, max: number): Promise<ForwardRecord[]>;
  /** The fees (in − out, msat) of the forwards settled at or after each of `sinceMs` (LND's FeeReport: day, week, month). */
  feesSettledSince(sinceMs: number[]): Promise<bigint[]>;
}

interface ForwardTable {
  id: number | undefined;
  in_channel: string;
  in_scid: string | null;
  in_htlc_id: number;
  in_msat: string;
  payment_hash: string;
  out_channel: string | null;
  out_scid: string | null;
  out_htlc_id: number | null;
  out_msat: string | null;
  status: string;
  preimage: string | null;
  failcode: number | null;
  failreason: string | null;
  upstream_reason: string | null;
  received_time: number;
  resolved_time: number | null;
}

interface ForwardSchema {
  forwards: ForwardTable;
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function record(r: ForwardTable): ForwardRecord {
  return {
    id: Number(r.id),
    inChannel: r.in_channel,
    inScid: opt(r.in_scid),
    inHtlcId: BigInt(r.in_htlc_id),
    inMsat: BigInt(r.in_msat),
    paymentHash: r.payment_hash,
    outChannel: opt(r.out_channel),
    outScid: opt(r.out_scid),
    outHtlcId: r.out_htlc_id === null ? undefined : BigInt(r.out_htlc_id),
    outMsat: r.out_msat === null ? undefined : BigInt(r.out_msat),
    status: r.status as ForwardStatus,
    preimage: opt(r.preimage),
    failcode: r.failcode === null ? undefined : Number(r.failcode),
    failreason: opt(r.failreason),
    upstreamReason: opt(r.upstream_reason),
    receivedTime: Number(r.received_time),
    resolvedTime: r.resolved_time === null ? undefined : Number(r.resolved_time),
  };
}

function row(r: Omit<ForwardRecord, 'id'>): Omit<ForwardTable, 'id'> {
  return {
    in_channel: r.inChannel,
    in_scid: r.inScid ?? null,
    in_htlc_id: Number(r.inHtlcId),
    in_msat: r.inMsat.toString(),
    payment_hash: r.paymentHash,
    out_channel: r.outChannel ?? null,
    out_scid: r.outScid ?? null,
    out_htlc_id: r.outHtlcId === undefined ? null : Number(r.outHtlcId),
    out_msat: r.outMsat === undefined ? null : r.outMsat.toString(),
    status: r.status,
    preimage: r.preimage ?? null,
    failcode: r.failcode ?? null,
    failreason: r.failreason ?? null,
    upstream_reason: r.upstreamReason ?? null,
    received_time: r.receivedTime,
    resolved_time: r.resolvedTime ?? null,
  };
}

/** The forwards repository on Kysely (the store's `db`; the migration is `migrations/forwards.ts`). */
export class SqlForwardRepository implements ForwardRepository {
  readonly #db: Kysely<ForwardSchema>;

  constructor(db: Kysely<Schema>) {
    this.#db = db as unknown as Kysely<ForwardSchema>;
  }

  async get(inChannel: string, inHtlcId: bigint): Promise<ForwardRecord | undefined> {
    const r = await this.#db.selectFrom('forwards').selectAll().where('in_channel', '=', inChannel).where('in_htlc_id', '=', Number(inHtlcId)).executeTakeFirst();
    return r ? record(r) : undefined;
  }

  #put(r: Omit<ForwardRecord, 'id'>): Promise<ForwardRecord> {
    return this.#db.transaction().execute(async (tx) => {
      const values = row(r);
      const old = await tx.selectFrom('forwards').select('id').where('in_channel', '=', r.inChannel).where('in_htlc_id', '=', values.in_htlc_id).executeTakeFirst();
      if (old) {
        await tx.updateTable('forwards').set(values).where('id', '=', old.id!).execute();
        return { ...r, id: Number(old.id) };
      }
      const ins = await tx.insertInto('forwards').values(values).returning('id').executeTakeFirstOrThrow();
      return { ...r, id: Number(ins.id) };
    });
  }

  offer(r: Omit<ForwardRecord, 'id' | 'status'>): Promise<ForwardRecord> {
    return this.#put({ ...r, status: 'offered' });
  }

  localFail(r: Omit<ForwardRecord, 'id' | 'status' | 'outHtlcId'>): Promise<ForwardRecord> {
    return this.#put({ ...r, status: 'local_failed' });
  }

  async settle(id: number, preimage: string, when: number): Promise<boolean> {
    const r = await this.#db.updateTable('forwards').set({ status: 'settled', preimage, resolved_time: when }).where('id', '=', id).where('status', '=', 'offered').executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async fail(id: number, upstreamReason: string, failreason: string | undefined, when: number): Promise<boolean> {
    const r = await this.#db
      .updateTable('forwards')
      .set({ status: 'failed', upstream_reason: upstreamReason, failreason: failreason ?? null, resolved_time: when })
      .where('id', '=', id)
      .where('status', '=', 'offered')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async byStatus(status: ForwardStatus): Promise<ForwardRecord[]> {
    return (await this.#db.selectFrom('forwards').selectAll().where('status', '=', status).orderBy('id').execute()).map(record);
  }

  async list(q: ForwardQuery = {}): Promise<ForwardRecord[]> {
    let s = this.#db.selectFrom('forwards').selectAll();
    if (q.status !== undefined) s = s.where('status', '=', q.status);
    if (q.inChannel !== undefined) s = s.where((e) => e.or([e('in_scid', '=', q.inChannel!), e('in_channel', '=', q.inChannel!)]));
    if (q.outChannel !== undefined) s = s.where((e) => e.or([e('out_scid', '=', q.outChannel!), e('out_channel', '=', q.outChannel!)]));
    if (q.start !== undefined) s = s.where('id', '>=', q.start);
    s = s.orderBy('id');
    if (q.limit !== undefined) s = s.limit(q.limit);
    return (await s.execute()).map(record);
  }

  async settledBetween(startMs: number, endMs: number, offset: number, max: number): Promise<ForwardRecord[]> {
    const rows = await this.#db
      .selectFrom('forwards')
      .selectAll()
      .where('status', '=', 'settled')
      .where('resolved_time', '>=', startMs)
      .where('resolved_time', '<', endMs)
      .orderBy('resolved_time')
      .orderBy('id')
      .offset(offset)
      .limit(max)
      .execute();
    return rows.map(record);
  }

  async feesSettledSince(sinceMs: number[]): Promise<bigint[]> {
    if (sinceMs.length === 0) return [];
    // Amounts are u64 text: summed here as bigints (a portable SQL sum of text would need casts).
    const rows = await this.#db
      .selectFrom('forwards')
      .select(['in_msat', 'out_msat', 'resolved_time'])
      .where('status', '=', 'settled')
      .where('resolved_time', '>=', Math.min(...sinceMs))
      .execute();
    return sinceMs.map((since) => rows.reduce((sum, r) => (Number(r.resolved_time) >= since ? sum + BigInt(r.in_msat) - BigInt(r.out_msat ?? r.in_msat) : sum), 0n));
  }
}
