/** Failure.channel_update for LND's APIs (routerrpc streams, ListPayments): the channel_update a BOLT 4 failure carries. */
import { decodeGossipMessage, gossipMessagePayload, GossipMessageType, type ChannelUpdate } from '../../gossip/messages.js';
import { WireError } from '../../wire/errors.js';

type Msg = Record<string, unknown>;

/**
 * The channel_update a BOLT 4 UPDATE failure encloses as lnrpc.ChannelUpdate (LND's
 * marshallChannelUpdate): every field of the BOLT 7 message, the bytes after them as
 * `extra_opaque_data`. The 2-byte type (258) BOLT 4 puts before it is dropped; an update sent without it
 * is read too, as LND reads both. An update that does not decode leaves the field out.
 */
export function lndChannelUpdate(raw: Buffer): Msg | undefined {
  const payload = raw.length >= 2 && raw.readUInt16BE(0) === GossipMessageType.CHANNEL_UPDATE ? raw.subarray(2) : raw;
  let u: ChannelUpdate;
  try {
    u = decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, payload) as ChannelUpdate;
  } catch (e) {
    if (e instanceof WireError) return undefined;
    throw e;
  }
  return {
    signature: Buffer.from(u.signature),
    chain_hash: Buffer.from(u.chainHash),
    chan_id: String(u.shortChannelId),
    timestamp: u.timestamp,
    message_flags: u.messageFlags,
    channel_flags: u.channelFlags,
    time_lock_delta: u.cltvExpiryDelta,
    htlc_minimum_msat: String(u.htlcMinimumMsat),
    base_fee: u.feeBaseMsat,
    fee_rate: u.feeProportionalMillionths,
    htlc_maximum_msat: String(u.htlcMaximumMsat),
    extra_opaque_data: Buffer.from(payload.subarray(gossipMessagePayload(u).length)),
  };
}
