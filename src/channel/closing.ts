/**
 * BOLT 3 closing transaction (cooperative close): spends the funding output to both sides' shutdown
 * scripts, the opener paying the fee, outputs below their owner's dust limit omitted, BIP 69 order.
 */
import { Transaction } from '@scure/btc-signer';
import { compareOutputs } from '../bitcoin/bip69.js';
import { fundingScript } from '../bitcoin/bolt3-scripts.js';
import { SIGHASH_ALL, witnessSignature } from '../bitcoin/signature.js';
import { secp } from '../crypto/secp256k1.js';
import { ChannelError } from './errors.js';

export interface ClosingParams {
  funding: { txid: string; vout: number; amountSat: bigint };
  localFundingPubkey: Buffer;
  remoteFundingPubkey: Buffer;
  localScript: Buffer;
  remoteScript: Buffer;
  /** Balances before the fee (whole satoshis are kept, msat rounded down). */
  toLocalMsat: bigint;
  toRemoteMsat: bigint;
  localDustLimitSat: bigint;
  remoteDustLimitSat: bigint;
  opener: 'local' | 'remote';
  feeSat: bigint;
}

export interface ClosingTx {
  tx: Transaction;
  witnessScript: Buffer;
  amountSat: bigint;
  outputs: { script: Buffer; amountSat: bigint }[];
}

export function buildClosingTx(p: ClosingParams): ClosingTx {
  let local = p.toLocalMsat / 1000n;
  let remote = p.toRemoteMsat / 1000n;
  if (p.opener === 'local') local -= p.feeSat;
  else remote -= p.feeSat;
  if (local < 0n || remote < 0n || p.feeSat < 0n) throw new ChannelError('INVALID_AMOUNT', `channel: closing fee ${p.feeSat} sat exceeds the opener's balance`);
  const outputs: { script: Buffer; amountSat: bigint }[] = [];
  if (local >= p.localDustLimitSat && local > 0n) outputs.push({ script: p.localScript, amountSat: local });
  if (remote >= p.remoteDustLimitSat && remote > 0n) outputs.push({ script: p.remoteScript, amountSat: remote });
  outputs.sort(compareOutputs);
  const tx = new Transaction({ version: 2, lockTime: 0, allowUnknownOutputs: true, disableScriptCheck: true });
  tx.addInput({ txid: p.funding.txid, index: p.funding.vout, sequence: 0xffffffff });
  for (const o of outputs) tx.addOutput({ script: o.script, amount: o.amountSat });
  return { tx, witnessScript: fundingScript(p.localFundingPubkey, p.remoteFundingPubkey), amountSat: p.funding.amountSat, outputs };
}

function sighash(c: ClosingTx): Uint8Array {
  return c.tx.preimageWitnessV0(0, c.witnessScript, SIGHASH_ALL, c.amountSat);
}

export function signClosingTx(c: ClosingTx, fundingPrivkey: Uint8Array): Buffer {
  return secp.sign(sighash(c), fundingPrivkey);
}

export function verifyClosingSig(c: ClosingTx, pubkey: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    return secp.verify(sighash(c), pubkey, sig);
  } catch {
    return false;
  }
}

export function serializeSignedClosingTx(c: ClosingTx, localPubkey: Buffer, remotePubkey: Buffer, localSig: Buffer, remoteSig: Buffer): { txid: string; hex: string } {
  const l = witnessSignature(localSig, SIGHASH_ALL);
  const r = witnessSignature(remoteSig, SIGHASH_ALL);
  const [s1, s2] = Buffer.compare(localPubkey, remotePubkey) <= 0 ? [l, r] : [r, l];
  const tx = c.tx.clone();
  tx.updateInput(0, { finalScriptWitness: [new Uint8Array(0), s1, s2, c.witnessScript] }, true);
  return { txid: tx.id, hex: Buffer.from(tx.toBytes(true, true)).toString('hex') };
}

/** Weight of a closing transaction with these output scripts (signatures at their largest). */
export function closingWeight(localScript: Buffer, remoteScript: Buffer): number {
  // version 4, marker/flag, in count 1, input 41, out count 1, outputs 8+1+len, locktime 4 (non-witness ×4)
  const base = 4 + 1 + 41 + 1 + (8 + 1 + localScript.length) + (8 + 1 + remoteScript.length) + 4;
  // witness: count 1, empty 1, two sigs 1+73 each, script 1+71, marker+flag 2
  const witness = 2 + 1 + 1 + 74 + 74 + 1 + 71;
  return base * 4 + witness;
}

/** BOLT 2 shutdown scripts: P2PKH, P2SH, P2WPKH, P2WSH, or a witness program v1–16 (shutdown_anysegwit). */
export function isStandardShutdownScript(s: Buffer): boolean {
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 0x14 && s[23] === 0x88 && s[24] === 0xac) return true;
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 0x14 && s[22] === 0x87) return true;
  if (s.length === 22 && s[0] === 0x00 && s[1] === 0x14) return true;
  if (s.length === 34 && s[0] === 0x00 && s[1] === 0x20) return true;
  if (s.length >= 4 && s.length <= 42 && s[0]! >= 0x51 && s[0]! <= 0x60 && s[1] === s.length - 2) return true;
  return false;
}
