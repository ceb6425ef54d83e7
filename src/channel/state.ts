/**
 * The persistent state of one channel (BOLT 2) and the update-log arithmetic over it.
 *
 * Model: each side's updates (`update_add_htlc`, `update_fulfill_htlc`, `update_fail_htlc`,
 * `update_fail_malformed_htlc`, `update_fee`) move through three stages.
 *
 *   ours   (`local`):  proposed (sent, not yet signed) → signed (in a commitment_signed we sent, not yet
 *                      revoked by them) → acked (their revoke_and_ack came: in their commitment, waiting to
 *                      enter ours through their next commitment_signed)
 *   theirs (`remote`): proposed (received) → acked (their commitment_signed covered them and we revoked:
 *                      in our commitment, waiting to enter theirs through our next commitment_signed)
 *                      → signed (in a commitment_signed we sent, not yet revoked)
 *
 * A commitment's spec (balances, HTLCs, feerate) is kept from its owner's point of view: `toLocalMsat` is
 * the owner's balance, an `offered` HTLC is one the owner offered. {@link reduceSpec} applies a batch of
 * updates to a spec.
 *
 * Everything here is plain data (Buffers, bigints) so that {@link encodeChannelData} can persist it.
 */
import type { CommitmentFormat } from './commitment.js';
import { ChannelError } from './errors.js';

export type Side = 'local' | 'remote';

/** The limits and keys one side announced in open_channel/accept_channel. */
export interface SideParams {
  dustLimitSat: bigint;
  maxHtlcValueInFlightMsat: bigint;
  /** The reserve this side requires the OTHER side to keep. */
  channelReserveSat: bigint;
  /** The smallest HTLC this side accepts. */
  htlcMinimumMsat: bigint;
  /** The delay this side imposes on the OTHER side's to_local output. */
  toSelfDelay: number;
  /** The most HTLCs this side accepts from the other. */
  maxAcceptedHtlcs: number;
  fundingPubkey: Buffer;
  revocationBasepoint: Buffer;
  paymentBasepoint: Buffer;
  delayedPaymentBasepoint: Buffer;
  htlcBasepoint: Buffer;
  upfrontShutdownScript?: Buffer;
}

export interface HtlcAdd {
  id: bigint;
  amountMsat: bigint;
  paymentHash: Buffer;
  cltvExpiry: number;
  onion: Buffer;
  /** `update_add_htlc`'s `blinding_point` (route blinding's `path_key`, TLV 0): the HTLC is inside a blinded path. */
  pathKey?: Buffer;
}

export type Update =
  | ({ kind: 'add' } & HtlcAdd)
  | { kind: 'fulfill'; id: bigint; preimage: Buffer }
  | { kind: 'fail'; id: bigint; reason: Buffer }
  | { kind: 'fail_malformed'; id: bigint; sha256OfOnion: Buffer; failureCode: number }
  | { kind: 'fee'; feeratePerKw: bigint };

export interface SpecHtlc {
  /** From the commitment owner's point of view. */
  direction: 'offered' | 'received';
  add: HtlcAdd;
}

export interface CommitmentSpec {
  feeratePerKw: bigint;
  /** The owner's balance, before the commitment fee and anchors are taken from the opener. */
  toLocalMsat: bigint;
  toRemoteMsat: bigint;
  htlcs: SpecHtlc[];
}

export interface LocalCommit {
  index: bigint;
  spec: CommitmentSpec;
  txid: string;
  /** Their signature of our commitment transaction, and of our HTLC transactions in output order. */
  remoteSig: Buffer;
  htlcSigs: Buffer[];
}

export interface RemoteCommit {
  index: bigint;
  spec: CommitmentSpec;
  txid: string;
  /** Their per-commitment point of this commitment. */
  point: Buffer;
}

export interface Changes {
  proposed: Update[];
  signed: Update[];
  acked: Update[];
}

/** CLN's state names (plus the two opening steps CLN calls OPENINGD, which are never persisted). */
export type ChannelLifecycle =
  | 'CHANNELD_AWAITING_LOCKIN'
  | 'CHANNELD_NORMAL'
  | 'CHANNELD_SHUTTING_DOWN'
  | 'CLOSINGD_SIGEXCHANGE'
  | 'CLOSINGD_COMPLETE'
  | 'AWAITING_UNILATERAL'
  | 'FUNDING_SPEND_SEEN'
  | 'ONCHAIN'
  | 'CLOSED';

