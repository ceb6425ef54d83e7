/**
 * BOLT 7 messages as a table of the codec engine (`wire/codec.ts`): the announcements (256–259) and the
 * gossip queries (261–265). Short channel ids are u64 bigints here (`block << 40 | tx << 16 | out`);
 * {@link scidToString} gives CLN's `BLOCKxTXxOUT`.
 *
 * `encoded_short_ids` and `encoded_timestamps` start with an encoding byte: 0 = uncompressed, 1 = zlib
 * (deprecated by BOLT 7 but still sent by old peers). {@link decodeShortIds} inflates with an output cap
 * ({@link MAX_INFLATED_BYTES}): a zlib bomb is a WireError TOO_LARGE, never a large allocation.
 *
 * Addresses of `node_announcement` are kept raw (`addresses`) and parsed by `address.ts`; signatures
 * are checked by `validate.ts`.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { bytes16, field, fixed, message, MessageTable, tlv, u16, u32, u64, u8, type Codec, type MessageOf, type MessageOfTable } from '../wire/codec.js';
import { WireError } from '../wire/errors.js';
import { encodeBigSize } from '../wire/bigsize.js';

export const GossipMessageType = {
  CHANNEL_ANNOUNCEMENT: 256,
  NODE_ANNOUNCEMENT: 257,
  CHANNEL_UPDATE: 258,
  ANNOUNCEMENT_SIGNATURES: 259,
  QUERY_SHORT_CHANNEL_IDS: 261,
  REPLY_SHORT_CHANNEL_IDS_END: 262,
  QUERY_CHANNEL_RANGE: 263,
  REPLY_CHANNEL_RANGE: 264,
  GOSSIP_TIMESTAMP_FILTER: 265,
} as const;

/** Largest inflated `encoded_short_ids`/`encoded_timestamps`: 65,536 entries of 8 bytes. */
export const MAX_INFLATED_BYTES = 65_536 * 8;

export const Encoding = { UNCOMPRESSED: 0, ZLIB: 1 } as const;
export type EncodingType = (typeof Encoding)[keyof typeof Encoding];

const SIG = fixed(64);
const POINT = fixed(33);
const HASH = fixed(32);

/** The body of an encoded list: raw, or inflated with a cap. */
function inflateBody(encoding: number, body: Uint8Array, what: string): Buffer {
  if (encoding === Encoding.UNCOMPRESSED) return Buffer.from(body);
  if (encoding !== Encoding.ZLIB) throw new WireError('INVALID', `${what}: unknown encoding type ${encoding}`);
  try {
    return inflateSync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new WireError('TOO_LARGE', `${what}: inflates beyond ${MAX_INFLATED_BYTES} bytes`);
    throw new WireError('INVALID', `${what}: bad zlib data (${(e as Error).message})`);
  }
}

/** `encoded_short_ids` (encoding byte + list of u64) as scids; an empty field is an empty list. */
export function decodeShortIds(encoded: Uint8Array): bigint[] {
  if (encoded.length === 0) return [];
  const body = inflateBody(encoded[0]!, encoded.subarray(1), 'encoded_short_ids');
  if (body.length % 8 !== 0) throw new WireError('INVALID', `encoded_short_ids: ${body.length} bytes is not a multiple of 8`);
  const out: bigint[] = [];
  for (let i = 0; i < body.length; i += 8) out.push(body.readBigUInt64BE(i));
  return out;
}

export function encodeShortIds(ids: readonly bigint[], encoding: EncodingType = Encoding.UNCOMPRESSED): Buffer {
  const body = Buffer.alloc(ids.length * 8);
  ids.forEach((id, i) => body.writeBigUInt64BE(id, i * 8));
  return Buffer.concat([Buffer.of(encoding), encoding === Encoding.ZLIB ? deflateSync(body) : body]);
}

export interface ChannelTimestamps {
  timestamp1: number;
  timestamp2: number;
}

/** `encoded_timestamps` (reply_channel_range TLV 1): encoding byte + pairs of u32. */
export function decodeTimestamps(encoded: Uint8Array): ChannelTimestamps[] {
  if (encoded.length === 0) return [];
  const body = inflateBody(encoded[0]!, encoded.subarray(1), 'encoded_timestamps');
  if (body.length % 8 !== 0) throw new WireError('INVALID', `encoded_timestamps: ${body.length} bytes is not a multiple of 8`);
  const out: ChannelTimestamps[] = [];
  for (let i = 0; i < body.length; i += 8) out.push({ timestamp1: body.readUInt32BE(i), timestamp2: body.readUInt32BE(i + 4) });
  return out;
}

