/**
 * BOLT 2 messages: channel establishment (v1), close, normal operation and reestablish, as a table of the
 * codec engine (`wire/codec.ts`); each message's TS type is derived from its entry.
 *
 * The peer layer hands these over as BOLT 1 "unknown" messages (`{ type, unknown: true, payload }`);
 * {@link decodeChannelMessage} turns the payload into a typed message and {@link encodeChannelMessage}
 * produces the full wire bytes (2-byte type included).
 *
 * Every BOLT 2 message has a TLV stream after its fields (for those whose spec defines none, the stream
 * simply has no known types): unknown odd records are kept in `extraTlvs`, an unknown even record is a
 * TLV_UNKNOWN_EVEN WireError.
 *
 * Points (33-byte fields) and signatures are only length-checked here; curve validation belongs to the
 * channel layer. Every decoded Buffer is a copy, never a view of the input.
 */
import {
  bytes16,
  field,
  fixed,
  list16,
  message,
  MessageTable,
  rest,
  tlv,
  u16,
  u32,
  u64,
  u8,
  type Codec,
  type MessageOf,
  type MessageOfTable,
} from '../wire/codec.js';
import { WireError } from '../wire/errors.js';

export const ChannelMessageType = {
  OPEN_CHANNEL: 32,
  ACCEPT_CHANNEL: 33,
  FUNDING_CREATED: 34,
  FUNDING_SIGNED: 35,
  CHANNEL_READY: 36,
  SHUTDOWN: 38,
  CLOSING_SIGNED: 39,
  /** option_simple_close (BOLT 2 "Closing Negotiation: closing_complete and closing_sig"). */
  CLOSING_COMPLETE: 40,
  CLOSING_SIG: 41,
  UPDATE_ADD_HTLC: 128,
  UPDATE_FULFILL_HTLC: 130,
  UPDATE_FAIL_HTLC: 131,
  COMMITMENT_SIGNED: 132,
  REVOKE_AND_ACK: 133,
  UPDATE_FEE: 134,
  UPDATE_FAIL_MALFORMED_HTLC: 135,
  CHANNEL_REESTABLISH: 136,
} as const;

/** Size of `onion_routing_packet` in `update_add_htlc` (BOLT 4). */
export const ONION_PACKET_SIZE = 1366;

// ---------------------------------------------------------------------------------------------------
// The table

const SIG = fixed(64);
const POINT = fixed(33);
const B32 = fixed(32);

/** `closing_signed` TLV 1: two u64s. */
const feeRange: Codec<{ minFeeSatoshis: bigint; maxFeeSatoshis: bigint }> = {
  read: (r) => ({ minFeeSatoshis: r.u64('min_fee_satoshis'), maxFeeSatoshis: r.u64('max_fee_satoshis') }),
  write: (w, v, f) => {
    if (typeof v !== 'object' || v === null) throw w.invalid(f, 'is not an object');
    w.u64(v.minFeeSatoshis, 'min_fee_satoshis').u64(v.maxFeeSatoshis, 'max_fee_satoshis');
  },
};

/** The limits a side announces, shared by open_channel and accept_channel (in the same order). */
const limits = [
  field('dustLimitSatoshis', u64),
  field('maxHtlcValueInFlightMsat', u64),
  field('channelReserveSatoshis', u64),
  field('htlcMinimumMsat', u64),
] as const;

const basepoints = [
  field('fundingPubkey', POINT),
  field('revocationBasepoint', POINT),
  field('paymentBasepoint', POINT),
  field('delayedPaymentBasepoint', POINT),
  field('htlcBasepoint', POINT),
  field('firstPerCommitmentPoint', POINT),
] as const;

const openAcceptTlvs = [
  /** TLV 0; present-but-empty means "no upfront script" (distinct from absent). */
  tlv(0n, 'upfrontShutdownScript', rest),
  /** TLV 1, a feature bit vector. */
  tlv(1n, 'channelType', rest),
] as const;

