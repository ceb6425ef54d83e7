/**
 * What the rest of anode needs from a Bitcoin backend. Implemented over JSON-RPC by
 * {@link BitcoindRpcClient} (bitcoind and btcd); {@link MemoryChainSource} fakes it for unit tests.
 *
 * Hashes and txids are hex in RPC ("display") order. Every method rejects only with a `ChainError`.
 */

/** A block identified by height and hash (display order hex). */
export interface BlockTip {
  height: number;
  hash: string;
}

/** A fee estimate in satoshis per 1000 weight units (Lightning's unit, BOLT 3). */
export interface FeeEstimate {
  /** Integer sat per kiloweight, never below {@link FEERATE_FLOOR_SAT_PER_KW}. */
  feeRateSatPerKw: number;
  /** The confirmation target the backend actually answered for (bitcoind may differ from the request). */
  blocks: number;
  /** Which RPC produced it. */
  source: 'estimatesmartfee' | 'estimatefee';
}

/** The minimum fee rate Lightning implementations use (253 sat/kw ≈ 1.012 sat/vB, rounds up to relay fee). */
export const FEERATE_FLOOR_SAT_PER_KW = 253;

export interface ChainSource {
  /** Height of the best block. */
  getBlockCount(): Promise<number>;
  /** Hash of the best block. */
  getBestBlockHash(): Promise<string>;
  /** Hash of the main-chain block at `height`; `NOT_FOUND` when above the tip. */
  getBlockHash(height: number): Promise<string>;
  /** The serialized block (any block the backend has, main chain or not). */
  getRawBlock(hash: string): Promise<Uint8Array>;
  /** The 80-byte header of a block the backend has. */
  getRawBlockHeader(hash: string): Promise<Uint8Array>;
  /** A serialized transaction from the mempool or (with a transaction index) the chain. */
  getRawTransaction(txid: string): Promise<Uint8Array>;
  /**
   * Submits a transaction; resolves with its txid. A transaction the backend already has (mempool or
   * chain) also resolves with its txid, so re-publishing is safe. Refusals reject with `TX_REJECTED`
   * carrying the node's own message.
   */
  sendRawTransaction(tx: Uint8Array | string): Promise<string>;
  /** Fee rate to confirm within `targetBlocks`, or null when the backend has no estimate yet. */
  estimateFeeSatPerKw(targetBlocks: number): Promise<FeeEstimate | null>;
}
