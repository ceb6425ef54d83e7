/**
 * wtwire field codecs for the shared codec engine (`wire/codec.ts`), as LND `watchtower/wtwire/wtwire.go`
 * writes them: var-bytes with a Bitcoin CompactSize length (little-endian, canonical; the decoder caps
 * lengths at 66000 as btcd's `ReadVarBytes(r, 0, 66000, …)`; not BOLT BigSize), and raw feature vectors.
 * Integers and fixed-size arrays are the engine's big-endian codecs.
 */
import type { Codec } from '../../wire/codec.js';
import { featureBitsOf, featureBytes } from './features.js';

/** Largest var-bytes length the decoder accepts (LND's `ReadVarBytes` cap). */
export const MAX_VAR_BYTES = 66000;

/** CompactSize length + bytes, length capped at {@link MAX_VAR_BYTES}. */
export const varBytes: Codec<Buffer> = {
  read: (r, f) => r.bytes(r.compactSize(f, MAX_VAR_BYTES), f),
  write: (w, v, f) => {
    if (!(v instanceof Uint8Array)) throw w.invalid(f, 'is not bytes');
    w.compactSize(v.length, f).bytes(v, f);
  },
};

/** A feature vector: u16 byte length, then the bits (see `features.ts`), as the sorted set bits. */
export const featureVector: Codec<number[]> = {
  read: (r, f) => featureBitsOf(r.bytes(r.u16(f), f)),
  write: (w, v, f) => {
    const b = featureBytes(v);
    w.u16(b.length, f).bytes(b, f);
  },
};
