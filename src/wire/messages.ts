/**
 * BOLT 1 messages: the 2-byte type, the setup/control messages (init, error, warning, ping, pong) and a
 * pass-through for every other type.
 *
 * Extension rule: bytes after the fields a message defines are allowed. For `init` they are its
 * `init_tlvs` stream (validated; unknown odd records kept in `extraTlvs`); for error, warning, ping and
 * pong they are ignored.
 */
import { WireError } from './errors.js';
import { decodeTlvStream, encodeTlvStream, type TlvRecord } from './tlv.js';

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

export interface Init {
  type: 16;
  globalFeatures: Buffer;
  features: Buffer;
  /** 32-byte chain hashes (TLV 1), as on the wire; see {@link CHAIN_HASH}. */
  networks?: Buffer[];
  /** TLV 3, raw address descriptor bytes (not validated here). */
  remoteAddr?: Buffer;
  /** Unknown odd TLV records, preserved in order. */
  extraTlvs: TlvRecord[];
}

export interface ErrorMsg {
  type: 17;
  channelId: Buffer;
  data: Buffer;
}

export interface Warning {
  type: 1;
  channelId: Buffer;
  data: Buffer;
}

export interface Ping {
  type: 18;
  numPongBytes: number;
  ignored: Buffer;
}

export interface Pong {
  type: 19;
  ignored: Buffer;
}

export interface UnknownMessage {
  type: number;
  unknown: true;
  /** Everything after the 2-byte type. */
  payload: Buffer;
}

export type KnownMessage = Init | ErrorMsg | Warning | Ping | Pong;
export type Message = KnownMessage | UnknownMessage;

/** Even message types must be understood ("it's OK to be odd"). */
export function isEvenType(type: number): boolean {
  return (type & 1) === 0;
}

export function isUnknownMessage(msg: Message): msg is UnknownMessage {
  return (msg as UnknownMessage).unknown === true;
}

/** Name of a BOLT 1 message type, for logs (`init`, `ping`, `type 32769`). */
export function messageTypeName(type: number): string {
  switch (type) {
    case MessageType.WARNING:
      return 'warning';
    case MessageType.INIT:
      return 'init';
    case MessageType.ERROR:
      return 'error';
    case MessageType.PING:
      return 'ping';
    case MessageType.PONG:
      return 'pong';
    default:
      return `type ${type}`;
  }
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
// Decoding

/** Sequential reader over one message; every short read is a TRUNCATED WireError with context. */
class Reader {
  offset = 0;
  constructor(
    readonly buf: Buffer,
    readonly context: string,
  ) {}

  remaining(): number {
    return this.buf.length - this.offset;
  }

  u16(field: string): number {
    if (this.remaining() < 2) {
      throw new WireError('TRUNCATED', `${this.context}: ${field} truncated`);
    }
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  bytes(n: number, field: string): Buffer {
    if (this.remaining() < n) {
      throw new WireError(
        'TRUNCATED',
        `${this.context}: ${field} truncated (need ${n}, have ${this.remaining()})`,
      );
    }
    const out = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  rest(): Buffer {
    return this.buf.subarray(this.offset);
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Decode one message (2-byte big-endian type, then payload). Returns an {@link UnknownMessage} for
 * types other than 1, 16, 17, 18, 19 — the caller applies the odd/even rule ({@link isEvenType}).
 * Fields are copies: the result never aliases `buf`.
 */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.length > MAX_MESSAGE_SIZE) {
    throw new WireError('TOO_LARGE', `message: ${buf.length} bytes exceeds ${MAX_MESSAGE_SIZE}`);
  }
  const b = asBuffer(buf);
  if (b.length < 2) {
    throw new WireError('TRUNCATED', 'message: type truncated');
  }
  const type = b.readUInt16BE(0);
  const body = b.subarray(2);
  switch (type) {
    case MessageType.INIT:
      return decodeInit(body);
    case MessageType.ERROR:
      return { type: MessageType.ERROR, ...decodeErrorBody(body, 'error') };
    case MessageType.WARNING:
      return { type: MessageType.WARNING, ...decodeErrorBody(body, 'warning') };
    case MessageType.PING: {
      const r = new Reader(body, 'ping');
      const numPongBytes = r.u16('num_pong_bytes');
      const len = r.u16('byteslen');
      return { type: MessageType.PING, numPongBytes, ignored: r.bytes(len, 'ignored') };
    }
    case MessageType.PONG: {
      const r = new Reader(body, 'pong');
      const len = r.u16('byteslen');
      return { type: MessageType.PONG, ignored: r.bytes(len, 'ignored') };
    }
    default:
      return { type, unknown: true, payload: Buffer.from(body) };
  }
}

function decodeErrorBody(body: Buffer, context: string): { channelId: Buffer; data: Buffer } {
  const r = new Reader(body, context);
  const channelId = r.bytes(32, 'channel_id');
  const len = r.u16('len');
  return { channelId, data: r.bytes(len, 'data') };
}

function decodeInit(body: Buffer): Init {
  const r = new Reader(body, 'init');
  const gflen = r.u16('gflen');
  const globalFeatures = r.bytes(gflen, 'globalfeatures');
  const flen = r.u16('flen');
  const features = r.bytes(flen, 'features');

  let records: TlvRecord[];
  try {
    records = decodeTlvStream(r.rest(), (t) => t === InitTlv.NETWORKS || t === InitTlv.REMOTE_ADDR);
  } catch (e) {
    throw e instanceof WireError ? e.withContext('init') : e;
  }

  const msg: Init = { type: MessageType.INIT, globalFeatures, features, extraTlvs: [] };
  for (const rec of records) {
    if (rec.type === InitTlv.NETWORKS) {
      if (rec.value.length % 32 !== 0) {
        throw new WireError(
          'INVALID',
          `init: networks length ${rec.value.length} is not a multiple of 32`,
        );
      }
      const chains: Buffer[] = [];
      for (let i = 0; i < rec.value.length; i += 32) {
        chains.push(Buffer.from(rec.value.subarray(i, i + 32)));
      }
      msg.networks = chains;
    } else if (rec.type === InitTlv.REMOTE_ADDR) {
      msg.remoteAddr = rec.value;
    } else {
      msg.extraTlvs.push(rec);
    }
  }
  return msg;
}

// ---------------------------------------------------------------------------------------------------
// Encoding

function u16(n: number, context: string): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
    throw new WireError('INVALID', `${context}: not a u16: ${n}`);
  }
  const out = Buffer.alloc(2);
  out.writeUInt16BE(n, 0);
  return out;
}

function lenPrefixed(bytes: Uint8Array, context: string): Buffer[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new WireError('INVALID', `${context}: not bytes`);
  }
  if (bytes.length > 0xffff) {
    throw new WireError('TOO_LARGE', `${context}: ${bytes.length} bytes exceeds 65535`);
  }
  return [u16(bytes.length, context), Buffer.from(bytes)];
}

