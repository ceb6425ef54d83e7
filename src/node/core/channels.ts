import type { Channel } from '../../channel/channel.js';
import { commitmentFeeSat, commitmentWeight, type CommitmentFormat } from '../../channel/commitment.js';
import { openerCostMsat, untrimmedCount } from '../../channel/commitments.js';
import type { ChannelManager } from '../../channel/manager.js';
import type { ChannelData, OnchainOutput } from '../../channel/state.js';
import type { NodeCore } from './api.js';
import { CoreError, guarded } from './errors.js';
import { feerateFor, type FeeChoice } from './wallet.js';

/**
 * Channels as an operator's API reports them (LND's listchannels, pendingchannels, closedchannels,
 * channelbalance, openchannel, closechannel and channel events): every figure from the channel's own
 * state — its commitment, its funding and closing transactions, its peer's connection.
 */

export function managerOf(core: NodeCore): ChannelManager {
  if (!core.channelManager) throw new CoreError('NOT_ACTIVE', 'channels not active (no chain backend)');
  return core.channelManager;
}

/** Where a channel is, as LND groups them. */
export type ChannelPhase = 'pending_open' | 'open' | 'waiting_close' | 'pending_force_close' | 'closed';

export function channelPhase(d: ChannelData): ChannelPhase {
  switch (d.state) {
    case 'CHANNELD_AWAITING_LOCKIN':
      return 'pending_open';
    case 'CHANNELD_NORMAL':
    case 'CHANNELD_SHUTTING_DOWN':
    case 'CLOSINGD_SIGEXCHANGE':
      return 'open';
    case 'CLOSINGD_COMPLETE':
    case 'AWAITING_UNILATERAL':
      return 'waiting_close';
    case 'FUNDING_SPEND_SEEN':
    case 'ONCHAIN':
    case 'CLOSED': {
      // The spend is in a block: closed, unless outputs of ours still wait (a delay, an unconfirmed sweep).
      const oc = d.onchain;
      if (!oc) return 'waiting_close';
      const unsettled = oc.pending.length > 0 || unresolvedOutputs(d).length > 0 || oc.sweeps.some((s) => s.confirmedAt === undefined && !s.dropped);
      return unsettled && oc.kind !== 'mutual' ? 'pending_force_close' : 'closed';
    }
  }
}

/** Our outputs of a spent funding output still to be taken (not spent in a block yet, not abandoned as uneconomical). */
export function unresolvedOutputs(d: ChannelData): OnchainOutput[] {
  return (d.onchain?.outputs ?? []).filter((o) => !o.spentBy && !o.abandoned);
}

/** When the last of those may be swept (their CSV), and what they hold: LND's maturity height and limbo balance. */
export function maturity(d: ChannelData): { height: number; limboSat: bigint } | undefined {
  const outs = unresolvedOutputs(d);
  const legacy = d.onchain?.pending ?? [];
  if (!outs.length && !legacy.length) return undefined;
  const height = [...outs, ...legacy].reduce((h, o) => Math.max(h, o.notBefore), 0);
  return { height, limboSat: outs.reduce((sum, o) => sum + o.amountSat, 0n) };
}

export interface ChannelView {
  channelId: string;
  peerId: string;
  state: string;
  phase: ChannelPhase;
  /** Usable now: NORMAL with the peer connected. */
  active: boolean;
  fundingTxid: string;
  fundingVout: number;
  shortChannelId: string | undefined;
  /** Our scid alias (sent in channel_ready) and the peer's (`channel/alias.ts`), when set. */
  localAlias: string | undefined;
  remoteAlias: string | undefined;
  capacitySat: bigint;
  /** Our output on our current commitment (the commitment fee and anchors already taken by the opener). */
  localSat: bigint;
  remoteSat: bigint;
  /** The same to the millisatoshi: the to_local/to_remote balances of the commitment less the opener's cost. */
  localMsat: bigint;
  remoteMsat: bigint;
  commitFeeSat: bigint;
  commitWeight: bigint;
  feePerKw: bigint;
  /** HTLCs on our current commitment. */
  htlcs: { incoming: boolean; amountSat: bigint; amountMsat: bigint; hash: Buffer; expiry: number; id: bigint }[];
  unsettledSat: bigint;
  initiator: 'local' | 'remote';
  private: boolean;
  /** Our output's delay on our commitment (the peer's to_self_delay for us). */
  csvDelay: number;
  localReserveSat: bigint;
  remoteReserveSat: bigint;
  localDustSat: bigint;
  remoteDustSat: bigint;
  localMaxHtlcs: number;
  remoteMaxHtlcs: number;
  localMaxInFlightMsat: bigint;
  remoteMaxInFlightMsat: bigint;
  localMinHtlcMsat: bigint;
  remoteMinHtlcMsat: bigint;
  numUpdates: bigint;
  pushSat: bigint;
  format: CommitmentFormat;
  /** The transaction that spent the funding output, once seen in a block. */
  closingTxid: string | undefined;
  closeHeight: number | undefined;
  closeKind: 'mutual' | 'local' | 'remote' | 'revoked' | 'unknown' | undefined;
  /** The agreed closing transaction or our published commitment, before it confirms. */
  pendingCloseTxid: string | undefined;
  /** What the close pays us, by how the channel closed: the closing output, our to_local, or our output on their commitment. */
  settledSat: bigint;
}

