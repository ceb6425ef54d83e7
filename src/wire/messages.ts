/**
 * BOLT 1 messages: the 2-byte type, the setup/control messages (init, error, warning, ping, pong) as a
 * table of the codec engine, and a pass-through for every other type.
 *
 * Extension rule: bytes after the fields a message defines are allowed. For `init` they are its
 * `init_tlvs` stream (validated; unknown odd records kept in `extraTlvs`); for error, warning, ping and
 * pong they are ignored.
 */
import { bytes16, field, fixed, message, MessageTable, rest, tlv, u16, type Codec, type MessageOf, type MessageOfTable } from './codec.js';
import { WireError } from './errors.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export const MessageType = {
  WARNING: 1,
  INIT: 16,
  ERROR: 17,
  PING: 18,
  PONG: 19,
} as const;

/** Largest Lightning message (type included): the BOLT 8 length prefix is a u16. */
export const MAX_MESSAGE_SIZE = 65535;

/** A `ping` asking for this many pong bytes or more must not be answered (BOLT 1). */
export const PING_NO_REPLY_THRESHOLD = 65532;

/** `init_tlvs` record types. */
export const InitTlv = { NETWORKS: 1n, REMOTE_ADDR: 3n } as const;

/** `networks` (init TLV 1): 32-byte chain hashes, back to back. */
const chainHashes: Codec<Buffer[]> = {
  read: (r, f) => {
    if (r.remaining % 32 !== 0) {
      throw new WireError('INVALID', `${r.where(f)} length ${r.remaining} is not a multiple of 32`);
    }
    const out: Buffer[] = [];
    while (r.remaining > 0) out.push(r.bytes(32, f));
    return out;
  },
  write: (w, v, f) => {
    if (!Array.isArray(v)) throw w.invalid(f, 'is not an array');
    for (const h of v) w.fixed(h, 32, f);
  },
};

/** u16-length-prefixed bytes; too long for the prefix has always been TOO_LARGE in BOLT 1. */
const bytes = (length: string): Codec<Buffer> => bytes16(length, 'TOO_LARGE');

const INIT = message({
  type: MessageType.INIT,
  name: 'init',
  fields: [
    field('globalFeatures', bytes('gflen'), 'globalfeatures'),
    field('features', bytes('flen')),
  ],
  tlvs: [
    /** 32-byte chain hashes, as on the wire; see {@link CHAIN_HASH}. */
    tlv(InitTlv.NETWORKS, 'networks', chainHashes),
    /** Raw address descriptor bytes (not validated here). */
    tlv(InitTlv.REMOTE_ADDR, 'remoteAddr', rest),
  ],
});
const channelText = [field('channelId', fixed(32)), field('data', bytes('len'))] as const;
const ERROR = message({ type: MessageType.ERROR, name: 'error', fields: channelText });
const WARNING = message({ type: MessageType.WARNING, name: 'warning', fields: channelText });
const PING = message({
  type: MessageType.PING,
  name: 'ping',
  fields: [field('numPongBytes', u16), field('ignored', bytes('byteslen'))],
});
const PONG = message({ type: MessageType.PONG, name: 'pong', fields: [field('ignored', bytes('byteslen'))] });

// The whole-message limit is checked by the framing (decodeMessage/encodeMessage), as `message: …`.
const TABLE = new MessageTable([INIT, ERROR, WARNING, PING, PONG]);

export type Init = MessageOf<typeof INIT>;
export type ErrorMsg = MessageOf<typeof ERROR>;
export type Warning = MessageOf<typeof WARNING>;
export type Ping = MessageOf<typeof PING>;
export type Pong = MessageOf<typeof PONG>;

export interface UnknownMessage {
  type: number;
  unknown: true;
  /** Everything after the 2-byte type. */
  payload: Buffer;
}

export type KnownMessage = MessageOfTable<typeof TABLE>;
export type Message = KnownMessage | UnknownMessage;

/** Even message types must be understood ("it's OK to be odd"). */
export function isEvenType(type: number): boolean {
  return (type & 1) === 0;
}

export function isUnknownMessage(msg: Message): msg is UnknownMessage {
  return 'unknown' in msg && msg.unknown === true;
}

/** Name of a BOLT 1 message type, for logs (`init`, `ping`, `type 32769`). */
export function messageTypeName(type: number): string {
  return TABLE.name(type) ?? `type ${type}`;
}

// ---------------------------------------------------------------------------------------------------
// Chain hashes as sent in `networks`: the genesis block hash in internal byte order (the reverse of the
// hex block explorers display).

function chainHash(displayHex: string): Buffer {
  return Buffer.from(displayHex, 'hex').reverse();
}

export const CHAIN_HASH = {
  bitcoin: chainHash('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f'),
  testnet: chainHash('000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943'),
  testnet4: chainHash('00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043'),
  signet: chainHash('00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6'),
  regtest: chainHash('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206'),
} as const;

export type Network = keyof typeof CHAIN_HASH;

/** The network a wire chain hash denotes, if it is one of {@link CHAIN_HASH}. */
export function networkOfChainHash(hash: Uint8Array): Network | undefined {
  for (const [name, h] of Object.entries(CHAIN_HASH) as [Network, Buffer][]) {
    if (h.equals(hash)) return name;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Framing

/**
 * Decode one message (2-byte big-endian type, then payload). Returns an {@link UnknownMessage} for
 * types other than 1, 16, 17, 18, 19 — the caller applies the odd/even rule ({@link isEvenType}).
 * Fields are copies: the result never aliases `buf`.
 */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.length > MAX_MESSAGE_SIZE) {
    throw new WireError('TOO_LARGE', `message: ${buf.length} bytes exceeds ${MAX_MESSAGE_SIZE}`);
  }
  const r = new Reader(buf, 'message');
  const type = r.u16('type');
  const body = r.rest();
  return TABLE.decode(type, body) ?? { type, unknown: true, payload: Buffer.from(body) };
}

/** Encode a message; throws WireError INVALID on malformed fields, TOO_LARGE above 65535 bytes. */
export function encodeMessage(msg: Message): Buffer {
  const w = new Writer('message');
  if (isUnknownMessage(msg)) {
    w.u16(msg.type, 'type').bytes(msg.payload, 'payload');
  } else if (TABLE.has(msg.type)) {
    w.u16(msg.type, 'type').bytes(TABLE.encode(msg), 'payload');
  } else {
    throw new WireError('INVALID', `message: cannot encode type ${String(msg.type)} without unknown: true`);
  }
  if (w.length > MAX_MESSAGE_SIZE) {
    throw new WireError('TOO_LARGE', `message: ${w.length} bytes exceeds ${MAX_MESSAGE_SIZE}`);
  }
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------
// Logging a peer's text

/** Longest string {@link sanitizeText} returns. */
export const SANITIZED_MAX_CHARS = 1000;

/**
 * A peer's error/warning `data` made safe to log: printable ASCII (32..126) verbatim except `\`, all
 * other bytes (and `\`) as `\xNN`. At most 1000 characters; a cut result ends in `...`.
 */
export function sanitizeText(data: Uint8Array): string {
  let out = '';
  let cut = 0; // length of `out` at the last piece boundary that leaves room for '...'
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    out +=
      c >= 32 && c <= 126 && c !== 0x5c
        ? String.fromCharCode(c)
        : `\\x${c.toString(16).padStart(2, '0')}`;
    if (out.length > SANITIZED_MAX_CHARS) return out.slice(0, cut) + '...';
    if (out.length <= SANITIZED_MAX_CHARS - 3) cut = out.length;
  }
  return out;
}
