/**
 * Benchmark: raw ChaCha20-Poly1305 per message size, seal + open of one message, for each candidate
 * anode could use: node:crypto (OpenSSL; a new cipher object per call, as Node's Cipheriv cannot be
 * re-keyed or given a new nonce), anode's JavaScript implementation (`src/crypto/chacha-poly.ts`: key
 * kept as words, output into the caller's buffer) and @noble/ciphers (`chacha20poly1305(key, nonce)`
 * per message, output into a caller's buffer). Each is timed against node:crypto in the same rounds; the
 * table says which is fastest per size, and so where `JS_AEAD_MAX` belongs.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { JS_AEAD_MAX } from '../src/crypto/aead.js';
import { chachaKeyWords, jsOpen, jsSeal } from '../src/crypto/chacha-poly.js';
import { compare, type Comparison, type Op, type RunOptions } from './harness.js';

export const AEAD_SIZES = [2, 32, 100, 256, 512, 768, 1024, 4096, 65535];

export interface AeadRow {
  size: number;
  js: Comparison;
  noble: Comparison;
}

export interface AeadResult {
  jsAeadMax: number;
  rows: AeadRow[];
}

const key = randomBytes(32);
const EMPTY = Buffer.alloc(0);

/** node:crypto seal + open of `size` bytes; the nonce changes every call. */
export function nodeAeadOp(size: number): Op {
  const pt = randomBytes(size);
  const nonce = Buffer.alloc(12);
  let n = 0;
  return {
    name: `node:crypto ${size} B`,
    run(count) {
      for (let i = 0; i < count; i++) {
        nonce.writeUInt32LE(n++ >>> 0, 4);
        const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        const ct = c.update(pt);
        c.final();
        const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
        d.setAuthTag(c.getAuthTag());
        if (d.update(ct).length !== size) throw new Error('bench: node:crypto AEAD mismatch');
        d.final();
      }
    },
  };
}

/** anode's JavaScript seal + open of `size` bytes. */
export function jsAeadOp(size: number): Op {
  const pt = randomBytes(size);
  const sealed = Buffer.alloc(size + 16);
  const back = Buffer.alloc(size);
  const k = chachaKeyWords(key);
  let n = 0;
  return {
    name: `anode JS ${size} B`,
    run(count) {
      for (let i = 0; i < count; i++) {
        n++;
        jsSeal(k, 0, n, 0, EMPTY, pt, 0, size, sealed, 0);
        if (!jsOpen(k, 0, n, 0, EMPTY, sealed, 0, size + 16, back, 0)) throw new Error('bench: JS AEAD mismatch');
      }
    },
  };
}

function nobleAeadOp(size: number): Op {
  const pt = randomBytes(size);
  const sealed = new Uint8Array(size + 16);
  const back = new Uint8Array(size);
  const nonce = Buffer.alloc(12);
  let n = 0;
  return {
    name: `@noble/ciphers ${size} B`,
    run(count) {
      for (let i = 0; i < count; i++) {
        nonce.writeUInt32LE(n++ >>> 0, 4);
        chacha20poly1305(key, nonce).encrypt(pt, sealed);
        chacha20poly1305(key, nonce).decrypt(sealed, back);
      }
    },
  };
}

export async function benchAead(opts: RunOptions, progress: (s: string) => void): Promise<AeadResult> {
  const rows: AeadRow[] = [];
  for (const size of AEAD_SIZES) {
    progress(`aead ${size} B`);
    rows.push({ size, js: await compare(jsAeadOp(size), nodeAeadOp(size), opts), noble: await compare(nobleAeadOp(size), nodeAeadOp(size), opts) });
  }
  return { jsAeadMax: JS_AEAD_MAX, rows };
}
