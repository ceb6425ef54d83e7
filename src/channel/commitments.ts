/**
 * Building, signing and checking both sides' commitment transactions from a channel's state.
 */
import { buildCommitmentTx, buildHtlcTxs, commitmentNumberObscurer, commitmentTxid, hasAnchors, isHtlcTrimmed, commitmentFeeSat, ANCHOR_OUTPUT_SAT, serializeSignedCommitmentTx, signCommitmentTx, signHtlcTxRemote, verifyCommitmentSig, verifyHtlcSigRemote, type CommitmentParams, type CommitmentTx } from './commitment.js';
import { deriveCommitmentKeys, type ChannelBasepoints, type CommitmentKeys } from './keys.js';
import type { ChannelKeys } from './signer.js';
import type { ChannelData, CommitmentSpec, Side, SideParams } from './state.js';

export function basepointsOf(p: SideParams): ChannelBasepoints {
  return {
    revocationBasepoint: p.revocationBasepoint,
    paymentBasepoint: p.paymentBasepoint,
    delayedPaymentBasepoint: p.delayedPaymentBasepoint,
    htlcBasepoint: p.htlcBasepoint,
  };
}

export function obscurerOf(d: ChannelData): bigint {
  const opener = d.opener === 'local' ? d.local : d.remote;
  const accepter = d.opener === 'local' ? d.remote : d.local;
  return commitmentNumberObscurer(opener.paymentBasepoint, accepter.paymentBasepoint);
}

/**
 * Derived commitment keys by (owner's basepoints, other's basepoints, point): every commitment is built
 * more than once (signing, checking, breach data) and the derivation (five point tweaks) costs more than
 * the signature. Bounded; entries are immutable.
 */
const keyCache = new Map<string, CommitmentKeys>();
const KEY_CACHE_SIZE = 256;

function cachedKeys(owner: ChannelBasepoints, other: ChannelBasepoints, point: Uint8Array): CommitmentKeys {
  const k = Buffer.concat([owner.revocationBasepoint, owner.paymentBasepoint, owner.delayedPaymentBasepoint, owner.htlcBasepoint, other.revocationBasepoint, other.paymentBasepoint, other.htlcBasepoint, point]).toString('base64');
  let keys = keyCache.get(k);
  if (!keys) {
    keys = deriveCommitmentKeys(owner, other, point, true);
    keyCache.set(k, keys);
    if (keyCache.size > KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  }
  return keys;
}

/** Parameters of the commitment owned by `owner`, number `index`, at the owner's per-commitment `point`. */
export function commitmentParams(d: ChannelData, owner: Side, index: bigint, point: Uint8Array, spec: CommitmentSpec): CommitmentParams {
  const ours = basepointsOf(d.local);
  const theirs = basepointsOf(d.remote);
  const mine = owner === 'local';
  return {
    format: d.format,
    funding: { txid: d.funding.txid, vout: d.funding.vout, amountSat: d.fundingSat },
    localFundingPubkey: mine ? d.local.fundingPubkey : d.remote.fundingPubkey,
    remoteFundingPubkey: mine ? d.remote.fundingPubkey : d.local.fundingPubkey,
    keys: mine ? cachedKeys(ours, theirs, point) : cachedKeys(theirs, ours, point),
    commitmentNumber: index,
    obscurer: obscurerOf(d),
    toSelfDelay: mine ? d.remote.toSelfDelay : d.local.toSelfDelay,
    dustLimitSat: mine ? d.local.dustLimitSat : d.remote.dustLimitSat,
    feeratePerKw: spec.feeratePerKw,
    opener: (d.opener === 'local') === mine ? 'local' : 'remote',
    toLocalMsat: spec.toLocalMsat,
    toRemoteMsat: spec.toRemoteMsat,
    htlcs: spec.htlcs.map((h) => ({ direction: h.direction, amountMsat: h.add.amountMsat, paymentHash: h.add.paymentHash, cltvExpiry: h.add.cltvExpiry })),
  };
}

export function buildCommitment(d: ChannelData, owner: Side, index: bigint, point: Uint8Array, spec: CommitmentSpec): CommitmentTx {
  return buildCommitmentTx(commitmentParams(d, owner, index, point, spec));
}

/** Our signatures for their commitment: the transaction and each HTLC transaction in output order. */
export function signRemoteCommitment(d: ChannelData, keys: ChannelKeys, index: bigint, point: Uint8Array, spec: CommitmentSpec): { tx: CommitmentTx; txid: string; sig: Buffer; htlcSigs: Buffer[] } {
  const tx = buildCommitment(d, 'remote', index, point, spec);
  const sig = signCommitmentTx(tx, keys.fundingPrivkey);
  const htlcKey = keys.htlcPrivkey(point);
  const htlcSigs = buildHtlcTxs(tx).map((t) => signHtlcTxRemote(t, htlcKey));
  return { tx, txid: commitmentTxid(tx), sig, htlcSigs };
}

/** Checks their signatures of our commitment number `index`; returns the transaction or a reason. */
export function checkLocalCommitment(d: ChannelData, keys: ChannelKeys, index: bigint, spec: CommitmentSpec, sig: Buffer, htlcSigs: Buffer[]): { tx: CommitmentTx; txid: string } | { error: string } {
  const tx = buildCommitment(d, 'local', index, keys.point(index), spec);
  if (!verifyCommitmentSig(tx, d.remote.fundingPubkey, sig)) return { error: `bad commitment signature for commitment ${index}` };
  const htlcTxs = buildHtlcTxs(tx);
  if (htlcTxs.length !== htlcSigs.length) return { error: `expected ${htlcTxs.length} HTLC signatures, got ${htlcSigs.length}` };
  for (let i = 0; i < htlcTxs.length; i++) {
    if (!verifyHtlcSigRemote(htlcTxs[i]!, tx.params.keys.remoteHtlcPubkey, htlcSigs[i]!)) return { error: `bad HTLC signature ${i} for commitment ${index}` };
  }
  return { tx, txid: commitmentTxid(tx) };
}

/** Our current commitment, fully signed, ready to publish. */
export function signedLocalCommitment(d: ChannelData, keys: ChannelKeys): { txid: string; hex: string; tx: CommitmentTx } {
  const tx = buildCommitment(d, 'local', d.localCommit.index, keys.point(d.localCommit.index), d.localCommit.spec);
  const ours = signCommitmentTx(tx, keys.fundingPrivkey);
  const raw = serializeSignedCommitmentTx(tx, ours, d.localCommit.remoteSig);
  return { txid: commitmentTxid(tx), hex: raw.toString('hex'), tx };
}

/** Untrimmed HTLCs of a spec on the commitment of the side with dust limit `dustLimitSat`. */
export function untrimmedCount(d: ChannelData, spec: CommitmentSpec, dustLimitSat: bigint): number {
  let n = 0;
  for (const h of spec.htlcs) if (!isHtlcTrimmed({ direction: h.direction, amountMsat: h.add.amountMsat, paymentHash: h.add.paymentHash, cltvExpiry: h.add.cltvExpiry }, dustLimitSat, spec.feeratePerKw, d.format)) n++;
  return n;
}

/** What the opener pays on a commitment with this spec: fee plus anchors, in msat. */
export function openerCostMsat(d: ChannelData, spec: CommitmentSpec, dustLimitSat: bigint): bigint {
  const fee = commitmentFeeSat(spec.feeratePerKw, untrimmedCount(d, spec, dustLimitSat), d.format);
  return (fee + (hasAnchors(d.format) ? 2n * ANCHOR_OUTPUT_SAT : 0n)) * 1000n;
}
