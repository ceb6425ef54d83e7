/**
 * The forwarding checks of the HTLC switch, pure: given the incoming HTLC, what its onion asks us to
 * forward, and the outgoing channel as the switch sees it, the BOLT 4 failure to send back, or none.
 *
 * Order (BOLT 4 "Failure Messages", BOLT 7 "channel_update", as LND's `CheckHtlcForward` and CLN's
 * `forward_htlc` apply them): no channel for the `short_channel_id` → `unknown_next_peer`; then against the
 * OUTGOING channel's policy: `amt_to_forward` below its `htlc_minimum_msat` → `amount_below_minimum`, the
 * fee (incoming amount − `amt_to_forward`) below `fee_base_msat + amt_to_forward × ppm / 1e6` →
 * `fee_insufficient`, `cltv_expiry − outgoing_cltv_value` below its `cltv_expiry_delta` →
 * `incorrect_cltv_expiry`, an expiry too close to the tip → `expiry_too_soon`, one too far →
 * `expiry_too_far`; then the channel itself: disabled (closing) → `channel_disabled`, peer offline,
 * above `htlc_maximum_msat` or what the channel can still carry → `temporary_channel_failure`. Every
 * `UPDATE` failure carries our current `channel_update` of the outgoing channel.
 */
import { INCOMING_BROADCAST_DELTA, OUTGOING_BROADCAST_DELTA } from '../channel/deadlines.js';
import { FailureCode, type FailureMessage } from '../onion/failure.js';
import type { ForwardingPolicy } from '../gossip/announce.js';
import { GossipMessageType } from '../gossip/messages.js';
import { signChannelUpdate } from '../gossip/validate.js';

/**
 * Blocks the outgoing HTLC must still have before its expiry when we offer it: the downstream peer needs
 * a few blocks to settle it off chain before our HTLC deadline (`channel/deadlines.ts`) would take the
 * channel on chain (LND: its outgoing broadcast delta + 3).
 */
export const OUTGOING_CLTV_REJECT_DELTA = OUTGOING_BROADCAST_DELTA + 3;
/** The incoming HTLC must not already be at the deadline that takes its channel on chain. */
export const INCOMING_CLTV_REJECT_DELTA = INCOMING_BROADCAST_DELTA + 1;
/** The farthest outgoing expiry we accept (LND's and LDK's 2016 blocks, two weeks). */
export const MAX_CLTV_EXPIRY_BLOCKS = 2016;

/** The outgoing channel as the checks need it. */
export interface OutgoingChannel {
  policy: ForwardingPolicy;
  /** What the peer accepts from us (its `htlc_minimum_msat`): our channel_update announces it. */
  htlcMinimumMsat: bigint;
  /** Our channel_update's `htlc_maximum_msat`. */
  htlcMaximumMsat: bigint;
  /** What the channel can still send now (balance, reserve, fees, the peer's in-flight limit). */
  sendableMsat: bigint;
  /** `usable`: normal and reestablished; `offline`: normal, peer away; `disabled`: closing or closed. */
  status: 'usable' | 'offline' | 'disabled';
  /** Our signed channel_update for it, with its type prefix (what failure messages carry). */
  channelUpdate(): Buffer;
}

export interface ForwardRequest {
  /** The incoming HTLC. */
  amountMsat: bigint;
  cltvExpiry: number;
  /** From its onion. */
  amtToForward: bigint;
  outgoingCltvValue: number;
}

/** The fee `policy` asks for forwarding `amtMsat` (BOLT 7: base + amount × proportional / 1e6, rounded down). */
export function forwardingFee(policy: Pick<ForwardingPolicy, 'feeBaseMsat' | 'feeProportionalMillionths'>, amtMsat: bigint): bigint {
  return BigInt(policy.feeBaseMsat) + (amtMsat * BigInt(policy.feeProportionalMillionths)) / 1_000_000n;
}

