/**
 * Bitcoin block parsing: the 80-byte header and the transaction list, without a full transaction model.
 *
 * A block is scanned once: each transaction's extent, txid (double SHA-256 of the serialization without
 * witness), prevouts it spends and outputs it creates. Consumers that need more (signatures, scripts with
 * meaning) take `tx.raw` to @scure/btc-signer's `Transaction.fromRaw`. Hashes are given as hex in RPC
 * ("display") order, i.e. byte-reversed from the wire, as bitcoind and btcd print them.
 *
 * The parser is total: any input either parses or throws a {@link ChainError} with code `BAD_BLOCK`; every
 * count is checked against the bytes left before anything is allocated, so it cannot run away.
 */
import { createHash } from 'node:crypto';
import { ChainError } from './errors.js';

export const BLOCK_HEADER_SIZE = 80;
/** Consensus limit on serialized block size (4 M weight units ≥ bytes). */
export const MAX_BLOCK_SIZE = 4_000_000;

export interface BlockHeader {
  version: number;
  /** Previous block hash, display (RPC) order hex. */
  prevHash: string;
  /** Merkle root, display order hex. */
  merkleRoot: string;
  /** Unix time, seconds. */
  time: number;
  bits: number;
  nonce: number;
  /** This header's hash (= the block hash), display order hex. */
  hash: string;
  /** The 80 header bytes as on the wire. */
  raw: Uint8Array;
}

export interface OutPoint {
  /** Display order hex. */
  txid: string;
  vout: number;
}

export interface TxOutput {
  valueSat: bigint;
  script: Uint8Array;
}

export interface BlockTransaction {
  /** Display order hex. */
  txid: string;
  /** Witness txid, display order hex (equals txid for transactions without witness). */
  wtxid: string;
  /** Inputs' prevouts; the coinbase's single input has txid 00…00 and vout 0xffffffff. */
  inputs: OutPoint[];
  outputs: TxOutput[];
  hasWitness: boolean;
  /** The full serialization (with witness), a view into the block's bytes. */
  raw: Uint8Array;
}

export interface Block {
  header: BlockHeader;
  hash: string;
  transactions: BlockTransaction[];
}

function fail(msg: string): never {
  throw new ChainError('BAD_BLOCK', msg);
}

export function sha256d(...parts: Uint8Array[]): Uint8Array {
  const h1 = createHash('sha256');
  for (const p of parts) h1.update(p);
  return createHash('sha256').update(h1.digest()).digest();
}

/** Hex of bytes in reverse order: wire-order hash → display (RPC) order. */
export function reverseHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString('hex');
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Whether `s` is a 32-byte hash in hex. */
export function isHash(s: unknown): s is string {
  return typeof s === 'string' && HEX64.test(s);
}

/** Parses an 80-byte block header (more bytes are an error: use {@link parseBlock} for a block). */
export function parseBlockHeader(raw: Uint8Array): BlockHeader {
  if (!(raw instanceof Uint8Array)) fail('header: not bytes');
  if (raw.length !== BLOCK_HEADER_SIZE) fail(`header: expected 80 bytes, got ${raw.length}`);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const bytes = raw.slice();
  return {
    version: dv.getInt32(0, true),
    prevHash: reverseHex(raw.subarray(4, 36)),
    merkleRoot: reverseHex(raw.subarray(36, 68)),
    time: dv.getUint32(68, true),
    bits: dv.getUint32(72, true),
    nonce: dv.getUint32(76, true),
    hash: reverseHex(sha256d(raw)),
    raw: bytes,
  };
}

