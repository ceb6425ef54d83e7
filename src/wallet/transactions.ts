/**
 * The wallet's transactions (lightningd's `listtransactions`): every transaction that paid the wallet or
 * spent from it, and every one it published. Confirmed ones are read from their block (which gives their
 * position in it); unconfirmed ones are our own, kept when published.
 */
import { Transaction } from '@scure/btc-signer';
import { parseBlock, parseTransaction } from '../chain/block.js';
import type { ChainSource } from '../chain/chain-source.js';
import type { WalletRepository } from '../store/wallet.js';

export interface WalletTransaction {
  txid: string;
  raw: Uint8Array;
  /** 0 while unconfirmed (as lightningd shows it). */
  blockheight: number;
  /** Position in its block (0 while unconfirmed). */
  txindex: number;
  version: number;
  locktime: number;
  inputs: { txid: string; index: number; sequence: number }[];
  outputs: { index: number; amountSat: bigint; script: Uint8Array }[];
}

export async function walletTransactions(repo: WalletRepository, chain: Pick<ChainSource, 'getBlockHash' | 'getRawBlock'>): Promise<WalletTransaction[]> {
  const heights = new Map<string, number | null>();
  const note = (txid: string, height: number | null): void => {
    if (height !== null || !heights.has(txid)) heights.set(txid, height);
  };
  const published = await repo.publishedTxs();
  for (const t of published) note(t.txid, t.blockHeight);
  for (const u of await repo.listUtxos({ includeSpent: true })) {
    note(u.txid, u.blockHeight);
    if (u.spentTxid) note(u.spentTxid, u.spentHeight);
  }
  const raws = new Map(published.map((t) => [t.txid, t.raw as Uint8Array]));

  const byHeight = new Map<number, string[]>();
  for (const [txid, h] of heights) if (h !== null) byHeight.set(h, [...(byHeight.get(h) ?? []), txid]);
  const found = new Map<string, { raw: Uint8Array; height: number; index: number }>();
  for (const [height, txids] of [...byHeight].sort((a, b) => a[0] - b[0])) {
    const block = parseBlock(await chain.getRawBlock(await chain.getBlockHash(height)));
    const wanted = new Set(txids);
    block.transactions.forEach((tx, index) => {
      if (wanted.has(tx.txid)) found.set(tx.txid, { raw: tx.raw, height, index });
    });
  }
  const out: WalletTransaction[] = [];
  for (const [txid] of heights) {
    const f = found.get(txid);
    const raw = f?.raw ?? raws.get(txid);
    // A confirmation the backend no longer shows (a reorg in between), without a copy of our own: left out.
    if (!raw) continue;
    out.push(describe(txid, raw, f?.height ?? 0, f?.index ?? 0));
  }
  return out.sort((a, b) => (a.blockheight || Infinity) - (b.blockheight || Infinity) || a.txindex - b.txindex);
}

function describe(txid: string, raw: Uint8Array, blockheight: number, txindex: number): WalletTransaction {
  const parsed = parseTransaction(raw);
  const tx = Transaction.fromRaw(raw, { allowUnknownInputs: true, allowUnknownOutputs: true, disableScriptCheck: true });
  return {
    txid,
    raw,
    blockheight,
    txindex,
    version: tx.version,
    locktime: tx.lockTime,
    inputs: parsed.inputs.map((i, n) => ({ txid: i.txid, index: i.vout, sequence: tx.getInput(n).sequence ?? 0xffffffff })),
    outputs: parsed.outputs.map((o, index) => ({ index, amountSat: o.valueSat, script: o.script })),
  };
}
