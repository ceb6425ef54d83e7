/**
 * BOLT 2 messages: channel establishment (v1), close, normal operation and reestablish.
 *
 * The peer layer hands these over as BOLT 1 "unknown" messages (`{ type, unknown: true, payload }`);
 * {@link decodeChannelMessage} turns the payload into a typed message and {@link encodeChannelMessage}
 * produces the full wire bytes (2-byte type included).
 *
 * Extension rule (BOLT 1), applied uniformly: whatever follows the fields a message defines is parsed as
 * a TLV stream. Records the message knows become typed fields; unknown odd records are kept, in stream
 * order, in `extraTlvs` (and re-encoded); an unknown even record is a TLV_UNKNOWN_EVEN WireError. This
 * holds for messages whose spec has no TLV stream as well (their stream simply has no known types).
 *
 * Points (33-byte fields) and signatures are only length-checked here; curve validation belongs to the
 * channel layer. Every decoded Buffer is a copy, never a view of the input.
 */
import { WireError } from '../wire/errors.js';
import { decodeTlvStream, encodeTlvStream, type TlvRecord } from '../wire/tlv.js';

export const ChannelMessageType = {
  OPEN_CHANNEL: 32,
  ACCEPT_CHANNEL: 33,
  FUNDING_CREATED: 34,
  FUNDING_SIGNED: 35,
  CHANNEL_READY: 36,
  SHUTDOWN: 38,
  CLOSING_SIGNED: 39,
  UPDATE_ADD_HTLC: 128,
  UPDATE_FULFILL_HTLC: 130,
  UPDATE_FAIL_HTLC: 131,
  COMMITMENT_SIGNED: 132,
  REVOKE_AND_ACK: 133,
  UPDATE_FEE: 134,
  UPDATE_FAIL_MALFORMED_HTLC: 135,
  CHANNEL_REESTABLISH: 136,
} as const;

export type ChannelMessageTypeValue = (typeof ChannelMessageType)[keyof typeof ChannelMessageType];

/** Size of `onion_routing_packet` in `update_add_htlc` (BOLT 4). */
export const ONION_PACKET_SIZE = 1366;

/** Known TLV record types, per message. */
export const OpenChannelTlv = { UPFRONT_SHUTDOWN_SCRIPT: 0n, CHANNEL_TYPE: 1n } as const;
export const AcceptChannelTlv = { UPFRONT_SHUTDOWN_SCRIPT: 0n, CHANNEL_TYPE: 1n } as const;
export const ChannelReadyTlv = { SHORT_CHANNEL_ID: 1n } as const;
export const ClosingSignedTlv = { FEE_RANGE: 1n } as const;
export const UpdateAddHtlcTlv = { BLINDING_POINT: 0n } as const;
export const ChannelReestablishTlv = { NEXT_FUNDING: 0n } as const;

// ---------------------------------------------------------------------------------------------------
// Message shapes

/** The limits and keys a side announces, shared by open_channel and accept_channel. */
export interface ChannelParamsFields {
  temporaryChannelId: Buffer;
  dustLimitSatoshis: bigint;
  maxHtlcValueInFlightMsat: bigint;
  channelReserveSatoshis: bigint;
  htlcMinimumMsat: bigint;
  toSelfDelay: number;
  maxAcceptedHtlcs: number;
  fundingPubkey: Buffer;
  revocationBasepoint: Buffer;
  paymentBasepoint: Buffer;
  delayedPaymentBasepoint: Buffer;
  htlcBasepoint: Buffer;
  firstPerCommitmentPoint: Buffer;
  /** TLV 0; present-but-empty means "no upfront script" (distinct from absent). */
  upfrontShutdownScript?: Buffer;
  /** TLV 1, a feature bit vector. */
  channelType?: Buffer;
  extraTlvs: TlvRecord[];
}

export interface OpenChannel extends ChannelParamsFields {
  type: 32;
  /** 32 bytes, as on the wire (internal byte order). */
  chainHash: Buffer;
  fundingSatoshis: bigint;
  pushMsat: bigint;
  feeratePerKw: number;
  channelFlags: number;
}

