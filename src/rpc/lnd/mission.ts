/**
 * LND's mission control calls (routerrpc, lnrpc/routerrpc/router_server.go) over the payment sender's
 * mission control (routing/mission.ts), which the store keeps across restarts:
 *
 * - QueryMissionControl: one PairHistory per directed node pair (`node_from` → `node_to`), the channels
 *   between them merged (the latest failure and the latest success of any); times in unix seconds, as
 *   LND's; amounts in msat and whole sat (rounded down). A fail amount of 0 is a failure at every amount
 *   (a policy or permanent channel failure). Node-level penalties are not shown: LND's reply has no
 *   place for them.
 * - ResetMissionControl forgets everything, in memory and in the store.
 * - GetMissionControlConfig: the half-life (`half_life_seconds`). Nothing else of LND's config has a
 *   counterpart here (no a-priori hop probability or weight, no bimodal scale, no failure relax
 *   interval; the bound is on directions, not on payment results), so it is left out.
 * - QueryProbability: the pathfinder's uniform-liquidity probability for `amt_msat` over the best
 *   channel from `from_node` to `to_node` in the graph (its capacity narrowed by what was learnt, times
 *   `to_node`'s node penalty); directions known only from attempts (route hints) have no capacity and
 *   count as the pathfinder counts them; with `history`, the pair's merged history.
 */
import { scidFromString, scidToString } from '../../gossip/messages.js';
import { CoreError, type NodeCore } from '../../node/core/index.js';
import { pairKey, type MissionControl, type NodePairHistory } from '../../routing/mission.js';
import { uniformProbability } from '../../routing/pathfind.js';
import { RpcError, Status } from './errors.js';
import type { Handler } from './methods.js';
import { asBuffer } from './payments.js';

type Msg = Record<string, unknown>;

function missionOf(core: NodeCore): MissionControl {
  if (!core.payments) throw new CoreError('NOT_ACTIVE', 'payments need channels (no chain backend)');
  return core.payments.mission;
}

/** The nodes of a direction `scid/direction` from the graph. */
function graphEnds(core: NodeCore): (pair: string) => { from: string; to: string } | undefined {
  return (pair) => {
    const [s, d] = pair.split('/');
    const ch = core.graph?.channel(scidFromString(s!) ?? -1n);
    if (!ch) return undefined;
    return d === '0' ? { from: ch.node1, to: ch.node2 } : { from: ch.node2, to: ch.node1 };
  };
}

const sec = (ms: number | undefined): string => String(Math.floor((ms ?? 0) / 1000));

/** LND's PairData. */
function pairData(h: Partial<NodePairHistory>): Msg {
  return {
    fail_time: sec(h.failTime),
    fail_amt_sat: String((h.failAmtMsat ?? 0n) / 1000n),
    fail_amt_msat: String(h.failAmtMsat ?? 0n),
    success_time: sec(h.successTime),
    success_amt_sat: String((h.successAmtMsat ?? 0n) / 1000n),
    success_amt_msat: String(h.successAmtMsat ?? 0n),
  };
}

/** LND's route.NewVertexFromBytes. */
function vertex(v: unknown): string {
  const b = asBuffer(v);
  if (b.length !== 33) throw new RpcError(Status.UNKNOWN, `invalid vertex length of ${b.length}, want 33`);
  return b.toString('hex');
}

async function queryMissionControl(_req: Msg, core: NodeCore): Promise<Msg> {
  const pairs = missionOf(core).nodePairs(graphEnds(core));
  return { pairs: pairs.map((h) => ({ node_from: Buffer.from(h.from, 'hex'), node_to: Buffer.from(h.to, 'hex'), history: pairData(h) })) };
}

async function resetMissionControl(_req: Msg, core: NodeCore): Promise<Msg> {
  await missionOf(core).reset();
  return {};
}

async function getMissionControlConfig(_req: Msg, core: NodeCore): Promise<Msg> {
  return { config: { half_life_seconds: String(Math.round(missionOf(core).halfLifeMs / 1000)) } };
}

async function queryProbability(req: Msg, core: NodeCore): Promise<Msg> {
  const mission = missionOf(core);
  const from = vertex(req.from_node);
  const to = vertex(req.to_node);
  const amt = Number(BigInt((req.amt_msat as string | number | undefined) ?? 0));
  const directions = new Map<string, number>();
  const graph = core.graph;
  const row = graph?.nodeIndex(from);
  if (graph && row !== undefined) {
    graph.forEachEdge(row, (edge, direction, peer) => {
      if (graph.nodeId(peer) === to) directions.set(pairKey(scidToString(graph.scid(edge)), direction), graph.capacitySat(edge) * 1000);
    });
  }
  for (const p of mission.pairs()) if (p.from === from && p.to === to && !directions.has(p.pair)) directions.set(p.pair, NaN);
  const now = Date.now();
  // No channel known between them: an unknown capacity, as for a route hint's channel.
  let best = directions.size === 0 ? uniformProbability(amt, 0, Infinity) : 0;
  for (const [pair, cap] of directions) {
    const { lo, hi } = mission.bounds(pair, cap, now);
    best = Math.max(best, uniformProbability(amt, lo, hi));
  }
  const history = mission.nodePairs(graphEnds(core)).find((h) => h.from === from && h.to === to) ?? {};
  return { probability: best * mission.nodeFactor(to, now), history: pairData(history) };
}

export const MISSION_HANDLERS: Record<string, Handler> = {
  '/routerrpc.Router/QueryMissionControl': queryMissionControl,
  '/routerrpc.Router/ResetMissionControl': resetMissionControl,
  '/routerrpc.Router/GetMissionControlConfig': getMissionControlConfig,
  '/routerrpc.Router/QueryProbability': queryProbability,
};
