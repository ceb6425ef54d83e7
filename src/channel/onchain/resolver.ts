/**
 * What a spend of the funding output means, and the plan for each output it leaves us:
 * - a mutual close leaves nothing to do;
 * - our commitment: our to_local after the peer's delay; each HTLC we offered through our pre-signed
 *   HTLC-timeout transaction after its expiry, each HTLC offered to us whose preimage we know through
 *   HTLC-success before its expiry (their signatures are stored with the commitment), then the delayed
 *   output of each (htlc_delayed, planned when the HTLC transaction confirms);
 * - the peer's current commitment: our to_remote (at once, or one block later with anchors), each HTLC
 *   we offered claimed directly after its expiry, each offered to us with a known preimage before it;
 * - a revoked commitment: every output, taken with the revocation key before the cheater's delay ends;
 *   an HTLC output the cheater took first through its own HTLC-timeout/success transaction leaves an
 *   output (htlc_second_stage_revoked) with the same revocation key, taken before that delay ends too.
 *
 * Pure decisions over the channel's state; the sweeper persists the plan and acts on it. The sweep
 * inputs (with their keys) are derived again from the plan whenever a sweep is built, so nothing secret
 * is written with it. With zero-fee HTLC anchors, our HTLC transactions get their fee from a wallet-funded
 * input (htlc-anchors.ts).
 */
import type { BlockTransaction } from '../../chain/block.js';
import { sha256 } from '../../crypto/hash.js';
import { buildHtlcTx, hasAnchors, htlcTxid, serializeSignedHtlcTx, signHtlcTxLocal, type CommitmentTx, type HtlcTx } from '../commitment.js';
import { buildCommitment } from '../commitments.js';
import type { ChannelKeys } from '../signer.js';
import { decodeRevocation, type ChannelData, type CommitmentSpec, type OnchainOutput, type OnchainState, type RemoteCommit } from '../state.js';
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

interface Spend {
  kind: 'local' | 'remote' | 'revoked';
  c: CommitmentTx;
  txid: string;
  /** The per-commitment point of the published commitment. */
  point: Buffer;
  secret?: Buffer;
  revokedIndex?: bigint;
  /** The published commitment's HTLCs, in the order its outputs' `htlcIndex` counts. */
  spec: CommitmentSpec;
}

async function spendOf(d: ChannelData, keys: ChannelKeys, txid: string, revocations: Revocations): Promise<Spend | 'mutual' | null> {
  if (d.closing?.txid === txid || d.closing?.simple?.txids.includes(txid)) return 'mutual';
  if (d.localCommit.txid === txid) {
    const point = keys.point(d.localCommit.index);
    return { kind: 'local', c: buildCommitment(d, 'local', d.localCommit.index, point, d.localCommit.spec), txid, point, spec: d.localCommit.spec };
  }
  const rev = await revocations.findRevocation(txid);
  if (rev) {
    const { commit, secret } = decodeRevocation(rev.data);
    return { kind: 'revoked', c: buildCommitment(d, 'remote', commit.index, commit.point, commit.spec), txid, point: commit.point, secret, revokedIndex: commit.index, spec: commit.spec };
  }
  const r = remoteCommits(d).find((x) => x.txid === txid);
  return r ? { kind: 'remote', c: buildCommitment(d, 'remote', r.index, r.point, r.spec), txid, point: r.point, spec: r.spec } : null;
}

/**
 * Preimages known beyond a channel's own fulfils: the invoice book's paid invoices (wired in
 * `node/node.ts` with the HTLC intake's paid list), and the forwarding switch's downstream preimages
 * when it feeds one. Asked for each HTLC offered to us on a published commitment.
 */
export interface PreimageSource {
  preimageFor(paymentHash: Buffer): Promise<Buffer | undefined> | Buffer | undefined;
}

/**
 * Preimages we can claim the HTLCs offered to us in `c` with, by payment hash: those we revealed (our
 * fulfils still in the update log), then any `source` knows (each checked against its hash).
 */
