/**
 * Route hints (BOLT 11 `r`) for our invoices over our private channels, so that a payer who cannot see
 * them in the graph can still reach us: one single-hop hint per channel, from the peer to us.
 *
 * - The hop's scid is the name the peer knows the channel by: the alias its `channel_ready` gave
 *   (`remoteAlias`, what BOLT 2 says a receiver should use in `r` fields), else the real scid.
 * - The hop's fees and CLTV delta are the peer's policy for its direction, from the `channel_update` it
 *   sent us directly (BOLT 7: a peer sends one for a private channel too; the gossip layer holds it, as an
 *   update of a channel the graph does not have). A channel without one (or disabled by it) gets no hint:
 *   its fees are unknown, as LND and LDK skip such channels.
 * - Which channels (CLN `invoice`'s `exposeprivatechannels`): `true` every usable private channel;
 *   `false` none; a list of scids only those (none usable: an error); unset, as lightningd, private
 *   channels only when no usable public channel can receive the amount. LND's `AddInvoice` `private` is
 *   `true`/`false`. Channels that can receive the amount come first; if none can, every usable one (an
 *   MPP payer may split). At most {@link MAX_HOP_HINTS}, the most inbound first.
 */
import { secp } from '../crypto/secp256k1.js';
import { decodeGossipMessage, GossipMessageType, scidFromString, type ChannelUpdate } from '../gossip/messages.js';
import { ChannelFlags, SIGNED_FROM, signedDigest } from '../gossip/validate.js';
import type { RouteHintHop } from '../invoice/bolt11.js';

/** LND's cap on hop hints in one invoice (`invoicesrpc.maxHopHints`). */
export const MAX_HOP_HINTS = 20;

/** One of our channels as the hint builder sees it. */
export interface HintChannel {
  peerId: string;
  shortChannelId?: string;
  localAlias?: string;
  remoteAlias?: string;
  private: boolean;
  /** In normal operation with the peer connected. */
  active: boolean;
  /** What the peer can still send us over it in one HTLC. */
  inboundMsat: bigint;
}

/** `exposeprivatechannels`: a boolean, scids, or unset. */
export type ExposePrivate = boolean | readonly string[] | undefined;

export interface HintRequest {
  nodeId: Buffer;
  channels: readonly HintChannel[];
  /** The invoice amount (none: any amount). */
  amountMsat?: bigint;
  expose: ExposePrivate;
  /** The channel_update payloads (without the type) held for a channel the graph does not have. */
  updatesOf(scid: bigint): readonly Buffer[];
}

export type HintResult = { hints: RouteHintHop[][] } | { error: 'NONE_USABLE' };

/**
 * The peer's newest validly signed update for its direction of the channel (the one from it to us),
 * among the updates held under any of the channel's names.
 */
export function peerUpdate(ch: HintChannel, nodeId: Buffer, updatesOf: (scid: bigint) => readonly Buffer[]): ChannelUpdate | undefined {
  const peer = Buffer.from(ch.peerId, 'hex');
  const direction = Buffer.compare(peer, nodeId) < 0 ? 0 : 1;
  let best: ChannelUpdate | undefined;
  for (const name of new Set([ch.shortChannelId, ch.remoteAlias, ch.localAlias])) {
    const scid = name === undefined ? undefined : scidFromString(name);
    if (scid === undefined) continue;
    for (const payload of updatesOf(scid)) {
      let m: ChannelUpdate;
      try {
        m = decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, payload) as ChannelUpdate;
      } catch {
        continue;
      }
      if ((m.channelFlags & ChannelFlags.DIRECTION) !== direction) continue;
      if (best !== undefined && m.timestamp <= best.timestamp) continue;
      if (!secp.verify(signedDigest(payload, SIGNED_FROM.channelUpdate), peer, m.signature)) continue;
      best = m;
    }
  }
  return best;
}

export function routeHints(req: HintRequest): HintResult {
  if (req.expose === false) return { hints: [] };
  const need = req.amountMsat ?? 1n;
  const named = Array.isArray(req.expose) ? new Set(req.expose as readonly string[]) : undefined;
  if (req.expose === undefined && req.channels.some((c) => !c.private && c.active && c.inboundMsat >= need)) return { hints: [] };
  const hops: { hop: RouteHintHop; inboundMsat: bigint }[] = [];
  for (const ch of req.channels) {
    if (!ch.private || !ch.active || ch.inboundMsat <= 0n) continue;
    if (named && ![ch.shortChannelId, ch.localAlias, ch.remoteAlias].some((n) => n !== undefined && named.has(n))) continue;
    const scid = ch.remoteAlias ?? ch.shortChannelId;
    const u = peerUpdate(ch, req.nodeId, req.updatesOf);
    if (scid === undefined || u === undefined || (u.channelFlags & ChannelFlags.DISABLED) !== 0) continue;
    const hop = { nodeId: Buffer.from(ch.peerId, 'hex'), shortChannelId: scid, feeBaseMsat: u.feeBaseMsat, feeProportionalMillionths: u.feeProportionalMillionths, cltvExpiryDelta: u.cltvExpiryDelta };
    hops.push({ hop, inboundMsat: ch.inboundMsat });
  }
  if (named && hops.length === 0) return { error: 'NONE_USABLE' };
  const enough = hops.filter((h) => h.inboundMsat >= need);
  const chosen = (enough.length > 0 ? enough : hops).sort((a, b) => (a.inboundMsat === b.inboundMsat ? 0 : a.inboundMsat > b.inboundMsat ? -1 : 1));
  return { hints: chosen.slice(0, MAX_HOP_HINTS).map((h) => [h.hop]) };
}
