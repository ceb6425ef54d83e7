/**
 * What a spend of the funding output means, and the plan for each output it leaves us: a mutual close
 * leaves nothing to do; our own commitment leaves our to_local after the peer's delay; the peer's
 * current commitment leaves our to_remote (at once, or one block later with anchors); a revoked one
 * leaves every output, taken with the revocation key before the cheater's delay ends (the deadline).
 *
 * Pure decisions over the channel's state; the sweeper persists the plan and acts on it. The sweep
 * inputs (with their keys) are derived again from the plan whenever a sweep is built, so nothing secret
 * is written with it. Second-stage HTLC resolution adds its decisions here.
 */
import { buildCommitment } from '../commitments.js';
import type { ChannelKeys } from '../signer.js';
import { decodeRevocation, type ChannelData, type OnchainOutput, type OnchainState, type RemoteCommit } from '../state.js';
import type { ChannelDataRepository } from '../../store/channel-data.js';
import { delayedToLocalInput, penaltyInputs, toRemoteInput, type SweepInput } from './sweep.js';

export interface FundingSpendResolution {
  kind: OnchainState['kind'];
  /** Every output we take, with when it may be swept and by when it must be. */
  outputs: OnchainOutput[];
  /** The commitment number, when a revoked one was published. */
  revokedIndex?: bigint;
}

type Revocations = Pick<ChannelDataRepository, 'findRevocation'>;

/** The sweep inputs of `spendTxid`'s outputs we can take (keys included), or null when it is not a commitment we know. */
async function inputsOf(d: ChannelData, keys: ChannelKeys, spendTxid: string, revocations: Revocations): Promise<{ kind: OnchainState['kind']; inputs: SweepInput[]; revokedIndex?: bigint } | null> {
  if (d.closing?.txid === spendTxid) return { kind: 'mutual', inputs: [] };
  if (d.localCommit.txid === spendTxid) {
    const point = keys.point(d.localCommit.index);
    const c = buildCommitment(d, 'local', d.localCommit.index, point, d.localCommit.spec);
    const i = delayedToLocalInput({ commitment: c, txid: spendTxid, delayedPrivkey: keys.delayedPrivkey(point) });
    return { kind: 'local', inputs: i ? [i] : [] };
  }
  const rev = await revocations.findRevocation(spendTxid);
  if (rev) {
    const { commit, secret } = decodeRevocation(rev.data);
    const c = buildCommitment(d, 'remote', commit.index, commit.point, commit.spec);
    const inputs = penaltyInputs({ commitment: c, txid: spendTxid, revocationPrivkey: keys.revocationPrivkey(secret), toRemotePrivkey: keys.paymentBaseSecret });
    return { kind: 'revoked', inputs, revokedIndex: commit.index };
  }
  const current = remoteCommits(d).find((r) => r.txid === spendTxid);
  if (!current) return null;
  const c = buildCommitment(d, 'remote', current.index, current.point, current.spec);
  const i = toRemoteInput({ commitment: c, txid: spendTxid, privkey: keys.paymentBaseSecret });
  return { kind: 'remote', inputs: i ? [i] : [] };
}

/** Classifies `spendTxid`, a transaction spending `d`'s funding output confirmed at `height`, and plans each output. */
export async function resolveFundingSpend(d: ChannelData, keys: ChannelKeys, spendTxid: string, height: number, revocations: Revocations): Promise<FundingSpendResolution> {
  const r = await inputsOf(d, keys, spendTxid, revocations);
  if (!r) return { kind: 'unknown', outputs: [] };
  const outputs = r.inputs.map((i): OnchainOutput => {
    const o: OnchainOutput = { vout: i.vout, what: i.kind, amountSat: i.amountSat, notBefore: height };
    // BIP 68: a relative lock of n blocks lets the sweep confirm n blocks after the commitment.
    if (i.kind === 'to_local_delayed') o.notBefore = height + i.csvDelay;
    if (i.kind === 'to_remote_anchors') o.notBefore = height + 1;
    // The cheater's outputs are theirs once the delay we asked of them has passed (HTLCs through their second stage).
    if (i.kind === 'to_local_revoked' || i.kind === 'htlc_revoked') o.deadline = height + d.local.toSelfDelay;
    return o;
  });
  return { kind: r.kind, outputs, ...(r.revokedIndex !== undefined ? { revokedIndex: r.revokedIndex } : {}) };
}

/** The sweep inputs (with keys) of the planned outputs `vouts` of the channel's funding spend. */
export async function plannedInputs(d: ChannelData, keys: ChannelKeys, vouts: readonly number[], revocations: Revocations): Promise<SweepInput[]> {
  const r = await inputsOf(d, keys, d.onchain!.spendTxid, revocations);
  const byVout = new Map((r?.inputs ?? []).map((i) => [i.vout, i]));
  return vouts.map((v) => byVout.get(v)).filter((i): i is SweepInput => i !== undefined);
}

/** The peer's commitments that may be published without a revocation: the current one and the one we signed next. */
function remoteCommits(d: ChannelData): RemoteCommit[] {
  return [d.remoteCommit, d.nextRemoteCommit].filter((x): x is RemoteCommit => x !== undefined);
}
