/**
 * The cooperative close's fee negotiation (BOLT 2 `closing_signed` with `fee_range`), as pure decisions
 * the Channel carries out: which fee and range we propose, and what to do with the peer's proposal.
 *
 * - Our range covers both the commitment's feerate and our estimate: from the relay floor up to the larger
 *   of three times the fee at our estimate (LND's multiplier) and the fee at the commitment's feerate plus
 *   a margin (LDK's rule: a unilateral close would cost at least that). The opener pays, never more than
 *   its balance. The non-opener pays
 *   nothing, so it accepts anything from the relay floor up to all the opener has (BOLT 2: its
 *   max_fee_satoshis at least the opener's).
 * - Their proposal with a range: any fee inside the intersection of the two ranges is accepted (we reply
 *   with the same fee); the non-opener that has not proposed yet counters a fee outside with one inside;
 *   a fee outside the intersection after that is a protocol violation. Without a range (legacy peers):
 *   accept it inside our range, otherwise counter between our proposal and theirs.
 * - The negotiation restarts after every reconnection (the Channel forgets both proposals).
 */
import { buildClosingTx, closingWeight, isStandardShutdownScript, verifyClosingSig, type ClosingTx } from './closing.js';
import { MIN_FEERATE_PER_KW } from './fee-policy.js';
import { isOpReturnCloseScript } from './simple-close.js';
import type { ChannelData } from './state.js';

/** What the opener adds to the fee at the commitment's feerate for its highest closing fee (LDK's default force_close_avoidance_max_fee_satoshis). */
export const CLOSING_MARGIN_SAT = 1000n;

export interface FeeRange {
  min: bigint;
  max: bigint;
}

export interface CloseTerms {
  opener: boolean;
  /** Our fee estimate for the close and the feerate of the current commitment. */
  estimatePerKw: bigint;
  commitPerKw: bigint;
  localScript: Buffer;
  remoteScript: Buffer;
  /** What the opener has in the channel (whole satoshis): no fee can exceed it. */
  openerBalanceSat: bigint;
}

/** The terms of `d`'s close with our current estimate (both shutdown scripts known). */
export function closeTerms(d: ChannelData, estimatePerKw: bigint): CloseTerms {
  const spec = d.localCommit.spec;
  const opener = d.opener === 'local';
  return {
    opener,
    estimatePerKw,
    commitPerKw: spec.feeratePerKw,
    localScript: d.closing!.localScript!,
    remoteScript: d.closing!.remoteScript!,
    openerBalanceSat: (opener ? spec.toLocalMsat : spec.toRemoteMsat) / 1000n,
  };
}

/** `d`'s closing transaction paying `feeSat` (from the opener's side), on the balances of our current commitment. */
export function closingTxFor(d: ChannelData, feeSat: bigint): ClosingTx {
  const spec = d.localCommit.spec;
  return buildClosingTx({
    funding: { txid: d.funding.txid, vout: d.funding.vout, amountSat: d.fundingSat },
    localFundingPubkey: d.local.fundingPubkey,
    remoteFundingPubkey: d.remote.fundingPubkey,
    localScript: d.closing!.localScript!,
    remoteScript: d.closing!.remoteScript!,
    toLocalMsat: spec.toLocalMsat,
    toRemoteMsat: spec.toRemoteMsat,
    localDustLimitSat: d.local.dustLimitSat,
    remoteDustLimitSat: d.remote.dustLimitSat,
    opener: d.opener,
    feeSat,
  });
}

/** Why the peer's shutdown script is refused (BOLT 2; an OP_RETURN only under option_simple_close), or undefined. */
export function shutdownScriptError(d: ChannelData, script: Buffer, simpleClose = false): string | undefined {
  if (!isStandardShutdownScript(script) && !(simpleClose && isOpReturnCloseScript(script))) return `shutdown: script ${script.toString('hex')} is not a standard output script`;
  const upfront = d.remote.upfrontShutdownScript;
  if (upfront && upfront.length > 0 && !upfront.equals(script)) return 'shutdown: script differs from upfront_shutdown_script';
  return undefined;
}

