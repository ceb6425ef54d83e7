/**
 * The byte writer the codec engine encodes with: it validates every value before writing it, so an
 * unencodable message fails with a {@link WireError} `INVALID` naming the field
 * (`update_fee: feerate_per_kw not a u32: -1`) instead of writing wrong bytes.
 */
import { WireError } from './errors.js';

export class Writer {
  readonly #parts: Buffer[] = [];
  /** Bytes written so far. */
  length = 0;

  /** `context` prefixes every error (a message name); empty for none. */
  constructor(readonly context = '') {}

  /** `context: field`, the prefix of every error about `field`. */
  where(field: string): string {
    return this.context === '' ? field : `${this.context}: ${field}`;
  }

  invalid(field: string, what: string): WireError {
    return new WireError('INVALID', `${this.where(field)} ${what}`);
  }

  #push(b: Buffer): this {
    this.#parts.push(b);
    this.length += b.length;
    return this;
  }

  #uint(v: unknown, bytes: 1 | 2 | 4, field: string): this {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** (8 * bytes)) {
      throw this.invalid(field, `not a u${8 * bytes}: ${String(v)}`);
    }
    const b = Buffer.alloc(bytes);
    b.writeUIntBE(v, 0, bytes);
    return this.#push(b);
  }

  u8(v: number, field: string): this {
    return this.#uint(v, 1, field);
  }

  u16(v: number, field: string): this {
    return this.#uint(v, 2, field);
  }

  u32(v: number, field: string): this {
    return this.#uint(v, 4, field);
  }

  u64(v: bigint, field: string): this {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw this.invalid(field, `not a u64 bigint: ${String(v)}`);
    }
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return this.#push(b);
  }

  /** Exactly `n` bytes. */
  fixed(v: Uint8Array, n: number, field: string): this {
    if (!(v instanceof Uint8Array) || v.length !== n) {
      const got = v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
      throw this.invalid(field, `must be ${n} bytes, got ${got}`);
    }
    return this.#push(Buffer.from(v));
  }

  /** Bytes of any length, as they are. */
  bytes(v: Uint8Array, field: string): this {
    if (!(v instanceof Uint8Array)) throw this.invalid(field, 'is not bytes');
    return this.#push(Buffer.from(v));
  }

  /** Bitcoin's CompactSize (minimal, little-endian after its marker). */
  compactSize(n: number, field: string): this {
    if (!Number.isSafeInteger(n) || n < 0) throw this.invalid(field, `bad length ${n}`);
    if (n < 0xfd) return this.#push(Buffer.from([n]));
    const width = n <= 0xffff ? 2 : n <= 0xffff_ffff ? 4 : 8;
    const b = Buffer.alloc(1 + width);
    b[0] = width === 2 ? 0xfd : width === 4 ? 0xfe : 0xff;
    if (width === 2) b.writeUInt16LE(n, 1);
    else if (width === 4) b.writeUInt32LE(n, 1);
    else b.writeBigUInt64LE(BigInt(n), 1);
    return this.#push(b);
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts, this.length);
  }
}