class Reader {
  pos = 0;
  readonly dv: DataView;
  constructor(readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  left(): number {
    return this.b.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.left()) fail(`${what}: truncated (need ${n} bytes at offset ${this.pos}, have ${this.left()})`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++]!;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** CompactSize; must be canonical (as Bitcoin Core requires) and at most `max`. */
  compact(what: string, max: number): number {
    const first = this.u8(what);
    let v: number;
    if (first < 0xfd) v = first;
    else if (first === 0xfd) {
      this.need(2, what);
      v = this.dv.getUint16(this.pos, true);
      this.pos += 2;
      if (v < 0xfd) fail(`${what}: non-canonical CompactSize`);
    } else if (first === 0xfe) {
      v = this.u32(what);
      if (v <= 0xffff) fail(`${what}: non-canonical CompactSize`);
    } else {
      const big = this.u64(what);
      if (big <= 0xffffffffn) fail(`${what}: non-canonical CompactSize`);
      fail(`${what}: count ${big} too large`);
    }
    if (v > max) fail(`${what}: count ${v} too large (at most ${max} possible here)`);
    return v;
  }
}

function parseTx(r: Reader, index: number): BlockTransaction {
  const ctx = `tx ${index}`;
  const start = r.pos;
  r.skip(4, `${ctx}: version`);
  let hasWitness = false;
  // Segwit marker 0x00 + flag 0x01. A zero input count is otherwise invalid, so this is unambiguous.
  if (r.left() >= 2 && r.b[r.pos] === 0x00) {
    if (r.b[r.pos + 1] !== 0x01) fail(`${ctx}: bad segwit flag ${r.b[r.pos + 1]}`);
    hasWitness = true;
    r.pos += 2;
  }
  const bodyStart = r.pos;
  // Each input is at least 41 bytes, each output at least 9: bounds counts before allocating.
  const nIn = r.compact(`${ctx}: input count`, Math.floor(r.left() / 41));
  if (nIn === 0) fail(`${ctx}: no inputs`);
  const inputs: OutPoint[] = new Array(nIn);
  for (let i = 0; i < nIn; i++) {
    const prev = r.bytes(32, `${ctx}: input ${i} prevout`);
    const vout = r.u32(`${ctx}: input ${i} prevout`);
    const sl = r.compact(`${ctx}: input ${i} script length`, r.left());
    r.skip(sl, `${ctx}: input ${i} script`);
    r.skip(4, `${ctx}: input ${i} sequence`);
    inputs[i] = { txid: reverseHex(prev), vout };
  }
  const nOut = r.compact(`${ctx}: output count`, Math.floor(r.left() / 9));
  const outputs: TxOutput[] = new Array(nOut);
  for (let i = 0; i < nOut; i++) {
    const valueSat = r.u64(`${ctx}: output ${i} value`);
    const sl = r.compact(`${ctx}: output ${i} script length`, r.left());
    outputs[i] = { valueSat, script: r.bytes(sl, `${ctx}: output ${i} script`) };
  }
  const bodyEnd = r.pos;
  if (hasWitness) {
    for (let i = 0; i < nIn; i++) {
      const items = r.compact(`${ctx}: witness ${i} item count`, r.left());
      for (let j = 0; j < items; j++) {
        const l = r.compact(`${ctx}: witness ${i} item ${j} length`, r.left());
        r.skip(l, `${ctx}: witness ${i} item ${j}`);
      }
    }
  }
  r.skip(4, `${ctx}: locktime`);
  const raw = r.b.subarray(start, r.pos);
  const txidBytes = hasWitness
    ? sha256d(raw.subarray(0, 4), r.b.subarray(bodyStart, bodyEnd), raw.subarray(raw.length - 4))
    : sha256d(raw);
  const txid = reverseHex(txidBytes);
  return { txid, wtxid: hasWitness ? reverseHex(sha256d(raw)) : txid, inputs, outputs, hasWitness, raw };
}

/** Parses one serialized transaction (exactly: trailing bytes are an error). */
export function parseTransaction(raw: Uint8Array): BlockTransaction {
  if (!(raw instanceof Uint8Array)) fail('tx: not bytes');
  const r = new Reader(raw);
  const tx = parseTx(r, 0);
  if (r.left() !== 0) fail(`tx: ${r.left()} trailing bytes`);
  return tx;
}

/** Parses a serialized block: header, transaction count, transactions; no trailing bytes. */
export function parseBlock(raw: Uint8Array): Block {
  if (!(raw instanceof Uint8Array)) fail('block: not bytes');
  if (raw.length < BLOCK_HEADER_SIZE + 1) fail(`block: ${raw.length} bytes is too short`);
  if (raw.length > MAX_BLOCK_SIZE) fail(`block: ${raw.length} bytes exceeds the ${MAX_BLOCK_SIZE}-byte limit`);
  const header = parseBlockHeader(raw.subarray(0, BLOCK_HEADER_SIZE));
  const r = new Reader(raw);
  r.pos = BLOCK_HEADER_SIZE;
  // The smallest transaction is 60 bytes (version, 1 input of 41, 1 output of 9 … locktime); use 10 as a
  // loose bound so odd test blocks still parse.
  const n = r.compact('block: transaction count', Math.floor(r.left() / 10));
  if (n === 0) fail('block: no transactions');
  const transactions: BlockTransaction[] = new Array(n);
  try {
    for (let i = 0; i < n; i++) transactions[i] = parseTx(r, i);
  } catch (e) {
    if (e instanceof ChainError) throw e.withContext(`block ${header.hash}`);
    throw e;
  }
  if (r.left() !== 0) fail(`block ${header.hash}: ${r.left()} trailing bytes`);
  return { header, hash: header.hash, transactions };
}

/** Merkle root (display order hex) of a list of txids (display order hex), as in the header. */
export function merkleRoot(txids: readonly string[]): string {
  if (txids.length === 0) fail('merkle: no transactions');
  let level = txids.map((t) => Buffer.from(t, 'hex').reverse() as Uint8Array);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(level[i]!, level[i + 1] ?? level[i]!));
    level = next;
  }
  return reverseHex(level[0]!);
}

/** Parses a hex string into bytes, or throws `code` (default BAD_RESPONSE) with `what` as context. */
export function hexToBytes(hex: unknown, what: string, code: 'BAD_RESPONSE' | 'BAD_BLOCK' | 'INVALID_ARGUMENT' = 'BAD_RESPONSE'): Uint8Array {
  if (typeof hex !== 'string') throw new ChainError(code, `${what}: expected a hex string, got ${typeof hex}`);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new ChainError(code, `${what}: not hex`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
