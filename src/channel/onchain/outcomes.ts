/**
 * What became of the HTLCs we offered once the channel went on chain, for the payment sender (and the
 * forwarding switch): pure decisions over the channel's state, asked once per block by the sweeper.
 *
 * - **Fulfilled on chain**: the other side spent an HTLC output of ours with the preimage (their
 *   HTLC-success transaction on their commitment, a direct claim on ours, or a cheater's second stage on
 *   a revoked one). The sweeper writes the preimage with the spend ({@link witnessPreimage}), so the
 *   outcome is read again from the state after a restart.
 * - **Timed out on chain**: our HTLC-timeout transaction (or direct timeout claim) confirmed
 *   {@link ONCHAIN_FINAL_DEPTH} deep.
 * - **Never on chain**: an HTLC in no output of the commitment that confirmed (trimmed as dust, or only in
 *   the other commitment), once that commitment is {@link ONCHAIN_FINAL_DEPTH} deep.
 * - **Not worth claiming**: an output the sweeper abandoned (its value below the fee of our timeout claim):
 *   failed once the commitment is {@link ONCHAIN_FINAL_DEPTH} deep and the HTLC's expiry has passed, as
 *   LND and LDK fail back an HTLC they will not claim on chain.
 * - **Revoked commitment**: every output is ours by revocation; an HTLC the cheater did not fulfil with
 *   its preimage fails as soon as its own output is resolved: our revocation claim of it (or of the
 *   cheater's second stage spending it) {@link ONCHAIN_FINAL_DEPTH} deep. (Plans written before outputs
 *   named their HTLC: once every output is resolved and the last spend is deep enough.)
 */
import { RawTx } from '@scure/btc-signer';
import { sha256 } from '../../crypto/hash.js';
import { buildCommitment } from '../commitments.js';
import type { ChannelKeys } from '../signer.js';
import type { ChannelData, CommitmentSpec, OnchainOutput, OnchainState } from '../state.js';

/**
 * Confirmations after which an on-chain resolution is final for the payment: LDK's ANTI_REORG_DELAY
 * (6); before it a reorganisation may still undo the timeout and let the peer claim with the preimage.
 */
export const ONCHAIN_FINAL_DEPTH = 6;

/** The outputs that hold an HTLC we offered, as the resolver plans them (on our, their or a revoked commitment). */
export const OFFERED_HTLC_OUTPUTS = new Set(['htlc_timeout_tx', 'htlc_timeout_remote', 'htlc_revoked']);

export type OfferedHtlcOutcome = { id: bigint; preimage: Buffer } | { id: bigint; failure: string };

/**
 * The preimage among the witness items of input `input` of transaction `raw` that hashes to one of
 * `hashes` (hex), or undefined (no such item, or bytes that are not a transaction).
 */
export function witnessPreimage(raw: Uint8Array, input: number, hashes: ReadonlySet<string>): Buffer | undefined {
  let items: Uint8Array[] | undefined;
  try {
    items = RawTx.decode(raw).witnesses?.[input];
  } catch {
    return undefined;
  }
  for (const w of items ?? []) if (w.length === 32 && hashes.has(sha256(w).toString('hex'))) return Buffer.from(w);
  return undefined;
}

/** The HTLCs we offered in any current commitment (ours: offered; theirs: received), by id. */
export function offeredHtlcs(d: ChannelData): Map<bigint, { paymentHash: Buffer; amountMsat: bigint; cltvExpiry: number }> {
  const m = new Map<bigint, { paymentHash: Buffer; amountMsat: bigint; cltvExpiry: number }>();
  const add = (spec: CommitmentSpec, direction: 'offered' | 'received'): void => {
    for (const h of spec.htlcs) if (h.direction === direction) m.set(h.add.id, { paymentHash: Buffer.from(h.add.paymentHash), amountMsat: h.add.amountMsat, cltvExpiry: h.add.cltvExpiry });
  };
  add(d.localCommit.spec, 'offered');
  add(d.remoteCommit.spec, 'received');
  if (d.nextRemoteCommit) add(d.nextRemoteCommit.spec, 'received');
  return m;
}

