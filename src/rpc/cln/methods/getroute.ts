/**
 * `getroute id amount_msat riskfactor [cltv] [fromid] [fuzzpercent] [exclude] [maxhops]` (CLN's): the
 * route the pathfinder (routing/pathfind.ts) would take for one part, in CLN's shape — each hop's node,
 * channel, direction, the amount and CLTV delay (blocks from now, CLN's relative `delay`) the HTLC
 * reaching that node carries. From this node our channels count with their real spendable balance; from
 * another node (`fromid`) the graph's channels out of it are used as announced.
 */
import { CoreError } from '../../../node/core/index.js';
import { ChannelGraph } from '../../../gossip/graph.js';
import { localChannels } from '../../../payment/send.js';
import { findRoute, MIN_ROUTE_PROBABILITY } from '../../../routing/pathfind.js';
import { RpcError } from '../errors.js';
import type { MethodDef } from '../method.js';
import { parseMsat } from './channels.js';
import { PayCode } from './pay.js';

/** CLN's default `cltv` for getroute (the final hop's delay). */
const DEFAULT_CLTV = 9;

export const getroute: MethodDef = {
  name: 'getroute',
  params: { amount_msat: (p) => parseMsat(p.standard()), id: (p) => (p.standard() as string).toLowerCase(), fromid: (p) => (p.standard() as string).toLowerCase() },
  async run(params, { core }) {
    if (!core.graph && !core.channelManager) throw new CoreError('NOT_ACTIVE', 'gossip not active (no chain backend)');
    const self = core.nodeId.toString('hex');
    const source = (params.fromid as string | undefined) ?? self;
    const exclude = (params.exclude as string[] | undefined) ?? [];
    // CLN: amount 0 asks for any route (a probe); the smallest amount stands for it.
    const amount = params.amount_msat as bigint;
    const route = findRoute(core.graph ?? new ChannelGraph(0), {
      source,
      target: params.id as string,
      amountMsat: amount > 0n ? amount : 1n,
      finalCltvDelta: params.cltv === undefined ? DEFAULT_CLTV : Number(params.cltv),
      ...(source === self && core.channelManager ? { local: localChannels(core.channelManager.list()) } : {}),
      excludeChannels: new Set(exclude.filter((x) => x.includes('x'))),
      excludeNodes: new Set(exclude.filter((x) => !x.includes('x')).map((x) => x.toLowerCase())),
      ...(params.maxhops !== undefined ? { maxHops: Number(params.maxhops) } : {}),
      riskFactor: Number(params.riskfactor),
      ...(core.payments ? { mission: core.payments.mission } : {}),
      minProbability: MIN_ROUTE_PROBABILITY,
    });
    if (!route) throw new RpcError(PayCode.ROUTE_NOT_FOUND, 'Could not find a route');
    return {
      route: route.hops.map((h) => ({ id: h.id, channel: h.scid, direction: h.direction, amount_msat: h.amountMsat, delay: h.cltvDelta, style: 'tlv' })),
    };
  },
};