export function encodeTimestamps(ts: readonly ChannelTimestamps[], encoding: EncodingType = Encoding.UNCOMPRESSED): Buffer {
  const body = Buffer.alloc(ts.length * 8);
  ts.forEach((t, i) => {
    body.writeUInt32BE(t.timestamp1 >>> 0, i * 8);
    body.writeUInt32BE(t.timestamp2 >>> 0, i * 8 + 4);
  });
  return Buffer.concat([Buffer.of(encoding), encoding === Encoding.ZLIB ? deflateSync(body) : body]);
}

/** A BigSize as a TLV value (query_channel_range's `query_option`). */
const bigSizeValue: Codec<bigint> = {
  read: (r, f) => r.bigSize(f),
  write: (w, v, f) => {
    if (typeof v !== 'bigint' || v < 0n) throw w.invalid(f, 'is not a BigSize');
    w.bytes(encodeBigSize(v), f);
  },
};

/** All remaining bytes of a TLV value. */
const restValue: Codec<Buffer> = { read: (r) => Buffer.from(r.rest()), write: (w, v, f) => void w.bytes(v, f) };

/** `query_flags` (query_short_channel_ids TLV 1): encoding byte + BigSize flags, kept raw. */
const queryFlags: Codec<Buffer> = restValue;

/** u32 list of `checksums_tlv`. */
const checksums: Codec<number[]> = {
  read: (r, f) => {
    if (r.remaining % 8 !== 0) throw new WireError('INVALID', `${r.where(f)} length ${r.remaining} is not a multiple of 8`);
    const out: number[] = [];
    while (r.remaining > 0) out.push(r.u32(f), r.u32(f));
    return out;
  },
  write: (w, v, f) => {
    if (!Array.isArray(v)) throw w.invalid(f, 'is not an array');
    for (const x of v) w.u32(x, f);
  },
};

const CHANNEL_ANNOUNCEMENT = message({
  type: GossipMessageType.CHANNEL_ANNOUNCEMENT,
  name: 'channel_announcement',
  fields: [
    field('nodeSignature1', SIG, 'node_signature_1'),
    field('nodeSignature2', SIG, 'node_signature_2'),
    field('bitcoinSignature1', SIG, 'bitcoin_signature_1'),
    field('bitcoinSignature2', SIG, 'bitcoin_signature_2'),
    field('features', bytes16('len')),
    field('chainHash', HASH),
    field('shortChannelId', u64),
    field('nodeId1', POINT, 'node_id_1'),
    field('nodeId2', POINT, 'node_id_2'),
    field('bitcoinKey1', POINT, 'bitcoin_key_1'),
    field('bitcoinKey2', POINT, 'bitcoin_key_2'),
  ],
});

const NODE_ANNOUNCEMENT = message({
  type: GossipMessageType.NODE_ANNOUNCEMENT,
  name: 'node_announcement',
  fields: [
    field('signature', SIG),
    field('features', bytes16('flen')),
    field('timestamp', u32),
    field('nodeId', POINT),
    field('rgbColor', fixed(3)),
    field('alias', HASH),
    field('addresses', bytes16('addrlen')),
  ],
});

const CHANNEL_UPDATE = message({
  type: GossipMessageType.CHANNEL_UPDATE,
  name: 'channel_update',
  fields: [
    field('signature', SIG),
    field('chainHash', HASH),
    field('shortChannelId', u64),
    field('timestamp', u32),
    field('messageFlags', u8),
    field('channelFlags', u8),
    field('cltvExpiryDelta', u16),
    field('htlcMinimumMsat', u64),
    field('feeBaseMsat', u32),
    field('feeProportionalMillionths', u32),
    field('htlcMaximumMsat', u64),
  ],
});

const ANNOUNCEMENT_SIGNATURES = message({
  type: GossipMessageType.ANNOUNCEMENT_SIGNATURES,
  name: 'announcement_signatures',
  fields: [field('channelId', HASH), field('shortChannelId', u64), field('nodeSignature', SIG), field('bitcoinSignature', SIG)],
});

const QUERY_SHORT_CHANNEL_IDS = message({
  type: GossipMessageType.QUERY_SHORT_CHANNEL_IDS,
  name: 'query_short_channel_ids',
  fields: [field('chainHash', HASH), field('encodedShortIds', bytes16('len'))],
  tlvs: [tlv(1n, 'queryFlags', queryFlags)],
});

const REPLY_SHORT_CHANNEL_IDS_END = message({
  type: GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END,
  name: 'reply_short_channel_ids_end',
  fields: [field('chainHash', HASH), field('fullInformation', u8)],
});

