/**
 * `listforwards`, as lightningd: every HTLC the switch (payment/forward.ts) forwarded or refused, by
 * creation, filtered by status and channels. Channels are named by short channel id.
 */
import { forwardFeeMsat, forwardStore } from '../../../node/core/index.js';
import type { ForwardRecord, ForwardStatus } from '../../../store/forwards.js';
import type { MethodDef } from '../method.js';

/** Unix milliseconds as lightningd's float seconds. */
const seconds = (ms: number): number => ms / 1000;

/** One forward as `listforwards` shows it. */
export function forwardJson(f: ForwardRecord): Record<string, unknown> {
  const fee = forwardFeeMsat(f);
  return {
    created_index: f.id,
    in_channel: f.inScid ?? f.inChannel,
    in_htlc_id: f.inHtlcId,
    in_msat: f.inMsat,
    status: f.status,
    received_time: seconds(f.receivedTime),
    ...(f.outScid !== undefined ? { out_channel: f.outScid } : {}),
    ...(f.outHtlcId !== undefined ? { out_htlc_id: f.outHtlcId } : {}),
    style: 'tlv',
    ...(f.outMsat !== undefined && fee !== undefined ? { fee_msat: fee, out_msat: f.outMsat } : {}),
    ...(f.resolvedTime !== undefined ? { resolved_time: seconds(f.resolvedTime) } : {}),
    ...(f.status === 'local_failed' && f.failcode !== undefined ? { failcode: f.failcode, failreason: f.failreason } : {}),
  };
}

export const listforwards: MethodDef = {
  name: 'listforwards',
  async run(params, { core }) {
    const rows = await forwardStore(core).list({
      ...(params.status !== undefined ? { status: params.status as ForwardStatus } : {}),
      ...(params.in_channel !== undefined ? { inChannel: params.in_channel as string } : {}),
      ...(params.out_channel !== undefined ? { outChannel: params.out_channel as string } : {}),
      ...(params.start !== undefined ? { start: Number(params.start) } : {}),
      ...(params.limit !== undefined ? { limit: Number(params.limit) } : {}),
    });
    return { forwards: rows.map(forwardJson) };
  },
};

export const FORWARD_METHODS: readonly MethodDef[] = [listforwards];