const OPEN_CHANNEL = message({
  type: ChannelMessageType.OPEN_CHANNEL,
  name: 'open_channel',
  fields: [
    /** 32 bytes, as on the wire (internal byte order). */
    field('chainHash', B32),
    field('temporaryChannelId', B32),
    field('fundingSatoshis', u64),
    field('pushMsat', u64),
    ...limits,
    field('feeratePerKw', u32),
    field('toSelfDelay', u16),
    field('maxAcceptedHtlcs', u16),
    ...basepoints,
    field('channelFlags', u8),
  ],
  tlvs: openAcceptTlvs,
});

const ACCEPT_CHANNEL = message({
  type: ChannelMessageType.ACCEPT_CHANNEL,
  name: 'accept_channel',
  fields: [
    field('temporaryChannelId', B32),
    ...limits,
    field('minimumDepth', u32),
    field('toSelfDelay', u16),
    field('maxAcceptedHtlcs', u16),
    ...basepoints,
  ],
  tlvs: openAcceptTlvs,
});

const FUNDING_CREATED = message({
  type: ChannelMessageType.FUNDING_CREATED,
  name: 'funding_created',
  fields: [
    field('temporaryChannelId', B32),
    /** 32 bytes as on the wire: internal byte order, the reverse of the display hex. */
    field('fundingTxid', B32),
    field('fundingOutputIndex', u16),
    field('signature', SIG),
  ],
  tlvs: [],
});

const FUNDING_SIGNED = message({
  type: ChannelMessageType.FUNDING_SIGNED,
  name: 'funding_signed',
  fields: [field('channelId', B32), field('signature', SIG)],
  tlvs: [],
});

const CHANNEL_READY = message({
  type: ChannelMessageType.CHANNEL_READY,
  name: 'channel_ready',
  fields: [field('channelId', B32), field('secondPerCommitmentPoint', POINT)],
  /** TLV 1 (`short_channel_id`): the alias the sender wants the channel known by. */
  tlvs: [tlv(1n, 'shortChannelIdAlias', fixed(8), { name: 'short_channel_id', length: 8 })],
});

const SHUTDOWN = message({
  type: ChannelMessageType.SHUTDOWN,
  name: 'shutdown',
  fields: [field('channelId', B32), field('scriptPubkey', bytes16(), 'scriptpubkey')],
  tlvs: [],
});

const CLOSING_SIGNED = message({
  type: ChannelMessageType.CLOSING_SIGNED,
  name: 'closing_signed',
  fields: [field('channelId', B32), field('feeSatoshis', u64), field('signature', SIG)],
  tlvs: [tlv(1n, 'feeRange', feeRange, { name: 'fee_range', length: 16 })],
});

/**
 * `closing_complete` and `closing_sig` share one layout: the closer's and closee's scripts, the fee the
 * closer pays, the transaction's nLockTime, and one signature per closing-transaction variant (TLVs 1–3).
 */
const simpleClosingFields = [
  field('channelId', B32),
  field('closerScriptPubkey', bytes16(), 'closer_scriptpubkey'),
  field('closeeScriptPubkey', bytes16(), 'closee_scriptpubkey'),
  field('feeSatoshis', u64, 'fee_satoshis'),
  field('locktime', u32),
] as const;
const closingTlvs = [
  tlv(1n, 'closerOutputOnly', SIG, { name: 'closer_output_only', length: 64 }),
  tlv(2n, 'closeeOutputOnly', SIG, { name: 'closee_output_only', length: 64 }),
  tlv(3n, 'closerAndCloseeOutputs', SIG, { name: 'closer_and_closee_outputs', length: 64 }),
] as const;

const CLOSING_COMPLETE = message({ type: ChannelMessageType.CLOSING_COMPLETE, name: 'closing_complete', fields: [...simpleClosingFields], tlvs: [...closingTlvs] });
const CLOSING_SIG = message({ type: ChannelMessageType.CLOSING_SIG, name: 'closing_sig', fields: [...simpleClosingFields], tlvs: [...closingTlvs] });

const UPDATE_ADD_HTLC = message({
  type: ChannelMessageType.UPDATE_ADD_HTLC,
  name: 'update_add_htlc',
  fields: [
    field('channelId', B32),
    field('id', u64),
    field('amountMsat', u64),
    field('paymentHash', B32),
    field('cltvExpiry', u32),
    field('onionRoutingPacket', fixed(ONION_PACKET_SIZE)),
  ],
  /** TLV 0 (route blinding), a 33-byte point. */
  tlvs: [tlv(0n, 'blindingPoint', POINT, { length: 33 })],
});

