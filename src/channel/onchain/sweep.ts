/**
 * Sweep and penalty transactions for outputs of BOLT 3 commitment transactions: one version-2
 * transaction spending any number of inputs to a single destination script, every input signed with
 * SIGHASH_ALL (BIP 143).
 *
 * Spend paths (BOLT 3 "Commitment Transaction Outputs"):
 * - `to_local_delayed`: the owner's to_local after `to_self_delay`: witness `<local_delayedsig> <>`,
 *   input nSequence = to_self_delay;
 * - `to_local_revoked`: a revoked commitment's to_local: witness `<revocation_sig> 1`;
 * - `htlc_revoked`: an offered or received HTLC output of a revoked commitment:
 *   witness `<revocation_sig> <revocationpubkey>`;
 * - `p2wpkh`: the P2WPKH to_remote of a non-anchor commitment: witness `<sig> <pubkey>`;
 * - `to_remote_anchors`: the anchors to_remote (`<key> OP_CHECKSIGVERIFY 1 OP_CSV`): witness `<sig>`,
 *   input nSequence 1;
 * - `anchor`: a 330-sat anchor output with its funding key: witness `<sig>`;
 * - `htlc_timeout_remote`: an HTLC we offered, on the other side's commitment (their received HTLC),
 *   after its `cltv_expiry` (the transaction's locktime must reach it): witness `<sig> <>`;
 * - `htlc_success_remote`: an HTLC offered to us, on the other side's commitment, with its preimage:
 *   witness `<sig> <payment_preimage>` (both with nSequence 1 under anchors).
 * (P2WSH inputs end their witness with the witness script.)
 *
 * Inputs with no relative lock use nSequence 0xfffffffd (replaceable, and `lockTime` applies).
 * The fee is `ceil(weight × feerate_per_kw / 1000)` where the weight is {@link sweepWeight}, an upper
 * bound that counts every signature as 73 bytes; the signed transaction is at most that heavy.
 * Signatures are RFC 6979, so the same arguments always give the same transaction.
 */
import { anchorScript, toRemoteConfirmedScript } from '../../bitcoin/bolt3-scripts.js';
import { hash160, p2wpkh, p2wpkhScriptCode, p2wsh } from '../../bitcoin/script.js';
import { SIGHASH_ALL, witnessSignature } from '../../bitcoin/signature.js';
import { compactSizeLength, dustThreshold } from '../../bitcoin/weight.js';
import { secp } from '../../crypto/secp256k1.js';
import { commitmentTxid, hasAnchors, type CommitmentOutput, type CommitmentTx } from '../commitment.js';
import { ChannelError } from '../errors.js';
import { SegwitTx } from './tx-bytes.js';

interface InputBase {
  /** Transaction id of the output (bitcoind's big-endian hex). */
  txid: string;
  vout: number;
  amountSat: bigint;
}

/** The owner's own to_local after `to_self_delay` blocks (`privkey` is its `local_delayedpubkey` secret). */
export interface ToLocalDelayedInput extends InputBase {
  kind: 'to_local_delayed';
  witnessScript: Buffer;
  privkey: Buffer;
  csvDelay: number;
}

/** A revoked commitment's to_local, with the revocation private key. */
export interface ToLocalRevokedInput extends InputBase {
  kind: 'to_local_revoked';
  witnessScript: Buffer;
  revocationPrivkey: Buffer;
}

/** An offered or received HTLC output of a revoked commitment, with the revocation private key. */
export interface HtlcRevokedInput extends InputBase {
  kind: 'htlc_revoked';
  witnessScript: Buffer;
  revocationPrivkey: Buffer;
}

/** A P2WPKH output (the to_remote of a non-anchor commitment). */
export interface P2wpkhInput extends InputBase {
  kind: 'p2wpkh';
  privkey: Buffer;
}

/** The anchors to_remote output (`<key> OP_CHECKSIGVERIFY 1 OP_CSV`): spendable after one confirmation. */
export interface ToRemoteAnchorsInput extends InputBase {
  kind: 'to_remote_anchors';
  witnessScript: Buffer;
  privkey: Buffer;
}

/** A 330-sat anchor output, with the funding private key it names. */
export interface AnchorInput extends InputBase {
  kind: 'anchor';
  witnessScript: Buffer;
  fundingPrivkey: Buffer;
}