export interface AcceptChannel extends ChannelParamsFields {
  type: 33;
  minimumDepth: number;
}

export interface FundingCreated {
  type: 34;
  temporaryChannelId: Buffer;
  /** 32 bytes as on the wire: internal byte order, the reverse of the display hex. */
  fundingTxid: Buffer;
  fundingOutputIndex: number;
  signature: Buffer;
  extraTlvs: TlvRecord[];
}

export interface FundingSigned {
  type: 35;
  channelId: Buffer;
  signature: Buffer;
  extraTlvs: TlvRecord[];
}

export interface ChannelReady {
  type: 36;
  channelId: Buffer;
  secondPerCommitmentPoint: Buffer;
  /** TLV 1 (`short_channel_id`), 8 bytes: the alias the sender wants the channel known by. */
  shortChannelIdAlias?: Buffer;
  extraTlvs: TlvRecord[];
}

export interface Shutdown {
  type: 38;
  channelId: Buffer;
  scriptPubkey: Buffer;
  extraTlvs: TlvRecord[];
}

export interface ClosingSigned {
  type: 39;
  channelId: Buffer;
  feeSatoshis: bigint;
  signature: Buffer;
  /** TLV 1. */
  feeRange?: { minFeeSatoshis: bigint; maxFeeSatoshis: bigint };
  extraTlvs: TlvRecord[];
}

export interface UpdateAddHtlc {
  type: 128;
  channelId: Buffer;
  id: bigint;
  amountMsat: bigint;
  paymentHash: Buffer;
  cltvExpiry: number;
  /** 1366 bytes. */
  onionRoutingPacket: Buffer;
  /** TLV 0 (route blinding), a 33-byte point. */
  blindingPoint?: Buffer;
  extraTlvs: TlvRecord[];
}

export interface UpdateFulfillHtlc {
  type: 130;
  channelId: Buffer;
  id: bigint;
  paymentPreimage: Buffer;
  extraTlvs: TlvRecord[];
}

export interface UpdateFailHtlc {
  type: 131;
  channelId: Buffer;
  id: bigint;
  reason: Buffer;
  extraTlvs: TlvRecord[];
}

export interface UpdateFailMalformedHtlc {
  type: 135;
  channelId: Buffer;
  id: bigint;
  sha256OfOnion: Buffer;
  failureCode: number;
  extraTlvs: TlvRecord[];
}

export interface CommitmentSigned {
  type: 132;
  channelId: Buffer;
  signature: Buffer;
  /** 64 bytes each. */
  htlcSignatures: Buffer[];
  extraTlvs: TlvRecord[];
}

export interface RevokeAndAck {
  type: 133;
  channelId: Buffer;
  perCommitmentSecret: Buffer;
  nextPerCommitmentPoint: Buffer;
  extraTlvs: TlvRecord[];
}

export interface UpdateFee {
  type: 134;
  channelId: Buffer;
  feeratePerKw: number;
  extraTlvs: TlvRecord[];
}

export interface ChannelReestablish {
  type: 136;
  channelId: Buffer;
  nextCommitmentNumber: bigint;
  nextRevocationNumber: bigint;
  yourLastPerCommitmentSecret: Buffer;
  myCurrentPerCommitmentPoint: Buffer;
  /**
   * TLV 0 (`next_funding`, dual funding): a 32-byte txid. Decoded only so that the even type is not
   * rejected; this node does not act on it.
   */
  nextFundingTxid?: Buffer;
  extraTlvs: TlvRecord[];
}

export type ChannelMessage =
  | OpenChannel
  | AcceptChannel
  | FundingCreated
  | FundingSigned
  | ChannelReady
  | Shutdown
  | ClosingSigned
  | UpdateAddHtlc
  | UpdateFulfillHtlc
  | UpdateFailHtlc
  | UpdateFailMalformedHtlc
  | CommitmentSigned
  | RevokeAndAck
  | UpdateFee
  | ChannelReestablish;

// ---------------------------------------------------------------------------------------------------
// Layout descriptions: every message is its fixed fields in order, then a TLV stream.