function channelIdBytes(id: Uint8Array, context: string): Buffer {
  if (!(id instanceof Uint8Array) || id.length !== 32) {
    throw new WireError('INVALID', `${context}: channel_id must be 32 bytes`);
  }
  return Buffer.from(id);
}

/** Encode a message; throws WireError INVALID on malformed fields, TOO_LARGE above 65535 bytes. */
export function encodeMessage(msg: Message): Buffer {
  let parts: Buffer[];
  if (isUnknownMessage(msg)) {
    if (!(msg.payload instanceof Uint8Array)) {
      throw new WireError('INVALID', 'message: payload is not bytes');
    }
    parts = [u16(msg.type, 'message: type'), Buffer.from(msg.payload)];
  } else {
    switch (msg.type) {
      case MessageType.INIT:
        parts = [u16(MessageType.INIT, 'init'), ...encodeInitBody(msg)];
        break;
      case MessageType.ERROR:
      case MessageType.WARNING: {
        const ctx = msg.type === MessageType.ERROR ? 'error' : 'warning';
        parts = [
          u16(msg.type, ctx),
          channelIdBytes(msg.channelId, ctx),
          ...lenPrefixed(msg.data, `${ctx}: data`),
        ];
        break;
      }
      case MessageType.PING:
        parts = [
          u16(MessageType.PING, 'ping'),
          u16(msg.numPongBytes, 'ping: num_pong_bytes'),
          ...lenPrefixed(msg.ignored, 'ping: ignored'),
        ];
        break;
      case MessageType.PONG:
        parts = [u16(MessageType.PONG, 'pong'), ...lenPrefixed(msg.ignored, 'pong: ignored')];
        break;
      default: {
        const t: number = (msg as { type: number }).type;
        throw new WireError('INVALID', `message: cannot encode type ${t} without unknown: true`);
      }
    }
  }
  const out = Buffer.concat(parts);
  if (out.length > MAX_MESSAGE_SIZE) {
    throw new WireError('TOO_LARGE', `message: ${out.length} bytes exceeds ${MAX_MESSAGE_SIZE}`);
  }
  return out;
}

function encodeInitBody(msg: Init): Buffer[] {
  const records: TlvRecord[] = [];
  if (msg.networks !== undefined) {
    for (const h of msg.networks) {
      if (!(h instanceof Uint8Array) || h.length !== 32) {
        throw new WireError('INVALID', 'init: every network chain hash must be 32 bytes');
      }
    }
    records.push({ type: InitTlv.NETWORKS, value: Buffer.concat(msg.networks) });
  }
  if (msg.remoteAddr !== undefined) {
    records.push({ type: InitTlv.REMOTE_ADDR, value: Buffer.from(msg.remoteAddr) });
  }
  for (const rec of msg.extraTlvs ?? []) {
    if (rec.type === InitTlv.NETWORKS || rec.type === InitTlv.REMOTE_ADDR) {
      throw new WireError('INVALID', `init: extraTlvs must not contain type ${rec.type}`);
    }
    records.push(rec);
  }
  let tlvs: Buffer;
  try {
    tlvs = encodeTlvStream(records);
  } catch (e) {
    throw e instanceof WireError ? e.withContext('init') : e;
  }
  return [
    ...lenPrefixed(msg.globalFeatures, 'init: globalfeatures'),
    ...lenPrefixed(msg.features, 'init: features'),
    tlvs,
  ];
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
