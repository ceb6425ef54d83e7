/**
 * Finds the funding output a short channel id names — block `block`, transaction `tx`, output `out` —
 * through the `ChainSource`, with the last few parsed blocks cached (announcements arrive sorted by
 * scid, so one block serves many), and asks whether it is still unspent when the backend can tell
 * (`gettxout`). Answers are the output or the reason there is none.
 */
import type { ChainSource } from '../chain/chain-source.js';
import { parseBlock, type Block } from '../chain/block.js';
import { scidParts } from './messages.js';

export interface FundingOutput {
  txid: string;
  vout: number;
  script: Buffer;
  valueSat: bigint;
}

/** Whether `txid:vout` is unspent, or undefined when the backend cannot say. */
export type UnspentCheck = (txid: string, vout: number) => Promise<boolean | undefined>;

export class FundingLookup {
  readonly #chain: ChainSource;
  readonly #unspent: UnspentCheck | undefined;
  readonly #blocks = new Map<number, Promise<Block>>();
  readonly #cacheSize: number;

  constructor(chain: ChainSource, unspent?: UnspentCheck, cacheSize = 8) {
    this.#chain = chain;
    this.#unspent = unspent;
    this.#cacheSize = cacheSize;
  }

  #block(height: number): Promise<Block> {
    let b = this.#blocks.get(height);
    if (b === undefined) {
      b = this.#chain.getBlockHash(height).then((h) => this.#chain.getRawBlock(h)).then(parseBlock);
      b.catch(() => this.#blocks.delete(height));
      this.#blocks.set(height, b);
      if (this.#blocks.size > this.#cacheSize) this.#blocks.delete(this.#blocks.keys().next().value!);
    }
    return b;
  }

  /** The output at `scid`, or why there is none (not yet mined, no such transaction/output, spent). */
  async lookup(scid: bigint, minConfirmations = 1): Promise<FundingOutput | string> {
    const { block, tx, output } = scidParts(scid);
    const tip = await this.#chain.getBlockCount();
    if (block > tip - minConfirmations + 1) return `funding block ${block} not deep enough (tip ${tip})`;
    const b = await this.#block(block);
    const t = b.transactions[tx];
    if (t === undefined) return `no transaction ${tx} in block ${block}`;
    const o = t.outputs[output];
    if (o === undefined) return `no output ${output} in ${t.txid}`;
    if ((await this.#unspent?.(t.txid, output)) === false) return `funding output ${t.txid}:${output} is spent`;
    return { txid: t.txid, vout: output, script: Buffer.from(o.script), valueSat: o.valueSat };
  }
}
