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
import { WireError } from '../wire/errors.js';
import { Reader } from '../wire/reader.js';
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

/** A failed read (the byte reader's WireError) as BAD_BLOCK, with `context` in front if given. */
function badBlock(e: unknown, context?: string): unknown {
  const err = e instanceof WireError ? new ChainError('BAD_BLOCK', e.message) : e;
  return context !== undefined && err instanceof ChainError ? err.withContext(context) : err;
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
  const r = new Reader(raw, 'header');
  return {
    version: r.i32le('version'),
    prevHash: reverseHex(r.view(32, 'prev hash')),
    merkleRoot: reverseHex(r.view(32, 'merkle root')),
    time: r.u32le('time'),
    bits: r.u32le('bits'),
    nonce: r.u32le('nonce'),
    hash: reverseHex(sha256d(raw)),
    raw: raw.slice(),
  };
}

function parseTx(r: Reader, index: number): BlockTransaction {
  const ctx = `tx ${index}`;
  const start = r.offset;
  r.skip(4, `${ctx}: version`);
  let hasWitness = false;
  // Segwit marker 0x00 + flag 0x01. A zero input count is otherwise invalid, so this is unambiguous.
  if (r.remaining >= 2 && r.peek() === 0x00) {
    if (r.peek(1) !== 0x01) fail(`${ctx}: bad segwit flag ${r.peek(1)}`);
    hasWitness = true;
    r.skip(2, `${ctx}: segwit marker`);
  }
  const bodyStart = r.offset;
  // Each input is at least 41 bytes, each output at least 9: bounds counts before allocating.
  const nIn = r.compactSize(`${ctx}: input count`, Math.floor(r.remaining / 41));
  if (nIn === 0) fail(`${ctx}: no inputs`);
  const inputs: OutPoint[] = new Array(nIn);
  for (let i = 0; i < nIn; i++) {
    const prev = r.view(32, `${ctx}: input ${i} prevout`);
    const vout = r.u32le(`${ctx}: input ${i} prevout`);
    const sl = r.compactSize(`${ctx}: input ${i} script length`, r.remaining);
    r.skip(sl, `${ctx}: input ${i} script`);
    r.skip(4, `${ctx}: input ${i} sequence`);
    inputs[i] = { txid: reverseHex(prev), vout };
  }
  const nOut = r.compactSize(`${ctx}: output count`, Math.floor(r.remaining / 9));
  const outputs: TxOutput[] = new Array(nOut);
  for (let i = 0; i < nOut; i++) {
    const valueSat = r.u64le(`${ctx}: output ${i} value`);
    const sl = r.compactSize(`${ctx}: output ${i} script length`, r.remaining);
    outputs[i] = { valueSat, script: r.view(sl, `${ctx}: output ${i} script`) };
  }
  const bodyEnd = r.offset;
  if (hasWitness) {
    for (let i = 0; i < nIn; i++) {
      const items = r.compactSize(`${ctx}: witness ${i} item count`, r.remaining);
      for (let j = 0; j < items; j++) {
        const l = r.compactSize(`${ctx}: witness ${i} item ${j} length`, r.remaining);
        r.skip(l, `${ctx}: witness ${i} item ${j}`);
      }
    }
  }
  r.skip(4, `${ctx}: locktime`);
  const raw = r.buf.subarray(start, r.offset);
  const txidBytes = hasWitness
    ? sha256d(raw.subarray(0, 4), r.buf.subarray(bodyStart, bodyEnd), raw.subarray(raw.length - 4))
    : sha256d(raw);
  const txid = reverseHex(txidBytes);
  return { txid, wtxid: hasWitness ? reverseHex(sha256d(raw)) : txid, inputs, outputs, hasWitness, raw };
}

/** Parses one serialized transaction (exactly: trailing bytes are an error). */
export function parseTransaction(raw: Uint8Array): BlockTransaction {
  if (!(raw instanceof Uint8Array)) fail('tx: not bytes');
  const r = new Reader(raw);
  let tx: BlockTransaction;
  try {
    tx = parseTx(r, 0);
  } catch (e) {
    throw badBlock(e);
  }
  if (r.remaining !== 0) fail(`tx: ${r.remaining} trailing bytes`);
  return tx;
}

/** Parses a serialized block: header, transaction count, transactions; no trailing bytes. */
export function parseBlock(raw: Uint8Array): Block {
  if (!(raw instanceof Uint8Array)) fail('block: not bytes');
  if (raw.length < BLOCK_HEADER_SIZE + 1) fail(`block: ${raw.length} bytes is too short`);
  if (raw.length > MAX_BLOCK_SIZE) fail(`block: ${raw.length} bytes exceeds the ${MAX_BLOCK_SIZE}-byte limit`);
  const header = parseBlockHeader(raw.subarray(0, BLOCK_HEADER_SIZE));
  const r = new Reader(raw, '', BLOCK_HEADER_SIZE);
  // The smallest transaction is 60 bytes (version, 1 input of 41, 1 output of 9 … locktime); use 10 as a
  // loose bound so odd test blocks still parse.
  let n: number;
  try {
    n = r.compactSize('block: transaction count', Math.floor(r.remaining / 10));
  } catch (e) {
    throw badBlock(e);
  }
  if (n === 0) fail('block: no transactions');
  const transactions: BlockTransaction[] = new Array(n);
  try {
    for (let i = 0; i < n; i++) transactions[i] = parseTx(r, i);
  } catch (e) {
    throw badBlock(e, `block ${header.hash}`);
  }
  if (r.remaining !== 0) fail(`block ${header.hash}: ${r.remaining} trailing bytes`);
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