/** An HTLC output of the other side's commitment, claimed directly with our HTLC key (after its expiry, or with the preimage). */
export interface HtlcRemoteInput extends InputBase {
  kind: 'htlc_timeout_remote' | 'htlc_success_remote';
  witnessScript: Buffer;
  privkey: Buffer;
  /** The payment preimage (success only). */
  preimage?: Buffer;
  /** The commitment has anchors: nSequence 1. */
  anchors: boolean;
}

export type SweepInput = ToLocalDelayedInput | ToLocalRevokedInput | HtlcRevokedInput | P2wpkhInput | ToRemoteAnchorsInput | AnchorInput | HtlcRemoteInput;
export type SweepInputKind = SweepInput['kind'];

export interface SweepTx {
  /** Transaction id (bitcoind's big-endian hex). */
  txid: string;
  /** The signed transaction (with witnesses). */
  raw: Buffer;
  hex: string;
  /** Actual weight of the signed transaction (≤ {@link SweepTx.estimatedWeight}). */
  weight: number;
  /** {@link sweepWeight}: the weight the fee was computed from. */
  estimatedWeight: number;
  feeSat: bigint;
  /** The single output's amount. */
  outputSat: bigint;
}

export interface BuildSweepArgs {
  inputs: readonly SweepInput[];
  destScript: Uint8Array;
  feeratePerKw: bigint | number;
  /** Default 0. */
  lockTime?: number;
}

/** nSequence of inputs with no relative lock: opts in to replacement, keeps nLockTime enforced. */
export const SWEEP_SEQUENCE = 0xfffffffd;
/** A DER signature plus its sighash byte is at most this long. */
export const MAX_WITNESS_SIG_SIZE = 73;
const MAX_MONEY = 21_000_000n * 100_000_000n;
const MAX_FEERATE = 0xffffffffn;

// ---------------------------------------------------------------------------------------------------
// Validation

function invalid(message: string): never {
  throw new ChannelError('INVALID', `channel: sweep: ${message}`);
}

function isBytes(b: unknown): b is Uint8Array {
  return b instanceof Uint8Array;
}

function pubkeyOf(priv: unknown, what: string): Buffer {
  if (!isBytes(priv) || priv.length !== 32 || !secp.isPrivateKey(priv)) throw new ChannelError('INVALID_KEY', `channel: sweep: ${what} is not a valid private key`);
  return secp.publicKey(priv);
}

function needScript(s: unknown, what: string): Buffer {
  if (!isBytes(s) || s.length === 0 || s.length > 3600) invalid(`${what} witness script missing or malformed`);
  return Buffer.from(s);
}

function checkOutpoint(i: InputBase, at: number): void {
  if (typeof i.txid !== 'string' || !/^[0-9a-f]{64}$/i.test(i.txid)) invalid(`input ${at}: txid must be 64 hex digits`);
  if (!Number.isInteger(i.vout) || i.vout < 0 || i.vout > 0xffffffff) invalid(`input ${at}: bad output index ${String(i.vout)}`);
  if (typeof i.amountSat !== 'bigint' || i.amountSat <= 0n || i.amountSat > MAX_MONEY)
    throw new ChannelError('INVALID_AMOUNT', `channel: sweep: input ${at}: amount ${String(i.amountSat)} out of range`);
}

/** to_local: `OP_IF <revocationpubkey> OP_ELSE <to_self_delay> OP_CSV OP_DROP <local_delayedpubkey> OP_ENDIF OP_CHECKSIG`. */
function parseToLocal(s: Buffer): { revocationPubkey: Buffer; csvDelay: number; delayedPubkey: Buffer } | null {
  if (s.length < 73 || s[0] !== 0x63 || s[1] !== 33 || s[35] !== 0x67) return null;
  const revocationPubkey = s.subarray(2, 35);
  let at = 36;
  let csvDelay: number;
  const op = s[at]!;
  if (op === 0x00) (csvDelay = 0), at++;
  else if (op >= 0x51 && op <= 0x60) (csvDelay = op - 0x50), at++;
  else if (op >= 1 && op <= 4) {
    const bytes = s.subarray(at + 1, at + 1 + op);
    if (bytes.length !== op) return null;
    csvDelay = 0;
    for (let k = bytes.length - 1; k >= 0; k--) csvDelay = csvDelay * 256 + bytes[k]!;
    at += 1 + op;
  } else return null;
  if (s.length !== at + 2 + 1 + 33 + 2 || s[at] !== 0xb2 || s[at + 1] !== 0x75 || s[at + 2] !== 33) return null;
  const delayedPubkey = s.subarray(at + 3, at + 36);
  if (s[at + 36] !== 0x68 || s[at + 37] !== 0xac) return null;
  return { revocationPubkey, csvDelay, delayedPubkey };
}