/** A field kind: an integer width, a length-prefixed byte string, a counted signature list, or a fixed
 * number of bytes. */
type FieldKind = 'u8' | 'u16' | 'u32' | 'u64' | 'var16' | 'sigs16' | number;

interface FieldSpec {
  /** Property name in the TS message. */
  key: string;
  /** Field name in the spec, for error messages. */
  name: string;
  kind: FieldKind;
}

/** Value encoding of a known TLV record: raw bytes, a fixed number of bytes, or the fee range pair. */
type TlvKind = 'bytes' | 'feeRange' | number;

interface TlvSpec {
  type: bigint;
  key: string;
  name: string;
  kind: TlvKind;
}

interface MessageSpec {
  name: string;
  fields: FieldSpec[];
  tlvs: TlvSpec[];
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function f(key: string, kind: FieldKind, name: string = snake(key)): FieldSpec {
  return { key, name, kind };
}

function tlv(type: bigint, key: string, kind: TlvKind, name: string = snake(key)): TlvSpec {
  return { type, key, name, kind };
}

const SIG = 64;
const POINT = 33;
const B32 = 32;

const basepoints: FieldSpec[] = [
  f('fundingPubkey', POINT),
  f('revocationBasepoint', POINT),
  f('paymentBasepoint', POINT),
  f('delayedPaymentBasepoint', POINT),
  f('htlcBasepoint', POINT),
  f('firstPerCommitmentPoint', POINT),
];

const openAcceptTlvs: TlvSpec[] = [
  tlv(OpenChannelTlv.UPFRONT_SHUTDOWN_SCRIPT, 'upfrontShutdownScript', 'bytes'),
  tlv(OpenChannelTlv.CHANNEL_TYPE, 'channelType', 'bytes'),
];

const SPECS: ReadonlyMap<number, MessageSpec> = new Map<number, MessageSpec>([
  [
    ChannelMessageType.OPEN_CHANNEL,
    {
      name: 'open_channel',
      fields: [
        f('chainHash', B32),
        f('temporaryChannelId', B32),
        f('fundingSatoshis', 'u64'),
        f('pushMsat', 'u64'),
        f('dustLimitSatoshis', 'u64'),
        f('maxHtlcValueInFlightMsat', 'u64'),
        f('channelReserveSatoshis', 'u64'),
        f('htlcMinimumMsat', 'u64'),
        f('feeratePerKw', 'u32'),
        f('toSelfDelay', 'u16'),
        f('maxAcceptedHtlcs', 'u16'),
        ...basepoints,
        f('channelFlags', 'u8'),
      ],
      tlvs: openAcceptTlvs,
    },
  ],
  [
    ChannelMessageType.ACCEPT_CHANNEL,
    {
      name: 'accept_channel',
      fields: [
        f('temporaryChannelId', B32),
        f('dustLimitSatoshis', 'u64'),
        f('maxHtlcValueInFlightMsat', 'u64'),
        f('channelReserveSatoshis', 'u64'),
        f('htlcMinimumMsat', 'u64'),
        f('minimumDepth', 'u32'),
        f('toSelfDelay', 'u16'),
        f('maxAcceptedHtlcs', 'u16'),
        ...basepoints,
      ],
      tlvs: openAcceptTlvs,
    },
  ],
  [
    ChannelMessageType.FUNDING_CREATED,
    {
      name: 'funding_created',
      fields: [
        f('temporaryChannelId', B32),
        f('fundingTxid', B32),
        f('fundingOutputIndex', 'u16'),
        f('signature', SIG),
      ],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.FUNDING_SIGNED,
    { name: 'funding_signed', fields: [f('channelId', B32), f('signature', SIG)], tlvs: [] },
  ],
  [
    ChannelMessageType.CHANNEL_READY,
    {
      name: 'channel_ready',
      fields: [f('channelId', B32), f('secondPerCommitmentPoint', POINT)],
      tlvs: [tlv(ChannelReadyTlv.SHORT_CHANNEL_ID, 'shortChannelIdAlias', 8, 'short_channel_id')],
    },
  ],
  [
    ChannelMessageType.SHUTDOWN,
    {
      name: 'shutdown',
      fields: [f('channelId', B32), f('scriptPubkey', 'var16', 'scriptpubkey')],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.CLOSING_SIGNED,
    {
      name: 'closing_signed',
      fields: [f('channelId', B32), f('feeSatoshis', 'u64'), f('signature', SIG)],
      tlvs: [tlv(ClosingSignedTlv.FEE_RANGE, 'feeRange', 'feeRange', 'fee_range')],
    },
  ],
  [
    ChannelMessageType.UPDATE_ADD_HTLC,
    {
      name: 'update_add_htlc',
      fields: [
        f('channelId', B32),
        f('id', 'u64'),
        f('amountMsat', 'u64'),
        f('paymentHash', B32),
        f('cltvExpiry', 'u32'),
        f('onionRoutingPacket', ONION_PACKET_SIZE),
      ],
      tlvs: [tlv(UpdateAddHtlcTlv.BLINDING_POINT, 'blindingPoint', POINT)],
    },
  ],
  [
    ChannelMessageType.UPDATE_FULFILL_HTLC,
    {
      name: 'update_fulfill_htlc',
      fields: [f('channelId', B32), f('id', 'u64'), f('paymentPreimage', B32)],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.UPDATE_FAIL_HTLC,
    {
      name: 'update_fail_htlc',
      fields: [f('channelId', B32), f('id', 'u64'), f('reason', 'var16')],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC,
    {
      name: 'update_fail_malformed_htlc',
      fields: [
        f('channelId', B32),
        f('id', 'u64'),
        f('sha256OfOnion', B32, 'sha256_of_onion'),
        f('failureCode', 'u16'),
      ],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.COMMITMENT_SIGNED,
    {
      name: 'commitment_signed',
      fields: [
        f('channelId', B32),
        f('signature', SIG),
        f('htlcSignatures', 'sigs16', 'htlc_signature'),
      ],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.REVOKE_AND_ACK,
    {
      name: 'revoke_and_ack',
      fields: [
        f('channelId', B32),
        f('perCommitmentSecret', B32),
        f('nextPerCommitmentPoint', POINT),
      ],
      tlvs: [],
    },
  ],
  [
    ChannelMessageType.UPDATE_FEE,
    { name: 'update_fee', fields: [f('channelId', B32), f('feeratePerKw', 'u32')], tlvs: [] },
  ],
  [
    ChannelMessageType.CHANNEL_REESTABLISH,
    {
      name: 'channel_reestablish',
      fields: [
        f('channelId', B32),
        f('nextCommitmentNumber', 'u64'),
        f('nextRevocationNumber', 'u64'),
        f('yourLastPerCommitmentSecret', B32),
        f('myCurrentPerCommitmentPoint', POINT),
      ],
      tlvs: [tlv(ChannelReestablishTlv.NEXT_FUNDING, 'nextFundingTxid', B32, 'next_funding')],
    },
  ],
]);

// ---------------------------------------------------------------------------------------------------
// Small public helpers

export function isChannelMessageType(type: number): boolean {
  return SPECS.has(type);
}

/** Spec name of a BOLT 2 message type (`open_channel`); `type N` for anything else. */
export function messageName(type: number): string {
  return SPECS.get(type)?.name ?? `type ${type}`;
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
// Decoding

/** Largest payload: a whole message is at most 65535 bytes, 2 of them the type. */
const MAX_PAYLOAD = 65535 - 2;

class Reader {
  private offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly context: string,
  ) {}

  private need(n: number, field: string): void {
    const have = this.buf.length - this.offset;
    if (have < n) {
      throw new WireError('TRUNCATED', `${this.context}: ${field} truncated (need ${n}, have ${have})`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.offset++];
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.buf.readBigUInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const out = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  rest(): Buffer {
    return this.buf.subarray(this.offset);
  }
}

function readField(r: Reader, field: FieldSpec): unknown {
  switch (field.kind) {
    case 'u8':
      return r.u8(field.name);
    case 'u16':
      return r.u16(field.name);
    case 'u32':
      return r.u32(field.name);
    case 'u64':
      return r.u64(field.name);
    case 'var16': {
      const len = r.u16(`${field.name} length`);
      return r.bytes(len, field.name);
    }
    case 'sigs16': {
      const count = r.u16(`num_${field.name}s`);
      const sigs: Buffer[] = [];
      for (let i = 0; i < count; i++) sigs.push(r.bytes(SIG, `${field.name} ${i}`));
      return sigs;
    }
    default:
      return r.bytes(field.kind, field.name);
  }
}

function decodeTlvValue(spec: TlvSpec, value: Buffer, context: string): unknown {
  if (spec.kind === 'bytes') return value;
  const expected = spec.kind === 'feeRange' ? 16 : spec.kind;
  if (value.length !== expected) {
    throw new WireError(
      'TLV_LENGTH',
      `${context}: ${spec.name} is ${value.length} bytes, expected ${expected}`,
    );
  }
  if (spec.kind === 'feeRange') {
    return { minFeeSatoshis: value.readBigUInt64BE(0), maxFeeSatoshis: value.readBigUInt64BE(8) };
  }
  return value;
}

/**
 * Decode a BOLT 2 message from its type and payload (the bytes after the 2-byte type, as the peer
 * layer's unknown-message pass-through delivers them). Throws a WireError, context-prefixed with the
 * message name: TRUNCATED, TLV_* for the trailing stream, INVALID for a type that is not BOLT 2,
 * TOO_LARGE for a payload no message could carry.
 */
export function decodeChannelMessage(type: number, payload: Uint8Array): ChannelMessage {
  const spec = SPECS.get(type);
  if (spec === undefined) {
    throw new WireError('INVALID', `channel message: type ${type} is not a BOLT 2 message`);
  }
  if (!(payload instanceof Uint8Array)) {
    throw new WireError('INVALID', `${spec.name}: payload is not bytes`);
  }
  if (payload.length > MAX_PAYLOAD) {
    throw new WireError(
      'TOO_LARGE',
      `${spec.name}: payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`,
    );
  }
  const body = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const r = new Reader(body, spec.name);
  const out: Record<string, unknown> = { type };
  for (const field of spec.fields) out[field.key] = readField(r, field);

  let records: TlvRecord[];
  try {
    records = decodeTlvStream(r.rest(), (t) => spec.tlvs.some((s) => s.type === t));
  } catch (e) {
    throw e instanceof WireError ? e.withContext(spec.name) : e;
  }
  const extraTlvs: TlvRecord[] = [];
  for (const rec of records) {
    const known = spec.tlvs.find((s) => s.type === rec.type);
    if (known === undefined) extraTlvs.push(rec);
    else out[known.key] = decodeTlvValue(known, rec.value, spec.name);
  }
  out.extraTlvs = extraTlvs;
  return out as unknown as ChannelMessage;
}

// ---------------------------------------------------------------------------------------------------
// Encoding

function invalid(context: string, what: string): WireError {
  return new WireError('INVALID', `${context}: ${what}`);
}

function uint(value: unknown, bytes: 1 | 2 | 4, context: string, name: string): Buffer {
  const max = 2 ** (8 * bytes) - 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(context, `${name} not a u${8 * bytes}: ${String(value)}`);
  }
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
}

function u64(value: unknown, context: string, name: string): Buffer {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
    throw invalid(context, `${name} not a u64 bigint: ${String(value)}`);
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(value, 0);
  return out;
}

function fixed(value: unknown, len: number, context: string, name: string): Buffer {
  if (!(value instanceof Uint8Array) || value.length !== len) {
    const got = value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
    throw invalid(context, `${name} must be ${len} bytes, got ${got}`);
  }
  return Buffer.from(value);
}

function writeField(value: unknown, field: FieldSpec, context: string): Buffer[] {
  switch (field.kind) {
    case 'u8':
      return [uint(value, 1, context, field.name)];
    case 'u16':
      return [uint(value, 2, context, field.name)];
    case 'u32':
      return [uint(value, 4, context, field.name)];
    case 'u64':
      return [u64(value, context, field.name)];
    case 'var16': {
      if (!(value instanceof Uint8Array)) throw invalid(context, `${field.name} is not bytes`);
      return [uint(value.length, 2, context, `${field.name} length`), Buffer.from(value)];
    }
    case 'sigs16': {
      if (!Array.isArray(value)) throw invalid(context, `${field.name}s is not an array`);
      const parts = [uint(value.length, 2, context, `num_${field.name}s`)];
      value.forEach((sig: unknown, i) => parts.push(fixed(sig, SIG, context, `${field.name} ${i}`)));
      return parts;
    }
    default:
      return [fixed(value, field.kind, context, field.name)];
  }
}

function encodeTlvValue(value: unknown, spec: TlvSpec, context: string): Buffer {
  if (spec.kind === 'bytes') {
    if (!(value instanceof Uint8Array)) throw invalid(context, `${spec.name} is not bytes`);
    return Buffer.from(value);
  }
  if (spec.kind === 'feeRange') {
    if (typeof value !== 'object' || value === null) {
      throw invalid(context, `${spec.name} is not an object`);
    }
    const { minFeeSatoshis, maxFeeSatoshis } = value as Record<string, unknown>;
    return Buffer.concat([
      u64(minFeeSatoshis, context, 'min_fee_satoshis'),
      u64(maxFeeSatoshis, context, 'max_fee_satoshis'),
    ]);
  }
  return fixed(value, spec.kind, context, spec.name);
}

/**
 * The payload of a message (everything after the 2-byte type). Throws WireError INVALID for a
 * malformed field (wrong length, integer out of range, a known or even type in `extraTlvs`).
 */
export function channelMessagePayload(msg: ChannelMessage): Buffer {
  if (typeof msg !== 'object' || msg === null) {
    throw new WireError('INVALID', 'channel message: not an object');
  }
  const spec = SPECS.get(msg.type);
  if (spec === undefined) {
    throw new WireError('INVALID', `channel message: type ${String(msg.type)} is not a BOLT 2 message`);
  }
  const ctx = spec.name;
  const m = msg as unknown as Record<string, unknown>;
  const parts: Buffer[] = [];
  for (const field of spec.fields) parts.push(...writeField(m[field.key], field, ctx));

  const records: TlvRecord[] = [];
  for (const t of spec.tlvs) {
    const v = m[t.key];
    if (v !== undefined) records.push({ type: t.type, value: encodeTlvValue(v, t, ctx) });
  }
  const extra = m.extraTlvs ?? [];
  if (!Array.isArray(extra)) throw invalid(ctx, 'extraTlvs is not an array');
  for (const rec of extra as unknown[]) {
    const type = (rec as TlvRecord | null)?.type;
    if (typeof type !== 'bigint') throw invalid(ctx, 'extraTlvs record without a bigint type');
    if (spec.tlvs.some((s) => s.type === type)) {
      throw invalid(ctx, `extraTlvs must not contain known type ${type}`);
    }
    if ((type & 1n) === 0n) {
      throw invalid(ctx, `extraTlvs must hold odd types only, got ${type}`);
    }
    records.push(rec as TlvRecord);
  }
  try {
    parts.push(encodeTlvStream(records));
  } catch (e) {
    throw e instanceof WireError ? e.withContext(ctx) : e;
  }
  const payload = Buffer.concat(parts);
  if (payload.length > MAX_PAYLOAD) {
    throw new WireError('TOO_LARGE', `${ctx}: message of ${payload.length + 2} bytes exceeds 65535`);
  }
  return payload;
}

/**
 * The full message (2-byte type, then payload), ready to send. Throws like
 * {@link channelMessagePayload}.
 */
export function encodeChannelMessage(msg: ChannelMessage): Buffer {
  const payload = channelMessagePayload(msg);
  const out = Buffer.alloc(2 + payload.length);
  out.writeUInt16BE(msg.type, 0);
  payload.copy(out, 2);
  return out;
}
