/**
 * What a channel can still carry in one more HTLC, for the sender (`pay`'s split across channels) and
 * `listpeerchannels`' `spendable_msat`/`receivable_msat`.
 */
import { ANCHOR_OUTPUT_SAT, commitmentFeeSat, hasAnchors } from '../channel/commitment.js';
import { untrimmedCount } from '../channel/commitments.js';
import type { ChannelData } from '../channel/state.js';

const max0 = (v: bigint): bigint => (v < 0n ? 0n : v);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * What one side could still offer in one more HTLC on our current commitment: its balance less the
 * reserve the other side requires, less (when it is the opener) the commitment fee with one more HTLC
 * output and the anchors, capped by the other side's in-flight limit. An estimate, as lightningd's.
 */
export function sendable(d: ChannelData, side: 'local' | 'remote'): bigint {
  const spec = d.localCommit.spec;
  const balance = side === 'local' ? spec.toLocalMsat : spec.toRemoteMsat;
  // The reserve the *other* side requires of this one.
  const reserveMsat = (side === 'local' ? d.remote : d.local).channelReserveSat * 1000n;
  // The opener pays the commitment fee (with one more HTLC output) and the anchors.
  const fee =
    d.opener === side
      ? (commitmentFeeSat(spec.feeratePerKw, untrimmedCount(d, spec, d.local.dustLimitSat) + 1, d.format) + (hasAnchors(d.format) ? 2n * ANCHOR_OUTPUT_SAT : 0n)) * 1000n
      : 0n;
  const limit = (side === 'local' ? d.remote : d.local).maxHtlcValueInFlightMsat;
  return min(max0(balance - reserveMsat - fee), limit);
}