/** Checks one input and returns the public key its signature is for. */
function checkInput(i: SweepInput, at: number): Buffer {
  if (i === null || typeof i !== 'object') invalid(`input ${at} is not an object`);
  checkOutpoint(i, at);
  switch (i.kind) {
    case 'to_local_delayed': {
      const s = needScript(i.witnessScript, 'to_local');
      const pub = pubkeyOf(i.privkey, 'delayed payment key');
      if (!Number.isInteger(i.csvDelay) || i.csvDelay < 0 || i.csvDelay > 0xffff)
        throw new ChannelError('INVALID_AMOUNT', `channel: sweep: input ${at}: to_self_delay ${String(i.csvDelay)} out of range`);
      const p = parseToLocal(s);
      if (!p) invalid(`input ${at}: not a to_local script`);
      if (!p.delayedPubkey.equals(pub)) invalid(`input ${at}: key does not match the to_local delayed pubkey`);
      if (p.csvDelay !== i.csvDelay) invalid(`input ${at}: csvDelay ${i.csvDelay} does not match the script's ${p.csvDelay}`);
      return pub;
    }
    case 'to_local_revoked': {
      const s = needScript(i.witnessScript, 'to_local');
      const pub = pubkeyOf(i.revocationPrivkey, 'revocation key');
      const p = parseToLocal(s);
      if (!p) invalid(`input ${at}: not a to_local script`);
      if (!p.revocationPubkey.equals(pub)) invalid(`input ${at}: key does not match the to_local revocation pubkey`);
      return pub;
    }
    case 'htlc_revoked': {
      const s = needScript(i.witnessScript, 'HTLC');
      const pub = pubkeyOf(i.revocationPrivkey, 'revocation key');
      // OP_DUP OP_HASH160 <RIPEMD160(SHA256(revocationpubkey))> OP_EQUAL OP_IF OP_CHECKSIG OP_ELSE …
      if (s.length < 30 || s[0] !== 0x76 || s[1] !== 0xa9 || s[2] !== 20 || s[23] !== 0x87 || s[24] !== 0x63 || s[25] !== 0xac || s[26] !== 0x67)
        invalid(`input ${at}: not an HTLC script`);
      if (!s.subarray(3, 23).equals(hash160(pub))) invalid(`input ${at}: key does not match the HTLC revocation pubkey hash`);
      return pub;
    }
    case 'p2wpkh':
      return pubkeyOf(i.privkey, 'P2WPKH key');
    case 'to_remote_anchors': {
      const s = needScript(i.witnessScript, 'to_remote');
      const pub = pubkeyOf(i.privkey, 'to_remote key');
      if (!s.equals(toRemoteConfirmedScript(pub))) invalid(`input ${at}: key does not match the anchors to_remote script`);
      return pub;
    }
    case 'htlc_timeout_remote':
    case 'htlc_success_remote': {
      const s = needScript(i.witnessScript, 'HTLC');
      const pub = pubkeyOf(i.privkey, 'HTLC key');
      if (!s.includes(Buffer.concat([Buffer.from([33]), pub]))) invalid(`input ${at}: key does not match the HTLC script`);
      // The script holds RIPEMD160(payment_hash) = HASH160(preimage).
      if (i.kind === 'htlc_success_remote' && (!isBytes(i.preimage) || i.preimage.length !== 32 || !s.includes(hash160(i.preimage))))
        invalid(`input ${at}: preimage does not match the HTLC script`);
      return pub;
    }
    case 'anchor': {
      const s = needScript(i.witnessScript, 'anchor');
      const pub = pubkeyOf(i.fundingPrivkey, 'anchor funding key');
      if (!s.equals(anchorScript(pub))) invalid(`input ${at}: key does not match the anchor script`);
      return pub;
    }
    default:
      return invalid(`input ${at}: unknown kind ${String((i as { kind?: unknown }).kind)}`);
  }
}

