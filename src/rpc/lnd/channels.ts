import {
  channelBalances,
  channelByPoint,
  channelViews,
  maturity,
  closeChannel,
  CoreError,
  managerOf,
  openChannel,
  watchChannelEvents,
  type ChannelView,
  type NodeCore,
} from '../../node/core/index.js';
import { reverseHex } from '../../chain/block.js';
import type { ChannelData } from '../../channel/state.js';
import { scidFromString } from '../../gossip/messages.js';
import { CHAIN_HASH } from '../../wire/messages.js';
import type { Handler, StreamHandler } from './methods.js';
import { parsePubKey } from './pubkey.js';
import { feeChoice, txidBytes, txidOf } from './wallet.js';

/**
 * Channels over LND's lnrpc: ListChannels, PendingChannels, ClosedChannels, ChannelBalance, OpenChannel
 * (stream) and OpenChannelSync, CloseChannel (stream), SubscribeChannelEvents — LND's shapes over the
 * node core's channel views and operations.
 */

type Msg = Record<string, unknown>;

/** `BxTxO` as LND's uint64 channel id (block << 40 | tx << 16 | output); '0' when there is none. */
export function chanId(scid: string | undefined): string {
  return String((scid === undefined ? undefined : scidFromString(scid)) ?? 0n);
}

const COMMITMENT_TYPES: Record<ChannelView['format'], string> = {
  static_remotekey: 'STATIC_REMOTE_KEY',
  // LND has no type for anchors with non-zero-fee HTLC transactions.
  anchor_outputs: 'UNKNOWN_COMMITMENT_TYPE',
  anchors_zero_fee_htlc_tx: 'ANCHORS',
};

/** LND's channel status flags for what anode's states say. */
function statusFlags(v: ChannelView): string {
  if (v.state === 'CLOSINGD_COMPLETE') return 'ChanStatusCoopBroadcasted';
  if (v.state === 'AWAITING_UNILATERAL' || v.state === 'FUNDING_SPEND_SEEN') return 'ChanStatusCommitBroadcasted|ChanStatusLocalCloseInitiator';
  return 'ChanStatusDefault';
}

const point = (v: ChannelView): string => `${v.fundingTxid}:${v.fundingVout}`;
const initiator = (v: ChannelView): string => (v.initiator === 'local' ? 'INITIATOR_LOCAL' : 'INITIATOR_REMOTE');
/** LND's Amount: the msat figure and its whole satoshis (rounded down, as LND's ToSatoshis). */
const amount = (msat: bigint): Msg => ({ sat: String(msat / 1000n), msat: String(msat) });
const channelPoint = (txid: string, vout: number): Msg => ({ funding_txid_bytes: txidBytes(txid), output_index: vout });

export function channelJson(v: ChannelView): Msg {
  return {
    active: v.active,
    remote_pubkey: v.peerId,
    channel_point: point(v),
    chan_id: chanId(v.shortChannelId),
    capacity: String(v.capacitySat),
    local_balance: String(v.localSat),
    remote_balance: String(v.remoteSat),
    commit_fee: String(v.commitFeeSat),
    commit_weight: String(v.commitWeight),
    fee_per_kw: String(v.feePerKw),
    unsettled_balance: String(v.unsettledSat),
    num_updates: String(v.numUpdates),
    pending_htlcs: v.htlcs.map((h) => ({ incoming: h.incoming, amount: String(h.amountSat), hash_lock: h.hash, expiration_height: h.expiry, htlc_index: String(h.id), locked_in: true })),
    csv_delay: v.csvDelay,
    private: v.private,
    initiator: v.initiator === 'local',
    chan_status_flags: statusFlags(v),
    local_chan_reserve_sat: String(v.localReserveSat),
    remote_chan_reserve_sat: String(v.remoteReserveSat),
    static_remote_key: true,
    commitment_type: COMMITMENT_TYPES[v.format],
    push_amount_sat: String(v.pushSat),
    local_constraints: {
      csv_delay: v.csvDelay,
      chan_reserve_sat: String(v.localReserveSat),
      dust_limit_sat: String(v.localDustSat),
      max_pending_amt_msat: String(v.localMaxInFlightMsat),
      min_htlc_msat: String(v.localMinHtlcMsat),
      max_accepted_htlcs: v.localMaxHtlcs,
    },
    remote_constraints: {
      chan_reserve_sat: String(v.remoteReserveSat),
      dust_limit_sat: String(v.remoteDustSat),
      max_pending_amt_msat: String(v.remoteMaxInFlightMsat),
      min_htlc_msat: String(v.remoteMinHtlcMsat),
      max_accepted_htlcs: v.remoteMaxHtlcs,
    },
    // LND's alias manager: the aliases we gave the channel, and the one the peer's channel_ready named.
    alias_scids: v.localAlias !== undefined ? [chanId(v.localAlias)] : [],
    peer_scid_alias: chanId(v.remoteAlias),
  };
}