const QUERY_CHANNEL_RANGE = message({
  type: GossipMessageType.QUERY_CHANNEL_RANGE,
  name: 'query_channel_range',
  fields: [field('chainHash', HASH), field('firstBlocknum', u32), field('numberOfBlocks', u32)],
  tlvs: [tlv(1n, 'queryOption', bigSizeValue)],
});

const REPLY_CHANNEL_RANGE = message({
  type: GossipMessageType.REPLY_CHANNEL_RANGE,
  name: 'reply_channel_range',
  fields: [
    field('chainHash', HASH),
    field('firstBlocknum', u32),
    field('numberOfBlocks', u32),
    field('syncComplete', u8),
    field('encodedShortIds', bytes16('len')),
  ],
  tlvs: [tlv(1n, 'timestamps', restValue, { name: 'timestamps_tlv' }), tlv(3n, 'checksums', checksums, { name: 'checksums_tlv' })],
});

const GOSSIP_TIMESTAMP_FILTER = message({
  type: GossipMessageType.GOSSIP_TIMESTAMP_FILTER,
  name: 'gossip_timestamp_filter',
  fields: [field('chainHash', HASH), field('firstTimestamp', u32), field('timestampRange', u32)],
});

const TABLE = new MessageTable(
  [
    CHANNEL_ANNOUNCEMENT,
    NODE_ANNOUNCEMENT,
    CHANNEL_UPDATE,
    ANNOUNCEMENT_SIGNATURES,
    QUERY_SHORT_CHANNEL_IDS,
    REPLY_SHORT_CHANNEL_IDS_END,
    QUERY_CHANNEL_RANGE,
    REPLY_CHANNEL_RANGE,
    GOSSIP_TIMESTAMP_FILTER,
  ],
  65533,
);

export type ChannelAnnouncement = MessageOf<typeof CHANNEL_ANNOUNCEMENT>;
export type NodeAnnouncement = MessageOf<typeof NODE_ANNOUNCEMENT>;
export type ChannelUpdate = MessageOf<typeof CHANNEL_UPDATE>;
export type AnnouncementSignatures = MessageOf<typeof ANNOUNCEMENT_SIGNATURES>;
export type QueryShortChannelIds = MessageOf<typeof QUERY_SHORT_CHANNEL_IDS>;
export type ReplyShortChannelIdsEnd = MessageOf<typeof REPLY_SHORT_CHANNEL_IDS_END>;
export type QueryChannelRange = MessageOf<typeof QUERY_CHANNEL_RANGE>;
export type ReplyChannelRange = MessageOf<typeof REPLY_CHANNEL_RANGE>;
export type GossipTimestampFilter = MessageOf<typeof GOSSIP_TIMESTAMP_FILTER>;
export type GossipMessage = MessageOfTable<typeof TABLE>;

/** The typed message of a gossip type's payload. Throws WireError (prefixed with the spec name). */
export function decodeGossipMessage(type: number, payload: Uint8Array): GossipMessage {
  const m = TABLE.decode(type, payload);
  if (m === undefined) throw new WireError('INVALID', `gossip: type ${type} is not a BOLT 7 message`);
  return m;
}

export function gossipMessagePayload(msg: GossipMessage): Buffer {
  return TABLE.encode(msg);
}

/** The whole message (2-byte type included). */
export function encodeGossipMessage(msg: GossipMessage): Buffer {
  return TABLE.encodeMessage(msg);
}

// ---------------------------------------------------------------------------------------------------
// Short channel ids

export interface ScidParts {
  block: number;
  tx: number;
  output: number;
}

export function scidParts(scid: bigint): ScidParts {
  return { block: Number(scid >> 40n), tx: Number((scid >> 16n) & 0xffffffn), output: Number(scid & 0xffffn) };
}

export function scidFromParts(p: ScidParts): bigint {
  return (BigInt(p.block) << 40n) | (BigInt(p.tx) << 16n) | BigInt(p.output);
}

export function scidToString(scid: bigint): string {
  const p = scidParts(scid);
  return `${p.block}x${p.tx}x${p.output}`;
}

/** `BLOCKxTXxOUT` as a u64, or undefined. */
export function scidFromString(s: string): bigint | undefined {
  const m = /^(\d{1,8})x(\d{1,8})x(\d{1,5})$/.exec(s);
  if (m === null) return undefined;
  const [block, tx, output] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (block > 0xffffff || tx > 0xffffff || output > 0xffff) return undefined;
  return scidFromParts({ block, tx, output });
}
