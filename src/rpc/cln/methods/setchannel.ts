/**
 * `setchannel id [feebase] [feeppm] [htlcmin] [htlcmax] [enforcedelay] [ignorefeelimits]`: our
 * forwarding policy for one channel, a peer's channels or all of them (CLN's shape and errors). Each
 * change is committed, then a new channel_update (a newer timestamp) goes to the peer and, for
 * announced channels, into gossip. The old fees stay honoured for `enforcedelay` seconds (600 by
 * default, as lightningd). `ignorefeelimits` lets the peer, when it opened the channel, set any
 * update_fee feerate.
 */
import type { OwnChannel } from '../../../gossip/announce.js';
import { isKnownPeer, policyChannels, setChannelPolicy } from '../../../node/core/index.js';
import { RpcCode, RpcError } from '../errors.js';
import type { MethodDef, ParamContext } from '../method.js';
import { TYPES } from '../validator.js';
import { findChannelById, parseMsat } from './channels.js';

/** lightningd's default enforcedelay: the old fee is still accepted for 10 minutes. */
const DEFAULT_ENFORCE_DELAY_S = 600;

async function channelsParam(p: ParamContext): Promise<OwnChannel[]> {
  const ref = p.standard() as string;
  const core = p.call.core;
  if (ref === 'all') return policyChannels(core);
  const m = core.channelManager;
  if (TYPES.pubkey!.check(p.node, 'request')) {
    const peerId = ref.toLowerCase();
    if ((m?.list().some((c) => c.data.peerId === peerId) ?? false) || (await isKnownPeer(core, peerId))) {
      const mine = policyChannels(core, (c) => c.peerId === peerId);
      if (mine.length === 0) throw new RpcError(RpcCode.LIGHTNINGD, 'Could not find any active channels of peer with that id');
      return mine;
    }
  }
  if (!m) throw new RpcError(RpcCode.LIGHTNINGD, 'Could not find any active channels of peer with that id');
  const ch = findChannelById(p, m, ref);
  const mine = policyChannels(core, (c) => c.channelId.equals(ch.data.channelId));
  if (mine.length === 0) throw p.bad(`Channel in state ${ch.data.state}`);
  return mine;
}

function u32MsatParam(p: ParamContext): number {
  const v = parseMsat(p.standard());
  if (v > 0xffff_ffffn) throw p.bad('exceeds u32 max');
  return Number(v);
}

export const setchannel: MethodDef = {
  name: 'setchannel',
  params: {
    id: channelsParam,
    feebase: u32MsatParam,
    htlcmin: (p) => parseMsat(p.standard()),
    htlcmax: (p) => parseMsat(p.standard()),
  },
  async check(params) {
    const [min, max] = [params.htlcmin as bigint | undefined, params.htlcmax as bigint | undefined];
    if (min !== undefined && max !== undefined && max < min) throw new RpcError(RpcCode.LIGHTNINGD, 'htlcmax cannot be less than htlcmin');
  },
  async run(params, ctx) {
    const [min, max] = [params.htlcmin as bigint | undefined, params.htlcmax as bigint | undefined];
    const views = await setChannelPolicy(ctx.core, params.id as OwnChannel[], {
      ...(params.feebase !== undefined ? { feeBaseMsat: params.feebase as number } : {}),
      ...(params.feeppm !== undefined ? { feeProportionalMillionths: Number(params.feeppm) } : {}),
      ...(min !== undefined ? { htlcMinimumMsat: min } : {}),
      ...(max !== undefined ? { htlcMaximumMsat: max } : {}),
      ...(params.ignorefeelimits !== undefined ? { ignoreFeeLimits: params.ignorefeelimits as boolean } : {}),
      enforceDelayS: params.enforcedelay !== undefined ? Number(params.enforcedelay) : DEFAULT_ENFORCE_DELAY_S,
    });
    return {
      channels: views.map((v) => ({
        peer_id: v.peerId,
        channel_id: v.channelId,
        short_channel_id: v.shortChannelId,
        fee_base_msat: v.policy.feeBaseMsat,
        fee_proportional_millionths: v.policy.feeProportionalMillionths,
        minimum_htlc_out_msat: Number(v.htlcMinimumMsat),
        ...(min !== undefined && v.minClamped ? { warning_htlcmin_too_low: 'Set minimum_htlc_out_msat to minimum allowed by peer' } : {}),
        maximum_htlc_out_msat: Number(v.htlcMaximumMsat),
        ignore_fee_limits: v.ignoreFeeLimits,
        ...(max !== undefined && v.maxClamped ? { warning_htlcmax_too_high: 'Set maximum_htlc_out_msat to maximum possible in channel' } : {}),
      })),
    };
  },
};
