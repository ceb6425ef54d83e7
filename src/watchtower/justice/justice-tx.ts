/**
 * The justice transaction, rebuilt bit for bit as LND builds it (spec §3.6–§3.7):
 *
 * - tower side ({@link buildJusticeTx}, LND `lookout.JusticeDescriptor.CreateJusticeTxn`): from the breach
 *   transaction, a decrypted kit, the session's TxPolicy and reward script;
 * - client side ({@link signJusticeTx}, LND `wtclient.backupTask`): from the breach outpoints and keys,
 *   signing every input and producing the kit to encrypt.
 *
 * Both: version 2, locktime 0, to_local input sequence 0, to_remote sequence 0 (legacy) or 1 (anchor,
 * taproot), BIP-69 order of inputs and outputs, LND's weight estimate and amounts. They differ where LND
 * differs: the client sizes outputs by script class, the tower sweep by script length and the reward as
 * P2WPKH; the client weighs only the inputs it has, the tower always expects to_local.
 */
import { Transaction } from '@scure/btc-signer';
import { compareInputs, compareOutputs } from '../../bitcoin/bip69.js';
import { toLocalScript, toRemoteConfirmedScript } from '../../bitcoin/bolt3-scripts.js';
import { p2wpkh, p2wpkhScriptCode, p2wsh, pubkey, xOnlyPubkey } from '../../bitcoin/script.js';
import { checkSchnorrSig, normalizeCompactSig, SIGHASH_ALL, SIGHASH_DEFAULT, witnessSignature } from '../../bitcoin/signature.js';
import { tapLeafHash, taprootDelayScript, taprootToLocal, taprootToRemote, type TaprootFlavour } from '../../bitcoin/taproot.js';
import { sha256 } from '../../crypto/hash.js';
import { secp } from '../../crypto/secp256k1.js';
import { BlobFlag, commitmentType as commitmentTypeOf, hasFlag, isTaproot, type CommitmentType } from '../blob/type.js';
import { hasToRemote, NO_SIG, NO_TO_REMOTE_PUBKEY, type JusticeKit, type JusticeKitV0, type JusticeKitV1 } from '../blob/justice-kit.js';
import { computeJusticeTxOuts, type JusticeOutput, type TxPolicyAmounts } from './amounts.js';
import { JusticeError, onKitData } from './errors.js';
import { clientOutputSize, justiceTxWeight, TOWER_REWARD_OUTPUT_SIZE, towerSweepOutputSize } from './weight.js';

const MAX_SATOSHI = 21_000_000n * 100_000_000n;

/** How to check an input's signature: ECDSA over BIP 143 or Schnorr over a BIP 341 script path. */
export type SigCheck =
  | { kind: 'ecdsa'; pubKey: Buffer; scriptCode: Buffer }
  | { kind: 'schnorr'; xOnlyPubKey: Buffer; leafScript: Buffer };

/** What spending one breach output takes (LND `ToLocalOutputSpendInfo` / `ToRemoteOutputSpendInfo`). */
export interface SpendInfo {
  pkScript: Buffer;
  witness: Buffer[];
  sequence: number;
  /** The 64-byte signature in the kit (compact r‖s or BIP 340). */
  sig: Buffer;
  check: SigCheck;
}

export interface JusticeInput {
  /** Breach txid, internal byte order. */
  txid: Buffer;
  index: number;
  sequence: number;
  prevOut: JusticeOutput;
  witness: Buffer[];
  role: 'to_local' | 'to_remote';
  sig: Buffer;
  check: SigCheck;
}

export interface JusticeTx {
  version: 2;
  lockTime: 0;
  /** BIP-69 order. */
  inputs: JusticeInput[];
  /** BIP-69 order. */
  outputs: JusticeOutput[];
  /** LND's weight estimate the fee was computed from (not the real weight). */
  weightEstimate: number;
  totalSat: bigint;
  feeSat: bigint;
  sweepSat: bigint;
  rewardSat: bigint;
}

/** A breaching transaction as the justice code needs it. */
export interface BreachTx {
  /** Internal byte order. */
  txid: Buffer;
  outputs: JusticeOutput[];
}

function flavourOf(c: CommitmentType): TaprootFlavour {
  return c === 'taproot-final' ? 'final' : 'staging';
}

function point(k: Uint8Array, what: string): Buffer {
  return Buffer.from(pubkey(k, what));
}

function xOnlyPoint(k: Uint8Array, what: string): Buffer {
  return Buffer.from(xOnlyPubkey(k, what));
}