/**
 * What the confirmed mutual close took from our side: with closing_signed, the agreed fee when we opened;
 * with option_simple_close, our fee when the transaction that confirmed was one of ours, else nothing.
 */
function mutualCloseFeeSat(d: ChannelData): bigint {
  const simple = d.closing?.simple;
  if (simple) return simple.ours?.find((o) => o.txid === d.onchain?.spendTxid)?.feeSat ?? 0n;
  return d.opener === 'local' ? (d.closing?.ourFeeSat ?? 0n) : 0n;
}

export function channelView(m: ChannelManager, ch: Channel): ChannelView {
  const d = ch.data;
  const spec = d.localCommit.spec;
  const untrimmed = untrimmedCount(d, spec, d.local.dustLimitSat);
  const commitFeeSat = commitmentFeeSat(spec.feeratePerKw, untrimmed, d.format);
  const opener = openerCostMsat(d, spec, d.local.dustLimitSat) / 1000n;
  const toLocal = spec.toLocalMsat / 1000n - (d.opener === 'local' ? opener : 0n);
  const toRemote = spec.toRemoteMsat / 1000n - (d.opener === 'remote' ? opener : 0n);
  const openerMsat = openerCostMsat(d, spec, d.local.dustLimitSat);
  const localMsat = spec.toLocalMsat - (d.opener === 'local' ? openerMsat : 0n);
  const remoteMsat = spec.toRemoteMsat - (d.opener === 'remote' ? openerMsat : 0n);
  const htlcs = spec.htlcs.map((h) => ({ incoming: h.direction === 'received', amountSat: h.add.amountMsat / 1000n, amountMsat: h.add.amountMsat, hash: h.add.paymentHash, expiry: h.add.cltvExpiry, id: h.add.id }));
  const phase = channelPhase(d);
  const kind = d.onchain?.kind;
  let settledSat = toLocal;
  if (kind === 'mutual') settledSat = spec.toLocalMsat / 1000n - mutualCloseFeeSat(d);
  else if (kind === 'remote') settledSat = theirCommitOursSat(d);
  else if (kind === 'revoked') settledSat = toLocal + toRemote;
  const pendingCloseTxid = d.closing?.txid ?? (d.state === 'AWAITING_UNILATERAL' || d.state === 'FUNDING_SPEND_SEEN' ? d.localCommit.txid : undefined);
  return {
    channelId: ch.id,
    peerId: d.peerId,
    state: d.state,
    phase,
    active: d.state === 'CHANNELD_NORMAL' && m.isPeerConnected(d.peerId),
    fundingTxid: d.funding.txid,
    fundingVout: d.funding.vout,
    shortChannelId: d.shortChannelId,
    localAlias: d.localAlias,
    remoteAlias: d.remoteAlias,
    capacitySat: d.fundingSat,
    localSat: toLocal < 0n ? 0n : toLocal,
    remoteSat: toRemote < 0n ? 0n : toRemote,
    localMsat: localMsat < 0n ? 0n : localMsat,
    remoteMsat: remoteMsat < 0n ? 0n : remoteMsat,
    commitFeeSat,
    commitWeight: commitmentWeight(untrimmed, d.format),
    feePerKw: spec.feeratePerKw,
    htlcs,
    unsettledSat: htlcs.reduce((s, h) => s + h.amountSat, 0n),
    initiator: d.opener,
    private: !d.announce,
    csvDelay: d.remote.toSelfDelay,
    localReserveSat: d.remote.channelReserveSat,
    remoteReserveSat: d.local.channelReserveSat,
    localDustSat: d.local.dustLimitSat,
    remoteDustSat: d.remote.dustLimitSat,
    localMaxHtlcs: d.remote.maxAcceptedHtlcs,
    remoteMaxHtlcs: d.local.maxAcceptedHtlcs,
    localMaxInFlightMsat: d.remote.maxHtlcValueInFlightMsat,
    remoteMaxInFlightMsat: d.local.maxHtlcValueInFlightMsat,
    localMinHtlcMsat: d.remote.htlcMinimumMsat,
    remoteMinHtlcMsat: d.local.htlcMinimumMsat,
    numUpdates: d.localCommit.index,
    pushSat: d.pushMsat / 1000n,
    format: d.format,
    closingTxid: d.onchain?.spendTxid,
    closeHeight: d.onchain?.height,
    closeKind: d.onchain?.kind,
    pendingCloseTxid,
    settledSat: settledSat < 0n ? 0n : settledSat,
  };
}

