/**
 * Our forwarding policy per channel, as set by `setchannel` / `UpdateChannelPolicy` (migration
 * `0012_channel_policies`). Written before the `channel_update` that announces it is signed, so what a
 * peer was told is always what a restart finds. Integers are read through Number() (PostgreSQL's driver
 * gives a bigint as a string); msat limits are decimal text.
 */
import type { Kysely } from 'kysely';

export type ChannelPolicyTable = {
  channel_id: string;
  fee_base_msat: number;
  fee_ppm: number;
  cltv_expiry_delta: number;
  htlc_minimum_msat: string | null;
  htlc_maximum_msat: string | null;
  ignore_fee_limits: number;
  previous_fee_base_msat: number | null;
  previous_fee_ppm: number | null;
  previous_cltv_expiry_delta: number | null;
  previous_until: number | null;
  updated_at: number;
};

export type PolicyTables = { channel_policies: ChannelPolicyTable };

/** The fees (and CLTV delta) in force before the last change, still honoured until `until` (unix s). */
export interface PreviousPolicy {
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
  until: number;
}

export interface StoredPolicy {
  /** Hex. */
  channelId: string;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
  /** Undefined: what the peer accepts (its htlc_minimum_msat). */
  htlcMinimumMsat: bigint | undefined;
  /** Undefined: what the channel allows (the peer's max_htlc_value_in_flight, the capacity). */
  htlcMaximumMsat: bigint | undefined;
  ignoreFeeLimits: boolean;
  previous: PreviousPolicy | undefined;
  /** Unix seconds. */
  updatedAt: number;
}

export interface PolicyRepository {
  list(): Promise<StoredPolicy[]>;
  get(channelId: string): Promise<StoredPolicy | undefined>;
  /** Writes several channels' policies in one transaction (setchannel "all" is one commit). */
  put(policies: StoredPolicy[]): Promise<void>;
  remove(channelId: string): Promise<void>;
}

const big = (v: string | null): bigint | undefined => (v === null ? undefined : BigInt(v));
const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function fromRow(r: ChannelPolicyTable): StoredPolicy {
  const until = num(r.previous_until);
  return {
    channelId: r.channel_id,
    feeBaseMsat: Number(r.fee_base_msat),
    feeProportionalMillionths: Number(r.fee_ppm),
    cltvExpiryDelta: Number(r.cltv_expiry_delta),
    htlcMinimumMsat: big(r.htlc_minimum_msat),
    htlcMaximumMsat: big(r.htlc_maximum_msat),
    ignoreFeeLimits: Number(r.ignore_fee_limits) !== 0,
    previous:
      until === null
        ? undefined
        : { feeBaseMsat: num(r.previous_fee_base_msat)!, feeProportionalMillionths: num(r.previous_fee_ppm)!, cltvExpiryDelta: num(r.previous_cltv_expiry_delta)!, until },
    updatedAt: Number(r.updated_at),
  };
}

function toRow(p: StoredPolicy): ChannelPolicyTable {
  return {
    channel_id: p.channelId,
    fee_base_msat: p.feeBaseMsat,
    fee_ppm: p.feeProportionalMillionths,
    cltv_expiry_delta: p.cltvExpiryDelta,
    htlc_minimum_msat: p.htlcMinimumMsat === undefined ? null : p.htlcMinimumMsat.toString(),
    htlc_maximum_msat: p.htlcMaximumMsat === undefined ? null : p.htlcMaximumMsat.toString(),
    ignore_fee_limits: p.ignoreFeeLimits ? 1 : 0,
    previous_fee_base_msat: p.previous?.feeBaseMsat ?? null,
    previous_fee_ppm: p.previous?.feeProportionalMillionths ?? null,
    previous_cltv_expiry_delta: p.previous?.cltvExpiryDelta ?? null,
    previous_until: p.previous?.until ?? null,
    updated_at: p.updatedAt,
  };
}

/** `db` is the store's Kysely handle, whatever its schema type: the policy table is added to it. */
export class SqlPolicyRepository implements PolicyRepository {
  readonly #db: Kysely<PolicyTables>;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(db: Kysely<any>) {
    this.#db = db.withTables<PolicyTables>() as unknown as Kysely<PolicyTables>;
  }

  async list(): Promise<StoredPolicy[]> {
    const rows = await this.#db.selectFrom('channel_policies').selectAll().orderBy('channel_id').execute();
    return rows.map(fromRow);
  }

  async get(channelId: string): Promise<StoredPolicy | undefined> {
    const r = await this.#db.selectFrom('channel_policies').selectAll().where('channel_id', '=', channelId).executeTakeFirst();
    return r === undefined ? undefined : fromRow(r);
  }

  async put(policies: StoredPolicy[]): Promise<void> {
    if (policies.length === 0) return;
    await this.#db.transaction().execute(async (tx) => {
      for (const p of policies) {
        const row = toRow(p);
        const { channel_id: _, ...rest } = row;
        await tx.insertInto('channel_policies').values(row).onConflict((oc) => oc.column('channel_id').doUpdateSet(rest)).execute();
      }
    });
  }

  async remove(channelId: string): Promise<void> {
    await this.#db.deleteFrom('channel_policies').where('channel_id', '=', channelId).execute();
  }
}
