/**
 * LND's `QueryRoutes` (gRPC and `GET /v1/graph/routes/{pub_key}/{amt}`): one route from the pathfinder
 * (routing/pathfind.ts) in LND's `Route` shape — each hop's `amt_to_forward_msat`/`fee_msat`/`expiry` as
 * that hop's node forwards (the final hop: what the payee receives, no fee, its final CLTV), the totals
 * of the HTLC we offer, and the route's success probability. Honours `fee_limit` (none: the amount, as
 * LND), `cltv_limit`, `ignored_nodes`, `ignored_pairs`, `outgoing_chan_id`, `last_hop_pubkey`,
 * `route_hints`, `source_pub_key`; mission control only with `use_mission_control`.
 */
import { CoreError, type NodeCore } from '../../node/core/index.js';
import { ChannelGraph } from '../../gossip/graph.js';
import { scidToString } from '../../gossip/messages.js';
import type { Invoice, RouteHintHop } from '../../invoice/bolt11.js';
import { KEYSEND_FINAL_CLTV_DELTA, parseInvoice } from '../../payment/pay.js';
import { PaymentError } from '../../payment/send.js';
import { localChannels } from '../../payment/send.js';
import { findRoute, MIN_ROUTE_PROBABILITY } from '../../routing/pathfind.js';
import { chanId } from './channels.js';
import { RpcError, Status } from './errors.js';

type Msg = Record<string, unknown>;

/** LND's final CLTV delta when a query gives none (zpay32's default for invoices without `c`). */
const DEFAULT_FINAL_CLTV_DELTA = 18;
/** LND's `--max-cltv-expiry` default: the limit when `cltv_limit` is 0, and the most one may be. */
export const DEFAULT_CLTV_LIMIT = 2016;

const int = (v: unknown): bigint => (v === undefined || v === null || v === '' ? 0n : BigInt(v as string | number));
const hexOf = (v: unknown): string => (Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'string' ? v.toLowerCase() : '');

/** LND's fee limit: fixed sat, fixed msat or a percentage of the amount; none is the amount itself. */
function feeLimit(limit: Msg | undefined, amountMsat: bigint): bigint {
  if (!limit) return amountMsat;
  if (limit.limit === 'fixed' || (limit.limit === undefined && int(limit.fixed) > 0n)) return int(limit.fixed) * 1000n;
  if (limit.limit === 'fixed_msat' || (limit.limit === undefined && int(limit.fixed_msat) > 0n)) return int(limit.fixed_msat);
  if (limit.limit === 'percent' || (limit.limit === undefined && int(limit.percent) > 0n)) return (amountMsat * int(limit.percent)) / 100n;
  return amountMsat;
}

/** LND's `RouteHint`s (lnrpc.RouteHint: hop_hints with uint64 chan_id) as BOLT 11 route hints. */
export function routeHints(list: unknown): RouteHintHop[][] {
  return ((list ?? []) as Msg[]).map((h) =>
    ((h.hop_hints ?? []) as Msg[]).map((x) => ({
      nodeId: Buffer.from(hexOf(x.node_id), 'hex'),
      shortChannelId: scidToString(int(x.chan_id)),
      feeBaseMsat: Number(x.fee_base_msat ?? 0),
      feeProportionalMillionths: Number(x.fee_proportional_millionths ?? 0),
      cltvExpiryDelta: Number(x.cltv_expiry_delta ?? 0),
    })),
  );
}

/**
 * The outgoing channel restriction (`outgoing_chan_ids`, or the deprecated single `outgoing_chan_id`)
 * as the `BLOCKxTXxOUT` ids of our channels; undefined when none is set.
 */
export function outgoingChannels(one: unknown, many: unknown = []): Set<string> | undefined {
  const ids = ((many ?? []) as unknown[]).map(int).filter((x) => x !== 0n);
  const single = int(one);
  if (single !== 0n && ids.length > 0) throw new RpcError(Status.UNKNOWN, 'outgoing_chan_id and outgoing_chan_ids are mutually exclusive');
  if (single !== 0n) ids.push(single);
  return ids.length > 0 ? new Set(ids.map(scidToString)) : undefined;
}

