/**
 * An in-memory {@link ChainSource} for unit tests: a block tree with a main chain that tests can extend,
 * reorganise and take offline. Blocks are real serializations (80-byte header linked by prev-hash, a
 * coinbase-shaped transaction, correct merkle root) so they go through the same parser as btcd's.
 * Integration tests use a real btcd (test/harness/btcd.ts) instead.
 */
import { ChainError } from './errors.js';
import { merkleRoot, parseBlock, parseTransaction, reverseHex, sha256d } from './block.js';
import type { ChainSource, FeeEstimate } from './chain-source.js';

const ZERO_HASH = '0'.repeat(64);

function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A minimal coinbase-shaped transaction, unique per (height, tag). */
export function fakeCoinbase(height: number, tag: number): Uint8Array {
  const script = Buffer.concat([Buffer.from([4]), u32le(height), Buffer.from([4]), u32le(tag)]);
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(5_000_000_000n);
  return Buffer.concat([
    u32le(1),
    Buffer.from([1]),
    Buffer.alloc(32),
    u32le(0xffffffff),
    Buffer.from([script.length]),
    script,
    u32le(0xffffffff),
    Buffer.from([1]),
    value,
    Buffer.from([1, 0x51]), // OP_TRUE
    u32le(0),
  ]);
}

/** Serializes a block: header fields + transactions (each a full serialization). */
export function buildBlock(prevHash: string, txs: readonly Uint8Array[], time: number, nonce: number): Uint8Array {
  const txids = txs.map((t) => parseTransaction(t).txid);
  const header = Buffer.concat([
    u32le(0x20000000),
    Buffer.from(prevHash, 'hex').reverse(),
    Buffer.from(merkleRoot(txids), 'hex').reverse(),
    u32le(time),
    u32le(0x207fffff),
    u32le(nonce),
  ]);
  if (txs.length >= 0xfd) throw new Error('buildBlock: at most 252 transactions');
  return Buffer.concat([header, Buffer.from([txs.length]), ...txs]);
}

interface Stored {
  hash: string;
  prevHash: string;
  height: number;
  raw: Uint8Array;
}

export class MemoryChainSource implements ChainSource {
  private readonly blocks = new Map<string, Stored>();
  private main: string[] = [];
  private readonly mempool = new Map<string, Uint8Array>();
  private nonce = 1;
  /** When set, every call rejects with this error (e.g. UNREACHABLE). */
  down: ChainError | null = null;
  /** Every call made, by method name (for assertions on retries and polling). */
  readonly calls = new Map<string, number>();
  feeRateSatPerKw: number | null = 1000;

  constructor() {
    this.mine(1); // genesis
  }

  get height(): number {
    return this.main.length - 1;
  }

  hashAt(height: number): string {
    const h = this.main[height];
    if (h === undefined) throw new Error(`no block at ${height}`);
    return h;
  }

  /** Extends the main chain by `n` blocks; extra transactions go into the first one. Returns their hashes. */
  mine(n: number, txs: Uint8Array[] = []): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const prev = this.main.length ? this.main[this.main.length - 1]! : ZERO_HASH;
      const height = this.main.length;
      const tag = this.nonce++;
      const body = [fakeCoinbase(height, tag), ...(i === 0 ? txs : [])];
      const raw = buildBlock(prev, body, 1_700_000_000 + height, tag);
      const hash = reverseHex(sha256d(raw.subarray(0, 80)));
      this.blocks.set(hash, { hash, prevHash: prev, height, raw });
      this.main.push(hash);
      out.push(hash);
    }
    return out;
  }

  /** Drops the top `depth` blocks from the main chain (they stay known, as stale blocks) and mines `n` new ones. */
  reorg(depth: number, n: number): string[] {
    if (depth > this.height) throw new Error('reorg: too deep');
    this.main = this.main.slice(0, this.main.length - depth);
    return this.mine(n);
  }

  private enter(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    if (this.down) throw this.down;
  }

  async getBlockCount(): Promise<number> {
    this.enter('getblockcount');
    return this.height;
  }
  async getBestBlockHash(): Promise<string> {
    this.enter('getbestblockhash');
    return this.main[this.main.length - 1]!;
  }
  async getBlockHash(height: number): Promise<string> {
    this.enter('getblockhash');
    const h = this.main[height];
    if (h === undefined) throw new ChainError('NOT_FOUND', `chain: getblockhash: height ${height} out of range`, { rpcCode: -8 });
    return h;
  }
  private get(hash: string): Stored {
    const b = this.blocks.get(hash);
    if (!b) throw new ChainError('NOT_FOUND', `chain: getblock: Block not found`, { rpcCode: -5 });
    return b;
  }
  async getRawBlock(hash: string): Promise<Uint8Array> {
    this.enter('getblock');
    return this.get(hash).raw;
  }
  async getRawBlockHeader(hash: string): Promise<Uint8Array> {
    this.enter('getblockheader');
    return this.get(hash).raw.subarray(0, 80);
  }
  async getRawTransaction(txid: string): Promise<Uint8Array> {
    this.enter('getrawtransaction');
    const m = this.mempool.get(txid);
    if (m) return m;
    for (const h of this.main) {
      for (const tx of parseBlock(this.blocks.get(h)!.raw).transactions) if (tx.txid === txid) return tx.raw;
    }
    throw new ChainError('NOT_FOUND', 'chain: getrawtransaction: No such mempool or blockchain transaction', { rpcCode: -5 });
  }
  async sendRawTransaction(tx: Uint8Array | string): Promise<string> {
    this.enter('sendrawtransaction');
    const raw = typeof tx === 'string' ? new Uint8Array(Buffer.from(tx, 'hex')) : tx;
    let txid: string;
    try {
      txid = parseTransaction(raw).txid;
    } catch (e) {
      throw new ChainError('TX_REJECTED', `chain: sendrawtransaction: rejected by the node: TX decode failed (code -22)`, { rpcCode: -22, cause: e });
    }
    this.mempool.set(txid, raw);
    return txid;
  }
  async estimateFeeSatPerKw(targetBlocks: number): Promise<FeeEstimate | null> {
    this.enter('estimatefee');
    return this.feeRateSatPerKw === null ? null : { feeRateSatPerKw: this.feeRateSatPerKw, blocks: targetBlocks, source: 'estimatesmartfee' };
  }
}