/** Our output on their current commitment (to_remote in their view), the opener's fees taken. */
function theirCommitOursSat(d: ChannelData): bigint {
  const spec = d.remoteCommit.spec;
  return spec.toRemoteMsat / 1000n - (d.opener === 'local' ? openerCostMsat(d, spec, d.remote.dustLimitSat) / 1000n : 0n);
}

export function channelViews(core: NodeCore): ChannelView[] {
  const m = managerOf(core);
  return m.list().map((ch) => channelView(m, ch));
}

export interface ChannelBalances {
  localSat: bigint;
  remoteSat: bigint;
  /** HTLCs we offered / the peer offered, on our current commitments. */
  unsettledLocalSat: bigint;
  unsettledRemoteSat: bigint;
  pendingOpenLocalSat: bigint;
  pendingOpenRemoteSat: bigint;
  /** Each figure to the millisatoshi, summed from the channels' msat balances (the sat figures are these, rounded down, as LND's). */
  msat: { local: bigint; remote: bigint; unsettledLocal: bigint; unsettledRemote: bigint; pendingOpenLocal: bigint; pendingOpenRemote: bigint };
}

/** Sums over open channels (and, apart, those waiting for their funding to confirm), in msat; sat = msat / 1000 rounded down. */
export function channelBalances(core: NodeCore): ChannelBalances {
  const m = { local: 0n, remote: 0n, unsettledLocal: 0n, unsettledRemote: 0n, pendingOpenLocal: 0n, pendingOpenRemote: 0n };
  for (const v of channelViews(core)) {
    if (v.phase === 'open') {
      m.local += v.localMsat;
      m.remote += v.remoteMsat;
      for (const h of v.htlcs) {
        if (h.incoming) m.unsettledRemote += h.amountMsat;
        else m.unsettledLocal += h.amountMsat;
      }
    } else if (v.phase === 'pending_open') {
      m.pendingOpenLocal += v.localMsat;
      m.pendingOpenRemote += v.remoteMsat;
    }
  }
  const sat = (x: bigint): bigint => x / 1000n;
  return {
    localSat: sat(m.local),
    remoteSat: sat(m.remote),
    unsettledLocalSat: sat(m.unsettledLocal),
    unsettledRemoteSat: sat(m.unsettledRemote),
    pendingOpenLocalSat: sat(m.pendingOpenLocal),
    pendingOpenRemoteSat: sat(m.pendingOpenRemote),
    msat: m,
  };
}

/** A channel by its funding outpoint. */
export function channelByPoint(core: NodeCore, txid: string, vout: number): Channel {
  const ch = managerOf(core)
    .list()
    .find((c) => c.data.funding.txid === txid && c.data.funding.vout === vout);
  if (!ch) throw new CoreError('INVALID', 'unable to find channel');
  return ch;
}

export interface OpenRequest {
  peerId: string;
  amountSat: bigint | 'all';
  pushMsat?: bigint;
  fee: FeeChoice;
  private: boolean;
  minConfs?: number;
}

export type OpenUpdate = { kind: 'pending'; txid: string; vout: number; channelId: string } | { kind: 'open'; txid: string; vout: number; channelId: string };

/**
 * Opens a channel to a connected peer: `pending` once the funding transaction is published, `open` once
 * the channel is usable (funding confirmed, channel_ready both ways). Resolves after `open`, or when
 * `signal` aborts (the channel stays as it is).
 */
export async function openChannel(core: NodeCore, req: OpenRequest, onUpdate: (u: OpenUpdate) => void, signal?: AbortSignal): Promise<void> {
  const m = managerOf(core);
  if (!m.isPeerConnected(req.peerId)) throw new CoreError('FUNDING_UNKNOWN_PEER', `peer ${req.peerId} is not online`);
  const feeratePerKw = await feerateFor(core, req.fee);
  const r = await guarded(() =>
    m.fundChannel({
      peerId: req.peerId,
      amountSat: req.amountSat,
      feeratePerKw,
      announce: !req.private,
      ...(req.pushMsat !== undefined ? { pushMsat: req.pushMsat } : {}),
      ...(req.minConfs !== undefined ? { minconf: req.minConfs } : {}),
    }),
  );
  const point = { txid: r.txid, vout: r.outnum, channelId: r.channelId };
  onUpdate({ kind: 'pending', ...point });
  await untilChannel(m, r.channelId, (ch) => ch.data.state === 'CHANNELD_NORMAL', signal);
  if (signal?.aborted) return;
  onUpdate({ kind: 'open', ...point });
}