function checkKitVersion(kit: JusticeKit, c: CommitmentType): void {
  if ((kit.version === 1) !== isTaproot(c)) throw new JusticeError('INVALID', `justice: a v${kit.version} kit cannot describe a ${c} commitment`);
}

/** to_local spend info from a kit: the output script to look for, the revocation-path witness. */
export function toLocalSpendInfo(kit: JusticeKit, c: CommitmentType): SpendInfo {
  return onKitData(() => toLocalSpend(kit, c));
}

function toLocalSpend(kit: JusticeKit, c: CommitmentType): SpendInfo {
  checkKitVersion(kit, c);
  if (kit.version === 0) {
    const rev = point(kit.revocationPubKey, 'revocation pubkey');
    const delay = point(kit.localDelayPubKey, 'local delay pubkey');
    const script = toLocalScript(rev, delay, kit.csvDelay);
    return {
      pkScript: p2wsh(script),
      witness: [witnessSignature(kit.toLocalSig, SIGHASH_ALL), Buffer.from([1]), script],
      sequence: 0,
      sig: Buffer.from(kit.toLocalSig),
      check: { kind: 'ecdsa', pubKey: rev, scriptCode: script },
    };
  }
  const rev = xOnlyPoint(kit.revocationPubKey, 'revocation pubkey');
  const delay = xOnlyPoint(kit.localDelayPubKey, 'local delay pubkey');
  if (kit.delayScriptHash.length !== 32) throw new JusticeError('INVALID', 'justice: delay script hash must be 32 bytes');
  const t = taprootToLocal(rev, delay, kit.delayScriptHash);
  const sig = checkSchnorrSig(kit.toLocalSig);
  return {
    pkScript: t.pkScript,
    witness: [sig, t.revokeScript, t.controlBlock],
    sequence: 0,
    sig,
    check: { kind: 'schnorr', xOnlyPubKey: rev, leafScript: t.revokeScript },
  };
}

/** to_remote spend info from a kit (throws INVALID when the kit has no to_remote). */
export function toRemoteSpendInfo(kit: JusticeKit, c: CommitmentType): SpendInfo {
  return onKitData(() => toRemoteSpend(kit, c));
}

function toRemoteSpend(kit: JusticeKit, c: CommitmentType): SpendInfo {
  checkKitVersion(kit, c);
  if (!hasToRemote(kit)) throw new JusticeError('INVALID', 'justice: cannot obtain commit to-remote output script from blob');
  const pk = point(kit.toRemotePubKey, 'to_remote pubkey');
  if (c === 'legacy') {
    return {
      pkScript: p2wpkh(pk),
      witness: [witnessSignature(kit.toRemoteSig, SIGHASH_ALL), pk],
      sequence: 0,
      sig: Buffer.from(kit.toRemoteSig),
      check: { kind: 'ecdsa', pubKey: pk, scriptCode: p2wpkhScriptCode(pk) },
    };
  }
  if (c === 'anchor') {
    const script = toRemoteConfirmedScript(pk);
    return {
      pkScript: p2wsh(script),
      witness: [witnessSignature(kit.toRemoteSig, SIGHASH_ALL), script],
      sequence: 1,
      sig: Buffer.from(kit.toRemoteSig),
      check: { kind: 'ecdsa', pubKey: pk, scriptCode: script },
    };
  }
  const x = pk.subarray(1);
  const t = taprootToRemote(x, flavourOf(c));
  const sig = checkSchnorrSig(kit.toRemoteSig);
  return {
    pkScript: t.pkScript,
    witness: [sig, t.leafScript, t.controlBlock],
    sequence: 1,
    sig,
    check: { kind: 'schnorr', xOnlyPubKey: Buffer.from(x), leafScript: t.leafScript },
  };
}

function findOutput(breach: BreachTx, pkScript: Buffer, what: string): number {
  const i = breach.outputs.findIndex((o) => pkScript.equals(o.script));
  if (i < 0) throw new JusticeError('OUTPUT_NOT_FOUND', `justice: unable to find ${what} output on commit tx`);
  return i;
}

/** `blockchain.CheckTransactionSanity`, as far as a justice transaction can fail it. */
function sanity(tx: JusticeTx): void {
  if (tx.inputs.length === 0 || tx.outputs.length === 0) throw new JusticeError('INVALID', 'justice: transaction has no inputs or outputs');
  let total = 0n;
  for (const o of tx.outputs) {
    if (o.amountSat < 0n || o.amountSat > MAX_SATOSHI) throw new JusticeError('INVALID', 'justice: output value out of range');
    total += o.amountSat;
    if (total > MAX_SATOSHI) throw new JusticeError('INVALID', 'justice: total output value out of range');
  }
  const seen = new Set<string>();
  for (const i of tx.inputs) {
    const k = `${i.txid.toString('hex')}:${i.index}`;
    if (seen.has(k)) throw new JusticeError('INVALID', 'justice: duplicate input');
    seen.add(k);
  }
}