/** `last_hop_pubkey` (LND's route.NewVertexFromBytes: 33 bytes or none). */
export function lastHopOf(v: unknown): string | undefined {
  const hex = hexOf(v);
  if (hex === '') return undefined;
  if (hex.length !== 66) throw new RpcError(Status.UNKNOWN, `invalid vertex length of ${hex.length / 2}, want 33`);
  return hex;
}

export async function queryRoutes(core: NodeCore, req: Msg): Promise<Msg> {
  if (!core.channelManager) throw new CoreError('NOT_ACTIVE', 'routing needs channels (no chain backend)');
  const target = String(req.pub_key ?? '').toLowerCase();
  if (!/^(02|03)[0-9a-f]{64}$/.test(target)) throw new RpcError(Status.UNKNOWN, 'invalid vertex length: pub_key must be a 33-byte hex public key');
  const amt = int(req.amt);
  const amtMsat = int(req.amt_msat);
  if (amt !== 0n && amtMsat !== 0n) throw new RpcError(Status.UNKNOWN, 'sat and msat arguments are mutually exclusive');
  const amountMsat = amtMsat !== 0n ? amtMsat : amt * 1000n;
  if (amountMsat <= 0n) throw new RpcError(Status.UNKNOWN, 'amount must be greater than zero');
  const self = core.nodeId.toString('hex');
  const source = hexOf(req.source_pub_key) || self;
  const outgoing = outgoingChannels(req.outgoing_chan_id);
  const local = source === self ? localChannels(core.channelManager.list()).filter((c) => !outgoing || outgoing.has(c.scid)) : undefined;
  const hints = routeHints(req.route_hints);
  const lastHop = hexOf(req.last_hop_pubkey);
  const route = findRoute(core.graph ?? new ChannelGraph(0), {
    source,
    target,
    amountMsat,
    finalCltvDelta: Number(req.final_cltv_delta ?? 0) || DEFAULT_FINAL_CLTV_DELTA,
    ...(local ? { local } : {}),
    hints,
    maxFeeMsat: feeLimit(req.fee_limit as Msg | undefined, amountMsat),
    maxCltvDelta: Number(req.cltv_limit ?? 0) || DEFAULT_CLTV_LIMIT,
    excludeNodes: new Set(((req.ignored_nodes ?? []) as unknown[]).map(hexOf)),
    excludePairs: new Set(((req.ignored_pairs ?? []) as Msg[]).map((p) => hexOf(p.from) + hexOf(p.to))),
    ...(lastHop ? { lastHop } : {}),
    ...(req.use_mission_control === true && core.payments ? { mission: core.payments.mission } : {}),
    minProbability: MIN_ROUTE_PROBABILITY,
  });
  if (!route) throw new RpcError(Status.UNKNOWN, 'unable to find a path to destination');
  const height = core.channelManager.blockHeight;
  const capacity = new Map(core.channelManager.list().map((c) => [c.id, c.data.fundingSat]));
  const hops = route.hops.map((h, i) => {
    const next = route.hops[i + 1];
    const forward = next?.amountMsat ?? h.amountMsat;
    const fee = h.amountMsat - forward;
    const capSat = h.channelId !== undefined ? (capacity.get(h.channelId) ?? 0n) : BigInt(h.capacitySat ?? 0);
    return {
      chan_id: chanId(h.scid),
      chan_capacity: String(capSat),
      amt_to_forward: String(forward / 1000n),
      fee: String(fee / 1000n),
      expiry: height + (next?.cltvDelta ?? h.cltvDelta),
      amt_to_forward_msat: String(forward),
      fee_msat: String(fee),
      pub_key: h.id,
      tlv_payload: true,
    };
  });
  return {
    routes: [
      {
        total_time_lock: height + route.cltvDelta,
        total_fees: String(route.feeMsat / 1000n),
        total_amt: String(route.amountMsat / 1000n),
        hops,
        total_fees_msat: String(route.feeMsat),
        total_amt_msat: String(route.amountMsat),
      },
    ],
    success_prob: route.probability,
  };
}

// --- routerrpc.EstimateRouteFee ---------------------------------------------------------------------