function feerateOf(f: bigint | number): bigint {
  let v: bigint;
  if (typeof f === 'bigint') v = f;
  else if (typeof f === 'number' && Number.isSafeInteger(f)) v = BigInt(f);
  else throw new ChannelError('INVALID_AMOUNT', `channel: sweep: feerate_per_kw ${String(f)} is not an integer`);
  if (v < 0n || v > MAX_FEERATE) throw new ChannelError('INVALID_AMOUNT', `channel: sweep: feerate_per_kw ${String(f)} out of range`);
  return v;
}

function checkDest(s: unknown): Buffer {
  if (!isBytes(s) || s.length === 0 || s.length > 10_000) invalid('destination script missing or too long');
  return Buffer.from(s);
}

// ---------------------------------------------------------------------------------------------------
// Weight and dust

/** A witness item of `len` bytes with its length prefix. */
function item(len: number): number {
  return compactSizeLength(len) + len;
}

/** Upper bound of one input's witness size (signatures counted as 73 bytes). */
export function sweepWitnessSize(i: SweepInput): number {
  const sig = item(MAX_WITNESS_SIG_SIZE);
  const ws = (): number => item(isBytes((i as { witnessScript?: unknown }).witnessScript) ? (i as { witnessScript: Buffer }).witnessScript.length : 0);
  switch (i.kind) {
    case 'to_local_delayed':
      return 1 + sig + item(0) + ws();
    case 'to_local_revoked':
      return 1 + sig + item(1) + ws();
    case 'htlc_revoked':
      return 1 + sig + item(33) + ws();
    case 'p2wpkh':
      return 1 + sig + item(33);
    case 'to_remote_anchors':
    case 'anchor':
      return 1 + sig + ws();
    case 'htlc_timeout_remote':
      return 1 + sig + item(0) + ws();
    case 'htlc_success_remote':
      return 1 + sig + item(32) + ws();
    default:
      return invalid(`unknown input kind ${String((i as { kind?: unknown }).kind)}`);
  }
}

/**
 * Weight of the signed sweep: 4 × (version, input and output counts, 41 bytes per input, the output,
 * locktime) + segwit marker and flag + the witnesses. Exact except that each signature counts as 73
 * bytes (a real one is 71–73, rarely less), so it is an upper bound.
 */
export function sweepWeight(inputs: readonly SweepInput[], destScript: Uint8Array): number {
  if (!Array.isArray(inputs)) invalid('inputs must be an array');
  checkDest(destScript);
  const n = inputs.length;
  const stripped = 4 + compactSizeLength(n) + 41 * n + compactSizeLength(1) + 8 + item(destScript.length) + 4;
  return stripped * 4 + 2 + inputs.reduce((s, i) => s + sweepWitnessSize(i), 0);
}

/** The smallest amount this sweep pays: Bitcoin Core's dust threshold, but never below 546 sat. */
export function sweepDustLimit(script: Uint8Array): bigint {
  const dust = dustThreshold(script);
  return dust > 546n ? dust : 546n;
}

// ---------------------------------------------------------------------------------------------------
// Building and signing

function sequenceOf(i: SweepInput): number {
  if (i.kind === 'to_local_delayed') return i.csvDelay;
  if (i.kind === 'to_remote_anchors') return 1;
  if ((i.kind === 'htlc_timeout_remote' || i.kind === 'htlc_success_remote') && i.anchors) return 1;
  return SWEEP_SEQUENCE;
}

function witnessScriptOf(i: SweepInput): Buffer | null {
  return i.kind === 'p2wpkh' ? null : i.witnessScript;
}

function privkeyOf(i: SweepInput): Buffer {
  switch (i.kind) {
    case 'to_local_revoked':
    case 'htlc_revoked':
      return i.revocationPrivkey;
    case 'anchor':
      return i.fundingPrivkey;
    default:
      return i.privkey;
  }
}