/**
 * Tower side: rebuild the justice transaction for `breach` from a decrypted kit (LND `CreateJusticeTxn`).
 * Throws {@link JusticeError}. Signatures are placed, not verified; call {@link verifyJusticeTx}.
 */
export function buildJusticeTx(args: { breach: BreachTx; kit: JusticeKit; policy: TxPolicyAmounts; rewardScript?: Uint8Array }): JusticeTx {
  const { breach, kit, policy } = args;
  const c = commitmentTypeOf(policy.blobType);
  const outputSizes = [towerSweepOutputSize(kit.sweepScript)];
  if (hasFlag(policy.blobType, BlobFlag.Reward)) outputSizes.push(TOWER_REWARD_OUTPUT_SIZE);
  const spends: { role: 'to_local' | 'to_remote'; info: SpendInfo; index: number }[] = [];
  const local = toLocalSpendInfo(kit, c);
  spends.push({ role: 'to_local', info: local, index: findOutput(breach, local.pkScript, 'to-local') });
  if (hasToRemote(kit)) {
    const remote = toRemoteSpendInfo(kit, c);
    spends.push({ role: 'to_remote', info: remote, index: findOutput(breach, remote.pkScript, 'to-remote') });
  }
  const weight = justiceTxWeight({ commitment: c, toLocal: true, toRemote: spends.length === 2, outputSizes });
  return assemble(breach.txid, spends, (total) => computeJusticeTxOuts(policy, total, weight, kit.sweepScript, args.rewardScript), weight, breach);
}

function assemble(
  txid: Buffer,
  spends: { role: 'to_local' | 'to_remote'; info: SpendInfo; index: number; amountSat?: bigint }[],
  outs: (total: bigint) => ReturnType<typeof computeJusticeTxOuts>,
  weight: number,
  breach?: BreachTx,
): JusticeTx {
  const inputs: JusticeInput[] = spends.map((s) => {
    const prevOut = breach ? breach.outputs[s.index]! : { script: s.info.pkScript, amountSat: s.amountSat! };
    return {
      txid: Buffer.from(txid),
      index: s.index,
      sequence: s.info.sequence,
      prevOut: { script: Buffer.from(prevOut.script), amountSat: prevOut.amountSat },
      witness: s.info.witness,
      role: s.role,
      sig: s.info.sig,
      check: s.info.check,
    };
  });
  const total = inputs.reduce((a, i) => a + i.prevOut.amountSat, 0n);
  const amounts = outs(total);
  const tx: JusticeTx = {
    version: 2,
    lockTime: 0,
    inputs: [...inputs].sort(compareInputs),
    outputs: [...amounts.outputs].sort(compareOutputs),
    weightEstimate: weight,
    totalSat: total,
    feeSat: amounts.feeSat,
    sweepSat: amounts.sweepSat,
    rewardSat: amounts.rewardSat,
  };
  sanity(tx);
  return tx;
}

// ---------------------------------------------------------------------------------------------------
// Serialisation and sighashes (through @scure/btc-signer)

