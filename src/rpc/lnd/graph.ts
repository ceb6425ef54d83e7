/**
 * LND's graph and policy calls over the node core: DescribeGraph, GetNodeInfo, GetChanInfo,
 * GetNetworkInfo (core/graph.ts over gossip/graph.ts), UpdateChannelPolicy and FeeReport
 * (core/policy.ts: each change written, then a new channel_update signed and sent).
 *
 * Left out rather than sent as figures anode does not have: `graph_diameter` (LND does not compute it
 * either), `num_zombie_chans` (the graph keeps no zombie index), FeeReport's day/week/month fee sums
 * (no forwarding history yet), and auth proofs.
 */
import { htlcCeiling, type OwnChannel } from '../../gossip/announce.js';
import type { NodeInfo, Policy } from '../../gossip/graph.js';
import { formatAddress } from '../../gossip/address.js';
import {
  CoreError,
  graphEdge,
  graphEdges,
  graphNodes,
  graphOf,
  networkStats,
  nodeEdges,
  policyChannels,
  policyCore,
  setChannelPolicy,
  channelPolicies,
  forwardFeeSums,
  type EdgeView,
  type NodeCore,
} from '../../node/core/index.js';
import { Features } from '../../wire/features.js';
import { RpcError, Status } from './errors.js';
import { featureMap } from './lightning.js';
import type { Handler } from './methods.js';
import { txidBytes, txidOf } from './wallet.js';

type Msg = Record<string, unknown>;

/** LND's lncfg.MinTimeLockDelta: the smallest CLTV delta UpdateChannelPolicy accepts. */
const MIN_TIME_LOCK_DELTA = 18;
/** The smallest non-zero fee rate the protocol can express (1 ppm). */
const MIN_FEE_RATE = 1e-6;

function routingPolicy(p: Policy | undefined): Msg | null {
  if (p === undefined) return null;
  return {
    time_lock_delta: p.cltvExpiryDelta,
    min_htlc: String(p.htlcMinimumMsat),
    fee_base_msat: String(p.feeBaseMsat),
    fee_rate_milli_msat: String(p.feeProportionalMillionths),
    disabled: p.disabled,
    max_htlc_msat: String(p.htlcMaximumMsat),
    last_update: p.timestamp,
    custom_records: {},
    inbound_fee_base_msat: 0,
    inbound_fee_rate_milli_msat: 0,
  };
}

function edgeJson(e: EdgeView): Msg {
  const last = Math.max(e.policies[0]?.timestamp ?? 0, e.policies[1]?.timestamp ?? 0);
  return {
    channel_id: String(e.scid),
    chan_point: e.chanPoint ?? '',
    last_update: last,
    node1_pub: e.node1,
    node2_pub: e.node2,
    capacity: String(e.capacitySat),
    node1_policy: routingPolicy(e.policies[0]),
    node2_policy: routingPolicy(e.policies[1]),
    custom_records: {},
  };
}

const NETWORK: Record<string, string> = { ipv4: 'tcp', ipv6: 'tcp', torv3: 'tcp', dns: 'tcp' };

function nodeJson(n: NodeInfo | { nodeId: string }): Msg {
  if (!('timestamp' in n)) return { last_update: 0, pub_key: n.nodeId, alias: '', addresses: [], color: '', features: {}, custom_records: {} };
  return {
    last_update: n.timestamp,
    pub_key: n.nodeId,
    alias: n.alias,
    addresses: n.addresses.map((a) => ({ network: NETWORK[a.type], addr: formatAddress(a) })),
    color: `#${n.rgb}`,
    features: featureMap(Features.fromHex(n.features.toString('hex'))),
    custom_records: {},
  };
}

export async function describeGraph(core: NodeCore, req: Msg): Promise<Msg> {
  return { nodes: graphNodes(core).map(nodeJson), edges: graphEdges(core, req.include_unannounced === true).map(edgeJson) };
}