function witnessOf(i: SweepInput, sig: Buffer, pub: Buffer): Uint8Array[] {
  switch (i.kind) {
    case 'to_local_delayed':
      return [sig, new Uint8Array(0), i.witnessScript];
    case 'to_local_revoked':
      return [sig, Buffer.from([1]), i.witnessScript];
    case 'htlc_revoked':
      return [sig, pub, i.witnessScript];
    case 'p2wpkh':
      return [sig, pub];
    case 'to_remote_anchors':
    case 'anchor':
      return [sig, i.witnessScript];
    case 'htlc_timeout_remote':
      return [sig, new Uint8Array(0), i.witnessScript];
    case 'htlc_success_remote':
      return [sig, i.preimage!, i.witnessScript];
  }
}

/** Builds and signs the sweep of `inputs` (in the given order) to `destScript`. */
export function buildSweepTx(args: BuildSweepArgs): SweepTx {
  if (args === null || typeof args !== 'object') invalid('arguments missing');
  const { inputs } = args;
  if (!Array.isArray(inputs) || inputs.length === 0) invalid('no inputs');
  if (inputs.length > 10_000) invalid('too many inputs');
  const dest = checkDest(args.destScript);
  const feerate = feerateOf(args.feeratePerKw);
  const lockTime = args.lockTime ?? 0;
  if (!Number.isInteger(lockTime) || lockTime < 0 || lockTime > 0xffffffff) invalid(`bad lockTime ${String(lockTime)}`);

  const pubs = inputs.map((i, at) => checkInput(i, at));
  const seen = new Set<string>();
  let total = 0n;
  for (const i of inputs) {
    const key = `${i.txid.toLowerCase()}:${i.vout}`;
    if (seen.has(key)) invalid(`outpoint ${key} spent twice`);
    seen.add(key);
    total += i.amountSat;
  }
  if (total > MAX_MONEY) throw new ChannelError('INVALID_AMOUNT', 'channel: sweep: inputs add up to more than 21 million bitcoin');

  const estimatedWeight = sweepWeight(inputs, dest);
  const feeSat = (BigInt(estimatedWeight) * feerate + 999n) / 1000n;
  const outputSat = total - feeSat;
  const dust = sweepDustLimit(dest);
  if (outputSat < dust)
    throw new ChannelError('INVALID_AMOUNT', `channel: sweep: output ${outputSat} sat (inputs ${total} − fee ${feeSat}) is below the dust limit ${dust}`);

  // BIP 143 with its three hashes computed once (a sweep of hundreds of HTLC outputs stays linear).
  const tx = new SegwitTx(
    inputs.map((i) => ({ txid: i.txid, vout: i.vout, sequence: sequenceOf(i), amountSat: i.amountSat })),
    [{ amountSat: outputSat, script: dest }],
    lockTime,
  );
  const witnesses = inputs.map((i, at) => {
    const pub = pubs[at]!;
    const digest = tx.digest(at, witnessScriptOf(i) ?? p2wpkhScriptCode(pub), SIGHASH_ALL);
    return witnessOf(i, witnessSignature(secp.sign(digest, privkeyOf(i)), SIGHASH_ALL), pub);
  });
  const { raw, txid, weight } = tx.serialize(witnesses);
  return { txid, raw, hex: raw.toString('hex'), weight, estimatedWeight, feeSat, outputSat };
}

// ---------------------------------------------------------------------------------------------------
// Sweepable outputs of a known commitment

function commitmentTxidChecked(commitment: CommitmentTx, txid: string): string {
  if (typeof txid !== 'string' || !/^[0-9a-f]{64}$/i.test(txid)) invalid('commitment txid must be 64 hex digits');
  const t = txid.toLowerCase();
  if (commitmentTxid(commitment) !== t) invalid(`commitment txid ${t} is not the txid of the given commitment`);
  return t;
}

function toRemoteInputAt(commitment: CommitmentTx, txid: string, vout: number, o: CommitmentOutput, privkey: Buffer): SweepInput {
  const pub = pubkeyOf(privkey, 'to_remote key');
  if (hasAnchors(commitment.format)) {
    if (!o.witnessScript || !p2wsh(o.witnessScript).equals(o.script) || !o.witnessScript.equals(toRemoteConfirmedScript(pub)))
      invalid('to_remote key does not match the anchors to_remote output');
    return { kind: 'to_remote_anchors', txid, vout, amountSat: o.amountSat, witnessScript: o.witnessScript, privkey };
  }
  if (!p2wpkh(pub).equals(o.script)) invalid('to_remote key does not match the P2WPKH to_remote output');
  return { kind: 'p2wpkh', txid, vout, amountSat: o.amountSat, privkey };
}