const UPDATE_FULFILL_HTLC = message({
  type: ChannelMessageType.UPDATE_FULFILL_HTLC,
  name: 'update_fulfill_htlc',
  fields: [field('channelId', B32), field('id', u64), field('paymentPreimage', B32)],
  tlvs: [],
});

const UPDATE_FAIL_HTLC = message({
  type: ChannelMessageType.UPDATE_FAIL_HTLC,
  name: 'update_fail_htlc',
  fields: [field('channelId', B32), field('id', u64), field('reason', bytes16())],
  tlvs: [],
});

const UPDATE_FAIL_MALFORMED_HTLC = message({
  type: ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC,
  name: 'update_fail_malformed_htlc',
  fields: [
    field('channelId', B32),
    field('id', u64),
    field('sha256OfOnion', B32, 'sha256_of_onion'),
    field('failureCode', u16),
  ],
  tlvs: [],
});

const COMMITMENT_SIGNED = message({
  type: ChannelMessageType.COMMITMENT_SIGNED,
  name: 'commitment_signed',
  fields: [field('channelId', B32), field('signature', SIG), field('htlcSignatures', list16(SIG), 'htlc_signature')],
  tlvs: [],
});

const REVOKE_AND_ACK = message({
  type: ChannelMessageType.REVOKE_AND_ACK,
  name: 'revoke_and_ack',
  fields: [field('channelId', B32), field('perCommitmentSecret', B32), field('nextPerCommitmentPoint', POINT)],
  tlvs: [],
});

const UPDATE_FEE = message({
  type: ChannelMessageType.UPDATE_FEE,
  name: 'update_fee',
  fields: [field('channelId', B32), field('feeratePerKw', u32)],
  tlvs: [],
});

const CHANNEL_REESTABLISH = message({
  type: ChannelMessageType.CHANNEL_REESTABLISH,
  name: 'channel_reestablish',
  fields: [
    field('channelId', B32),
    field('nextCommitmentNumber', u64),
    field('nextRevocationNumber', u64),
    field('yourLastPerCommitmentSecret', B32),
    field('myCurrentPerCommitmentPoint', POINT),
  ],
  /**
   * TLV 0 (`next_funding`, dual funding): a 32-byte txid. Decoded only so that the even type is not
   * rejected; this node does not act on it.
   */
  tlvs: [tlv(0n, 'nextFundingTxid', B32, { name: 'next_funding', length: 32 })],
});

/** A whole message is at most 65535 bytes, 2 of them the type. */
const TABLE = new MessageTable(
  [
    OPEN_CHANNEL,
    ACCEPT_CHANNEL,
    FUNDING_CREATED,
    FUNDING_SIGNED,
    CHANNEL_READY,
    SHUTDOWN,
    CLOSING_SIGNED,
    CLOSING_COMPLETE,
    CLOSING_SIG,
    UPDATE_ADD_HTLC,
    UPDATE_FULFILL_HTLC,
    UPDATE_FAIL_HTLC,
    UPDATE_FAIL_MALFORMED_HTLC,
    COMMITMENT_SIGNED,
    REVOKE_AND_ACK,
    UPDATE_FEE,
    CHANNEL_REESTABLISH,
  ],
  65535 - 2,
);