export interface ClosingState {
  localScript?: Buffer;
  remoteScript?: Buffer;
  /** Our last proposal (fee and signature) and theirs. */
  ourFeeSat?: bigint;
  ourSig?: Buffer;
  theirFeeSat?: bigint;
  theirSig?: Buffer;
  /** The fully signed closing transaction, once agreed. */
  txHex?: string;
  txid?: string;
  /** option_simple_close's negotiation (closing_complete / closing_sig). */
  simple?: SimpleClosing;
}

/** option_simple_close: each side proposes (and pays for) its own closing transaction. */
export interface SimpleClosing {
  /** Our closing_complete awaiting its closing_sig; forgotten on reconnection. */
  sent?: { closerScript: Buffer; closeeScript: Buffer; feeSat: bigint; locktime: number; sigs: Partial<Record<'closerOutputOnly' | 'closeeOutputOnly' | 'closerAndCloseeOutputs', Buffer>> };
  /** The closer scripts each side last sent in a closing_complete on this connection (the other's closee script). */
  ourScript?: Buffer;
  theirScript?: Buffer;
  /** Every closing transaction either side proposed or signed: any of them may confirm. */
  txids: string[];
  /** The fee of our last closing_complete: a replacement pays more. */
  lastFeeSat?: bigint;
  /** Our own closing transactions and the fee each takes from our output (theirs take none of ours). */
  ours?: { txid: string; feeSat: bigint }[];
}

/**
 * One output of the spending transaction that we resolve: the plan (when a sweep of it may confirm, by
 * when it must) and how it ended (spent by our sweep or by someone else, or left as uneconomical).
 */
export interface OnchainOutput {
  /** The transaction holding it: absent for the funding spend's outputs; our HTLC transaction's for its delayed output. */
  txid?: string;
  vout: number;
  /**
   * How it is taken: a sweep input kind (to_local_delayed, p2wpkh, to_remote_anchors, to_local_revoked,
   * htlc_revoked, htlc_timeout_remote, htlc_success_remote), or through our pre-signed second-stage
   * transaction (htlc_timeout_tx, htlc_success_tx), whose output (htlc_delayed) is swept after our delay;
   * htlc_second_stage_revoked: the output of the cheater's own HTLC transaction spending a revoked HTLC
   * output, taken with the revocation key.
   */
  what: string;
  /** For htlc_delayed and htlc_second_stage_revoked: the commitment output its HTLC transaction spent. */
  fromVout?: number;
  amountSat: bigint;
  /** The first height a sweep of it may confirm in (CSV). */
  notBefore: number;
  /** The height by which it must be swept before the other side may take it (revoked outputs); none: no rush. */
  deadline?: number;
  /** The transaction that spent it, confirmed at `height`; `ours` when it was one of our sweeps; `preimage` (hex) when the other side took an HTLC we offered with it. */
  spentBy?: { txid: string; height: number; ours: boolean; preimage?: string };
  /** Not worth sweeping (its value does not pay for its input): why. */
  abandoned?: string;
  /**
   * For htlc_revoked: the HTLC it holds (its id in the offerer's numbering), whether we offered it (a
   * received-HTLC script on the cheater's commitment) and its expiry; absent in plans written before.
   */
  htlc?: { id: bigint; offeredByUs: boolean; cltvExpiry: number };
}

/** A sweep we built: written before it is published, then its first publication, its confirmation, or why it was dropped. */
export interface OnchainSweep {
  txid: string;
  hex: string;
  /** The first height it may confirm in (CSV). */
  notBefore: number;
  confirmedAt?: number;
  what: string;
  /** The outputs it spends (`txid:vout`); absent in sweeps written before issue 12. */
  spends?: string[];
  /** Our HTLC-timeout/HTLC-success transaction(s) (pre-signed by the peer; not bumped). */
  presigned?: boolean;
  /** The outputs it creates for us (the HTLC transactions' delayed outputs), planned once it confirms. */
  creates?: OnchainOutput[];
  feeratePerKw?: bigint;
  /** The fee function it follows: from `startPerKw` at `from` to `maxPerKw` at `deadline` (RBF on the way). */
  fee?: { from: number; deadline: number; startPerKw: bigint; maxPerKw: bigint };
  /** The height it was first accepted by the backend. */
  publishedAt?: number;
  /** Never published again: replaced by a fee bump, or one of its inputs was spent by another transaction. */
  dropped?: { reason: 'replaced' | 'input_spent'; txid: string; height: number };
}

