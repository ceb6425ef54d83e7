/**
 * `listchannels` and `listnodes` over the gossip graph (CLN's shapes): one entry per channel direction
 * that has a `channel_update`, and every node with a channel (its announcement's fields when it has one).
 */
import { CoreError } from '../../../node/core/index.js';
import type { ChannelGraph } from '../../../gossip/graph.js';
import { scidFromString, scidToString } from '../../../gossip/messages.js';
import type { CallContext, MethodDef } from '../method.js';
import { nodeIdParam } from './peer-id.js';

function graph(ctx: CallContext): ChannelGraph {
  if (!ctx.core.graph) throw new CoreError('NOT_ACTIVE', 'gossip not active (no chain backend)');
  return ctx.core.graph;
}

export const listchannels: MethodDef = {
  name: 'listchannels',
  async run(params, ctx) {
    const g = graph(ctx);
    const only = params.short_channel_id === undefined ? undefined : scidFromString(params.short_channel_id as string);
    const source = params.source as string | undefined;
    const destination = params.destination as string | undefined;
    const infos = only !== undefined ? [g.channel(only)].filter((c) => c !== undefined) : g.channels();
    const channels = [];
    for (const c of infos) {
      for (const dir of [0, 1] as const) {
        const p = c.policies[dir];
        if (p === undefined) continue;
        const [from, to] = dir === 0 ? [c.node1, c.node2] : [c.node2, c.node1];
        if ((source !== undefined && from !== source) || (destination !== undefined && to !== destination)) continue;
        channels.push({
          source: from,
          destination: to,
          short_channel_id: scidToString(c.scid),
          direction: dir,
          public: true,
          amount_msat: Number(c.capacitySat * 1000n),
          message_flags: p.messageFlags,
          channel_flags: p.channelFlags,
          active: !p.disabled,
          last_update: p.timestamp,
          base_fee_millisatoshi: p.feeBaseMsat,
          fee_per_millionth: p.feeProportionalMillionths,
          delay: p.cltvExpiryDelta,
          htlc_minimum_msat: Number(p.htlcMinimumMsat),
          htlc_maximum_msat: Number(p.htlcMaximumMsat),
          features: c.features.toString('hex'),
        });
      }
    }
    return { channels };
  },
};

export const listnodes: MethodDef = {
  name: 'listnodes',
  params: { id: (p) => nodeIdParam(p) },
  async run(params, ctx) {
    const g = graph(ctx);
    const ids = params.id === undefined ? g.nodeIds() : g.hasChannels((params.id as Buffer).toString('hex')) ? [(params.id as Buffer).toString('hex')] : [];
    return {
      nodes: ids.map((id) => {
        const n = g.nodeInfo(id);
        if (n === undefined) return { nodeid: id };
        return {
          nodeid: id,
          last_timestamp: n.timestamp,
          alias: n.alias,
          color: n.rgb,
          features: n.features.toString('hex'),
          addresses: n.addresses.map((a) => ({ type: a.type, address: a.host, port: a.port })),
        };
      }),
    };
  },
};

export const GRAPH_METHODS: readonly MethodDef[] = [listchannels, listnodes];
