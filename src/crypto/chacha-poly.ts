/**
 * ChaCha20-Poly1305 (RFC 8439) in plain JavaScript for small messages, written for the cost that
 * dominates them: node:crypto spends ~3 µs per call creating and finalising a cipher object (it cannot
 * be re-keyed or given a new nonce), while the work for an 18-byte BOLT 8 header is two ChaCha20 blocks
 * and two Poly1305 blocks. This implementation keeps the key as words, allocates nothing per call, and
 * writes into the caller's buffer. Above a few hundred bytes node:crypto (OpenSSL, SIMD) is faster:
 * `aead.ts` picks per size (see docs/performance.md for the measurements).
 *
 * ChaCha20: RFC 8439 §2.3 (20 rounds, 32-bit counter, 96-bit nonce). Poly1305: RFC 8439 §2.5, with the
 * accumulator in ten 13-bit limbs so every product and partial sum stays below 2^32.
 */

const SIGMA0 = 0x61707865;
const SIGMA1 = 0x3320646e;
const SIGMA2 = 0x79622d32;
const SIGMA3 = 0x6b206574;

/** Every use of this module relies on little-endian typed arrays for its keystream view. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const ks32 = new Uint32Array(16);
const ks8 = new Uint8Array(ks32.buffer);
/** The Poly1305 key (r ‖ s) of the message in progress, and a 16-byte scratch block. */
const polyKey = new Uint8Array(32);
const block = new Uint8Array(16);
const tag = new Uint8Array(16);
const r = new Uint16Array(10);
const h = new Uint32Array(10);

/** One ChaCha20 block of `key` (8 words), `counter` and the nonce words into ks32/ks8. */
function chachaBlock(k: Uint32Array, counter: number, n0: number, n1: number, n2: number): void {
  let x0 = SIGMA0, x1 = SIGMA1, x2 = SIGMA2, x3 = SIGMA3;
  let x4 = k[0]!, x5 = k[1]!, x6 = k[2]!, x7 = k[3]!, x8 = k[4]!, x9 = k[5]!, x10 = k[6]!, x11 = k[7]!;
  let x12 = counter | 0, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 16) | (x12 >>> 16);
    x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 12) | (x4 >>> 20);
    x0 = (x0 + x4) | 0; x12 ^= x0; x12 = (x12 << 8) | (x12 >>> 24);
    x8 = (x8 + x12) | 0; x4 ^= x8; x4 = (x4 << 7) | (x4 >>> 25);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 16) | (x13 >>> 16);
    x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 12) | (x5 >>> 20);
    x1 = (x1 + x5) | 0; x13 ^= x1; x13 = (x13 << 8) | (x13 >>> 24);
    x9 = (x9 + x13) | 0; x5 ^= x9; x5 = (x5 << 7) | (x5 >>> 25);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 16) | (x14 >>> 16);
    x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 12) | (x6 >>> 20);
    x2 = (x2 + x6) | 0; x14 ^= x2; x14 = (x14 << 8) | (x14 >>> 24);
    x10 = (x10 + x14) | 0; x6 ^= x10; x6 = (x6 << 7) | (x6 >>> 25);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 16) | (x15 >>> 16);
    x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 12) | (x7 >>> 20);
    x3 = (x3 + x7) | 0; x15 ^= x3; x15 = (x15 << 8) | (x15 >>> 24);
    x11 = (x11 + x15) | 0; x7 ^= x11; x7 = (x7 << 7) | (x7 >>> 25);

    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 16) | (x15 >>> 16);
    x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 12) | (x5 >>> 20);
    x0 = (x0 + x5) | 0; x15 ^= x0; x15 = (x15 << 8) | (x15 >>> 24);
    x10 = (x10 + x15) | 0; x5 ^= x10; x5 = (x5 << 7) | (x5 >>> 25);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 16) | (x12 >>> 16);
    x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 12) | (x6 >>> 20);
    x1 = (x1 + x6) | 0; x12 ^= x1; x12 = (x12 << 8) | (x12 >>> 24);
    x11 = (x11 + x12) | 0; x6 ^= x11; x6 = (x6 << 7) | (x6 >>> 25);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 16) | (x13 >>> 16);
    x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 12) | (x7 >>> 20);
    x2 = (x2 + x7) | 0; x13 ^= x2; x13 = (x13 << 8) | (x13 >>> 24);
    x8 = (x8 + x13) | 0; x7 ^= x8; x7 = (x7 << 7) | (x7 >>> 25);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 16) | (x14 >>> 16);
    x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 12) | (x4 >>> 20);
    x3 = (x3 + x4) | 0; x14 ^= x3; x14 = (x14 << 8) | (x14 >>> 24);
    x9 = (x9 + x14) | 0; x4 ^= x9; x4 = (x4 << 7) | (x4 >>> 25);
  }
  ks32[0] = x0 + SIGMA0; ks32[1] = x1 + SIGMA1; ks32[2] = x2 + SIGMA2; ks32[3] = x3 + SIGMA3;
  ks32[4] = x4 + k[0]!; ks32[5] = x5 + k[1]!; ks32[6] = x6 + k[2]!; ks32[7] = x7 + k[3]!;
  ks32[8] = x8 + k[4]!; ks32[9] = x9 + k[5]!; ks32[10] = x10 + k[6]!; ks32[11] = x11 + k[7]!;
  ks32[12] = x12 + counter; ks32[13] = x13 + n0; ks32[14] = x14 + n1; ks32[15] = x15 + n2;
}