export async function getNodeInfo(core: NodeCore, req: Msg): Promise<Msg> {
  const id = String(req.pub_key ?? '').toLowerCase();
  if (!/^(02|03)[0-9a-f]{64}$/.test(id)) throw new CoreError('INVALID', `invalid public key: ${id}`);
  const g = graphOf(core);
  if (!g.hasChannels(id)) throw new RpcError(Status.NOT_FOUND, 'unable to find node');
  const edges = nodeEdges(core, id);
  return {
    node: nodeJson(g.nodeInfo(id) ?? { nodeId: id }),
    num_channels: edges.length,
    total_capacity: String(edges.reduce((s, e) => s + e.capacitySat, 0n)),
    channels: req.include_channels === true ? edges.map(edgeJson) : [],
  };
}

export async function getChanInfo(core: NodeCore, req: Msg): Promise<Msg> {
  const id = BigInt(String(req.chan_id ?? '0'));
  const point = String(req.chan_point ?? '');
  if (id === 0n && point === '') throw new RpcError(Status.INVALID_ARGUMENT, 'chan_id or chan_point must be set');
  const e = graphEdge(core, id !== 0n ? { scid: id } : { chanPoint: point });
  if (e === undefined) throw new RpcError(Status.NOT_FOUND, 'edge not found');
  return edgeJson(e);
}

export async function getNetworkInfo(core: NodeCore): Promise<Msg> {
  const s = networkStats(core);
  return {
    avg_out_degree: s.avgOutDegree,
    max_out_degree: s.maxOutDegree,
    num_nodes: s.numNodes,
    num_channels: s.numChannels,
    total_network_capacity: String(s.totalCapacitySat),
    avg_channel_size: s.avgChannelSizeSat,
    min_channel_size: String(s.minChannelSizeSat),
    max_channel_size: String(s.maxChannelSizeSat),
    median_channel_size_sat: String(s.medianChannelSizeSat),
  };
}

function pointOf(core: NodeCore, ch: OwnChannel): { txid: string; vout: number } | undefined {
  const c = core.channelManager?.get(ch.channelId.toString('hex'));
  return c === undefined ? undefined : { txid: c.data.funding.txid, vout: c.data.funding.vout };
}

function failed(txid: string, vout: number, reason: string, error: string): Msg {
  return { outpoint: { txid_bytes: txidBytes(txid), txid_str: txid, output_index: vout }, reason, update_error: error };
}