function pendingChannelJson(v: ChannelView): Msg {
  return {
    remote_node_pub: v.peerId,
    channel_point: point(v),
    capacity: String(v.capacitySat),
    local_balance: String(v.localSat),
    remote_balance: String(v.remoteSat),
    local_chan_reserve_sat: String(v.localReserveSat),
    remote_chan_reserve_sat: String(v.remoteReserveSat),
    initiator: initiator(v),
    commitment_type: COMMITMENT_TYPES[v.format],
    chan_status_flags: statusFlags(v),
    private: v.private,
  };
}

const CLOSE_TYPES: Record<string, string> = { mutual: 'COOPERATIVE_CLOSE', local: 'LOCAL_FORCE_CLOSE', remote: 'REMOTE_FORCE_CLOSE', revoked: 'BREACH_CLOSE' };

/**
 * LND's `time_locked_balance`: what the close left us under a time lock when it confirmed — our outputs of
 * the funding spend that could not be swept in the next block (our to_local's CSV, our HTLCs' CLTV and
 * second-stage delays; an anchors to_remote's 1-block CSV is not one), whatever has been swept since.
 */
export function timeLockedSat(d: ChannelData | undefined): bigint {
  const oc = d?.onchain;
  if (!oc) return 0n;
  return (oc.outputs ?? []).filter((o) => o.txid === undefined && o.notBefore > oc.height + 1).reduce((sum, o) => sum + o.amountSat, 0n);
}

function closeSummaryJson(core: NodeCore, v: ChannelView): Msg {
  return {
    channel_point: point(v),
    chan_id: chanId(v.shortChannelId),
    chain_hash: reverseHex(CHAIN_HASH[core.config.network as keyof typeof CHAIN_HASH]),
    closing_tx_hash: v.closingTxid ?? '',
    remote_pubkey: v.peerId,
    capacity: String(v.capacitySat),
    close_height: v.closeHeight ?? 0,
    settled_balance: String(v.settledSat),
    time_locked_balance: String(timeLockedSat(managerOf(core).get(v.channelId)?.data)),
    ...(v.closeKind && CLOSE_TYPES[v.closeKind] ? { close_type: CLOSE_TYPES[v.closeKind] } : {}),
    open_initiator: initiator(v),
    close_initiator: v.closeKind === 'local' ? 'INITIATOR_LOCAL' : v.closeKind === 'remote' || v.closeKind === 'revoked' ? 'INITIATOR_REMOTE' : 'INITIATOR_UNKNOWN',
  };
}

function listChannels(core: NodeCore, req: Msg): Msg {
  if (req.active_only === true && req.inactive_only === true) throw new CoreError('INVALID', 'either `active_only` or `inactive_only` can be set, but not both');
  if (req.public_only === true && req.private_only === true) throw new CoreError('INVALID', 'either `public_only` or `private_only` can be set, but not both');
  const peer = req.peer as Buffer | undefined;
  const peerId = peer && peer.length > 0 ? parsePubKey(peer).toString('hex') : undefined;
  const channels = channelViews(core).filter(
    (v) =>
      v.phase === 'open' &&
      !(req.active_only === true && !v.active) &&
      !(req.inactive_only === true && v.active) &&
      !(req.public_only === true && v.private) &&
      !(req.private_only === true && !v.private) &&
      (peerId === undefined || v.peerId === peerId),
  );
  return { channels: channels.map(channelJson) };
}