/** XORs the keystream from block counter 1 on into `len` bytes of `src` at `so`, writing `dst` at `dO`. */
function xorStream(k: Uint32Array, n0: number, n1: number, n2: number, src: Uint8Array, so: number, len: number, dst: Uint8Array, dO: number): void {
  let counter = 1;
  for (let pos = 0; pos < len; pos += 64) {
    chachaBlock(k, counter++, n0, n1, n2);
    const m = Math.min(64, len - pos);
    for (let i = 0; i < m; i++) dst[dO + pos + i] = src[so + pos + i]! ^ ks8[i]!;
  }
}

/** Poly1305 key for this nonce (block 0, first 32 bytes) into polyKey, r clamped and split into limbs. */
function polyInit(k: Uint32Array, n0: number, n1: number, n2: number): void {
  chachaBlock(k, 0, n0, n1, n2);
  for (let i = 0; i < 32; i++) polyKey[i] = ks8[i]!;
  polyStart();
}

/** Clamps r of polyKey, splits it into limbs and zeroes the accumulator. */
function polyStart(): void {
  // Clamp r (RFC 8439 §2.5): r &= 0x0ffffffc0ffffffc0ffffffc0fffffff.
  polyKey[3]! &= 15; polyKey[7]! &= 15; polyKey[11]! &= 15; polyKey[15]! &= 15;
  polyKey[4]! &= 252; polyKey[8]! &= 252; polyKey[12]! &= 252;
  const p = polyKey;
  const t0 = p[0]! | (p[1]! << 8), t1 = p[2]! | (p[3]! << 8), t2 = p[4]! | (p[5]! << 8), t3 = p[6]! | (p[7]! << 8);
  const t4 = p[8]! | (p[9]! << 8), t5 = p[10]! | (p[11]! << 8), t6 = p[12]! | (p[13]! << 8), t7 = p[14]! | (p[15]! << 8);
  r[0] = t0 & 0x1fff;
  r[1] = ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
  r[2] = ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
  r[3] = ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
  r[4] = ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
  r[5] = (t4 >>> 1) & 0x1fff;
  r[6] = ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
  r[7] = ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
  r[8] = ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
  r[9] = (t7 >>> 5) & 0x1fff;
  h.fill(0);
}

/**
 * Absorbs `len` bytes of `m` at `off` as zero-padded 16-byte blocks (the AEAD's pad16), each with the
 * 2^128 bit set. Limbs of h and r are 13 bits; each product is below 2^27.4 and each partial sum of five
 * below 2^32, where the carry is taken (as poly1305-donna's 16-bit variant does).
 */
