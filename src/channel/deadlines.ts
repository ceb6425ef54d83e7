/**
 * HTLC deadlines off chain (BOLT 2, "Requirements" of the HTLC life cycle): when an HTLC must be taken
 * on chain because the peer does not resolve it in time. Pure decision over a channel's state and a
 * block height; the channel manager asks once per block ({@link enforceHtlcDeadlines}) and fails the
 * channel (our latest commitment is published) when a deadline is reached.
 *
 * - An HTLC we offered that the peer has not fulfilled, still in either current commitment, at
 *   `cltv_expiry - OUTGOING_BROADCAST_DELTA`: from then on the peer could claim it with the preimage
 *   while we could not time it out off chain. The delta is 0, as LND's `DefaultOutgoingBroadcastDelta`
 *   (its HTLC-timeout transaction, locked to `cltv_expiry`, cannot confirm any earlier, so closing sooner
 *   only closes channels a slow peer might still settle); CLN waits one block more (`cltv_expiry + 1`,
 *   BOLT 2's G = 1 grace block).
 * - An HTLC we received and know the preimage of (our `update_fulfill_htlc` not yet irrevocably
 *   committed), at `cltv_expiry - INCOMING_BROADCAST_DELTA`: the commitment and the HTLC-success
 *   transaction must confirm before the peer can time it out. The delta is BOLT 2's 2R+G+S estimate,
 *   18 blocks; LND uses 10 (`DefaultIncomingBroadcastDelta`), CLN half its cltv delta (17 by default).
 */
import type { Logger } from 'pino';
import type { Channel } from './channel.js';
import type { ChannelData } from './state.js';

export const OUTGOING_BROADCAST_DELTA = 0;
export const INCOMING_BROADCAST_DELTA = 18;

/** States in which the HTLCs are still off chain (the channel's `open`). */
const OFF_CHAIN = ['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_NORMAL', 'CHANNELD_SHUTTING_DOWN', 'CLOSINGD_SIGEXCHANGE'];

/** Why the channel must go on chain at `height`, or undefined. `preimage` may know more preimages than the channel's own fulfills. */
export function htlcDeadline(d: ChannelData, height: number, preimage: (paymentHash: Buffer) => Buffer | undefined = () => undefined): string | undefined {
  if (!OFF_CHAIN.includes(d.state)) return undefined;
  const theirFulfills = new Set([...d.remoteChanges.proposed, ...d.remoteChanges.acked, ...d.remoteChanges.signed].flatMap((u) => (u.kind === 'fulfill' ? [u.id] : [])));
  const ourFulfills = new Set([...d.localChanges.proposed, ...d.localChanges.signed, ...d.localChanges.acked].flatMap((u) => (u.kind === 'fulfill' ? [u.id] : [])));
  // Every HTLC in a current commitment of either side (their next one too: we signed it), seen from us.
  const remoteSpecs = [d.remoteCommit.spec, ...(d.nextRemoteCommit ? [d.nextRemoteCommit.spec] : [])];
  const outgoing = new Map<bigint, number>();
  const incoming = new Map<bigint, { cltvExpiry: number; paymentHash: Buffer }>();
  for (const h of d.localCommit.spec.htlcs) (h.direction === 'offered' ? outgoing.set(h.add.id, h.add.cltvExpiry) : incoming.set(h.add.id, h.add));
  for (const spec of remoteSpecs) for (const h of spec.htlcs) (h.direction === 'received' ? outgoing.set(h.add.id, h.add.cltvExpiry) : incoming.set(h.add.id, h.add));
  for (const [id, cltvExpiry] of [...outgoing].sort((a, b) => a[1] - b[1])) {
    if (theirFulfills.has(id)) continue;
    if (height >= cltvExpiry - OUTGOING_BROADCAST_DELTA) return `Offered HTLC ${id} cltv ${cltvExpiry} hit deadline at block ${height}`;
  }
  for (const [id, h] of [...incoming].sort((a, b) => a[1].cltvExpiry - b[1].cltvExpiry)) {
    if (!ourFulfills.has(id) && preimage(h.paymentHash) === undefined) continue;
    if (height >= h.cltvExpiry - INCOMING_BROADCAST_DELTA) return `Fulfilled HTLC ${id} cltv ${h.cltvExpiry} hit deadline at block ${height}`;
  }
  return undefined;
}

/** Fails every channel whose HTLC deadline `height` reached. Not awaited: a channel's queue never holds up a block. */
export function enforceHtlcDeadlines(channels: Iterable<Channel>, height: number, log: Logger, preimage?: (paymentHash: Buffer) => Buffer | undefined): void {
  for (const ch of channels) {
    const reason = htlcDeadline(ch.data, height, preimage);
    if (reason === undefined) continue;
    log.warn({ channel: ch.id, height, reason }, 'HTLC deadline: going on chain');
    ch.fail(reason).catch((err: Error) => log.warn({ channel: ch.id, err: err.message }, 'failing the channel failed'));
  }
}