/** LND's routeFeeLimitSat: the fee budget of a fee estimate (router_server.go). */
const ESTIMATE_FEE_LIMIT_MSAT = 100_000_000n * 1000n;
/** LND's routing.BlockPadding: the blocks its payment session adds to the final CLTV, counted in the estimate's time lock. */
export const BLOCK_PADDING = 3;

/**
 * routerrpc.EstimateRouteFee (`POST /v2/router/route/estimatefee`): by `dest` + `amt_sat` LND's graph
 * estimate — the route the pathfinder would take now (our channels' real balances, mission control), its
 * fee and its time lock (the block height it would expire at, LND's `TotalTimeLock` plus its block
 * padding). By `payment_request` LND sends a probe payment (a random hash, so the payee fails it) and
 * reports the route of the attempt the payee answered; anode answers the same graph estimate for the
 * invoice's payee, amount, final CLTV and route hints without probing: no route is FAILURE_REASON_NO_ROUTE
 * in the response, as LND's failed probe is.
 */
export async function estimateRouteFee(core: NodeCore, req: Msg): Promise<Msg> {
  if (!core.channelManager) throw new CoreError('NOT_ACTIVE', 'routing needs channels (no chain backend)');
  const dest = hexOf(req.dest);
  const bolt11 = typeof req.payment_request === 'string' ? req.payment_request : '';
  if ((dest !== '') === (bolt11 !== '')) throw new RpcError(Status.UNKNOWN, 'specify either a destination or an invoice');
  let target: string;
  let amountMsat: bigint;
  // LND estimates with its default final delta, the one its payments by dest (keysend) use: anode's is KEYSEND_FINAL_CLTV_DELTA.
  let finalCltvDelta = KEYSEND_FINAL_CLTV_DELTA;
  let hints: RouteHintHop[][] = [];
  if (dest !== '') {
    if (dest.length !== 66) throw new RpcError(Status.UNKNOWN, 'invalid length destination key');
    if (int(req.amt_sat) <= 0n) throw new RpcError(Status.UNKNOWN, 'amount must be greater than 0');
    target = dest;
    amountMsat = int(req.amt_sat) * 1000n;
  } else {
    let inv: Invoice;
    try {
      inv = parseInvoice(bolt11, core.config.network);
    } catch (e) {
      if (e instanceof PaymentError) throw new RpcError(Status.UNKNOWN, e.message);
      throw e;
    }
    if (!inv.amountMsat || inv.amountMsat <= 0n) throw new RpcError(Status.UNKNOWN, 'payment request amount must be greater than 0');
    target = inv.payeeNodeId.toString('hex');
    amountMsat = inv.amountMsat;
    finalCltvDelta = inv.minFinalCltvExpiryDelta;
    hints = inv.routeHints.map((h) => [...h]);
  }
  const route = findRoute(core.graph ?? new ChannelGraph(0), {
    source: core.nodeId.toString('hex'),
    target,
    amountMsat,
    finalCltvDelta,
    local: localChannels(core.channelManager.list()),
    hints,
    maxFeeMsat: ESTIMATE_FEE_LIMIT_MSAT,
    maxCltvDelta: DEFAULT_CLTV_LIMIT,
    ...(core.payments ? { mission: core.payments.mission } : {}),
    minProbability: MIN_ROUTE_PROBABILITY,
  });
  if (!route) {
    if (dest !== '') throw new RpcError(Status.UNKNOWN, 'unable to find a path to destination');
    return { routing_fee_msat: '0', time_lock_delay: '0', failure_reason: 'FAILURE_REASON_NO_ROUTE' };
  }
  const timeLock = core.channelManager.blockHeight + route.cltvDelta + BLOCK_PADDING;
  return { routing_fee_msat: String(route.feeMsat), time_lock_delay: String(timeLock), failure_reason: 'FAILURE_REASON_NONE' };
}

export const ROUTE_HANDLERS: Record<string, (req: Msg, core: NodeCore) => Promise<Msg>> = {
  '/lnrpc.Lightning/QueryRoutes': (req, core) => queryRoutes(core, req),
  '/routerrpc.Router/EstimateRouteFee': (req, core) => estimateRouteFee(core, req),
};
