/**
 * TLV streams (BOLT 1 "Type-Length-Value Format") and truncated integers (tu16/tu32/tu64).
 *
 * `decodeTlvStream` enforces the stream-level rules (canonical BigSize type and length, strictly
 * increasing types, length within the input, no unknown even type). Checking the *value* of a known
 * record (exact length, minimal truncated integers, …) is the job of the message that owns the stream.
 */
import { WireError } from './errors.js';
import { encodeBigSize, MAX_BIGSIZE } from './bigsize.js';
import { Reader } from './reader.js';

export interface TlvRecord {
  type: bigint;
  value: Buffer;
}

/**
 * Decode a whole TLV stream (the stream runs to the end of `buf`).
 * Records of every type (known or unknown odd) are returned in stream order, values copied.
 * `isKnown` tells which types the caller understands; without it every type counts as unknown, so any
 * even type fails with TLV_UNKNOWN_EVEN.
 */
export function decodeTlvStream(buf: Uint8Array, isKnown?: (type: bigint) => boolean): TlvRecord[] {
  const records: TlvRecord[] = [];
  const r = new Reader(buf, 'tlv');
  let previous: bigint | undefined;
  while (r.remaining > 0) {
    const type = r.bigSize('type');
    if (previous !== undefined && type <= previous) {
      throw new WireError(
        'TLV_ORDER',
        type === previous ? `tlv: duplicate type ${type}` : `tlv: type ${type} after ${previous}`,
      );
    }
    previous = type;
    const length = r.bigSize(`length of type ${type}`);
    if (length > BigInt(r.remaining)) {
      throw new WireError(
        'TRUNCATED',
        `tlv: type ${type} has length ${length} but only ${r.remaining} bytes remain`,
      );
    }
    if ((type & 1n) === 0n && !(isKnown?.(type) ?? false)) {
      throw new WireError('TLV_UNKNOWN_EVEN', `tlv: unknown even type ${type}`);
    }
    records.push({ type, value: r.bytes(Number(length), `type ${type}`) });
  }
  return records;
}

/**
 * Encode records as a canonical TLV stream: sorted by type; duplicate types are rejected (TLV_ORDER).
 * The input array is not modified.
 */
export function encodeTlvStream(records: readonly TlvRecord[]): Buffer {
  for (const r of records) {
    if (typeof r.type !== 'bigint' || r.type < 0n || r.type > MAX_BIGSIZE) {
      throw new WireError('INVALID', `tlv: type out of range: ${String(r.type)}`);
    }
    if (!(r.value instanceof Uint8Array)) {
      throw new WireError('INVALID', `tlv: value of type ${r.type} is not bytes`);
    }
  }
  const sorted = [...records].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const parts: Buffer[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i];
    if (i > 0 && sorted[i - 1].type === r.type) {
      throw new WireError('TLV_ORDER', `tlv: duplicate type ${r.type}`);
    }
    parts.push(encodeBigSize(r.type), encodeBigSize(r.value.length), Buffer.from(r.value));
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// Truncated integers: big-endian, leading zero bytes omitted (so 0 is the empty string).

function truncatedEncode(value: bigint | number, maxBytes: number, name: string): Buffer {
  let v: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new WireError('INVALID', `${name}: not a non-negative safe integer: ${value}`);
    }
    v = BigInt(value);
  } else {
    v = value;
  }
  if (typeof v !== 'bigint' || v < 0n || v >= 1n << BigInt(8 * maxBytes)) {
    throw new WireError('INVALID', `${name}: out of range: ${String(value)}`);
  }
  const bytes: number[] = [];
  while (v > 0n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return Buffer.from(bytes);
}

function truncatedDecode(buf: Uint8Array, maxBytes: number, name: string): bigint {
  if (buf.length > maxBytes) {
    throw new WireError('TLV_LENGTH', `${name}: ${buf.length} bytes, at most ${maxBytes} allowed`);
  }
  if (buf.length > 0 && buf[0] === 0) {
    throw new WireError('NON_CANONICAL', `${name}: not minimal (leading zero)`);
  }
  let v = 0n;
  for (const b of buf) v = (v << 8n) | BigInt(b);
  return v;
}

export function encodeTu64(value: bigint | number): Buffer {
  return truncatedEncode(value, 8, 'tu64');
}
/** Decode a tu64 occupying all of `buf`: at most 8 bytes (TLV_LENGTH), no leading zero (NON_CANONICAL). */
export function decodeTu64(buf: Uint8Array): bigint {
  return truncatedDecode(buf, 8, 'tu64');
}
export function encodeTu32(value: number): Buffer {
  return truncatedEncode(value, 4, 'tu32');
}
export function decodeTu32(buf: Uint8Array): number {
  return Number(truncatedDecode(buf, 4, 'tu32'));
}
export function encodeTu16(value: number): Buffer {
  return truncatedEncode(value, 2, 'tu16');
}
export function decodeTu16(buf: Uint8Array): number {
  return Number(truncatedDecode(buf, 2, 'tu16'));
}
