/**
 * What a spend of the funding output means, and what to do with each output it leaves us: a mutual
 * close leaves nothing to do; our own commitment leaves our to_local after the peer's delay; the peer's
 * current commitment leaves our to_remote (at once, or one block later with anchors); a revoked one
 * leaves every output, taken with the revocation key at once.
 *
 * Pure decisions over the channel's state; the sweeper acts on them. Second-stage HTLC resolution adds
 * its decisions here.
 */
import { buildCommitment } from '../commitments.js';
import type { ChannelKeys } from '../signer.js';
import { decodeRevocation, type ChannelData, type OnchainState, type RemoteCommit } from '../state.js';
import type { ChannelDataRepository } from '../../store/channel-data.js';
import { delayedToLocalInput, penaltyInputs, toRemoteInput, type SweepInput } from './sweep.js';

export type PendingOutput = OnchainState['pending'][number];

export interface FundingSpendResolution {
  kind: OnchainState['kind'];
  /** Outputs to sweep now: our to_remote, or every output of a revoked commitment. */
  inputs: SweepInput[];
  /** Outputs to sweep once their delay has passed. */
  pending: PendingOutput[];
  /** The commitment number, when a revoked one was published. */
  revokedIndex?: bigint;
}

/** Classifies `spendTxid`, a transaction spending `d`'s funding output confirmed at `height`. */
export async function resolveFundingSpend(d: ChannelData, keys: ChannelKeys, spendTxid: string, height: number, revocations: Pick<ChannelDataRepository, 'findRevocation'>): Promise<FundingSpendResolution> {
  if (d.closing?.txid === spendTxid || d.closing?.simple?.txids.includes(spendTxid)) return { kind: 'mutual', inputs: [], pending: [] };
  if (d.localCommit.txid === spendTxid) {
    const c = buildCommitment(d, 'local', d.localCommit.index, keys.point(d.localCommit.index), d.localCommit.spec);
    const pending = c.outputs.some((o) => o.kind === 'to_local') ? [{ what: 'to_local', notBefore: height + d.remote.toSelfDelay }] : [];
    return { kind: 'local', inputs: [], pending };
  }
  const rev = await revocations.findRevocation(spendTxid);
  if (rev) {
    const { commit, secret } = decodeRevocation(rev.data);
    const c = buildCommitment(d, 'remote', commit.index, commit.point, commit.spec);
    const inputs = penaltyInputs({ commitment: c, txid: spendTxid, revocationPrivkey: keys.revocationPrivkey(secret), toRemotePrivkey: keys.paymentBaseSecret });
    return { kind: 'revoked', inputs, pending: [], revokedIndex: commit.index };
  }
  const current = remoteCommits(d).find((r) => r.txid === spendTxid);
  if (!current) return { kind: 'unknown', inputs: [], pending: [] };
  const c = buildCommitment(d, 'remote', current.index, current.point, current.spec);
  const i = toRemoteInput({ commitment: c, txid: spendTxid, privkey: keys.paymentBaseSecret });
  // With anchors, to_remote carries a 1-block CSV.
  if (i?.kind === 'to_remote_anchors') return { kind: 'remote', inputs: [], pending: [{ what: 'to_remote', notBefore: height + 1 }] };
  return { kind: 'remote', inputs: i ? [i] : [], pending: [] };
}

/** The sweep input of a pending output whose delay has passed, or null when there is nothing to take. */
export function pendingInput(d: ChannelData, keys: ChannelKeys, p: PendingOutput): SweepInput | null {
  const spendTxid = d.onchain!.spendTxid;
  if (p.what === 'to_local') {
    const point = keys.point(d.localCommit.index);
    const c = buildCommitment(d, 'local', d.localCommit.index, point, d.localCommit.spec);
    return delayedToLocalInput({ commitment: c, txid: spendTxid, delayedPrivkey: keys.delayedPrivkey(point) });
  }
  if (p.what === 'to_remote') {
    const r = remoteCommits(d).find((x) => x.txid === spendTxid);
    if (r) return toRemoteInput({ commitment: buildCommitment(d, 'remote', r.index, r.point, r.spec), txid: spendTxid, privkey: keys.paymentBaseSecret });
  }
  return null;
}

/** The peer's commitments that may be published without a revocation: the current one and the one we signed next. */
function remoteCommits(d: ChannelData): RemoteCommit[] {
  return [d.remoteCommit, d.nextRemoteCommit].filter((x): x is RemoteCommit => x !== undefined);
}