export async function updateChannelPolicy(core: NodeCore, req: Msg): Promise<Msg> {
  const feeRate = Number(req.fee_rate ?? 0);
  const feeRatePpm = Number(req.fee_rate_ppm ?? 0);
  if (feeRate !== 0 && feeRatePpm !== 0) throw new RpcError(Status.INVALID_ARGUMENT, 'cannot set both FeeRate and FeeRatePpm at the same time');
  if (feeRate !== 0 && feeRate < MIN_FEE_RATE) throw new CoreError('INVALID', `fee rate of ${feeRate} is too small, min fee rate is ${MIN_FEE_RATE}`);
  const ppm = feeRate !== 0 ? Math.round(feeRate * 1_000_000) : feeRatePpm;
  const delta = Number(req.time_lock_delta ?? 0);
  if (delta < MIN_TIME_LOCK_DELTA) throw new CoreError('INVALID', `time lock delta of ${delta} is too small, minimum supported is ${MIN_TIME_LOCK_DELTA}`);
  if (delta > 0xffff) throw new CoreError('INVALID', `time lock delta of ${delta} is too big, maximum supported is ${0xffff}`);
  const base = Number(req.base_fee_msat ?? 0);
  if (!Number.isInteger(base) || base < 0 || base > 0xffff_ffff) throw new CoreError('INVALID', `base fee of ${base} msat is out of range`);
  if (ppm > 0xffff_ffff) throw new CoreError('INVALID', `fee rate of ${ppm} ppm is out of range`);
  const inbound = (req.inbound_fee ?? null) as Msg | null;
  if (inbound !== null && (Number(inbound.base_fee_msat ?? 0) !== 0 || Number(inbound.fee_rate_ppm ?? 0) !== 0)) throw new CoreError('INVALID', 'inbound fees are not supported by anode');
  const maxHtlc = BigInt(String(req.max_htlc_msat ?? '0'));
  const minHtlc = req.min_htlc_msat_specified === true ? BigInt(String(req.min_htlc_msat ?? '0')) : undefined;

  policyCore(core);
  const out: Msg[] = [];
  let targets: OwnChannel[];
  if (req.chan_point) {
    const cp = req.chan_point as Msg;
    const txid = txidOf(cp.funding_txid_str, cp.funding_txid_bytes);
    const vout = Number(cp.output_index ?? 0);
    targets = policyChannels(core, (c) => {
      const p = pointOf(core, c);
      return p !== undefined && p.txid === txid && p.vout === vout;
    });
    if (targets.length === 0) out.push(failed(txid, vout, 'UPDATE_FAILURE_NOT_FOUND', 'not found'));
  } else {
    targets = policyChannels(core);
  }
  // LND's checks per channel: the limits must fit what the peer accepts and what the channel can carry.
  const ok: OwnChannel[] = [];
  const p = policyCore(core);
  for (const ch of targets) {
    const cur = p.policyOf(ch.channelId);
    const cap = htlcCeiling(ch);
    const min = minHtlc ?? cur.htlcMinimumMsat ?? ch.htlcMinimumMsat;
    const max = maxHtlc !== 0n ? maxHtlc : (cur.htlcMaximumMsat ?? cap);
    const why =
      min < ch.htlcMinimumMsat
        ? `min htlc amount of ${min} mSAT is below min htlc parameter of ${ch.htlcMinimumMsat} mSAT`
        : max > cap
          ? `max htlc size of ${max} mSAT is above max pending amount of ${cap} mSAT`
          : min > max
            ? `min_htlc ${min} mSAT greater than max_htlc ${max} mSAT`
            : undefined;
    const point = pointOf(core, ch);
    if (why !== undefined && point) out.push(failed(point.txid, point.vout, 'UPDATE_FAILURE_INVALID_PARAMETER', why));
    else ok.push(ch);
  }
  await setChannelPolicy(core, ok, {
    feeBaseMsat: base,
    feeProportionalMillionths: ppm,
    cltvExpiryDelta: delta,
    ...(maxHtlc !== 0n ? { htlcMaximumMsat: maxHtlc } : {}),
    ...(minHtlc !== undefined ? { htlcMinimumMsat: minHtlc } : {}),
  });
  return { failed_updates: out };
}

export async function feeReport(core: NodeCore): Promise<Msg> {
  // LND sums the msat fees of each window, then reports whole satoshis.
  const sums = await forwardFeeSums(core);
  return {
    day_fee_sum: String(sums.dayMsat / 1000n),
    week_fee_sum: String(sums.weekMsat / 1000n),
    month_fee_sum: String(sums.monthMsat / 1000n),
    channel_fees: channelPolicies(core).map(({ channel, policy }) => {
      const point = pointOf(core, channel);
      return {
        chan_id: String(channel.scid),
        channel_point: point ? `${point.txid}:${point.vout}` : '',
        base_fee_msat: String(policy.feeBaseMsat),
        fee_per_mil: String(policy.feeProportionalMillionths),
        fee_rate: policy.feeProportionalMillionths / 1_000_000,
        inbound_base_fee_msat: 0,
        inbound_fee_per_mil: 0,
      };
    }),
  };
}

export const GRAPH_HANDLERS: Record<string, Handler> = {
  '/lnrpc.Lightning/DescribeGraph': (req, core) => describeGraph(core, req),
  '/lnrpc.Lightning/GetNodeInfo': (req, core) => getNodeInfo(core, req),
  '/lnrpc.Lightning/GetChanInfo': (req, core) => getChanInfo(core, req),
  '/lnrpc.Lightning/GetNetworkInfo': (_req, core) => getNetworkInfo(core),
  '/lnrpc.Lightning/UpdateChannelPolicy': (req, core) => updateChannelPolicy(core, req),
  '/lnrpc.Lightning/FeeReport': (_req, core) => feeReport(core),
};