function pendingChannels(core: NodeCore, req: Msg): Msg {
  const m = managerOf(core);
  const views = channelViews(core);
  const height = m.blockHeight;
  let limbo = 0n;
  const open = views
    .filter((v) => v.phase === 'pending_open')
    .map((v) => {
      const conf = m.get(v.channelId)?.data.fundingConfirmation;
      return {
        channel: pendingChannelJson(v),
        commit_fee: String(v.commitFeeSat),
        commit_weight: String(v.commitWeight),
        fee_per_kw: String(v.feePerKw),
        ...(conf ? { confirmation_height: conf.height, confirmations_until_active: Math.max(0, m.config.minimumDepth - (height - conf.height + 1)) } : {}),
      };
    });
  const waiting = views
    .filter((v) => v.phase === 'waiting_close')
    .map((v) => {
      limbo += v.localSat;
      const d = m.get(v.channelId)!.data;
      return {
        channel: pendingChannelJson(v),
        limbo_balance: String(v.localSat),
        commitments: { local_txid: d.localCommit.txid, remote_txid: d.remoteCommit.txid, local_commit_fee_sat: String(v.commitFeeSat) },
        closing_txid: v.pendingCloseTxid ?? '',
        ...(req.include_raw_tx === true && d.closing?.txHex ? { closing_tx_hex: d.closing.txHex } : {}),
      };
    });
  const forced = views
    .filter((v) => v.phase === 'pending_force_close')
    .map((v) => {
      // In limbo: our outputs not taken yet (states written before issue 12 have no output plan: our balance).
      const mature = maturity(m.get(v.channelId)!.data);
      const inLimbo = mature && mature.limboSat > 0n ? mature.limboSat : v.localSat;
      limbo += inLimbo;
      const at = mature?.height ?? 0;
      return {
        channel: pendingChannelJson(v),
        closing_txid: v.closingTxid ?? '',
        limbo_balance: String(inLimbo),
        maturity_height: at,
        blocks_til_maturity: at - height,
      };
    });
  return { total_limbo_balance: String(limbo), pending_open_channels: open, waiting_close_channels: waiting, pending_force_closing_channels: forced };
}

function closedChannels(core: NodeCore, req: Msg): Msg {
  const wanted = Object.entries({ cooperative: 'mutual', local_force: 'local', remote_force: 'remote', breach: 'revoked' })
    .filter(([k]) => req[k] === true)
    .map(([, kind]) => kind);
  const anyFilter = wanted.length > 0 || req.funding_canceled === true || req.abandoned === true;
  const closed = channelViews(core).filter((v) => v.phase === 'closed' && (!anyFilter || wanted.includes(v.closeKind ?? '')));
  return { channels: closed.map((v) => closeSummaryJson(core, v)) };
}

function channelBalance(core: NodeCore): Msg {
  const b = channelBalances(core);
  return {
    balance: String(b.localSat),
    pending_open_balance: String(b.pendingOpenLocalSat),
    local_balance: amount(b.msat.local),
    remote_balance: amount(b.msat.remote),
    unsettled_local_balance: amount(b.msat.unsettledLocal),
    unsettled_remote_balance: amount(b.msat.unsettledRemote),
    pending_open_local_balance: amount(b.msat.pendingOpenLocal),
    pending_open_remote_balance: amount(b.msat.pendingOpenRemote),
  };
}

/** OpenChannelRequest as the core's request, with LND's refusals. */
function openRequest(core: NodeCore, req: Msg) {
  const bytes = req.node_pubkey as Buffer | undefined;
  const key = bytes && bytes.length > 0 ? parsePubKey(bytes) : parsePubKey(Buffer.from(String(req.node_pubkey_string ?? ''), 'hex'));
  if (key.equals(core.nodeId)) throw new CoreError('INVALID', 'cannot open channel to self');
  const local = BigInt(String(req.local_funding_amount ?? '0'));
  const push = BigInt(String(req.push_sat ?? '0'));
  const fundMax = req.fund_max === true;
  if (fundMax && local !== 0n) throw new CoreError('INVALID', 'local_funding_amount must be zero when fund_max is set');
  if (!fundMax && local <= 0n) throw new CoreError('INVALID', 'local_funding_amount must be positive');
  if (!fundMax && push >= local) throw new CoreError('INVALID', 'amount pushed to remote peer for initial state must be below the local funding amount');
  const fee = feeChoice(req);
  const minConfs = req.spend_unconfirmed === true ? 0 : Number(req.min_confs ?? 0) || 1;
  return {
    peerId: key.toString('hex'),
    amountSat: fundMax ? ('all' as const) : local,
    ...(push > 0n ? { pushMsat: push * 1000n } : {}),
    fee,
    private: req.private === true,
    minConfs,
  };
}