export type OpenChannel = MessageOf<typeof OPEN_CHANNEL>;
export type AcceptChannel = MessageOf<typeof ACCEPT_CHANNEL>;
export type FundingCreated = MessageOf<typeof FUNDING_CREATED>;
export type FundingSigned = MessageOf<typeof FUNDING_SIGNED>;
export type ChannelReady = MessageOf<typeof CHANNEL_READY>;
export type Shutdown = MessageOf<typeof SHUTDOWN>;
export type ClosingSigned = MessageOf<typeof CLOSING_SIGNED>;
export type ClosingComplete = MessageOf<typeof CLOSING_COMPLETE>;
export type ClosingSig = MessageOf<typeof CLOSING_SIG>;
export type UpdateAddHtlc = MessageOf<typeof UPDATE_ADD_HTLC>;
export type UpdateFulfillHtlc = MessageOf<typeof UPDATE_FULFILL_HTLC>;
export type UpdateFailHtlc = MessageOf<typeof UPDATE_FAIL_HTLC>;
export type UpdateFailMalformedHtlc = MessageOf<typeof UPDATE_FAIL_MALFORMED_HTLC>;
export type CommitmentSigned = MessageOf<typeof COMMITMENT_SIGNED>;
export type RevokeAndAck = MessageOf<typeof REVOKE_AND_ACK>;
export type UpdateFee = MessageOf<typeof UPDATE_FEE>;
export type ChannelReestablish = MessageOf<typeof CHANNEL_REESTABLISH>;

/** Every BOLT 2 message, a union keyed by `type`. */
export type ChannelMessage = MessageOfTable<typeof TABLE>;

/** The limits and keys a side announces, shared by open_channel and accept_channel. */
export type ChannelParamsFields = Omit<AcceptChannel, 'type' | 'minimumDepth'>;

// ---------------------------------------------------------------------------------------------------
// Small public helpers

export function isChannelMessageType(type: number): boolean {
  return TABLE.has(type);
}

/** Spec name of a BOLT 2 message type (`open_channel`); `type N` for anything else. */
export function messageName(type: number): string {
  return TABLE.name(type) ?? `type ${type}`;
}

/**
 * The channel a message belongs to: `temporary_channel_id` for open_channel, accept_channel and
 * funding_created, `channel_id` otherwise. A copy.
 */
export function channelIdOf(msg: ChannelMessage): Buffer {
  switch (msg.type) {
    case ChannelMessageType.OPEN_CHANNEL:
    case ChannelMessageType.ACCEPT_CHANNEL:
    case ChannelMessageType.FUNDING_CREATED:
      return Buffer.from(msg.temporaryChannelId);
    default:
      return Buffer.from(msg.channelId);
  }
}

/**
 * BOLT 2 `channel_id`: the funding txid (32 bytes in internal/wire byte order — the reverse of the hex
 * bitcoind displays) with the big-endian output index XORed into its last 2 bytes.
 */
export function channelIdFromFunding(fundingTxidInternalOrder: Uint8Array, outputIndex: number): Buffer {
  if (!(fundingTxidInternalOrder instanceof Uint8Array) || fundingTxidInternalOrder.length !== 32) {
    throw new WireError('INVALID', 'channel_id: funding txid must be 32 bytes');
  }
  if (!Number.isInteger(outputIndex) || outputIndex < 0 || outputIndex > 0xffff) {
    throw new WireError('INVALID', `channel_id: output index not a u16: ${outputIndex}`);
  }
  const id = Buffer.from(fundingTxidInternalOrder);
  id[30] ^= outputIndex >> 8;
  id[31] ^= outputIndex & 0xff;
  return id;
}

// ---------------------------------------------------------------------------------------------------
// Decoding and encoding

/**
 * Decode a BOLT 2 message from its type and payload (the bytes after the 2-byte type, as the peer
 * layer's unknown-message pass-through delivers them). Throws a WireError, context-prefixed with the
 * message name: TRUNCATED, TLV_* for the trailing stream, INVALID for a type that is not BOLT 2,
 * TOO_LARGE for a payload no message could carry.
 */
export function decodeChannelMessage(type: number, payload: Uint8Array): ChannelMessage {
  const msg = TABLE.decode(type, payload);
  if (msg === undefined) throw new WireError('INVALID', `channel message: type ${type} is not a BOLT 2 message`);
  return msg;
}

/**
 * The payload of a message (everything after the 2-byte type). Throws WireError INVALID for a
 * malformed field (wrong length, integer out of range, a known or even type in `extraTlvs`).
 */
export function channelMessagePayload(msg: ChannelMessage): Buffer {
  return TABLE.encode(msg);
}

/**
 * The full message (2-byte type, then payload), ready to send. Throws like
 * {@link channelMessagePayload}.
 */
export function encodeChannelMessage(msg: ChannelMessage): Buffer {
  return TABLE.encodeMessage(msg);
}