/** The outcome, at `height`, of each HTLC we offered that the on-chain resolution of `d` has settled. */
export function offeredHtlcOutcomes(d: ChannelData, keys: ChannelKeys, height: number): OfferedHtlcOutcome[] {
  const oc = d.onchain;
  if (!oc?.outputs || (oc.kind !== 'local' && oc.kind !== 'remote' && oc.kind !== 'revoked')) return [];
  const offered = offeredHtlcs(d);
  if (offered.size === 0) return [];
  const deep = (h: number): boolean => height - h + 1 >= ONCHAIN_FINAL_DEPTH;
  // Preimages the other side revealed on chain, by payment hash.
  const revealed = new Map<string, Buffer>();
  for (const o of oc.outputs) if (o.spentBy?.preimage) revealed.set(sha256(Buffer.from(o.spentBy.preimage, 'hex')).toString('hex'), Buffer.from(o.spentBy.preimage, 'hex'));
  // Which commitment output holds each HTLC (none: trimmed, or not in the commitment that confirmed).
  const vouts = new Map<bigint, number>();
  const commit = oc.kind === 'local' ? { owner: 'local' as const, c: d.localCommit, point: keys.point(d.localCommit.index) } : [d.remoteCommit, d.nextRemoteCommit].filter((x) => x?.txid === oc.spendTxid).map((x) => ({ owner: 'remote' as const, c: x!, point: x!.point }))[0];
  if (commit) {
    const c = buildCommitment(d, commit.owner, commit.c.index, commit.point, commit.c.spec);
    c.outputs.forEach((out, vout) => {
      const h = out.htlcIndex === undefined ? undefined : commit.c.spec.htlcs[out.htlcIndex];
      if (h && h.direction === (commit.owner === 'local' ? 'offered' : 'received')) vouts.set(h.add.id, vout);
    });
  }
  const out: OfferedHtlcOutcome[] = [];
  for (const [id, h] of offered) {
    const preimage = revealed.get(h.paymentHash.toString('hex'));
    if (preimage) {
      out.push({ id, preimage });
      continue;
    }
    if (oc.kind === 'revoked') {
      const failure = revokedFailure(oc, id, height, deep);
      if (failure) out.push({ id, failure });
      continue;
    }
    const vout = vouts.get(id);
    if (vout === undefined) {
      if (deep(oc.height)) out.push({ id, failure: NOT_IN_COMMITMENT });
      continue;
    }
    const o = oc.outputs.find((x) => x.txid === undefined && x.vout === vout && OFFERED_HTLC_OUTPUTS.has(x.what));
    if (o?.spentBy?.ours && deep(o.spentBy.height)) out.push({ id, failure: 'HTLC timed out on chain' });
    // Its notBefore is the block after its expiry (or later, by our CSV): the timeout claim was due.
    else if (o?.abandoned !== undefined && !o.spentBy && deep(oc.height) && height >= o.notBefore) out.push({ id, failure: NOT_CLAIMED });
  }
  return out;
}

/**
 * Whether an abandoned output holding an HTLC we offered has not yet been decided for
 * {@link ONCHAIN_FINAL_DEPTH} blocks at `height` (its expiry may lie beyond the 100 blocks after which a
 * resolved channel is forgotten): the channel is kept, and the outcome told again each block, until then.
 */
export function abandonedOfferedPending(oc: OnchainState, height: number): boolean {
  return (oc.outputs ?? []).some((o) => {
    if (o.abandoned === undefined || o.spentBy || !OFFERED_HTLC_OUTPUTS.has(o.what)) return false;
    if (o.what === 'htlc_revoked' && !o.htlc?.offeredByUs) return false;
    const decided = o.htlc ? o.htlc.cltvExpiry + 1 : o.notBefore;
    return height < decided + ONCHAIN_FINAL_DEPTH;
  });
}

const NOT_IN_COMMITMENT = 'HTLC not in the commitment that confirmed on chain (trimmed or not yet committed)';
const NOT_CLAIMED = 'HTLC output not worth claiming on chain (below the fee of the timeout claim): failed once expired';
const REVOKED = 'the peer published a revoked commitment: HTLC not fulfilled on chain';

/**
 * Why HTLC `id` we offered has failed on the revoked commitment `oc` (no preimage revealed), or undefined
 * while it may still be claimed (at block `height`): its own output taken by our revocation claim deep enough, or taken by the
 * cheater's second stage whose output we took (or another spend without the preimage, a tower's justice
 * transaction) deep enough; not in that commitment at all once it is final.
 */
function revokedFailure(oc: OnchainState, id: bigint, height: number, deep: (h: number) => boolean): string | undefined {
  const outputs = oc.outputs!;
  const htlcOutputs = outputs.filter((o) => o.what === 'htlc_revoked');
  if (htlcOutputs.some((o) => o.htlc === undefined)) {
    // A plan written before its outputs named their HTLC: once everything is resolved, deep enough.
    const resolved = outputs.every((o) => o.spentBy !== undefined || o.abandoned !== undefined);
    const lastSpend = Math.max(oc.height, ...outputs.map((o) => o.spentBy?.height ?? 0));
    return resolved && deep(lastSpend) ? REVOKED : undefined;
  }
  const o = htlcOutputs.find((x) => x.htlc!.offeredByUs && x.htlc!.id === id);
  if (!o) return deep(oc.height) ? NOT_IN_COMMITMENT : undefined;
  if (o.spentBy?.ours) return deep(o.spentBy.height) ? REVOKED : undefined;
  if (o.spentBy) {
    const second: OnchainOutput | undefined = outputs.find((x) => x.what === 'htlc_second_stage_revoked' && x.txid === o.spentBy!.txid && x.fromVout === o.vout);
    if (!second) return deep(o.spentBy.height) ? REVOKED : undefined;
    if (second.spentBy?.ours) return deep(second.spentBy.height) ? REVOKED : undefined;
    return second.abandoned !== undefined && deep(o.spentBy.height) ? REVOKED : undefined;
  }
  return o.abandoned !== undefined && deep(oc.height) && height > o.htlc!.cltvExpiry ? NOT_CLAIMED : undefined;
}