async function preimages(d: ChannelData, c: CommitmentTx, source: PreimageSource | undefined): Promise<Map<string, Buffer>> {
  const m = new Map<string, Buffer>();
  for (const u of [...d.localChanges.proposed, ...d.localChanges.signed, ...d.localChanges.acked]) if (u.kind === 'fulfill') m.set(sha256(u.preimage).toString('hex'), u.preimage);
  if (!source) return m;
  for (const out of c.outputs) {
    const hash = out.htlc ? Buffer.from(out.htlc.paymentHash) : undefined;
    if (!hash || m.has(hash.toString('hex'))) continue;
    const p = await source.preimageFor(hash);
    if (p && sha256(p).equals(hash)) m.set(hash.toString('hex'), Buffer.from(p));
  }
  return m;
}

const preimageOf = (known: Map<string, Buffer>, c: CommitmentTx, vout: number): Buffer | undefined => known.get(Buffer.from(c.outputs[vout]!.htlc!.paymentHash).toString('hex'));

/**
 * Which HTLC output `vout` of the revoked commitment `s` holds: the cheater's commitment, so a received-HTLC
 * script there is an HTLC we offered (its id ours), an offered-HTLC script one the cheater offered us.
 */
function revokedHtlc(s: Spend, vout: number): NonNullable<OnchainOutput['htlc']> | undefined {
  const out = s.c.outputs[vout];
  const h = out?.htlcIndex === undefined ? undefined : s.spec.htlcs[out.htlcIndex];
  return h && { id: h.add.id, offeredByUs: out!.kind === 'received_htlc', cltvExpiry: h.add.cltvExpiry };
}

/** The sweep inputs of `s` that need no second stage (to_local, to_remote, the penalty). */
function directInputs(s: Spend, keys: ChannelKeys): SweepInput[] {
  if (s.kind === 'revoked') return penaltyInputs({ commitment: s.c, txid: s.txid, revocationPrivkey: keys.revocationPrivkey(s.secret!), toRemotePrivkey: keys.paymentBaseSecret });
  const i = s.kind === 'local' ? delayedToLocalInput({ commitment: s.c, txid: s.txid, delayedPrivkey: keys.delayedPrivkey(s.point) }) : toRemoteInput({ commitment: s.c, txid: s.txid, privkey: keys.paymentBaseSecret });
  return i ? [i] : [];
}

/** Classifies `spendTxid`, a transaction spending `d`'s funding output confirmed at `height`, and plans each output. */
export async function resolveFundingSpend(d: ChannelData, keys: ChannelKeys, spendTxid: string, height: number, revocations: Revocations, source?: PreimageSource): Promise<FundingSpendResolution> {
  const s = await spendOf(d, keys, spendTxid, revocations);
  if (s === 'mutual') return { kind: 'mutual', outputs: [] };
  if (!s) return { kind: 'unknown', outputs: [] };
  const anchors = hasAnchors(s.c.format);
  const outputs = directInputs(s, keys).map((i): OnchainOutput => {
    const o: OnchainOutput = { vout: i.vout, what: i.kind, amountSat: i.amountSat, notBefore: height };
    // BIP 68: a relative lock of n blocks lets the sweep confirm n blocks after the commitment.
    if (i.kind === 'to_local_delayed') o.notBefore = height + i.csvDelay;
    if (i.kind === 'to_remote_anchors') o.notBefore = height + 1;
    // The cheater's outputs are theirs once the delay we asked of them has passed (HTLCs through their second stage).
    if (i.kind === 'to_local_revoked' || i.kind === 'htlc_revoked') o.deadline = height + d.local.toSelfDelay;
    if (i.kind === 'htlc_revoked') o.htlc = revokedHtlc(s, i.vout);
    return o;
  });
  const known = s.kind === 'revoked' ? new Map<string, Buffer>() : await preimages(d, s.c, source);
  if (s.kind !== 'revoked')
    s.c.outputs.forEach((out, vout) => {
      if (!out.htlc) return;
      const cltv = out.htlc.cltvExpiry;
      // A transaction locked to cltv_expiry confirms in the block after it; anchors add a 1-block CSV.
      const csv1 = height + (anchors ? 1 : 0);
      // Ours offered / offered to us: on our commitment the owner's view, on theirs the other way round.
      const outgoing = (s.kind === 'local') === (out.kind === 'offered_htlc');
      if (!outgoing && !preimageOf(known, s.c, vout)) return; // theirs to take (we have no preimage)
      const base = { vout, amountSat: out.amountSat };
      if (s.kind === 'local') outputs.push(outgoing ? { ...base, what: 'htlc_timeout_tx', notBefore: Math.max(cltv + 1, csv1) } : { ...base, what: 'htlc_success_tx', notBefore: csv1, deadline: cltv });
      else outputs.push(outgoing ? { ...base, what: 'htlc_timeout_remote', notBefore: Math.max(cltv + 1, csv1) } : { ...base, what: 'htlc_success_remote', notBefore: csv1, deadline: cltv });
    });
  return { kind: s.kind, outputs, ...(s.revokedIndex !== undefined ? { revokedIndex: s.revokedIndex } : {}) };
}

