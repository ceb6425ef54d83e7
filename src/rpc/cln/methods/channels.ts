/**
 * Channels over JSON-RPC with lightningd's names, shapes and error codes: `fundchannel`,
 * `listpeerchannels`, `close`, and developer commands to drive HTLCs and fee updates by hand
 * (`dev-addhtlc`, `dev-fulfillhtlc`, `dev-failhtlc`, `dev-listhtlcs`, `dev-updatefee`). Thin shells over
 * the {@link ChannelManager}: parameter parsing, lookups and result shaping only.
 */
import type { Channel } from '../../../channel/channel.js';
import { ONION_PACKET_SIZE } from '../../../channel/messages.js';
import type { ChannelManager } from '../../../channel/manager.js';
import type { ChannelData, ChannelLifecycle, HtlcAdd } from '../../../channel/state.js';
import { sendable } from '../../../payment/capacity.js';
import { connectPeer, CoreError, guarded, isKnownPeer, toCoreError } from '../../../node/core/index.js';
import { parseFeerate } from '../../../wallet/feerate.js';
import type { WalletCore } from '../../../wallet/wallet.js';
import { RpcCode, RpcError } from '../errors.js';
import type { CallContext, MethodDef, ParamContext } from '../method.js';
import { TYPES } from '../validator.js';
import { onchainStatus } from './onchain-status.js';

/** lightningd's default for `close`'s unilateraltimeout: 48 hours. */
export const DEFAULT_UNILATERAL_TIMEOUT_S = 48 * 3600;

