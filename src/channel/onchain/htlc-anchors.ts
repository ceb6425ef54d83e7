/**
 * Second-stage HTLC transactions of our own zero-fee-HTLC anchors commitment (BOLT 3
 * `option_anchors_zero_fee_htlc_tx`): the peer's HTLC signatures are SIGHASH_SINGLE|ANYONECANPAY, so
 * several HTLC-timeout (same `cltv_expiry`, the locktime) or HTLC-success transactions are joined into
 * one, input i paying output i at the HTLC's full amount, and a fee input of ours (a P2WPKH output the
 * wallet funded) pays the fee, its change going back to the wallet. Our HTLC signatures are SIGHASH_ALL
 * over the whole transaction.
 */
import { SIGHASH_ALL, SIGHASH_SINGLE_ANYONECANPAY, witnessSignature } from '../../bitcoin/signature.js';
import { p2wpkhScriptCode } from '../../bitcoin/script.js';
import { secp } from '../../crypto/secp256k1.js';
import type { HtlcTx } from '../commitment.js';
import { ChannelError } from '../errors.js';
import { SegwitTx, compactSize } from './tx-bytes.js';
import { MAX_WITNESS_SIG_SIZE, SWEEP_SEQUENCE, sweepDustLimit } from './sweep.js';

export interface AnchorsHtlc {
  t: HtlcTx;
  /** The peer's signature (compact), from commitment_signed. */
  remoteSig: Buffer;
  preimage?: Buffer;
}

export interface FeeInput {
  txid: string;
  vout: number;
  amountSat: bigint;
  privkey: Buffer;
}

const item = (len: number): number => compactSize(len).length + len;

/** Upper bound of the joined transaction's weight (signatures counted as 73 bytes plus the sighash byte). */
export function anchorsHtlcWeight(htlcs: readonly { t: HtlcTx }[], changeScript: Uint8Array): number {
  const sig = item(MAX_WITNESS_SIG_SIZE + 1);
  const n = htlcs.length + 1;
  const outputs = htlcs.reduce((s, h) => s + 8 + item(h.t.outputs[0].script.length), 0) + 8 + item(changeScript.length);
  const stripped = 4 + compactSize(n).length + 41 * n + compactSize(htlcs.length + 1).length + outputs + 4;
  const htlcWitness = htlcs.reduce((s, h) => s + 1 + item(0) + 2 * sig + item(h.t.kind === 'htlc_success' ? 32 : 0) + item(h.t.input.witnessScript.length), 0);
  return stripped * 4 + 2 + htlcWitness + 1 + sig + item(33);
}

/** The joined, signed transaction paying `feeratePerKw` over its weight bound; the change is what the fee input has left. */
export function buildAnchorsHtlcTx(args: { htlcs: readonly AnchorsHtlc[]; localHtlcPrivkey: Buffer; fee: FeeInput; changeScript: Buffer; feeratePerKw: bigint }): { txid: string; hex: string; feeSat: bigint } {
  const { htlcs, fee } = args;
  if (htlcs.length === 0) throw new ChannelError('INVALID', 'channel: anchors HTLC transaction without HTLCs');
  const lockTime = htlcs[0]!.t.lockTime;
  if (htlcs.some((h) => h.t.lockTime !== lockTime)) throw new ChannelError('INVALID', 'channel: joined HTLC transactions must share their locktime');
  const feeSat = (BigInt(anchorsHtlcWeight(htlcs, args.changeScript)) * args.feeratePerKw + 999n) / 1000n;
  const change = fee.amountSat - feeSat;
  if (change < sweepDustLimit(args.changeScript)) throw new ChannelError('INVALID_AMOUNT', `channel: fee input of ${fee.amountSat} sat cannot pay ${feeSat} sat`);
  const tx = new SegwitTx(
    [...htlcs.map((h) => ({ txid: h.t.input.txid, vout: h.t.input.vout, sequence: h.t.input.sequence, amountSat: h.t.input.amountSat })), { txid: fee.txid, vout: fee.vout, sequence: SWEEP_SEQUENCE, amountSat: fee.amountSat }],
    [...htlcs.map((h) => ({ amountSat: h.t.outputs[0].amountSat, script: h.t.outputs[0].script })), { amountSat: change, script: args.changeScript }],
    lockTime,
  );
  const feePub = secp.publicKey(fee.privkey);
  const witnesses = [
    ...htlcs.map((h, at) => {
      const local = witnessSignature(secp.sign(tx.digest(at, h.t.input.witnessScript, SIGHASH_ALL), args.localHtlcPrivkey), SIGHASH_ALL);
      return [new Uint8Array(0), witnessSignature(h.remoteSig, SIGHASH_SINGLE_ANYONECANPAY), local, h.preimage ?? new Uint8Array(0), h.t.input.witnessScript];
    }),
    [witnessSignature(secp.sign(tx.digest(htlcs.length, p2wpkhScriptCode(feePub), SIGHASH_ALL), fee.privkey), SIGHASH_ALL), feePub],
  ];
  const { raw, txid } = tx.serialize(witnesses);
  return { txid, hex: raw.toString('hex'), feeSat };
}
