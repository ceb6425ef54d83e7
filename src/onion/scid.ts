/**
 * `short_channel_id` (BOLT 7): 3 bytes block height, 3 bytes transaction index, 2 bytes output index,
 * written as CLN and the channel layer show it, `BLOCKxTXxOUT`. Used by hop payloads (BOLT 4) and
 * invoice route hints (BOLT 11).
 */
import type { Codec } from '../wire/codec.js';

/** The 8 wire bytes as `BLOCKxTXxOUT`. */
export function scidFromBytes(b: Uint8Array): string {
  const v = Buffer.from(b.subarray(0, 8));
  return `${v.readUIntBE(0, 3)}x${v.readUIntBE(3, 3)}x${v.readUInt16BE(6)}`;
}

/** `BLOCKxTXxOUT` as its 8 wire bytes; undefined for anything else. */
export function scidToBytes(scid: string): Buffer | undefined {
  const m = /^(\d{1,8})x(\d{1,8})x(\d{1,5})$/.exec(scid);
  if (m === null) return undefined;
  const [block, tx, out] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (block > 0xffffff || tx > 0xffffff || out > 0xffff) return undefined;
  const b = Buffer.alloc(8);
  b.writeUIntBE(block, 0, 3);
  b.writeUIntBE(tx, 3, 3);
  b.writeUInt16BE(out, 6);
  return b;
}

/** The wire codec: 8 bytes ↔ `BLOCKxTXxOUT`. */
export const shortChannelId: Codec<string> = {
  read: (r, f) => scidFromBytes(r.bytes(8, f)),
  write: (w, v, f) => {
    const b = typeof v === 'string' ? scidToBytes(v) : undefined;
    if (b === undefined) throw w.invalid(f, `is not a short_channel_id BLOCKxTXxOUT: ${String(v)}`);
    w.bytes(b, f);
  },
};