/** The node's channel manager, or lightningd's generic failure when the node runs without a chain backend. */
export function manager(ctx: CallContext): ChannelManager {
  const m = ctx.core.channelManager;
  if (!m) throw new CoreError('NOT_ACTIVE', 'channels not active (no chain backend)');
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Shared formatting

/** BOLT 9 channel-type bits and the names lightningd prints for them. */
const CHANNEL_TYPE_NAMES: Record<number, string> = {
  12: 'static_remotekey/even',
  20: 'anchor_outputs/even',
  22: 'anchors/even',
  46: 'scid_alias/even',
  50: 'zeroconf/even',
};

/** The bit numbers set in a big-endian feature bit field, ascending. */
export function featureBits(field: Uint8Array): number[] {
  const bits: number[] = [];
  for (let i = 0; i < field.length; i++) {
    const byte = field[field.length - 1 - i]!;
    for (let b = 0; b < 8; b++) if ((byte >> b) & 1) bits.push(i * 8 + b);
  }
  return bits;
}

/** lightningd's `channel_type` object: `{bits, names}`. */
export function channelTypeJson(field: Uint8Array): { bits: number[]; names: string[] } {
  const bits = featureBits(field);
  return { bits, names: bits.flatMap((b) => (CHANNEL_TYPE_NAMES[b] ? [CHANNEL_TYPE_NAMES[b]!] : [])) };
}

/** listpeerchannels' `features`: the BOLT 9 options that apply to the channel. */
function channelFeatures(d: ChannelData): string[] {
  switch (d.format) {
    case 'static_remotekey':
      return ['option_static_remotekey'];
    case 'anchor_outputs':
      return ['option_static_remotekey', 'option_anchor_outputs'];
    case 'anchors_zero_fee_htlc_tx':
      return ['option_static_remotekey', 'option_anchors'];
  }
}

/** States in which a channel needs its peer (and can still be closed with `close`). */
const LIVE_STATES: ReadonlySet<ChannelLifecycle> = new Set(['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_NORMAL', 'CHANNELD_SHUTTING_DOWN', 'CLOSINGD_SIGEXCHANGE']);

export interface HtlcView {
  direction: 'in' | 'out';
  id: bigint;
  amountMsat: bigint;
  paymentHash: Buffer;
  cltvExpiry: number;
  /** lightningd's HTLC state name (SENT_ADD_HTLC … RCVD_REMOVE_ACK_REVOCATION). */
  state: string;
  /** In our current commitment transaction. */
  localCommitted: boolean;
  /** In the peer's current (revoked-or-not-yet-replaced) commitment transaction. */
  remoteCommitted: boolean;
}

type Stage = 'proposed' | 'signed' | 'acked';
const STAGES: readonly Stage[] = ['proposed', 'signed', 'acked'];

/**
 * Every HTLC of a channel that is in a commitment or on its way in or out, from our point of view
 * (`out` = offered by us), with lightningd's state name derived from where its add and its removal sit
 * in the two update logs.
 */
export function htlcViews(d: ChannelData): HtlcView[] {
  const views = new Map<string, HtlcView>();
  const view = (direction: 'in' | 'out', a: HtlcAdd): HtlcView => {
    const key = `${direction}:${a.id}`;
    let v = views.get(key);
    if (!v) {
      v = { direction, id: a.id, amountMsat: a.amountMsat, paymentHash: a.paymentHash, cltvExpiry: a.cltvExpiry, state: '', localCommitted: false, remoteCommitted: false };
      views.set(key, v);
    }
    return v;
  };
  // Our commitment: what we offered is `out`. Theirs: what they offered is `in`.
  for (const h of d.localCommit.spec.htlcs) view(h.direction === 'offered' ? 'out' : 'in', h.add).localCommitted = true;
  for (const h of d.remoteCommit.spec.htlcs) view(h.direction === 'offered' ? 'in' : 'out', h.add).remoteCommitted = true;
  for (const h of d.nextRemoteCommit?.spec.htlcs ?? []) view(h.direction === 'offered' ? 'in' : 'out', h.add);
  for (const s of STAGES) {
    for (const u of d.localChanges[s]) if (u.kind === 'add') view('out', u);
    for (const u of d.remoteChanges[s]) if (u.kind === 'add') view('in', u);
  }
  const stageOf = (log: ChannelData['localChanges'], match: (u: ChannelData['localChanges']['proposed'][number]) => boolean): Stage | undefined =>
    STAGES.find((s) => log[s].some(match));
  for (const v of views.values()) {
    const isAdd = (u: { kind: string; id?: bigint }): boolean => u.kind === 'add' && u.id === v.id;
    const isRemoval = (u: { kind: string; id?: bigint }): boolean => u.kind !== 'add' && u.kind !== 'fee' && u.id === v.id;
    if (v.direction === 'out') {
      const removal = stageOf(d.remoteChanges, isRemoval);
      const add = stageOf(d.localChanges, isAdd);
      v.state = removal
        ? { proposed: 'RCVD_REMOVE_HTLC', acked: 'SENT_REMOVE_REVOCATION', signed: 'SENT_REMOVE_ACK_COMMIT' }[removal]
        : add
          ? { proposed: 'SENT_ADD_HTLC', signed: 'SENT_ADD_COMMIT', acked: 'RCVD_ADD_REVOCATION' }[add]
          : v.localCommitted
            ? 'SENT_ADD_ACK_REVOCATION'
            : 'RCVD_ADD_REVOCATION';
    } else {
      const removal = stageOf(d.localChanges, isRemoval);
      const add = stageOf(d.remoteChanges, isAdd);
      v.state = removal
        ? { proposed: 'SENT_REMOVE_HTLC', signed: 'SENT_REMOVE_COMMIT', acked: 'RCVD_REMOVE_REVOCATION' }[removal]
        : add
          ? { proposed: 'RCVD_ADD_HTLC', acked: 'SENT_ADD_REVOCATION', signed: 'SENT_ADD_ACK_COMMIT' }[add]
          : 'RCVD_ADD_ACK_REVOCATION';
    }
  }
  return [...views.values()].sort((a, b) => (a.direction === b.direction ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.direction === 'in' ? -1 : 1));
}

/** One entry of `listpeerchannels`, in lightningd's shape (only what anode tracks); `height` is the channels' tip (the on-chain status lines count blocks from it). */
export function channelJson(ch: Channel, peerConnected: boolean, ourNodeId: Buffer, height = 0): Record<string, unknown> {
  const d = ch.data;
  const spec = d.localCommit.spec;
  const local = d.opener === 'local';
  const normal = d.state === 'CHANNELD_NORMAL';
  return {
    peer_id: d.peerId,
    peer_connected: peerConnected,
    state: d.state,
    channel_type: channelTypeJson(d.channelType),
    feerate: { perkw: Number(spec.feeratePerKw), perkb: Number(spec.feeratePerKw) * 4 },
    ...(d.shortChannelId !== undefined
      ? { short_channel_id: d.shortChannelId, direction: Buffer.compare(ourNodeId, Buffer.from(d.peerId, 'hex')) < 0 ? 0 : 1 }
      : {}),
    ...(d.localAlias !== undefined || d.remoteAlias !== undefined
      ? { alias: { ...(d.localAlias !== undefined ? { local: d.localAlias } : {}), ...(d.remoteAlias !== undefined ? { remote: d.remoteAlias } : {}) } }
      : {}),
    channel_id: ch.id,
    funding_txid: d.funding.txid,
    funding_outnum: d.funding.vout,
    ...(d.closing?.localScript ? { close_to: d.closing.localScript.toString('hex') } : {}),
    private: !d.announce,
    opener: d.opener,
    features: channelFeatures(d),
    funding: {
      pushed_msat: d.pushMsat,
      local_funds_msat: local ? d.fundingSat * 1000n : 0n,
      remote_funds_msat: local ? 0n : d.fundingSat * 1000n,
    },
    to_us_msat: spec.toLocalMsat,
    total_msat: d.fundingSat * 1000n,
    dust_limit_msat: d.local.dustLimitSat * 1000n,
    their_max_htlc_value_in_flight_msat: d.remote.maxHtlcValueInFlightMsat,
    our_max_htlc_value_in_flight_msat: d.local.maxHtlcValueInFlightMsat,
    their_reserve_msat: d.local.channelReserveSat * 1000n,
    our_reserve_msat: d.remote.channelReserveSat * 1000n,
    spendable_msat: normal ? sendable(d, 'local') : 0n,
    receivable_msat: normal ? sendable(d, 'remote') : 0n,
    minimum_htlc_in_msat: d.local.htlcMinimumMsat,
    minimum_htlc_out_msat: d.remote.htlcMinimumMsat,
    their_to_self_delay: d.local.toSelfDelay,
    our_to_self_delay: d.remote.toSelfDelay,
    max_accepted_htlcs: d.local.maxAcceptedHtlcs,
    status: [...(d.failure !== undefined ? [d.failure] : []), ...onchainStatus(d, height)],
    htlcs: htlcViews(d).map((h) => ({
      direction: h.direction,
      id: h.id,
      amount_msat: h.amountMsat,
      expiry: h.cltvExpiry,
      payment_hash: h.paymentHash.toString('hex'),
      state: h.state,
    })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Parameters

/** An `msat` parameter (already schema-checked) as millisatoshis. */
export function parseMsat(v: unknown): bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
  const s = String(v);
  let m: RegExpExecArray | null;
  if ((m = /^([0-9]+)(?:msat)?$/.exec(s))) return BigInt(m[1]!);
  if ((m = /^([0-9]+)(?:\.([0-9]{3}))?sat$/.exec(s))) return BigInt(m[1]!) * 1000n + BigInt(m[2] ?? '0');
  if ((m = /^([0-9]+)(?:\.([0-9]{8}|[0-9]{11}))?btc$/.exec(s))) return BigInt(m[1]!) * 100_000_000_000n + BigInt((m[2] ?? '').padEnd(11, '0'));
  throw new RpcError(RpcCode.INVALID_PARAMS, `invalid msat amount '${s}'`);
}

function msatParam(p: ParamContext): bigint {
  return parseMsat(p.standard());
}

function satOrAllParam(p: ParamContext): bigint | 'all' {
  const v = p.standard();
  if (v === 'all') return 'all';
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
  const s = String(v);
  let m: RegExpExecArray | null;
  if ((m = /^([0-9]+)(?:sat)?$/.exec(s))) return BigInt(m[1]!);
  if ((m = /^([0-9]+)000msat$/.exec(s))) return BigInt(m[1]!);
  if ((m = /^([0-9]+)(?:\.([0-9]{8}))?btc$/.exec(s))) return BigInt(m[1]!) * 100_000_000n + BigInt(m[2] ?? '0');
  throw p.bad('should be a satoshi amount');
}

const hexParam = (p: ParamContext): Buffer => Buffer.from(p.standard() as string, 'hex');
const bigintParam = (p: ParamContext): bigint => BigInt(p.standard() as number | bigint);

/**
 * lightningd's channel lookup by channel id or short channel id (command_find_channel): a channel id
 * matches channels that still need their peer, a short channel id any channel.
 */
export function findChannelById(p: ParamContext, m: ChannelManager, ref: string): Channel {
  if (/^[0-9a-fA-F]{64}$/.test(ref)) {
    const ch = m.get(ref.toLowerCase());
    if (!ch || !LIVE_STATES.has(ch.data.state)) throw p.bad('Channel id not found');
    return ch;
  }
  if (TYPES.short_channel_id!.check(p.node, 'request')) {
    const ch = m.list().find((c) => c.data.shortChannelId === ref);
    if (!ch) throw p.bad('Short channel id not found');
    return ch;
  }
  throw p.bad('should be a channel ID or short channel ID');
}

/**
 * An `id` that is a peer id, a channel id or a short channel id, as `close` takes it: a known peer
 * selects its one channel that needs the peer; otherwise the channel id / short channel id lookup.
 */
async function channelOrPeerParam(p: ParamContext): Promise<Channel> {
  const ref = p.standard() as string;
  const m = manager(p.call);
  if (TYPES.pubkey!.check(p.node, 'request')) {
    const peerId = ref.toLowerCase();
    const all = m.list().filter((c) => c.data.peerId === peerId);
    if (all.length > 0 || (await isKnownPeer(p.call.core, peerId))) {
      const live = all.filter((c) => LIVE_STATES.has(c.data.state));
      if (live.length > 1) throw new RpcError(RpcCode.LIGHTNINGD, 'Peer has multiple channels: use channel_id or short_channel_id');
      if (live.length === 0) throw new RpcError(RpcCode.LIGHTNINGD, 'Peer has no active channel');
      return live[0]!;
    }
  }
  const ch = findChannelById(p, m, ref);
  if (!LIVE_STATES.has(ch.data.state)) throw p.bad(`Channel in state ${ch.data.state}`);
  return ch;
}

// ---------------------------------------------------------------------------------------------------
// Commands

interface FeerateResolver {
  resolveFeerate?(feerate: unknown): Promise<number>;
}

/** lightningd's `feerate` parameter as sat per kw: the wallet resolves names; numbers need no backend. */
async function feeratePerKw(ctx: CallContext, feerate: unknown): Promise<number | undefined> {
  if (feerate === undefined) return undefined;
  const w = ctx.core.wallet as (WalletCore & FeerateResolver) | undefined;
  if (w?.resolveFeerate) return guarded(() => w.resolveFeerate!(feerate));
  let s: ReturnType<typeof parseFeerate>;
  try {
    s = parseFeerate(feerate);
  } catch (err) {
    throw toCoreError(err);
  }
  return s.kind === 'fixed' ? s.feeRateSatPerKw : undefined;
}

/** CLN's fundchannel parameters anode does not implement: declared for their positions, refused when given. */
const FUNDCHANNEL_UNSUPPORTED = ['utxos', 'close_to', 'request_amt', 'compact_lease', 'mindepth', 'reserve', 'channel_type'];

/** A parameter checked against its schema, then refused: anode does not do what it asks (yet). */
function unsupportedParam(p: ParamContext): never {
  p.standard();
  throw p.bad('not supported by anode');
}

export const fundchannel: MethodDef = {
  name: 'fundchannel',
  params: {
    amount: satOrAllParam,
    push_msat: msatParam,
    ...Object.fromEntries(FUNDCHANNEL_UNSUPPORTED.map((name) => [name, unsupportedParam])),
  },
  async run(params, ctx) {
    const m = manager(ctx);
    const id = (params.id as string).toLowerCase();
    const amount = params.amount as bigint | 'all';
    const pushMsat = params.push_msat as bigint | undefined;
    // lightningd (multifundchannel) connects first, with connect's errors.
    if (!m.isPeerConnected(id)) await connectPeer(ctx.core, Buffer.from(id, 'hex'), undefined);
    if (amount !== 'all' && amount > m.config.maxFundingSat) throw new CoreError('FUNDING_MAX_EXCEEDED', `Amount exceeded ${m.config.maxFundingSat}sat`);
    if (amount !== 'all' && pushMsat !== undefined && pushMsat > amount * 1000n) {
      throw new CoreError('CANNOT_AFFORD', `Requested to push_msat of ${pushMsat}msat is greater than available funding amount ${amount}sat`);
    }
    const feerate = await feeratePerKw(ctx, params.feerate);
    const r = await guarded(() =>
      m.fundChannel({
        peerId: id,
        amountSat: amount,
        ...(feerate !== undefined ? { feeratePerKw: feerate } : {}),
        ...(pushMsat !== undefined ? { pushMsat } : {}),
        announce: (params.announce as boolean | undefined) ?? true,
        ...(params.minconf !== undefined ? { minconf: Number(params.minconf) } : {}),
      }),
    );
    return { tx: r.tx, txid: r.txid, outnum: r.outnum, channel_type: channelTypeJson(r.channelType), channel_id: r.channelId };
  },
};

export const listpeerchannels: MethodDef = {
  name: 'listpeerchannels',
  async run(params, ctx) {
    const m = manager(ctx);
    const id = params.id as string | undefined;
    const peerId = id?.toLowerCase();
    const channels = m
      .list()
      .filter((c) => c.data.state !== 'CLOSED' && (peerId === undefined || c.data.peerId === peerId))
      .map((c) => channelJson(c, m.isPeerConnected(c.data.peerId), ctx.core.nodeId, m.tip?.height ?? 0));
    return { channels };
  },
};

export const close: MethodDef = {
  name: 'close',
  params: { id: channelOrPeerParam },
  async run(params, ctx) {
    const m = manager(ctx);
    const ch = params.id as Channel;
    const timeout = params.unilateraltimeout !== undefined ? Number(params.unilateraltimeout) : DEFAULT_UNILATERAL_TIMEOUT_S;
    const r = await guarded(() => m.close(ch, timeout));
    return { type: r.type, tx: r.tx, txid: r.txid, txs: [r.tx], txids: [r.txid] };
  },
};

/** The channel a developer command names: channel id, short channel id or peer id (its live channel). */
function devChannelParam(p: ParamContext): Channel {
  const ref = p.standard() as string;
  const m = manager(p.call);
  if (TYPES.pubkey!.check(p.node, 'request')) {
    const ch = m.find(ref.toLowerCase());
    if (!ch) throw new RpcError(RpcCode.LIGHTNINGD, 'Peer has no active channel');
    return ch;
  }
  if (/^[0-9a-fA-F]{64}$/.test(ref)) {
    const ch = m.get(ref.toLowerCase());
    if (!ch) throw p.bad('Channel id not found');
    return ch;
  }
  return findChannelById(p, m, ref);
}

export const devAddhtlc: MethodDef = {
  name: 'dev-addhtlc',
  params: { id: devChannelParam, amount_msat: msatParam, payment_hash: hexParam, onion: onionParam },
  async run(params) {
    const ch = params.id as Channel;
    const id = await guarded(() =>
      ch.addHtlc({ amountMsat: params.amount_msat as bigint, paymentHash: params.payment_hash as Buffer, cltvExpiry: Number(params.cltv_expiry), ...(params.onion ? { onion: params.onion as Buffer } : {}) }),
    );
    return { htlc_id: id };
  },
};

export const devFulfillhtlc: MethodDef = {
  name: 'dev-fulfillhtlc',
  params: { id: devChannelParam, htlc_id: bigintParam, preimage: hexParam },
  async run(params) {
    const ch = params.id as Channel;
    await guarded(() => ch.fulfillHtlc(params.htlc_id as bigint, params.preimage as Buffer));
    return {};
  },
};

/** An `onion_routing_packet`: 1366 bytes. */
function onionParam(p: ParamContext): Buffer {
  const b = hexParam(p);
  if (b.length !== ONION_PACKET_SIZE) throw p.bad(`should be ${ONION_PACKET_SIZE} bytes`);
  return b;
}

export const devFailhtlc: MethodDef = {
  name: 'dev-failhtlc',
  params: { id: devChannelParam, htlc_id: bigintParam },
  async run(params, ctx) {
    const ch = params.id as Channel;
    const htlcs = ctx.core.htlcs;
    if (!htlcs) throw new CoreError('NOT_ACTIVE', 'channels not active (no chain backend)');
    const code = params.failcode === undefined ? undefined : Number(params.failcode);
    const r = await guarded(() => htlcs.failByHand(ch, params.htlc_id as bigint, code));
    return { failure: r.failure, malformed: r.malformed };
  },
};

export const devListhtlcs: MethodDef = {
  name: 'dev-listhtlcs',
  params: { id: devChannelParam },
  async run(params) {
    const ch = params.id as Channel;
    return {
      htlcs: htlcViews(ch.data).map((h) => ({
        direction: h.direction,
        id: h.id,
        amount_msat: h.amountMsat,
        payment_hash: h.paymentHash.toString('hex'),
        cltv_expiry: h.cltvExpiry,
        state: h.state,
        local_committed: h.localCommitted,
        remote_committed: h.remoteCommitted,
      })),
    };
  },
};

export const devUpdatefee: MethodDef = {
  name: 'dev-updatefee',
  params: { id: devChannelParam },
  async run(params) {
    const ch = params.id as Channel;
    await guarded(() => ch.updateFee(BigInt(params.feerate_perkw as number)));
    return {};
  },
};

export const CHANNEL_METHODS: readonly MethodDef[] = [fundchannel, listpeerchannels, close, devAddhtlc, devFulfillhtlc, devFailhtlc, devListhtlcs, devUpdatefee];
