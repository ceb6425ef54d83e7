/**
 * The `status` lines of a channel closed on chain, in lightningd's words (its onchaind "billboard"): what
 * the funding spend was ("ONCHAIN:Tracking our own unilateral close", …), then the output whose
 * resolution comes next — "ONCHAIN:N outputs unresolved: in K blocks will spend DELAYED_OUTPUT_TO_US
 * (txid:vout) using OUR_DELAYED_RETURN_TO_WALLET", "…: waiting confirmation that we spent …" once it is
 * due — or, when every output is resolved, "ONCHAIN:All outputs resolved: waiting N more blocks before
 * forgetting channel". Counts as lightningd's: the funding output and each tracked output not yet
 * irrevocably resolved (resolved by a transaction 100 blocks deep, BOLT 5).
 */
import { unresolvedOutputs } from '../../../node/core/channels.js';
import type { ChannelData, OnchainOutput } from '../../../channel/state.js';

/** BOLT 5: an output is irrevocably resolved once its resolving transaction is this deep. */
const IRREVOCABLE_DEPTH = 100;

const TRACKING: Record<Exclude<NonNullable<ChannelData['onchain']>['kind'], 'unknown'>, string> = {
  mutual: 'Tracking mutual close transaction',
  local: 'Tracking our own unilateral close',
  remote: 'Tracking their unilateral close',
  revoked: 'Tracking their illegal close: taking all funds',
};

/** lightningd's words for a commitment it does not know: whether an output of ours was found on it. */
const UNKNOWN_RECOVERING = 'ERROR: Unknown commitment, recovering our funds!';
const UNKNOWN_LOST = 'ERROR: FUNDS LOST.  Unknown commitment!';

/**
 * The channel's outputs onchaind would track: not the wallet's inputs that pay our anchors HTLC
 * transactions' fees (`fee_input`), which lightningd spends from its wallet and onchaind never sees.
 */
const channelOutputs = (outputs: readonly OnchainOutput[]): OnchainOutput[] => outputs.filter((o) => o.what !== 'fee_input');

/** lightningd's output type and the transaction type it resolves the output with, for each of our plans. */
const NAMES: Record<string, [output: string, tx: string]> = {
  to_local_delayed: ['DELAYED_OUTPUT_TO_US', 'OUR_DELAYED_RETURN_TO_WALLET'],
  htlc_delayed: ['DELAYED_OUTPUT_TO_US', 'OUR_DELAYED_RETURN_TO_WALLET'],
  p2wpkh: ['OUTPUT_TO_US', 'OUR_DELAYED_RETURN_TO_WALLET'],
  to_remote_anchors: ['OUTPUT_TO_US', 'OUR_DELAYED_RETURN_TO_WALLET'],
  to_local_revoked: ['DELAYED_CHEAT_OUTPUT_TO_THEM', 'OUR_PENALTY_TX'],
  // A revoked HTLC the cheater offered (OUR_HTLC when we offered it: see namesOf).
  htlc_revoked: ['THEIR_HTLC', 'OUR_PENALTY_TX'],
  htlc_second_stage_revoked: ['DELAYED_CHEAT_OUTPUT_TO_THEM', 'OUR_PENALTY_TX'],
  htlc_timeout_tx: ['OUR_HTLC', 'OUR_HTLC_TIMEOUT_TX'],
  htlc_success_tx: ['THEIR_HTLC', 'OUR_HTLC_SUCCESS_TX'],
  htlc_timeout_remote: ['OUR_HTLC', 'OUR_HTLC_TIMEOUT_TO_US'],
  htlc_success_remote: ['THEIR_HTLC', 'THEIR_HTLC_FULFILL_TO_US'],
};

/** As lightningd names the output: a revoked HTLC by the side that offered it (plans written before that was recorded: THEIR_HTLC). */
function namesOf(o: OnchainOutput): [string, string] {
  if (o.what === 'htlc_revoked' && o.htlc?.offeredByUs) return ['OUR_HTLC', 'OUR_PENALTY_TX'];
  return NAMES[o.what] ?? ['OUTPUT_TO_US', 'OUR_DELAYED_RETURN_TO_WALLET'];
}

/** The on-chain status lines of `d` at block `height` (none before the funding output is spent). */
export function onchainStatus(d: ChannelData, height: number): string[] {
  const oc = d.onchain;
  if (!oc) return [];
  const outputs = channelOutputs(oc.outputs ?? []);
  const lines = [`ONCHAIN:${oc.kind === 'unknown' ? (outputs.length > 0 ? UNKNOWN_RECOVERING : UNKNOWN_LOST) : TRACKING[oc.kind]}`];
  const depth = (at: number): number => height - at + 1;
  // The funding output (resolved by the spend) and each output until what resolved it is 100 deep.
  const unresolved = (depth(oc.height) < IRREVOCABLE_DEPTH ? 1 : 0) + outputs.filter((o) => o.abandoned === undefined && (o.spentBy === undefined || depth(o.spentBy.height) < IRREVOCABLE_DEPTH)).length;
  const open = channelOutputs(unresolvedOutputs(d));
  if (open.length > 0) {
    const best = open.reduce((a, b) => (b.notBefore < a.notBefore ? b : a));
    const [output, tx] = namesOf(best);
    const outpoint = `${best.txid ?? oc.spendTxid}:${best.vout}`;
    // lightningd: the proposal's depth less the output's (notBefore is the first block it may confirm in).
    const blocks = best.notBefore - height - 1;
    lines.push(
      blocks <= 0
        ? `ONCHAIN:${unresolved} outputs unresolved: waiting confirmation that we spent ${output} (${outpoint}) using ${tx}`
        : `ONCHAIN:${unresolved} outputs unresolved: in ${blocks} blocks will spend ${output} (${outpoint}) using ${tx}`,
    );
    return lines;
  }
  const last = Math.max(oc.height, ...outputs.map((o) => o.spentBy?.height ?? oc.height));
  lines.push(`ONCHAIN:All outputs resolved: waiting ${Math.max(0, IRREVOCABLE_DEPTH - depth(last))} more blocks before forgetting channel`);
  return lines;
}