/** The failure for forwarding `req` over `out` (undefined: no channel) at `height`, or undefined when it may go. */
export function checkForward(req: ForwardRequest, out: OutgoingChannel | undefined, height: number): FailureMessage | undefined {
  if (out === undefined) return { code: FailureCode.UNKNOWN_NEXT_PEER };
  const C = FailureCode;
  const htlcMsat = req.amountMsat;
  if (req.amtToForward < out.htlcMinimumMsat) return { code: C.AMOUNT_BELOW_MINIMUM, htlcMsat, channelUpdate: out.channelUpdate() };
  // While setchannel's enforcedelay runs, the previous policy is honoured too (lightningd's behaviour).
  const policies = out.policy.previous ? [out.policy, out.policy.previous] : [out.policy];
  const fee = req.amountMsat - req.amtToForward;
  if (req.amountMsat < req.amtToForward || policies.every((p) => fee < forwardingFee(p, req.amtToForward))) {
    return { code: C.FEE_INSUFFICIENT, htlcMsat, channelUpdate: out.channelUpdate() };
  }
  if (policies.every((p) => req.cltvExpiry - req.outgoingCltvValue < p.cltvExpiryDelta)) return { code: C.INCORRECT_CLTV_EXPIRY, cltvExpiry: req.cltvExpiry, channelUpdate: out.channelUpdate() };
  if (req.outgoingCltvValue <= height + OUTGOING_CLTV_REJECT_DELTA || req.cltvExpiry <= height + INCOMING_CLTV_REJECT_DELTA) {
    return { code: C.EXPIRY_TOO_SOON, channelUpdate: out.channelUpdate() };
  }
  if (req.outgoingCltvValue > height + MAX_CLTV_EXPIRY_BLOCKS) return { code: C.EXPIRY_TOO_FAR };
  if (out.status === 'disabled') return { code: C.CHANNEL_DISABLED, disabledFlags: 0, channelUpdate: out.channelUpdate() };
  if (out.status === 'offline' || req.amtToForward > out.htlcMaximumMsat || req.amtToForward > out.sendableMsat) {
    return { code: C.TEMPORARY_CHANNEL_FAILURE, channelUpdate: out.channelUpdate() };
  }
  return undefined;
}

/** What our channel_update for one channel says. */
export interface OwnUpdate {
  chainHash: Buffer;
  scid: bigint;
  /** 0 when our node id sorts first (BOLT 7's `direction` bit). */
  direction: 0 | 1;
  timestamp: number;
  disabled: boolean;
  policy: ForwardingPolicy;
  htlcMinimumMsat: bigint;
  htlcMaximumMsat: bigint;
}

/**
 * Our channel_update as a failure message carries it: the 2-byte type (258) then the signed message, as
 * LND and CLN send it. With the timestamp and fields the announcer signed, the bytes are the ones peers
 * already have (the signature is deterministic, RFC 6979).
 */
export function ownChannelUpdate(u: OwnUpdate, signNode: (digest: Buffer) => Buffer): Buffer {
  const { payload } = signChannelUpdate(
    {
      type: GossipMessageType.CHANNEL_UPDATE,
      chainHash: u.chainHash,
      shortChannelId: u.scid,
      timestamp: u.timestamp,
      messageFlags: 1,
      channelFlags: u.direction | (u.disabled ? 2 : 0),
      cltvExpiryDelta: u.policy.cltvExpiryDelta,
      htlcMinimumMsat: u.htlcMinimumMsat,
      feeBaseMsat: u.policy.feeBaseMsat,
      feeProportionalMillionths: u.policy.feeProportionalMillionths,
      htlcMaximumMsat: u.htlcMaximumMsat,
    },
    signNode,
  );
  const type = Buffer.alloc(2);
  type.writeUInt16BE(GossipMessageType.CHANNEL_UPDATE);
  return Buffer.concat([type, payload]);
}
