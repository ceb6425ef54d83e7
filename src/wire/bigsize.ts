/**
 * BigSize (BOLT 1, Appendix A): a big-endian variant of Bitcoin's CompactSize.
 *
 *   x < 0xfd          → 1 byte  x
 *   x < 0x1_0000      → 0xfd ++ be16(x)
 *   x < 0x1_0000_0000 → 0xfe ++ be32(x)
 *   otherwise         → 0xff ++ be64(x)
 *
 * Decoding rejects any value that could have been written in fewer bytes.
 */
import { WireError } from './errors.js';
import { Reader } from './reader.js';

export const MAX_BIGSIZE = 0xffff_ffff_ffff_ffffn;

function toBigInt(value: bigint | number, context: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new WireError('INVALID', `${context}: not a non-negative safe integer: ${value}`);
    }
    return BigInt(value);
  }
  if (typeof value !== 'bigint' || value < 0n || value > MAX_BIGSIZE) {
    throw new WireError('INVALID', `${context}: out of range: ${String(value)}`);
  }
  return value;
}

/** Number of bytes the minimal BigSize encoding of `value` takes (1, 3, 5 or 9). */
export function bigSizeLength(value: bigint | number): number {
  const v = toBigInt(value, 'bigsize');
  if (v < 0xfdn) return 1;
  if (v <= 0xffffn) return 3;
  if (v <= 0xffff_ffffn) return 5;
  return 9;
}

export function encodeBigSize(value: bigint | number): Buffer {
  const v = toBigInt(value, 'bigsize');
  if (v < 0xfdn) {
    return Buffer.from([Number(v)]);
  }
  if (v <= 0xffffn) {
    const out = Buffer.alloc(3);
    out[0] = 0xfd;
    out.writeUInt16BE(Number(v), 1);
    return out;
  }
  if (v <= 0xffff_ffffn) {
    const out = Buffer.alloc(5);
    out[0] = 0xfe;
    out.writeUInt32BE(Number(v), 1);
    return out;
  }
  const out = Buffer.alloc(9);
  out[0] = 0xff;
  out.writeBigUInt64BE(v, 1);
  return out;
}

/**
 * Read one BigSize at `offset`. `size` is the number of bytes consumed.
 * Throws WireError TRUNCATED (input too short) or NON_CANONICAL (not minimally encoded).
 */
export function decodeBigSize(buf: Uint8Array, offset = 0): { value: bigint; size: number } {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new WireError('INVALID', `bigsize: bad offset ${offset}`);
  }
  const r = new Reader(buf, '', offset);
  const value = r.bigSize();
  return { value, size: r.offset - offset };
}
