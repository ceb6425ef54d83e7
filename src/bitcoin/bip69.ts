/**
 * BIP 69 order of inputs and outputs, which BOLT 3 commitment and closing transactions and LND's
 * justice transactions (btcd `txsort`) use so both sides build the same transaction.
 */

/** Inputs by previous txid (as displayed, i.e. big-endian; `txid` here is in internal byte order), then index. */
export function compareInputs(a: { txid: Uint8Array; index: number }, b: { txid: Uint8Array; index: number }): number {
  const c = Buffer.compare(Buffer.from(a.txid).reverse(), Buffer.from(b.txid).reverse());
  return c !== 0 ? c : a.index - b.index;
}

/** Outputs by amount, then scriptPubKey bytes (memcmp, a prefix first). */
export function compareOutputs(a: { amountSat: bigint; script: Uint8Array }, b: { amountSat: bigint; script: Uint8Array }): number {
  if (a.amountSat !== b.amountSat) return a.amountSat < b.amountSat ? -1 : 1;
  return Buffer.compare(a.script, b.script);
}