/**
 * Everything we can take from the other side's REVOKED commitment `commitment` (built from its owner's,
 * the cheater's, side), whose txid is `txid`: its to_local and every HTLC output by the revocation path,
 * and its to_remote (ours) when `toRemotePrivkey` is given. Anchor outputs are skipped.
 */
export function penaltyInputs(args: { commitment: CommitmentTx; txid: string; revocationPrivkey: Buffer; toRemotePrivkey?: Buffer }): SweepInput[] {
  const { commitment, revocationPrivkey, toRemotePrivkey } = args;
  const txid = commitmentTxidChecked(commitment, args.txid);
  const rev = pubkeyOf(revocationPrivkey, 'revocation key');
  if (!rev.equals(Buffer.from(commitment.params.keys.revocationPubkey))) invalid('revocation key does not match the commitment revocation pubkey');
  const out: SweepInput[] = [];
  commitment.outputs.forEach((o, vout) => {
    switch (o.kind) {
      case 'to_local':
        out.push({ kind: 'to_local_revoked', txid, vout, amountSat: o.amountSat, witnessScript: o.witnessScript!, revocationPrivkey });
        break;
      case 'offered_htlc':
      case 'received_htlc':
        out.push({ kind: 'htlc_revoked', txid, vout, amountSat: o.amountSat, witnessScript: o.witnessScript!, revocationPrivkey });
        break;
      case 'to_remote':
        if (toRemotePrivkey !== undefined) out.push(toRemoteInputAt(commitment, txid, vout, o, toRemotePrivkey));
        break;
      default:
        break; // anchors
    }
  });
  return out;
}

/**
 * The owner's to_local of its own commitment, spendable `to_self_delay` blocks after the commitment
 * confirms (`delayedPrivkey` is the owner's `local_delayedpubkey` secret for this commitment), or
 * null when the commitment has no to_local output.
 */
export function delayedToLocalInput(args: { commitment: CommitmentTx; txid: string; delayedPrivkey: Buffer }): SweepInput | null {
  const txid = commitmentTxidChecked(args.commitment, args.txid);
  const vout = args.commitment.outputs.findIndex((o) => o.kind === 'to_local');
  if (vout < 0) return null;
  const o = args.commitment.outputs[vout]!;
  const input: SweepInput = {
    kind: 'to_local_delayed',
    txid,
    vout,
    amountSat: o.amountSat,
    witnessScript: o.witnessScript!,
    privkey: args.delayedPrivkey,
    csvDelay: args.commitment.params.toSelfDelay,
  };
  checkInput(input, 0);
  return input;
}

/**
 * The non-owner's to_remote of a commitment (P2WPKH, or the anchors script spendable after one
 * confirmation), or null when the commitment has no to_remote output.
 */
export function toRemoteInput(args: { commitment: CommitmentTx; txid: string; privkey: Buffer }): SweepInput | null {
  const txid = commitmentTxidChecked(args.commitment, args.txid);
  const vout = args.commitment.outputs.findIndex((o) => o.kind === 'to_remote');
  if (vout < 0) return null;
  return toRemoteInputAt(args.commitment, txid, vout, args.commitment.outputs[vout]!, args.privkey);
}

/**
 * An anchor output of a commitment (`to_local_anchor` with the owner's funding key, `to_remote_anchor`
 * with the other side's), or null when there is none.
 */
export function anchorInput(args: { commitment: CommitmentTx; txid: string; which: 'to_local_anchor' | 'to_remote_anchor'; fundingPrivkey: Buffer }): SweepInput | null {
  const txid = commitmentTxidChecked(args.commitment, args.txid);
  const vout = args.commitment.outputs.findIndex((o) => o.kind === args.which);
  if (vout < 0) return null;
  const o = args.commitment.outputs[vout]!;
  const input: SweepInput = { kind: 'anchor', txid, vout, amountSat: o.amountSat, witnessScript: o.witnessScript!, fundingPrivkey: args.fundingPrivkey };
  checkInput(input, 0);
  return input;
}
