/**
 * BOLT 3 commitment and HTLC transactions: the obscured commitment number, fees from `feerate_per_kw`
 * and the expected weights, trimming against the owner's dust limit (with the fee of the second-level
 * transaction), to_local/to_remote/anchor/HTLC outputs, BIP 69 + CLTV output order, locktime and
 * sequence encoding, BIP 143 sighashes and signatures. Serialisation and sighashes go through
 * @scure/btc-signer.
 *
 * A commitment is always described from its owner's side: "local" is the owner (whose outputs are
 * delayed), "remote" is the other side.
 */
import { Transaction } from '@scure/btc-signer';
import { compareOutputs as bip69Order } from '../bitcoin/bip69.js';
import { anchorScript, fundingScript, offeredHtlcScript, receivedHtlcScript, toLocalScript, toRemoteConfirmedScript } from '../bitcoin/bolt3-scripts.js';
import { p2wpkh, p2wsh } from '../bitcoin/script.js';
import { SIGHASH_ALL, SIGHASH_SINGLE_ANYONECANPAY, witnessSignature } from '../bitcoin/signature.js';
import { sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { ChannelError } from './errors.js';
import type { CommitmentKeys } from './keys.js';

/**
 * - `static_remotekey`: P2WPKH to_remote, no anchors (also the legacy format, with a derived remotepubkey);
 * - `anchor_outputs`: `option_anchor_outputs` (anchors, HTLC transactions paying fees: weights 666/706);
 * - `anchors_zero_fee_htlc_tx`: `option_anchors` as BOLT 3 has it today (HTLC transactions pay no fee).
 */
export type CommitmentFormat = 'static_remotekey' | 'anchor_outputs' | 'anchors_zero_fee_htlc_tx';

export const ANCHOR_OUTPUT_SAT = 330n;

export function hasAnchors(format: CommitmentFormat): boolean {
  return format !== 'static_remotekey';
}

// ---------------------------------------------------------------------------------------------------
// Obscured commitment number, locktime and sequence

const MASK48 = 0xffffffffffffn;

/** Lower 48 bits of `SHA256(payment_basepoint from open_channel || payment_basepoint from accept_channel)`. */
export function commitmentNumberObscurer(openerPaymentBasepoint: Uint8Array, accepterPaymentBasepoint: Uint8Array): bigint {
  const h = sha256(openerPaymentBasepoint, accepterPaymentBasepoint);
  return BigInt('0x' + h.subarray(26).toString('hex'));
}

function checkCommitmentNumber(n: bigint): void {
  if (typeof n !== 'bigint' || n < 0n || n > MASK48) throw new ChannelError('INVALID_INDEX', `channel: commitment number ${String(n)} is outside 0 … 2^48 - 1`);
}

export function obscureCommitmentNumber(commitmentNumber: bigint, obscurer: bigint): bigint {
  checkCommitmentNumber(commitmentNumber);
  return (commitmentNumber ^ obscurer) & MASK48;
}

/** Commitment `locktime` (0x20 ‖ lower 24 bits) and input `sequence` (0x80 ‖ upper 24 bits). */
export function commitmentLocktimeSequence(obscuredCommitmentNumber: bigint): { lockTime: number; sequence: number } {
  checkCommitmentNumber(obscuredCommitmentNumber);
  return {
    lockTime: Number(0x20000000n | (obscuredCommitmentNumber & 0xffffffn)),
    sequence: Number(0x80000000n | (obscuredCommitmentNumber >> 24n)),
  };
}

/** The obscured number of a transaction whose locktime/sequence look like a commitment's, else null. */
export function obscuredNumberFromTx(lockTime: number, sequence: number): bigint | null {
  if (lockTime >>> 24 !== 0x20 || sequence >>> 24 !== 0x80) return null;
  return (BigInt(sequence & 0xffffff) << 24n) | BigInt(lockTime & 0xffffff);
}

// ---------------------------------------------------------------------------------------------------
// Fees and trimming

function checkFeerate(feeratePerKw: bigint): void {
  if (typeof feeratePerKw !== 'bigint' || feeratePerKw < 0n || feeratePerKw > 0xffffffffn)
    throw new ChannelError('INVALID_AMOUNT', `channel: feerate_per_kw ${String(feeratePerKw)} out of range`);
}

/** Expected weight: 724 (1124 with anchors) + 172 per untrimmed HTLC output. */
export function commitmentWeight(untrimmedHtlcs: number, format: CommitmentFormat): bigint {
  return (hasAnchors(format) ? 1124n : 724n) + 172n * BigInt(untrimmedHtlcs);
}

/** Base commitment fee: `feerate_per_kw * weight / 1000`, rounded down. */
export function commitmentFeeSat(feeratePerKw: bigint, untrimmedHtlcs: number, format: CommitmentFormat): bigint {
  checkFeerate(feeratePerKw);
  return (feeratePerKw * commitmentWeight(untrimmedHtlcs, format)) / 1000n;
}

/** HTLC-timeout fee: weight 663 (666 with `option_anchor_outputs`, 0 fee with zero-fee HTLC anchors). */
export function htlcTimeoutFeeSat(feeratePerKw: bigint, format: CommitmentFormat): bigint {
  checkFeerate(feeratePerKw);
  if (format === 'anchors_zero_fee_htlc_tx') return 0n;
  return (feeratePerKw * (format === 'anchor_outputs' ? 666n : 663n)) / 1000n;
}

/** HTLC-success fee: weight 703 (706 with `option_anchor_outputs`, 0 fee with zero-fee HTLC anchors). */
export function htlcSuccessFeeSat(feeratePerKw: bigint, format: CommitmentFormat): bigint {
  checkFeerate(feeratePerKw);
  if (format === 'anchors_zero_fee_htlc_tx') return 0n;
  return (feeratePerKw * (format === 'anchor_outputs' ? 706n : 703n)) / 1000n;
}

export type HtlcDirection = 'offered' | 'received';

/** An HTLC committed on the owner's commitment: `offered` by the owner, or `received` by it. */
export interface CommitmentHtlc {
  direction: HtlcDirection;
  amountMsat: bigint;
  paymentHash: Uint8Array;
  cltvExpiry: number;
}

/** True when the HTLC makes no output (amount minus its second-level fee below the dust limit). */
export function isHtlcTrimmed(htlc: CommitmentHtlc, dustLimitSat: bigint, feeratePerKw: bigint, format: CommitmentFormat): boolean {
  const fee = htlc.direction === 'offered' ? htlcTimeoutFeeSat(feeratePerKw, format) : htlcSuccessFeeSat(feeratePerKw, format);
  return htlc.amountMsat / 1000n < dustLimitSat + fee;
}

// ---------------------------------------------------------------------------------------------------
// The commitment transaction

export interface Outpoint {
  /** Transaction id as bitcoind prints it (big-endian hex). */
  txid: string;
  vout: number;
}

export interface CommitmentParams {
  format: CommitmentFormat;
  funding: Outpoint & { amountSat: bigint };
  localFundingPubkey: Uint8Array;
  remoteFundingPubkey: Uint8Array;
  /** Per-commitment keys of this commitment, from the owner's side. */
  keys: CommitmentKeys;
  commitmentNumber: bigint;
  /** {@link commitmentNumberObscurer} of the channel. */
  obscurer: bigint;
  /** The owner's `to_self_delay` (set by the other side). */
  toSelfDelay: number;
  /** The owner's `dust_limit_satoshis`. */
  dustLimitSat: bigint;
  feeratePerKw: bigint;
  /** Who opened the channel (and pays the fee and the anchors). */
  opener: 'local' | 'remote';
  toLocalMsat: bigint;
  toRemoteMsat: bigint;
  htlcs: readonly CommitmentHtlc[];
}

export type CommitmentOutputKind = 'to_local' | 'to_remote' | 'to_local_anchor' | 'to_remote_anchor' | 'offered_htlc' | 'received_htlc';

export interface CommitmentOutput {
  kind: CommitmentOutputKind;
  amountSat: bigint;
  /** scriptPubKey. */
  script: Buffer;
  /** The P2WSH witness script (absent for a P2WPKH to_remote). */
  witnessScript?: Buffer;
  /** For HTLC outputs: the HTLC and its position in {@link CommitmentParams.htlcs}. */
  htlc?: CommitmentHtlc;
  htlcIndex?: number;
}

export interface CommitmentTx {
  format: CommitmentFormat;
  lockTime: number;
  input: Outpoint & { sequence: number; amountSat: bigint; witnessScript: Buffer };
  localFundingPubkey: Buffer;
  remoteFundingPubkey: Buffer;
  /** Outputs in BIP 69 + CLTV order (their index on chain). */
  outputs: CommitmentOutput[];
  /** Base fee paid by the opener (before trimmed amounts add to it). */
  baseFeeSat: bigint;
  /** Funding amount minus the outputs. */
  feeSat: bigint;
  /** Indices (into params.htlcs) of the trimmed HTLCs. */
  trimmedHtlcs: number[];
  /** Parameters this transaction was built from (keys and delays the HTLC transactions need). */
  params: CommitmentParams;
}

function checkAmount(v: bigint, what: string): void {
  if (typeof v !== 'bigint' || v < 0n || v > 21_000_000n * 100_000_000n * 1000n) throw new ChannelError('INVALID_AMOUNT', `channel: ${what} ${String(v)} out of range`);
}

/** BIP 69 output order, HTLC ties (same amount and script) by `cltv_expiry`. */
export function compareOutputs(a: CommitmentOutput, b: CommitmentOutput): number {
  return bip69Order(a, b) || (a.htlc?.cltvExpiry ?? 0) - (b.htlc?.cltvExpiry ?? 0);
}

/** BOLT 3 "Commitment Transaction Construction". */
export function buildCommitmentTx(p: CommitmentParams): CommitmentTx {
  const anchors = hasAnchors(p.format);
  checkAmount(p.funding.amountSat, 'funding amount');
  checkAmount(p.toLocalMsat, 'to_local');
  checkAmount(p.toRemoteMsat, 'to_remote');
  checkAmount(p.dustLimitSat, 'dust limit');
  checkFeerate(p.feeratePerKw);
  if (!Number.isInteger(p.toSelfDelay) || p.toSelfDelay < 0 || p.toSelfDelay > 0xffff) throw new ChannelError('INVALID_AMOUNT', `channel: to_self_delay ${p.toSelfDelay} out of range`);
  if (!Number.isInteger(p.funding.vout) || p.funding.vout < 0 || p.funding.vout > 0xffffffff) throw new ChannelError('INVALID', 'channel: bad funding output index');
  if (!/^[0-9a-f]{64}$/i.test(p.funding.txid)) throw new ChannelError('INVALID', 'channel: funding txid must be 64 hex digits');
  for (const h of p.htlcs) {
    checkAmount(h.amountMsat, 'HTLC amount');
    if (!Number.isInteger(h.cltvExpiry) || h.cltvExpiry < 0 || h.cltvExpiry >= 500_000_000) throw new ChannelError('INVALID_AMOUNT', `channel: HTLC cltv_expiry ${h.cltvExpiry} out of range`);
  }
  const htlcSum = p.htlcs.reduce((s, h) => s + h.amountMsat, 0n);
  if (p.toLocalMsat + p.toRemoteMsat + htlcSum > p.funding.amountSat * 1000n)
    throw new ChannelError('INVALID_AMOUNT', 'channel: to_local + to_remote + HTLCs exceed the funding amount');

  const { lockTime, sequence } = commitmentLocktimeSequence(obscureCommitmentNumber(p.commitmentNumber, p.obscurer));
  const outputs: CommitmentOutput[] = [];
  const trimmedHtlcs: number[] = [];
  p.htlcs.forEach((h, i) => {
    if (isHtlcTrimmed(h, p.dustLimitSat, p.feeratePerKw, p.format)) {
      trimmedHtlcs.push(i);
      return;
    }
    const witnessScript =
      h.direction === 'offered' ? offeredHtlcScript(p.keys, h.paymentHash, anchors) : receivedHtlcScript(p.keys, h.paymentHash, h.cltvExpiry, anchors);
    outputs.push({ kind: h.direction === 'offered' ? 'offered_htlc' : 'received_htlc', amountSat: h.amountMsat / 1000n, script: p2wsh(witnessScript), witnessScript, htlc: h, htlcIndex: i });
  });
  const untrimmed = outputs.length;

  const baseFeeSat = commitmentFeeSat(p.feeratePerKw, untrimmed, p.format);
  const openerCostMsat = (baseFeeSat + (anchors ? 2n * ANCHOR_OUTPUT_SAT : 0n)) * 1000n;
  let toLocalMsat = p.toLocalMsat;
  let toRemoteMsat = p.toRemoteMsat;
  if (p.opener === 'local') toLocalMsat = toLocalMsat > openerCostMsat ? toLocalMsat - openerCostMsat : 0n;
  else toRemoteMsat = toRemoteMsat > openerCostMsat ? toRemoteMsat - openerCostMsat : 0n;
  const toLocalSat = toLocalMsat / 1000n;
  const toRemoteSat = toRemoteMsat / 1000n;

  const hasToLocal = toLocalSat >= p.dustLimitSat && toLocalSat > 0n;
  const hasToRemote = toRemoteSat >= p.dustLimitSat && toRemoteSat > 0n;
  if (hasToLocal) {
    const witnessScript = toLocalScript(p.keys.revocationPubkey, p.keys.localDelayedPubkey, p.toSelfDelay);
    outputs.push({ kind: 'to_local', amountSat: toLocalSat, script: p2wsh(witnessScript), witnessScript });
  }
  if (hasToRemote) {
    if (anchors) {
      const witnessScript = toRemoteConfirmedScript(p.keys.remotePubkey);
      outputs.push({ kind: 'to_remote', amountSat: toRemoteSat, script: p2wsh(witnessScript), witnessScript });
    } else {
      outputs.push({ kind: 'to_remote', amountSat: toRemoteSat, script: p2wpkh(p.keys.remotePubkey) });
    }
  }
  if (anchors) {
    if (hasToLocal || untrimmed > 0) {
      const witnessScript = anchorScript(p.localFundingPubkey);
      outputs.push({ kind: 'to_local_anchor', amountSat: ANCHOR_OUTPUT_SAT, script: p2wsh(witnessScript), witnessScript });
    }
    if (hasToRemote || untrimmed > 0) {
      const witnessScript = anchorScript(p.remoteFundingPubkey);
      outputs.push({ kind: 'to_remote_anchor', amountSat: ANCHOR_OUTPUT_SAT, script: p2wsh(witnessScript), witnessScript });
    }
  }
  outputs.sort(compareOutputs);
  const total = outputs.reduce((s, o) => s + o.amountSat, 0n);
  return {
    format: p.format,
    lockTime,
    input: { txid: p.funding.txid.toLowerCase(), vout: p.funding.vout, sequence, amountSat: p.funding.amountSat, witnessScript: fundingScript(p.localFundingPubkey, p.remoteFundingPubkey) },
    localFundingPubkey: Buffer.from(p.localFundingPubkey),
    remoteFundingPubkey: Buffer.from(p.remoteFundingPubkey),
    outputs,
    baseFeeSat,
    feeSat: p.funding.amountSat - total,
    trimmedHtlcs,
    params: p,
  };
}

// ---------------------------------------------------------------------------------------------------
// Serialisation, sighashes and signatures (through @scure/btc-signer)

interface RawTx {
  lockTime: number;
  input: Outpoint & { sequence: number };
  outputs: readonly { script: Uint8Array; amountSat: bigint }[];
}

function scureTx(t: RawTx): Transaction {
  const tx = new Transaction({ version: 2, lockTime: t.lockTime, allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
  tx.addInput({ txid: t.input.txid, index: t.input.vout, sequence: t.input.sequence });
  for (const o of t.outputs) tx.addOutput({ script: o.script, amount: o.amountSat });
  return tx;
}

function serialize(t: RawTx, witness?: Uint8Array[]): Buffer {
  const tx = scureTx(t);
  if (witness) tx.updateInput(0, { finalScriptWitness: witness }, true);
  return Buffer.from(tx.toBytes(true, witness !== undefined));
}

/** Transaction id (bitcoind's big-endian hex). */
function txidOf(t: RawTx): string {
  return scureTx(t).id;
}

function sign(digest: Uint8Array, privkey: Uint8Array): Buffer {
  if (!(privkey instanceof Uint8Array) || privkey.length !== 32 || !secp.isPrivateKey(privkey)) throw new ChannelError('INVALID_KEY', 'channel: signing key is not a valid private key');
  return secp.sign(digest, privkey);
}

function verify(digest: Uint8Array, pubkey: Uint8Array, sig: Uint8Array): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
  try {
    return secp.verify(digest, pubkey, sig);
  } catch {
    return false;
  }
}

/** BIP 143 SIGHASH_ALL digest of the commitment's funding input. */
export function commitmentSighash(c: CommitmentTx): Buffer {
  return Buffer.from(scureTx(c).preimageWitnessV0(0, c.input.witnessScript, SIGHASH_ALL, c.input.amountSat));
}

/** 64-byte compact signature (RFC 6979, low-S) with a funding private key. */
export function signCommitmentTx(c: CommitmentTx, fundingPrivkey: Uint8Array): Buffer {
  return sign(commitmentSighash(c), fundingPrivkey);
}

export function verifyCommitmentSig(c: CommitmentTx, fundingPubkey: Uint8Array, compactSig: Uint8Array): boolean {
  return verify(commitmentSighash(c), fundingPubkey, compactSig);
}

export function commitmentTxid(c: CommitmentTx): string {
  return txidOf(c);
}

/** The unsigned transaction (no witness). */
export function serializeUnsignedCommitmentTx(c: CommitmentTx): Buffer {
  return serialize(c);
}

/** The signed transaction: witness `0 <sig for pubkey1> <sig for pubkey2> <funding script>`. */
export function serializeSignedCommitmentTx(c: CommitmentTx, localSig: Uint8Array, remoteSig: Uint8Array): Buffer {
  const l = witnessSignature(localSig, SIGHASH_ALL);
  const r = witnessSignature(remoteSig, SIGHASH_ALL);
  const [s1, s2] = Buffer.compare(c.localFundingPubkey, c.remoteFundingPubkey) <= 0 ? [l, r] : [r, l];
  return serialize(c, [new Uint8Array(0), s1, s2, c.input.witnessScript]);
}

// ---------------------------------------------------------------------------------------------------
// HTLC-timeout and HTLC-success transactions

export interface HtlcTx {
  kind: 'htlc_timeout' | 'htlc_success';
  format: CommitmentFormat;
  lockTime: number;
  input: Outpoint & { sequence: number; amountSat: bigint; witnessScript: Buffer };
  outputs: [{ amountSat: bigint; script: Buffer; witnessScript: Buffer }];
  htlc: CommitmentHtlc;
}

/**
 * The second-level transaction spending HTLC output `outputIndex` of `c`: HTLC-timeout for an offered
 * HTLC (locktime `cltv_expiry`), HTLC-success for a received one; sequence 1 with anchors, else 0.
 */
export function buildHtlcTx(c: CommitmentTx, outputIndex: number, txid: string = commitmentTxid(c)): HtlcTx {
  const o = c.outputs[outputIndex];
  if (!o || !o.htlc || !o.witnessScript) throw new ChannelError('INVALID', `channel: commitment output ${outputIndex} is not an HTLC`);
  const p = c.params;
  const offered = o.kind === 'offered_htlc';
  const fee = offered ? htlcTimeoutFeeSat(p.feeratePerKw, p.format) : htlcSuccessFeeSat(p.feeratePerKw, p.format);
  const witnessScript = toLocalScript(p.keys.revocationPubkey, p.keys.localDelayedPubkey, p.toSelfDelay);
  return {
    kind: offered ? 'htlc_timeout' : 'htlc_success',
    format: p.format,
    lockTime: offered ? o.htlc.cltvExpiry : 0,
    input: { txid, vout: outputIndex, sequence: hasAnchors(p.format) ? 1 : 0, amountSat: o.amountSat, witnessScript: o.witnessScript },
    outputs: [{ amountSat: o.amountSat - fee, script: p2wsh(witnessScript), witnessScript }],
    htlc: o.htlc,
  };
}

/** Every untrimmed HTLC's second-level transaction, in output order (the order of `htlc_signatures`). */
export function buildHtlcTxs(c: CommitmentTx): HtlcTx[] {
  const txs: HtlcTx[] = [];
  const txid = commitmentTxid(c);
  c.outputs.forEach((o, i) => {
    if (o.htlc) txs.push(buildHtlcTx(c, i, txid));
  });
  return txs;
}

/** Sighash type of the other side's HTLC signature: SINGLE|ANYONECANPAY with anchors, else ALL. */
export function remoteHtlcSighashType(format: CommitmentFormat): number {
  return hasAnchors(format) ? SIGHASH_SINGLE_ANYONECANPAY : SIGHASH_ALL;
}

export function htlcSighash(t: HtlcTx, sighashType: number): Buffer {
  return Buffer.from(scureTx(t).preimageWitnessV0(0, t.input.witnessScript, sighashType, t.input.amountSat));
}

/** The owner's signature (with its `local_htlcpubkey` private key), SIGHASH_ALL. */
export function signHtlcTxLocal(t: HtlcTx, localHtlcPrivkey: Uint8Array): Buffer {
  return sign(htlcSighash(t, SIGHASH_ALL), localHtlcPrivkey);
}

/** The other side's signature (the one sent in `commitment_signed`), with its `remote_htlcpubkey` private key. */
export function signHtlcTxRemote(t: HtlcTx, remoteHtlcPrivkey: Uint8Array): Buffer {
  return sign(htlcSighash(t, remoteHtlcSighashType(t.format)), remoteHtlcPrivkey);
}

export function verifyHtlcSigRemote(t: HtlcTx, remoteHtlcPubkey: Uint8Array, compactSig: Uint8Array): boolean {
  return verify(htlcSighash(t, remoteHtlcSighashType(t.format)), remoteHtlcPubkey, compactSig);
}

export function htlcTxid(t: HtlcTx): string {
  return txidOf(t);
}

/**
 * The signed HTLC transaction: `0 <remotehtlcsig> <localhtlcsig> <payment_preimage>` (success) or
 * `0 <remotehtlcsig> <localhtlcsig> <>` (timeout), then the HTLC script.
 */
export function serializeSignedHtlcTx(t: HtlcTx, remoteSig: Uint8Array, localSig: Uint8Array, paymentPreimage?: Uint8Array): Buffer {
  let last: Uint8Array = new Uint8Array(0);
  if (t.kind === 'htlc_success') {
    if (!(paymentPreimage instanceof Uint8Array) || paymentPreimage.length !== 32 || !sha256(paymentPreimage).equals(Buffer.from(t.htlc.paymentHash)))
      throw new ChannelError('INVALID', 'channel: HTLC-success needs the payment preimage of the HTLC');
    last = paymentPreimage;
  }
  return serialize(t, [
    new Uint8Array(0),
    witnessSignature(remoteSig, remoteHtlcSighashType(t.format)),
    witnessSignature(localSig, SIGHASH_ALL),
    last,
    t.input.witnessScript,
  ]);
}
