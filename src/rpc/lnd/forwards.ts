/**
 * LND's ForwardingHistory (gRPC and `POST /v1/switch`): settled forwards only, as LND's forwarding log
 * holds them, in the time range [start_time, end_time) (seconds; end 0 = now), paged by `index_offset`
 * into that range and `num_max_events` (default 100, at most 50000), with `last_offset_index` the offset
 * of the last event returned.
 */
import { forwardFeeMsat, forwardStore, type NodeCore } from '../../node/core/index.js';
import type { ForwardRecord } from '../../store/forwards.js';
import { chanId } from './channels.js';

type Msg = Record<string, unknown>;
const int = (v: unknown): bigint => BigInt((v as string | number | undefined) ?? 0);

/** LND's default and largest page (rpcserver.go). */
const DEFAULT_EVENTS = 100;
const MAX_EVENTS = 50_000;

function eventJson(f: ForwardRecord): Msg {
  const fee = forwardFeeMsat(f) ?? 0n;
  const out = f.outMsat ?? 0n;
  const at = BigInt(f.resolvedTime ?? f.receivedTime);
  return {
    timestamp: String(at / 1000n),
    timestamp_ns: String(at * 1_000_000n),
    chan_id_in: chanId(f.inScid),
    chan_id_out: chanId(f.outScid),
    amt_in: String(f.inMsat / 1000n),
    amt_out: String(out / 1000n),
    fee: String(fee / 1000n),
    fee_msat: String(fee),
    amt_in_msat: String(f.inMsat),
    amt_out_msat: String(out),
    peer_alias_in: '',
    peer_alias_out: '',
    incoming_htlc_id: String(f.inHtlcId),
    ...(f.outHtlcId !== undefined ? { outgoing_htlc_id: String(f.outHtlcId) } : {}),
  };
}

export async function forwardingHistory(core: NodeCore, req: Msg): Promise<Msg> {
  const store = forwardStore(core);
  const endS = int(req.end_time) === 0n ? BigInt(Math.ceil(Date.now() / 1000)) + 1n : int(req.end_time);
  const offset = Number(int(req.index_offset));
  const asked = Number(int(req.num_max_events));
  const max = Math.min(asked === 0 ? DEFAULT_EVENTS : asked, MAX_EVENTS);
  const rows = await store.settledBetween(Number(int(req.start_time) * 1000n), Number(endS * 1000n), offset, max);
  return { forwarding_events: rows.map(eventJson), last_offset_index: offset + rows.length };
}

export const FORWARD_HANDLERS: Record<string, (req: Msg, core: NodeCore) => Promise<Msg>> = {
  '/lnrpc.Lightning/ForwardingHistory': (req, core) => forwardingHistory(core, req),
};
