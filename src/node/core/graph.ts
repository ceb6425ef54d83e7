/**
 * The channel graph as the LND shell shows it (DescribeGraph, GetNodeInfo, GetChanInfo, GetNetworkInfo):
 * views over `gossip/graph.ts`, plus our own channels that are not in the graph (private, or not yet
 * announced) when asked, priced by our own policy.
 */
import type { ChannelGraph, ChannelInfo, NodeInfo, Policy } from '../../gossip/graph.js';
import type { NodeCore } from './api.js';
import { CoreError } from './errors.js';
import { policyCore } from './policy.js';

export function graphOf(core: NodeCore): ChannelGraph {
  if (!core.graph) throw new CoreError('NOT_ACTIVE', 'gossip not active (no chain backend)');
  return core.graph;
}

/** A channel of the graph (or one of ours outside it) with its funding outpoint when known. */
export interface EdgeView extends ChannelInfo {
  /** `txid:vout`, when known. */
  chanPoint: string | undefined;
  /** Whether the channel is in the gossip graph (announced). */
  announced: boolean;
}

/** Funding outpoints by scid, from the gossip layer (absent: none known). */
function outpoints(core: NodeCore): Map<bigint, string> {
  const out = new Map<bigint, string>();
  for (const [point, scid] of core.graphOutpoints?.() ?? []) out.set(scid, point);
  return out;
}

/** Our channels not in the graph, as edges: our direction priced by our policy, theirs unknown. */
function ownUnannounced(core: NodeCore, g: ChannelGraph): EdgeView[] {
  if (!core.policy || !core.channelManager) return [];
  const me = core.nodeId.toString('hex');
  const points = new Map(core.channelManager.list().map((c) => [c.data.channelId.toString('hex'), `${c.data.funding.txid}:${c.data.funding.vout}`]));
  const p = policyCore(core);
  const out: EdgeView[] = [];
  for (const ch of p.channels()) {
    if (g.hasChannel(ch.scid)) continue;
    const first = me < ch.peerId;
    const pol = p.policyOf(ch.channelId);
    const { htlcMinimumMsat, htlcMaximumMsat } = p.limitsOf(ch);
    const ours: Policy = {
      timestamp: 0,
      channelFlags: first ? 0 : 1,
      messageFlags: 1,
      disabled: false,
      cltvExpiryDelta: pol.cltvExpiryDelta,
      htlcMinimumMsat,
      htlcMaximumMsat,
      feeBaseMsat: pol.feeBaseMsat,
      feeProportionalMillionths: pol.feeProportionalMillionths,
    };
    out.push({
      scid: ch.scid,
      node1: first ? me : ch.peerId,
      node2: first ? ch.peerId : me,
      capacitySat: ch.capacitySat,
      // An unannounced channel has no channel_announcement, so no announcement features.
      features: Buffer.alloc(0),
      policies: first ? [ours, undefined] : [undefined, ours],
      chanPoint: points.get(ch.channelId.toString('hex')),
      announced: false,
    });
  }
  return out;
}

export function graphEdges(core: NodeCore, includeUnannounced: boolean): EdgeView[] {
  const g = graphOf(core);
  const points = outpoints(core);
  const edges: EdgeView[] = g.channels().map((c) => ({ ...c, chanPoint: points.get(c.scid), announced: true }));
  return includeUnannounced ? [...edges, ...ownUnannounced(core, g)] : edges;
}

/** Every node with a channel: its announcement when it has one, else only its id. */
export function graphNodes(core: NodeCore): (NodeInfo | { nodeId: string })[] {
  const g = graphOf(core);
  return g.nodeIds().map((id) => g.nodeInfo(id) ?? { nodeId: id });
}

/** One channel by scid or funding outpoint (`txid:vout`). */
export function graphEdge(core: NodeCore, ref: { scid: bigint } | { chanPoint: string }): EdgeView | undefined {
  const g = graphOf(core);
  const points = outpoints(core);
  let scid: bigint | undefined;
  if ('scid' in ref) scid = ref.scid;
  else for (const [s, p] of points) if (p === ref.chanPoint) scid = s;
  const c = scid === undefined ? undefined : g.channel(scid);
  if (c !== undefined) return { ...c, chanPoint: points.get(c.scid), announced: true };
  return ownUnannounced(core, g).find((e) => ('scid' in ref ? e.scid === ref.scid : e.chanPoint === ref.chanPoint));
}

/** A node's channels in the graph. */
export function nodeEdges(core: NodeCore, id: string): EdgeView[] {
  const g = graphOf(core);
  const row = g.nodeIndex(id);
  if (row === undefined) return [];
  const points = outpoints(core);
  const out: EdgeView[] = [];
  g.forEachEdge(row, (r) => {
    const c = g.channel(g.scid(r))!;
    out.push({ ...c, chanPoint: points.get(c.scid), announced: true });
  });
  return out;
}

export interface NetworkStats {
  numNodes: number;
  numChannels: number;
  maxOutDegree: number;
  avgOutDegree: number;
  totalCapacitySat: bigint;
  avgChannelSizeSat: number;
  minChannelSizeSat: bigint;
  maxChannelSizeSat: bigint;
  /** LND's: the middle capacity, the mean of the two middle ones for an even count (integer). */
  medianChannelSizeSat: bigint;
}

/** Counts and channel sizes over the graph (nodes with at least one channel; each channel once). */
export function networkStats(core: NodeCore): NetworkStats {
  const g = graphOf(core);
  const ids = g.nodeIds();
  let maxOut = 0;
  for (const id of ids) {
    let d = 0;
    g.forEachEdge(g.nodeIndex(id)!, () => d++);
    if (d > maxOut) maxOut = d;
  }
  const sizes: bigint[] = [];
  let total = 0n;
  for (const scid of g.scids()) {
    const c = BigInt(g.capacitySat(g.row(scid)!));
    sizes.push(c);
    total += c;
  }
  sizes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = sizes.length;
  const median = n === 0 ? 0n : n % 2 === 1 ? sizes[(n - 1) / 2]! : (sizes[n / 2 - 1]! + sizes[n / 2]!) / 2n;
  return {
    numNodes: ids.length,
    numChannels: n,
    maxOutDegree: maxOut,
    avgOutDegree: ids.length === 0 ? 0 : (2 * n) / ids.length,
    totalCapacitySat: total,
    avgChannelSizeSat: n === 0 ? 0 : Number(total) / n,
    minChannelSizeSat: n === 0 ? 0n : sizes[0]!,
    maxChannelSizeSat: n === 0 ? 0n : sizes[n - 1]!,
    medianChannelSizeSat: median,
  };
}
