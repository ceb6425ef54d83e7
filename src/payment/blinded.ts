/**
 * Route blinding in the HTLC switch and intake: what differs for an HTLC that travels a blinded path
 * (the reading itself is `onion/blinded-hop.ts`, pure).
 *
 * - Failing an incoming HTLC upstream: inside a blinded path the downstream reason never goes back as
 *   it is — after the introduction node `update_fail_malformed_htlc` with `invalid_onion_blinding`, at
 *   the introduction node `invalid_onion_blinding` encrypted (BOLT 4), so the sender cannot probe which
 *   node of the path refused or why.
 * - The recipient's `path_id`: anode writes the invoice's `payment_secret` (32 bytes) into the data it
 *   seals for itself. Only we can open that data, and the invoice book already ties a payment secret to
 *   its payment hash, so a blinded HTLC is checked by `checkHtlc` exactly like one carrying
 *   `payment_data` — a path built for one invoice pays no other, and a path we did not build has no
 *   secret we issued. Nothing is stored for a path.
 */
import type { Channel } from '../channel/channel.js';
import type { HtlcAdd } from '../channel/state.js';
import { blindedUpstreamFailure } from '../onion/blinded-hop.js';
import { aggregatePaymentRelay, createBlindedPath, encodeRecipientData, type BlindedPath, type PaymentRelay, type RecipientData } from '../onion/blinding.js';
import { MAX_CLTV_EXPIRY_BLOCKS } from './forward-policy.js';

/** The incoming HTLC `id` as committed in our commitment (what was offered to us). */
export function incomingAdd(ch: Channel, id: bigint): HtlcAdd | undefined {
  return ch.data.localCommit.spec.htlcs.find((h) => h.direction === 'received' && h.add.id === id)?.add;
}

/** Fails incoming HTLC `id` with `reason`, or with `invalid_onion_blinding` when it came through a blinded path. */
export function failIncoming(ch: Channel, id: bigint, reason: Buffer, nodeKey: Uint8Array): Promise<void> {
  const add = incomingAdd(ch, id);
  const blinded = add === undefined ? undefined : blindedUpstreamFailure(add, nodeKey);
  if (blinded === undefined) return ch.failHtlc(id, reason);
  return blinded.kind === 'fail' ? ch.failHtlc(id, blinded.reason) : ch.failMalformedHtlc(id, blinded.sha256OfOnion, blinded.failureCode);
}

/** The length of the `path_id` anode writes for itself: an invoice's payment secret. */
export const PATH_ID_LENGTH = 32;

/** What a payer needs besides the path (BOLT 12's `blinded_payinfo`): the path's fees and CLTV delta, and its HTLC minimum. */
export interface BlindedPayinfo extends PaymentRelay {
  htlcMinimumMsat: bigint;
}

export interface ReceivePathArgs {
  /** 32 random bytes: the path's first ephemeral key. */
  sessionKey: Buffer;
  ourNodeId: Buffer;
  /** The invoice the path pays: its payment secret becomes our `path_id`. */
  invoice: { paymentSecret: Buffer; expiresAt: number; minFinalCltvExpiry: number };
  /** The introduction node (a peer of ours), the channel it forwards to us over, and its policy on it (its channel_update). */
  peerId: Buffer;
  shortChannelId: string;
  relay: PaymentRelay & { htlcMinimumMsat: bigint };
  /** What we accept on that channel (our `htlc_minimum_msat`). */
  ourHtlcMinimumMsat: bigint;
  height: number;
  /** Unix seconds. */
  now: number;
}

/** Expected block interval, seconds: how many blocks the invoice's remaining lifetime spans. */
const BLOCK_SECONDS = 600;

/**
 * A blinded path to us through one peer: the peer (introduction node) relays over `shortChannelId` at
 * its own policy; our hop's `path_id` is the invoice's payment secret. Both hops' constraints end at the
 * invoice's lifetime in blocks plus the farthest expiry a forward may carry ({@link MAX_CLTV_EXPIRY_BLOCKS}),
 * and both records are padded to one length so the payer cannot tell the relay from the recipient.
 */
export function receivePath(a: ReceivePathArgs): BlindedPath & { payinfo: BlindedPayinfo } {
  const lifetime = Math.ceil(Math.max(0, a.invoice.expiresAt - a.now) / BLOCK_SECONDS);
  const ourMax = a.height + lifetime + MAX_CLTV_EXPIRY_BLOCKS;
  const htlcMinimumMsat = a.relay.htlcMinimumMsat > a.ourHtlcMinimumMsat ? a.relay.htlcMinimumMsat : a.ourHtlcMinimumMsat;
  const relay: PaymentRelay = { cltvExpiryDelta: a.relay.cltvExpiryDelta, feeProportionalMillionths: a.relay.feeProportionalMillionths, feeBaseMsat: a.relay.feeBaseMsat };
  const records = padded([
    { shortChannelId: a.shortChannelId, paymentRelay: relay, paymentConstraints: { maxCltvExpiry: ourMax + relay.cltvExpiryDelta, htlcMinimumMsat } },
    { pathId: a.invoice.paymentSecret, paymentConstraints: { maxCltvExpiry: ourMax, htlcMinimumMsat: a.ourHtlcMinimumMsat } },
  ]);
  const path = createBlindedPath(a.sessionKey, [
    { nodeId: a.peerId, data: records[0]! },
    { nodeId: a.ourNodeId, data: records[1]! },
  ]);
  return { introductionNodeId: path.introductionNodeId, pathKey: path.pathKey, hops: path.hops, payinfo: { ...aggregatePaymentRelay([relay]), htlcMinimumMsat } };
}

/** The records encoded, each padded (TLV 1) to the longest's length (a padding record is at least 2 bytes, so a gap of 1 pads all). */
function padded(records: Partial<RecipientData>[]): Buffer[] {
  const plain = records.map((r) => encodeRecipientData(r));
  let target = Math.max(...plain.map((b) => b.length));
  if (plain.some((b) => target - b.length === 1)) target += 2;
  return records.map((r, i) => {
    const gap = target - plain[i]!.length;
    // Padding below 253 bytes takes a 2-byte header: the records here are far shorter than that.
    return gap === 0 ? plain[i]! : encodeRecipientData({ ...r, padding: Buffer.alloc(gap - 2) });
  });
}
