/**
 * Our forwarding policy as every shell sees it (CLN `setchannel`, LND `UpdateChannelPolicy` and
 * `FeeReport`): the channels it applies to, each change written and then announced by the
 * {@link Announcer} (a new `channel_update` to the peer and, for announced channels, into gossip).
 */
import type { AppliedPolicy, Announcer, ForwardingPolicy, OwnChannel, PolicyChange } from '../../gossip/announce.js';
import { scidToString } from '../../gossip/messages.js';
import type { NodeCore } from './api.js';
import { CoreError } from './errors.js';

/** What the shells use of the announcer. */
export type PolicyCore = Pick<Announcer, 'policyOf' | 'setPolicy' | 'channels' | 'ignoresFeeLimits' | 'limitsOf'>;

export function policyCore(core: NodeCore): PolicyCore {
  if (!core.policy) throw new CoreError('NOT_ACTIVE', 'forwarding policy not available (no chain backend)');
  return core.policy;
}

/** One channel's policy as the shells show it: its ids, then what was announced (see AppliedPolicy). */
export interface ChannelPolicyView extends Omit<AppliedPolicy, 'channel'> {
  peerId: string;
  channelId: string;
  shortChannelId: string;
  scid: bigint;
}

function view(a: AppliedPolicy): ChannelPolicyView {
  const { channel: c, ...announced } = a;
  return { peerId: c.peerId, channelId: c.channelId.toString('hex'), shortChannelId: scidToString(c.scid), scid: c.scid, ...announced };
}

/** Our channels a policy can be set on (normal operation, with a short channel id), each matched by `pick`. */
export function policyChannels(core: NodeCore, pick: (c: OwnChannel) => boolean = () => true): OwnChannel[] {
  return policyCore(core).channels().filter(pick);
}

/** Sets the policy of `channels`, committed before the updates are signed; their views as announced. */
export async function setChannelPolicy(core: NodeCore, channels: OwnChannel[], change: PolicyChange): Promise<ChannelPolicyView[]> {
  if (change.htlcMinimumMsat !== undefined && change.htlcMaximumMsat !== undefined && change.htlcMaximumMsat < change.htlcMinimumMsat) {
    throw new CoreError('FAILED', 'htlcmax cannot be less than htlcmin');
  }
  return (await policyCore(core).setPolicy(channels, change)).map(view);
}

/** Every channel's policy as it stands (FeeReport). */
export function channelPolicies(core: NodeCore): { channel: OwnChannel; policy: ForwardingPolicy }[] {
  const p = policyCore(core);
  return p.channels().map((channel) => ({ channel, policy: p.policyOf(channel.channelId) }));
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The fees earned by forwards settled in the last 24 h, 7 d and 30 d (LND's FeeReport sums, by the time
 * each forward settled), msat; zero when the node has no forwards store.
 */
export async function forwardFeeSums(core: NodeCore, nowMs = Date.now()): Promise<{ dayMsat: bigint; weekMsat: bigint; monthMsat: bigint }> {
  const [dayMsat = 0n, weekMsat = 0n, monthMsat = 0n] = (await core.forwards?.feesSettledSince([nowMs - DAY_MS, nowMs - 7 * DAY_MS, nowMs - 30 * DAY_MS])) ?? [];
  return { dayMsat, weekMsat, monthMsat };
}