function polyBlocks(m: Uint8Array, off: number, len: number): void {
  let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!, h8 = h[8]!, h9 = h[9]!;
  const r0 = r[0]!, r1 = r[1]!, r2 = r[2]!, r3 = r[3]!, r4 = r[4]!, r5 = r[5]!, r6 = r[6]!, r7 = r[7]!, r8 = r[8]!, r9 = r[9]!;
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5, s5 = r5 * 5, s6 = r6 * 5, s7 = r7 * 5, s8 = r8 * 5, s9 = r9 * 5;
  for (let pos = 0; pos < len; pos += 16) {
    let b = m;
    let o = off + pos;
    if (len - pos < 16) {
      block.fill(0);
      for (let i = 0; i < len - pos; i++) block[i] = m[o + i]!;
      b = block;
      o = 0;
    }
    const t0 = b[o]! | (b[o + 1]! << 8), t1 = b[o + 2]! | (b[o + 3]! << 8), t2 = b[o + 4]! | (b[o + 5]! << 8), t3 = b[o + 6]! | (b[o + 7]! << 8);
    const t4 = b[o + 8]! | (b[o + 9]! << 8), t5 = b[o + 10]! | (b[o + 11]! << 8), t6 = b[o + 12]! | (b[o + 13]! << 8), t7 = b[o + 14]! | (b[o + 15]! << 8);
    h0 += t0 & 0x1fff;
    h1 += ((t0 >>> 13) | (t1 << 3)) & 0x1fff;
    h2 += ((t1 >>> 10) | (t2 << 6)) & 0x1fff;
    h3 += ((t2 >>> 7) | (t3 << 9)) & 0x1fff;
    h4 += ((t3 >>> 4) | (t4 << 12)) & 0x1fff;
    h5 += (t4 >>> 1) & 0x1fff;
    h6 += ((t4 >>> 14) | (t5 << 2)) & 0x1fff;
    h7 += ((t5 >>> 11) | (t6 << 5)) & 0x1fff;
    h8 += ((t6 >>> 8) | (t7 << 8)) & 0x1fff;
    h9 += (t7 >>> 5) | 0x800;

    let c = 0;
    let d0 = c + h0 * r0 + h1 * s9 + h2 * s8 + h3 * s7 + h4 * s6;
    c = d0 >>> 13; d0 &= 0x1fff;
    d0 += h5 * s5 + h6 * s4 + h7 * s3 + h8 * s2 + h9 * s1;
    c += d0 >>> 13; d0 &= 0x1fff;
    let d1 = c + h0 * r1 + h1 * r0 + h2 * s9 + h3 * s8 + h4 * s7;
    c = d1 >>> 13; d1 &= 0x1fff;
    d1 += h5 * s6 + h6 * s5 + h7 * s4 + h8 * s3 + h9 * s2;
    c += d1 >>> 13; d1 &= 0x1fff;
    let d2 = c + h0 * r2 + h1 * r1 + h2 * r0 + h3 * s9 + h4 * s8;
    c = d2 >>> 13; d2 &= 0x1fff;
    d2 += h5 * s7 + h6 * s6 + h7 * s5 + h8 * s4 + h9 * s3;
    c += d2 >>> 13; d2 &= 0x1fff;
    let d3 = c + h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s9;
    c = d3 >>> 13; d3 &= 0x1fff;
    d3 += h5 * s8 + h6 * s7 + h7 * s6 + h8 * s5 + h9 * s4;
    c += d3 >>> 13; d3 &= 0x1fff;
    let d4 = c + h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
    c = d4 >>> 13; d4 &= 0x1fff;
    d4 += h5 * s9 + h6 * s8 + h7 * s7 + h8 * s6 + h9 * s5;
    c += d4 >>> 13; d4 &= 0x1fff;
    let d5 = c + h0 * r5 + h1 * r4 + h2 * r3 + h3 * r2 + h4 * r1;
    c = d5 >>> 13; d5 &= 0x1fff;
    d5 += h5 * r0 + h6 * s9 + h7 * s8 + h8 * s7 + h9 * s6;
    c += d5 >>> 13; d5 &= 0x1fff;
    let d6 = c + h0 * r6 + h1 * r5 + h2 * r4 + h3 * r3 + h4 * r2;
    c = d6 >>> 13; d6 &= 0x1fff;
    d6 += h5 * r1 + h6 * r0 + h7 * s9 + h8 * s8 + h9 * s7;
    c += d6 >>> 13; d6 &= 0x1fff;
    let d7 = c + h0 * r7 + h1 * r6 + h2 * r5 + h3 * r4 + h4 * r3;
    c = d7 >>> 13; d7 &= 0x1fff;
    d7 += h5 * r2 + h6 * r1 + h7 * r0 + h8 * s9 + h9 * s8;
    c += d7 >>> 13; d7 &= 0x1fff;
    let d8 = c + h0 * r8 + h1 * r7 + h2 * r6 + h3 * r5 + h4 * r4;
    c = d8 >>> 13; d8 &= 0x1fff;
    d8 += h5 * r3 + h6 * r2 + h7 * r1 + h8 * r0 + h9 * s9;
    c += d8 >>> 13; d8 &= 0x1fff;
    let d9 = c + h0 * r9 + h1 * r8 + h2 * r7 + h3 * r6 + h4 * r5;
    c = d9 >>> 13; d9 &= 0x1fff;
    d9 += h5 * r4 + h6 * r3 + h7 * r2 + h8 * r1 + h9 * r0;
    c += d9 >>> 13; d9 &= 0x1fff;
    // 2^130 ≡ 5 (mod p).
    c = ((c << 2) + c) | 0;
    c += d0;
    d0 = c & 0x1fff;
    c = c >>> 13;
    d1 += c;
    h0 = d0; h1 = d1; h2 = d2; h3 = d3; h4 = d4; h5 = d5; h6 = d6; h7 = d7; h8 = d8; h9 = d9;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7; h[8] = h8; h[9] = h9;
}

/** Absorbs the AEAD's closing block (le64 aad length ‖ le64 ciphertext length), then writes h + s into `tag`. */
function polyFinish(adLen: number, ctLen: number): void {
  block.fill(0);
  block[0] = adLen & 0xff; block[1] = (adLen >>> 8) & 0xff; block[2] = (adLen >>> 16) & 0xff; block[3] = adLen >>> 24;
  block[8] = ctLen & 0xff; block[9] = (ctLen >>> 8) & 0xff; block[10] = (ctLen >>> 16) & 0xff; block[11] = ctLen >>> 24;
  polyBlocks(block, 0, 16);
  polyTag();
}

/** Fully reduces h modulo 2^130 - 5 and writes (h + s) mod 2^128 into `tag`. */
function polyTag(): void {
  let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!, h8 = h[8]!, h9 = h[9]!;
  // Full carry: every limb below 2^13.
  let c = h1 >>> 13; h1 &= 0x1fff;
  h2 += c; c = h2 >>> 13; h2 &= 0x1fff;
  h3 += c; c = h3 >>> 13; h3 &= 0x1fff;
  h4 += c; c = h4 >>> 13; h4 &= 0x1fff;
  h5 += c; c = h5 >>> 13; h5 &= 0x1fff;
  h6 += c; c = h6 >>> 13; h6 &= 0x1fff;
  h7 += c; c = h7 >>> 13; h7 &= 0x1fff;
  h8 += c; c = h8 >>> 13; h8 &= 0x1fff;
  h9 += c; c = h9 >>> 13; h9 &= 0x1fff;
  h0 += c * 5; c = h0 >>> 13; h0 &= 0x1fff;
  h1 += c; c = h1 >>> 13; h1 &= 0x1fff;
  h2 += c;
  // g = h + 5; if that reaches 2^130, h ≥ p and h mod p is g - 2^130.
  let g0 = h0 + 5; c = g0 >>> 13; g0 &= 0x1fff;
  let g1 = h1 + c; c = g1 >>> 13; g1 &= 0x1fff;
  let g2 = h2 + c; c = g2 >>> 13; g2 &= 0x1fff;
  let g3 = h3 + c; c = g3 >>> 13; g3 &= 0x1fff;
  let g4 = h4 + c; c = g4 >>> 13; g4 &= 0x1fff;
  let g5 = h5 + c; c = g5 >>> 13; g5 &= 0x1fff;
  let g6 = h6 + c; c = g6 >>> 13; g6 &= 0x1fff;
  let g7 = h7 + c; c = g7 >>> 13; g7 &= 0x1fff;
  let g8 = h8 + c; c = g8 >>> 13; g8 &= 0x1fff;
  let g9 = h9 + c; c = g9 >>> 13; g9 &= 0x1fff;
  // Constant-time select: mask is all ones when c = 1 (use g), zero otherwise (use h).
  const mask = -c;
  const keep = ~mask;
  h0 = (h0 & keep) | (g0 & mask); h1 = (h1 & keep) | (g1 & mask); h2 = (h2 & keep) | (g2 & mask);
  h3 = (h3 & keep) | (g3 & mask); h4 = (h4 & keep) | (g4 & mask); h5 = (h5 & keep) | (g5 & mask);
  h6 = (h6 & keep) | (g6 & mask); h7 = (h7 & keep) | (g7 & mask); h8 = (h8 & keep) | (g8 & mask);
  h9 = (h9 & keep) | (g9 & mask);
  // h mod 2^128 as eight 16-bit words, plus s (the key's second half), little-endian.
  const w0 = (h0 | (h1 << 13)) & 0xffff;
  const w1 = ((h1 >>> 3) | (h2 << 10)) & 0xffff;
  const w2 = ((h2 >>> 6) | (h3 << 7)) & 0xffff;
  const w3 = ((h3 >>> 9) | (h4 << 4)) & 0xffff;
  const w4 = ((h4 >>> 12) | (h5 << 1) | (h6 << 14)) & 0xffff;
  const w5 = ((h6 >>> 2) | (h7 << 11)) & 0xffff;
  const w6 = ((h7 >>> 5) | (h8 << 8)) & 0xffff;
  const w7 = ((h8 >>> 8) | (h9 << 5)) & 0xffff;
  const p = polyKey;
  let f = w0 + (p[16]! | (p[17]! << 8));
  tag[0] = f; tag[1] = f >>> 8;
  f = w1 + (p[18]! | (p[19]! << 8)) + (f >>> 16);
  tag[2] = f; tag[3] = f >>> 8;
  f = w2 + (p[20]! | (p[21]! << 8)) + (f >>> 16);
  tag[4] = f; tag[5] = f >>> 8;
  f = w3 + (p[22]! | (p[23]! << 8)) + (f >>> 16);
  tag[6] = f; tag[7] = f >>> 8;
  f = w4 + (p[24]! | (p[25]! << 8)) + (f >>> 16);
  tag[8] = f; tag[9] = f >>> 8;
  f = w5 + (p[26]! | (p[27]! << 8)) + (f >>> 16);
  tag[10] = f; tag[11] = f >>> 8;
  f = w6 + (p[28]! | (p[29]! << 8)) + (f >>> 16);
  tag[12] = f; tag[13] = f >>> 8;
  f = w7 + (p[30]! | (p[31]! << 8)) + (f >>> 16);
  tag[14] = f; tag[15] = f >>> 8;
}

/**
 * Poly1305 of a message made of whole 16-byte blocks under a one-time 32-byte key (r ‖ s): the form
 * every AEAD block has. For the RFC 8439 Appendix A.3 vectors that reach the edges of the reduction.
 */
export function poly1305WholeBlocks(key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (key.length !== 32 || msg.length % 16 !== 0) throw new RangeError('poly1305: a 32-byte key and whole 16-byte blocks');
  polyKey.set(key);
  polyStart();
  polyBlocks(msg, 0, msg.length);
  polyTag();
  return Uint8Array.from(tag);
}

function mac(k: Uint32Array, n0: number, n1: number, n2: number, ad: Uint8Array, ct: Uint8Array, ctOff: number, ctLen: number): void {
  polyInit(k, n0, n1, n2);
  if (ad.length > 0) polyBlocks(ad, 0, ad.length);
  if (ctLen > 0) polyBlocks(ct, ctOff, ctLen);
  polyFinish(ad.length, ctLen);
}

/** The 32-byte key as eight little-endian words (what every call here takes). */
export function chachaKeyWords(key: Uint8Array, out: Uint32Array = new Uint32Array(8)): Uint32Array {
  for (let i = 0; i < 8; i++) out[i] = key[4 * i]! | (key[4 * i + 1]! << 8) | (key[4 * i + 2]! << 16) | (key[4 * i + 3]! << 24);
  return out;
}

/** The 12-byte nonce as three little-endian words. */
export function nonceWord(nonce: Uint8Array, i: number): number {
  return nonce[4 * i]! | (nonce[4 * i + 1]! << 8) | (nonce[4 * i + 2]! << 16) | (nonce[4 * i + 3]! << 24);
}

/**
 * Seal `len` bytes of `pt` at `ptOff` into `out` at `outOff` (ciphertext ‖ 16-byte tag; returns len + 16).
 * The nonce is given as its three words. `out` may be `pt` itself at the same offset.
 */
export function jsSeal(
  k: Uint32Array, n0: number, n1: number, n2: number,
  ad: Uint8Array, pt: Uint8Array, ptOff: number, len: number, out: Uint8Array, outOff: number,
): number {
  xorStream(k, n0, n1, n2, pt, ptOff, len, out, outOff);
  mac(k, n0, n1, n2, ad, out, outOff, len);
  out.set(tag, outOff + len);
  return len + 16;
}

/**
 * Open ciphertext ‖ tag (`sealedLen` bytes of `sealed` at `off`): verifies the tag first (in constant
 * time), and only then writes the plaintext into `out` at `outOff`. Returns false on a bad tag.
 */
export function jsOpen(
  k: Uint32Array, n0: number, n1: number, n2: number,
  ad: Uint8Array, sealed: Uint8Array, off: number, sealedLen: number, out: Uint8Array, outOff: number,
): boolean {
  const len = sealedLen - 16;
  if (len < 0) return false;
  mac(k, n0, n1, n2, ad, sealed, off, len);
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= tag[i]! ^ sealed[off + len + i]!;
  if (diff !== 0) return false;
  xorStream(k, n0, n1, n2, sealed, off, len, out, outOff);
  return true;
}
