/**
 * The sweeper's fee decisions, pure: which outputs go together (grouped by deadline, as LND's sweeper
 * does), what feerate a group starts at (the backend's estimate for the blocks left), and how the
 * feerate rises as the deadline nears — linearly from the start to the group's budget (half the value
 * swept), reached one block before the deadline (LND's linear fee function). A replacement must pay at
 * least one sat/vbyte more than what it replaces (BIP 125 rule 4 over a transaction of the same size).
 */
import { MIN_FEERATE_PER_KW } from '../fee-policy.js';
import type { OnchainOutput, OnchainSweep } from '../state.js';

/** The confirmation target of outputs with no deadline (the backend's 'normal'). */
export const NO_DEADLINE_TARGET = 6;
/** The smallest feerate increase of a replacement, sat/kw: 1 sat/vbyte (BIP 125 rule 4 for an equal size). */
export const BUMP_STEP_PER_KW = 250n;
/** A wallet fee input for a CPFP child is sized for the package at this multiple of the estimate: room for RBF bumps of the child (its change returns to the wallet). */
export const BUMP_ROOM = 2n;
/** Of the value a group sweeps, the share it may spend on fees at its deadline. */
export const BUDGET_SHARE = 2n;

export type FeeFunction = NonNullable<OnchainSweep['fee']>;

/**
 * Due outputs in sweep groups: one per deadline (earliest first); outputs without a deadline ride with
 * the earliest group when there is one (a penalty takes our to_remote along), else form their own. The
 * output of a cheater's second-stage HTLC transaction (its deadline later than the penalty's) joins the
 * earliest group too when there is one: one penalty rather than two.
 */
export function groupByDeadline(outs: readonly OnchainOutput[]): { deadline?: number; outputs: OnchainOutput[] }[] {
  const byDeadline = new Map<number, OnchainOutput[]>();
  const free: OnchainOutput[] = [];
  const riders: OnchainOutput[] = [];
  for (const o of outs) {
    if (o.deadline === undefined) free.push(o);
    else if (o.what === 'htlc_second_stage_revoked') riders.push(o);
    else byDeadline.set(o.deadline, [...(byDeadline.get(o.deadline) ?? []), o]);
  }
  const groups: { deadline?: number; outputs: OnchainOutput[] }[] = [...byDeadline.entries()].sort((a, b) => a[0] - b[0]).map(([deadline, outputs]) => ({ deadline, outputs }));
  if (groups.length > 0) groups[0]!.outputs.push(...riders);
  else if (riders.length > 0) groups.push({ deadline: Math.min(...riders.map((o) => o.deadline!)), outputs: riders });
  if (free.length === 0) return groups;
  if (groups.length > 0) groups[0]!.outputs.push(...free);
  else groups.push({ outputs: free });
  return groups;
}

/** The confirmation target for a sweep built at `height` (the next block is height + 1) that must confirm by `deadline`. */
export function targetBlocks(height: number, deadline: number | undefined): number {
  if (deadline === undefined) return NO_DEADLINE_TARGET;
  return Math.max(1, deadline - height - 1);
}

/** The fee function of a group worth `valueSat` in a sweep of `weight`, starting at `startPerKw` at `height`. */
export function feeFunction(height: number, deadline: number, startPerKw: bigint, valueSat: bigint, weight: number): FeeFunction {
  const start = startPerKw < MIN_FEERATE_PER_KW ? MIN_FEERATE_PER_KW : startPerKw;
  const budgetPerKw = (valueSat * 1000n) / BUDGET_SHARE / BigInt(weight);
  return { from: height, deadline, startPerKw: start, maxPerKw: budgetPerKw > start ? budgetPerKw : start };
}

/** The feerate `f` asks for a sweep built at `height`: the budget from the block before the deadline on. */
export function feerateAt(f: FeeFunction, height: number): bigint {
  const span = f.deadline - 1 - f.from;
  if (span <= 0 || height >= f.deadline - 1) return f.maxPerKw;
  if (height <= f.from) return f.startPerKw;
  return f.startPerKw + ((f.maxPerKw - f.startPerKw) * BigInt(height - f.from)) / BigInt(span);
}

/** The feerate to replace a sweep paying `currentPerKw` with, at `height`, or null when no bump is due. */
export function bumpTo(f: FeeFunction, currentPerKw: bigint, height: number): bigint | null {
  const want = feerateAt(f, height);
  return want >= currentPerKw + BUMP_STEP_PER_KW ? want : null;
}