/** The sweep inputs (with keys) of the planned outputs `outs` of the channel's funding spend. */
export async function plannedInputs(d: ChannelData, keys: ChannelKeys, outs: readonly OnchainOutput[], revocations: Revocations, source?: PreimageSource): Promise<SweepInput[]> {
  const s = await spendOf(d, keys, d.onchain!.spendTxid, revocations);
  if (!s || s === 'mutual') return [];
  const direct = new Map(directInputs(s, keys).map((i) => [i.vout, i]));
  const anchors = hasAnchors(s.c.format);
  const known = outs.some((o) => o.what === 'htlc_success_remote') ? await preimages(d, s.c, source) : new Map<string, Buffer>();
  return outs.flatMap((o): SweepInput[] => {
    if (o.what === 'htlc_delayed') {
      const t = buildHtlcTx(s.c, o.fromVout!, s.txid);
      const ws = t.outputs[0].witnessScript;
      return [{ kind: 'to_local_delayed', txid: o.txid!, vout: o.vout, amountSat: o.amountSat, witnessScript: ws, privkey: keys.delayedPrivkey(s.point), csvDelay: s.c.params.toSelfDelay }];
    }
    if (o.what === 'htlc_second_stage_revoked' && s.kind === 'revoked') {
      const ws = buildHtlcTx(s.c, o.fromVout!, s.txid).outputs[0].witnessScript;
      return [{ kind: 'to_local_revoked', txid: o.txid!, vout: o.vout, amountSat: o.amountSat, witnessScript: ws, revocationPrivkey: keys.revocationPrivkey(s.secret!) }];
    }
    if (o.what === 'fee_input') return [{ kind: 'p2wpkh', txid: o.txid!, vout: o.vout, amountSat: o.amountSat, privkey: feeInputKey(keys) }];
    if (o.what === 'htlc_timeout_remote' || o.what === 'htlc_success_remote') {
      const out = s.c.outputs[o.vout]!;
      const preimage = o.what === 'htlc_success_remote' ? preimageOf(known, s.c, o.vout) : undefined;
      if (o.what === 'htlc_success_remote' && !preimage) return [];
      return [{ kind: o.what, txid: s.txid, vout: o.vout, amountSat: out.amountSat, witnessScript: out.witnessScript!, privkey: keys.htlcPrivkey(s.point), anchors, ...(preimage ? { preimage } : {}) }];
    }
    const i = direct.get(o.vout);
    return i ? [i] : [];
  });
}

/**
 * The outputs of `tx` (confirmed at `height`) that are the cheater's second-stage HTLC transactions of
 * the revoked commitment `d` resolves: input i spends an HTLC output of it and output i (BOLT 3: one
 * input, one output; with anchors, several joined under SIGHASH_SINGLE|ANYONECANPAY, their own fee inputs
 * and change after) pays P2WSH of that HTLC's second-stage to_local script — the revocation pubkey of
 * that commitment and the cheater's delayed pubkey, derived and compared. Ours to take with the
 * revocation key until the cheater's CSV (the delay we asked of it) from this confirmation.
 */
