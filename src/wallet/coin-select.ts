/**
 * Transaction weights and coin selection: pure functions over integers (satoshis as bigint, weights in
 * weight units, fee rates in sat per 1000 weight units as Lightning counts them). Dust thresholds are
 * the bitcoin layer's.
 */
import { dustThreshold, outputSize } from '../bitcoin/weight.js';
import { WalletError, type KeyKind } from './keys.js';

/** version + locktime + input and output counts (one byte each) = 10 bytes, plus the segwit marker and flag. */
export const TX_OVERHEAD_WEIGHT = 10 * 4 + 2;
/** Outpoint 36 + empty scriptSig 1 + sequence 4, as non-witness bytes. */
const INPUT_BASE_WEIGHT = 41 * 4;
/** Weight of spending each kind of wallet output, with the largest signature (73-byte DER+sighash, 64-byte Schnorr). */
export const INPUT_WEIGHT: Record<KeyKind, number> = {
  p2wpkh: INPUT_BASE_WEIGHT + 1 + 1 + 73 + 1 + 33,
  p2tr: INPUT_BASE_WEIGHT + 1 + 1 + 64,
};

export function outputWeight(script: Uint8Array): number {
  return outputSize(script) * 4;
}

/** Fee in satoshis for `weight` at `feeRateSatPerKw`, rounded up. */
export function feeForWeight(weight: number, feeRateSatPerKw: number): bigint {
  return (BigInt(weight) * BigInt(feeRateSatPerKw) + 999n) / 1000n;
}

export interface Candidate {
  txid: string;
  vout: number;
  amountSat: bigint;
  kind: KeyKind;
}

export interface Selection<C extends Candidate = Candidate> {
  inputs: C[];
  /** Amount of each requested output (for `all`, the one output's computed amount). */
  outputAmounts: bigint[];
  /** 0n when there is no change output. */
  changeSat: bigint;
  feeSat: bigint;
  /** Estimated weight of the final transaction (with or without change as chosen). */
  weight: number;
}

export interface SelectRequest<C extends Candidate = Candidate> {
  /** Spendable coins. */
  candidates: readonly C[];
  /** Outputs to pay; with `all`, exactly one, whose amountSat is ignored. */
  outputs: readonly { script: Uint8Array; amountSat: bigint }[];
  feeRateSatPerKw: number;
  changeScript: Uint8Array;
  /** Spend every candidate into the single output (CLN's `satoshi: "all"`), no change. */
  all?: boolean;
  /** Spend exactly these candidates (CLN's `utxos`): no selection, change as usual. */
  useAll?: boolean;
}

function sum(xs: Iterable<bigint>): bigint {
  let s = 0n;
  for (const x of xs) s += x;
  return s;
}

/**
 * Chooses inputs, largest first, until they pay the outputs and the fee. Change goes back to the wallet
 * when it is at least the dust threshold of the change script; a smaller remainder is left to the fee.
 * Throws WalletError DUST for an output below its dust threshold and CANNOT_AFFORD when the candidates
 * cannot pay (the message says by how much).
 */
export function selectCoins<C extends Candidate>(req: SelectRequest<C>): Selection<C> {
  const { feeRateSatPerKw: rate, changeScript } = req;
  if (!Number.isSafeInteger(rate) || rate <= 0) throw new WalletError('INVALID', `wallet: invalid fee rate ${rate}`);
  if (req.outputs.length === 0) throw new WalletError('INVALID', 'wallet: no outputs');
  if (req.all && req.outputs.length !== 1) throw new WalletError('INVALID', 'wallet: "all" needs exactly one output');
  const outputsWeight = req.outputs.reduce((w, o) => w + outputWeight(o.script), 0);
  const changeWeight = outputWeight(changeScript);
  const changeDust = dustThreshold(changeScript);

  if (req.all) {
    const inputs = [...req.candidates];
    const weight = TX_OVERHEAD_WEIGHT + outputsWeight + inputs.reduce((w, c) => w + INPUT_WEIGHT[c.kind], 0);
    const fee = feeForWeight(weight, rate);
    const total = sum(inputs.map((c) => c.amountSat));
    const amount = total - fee;
    const dust = dustThreshold(req.outputs[0]!.script);
    if (inputs.length === 0 || amount < dust)
      throw new WalletError('CANNOT_AFFORD', `Could not afford all using all ${inputs.length} available UTXOs: ${dust - amount}sat short`);
    return { inputs, outputAmounts: [amount], changeSat: 0n, feeSat: fee, weight };
  }

  for (const o of req.outputs) {
    if (o.amountSat < dustThreshold(o.script)) throw new WalletError('DUST', `Output ${o.amountSat}sat would be dust`);
  }
  const target = sum(req.outputs.map((o) => o.amountSat));
  const ordered = req.useAll ? [...req.candidates] : [...req.candidates].sort((a, b) => (a.amountSat > b.amountSat ? -1 : a.amountSat < b.amountSat ? 1 : 0));
  const chosen: C[] = [];
  let total = 0n;
  let inWeight = 0;
  const tryFinish = (): Selection<C> | null => {
    const noChangeWeight = TX_OVERHEAD_WEIGHT + outputsWeight + inWeight;
    const feeNoChange = feeForWeight(noChangeWeight, rate);
    if (total < target + feeNoChange) return null;
    const withChangeWeight = noChangeWeight + changeWeight;
    const feeWithChange = feeForWeight(withChangeWeight, rate);
    const change = total - target - feeWithChange;
    const outputAmounts = req.outputs.map((o) => o.amountSat);
    if (change >= changeDust) return { inputs: [...chosen], outputAmounts, changeSat: change, feeSat: feeWithChange, weight: withChangeWeight };
    return { inputs: [...chosen], outputAmounts, changeSat: 0n, feeSat: total - target, weight: noChangeWeight };
  };
  for (const c of ordered) {
    chosen.push(c);
    total += c.amountSat;
    inWeight += INPUT_WEIGHT[c.kind];
    if (!req.useAll) {
      const done = tryFinish();
      if (done) return done;
    }
  }
  const done = chosen.length > 0 ? tryFinish() : null;
  if (done) return done;
  const need = target + feeForWeight(TX_OVERHEAD_WEIGHT + outputsWeight + inWeight, rate);
  throw new WalletError('CANNOT_AFFORD', `Could not afford ${target}sat using all ${chosen.length} available UTXOs: ${need - total}sat short`);
}
