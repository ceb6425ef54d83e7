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
import type { RouteHintHop } from '../../invoice/bolt11.js';
import { localChannels } from '../../payment/send.js';
import { findRoute, MIN_ROUTE_PROBABILITY } from '../../routing/pathfind.js';
import { chanId } from './channels.js';
import { RpcError, Status } from './errors.js';

type Msg = Record<string, unknown>;

/** LND's final CLTV delta when a query gives none (zpay32's default for invoices without `c`). */
const DEFAULT_FINAL_CLTV_DELTA = 18;
/** LND's `--max-cltv-expiry` default, the limit when `cltv_limit` is 0. */
const DEFAULT_CLTV_LIMIT = 2016;

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
  const outgoing = int(req.outgoing_chan_id);
  const local = source === self ? localChannels(core.channelManager.list()).filter((c) => outgoing === 0n || chanId(c.scid) === String(outgoing)) : undefined;
  const hints: RouteHintHop[][] = ((req.route_hints ?? []) as Msg[]).map((h) =>
    ((h.hop_hints ?? []) as Msg[]).map((x) => ({
      nodeId: Buffer.from(hexOf(x.node_id), 'hex'),
      shortChannelId: scidToString(int(x.chan_id)),
      feeBaseMsat: Number(x.fee_base_msat ?? 0),
      feeProportionalMillionths: Number(x.fee_proportional_millionths ?? 0),
      cltvExpiryDelta: Number(x.cltv_expiry_delta ?? 0),
    })),
  );
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

export const ROUTE_HANDLERS: Record<string, (req: Msg, core: NodeCore) => Promise<Msg>> = {
  '/lnrpc.Lightning/QueryRoutes': (req, core) => queryRoutes(core, req),
};
