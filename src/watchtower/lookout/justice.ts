/**
 * From a matched (breach transaction, stored update) pair to a signed justice transaction, as LND's
 * `lookout.JusticeDescriptor` does it, plus the checks LND leaves to the script engine: decrypt the blob
 * with the breach key of the transaction's txid, rebuild the justice transaction from the kit and the
 * session's policy, check that every input spends an output of the breach transaction with the amount
 * and script it has there, and verify every signature. Pure: no I/O, no logging.
 */
import type { BlockTransaction } from '../../chain/block.js';
import { reverseHex } from '../../chain/block.js';
import { BlobError } from '../blob/errors.js';
import { breachKey } from '../blob/derivation.js';
import { decryptJusticeKit } from '../blob/blob.js';
import { BlobFlag, hasFlag } from '../blob/type.js';
import { JusticeError } from '../justice/errors.js';
import { buildJusticeTx, justiceTxid, serializeJusticeTx, verifyJusticeTx, type BreachTx, type JusticeTx } from '../justice/justice-tx.js';
import type { HintMatch } from './store.js';

/** A breach transaction as found in a block, in the shape the justice code wants. */
export function breachTxOf(tx: BlockTransaction): BreachTx {
  return {
    txid: Buffer.from(tx.txid, 'hex').reverse(),
    outputs: tx.outputs.map((o) => ({ script: Buffer.from(o.script), amountSat: o.valueSat })),
  };
}

export interface JusticeResult {
  ok: true;
  tx: JusticeTx;
  raw: Buffer;
  /** Display order hex. */
  txid: string;
}

export interface JusticeFailure {
  ok: false;
  /** Which step failed. */
  stage: 'decrypt' | 'build' | 'verify';
  /** BlobError / JusticeError code, or 'UNEXPECTED'. */
  code: string;
  message: string;
}

/** Throws JusticeError unless every input spends an output of `breach` with the amount and script it has there. */
export function checkSpendsBreach(tx: JusticeTx, breach: BreachTx): void {
  const seen = new Set<number>();
  for (const i of tx.inputs) {
    if (!i.txid.equals(breach.txid)) throw new JusticeError('INVALID', `justice: ${i.role} input does not spend the breach transaction`);
    const out = breach.outputs[i.index];
    if (!out) throw new JusticeError('OUTPUT_NOT_FOUND', `justice: ${i.role} input spends output ${i.index}, which the breach transaction does not have`);
    if (!out.script.equals(i.prevOut.script) || out.amountSat !== i.prevOut.amountSat)
      throw new JusticeError('INVALID', `justice: ${i.role} input's previous output differs from breach output ${i.index}`);
    if (seen.has(i.index)) throw new JusticeError('INVALID', `justice: breach output ${i.index} spent twice`);
    seen.add(i.index);
  }
  if (!tx.inputs.some((i) => i.role === 'to_local')) throw new JusticeError('OUTPUT_NOT_FOUND', 'justice: no to_local input');
}

/**
 * Decrypt, rebuild, check, verify. Never throws: a blob that is not for this transaction (false-positive
 * hint) or that does not make a valid justice transaction is a failure with its stage and code.
 */
export function makeJusticeTx(breach: BreachTx, match: HintMatch): JusticeResult | JusticeFailure {
  const fail = (stage: JusticeFailure['stage'], e: unknown): JusticeFailure => ({
    ok: false,
    stage,
    code: e instanceof BlobError || e instanceof JusticeError ? e.code : 'UNEXPECTED',
    message: e instanceof Error ? e.message : String(e),
  });
  let kit;
  try {
    kit = decryptJusticeKit(match.encryptedBlob, breachKey(breach.txid), match.policy.blobType);
  } catch (e) {
    return fail('decrypt', e);
  }
  let tx: JusticeTx;
  try {
    tx = buildJusticeTx({
      breach,
      kit,
      policy: match.policy,
      ...(hasFlag(match.policy.blobType, BlobFlag.Reward) ? { rewardScript: match.rewardScript } : {}),
    });
  } catch (e) {
    return fail('build', e);
  }
  try {
    checkSpendsBreach(tx, breach);
    verifyJusticeTx(tx);
    return { ok: true, tx, raw: serializeJusticeTx(tx), txid: reverseHex(justiceTxid(tx)) };
  } catch (e) {
    return fail('verify', e);
  }
}
