/**
 * The one byte reader: every decoder in anode (BOLT 1/2 messages, wtwire, justice kits, Bitcoin blocks)
 * reads through it, so bounds checks, canonical CompactSize and error texts exist once.
 *
 * Every short or malformed read throws a {@link WireError} (`TRUNCATED`, `NON_CANONICAL`, `TOO_LARGE`)
 * whose message starts with the reader's context and the field name
 * (`ping: byteslen truncated (need 2, have 1)`); a decoder with its own error type maps it at its
 * boundary. Counts are checked against `max` before anything is allocated, so no input can make a
 * decoder run away.
 */
import { WireError } from './errors.js';

export class Reader {
  readonly #view: DataView;
  /** Position of the next byte to read. */
  offset: number;

  /** `context` prefixes every error (a message name); empty for none. */
  constructor(
    readonly buf: Uint8Array,
    readonly context = '',
    offset = 0,
  ) {
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  /** `context: field`, the prefix of every error about `field`. */
  where(field: string): string {
    return this.context === '' ? field : `${this.context}: ${field}`;
  }

  #need(n: number, field: string): void {
    if (n > this.remaining) {
      throw new WireError('TRUNCATED', `${this.where(field)} truncated (need ${n}, have ${this.remaining})`);
    }
  }

  #at(n: number, field: string): number {
    this.#need(n, field);
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(field: string): number {
    return this.buf[this.#at(1, field)]!;
  }

  /** The byte `ahead` positions from the current one, or undefined past the end; consumes nothing. */
  peek(ahead = 0): number | undefined {
    return this.buf[this.offset + ahead];
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#at(2, field));
  }

  u32(field: string): number {
    return this.#view.getUint32(this.#at(4, field));
  }

  u64(field: string): bigint {
    return this.#view.getBigUint64(this.#at(8, field));
  }

  // Bitcoin serialisation is little-endian.

  u16le(field: string): number {
    return this.#view.getUint16(this.#at(2, field), true);
  }

  u32le(field: string): number {
    return this.#view.getUint32(this.#at(4, field), true);
  }

  i32le(field: string): number {
    return this.#view.getInt32(this.#at(4, field), true);
  }

  u64le(field: string): bigint {
    return this.#view.getBigUint64(this.#at(8, field), true);
  }

  /** `n` bytes, copied: the result never aliases the input. */
  bytes(n: number, field: string): Buffer {
    const at = this.#at(n, field);
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  /** `n` bytes as a view into the input (no copy), for callers that hash or slice large inputs. */
  view(n: number, field: string): Uint8Array {
    const at = this.#at(n, field);
    return this.buf.subarray(at, at + n);
  }

  skip(n: number, field: string): void {
    this.#at(n, field);
  }

  /** Everything not read yet, as a view; consumes it. */
  rest(): Uint8Array {
    return this.view(this.remaining, 'rest');
  }

  /**
   * A BigSize (BOLT 1 Appendix A: big-endian after a 0xfd/0xfe/0xff marker), minimally encoded.
   * Errors read `<context>: <field>: bigsize …`, or `<context>: bigsize …` without a field.
   */
  bigSize(field?: string): bigint {
    const what = field === undefined ? this.where('bigsize') : `${this.where(field)}: bigsize`;
    if (this.remaining < 1) throw new WireError('TRUNCATED', `${what}: no bytes to read`);
    const first = this.buf[this.offset]!;
    const width = first < 0xfd ? 0 : first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    if (this.remaining - 1 < width) {
      throw new WireError('TRUNCATED', `${what}: need ${width} bytes after 0x${first.toString(16)}`);
    }
    const at = this.#at(1 + width, what) + 1;
    if (width === 0) return BigInt(first);
    const v = width === 2 ? BigInt(this.#view.getUint16(at)) : width === 4 ? BigInt(this.#view.getUint32(at)) : this.#view.getBigUint64(at);
    const min = width === 2 ? 0xfdn : width === 4 ? 0x1_0000n : 0x1_0000_0000n;
    if (v < min) throw new WireError('NON_CANONICAL', `${what}: not canonical`);
    return v;
  }

  /**
   * Bitcoin's CompactSize (little-endian after a 0xfd/0xfe/0xff marker), minimally encoded as Bitcoin
   * Core and btcd require, and at most `max` (TOO_LARGE otherwise).
   */
  compactSize(field: string, max: number): number {
    const first = this.u8(field);
    let v: number | bigint;
    let min: number | bigint;
    if (first < 0xfd) return this.#atMost(first, max, field);
    if (first === 0xfd) [v, min] = [this.u16le(field), 0xfd];
    else if (first === 0xfe) [v, min] = [this.u32le(field), 0x1_0000];
    else [v, min] = [this.u64le(field), 0x1_0000_0000n];
    if (v < min) throw new WireError('NON_CANONICAL', `${this.where(field)}: non-canonical CompactSize`);
    return this.#atMost(v, max, field);
  }

  #atMost(v: number | bigint, max: number, field: string): number {
    if (v > max) throw new WireError('TOO_LARGE', `${this.where(field)}: count ${v} too large (at most ${max})`);
    return Number(v);
  }
}