/** What happened on chain after the funding output was spent. */
export interface OnchainState {
  spendTxid: string;
  kind: 'mutual' | 'local' | 'remote' | 'revoked' | 'unknown';
  height: number;
  /** Sweeps we built, in order. */
  sweeps: OnchainSweep[];
  /** Before issue 12: outputs still to sweep once their delay has passed (read only, turned into {@link outputs}). */
  pending: { what: string; notBefore: number }[];
  /** Each output we resolve and how (absent in states written before issue 12: rebuilt by the resolver). */
  outputs?: OnchainOutput[];
  /** Wallet transactions funding our anchors HTLC transactions' fees (their outputs are `fee_input` outputs). */
  feeTxs?: { txid: string; hex: string; confirmedAt?: number }[];
}

export interface ChannelData {
  version: 1;
  /** The final channel id (the temporary id until funding_created). */
  channelId: Buffer;
  temporaryChannelId: Buffer;
  peerId: string;
  opener: Side;
  format: CommitmentFormat;
  channelType: Buffer;
  /** Index of this channel's keys in the node's key chain. */
  keyIndex: number;
  fundingSat: bigint;
  pushMsat: bigint;
  funding: { txid: string; vout: number };
  /** Signed funding transaction (only the opener has it). */
  fundingTxHex?: string;
  minimumDepth: number;
  /** Block height and index of the funding transaction once it confirmed. */
  fundingConfirmation?: { height: number; txIndex: number };
  shortChannelId?: string;
  /** Our scid alias, sent in channel_ready (`channel/alias.ts`); the peer's, from its channel_ready. */
  localAlias?: string;
  remoteAlias?: string;
  announce: boolean;
  state: ChannelLifecycle;
  local: SideParams;
  remote: SideParams;
  localCommit: LocalCommit;
  remoteCommit: RemoteCommit;
  /** Our commitment_signed not yet answered with revoke_and_ack: the commitment they will hold next. */
  nextRemoteCommit?: RemoteCommit & { sig: Buffer; htlcSigs: Buffer[] };
  /** Their next per-commitment point (for the commitment after remoteCommit), when not waiting. */
  remoteNextPoint: Buffer;
  localChanges: Changes;
  remoteChanges: Changes;
  localNextHtlcId: bigint;
  remoteNextHtlcId: bigint;
  /** Shachain of their revealed per-commitment secrets, as [index, secret] entries. */
  remoteSecrets: { index: bigint; secret: Buffer }[];
  /** Channel-ready bookkeeping. */
  localReadySent: boolean;
  remoteReady: boolean;
  /** Which of revoke_and_ack / commitment_signed we sent last (retransmission order on reestablish). */
  lastSent: 'revoke' | 'commit';
  closing?: ClosingState;
  onchain?: OnchainState;
  /** Our anchors commitment published and paying less than the estimate: the wallet transaction funding its child and the child (CPFP). */
  cpfp?: { feeTx: { txid: string; hex: string }; feeVout: number; feeAmountSat: bigint; child: { txid: string; hex: string; feeratePerKw: bigint } };
  /** Where a watchtower sends what it takes from a breach (a wallet address, fixed per channel). */
  towerSweepScript?: Buffer;
  /** Why the channel failed, if it did (CLN's status line). */
  failure?: string;
  /** The peer proved our latest commitment revoked (we lost state): never publish it (BOLT 2); theirs closes the channel. */
  lostState?: boolean;
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------------
// Spec arithmetic

function findHtlc(htlcs: SpecHtlc[], direction: SpecHtlc['direction'], id: bigint): number {
  return htlcs.findIndex((h) => h.direction === direction && h.add.id === id);
}

/**
 * Applies updates to a commitment spec (owner's view): adds first, then settlements, then the fee, so a
 * batch may add an HTLC and settle an older one. `ownerChanges` are updates sent by the owner,
 * `otherChanges` by the other side. Throws ChannelError INVALID when an update refers to an unknown HTLC
 * or a balance would go negative.
 */
export function reduceSpec(spec: CommitmentSpec, ownerChanges: readonly Update[], otherChanges: readonly Update[]): CommitmentSpec {
  let toLocal = spec.toLocalMsat;
  let toRemote = spec.toRemoteMsat;
  const htlcs = spec.htlcs.slice();
  let fee = spec.feeratePerKw;
  for (const u of ownerChanges) {
    if (u.kind !== 'add') continue;
    toLocal -= u.amountMsat;
    htlcs.push({ direction: 'offered', add: addOf(u) });
  }
  for (const u of otherChanges) {
    if (u.kind !== 'add') continue;
    toRemote -= u.amountMsat;
    htlcs.push({ direction: 'received', add: addOf(u) });
  }
  const settle = (u: Update, byOwner: boolean): void => {
    if (u.kind === 'add' || u.kind === 'fee') return;
    // The owner settles HTLCs it received; the other side settles those the owner offered.
    const direction = byOwner ? 'received' : 'offered';
    const i = findHtlc(htlcs, direction, u.id);
    if (i < 0) throw new ChannelError('INVALID', `channel: ${u.kind} of unknown HTLC ${u.id}`);
    const h = htlcs[i]!;
    htlcs.splice(i, 1);
    const fulfilled = u.kind === 'fulfill';
    // A fulfilled HTLC pays whoever settled it; a failed one returns to whoever offered it.
    if (fulfilled === byOwner) toLocal += h.add.amountMsat;
    else toRemote += h.add.amountMsat;
  };
  for (const u of ownerChanges) settle(u, true);
  for (const u of otherChanges) settle(u, false);
  for (const u of [...ownerChanges, ...otherChanges]) if (u.kind === 'fee') fee = u.feeratePerKw;
  if (toLocal < 0n || toRemote < 0n) throw new ChannelError('INVALID_AMOUNT', 'channel: an update would make a balance negative');
  return { feeratePerKw: fee, toLocalMsat: toLocal, toRemoteMsat: toRemote, htlcs };
}

function addOf(u: Extract<Update, { kind: 'add' }>): HtlcAdd {
  return { id: u.id, amountMsat: u.amountMsat, paymentHash: u.paymentHash, cltvExpiry: u.cltvExpiry, onion: u.onion, ...(u.pathKey ? { pathKey: u.pathKey } : {}) };
}

/** The same spec seen by the other side. */
export function mirrorSpec(spec: CommitmentSpec): CommitmentSpec {
  return {
    feeratePerKw: spec.feeratePerKw,
    toLocalMsat: spec.toRemoteMsat,
    toRemoteMsat: spec.toLocalMsat,
    htlcs: spec.htlcs.map((h) => ({ direction: h.direction === 'offered' ? 'received' : 'offered', add: h.add })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Persistence: a JSON form that keeps Buffers and bigints exact

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function toJson(v: unknown): Json {
  if (v === undefined) return null;
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { $n: v.toString() };
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  throw new ChannelError('INVALID', `channel: cannot persist a ${typeof v}`);
}

function fromJson(v: Json): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromJson);
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === '$n' && typeof v.$n === 'string') {
    if (!/^-?\d+$/.test(v.$n)) throw new ChannelError('INVALID', `channel: stored integer '${v.$n.slice(0, 40)}' is malformed`);
    return BigInt(v.$n);
  }
  if (keys.length === 1 && keys[0] === '$b' && typeof v.$b === 'string') return Buffer.from(v.$b, 'hex');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = fromJson(x);
  return out;
}

/** JSON text of a value made of plain objects, arrays, strings, numbers, bigints and byte arrays. */
export function encodeStored(v: unknown): string {
  return JSON.stringify(toJson(v));
}

/** The inverse of {@link encodeStored}; malformed text is a ChannelError INVALID. */
export function decodeStored(text: string): unknown {
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (e) {
    throw new ChannelError('INVALID', `channel: stored data is not JSON: ${(e as Error).message}`);
  }
  return fromJson(json);
}

export function encodeChannelData(d: ChannelData): string {
  return encodeStored(d);
}

export function decodeChannelData(text: string): ChannelData {
  const d = decodeStored(text) as ChannelData;
  if (!d || typeof d !== 'object' || d.version !== 1) throw new ChannelError('INVALID', 'channel: stored channel data has an unknown version');
  return d;
}

/** A revoked commitment of the counterparty as stored by its txid: what the penalty needs. */
export interface StoredRevocation {
  commit: RemoteCommit;
  secret: Buffer;
}

export function encodeRevocation(r: StoredRevocation): string {
  return encodeStored(r);
}

export function decodeRevocation(text: string): StoredRevocation {
  return decodeStored(text) as StoredRevocation;
}

/** A deep copy (through the persistent form), for snapshots before a tentative change. */
export function cloneChannelData(d: ChannelData): ChannelData {
  return decodeChannelData(encodeChannelData(d));
}