/** The closing transaction the peer signed for `feeSat`, or why it is refused. */
export function theirClosingTx(d: ChannelData, feeSat: bigint, sig: Buffer): ClosingTx | string {
  let tx: ClosingTx;
  try {
    tx = closingTxFor(d, feeSat);
  } catch {
    return `closing_signed: fee ${feeSat} sat is more than the opener has`;
  }
  return verifyClosingSig(tx, d.remote.fundingPubkey, sig) ? tx : 'closing_signed: bad signature';
}

/** Our proposal: the fee we offer (our estimate, inside our range) and the range we accept. */
export function ourProposal(t: CloseTerms): { fee: bigint; range: FeeRange } {
  const weight = BigInt(closingWeight(t.localScript, t.remoteScript));
  const fee = (perKw: bigint): bigint => (perKw * weight) / 1000n;
  const cap = t.openerBalanceSat;
  const min = minOf(fee(MIN_FEERATE_PER_KW), cap);
  const byEstimate = 3n * fee(t.estimatePerKw);
  const byCommitment = fee(t.commitPerKw) + CLOSING_MARGIN_SAT;
  const max = t.opener ? clamp(byEstimate > byCommitment ? byEstimate : byCommitment, min, cap) : cap;
  return { fee: clamp(fee(t.estimatePerKw), min, max), range: { min, max } };
}

export type CloseDecision =
  /** Sign their fee (reply with it unless it is what we last sent) and publish. */
  | { kind: 'accept' }
  /** Send this fee instead. */
  | { kind: 'counter'; fee: bigint }
  /** No fee both accept: tell the peer, keep waiting for another proposal. */
  | { kind: 'disagree'; reason: string }
  /** The peer broke the negotiation rules: fail the channel. */
  | { kind: 'fail'; reason: string };

/** What to do with the peer's `closing_signed` for `fee` (with their range, if any), given what we last sent. */
export function decide(t: CloseTerms, theirs: { fee: bigint; range?: FeeRange }, ourLastFee: bigint | undefined): CloseDecision {
  const ours = ourProposal(t);
  const fee = theirs.fee;
  if (fee === ourLastFee) return { kind: 'accept' };
  const r = theirs.range;
  if (!r) {
    if (fee >= ours.range.min && fee <= ours.range.max) return { kind: 'accept' };
    // Legacy negotiation: strictly between our last offer and theirs, moving towards theirs.
    const last = ourLastFee ?? ours.fee;
    const mid = (last + fee) / 2n;
    return { kind: 'counter', fee: mid === last ? fee : mid };
  }
  if (r.min > r.max || fee < r.min || fee > r.max) return { kind: 'fail', reason: `closing_signed: fee ${fee} sat outside its own fee_range ${r.min}..${r.max}` };
  const lo = ours.range.min > r.min ? ours.range.min : r.min;
  const hi = ours.range.max < r.max ? ours.range.max : r.max;
  if (lo > hi) return { kind: 'disagree', reason: `Unable to agree on a closing fee: ours ${ours.range.min}..${ours.range.max} sat, theirs ${r.min}..${r.max} sat` };
  if (fee >= lo && fee <= hi) return { kind: 'accept' };
  // Outside the intersection: the opener's fee ends the negotiation; only a non-opener that has not proposed yet counters.
  if (t.opener || ourLastFee !== undefined) return { kind: 'fail', reason: `closing_signed: fee ${fee} sat outside the agreed range ${lo}..${hi}` };
  return { kind: 'counter', fee: clamp(ours.fee, lo, hi) };
}

function clamp(x: bigint, lo: bigint, hi: bigint): bigint {
  return x < lo ? lo : x > hi ? hi : x;
}

function minOf(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
