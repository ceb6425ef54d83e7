/**
 * wtwire primitives (LND `watchtower/wtwire/wtwire.go`): big-endian fixed-width integers, raw fixed-size
 * byte arrays, and var-bytes with a Bitcoin CompactSize length (little-endian, canonical; the decoder caps
 * lengths at 66000 as btcd's `ReadVarBytes(r, 0, 66000, …)`). Not BOLT BigSize.
 */
import { WtWireError } from './errors.js';

/** Largest var-bytes length the decoder accepts (LND's `ReadVarBytes` cap). */
export const MAX_VAR_BYTES = 66000;

export function compactSizeLength(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Sequential reader over one message payload; every read checks bounds and throws TRUNCATED. */
export class Reader {
  #buf: Uint8Array;
  #view: DataView;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }

  get remaining(): number {
    return this.#buf.length - this.pos;
  }

  #need(n: number, what: string): void {
    if (this.remaining < n) throw new WtWireError('TRUNCATED', `${what}: need ${n} bytes, ${this.remaining} left`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#buf[this.pos++]!;
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = this.#view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what: string): bigint {
    this.#need(8, what);
    const v = this.#view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number, what: string): Buffer {
    this.#need(n, what);
    const b = Buffer.from(this.#buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  /** btcd `ReadVarInt` with its minimality checks, as a number (values above 2^53 are TOO_LARGE). */
  compactSize(what: string): number {
    const ctx = `${what}: compactsize`;
    const first = this.u8(ctx);
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      this.#need(2, ctx);
      const v = this.#view.getUint16(this.pos, true);
      this.pos += 2;
      if (v < 0xfd) throw new WtWireError('NON_CANONICAL', `${ctx}: not canonical`);
      return v;
    }
    if (first === 0xfe) {
      this.#need(4, ctx);
      const v = this.#view.getUint32(this.pos, true);
      this.pos += 4;
      if (v <= 0xffff) throw new WtWireError('NON_CANONICAL', `${ctx}: not canonical`);
      return v;
    }
    this.#need(8, ctx);
    const v = this.#view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v <= 0xffffffffn) throw new WtWireError('NON_CANONICAL', `${ctx}: not canonical`);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new WtWireError('TOO_LARGE', `${ctx}: ${v} is too large`);
    return Number(v);
  }

  /** CompactSize length + bytes, length capped at {@link MAX_VAR_BYTES}. */
  varBytes(what: string): Buffer {
    const n = this.compactSize(what);
    if (n > MAX_VAR_BYTES) throw new WtWireError('TOO_LARGE', `${what}: length ${n} exceeds ${MAX_VAR_BYTES}`);
    return this.bytes(n, what);
  }
}

/** Growable writer; every method validates its value and throws INVALID for an unencodable one. */
export class Writer {
  #parts: Buffer[] = [];
  length = 0;

  #push(b: Buffer): this {
    this.#parts.push(b);
    this.length += b.length;
    return this;
  }

  #uint(v: number, bits: 8 | 16 | 32, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw new WtWireError('INVALID', `${what}: ${v} is not a u${bits}`);
  }

  u8(v: number, what: string): this {
    this.#uint(v, 8, what);
    return this.#push(Buffer.from([v]));
  }

  u16(v: number, what: string): this {
    this.#uint(v, 16, what);
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.#push(b);
  }

  u32(v: number, what: string): this {
    this.#uint(v, 32, what);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    return this.#push(b);
  }

  u64(v: bigint, what: string): this {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new WtWireError('INVALID', `${what}: ${String(v)} is not a u64`);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(v);
    return this.#push(b);
  }

  fixed(v: Uint8Array, n: number, what: string): this {
    if (!(v instanceof Uint8Array) || v.length !== n) throw new WtWireError('INVALID', `${what}: must be ${n} bytes`);
    return this.#push(Buffer.from(v));
  }

  compactSize(n: number, what: string): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new WtWireError('INVALID', `${what}: bad length ${n}`);
    const size = compactSizeLength(n);
    const b = Buffer.allocUnsafe(size);
    if (size === 1) b[0] = n;
    else if (size === 3) (b[0] = 0xfd), b.writeUInt16LE(n, 1);
    else if (size === 5) (b[0] = 0xfe), b.writeUInt32LE(n, 1);
    else (b[0] = 0xff), b.writeBigUInt64LE(BigInt(n), 1);
    return this.#push(b);
  }

  varBytes(v: Uint8Array, what: string): this {
    if (!(v instanceof Uint8Array)) throw new WtWireError('INVALID', `${what}: not bytes`);
    this.compactSize(v.length, what);
    return this.#push(Buffer.from(v));
  }

  raw(v: Uint8Array): this {
    return this.#push(Buffer.from(v));
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts, this.length);
  }
}