function unsignedTx(tx: JusticeTx): Transaction {
  const t = new Transaction({ version: 2, lockTime: 0, allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
  for (const i of tx.inputs) t.addInput({ txid: Buffer.from(i.txid).reverse(), index: i.index, sequence: i.sequence });
  for (const o of tx.outputs) t.addOutput({ script: o.script, amount: o.amountSat });
  return t;
}

/** The digest each input's signature commits to (BIP 143 SIGHASH_ALL or BIP 341 script path SIGHASH_DEFAULT). */
export function justiceSighashes(tx: JusticeTx): Buffer[] {
  const t = unsignedTx(tx);
  const scripts = tx.inputs.map((i) => i.prevOut.script);
  const amounts = tx.inputs.map((i) => i.prevOut.amountSat);
  return tx.inputs.map((inp, idx) =>
    inp.check.kind === 'ecdsa'
      ? Buffer.from(t.preimageWitnessV0(idx, inp.check.scriptCode, SIGHASH_ALL, inp.prevOut.amountSat))
      : Buffer.from(t.preimageWitnessV1(idx, scripts, SIGHASH_DEFAULT, amounts, undefined, inp.check.leafScript, 0xc0)),
  );
}

/** Raw transaction with witnesses. */
export function serializeJusticeTx(tx: JusticeTx): Buffer {
  const t = unsignedTx(tx);
  tx.inputs.forEach((i, idx) => t.updateInput(idx, { finalScriptWitness: i.witness }, true));
  return Buffer.from(t.toBytes(true, true));
}

/** txid in internal byte order. */
export function justiceTxid(tx: JusticeTx): Buffer {
  const raw = Buffer.from(unsignedTx(tx).toBytes(true, false));
  return sha256(sha256(raw));
}

/** Every input's signature verifies against the rebuilt transaction (throws SIGNATURE_MISMATCH). */
export function verifyJusticeTx(tx: JusticeTx): void {
  const digests = justiceSighashes(tx);
  tx.inputs.forEach((inp, idx) => {
    const d = digests[idx]!;
    const ok =
      inp.check.kind === 'ecdsa'
        ? secp.verify(d, inp.check.pubKey, onKitData(() => normalizeCompactSig(inp.sig)))
        : secp.verifySchnorr(d, inp.check.xOnlyPubKey, inp.sig);
    if (!ok) throw new JusticeError('SIGNATURE_MISMATCH', `justice: ${inp.role} signature does not verify`);
  });
}

/** Parse a raw breach transaction (throws INVALID). */
export function parseBreachTx(raw: Uint8Array): BreachTx {
  let t: Transaction;
  try {
    t = Transaction.fromRaw(raw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true, allowUnknownVersion: true } as never);
  } catch (e) {
    throw new JusticeError('INVALID', `justice: cannot parse breach transaction: ${(e as Error).message}`);
  }
  const outputs: JusticeOutput[] = [];
  for (let i = 0; i < t.outputsLength; i++) {
    const o = t.getOutput(i);
    outputs.push({ script: Buffer.from(o.script ?? new Uint8Array()), amountSat: o.amount ?? 0n });
  }
  return { txid: Buffer.from(t.id, 'hex').reverse(), outputs };
}

// ---------------------------------------------------------------------------------------------------
// Client side

export interface BreachSigningInfo {
  commitment: CommitmentType;
  /** Breach (revoked commitment) txid, internal byte order. */
  breachTxid: Buffer;
  /** Compressed keys of the revoked state. */
  revocationPubKey: Buffer;
  localDelayPubKey: Buffer;
  csvDelay: number;
  toLocal?: { index: number; amountSat: bigint; revocationPrivKey: Buffer };
  toRemote?: { index: number; amountSat: bigint; pubKey: Buffer; privKey: Buffer };
}

/** The client's weight estimate (LND `backupTask.bindSession`): present inputs, outputs by script class. */
export function clientJusticeWeight(c: CommitmentType, hasLocal: boolean, hasRemote: boolean, blobType: number, sweepScript: Uint8Array, rewardScript?: Uint8Array): number {
  const outputSizes = [clientOutputSize(sweepScript)];
  if (hasFlag(blobType, BlobFlag.Reward)) {
    if (!rewardScript) throw new JusticeError('INVALID', 'justice: reward session without a reward script');
    outputSizes.push(clientOutputSize(rewardScript));
  }
  return justiceTxWeight({ commitment: c, toLocal: hasLocal, toRemote: hasRemote, outputSizes });
}

/** The client's justice amounts for a breach (LND `bindSession` + `ComputeJusticeTxOuts`). */
export function clientJusticeAmounts(args: {
  policy: TxPolicyAmounts;
  toLocalSat?: bigint;
  toRemoteSat?: bigint;
  sweepScript: Uint8Array;
  rewardScript?: Uint8Array;
}): ReturnType<typeof computeJusticeTxOuts> & { weight: number } {
  const c = commitmentTypeOf(args.policy.blobType);
  const weight = clientJusticeWeight(c, args.toLocalSat !== undefined, args.toRemoteSat !== undefined, args.policy.blobType, args.sweepScript, args.rewardScript);
  const total = (args.toLocalSat ?? 0n) + (args.toRemoteSat ?? 0n);
  return { ...computeJusticeTxOuts(args.policy, total, weight, args.sweepScript, args.rewardScript), weight };
}

/**
 * Client side: build and sign the justice transaction for a revoked state and return the kit to encrypt
 * (LND `backupTask.craftSessionPayload`). The kit's type follows the policy's blob type.
 */
export function signJusticeTx(args: SignArgs): { kit: JusticeKit; tx: JusticeTx } {
  return onKitData(() => signJustice(args));
}

interface SignArgs {
  policy: TxPolicyAmounts;
  breach: BreachSigningInfo;
  sweepScript: Uint8Array;
  rewardScript?: Uint8Array;
}

function signJustice(args: SignArgs): { kit: JusticeKit; tx: JusticeTx } {
  const { policy, breach } = args;
  const c = commitmentTypeOf(policy.blobType);
  if (c !== breach.commitment) throw new JusticeError('INVALID', `justice: blob type is for ${c}, breach is ${breach.commitment}`);
  if (!breach.toLocal && !breach.toRemote) throw new JusticeError('INVALID', 'justice: breach has no outputs to sweep');
  const sweepScript = Buffer.from(args.sweepScript);
  point(breach.revocationPubKey, 'revocation pubkey');
  point(breach.localDelayPubKey, 'local delay pubkey');
  const toRemotePk = breach.toRemote ? point(breach.toRemote.pubKey, 'to_remote pubkey') : NO_TO_REMOTE_PUBKEY;
  let kit: JusticeKit;
  if (isTaproot(c)) {
    const delayX = breach.localDelayPubKey.subarray(1);
    const v1: JusticeKitV1 = {
      version: 1,
      sweepScript,
      revocationPubKey: Buffer.from(breach.revocationPubKey.subarray(1)),
      localDelayPubKey: Buffer.from(delayX),
      toLocalSig: NO_SIG,
      delayScriptHash: tapLeafHash(taprootDelayScript(delayX, breach.csvDelay, flavourOf(c))),
      toRemotePubKey: Buffer.from(toRemotePk),
      toRemoteSig: NO_SIG,
    };
    kit = v1;
  } else {
    const v0: JusticeKitV0 = {
      version: 0,
      sweepScript,
      revocationPubKey: Buffer.from(breach.revocationPubKey),
      localDelayPubKey: Buffer.from(breach.localDelayPubKey),
      csvDelay: breach.csvDelay,
      toLocalSig: NO_SIG,
      toRemotePubKey: Buffer.from(toRemotePk),
      toRemoteSig: NO_SIG,
    };
    kit = v0;
  }
  // Templates (with placeholder signatures) give the output scripts, witness scripts and sequences.
  const placeholder = { ...kit, toLocalSig: PLACEHOLDER_SIG, toRemoteSig: breach.toRemote ? PLACEHOLDER_SIG : NO_SIG } as JusticeKit;
  const spends: { role: 'to_local' | 'to_remote'; info: SpendInfo; index: number; amountSat: bigint }[] = [];
  if (breach.toLocal) spends.push({ role: 'to_local', info: toLocalSpendInfo(placeholder, c), index: breach.toLocal.index, amountSat: breach.toLocal.amountSat });
  if (breach.toRemote) spends.push({ role: 'to_remote', info: toRemoteSpendInfo(placeholder, c), index: breach.toRemote.index, amountSat: breach.toRemote.amountSat });
  const weight = clientJusticeWeight(c, !!breach.toLocal, !!breach.toRemote, policy.blobType, sweepScript, args.rewardScript);
  const tx = assemble(breach.breachTxid, spends, (total) => computeJusticeTxOuts(policy, total, weight, sweepScript, args.rewardScript), weight);
  const digests = justiceSighashes(tx);
  tx.inputs.forEach((inp, idx) => {
    const priv = inp.role === 'to_local' ? breach.toLocal!.revocationPrivKey : breach.toRemote!.privKey;
    const d = digests[idx]!;
    const sig = inp.check.kind === 'ecdsa' ? secp.sign(d, priv) : secp.signSchnorr(d, priv);
    if (inp.role === 'to_local') kit.toLocalSig = sig;
    else kit.toRemoteSig = sig;
  });
  // Re-derive the witnesses from the signed kit, exactly as the tower will.
  const signed: JusticeInput[] = tx.inputs.map((inp) => {
    const info = inp.role === 'to_local' ? toLocalSpendInfo(kit, c) : toRemoteSpendInfo(kit, c);
    return { ...inp, witness: info.witness, sig: info.sig, check: info.check };
  });
  return { kit, tx: { ...tx, inputs: signed } };
}

/** A syntactically valid signature used only to build templates before signing. */
const PLACEHOLDER_SIG = Buffer.concat([Buffer.alloc(31), Buffer.from([1]), Buffer.alloc(31), Buffer.from([1])]);