export type CloseUpdate = { kind: 'pending'; txid: string } | { kind: 'confirmed'; txid: string; height: number };

/**
 * Closes a channel: cooperatively (the peer must be connected; our fee proposal at `fee` when given),
 * or with `force` by publishing our commitment. `pending` once the closing transaction is published, `confirmed` once a block spends the
 * funding output.
 */
export async function closeChannel(core: NodeCore, ch: Channel, force: boolean, onUpdate: (u: CloseUpdate) => void, signal?: AbortSignal, fee?: FeeChoice): Promise<void> {
  const m = managerOf(core);
  if (!ch.open) throw new CoreError('INVALID', `channel is in state ${ch.data.state}`);
  let txid: string;
  if (force) {
    await guarded(() => ch.fail('Forcibly closed by the operator'));
    txid = ch.data.localCommit.txid;
  } else {
    if (!m.isPeerConnected(ch.data.peerId)) throw new CoreError('NOT_CONNECTED', `peer ${ch.data.peerId} is not online, use force=true to force close`);
    const feeratePerKw = fee ? BigInt(await feerateFor(core, fee)) : undefined;
    txid = (await guarded(() => m.close(ch, 0, feeratePerKw !== undefined ? { feeratePerKw } : {}))).txid;
  }
  onUpdate({ kind: 'pending', txid });
  await untilChannel(m, ch.id, (c) => c.data.onchain !== undefined, signal);
  if (signal?.aborted) return;
  onUpdate({ kind: 'confirmed', txid: ch.data.onchain!.spendTxid, height: ch.data.onchain!.height });
}

/** Resolves once the channel satisfies `done` (checked now and on each of its state changes), or on abort. */
function untilChannel(m: ChannelManager, channelId: string, done: (ch: Channel) => boolean, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const ch = m.get(channelId);
      return ch !== undefined && done(ch);
    };
    if (check() || signal?.aborted) return resolve();
    const stop = m.watchChannels((ch) => {
      if (ch.id === channelId && check()) finish();
    });
    const finish = (): void => {
      stop();
      signal?.removeEventListener('abort', finish);
      resolve();
    };
    signal?.addEventListener('abort', finish);
  });
}

export type ChannelEvent =
  | { kind: 'pending_open'; view: ChannelView }
  | { kind: 'open'; view: ChannelView }
  | { kind: 'active'; view: ChannelView }
  | { kind: 'inactive'; view: ChannelView }
  | { kind: 'closed'; view: ChannelView }
  | { kind: 'fully_resolved'; view: ChannelView };

/** Channel events as they happen (state changes, the peer coming and going) until the returned stop. */
export function watchChannelEvents(core: NodeCore, onEvent: (e: ChannelEvent) => void): () => void {
  const m = managerOf(core);
  // Spends already seen are old news; each channel's close and full resolution are told once.
  const closed = new Set(m.list().filter((c) => c.data.onchain).map((c) => c.id));
  const resolved = new Set(m.list().filter((c) => c.data.state === 'ONCHAIN' || c.data.state === 'CLOSED').map((c) => c.id));
  const stopChannels = m.watchChannels((ch, state) => {
    const view = channelView(m, ch);
    if (state === 'CHANNELD_AWAITING_LOCKIN') onEvent({ kind: 'pending_open', view });
    else if (state === 'CHANNELD_NORMAL') {
      onEvent({ kind: 'open', view });
      if (view.active) onEvent({ kind: 'active', view });
    }
    if (ch.data.onchain && !closed.has(ch.id)) {
      closed.add(ch.id);
      onEvent({ kind: 'closed', view });
    }
    // Every output of ours resolved (the sweeper's ONCHAIN; a mutual close is resolved when it confirms).
    if (state === 'ONCHAIN' && !resolved.has(ch.id)) {
      resolved.add(ch.id);
      onEvent({ kind: 'fully_resolved', view });
    }
  });
  const onPeer = (active: boolean) => (peer: { id: string }) => {
    for (const ch of m.list()) {
      if (ch.data.peerId !== peer.id || ch.data.state !== 'CHANNELD_NORMAL') continue;
      onEvent({ kind: active ? 'active' : 'inactive', view: channelView(m, ch) });
    }
  };
  const connected = onPeer(true);
  const disconnected = onPeer(false);
  core.peers.on('connected', connected);
  core.peers.on('disconnected', disconnected);
  return () => {
    stopChannels();
    core.peers.off('connected', connected);
    core.peers.off('disconnected', disconnected);
  };
}