export async function secondStageRevoked(d: ChannelData, keys: ChannelKeys, tx: Pick<BlockTransaction, 'txid' | 'inputs' | 'outputs'>, height: number, revocations: Revocations): Promise<OnchainOutput[]> {
  const oc = d.onchain;
  if (oc?.kind !== 'revoked') return [];
  const s = await spendOf(d, keys, oc.spendTxid, revocations);
  if (!s || s === 'mutual' || s.kind !== 'revoked') return [];
  const out: OnchainOutput[] = [];
  tx.inputs.forEach((input, i) => {
    const spent = s.c.outputs[input.vout];
    const o = tx.outputs[i];
    if (input.txid !== s.txid || !spent?.htlc || !o) return;
    if (!Buffer.from(o.script).equals(buildHtlcTx(s.c, input.vout, s.txid).outputs[0].script)) return;
    out.push({ txid: tx.txid, vout: i, what: 'htlc_second_stage_revoked', fromVout: input.vout, amountSat: o.valueSat, notBefore: height, deadline: height + d.local.toSelfDelay });
  });
  return out;
}

export interface HtlcTransaction {
  /** The commitment output it spends. */
  output: OnchainOutput;
  t: HtlcTx;
  /** The peer's signature of it. */
  remoteSig: Buffer;
  preimage?: Buffer;
  /** Signed alone (its fee set with the commitment), without zero-fee anchors. */
  signed?: { txid: string; hex: string };
}

/** Our HTLC-timeout or HTLC-success transactions for outputs `outs` of our commitment (those we can sign: a known preimage for success). */
export async function htlcTransactions(d: ChannelData, keys: ChannelKeys, outs: readonly OnchainOutput[], source?: PreimageSource): Promise<{ htlcs: HtlcTransaction[]; localHtlcPrivkey: Buffer }> {
  const point = keys.point(d.localCommit.index);
  const localHtlcPrivkey = keys.htlcPrivkey(point);
  if (d.onchain!.spendTxid !== d.localCommit.txid || outs.length === 0) return { htlcs: [], localHtlcPrivkey };
  const c = buildCommitment(d, 'local', d.localCommit.index, point, d.localCommit.spec);
  const known = outs.some((o) => o.what === 'htlc_success_tx') ? await preimages(d, c, source) : new Map<string, Buffer>();
  const zeroFee = c.format === 'anchors_zero_fee_htlc_tx';
  // The remote signatures come in the order of the HTLC outputs.
  const sigIndex = new Map<number, number>();
  c.outputs.forEach((x, vout) => x.htlc && sigIndex.set(vout, sigIndex.size));
  const commitTxid = d.localCommit.txid;
  const htlcs = outs.flatMap((o): HtlcTransaction[] => {
    const t = buildHtlcTx(c, o.vout, commitTxid);
    const remoteSig = d.localCommit.htlcSigs[sigIndex.get(o.vout) ?? -1];
    const preimage = t.kind === 'htlc_success' ? preimageOf(known, c, o.vout) : undefined;
    if (!remoteSig || (t.kind === 'htlc_success' && !preimage)) return [];
    const h: HtlcTransaction = { output: o, t, remoteSig, ...(preimage ? { preimage } : {}) };
    if (!zeroFee) h.signed = { txid: htlcTxid(t), hex: serializeSignedHtlcTx(t, remoteSig, signHtlcTxLocal(t, localHtlcPrivkey), preimage).toString('hex') };
    return [h];
  });
  return { htlcs, localHtlcPrivkey };
}

/** The key of the wallet-funded inputs that pay our anchors HTLC transactions' fees (derived from the channel's funding key). */
export function feeInputKey(keys: ChannelKeys): Buffer {
  return sha256(Buffer.from('anode anchors fee input'), keys.fundingPrivkey);
}

/** The peer's commitments that may be published without a revocation: the current one and the one we signed next. */
function remoteCommits(d: ChannelData): RemoteCommit[] {
  return [d.remoteCommit, d.nextRemoteCommit].filter((x): x is RemoteCommit => x !== undefined);
}