const openChannelStream: StreamHandler = async (req, core, send, signal) => {
  const m = managerOf(core);
  await openChannel(
    core,
    openRequest(core, req),
    (u) => {
      const pendingId = m.get(u.channelId)?.data.temporaryChannelId ?? Buffer.alloc(0);
      if (u.kind === 'pending') send({ chan_pending: { txid: txidBytes(u.txid), output_index: u.vout }, pending_chan_id: pendingId });
      else send({ chan_open: { channel_point: channelPoint(u.txid, u.vout) }, pending_chan_id: pendingId });
    },
    signal,
  );
};

async function openChannelSync(core: NodeCore, req: Msg): Promise<Msg> {
  const ac = new AbortController();
  let reply: Msg | undefined;
  await openChannel(
    core,
    openRequest(core, req),
    (u) => {
      // The funding transaction is out: that is OpenChannelSync's answer (it does not wait for confirmations).
      reply = channelPoint(u.txid, u.vout);
      ac.abort();
    },
    ac.signal,
  );
  return reply!;
}

const closeChannelStream: StreamHandler = async (req, core, send, signal) => {
  const cp = (req.channel_point as Msg | null) ?? {};
  const ch = channelByPoint(core, txidOf(cp.funding_txid_str, cp.funding_txid_bytes), Number(cp.output_index ?? 0));
  const force = req.force === true;
  if (String(req.delivery_address ?? '') !== '') throw new CoreError('INVALID', 'anode closes to its own wallet: delivery_address is not supported');
  const fee = feeChoice(req);
  if (force && fee !== undefined) throw new CoreError('INVALID', 'force closing a channel uses a pre-defined fee');
  const run = closeChannel(
    core,
    ch,
    force,
    (u) => {
      if (u.kind === 'pending') send({ close_pending: { txid: txidBytes(u.txid), output_index: 0, local_close_tx: force } });
      else send({ chan_close: { closing_txid: txidBytes(u.txid), success: true } });
    },
    signal,
    fee,
  );
  if (req.no_wait === true) {
    send({ close_instant: {} });
    run.catch(() => undefined);
    return;
  }
  await run;
};

const subscribeChannelEvents: StreamHandler = async (_req, core, send, signal) => {
  const stop = watchChannelEvents(core, (e) => {
    const v = e.view;
    const cp = channelPoint(v.fundingTxid, v.fundingVout);
    switch (e.kind) {
      case 'pending_open':
        return send({ type: 'PENDING_OPEN_CHANNEL', pending_open_channel: { txid: txidBytes(v.fundingTxid), output_index: v.fundingVout } });
      case 'open':
        return send({ type: 'OPEN_CHANNEL', open_channel: channelJson(v) });
      case 'active':
        return send({ type: 'ACTIVE_CHANNEL', active_channel: cp });
      case 'inactive':
        return send({ type: 'INACTIVE_CHANNEL', inactive_channel: cp });
      case 'closed':
        return send({ type: 'CLOSED_CHANNEL', closed_channel: closeSummaryJson(core, v) });
      case 'fully_resolved':
        return send({ type: 'FULLY_RESOLVED_CHANNEL', fully_resolved_channel: cp });
    }
  });
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  stop();
};

export const CHANNEL_HANDLERS: Record<string, Handler> = {
  '/lnrpc.Lightning/ListChannels': async (req, core) => listChannels(core, req),
  '/lnrpc.Lightning/PendingChannels': async (req, core) => pendingChannels(core, req),
  '/lnrpc.Lightning/ClosedChannels': async (req, core) => closedChannels(core, req),
  '/lnrpc.Lightning/ChannelBalance': async (_req, core) => channelBalance(core),
  '/lnrpc.Lightning/OpenChannelSync': (req, core) => openChannelSync(core, req),
};

export const CHANNEL_STREAMS: Record<string, StreamHandler> = {
  '/lnrpc.Lightning/OpenChannel': openChannelStream,
  '/lnrpc.Lightning/CloseChannel': closeChannelStream,
  '/lnrpc.Lightning/SubscribeChannelEvents': subscribeChannelEvents,
};
