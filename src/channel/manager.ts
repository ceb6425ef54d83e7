/**
 * The node's channels: establishment as funder and fundee over the peer connections, routing of BOLT 2
 * messages to each channel, reconnection to peers with channels, the chain side (funding depth, spends
 * of the funding output, sweeps and penalties) and the API core the JSON-RPC shell wraps.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BlockListener, ConnectedBlock, Subscription, TipStore } from '../chain/notifier.js';
import { ChainNotifier } from '../chain/notifier.js';
import type { BlockTip, ChainSource } from '../chain/chain-source.js';
import type { BlockTransaction } from '../chain/block.js';
import type { KeyChain } from '../crypto/keychain.js';
import type { Peer } from '../peer/peer.js';
import type { PeerManager } from '../peer/manager.js';
import type { ChannelDataRepository, ChannelSummary } from '../store/channel-data.js';
import { isEvenType, MessageType, type Message } from '../wire/messages.js';
import { WireError } from '../wire/errors.js';
import { addressToScript, type KeyKind } from '../wallet/keys.js';
import type { FundedTransaction } from '../wallet/wallet.js';
import { Channel, type ChannelEnv, type RevokedCommitment } from './channel.js';
import { buildCommitment, checkLocalCommitment, signRemoteCommitment } from './commitments.js';
import { ChannelError } from './errors.js';
import { channelIdFromFunding, channelMessagePayload, ChannelMessageType, decodeChannelMessage, isChannelMessageType, messageName, type AcceptChannel, type ChannelMessage, type ChannelParamsFields, type FundingCreated, type FundingSigned, type OpenChannel } from './messages.js';
import { announcedFields, channelTypeFormat, checkRemoteParams, DEFAULT_CHANNEL_CONFIG, formatChannelType, initialChannelData, localParams, type ChannelConfig } from './open.js';
import { fundingScript, p2wsh } from './scripts.js';
import { ChannelKeys } from './signer.js';
import { decodeChannelData, decodeStored, encodeChannelData, encodeStored, type ChannelData, type RemoteCommit, type SideParams } from './state.js';
import { buildSweepTx, delayedToLocalInput, penaltyInputs, toRemoteInput, type SweepInput } from './sweep.js';
import type { CommitmentFormat } from './commitment.js';
import type { BreachData } from '../watchtower/client/breach.js';

export interface ChannelWallet {
  fundTransaction(req: { outputs: { script: Uint8Array; amountSat: bigint | 'all' }[]; feeRateSatPerKw: number; minconf?: number }): Promise<FundedTransaction>;
  broadcast(f: FundedTransaction): Promise<string>;
  release(f: FundedTransaction): Promise<void>;
  newAddress(kind: KeyKind): Promise<{ address: string }>;
  resolveFeerate(feerate?: unknown): Promise<number>;
  readonly keys: { network: Parameters<typeof addressToScript>[1] };
}

export interface BackupSink {
  backupState(channelId: Buffer, commitHeight: number, breach: BreachData): Promise<boolean>;
  /** The channel's funding output is spent: its sessions may be cleaned up later (LND's closed-channel handling). */
  markChannelClosed?(channelId: Buffer, height: number): Promise<void>;
}

export interface ChannelManagerOptions {
  keychain: KeyChain;
  store: ChannelDataRepository;
  peers: PeerManager;
  /** Known addresses of peers (for reconnection). */
  peerAddresses(nodeId: string): Promise<string[]>;
  wallet: ChannelWallet;
  chain: ChainSource;
  chainHash: Buffer;
  log: Logger;
  config?: Partial<ChannelConfig>;
  /** The node's chain notifier. Default: a private one over `chain`. */
  notifier?: ChainNotifier;
  /** Block poll period of a private notifier, ms. */
  pollIntervalMs?: number;
  /** Reconnect to peers with channels (backoff 1 s doubling to 300 s). Default true. */
  reconnect?: boolean;
  /** The watchtower client, when active. */
  backups?: BackupSink;
}

export interface FundChannelRequest {
  peerId: string;
  amountSat: bigint | 'all';
  feeratePerKw?: number;
  pushMsat?: bigint;
  announce?: boolean;
  minconf?: number;
  format?: CommitmentFormat;
}

export interface FundChannelResult {
  tx: string;
  txid: string;
  outnum: number;
  channelId: string;
  channelType: Buffer;
  format: CommitmentFormat;
}

export interface CloseResult {
  type: 'mutual' | 'unilateral';
  tx: string;
  txid: string;
}

interface PendingOpen {
  role: 'funder' | 'fundee';
  peerId: string;
  keys: ChannelKeys;
  local: SideParams;
  fundingSat: bigint;
  pushMsat: bigint;
  feeratePerKw: bigint;
  format: CommitmentFormat;
  announce: boolean;
  minimumDepth: number;
  minconf?: number;
  open?: OpenChannel;
  accept?: AcceptChannel;
  data?: ChannelData;
  funded?: FundedTransaction;
  resolve?: (r: FundChannelResult) => void;
  reject?: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

const ZERO_ID = Buffer.alloc(32);
const MAX_BACKOFF_MS = 300_000;

export class ChannelManager {
  readonly #o: ChannelManagerOptions;
  readonly #cfg: ChannelConfig;
  readonly #log: Logger;
  readonly #channels = new Map<string, Channel>();
  readonly #keys = new Map<number, ChannelKeys>();
  readonly #pending = new Map<string, PendingOpen>();
  readonly #attached = new WeakSet<Peer>();
  readonly #reconnects = new Map<string, { timer?: NodeJS.Timeout; delayMs: number }>();
  readonly #closeWaiters = new Map<string, ((r: CloseResult) => void)[]>();
  #watcher: Subscription | undefined;
  #height = 0;
  #stopped = false;

  constructor(opts: ChannelManagerOptions) {
    this.#o = opts;
    this.#cfg = { ...DEFAULT_CHANNEL_CONFIG, ...opts.config };
    this.#log = opts.log;
  }

  get config(): ChannelConfig {
    return this.#cfg;
  }

  get blockHeight(): number {
    return this.#watcher?.tip?.height ?? this.#height;
  }

  async start(): Promise<void> {
    for (const row of await this.#o.store.loadAll()) {
      const d = decodeChannelData(row.data);
      this.#addChannel(d);
    }
    this.#o.peers.on('connected', (p) => this.#attach(p));
    this.#o.peers.on('disconnected', (p) => this.#detach(p));
    for (const p of this.#o.peers.list()) this.#attach(p);
    const tips: TipStore = {
      load: async () => {
        const v = await this.#o.store.getMeta('tip');
        return v ? (JSON.parse(v) as BlockTip) : null;
      },
      save: async (tip) => this.#o.store.setMeta('tip', JSON.stringify(tip)),
    };
    const listener: BlockListener = {
      connect: (b) => this.#onBlock(b),
      disconnect: (tip) => this.#onDisconnect(tip),
    };
    // Polling runs in the background: an unreachable backend must not hold up the node's start.
    this.#watcher = ChainNotifier.follow(this.#o.chain, this.#o.notifier, tips, listener, {
      name: 'channels',
      pollIntervalMs: this.#o.pollIntervalMs ?? 2000,
      logger: this.#log,
      onError: (err) => this.#log.warn({ err: err.message }, 'channels: chain poll failed'),
    });
    // Peers with live channels we are not connected to: dial them.
    for (const ch of this.#channels.values()) if (this.#wantsPeer(ch)) this.#scheduleReconnect(ch.data.peerId, 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#watcher?.stop();
    for (const r of this.#reconnects.values()) clearTimeout(r.timer);
    for (const p of this.#pending.values()) clearTimeout(p.timer);
  }

  /** Polls the chain now (tests and RPC calls that must see the newest blocks). */
  async syncChain(): Promise<void> {
    await this.#watcher?.syncOnce();
  }

  // -------------------------------------------------------------------------------------------------
  // Channels and their environment

  #channelKeys(index: number): ChannelKeys {
    let keys = this.#keys.get(index);
    if (!keys) {
      keys = new ChannelKeys(this.#o.keychain, index);
      this.#keys.set(index, keys);
    }
    return keys;
  }

  #addChannel(d: ChannelData): Channel {
    const keys = this.#channelKeys(d.keyIndex);
    const ch = new Channel(d, this.#env(keys, () => ch));
    ch.on('state', (s) => this.#log.info({ channel: ch.id, state: s }, 'channel state'));
    this.#channels.set(ch.id, ch);
    return ch;
  }

  #env(keys: ChannelKeys, self: () => Channel): ChannelEnv {
    return {
      keys,
      log: this.#log,
      send: (msg) => this.#sendTo(self().data.peerId, msg),
      persist: (d) => this.#persist(d),
      revoked: (r) => this.#onRevoked(self(), r),
      shutdownScript: () => this.#walletScript(),
      closingFeerate: async () => BigInt(await this.#o.wallet.resolveFeerate('normal').catch(() => 1000)),
      fail: (reason) => this.#failChannel(self(), reason),
      publishClosing: async (txid, hex) => {
        await this.#publish(hex, 'closing transaction');
        this.#resolveClose(self().id, { type: 'mutual', tx: hex, txid });
      },
    };
  }

  async #walletScript(): Promise<Buffer> {
    const { address } = await this.#o.wallet.newAddress('p2wpkh');
    return Buffer.from(addressToScript(address, this.#o.wallet.keys.network));
  }

  async #persist(d: ChannelData): Promise<void> {
    await this.#o.store.save(channelSummary(d), encodeChannelData(d));
  }

  #sendTo(peerId: string, msg: ChannelMessage): boolean {
    const peer = this.#o.peers.peer(peerId);
    if (!peer || !peer.connected) return false;
    this.#log.debug({ peer: peerId, msg: messageName(msg.type) }, 'channel message out');
    return peer.send({ type: msg.type, unknown: true, payload: channelMessagePayload(msg) });
  }

  #sendError(peerId: string, channelId: Buffer, text: string): void {
    const peer = this.#o.peers.peer(peerId);
    if (peer?.connected) peer.send({ type: MessageType.ERROR, channelId, data: Buffer.from(text, 'utf8') });
  }

  /** The counterparty revoked a commitment: keep what the penalty needs, then back it up to the tower. */
  async #onRevoked(ch: Channel, r: RevokedCommitment): Promise<void> {
    const stored: RemoteCommit = { ...r.commit, spec: { ...r.commit.spec, htlcs: r.commit.spec.htlcs.map((h) => ({ direction: h.direction, add: { ...h.add, onion: Buffer.alloc(0) } })) } };
    await this.#o.store.addRevocation({
      txid: r.commit.txid,
      channelId: ch.id,
      commitNum: Number(r.commit.index),
      data: encodeRevocation({ commit: stored, secret: r.secret }),
    });
    const backups = this.#o.backups;
    if (!backups) return;
    // Persisted with the channel's next state write (which follows this call).
    ch.data.towerSweepScript ??= await this.#walletScript();
    try {
      await backups.backupState(r.channelId, Number(r.commit.index), this.#breachData(ch, r));
    } catch (err) {
      this.#log.warn({ channel: ch.id, err: (err as Error).message }, 'watchtower backup refused');
    }
  }

  #breachData(ch: Channel, r: RevokedCommitment): BreachData {
    const d = ch.data;
    const keys = this.#channelKeys(d.keyIndex);
    const tx = buildCommitment(d, 'remote', r.commit.index, r.commit.point, r.commit.spec);
    const toLocalIdx = tx.outputs.findIndex((o) => o.kind === 'to_local');
    const toRemoteIdx = tx.outputs.findIndex((o) => o.kind === 'to_remote');
    return {
      commitment: d.format === 'static_remotekey' ? 'legacy' : 'anchor',
      breachTxid: Buffer.from(r.commit.txid, 'hex').reverse(),
      revocationPubKey: Buffer.from(tx.params.keys.revocationPubkey),
      localDelayPubKey: Buffer.from(tx.params.keys.localDelayedPubkey),
      csvDelay: d.local.toSelfDelay,
      toLocal: toLocalIdx >= 0 ? { index: toLocalIdx, amountSat: tx.outputs[toLocalIdx]!.amountSat, revocationPrivKey: keys.revocationPrivkey(r.secret) } : undefined,
      toRemote:
        toRemoteIdx >= 0 ? { index: toRemoteIdx, amountSat: tx.outputs[toRemoteIdx]!.amountSat, pubKey: Buffer.from(keys.basepoints.paymentBasepoint), privKey: keys.paymentBaseSecret } : undefined,
      sweepScript: d.towerSweepScript!,
    };
  }

  // -------------------------------------------------------------------------------------------------
  // Peers

  #attach(peer: Peer): void {
    if (this.#attached.has(peer)) return;
    this.#attached.add(peer);
    const r = this.#reconnects.get(peer.id);
    if (r) {
      clearTimeout(r.timer);
      this.#reconnects.delete(peer.id);
    }
    peer.on('message', (m) => this.#onMessage(peer, m));
    for (const ch of this.#channels.values()) {
      if (ch.data.peerId === peer.id) ch.connect().catch((err: Error) => this.#log.warn({ err: err.message }, 'reestablish failed'));
    }
  }

  #detach(peer: Peer): void {
    for (const [id, p] of this.#pending) {
      if (p.peerId !== peer.id) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      if (p.funded) this.#o.wallet.release(p.funded).catch(() => undefined);
      p.reject?.(new ChannelError('INVALID', 'Peer disconnected during channel open'));
    }
    let wants = false;
    for (const ch of this.#channels.values()) {
      if (ch.data.peerId !== peer.id) continue;
      ch.disconnect().catch(() => undefined);
      if (this.#wantsPeer(ch)) wants = true;
    }
    if (wants) this.#scheduleReconnect(peer.id, 1000);
  }

  #wantsPeer(ch: Channel): boolean {
    return ['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_NORMAL', 'CHANNELD_SHUTTING_DOWN', 'CLOSINGD_SIGEXCHANGE'].includes(ch.data.state);
  }

  /** CLN's reconnection: 1 s, doubling to 300 s, until the peer is back (either direction). */
  #scheduleReconnect(peerId: string, delayMs: number): void {
    if (this.#stopped || this.#o.reconnect === false) return;
    const prev = this.#reconnects.get(peerId);
    if (prev?.timer) return;
    const state = prev ?? { delayMs: Math.max(delayMs, 1000) };
    this.#reconnects.set(peerId, state);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.#reconnect(peerId, state).catch(() => undefined);
    }, delayMs);
    state.timer.unref();
  }

  async #reconnect(peerId: string, state: { timer?: NodeJS.Timeout; delayMs: number }): Promise<void> {
    if (this.#stopped || this.#o.peers.peer(peerId)) return;
    const addrs = await this.#o.peerAddresses(peerId).catch(() => []);
    for (const a of addrs) {
      const m = /^(.*):(\d+)$/.exec(a);
      if (!m) continue;
      try {
        await this.#o.peers.connect(Buffer.from(peerId, 'hex'), m[1]!.replace(/^\[|\]$/g, ''), Number(m[2]));
        this.#log.info({ peer: peerId }, 'reconnected to channel peer');
        return;
      } catch (err) {
        this.#log.debug({ peer: peerId, err: (err as Error).message }, 'reconnect failed');
      }
    }
    if (this.#o.peers.peer(peerId)) return;
    const next = state.delayMs;
    state.delayMs = Math.min(state.delayMs * 2, MAX_BACKOFF_MS);
    this.#scheduleReconnect(peerId, next);
  }

  #onMessage(peer: Peer, m: Message): void {
    if (m.type === MessageType.ERROR) {
      const e = m as { channelId: Buffer; data: Buffer };
      this.#onPeerError(peer, e.channelId, e.data.toString('utf8'));
      return;
    }
    if (!('unknown' in m) || !m.unknown) return;
    if (!isChannelMessageType(m.type)) {
      // BOLT 7 gossip (channel_announcement, node_announcement, channel_update, announcement_signatures):
      // understood and ignored, since anode neither routes nor announces yet. Peers send channel_update
      // for private channels and announcement_signatures for public ones.
      if (m.type >= 256 && m.type <= 259) {
        this.#log.debug({ peer: peer.id, type: m.type }, 'ignoring gossip message');
        return;
      }
      if (isEvenType(m.type)) {
        peer.sendWarning(`unknown even message ${m.type}`);
        peer.close(`unknown even message ${m.type}`);
      }
      return;
    }
    let msg: ChannelMessage;
    try {
      msg = decodeChannelMessage(m.type, m.payload);
    } catch (err) {
      const text = err instanceof WireError ? err.message : 'malformed message';
      this.#log.warn({ peer: peer.id, err: text }, 'malformed channel message');
      peer.sendWarning(text);
      peer.close(`malformed ${messageName(m.type)}: ${text}`);
      return;
    }
    this.#log.debug({ peer: peer.id, msg: messageName(msg.type) }, 'channel message in');
    this.#dispatch(peer, msg).catch((err: Error) => {
      this.#log.warn({ peer: peer.id, err: err.message }, 'channel message failed');
    });
  }

  async #dispatch(peer: Peer, msg: ChannelMessage): Promise<void> {
    switch (msg.type) {
      case ChannelMessageType.OPEN_CHANNEL:
        return this.#onOpenChannel(peer, msg);
      case ChannelMessageType.ACCEPT_CHANNEL:
        return this.#onAcceptChannel(peer, msg);
      case ChannelMessageType.FUNDING_CREATED:
        return this.#onFundingCreated(peer, msg);
      case ChannelMessageType.FUNDING_SIGNED:
        return this.#onFundingSigned(peer, msg);
    }
    const id = (msg as { channelId: Buffer }).channelId.toString('hex');
    const ch = this.#channels.get(id);
    if (!ch || ch.data.peerId !== peer.id) {
      if (msg.type === ChannelMessageType.CHANNEL_REESTABLISH) this.#sendError(peer.id, (msg as { channelId: Buffer }).channelId, 'Unknown channel for reestablish');
      else this.#log.debug({ peer: peer.id, channel: id, msg: messageName(msg.type) }, 'message for an unknown channel');
      return;
    }
    if (!this.#wantsPeer(ch)) return;
    await ch.handle(msg);
  }

  #onPeerError(peer: Peer, channelId: Buffer, text: string): void {
    const all = channelId.equals(ZERO_ID);
    const pending = this.#pending.get(channelId.toString('hex'));
    if (pending) {
      this.#abortPending(channelId.toString('hex'), `Peer error: ${text}`);
      return;
    }
    for (const ch of this.#channels.values()) {
      if (ch.data.peerId !== peer.id) continue;
      if (!all && !ch.data.channelId.equals(channelId)) continue;
      if (!this.#wantsPeer(ch)) continue;
      this.#log.warn({ channel: ch.id, text }, 'peer sent error: failing the channel');
      this.#failChannel(ch, `peer sent error: ${text}`, false).catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Opening

  async fundChannel(req: FundChannelRequest): Promise<FundChannelResult> {
    const peer = this.#o.peers.peer(req.peerId);
    if (!peer || !peer.connected) throw new ChannelError('UNKNOWN_PEER', 'Unknown peer');
    const feeratePerKw = BigInt(req.feeratePerKw ?? (await this.#o.wallet.resolveFeerate('normal')));
    const fundingSat = req.amountSat === 'all' ? await this.#fundAllAmount(feeratePerKw, req.minconf) : req.amountSat;
    if (fundingSat < this.#cfg.minFundingSat) throw new ChannelError('INVALID_AMOUNT', `amount ${fundingSat} is below the minimum channel size ${this.#cfg.minFundingSat}`);
    if (fundingSat > this.#cfg.maxFundingSat) throw new ChannelError('INVALID_AMOUNT', `amount ${fundingSat} exceeds the maximum channel size ${this.#cfg.maxFundingSat}`);
    const pushMsat = req.pushMsat ?? 0n;
    if (pushMsat < 0n || pushMsat > fundingSat * 1000n) throw new ChannelError('INVALID_AMOUNT', 'push_msat exceeds the channel amount');
    const keys = this.#channelKeys(await this.#o.store.nextKeyIndex());
    const format = req.format ?? 'static_remotekey';
    const temp = randomBytes(32);
    const local = localParams(keys, this.#cfg, fundingSat);
    const p: PendingOpen = { role: 'funder', peerId: peer.id, keys, local, fundingSat, pushMsat, feeratePerKw, format, announce: req.announce ?? true, minimumDepth: 0, minconf: req.minconf };
    const result = new Promise<FundChannelResult>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    p.timer = setTimeout(() => this.#abortPending(temp.toString('hex'), 'Timed out waiting for the peer to accept the channel'), 60_000);
    this.#pending.set(temp.toString('hex'), p);
    const open: OpenChannel = {
      type: ChannelMessageType.OPEN_CHANNEL,
      chainHash: this.#o.chainHash,
      temporaryChannelId: temp,
      fundingSatoshis: fundingSat,
      pushMsat,
      ...announcedFields(local, keys.point(0n)),
      feeratePerKw: Number(feeratePerKw),
      channelFlags: p.announce ? 1 : 0,
      channelType: formatChannelType(format),
      extraTlvs: [],
    };
    p.open = open;
    this.#sendTo(peer.id, open);
    return result.finally(() => clearTimeout(p.timer));
  }

  async #fundAllAmount(feeratePerKw: bigint, minconf?: number): Promise<bigint> {
    // Any P2WSH output has the size of the funding output.
    const dummy = Buffer.concat([Buffer.from([0x00, 0x20]), Buffer.alloc(32)]);
    const f = await this.#o.wallet.fundTransaction({ outputs: [{ script: dummy, amountSat: 'all' }], feeRateSatPerKw: Number(feeratePerKw), minconf });
    await this.#o.wallet.release(f);
    const amt = f.outputAmounts[0]!;
    return amt > this.#cfg.maxFundingSat ? this.#cfg.maxFundingSat : amt;
  }

  /** Gives up an open in progress; the caller's promise rejects with `cause` (e.g. the wallet's error) when given. */
  #abortPending(tempId: string, reason: string, cause?: Error): void {
    const p = this.#pending.get(tempId);
    if (!p) return;
    this.#pending.delete(tempId);
    clearTimeout(p.timer);
    if (p.funded) this.#o.wallet.release(p.funded).catch(() => undefined);
    p.reject?.(cause ?? new ChannelError('INVALID', reason));
    this.#sendError(p.peerId, Buffer.from(tempId, 'hex'), reason);
  }

  #remoteParams(m: ChannelParamsFields): SideParams {
    return {
      dustLimitSat: m.dustLimitSatoshis,
      maxHtlcValueInFlightMsat: m.maxHtlcValueInFlightMsat,
      channelReserveSat: m.channelReserveSatoshis,
      htlcMinimumMsat: m.htlcMinimumMsat,
      toSelfDelay: m.toSelfDelay,
      maxAcceptedHtlcs: m.maxAcceptedHtlcs,
      fundingPubkey: Buffer.from(m.fundingPubkey),
      revocationBasepoint: Buffer.from(m.revocationBasepoint),
      paymentBasepoint: Buffer.from(m.paymentBasepoint),
      delayedPaymentBasepoint: Buffer.from(m.delayedPaymentBasepoint),
      htlcBasepoint: Buffer.from(m.htlcBasepoint),
      upfrontShutdownScript: m.upfrontShutdownScript && m.upfrontShutdownScript.length > 0 ? Buffer.from(m.upfrontShutdownScript) : undefined,
    };
  }

  async #onAcceptChannel(peer: Peer, m: AcceptChannel): Promise<void> {
    const tempId = m.temporaryChannelId.toString('hex');
    const p = this.#pending.get(tempId);
    if (!p || p.role !== 'funder' || p.peerId !== peer.id || p.accept) {
      this.#sendError(peer.id, m.temporaryChannelId, 'Unexpected accept_channel');
      return;
    }
    p.accept = m;
    try {
      const remote = this.#remoteParams(m);
      checkRemoteParams(remote, p.local, this.#cfg, p.fundingSat);
      if (m.minimumDepth > 144) throw new ChannelError('INVALID', `minimum_depth ${m.minimumDepth} is unreasonably large`);
      if (m.channelType && channelTypeFormat(Buffer.from(m.channelType)) !== p.format) throw new ChannelError('INVALID', 'accept_channel: channel_type differs from the one we proposed');
      const script = p2wsh(fundingScript(p.local.fundingPubkey, remote.fundingPubkey));
      const funded = await this.#o.wallet.fundTransaction({ outputs: [{ script, amountSat: p.fundingSat }], feeRateSatPerKw: Number(p.feeratePerKw), minconf: p.minconf });
      p.funded = funded;
      const vout = 0;
      const txidInternal = Buffer.from(funded.txid, 'hex').reverse();
      const channelId = channelIdFromFunding(txidInternal, vout);
      const d = initialChannelData({
        temporaryChannelId: m.temporaryChannelId,
        channelId,
        peerId: peer.id,
        opener: 'local',
        format: p.format,
        keyIndex: p.keys.index,
        fundingSat: p.fundingSat,
        pushMsat: p.pushMsat,
        feeratePerKw: p.feeratePerKw,
        funding: { txid: funded.txid, vout },
        fundingTxHex: funded.hex,
        minimumDepth: Math.max(1, m.minimumDepth),
        announce: p.announce,
        local: p.local,
        remote,
        remoteFirstPoint: Buffer.from(m.firstPerCommitmentPoint),
      });
      const signed = signRemoteCommitment(d, p.keys, 0n, d.remoteCommit.point, d.remoteCommit.spec);
      d.remoteCommit.txid = signed.txid;
      p.data = d;
      const fc: FundingCreated = { type: ChannelMessageType.FUNDING_CREATED, temporaryChannelId: m.temporaryChannelId, fundingTxid: txidInternal, fundingOutputIndex: vout, signature: signed.sig, extraTlvs: [] };
      this.#sendTo(peer.id, fc);
    } catch (err) {
      this.#abortPending(tempId, (err as Error).message, err instanceof ChannelError ? undefined : (err as Error));
    }
  }

  async #onFundingSigned(peer: Peer, m: FundingSigned): Promise<void> {
    const entry = [...this.#pending.entries()].find(([, p]) => p.role === 'funder' && p.peerId === peer.id && p.data?.channelId.equals(m.channelId));
    if (!entry) {
      this.#sendError(peer.id, m.channelId, 'Unexpected funding_signed');
      return;
    }
    const [tempId, p] = entry;
    const d = p.data!;
    const checked = checkLocalCommitment(d, p.keys, 0n, d.localCommit.spec, Buffer.from(m.signature), []);
    if ('error' in checked) {
      this.#abortPending(tempId, `funding_signed: ${checked.error}`);
      return;
    }
    d.localCommit = { ...d.localCommit, txid: checked.txid, remoteSig: Buffer.from(m.signature) };
    this.#pending.delete(tempId);
    clearTimeout(p.timer);
    // Persist before publishing: from here on the funds are in the channel.
    await this.#persist(d);
    const ch = this.#addChannel(d);
    ch.startFresh();
    try {
      await this.#o.wallet.broadcast(p.funded!);
    } catch (err) {
      this.#log.error({ channel: ch.id, err: (err as Error).message }, 'funding broadcast failed; will retry on the next block');
    }
    p.resolve?.({ tx: p.funded!.hex, txid: p.funded!.txid, outnum: 0, channelId: ch.id, channelType: d.channelType, format: d.format });
  }

  async #onOpenChannel(peer: Peer, m: OpenChannel): Promise<void> {
    const tempId = m.temporaryChannelId.toString('hex');
    const refuse = (reason: string): void => this.#sendError(peer.id, m.temporaryChannelId, reason);
    if (this.#pending.has(tempId)) return refuse('temporary_channel_id already in use');
    if (!m.chainHash.equals(this.#o.chainHash)) return refuse('Unknown chain_hash');
    if (m.fundingSatoshis < this.#cfg.minFundingSat) return refuse(`funding_satoshis ${m.fundingSatoshis} is below our minimum ${this.#cfg.minFundingSat}`);
    if (m.fundingSatoshis > this.#cfg.maxFundingSat) return refuse(`funding_satoshis ${m.fundingSatoshis} is above our maximum ${this.#cfg.maxFundingSat}`);
    if (m.pushMsat > m.fundingSatoshis * 1000n) return refuse('push_msat is greater than funding_satoshis * 1000');
    if (m.feeratePerKw < 253 || m.feeratePerKw > 100_000) return refuse(`feerate_per_kw ${m.feeratePerKw} is out of range`);
    let format: CommitmentFormat = 'static_remotekey';
    if (m.channelType) {
      const f = channelTypeFormat(Buffer.from(m.channelType));
      if (!f) return refuse(`Unsupported channel_type ${Buffer.from(m.channelType).toString('hex')}`);
      format = f;
    }
    const keys = this.#channelKeys(await this.#o.store.nextKeyIndex());
    const local = localParams(keys, this.#cfg, m.fundingSatoshis);
    const remote = this.#remoteParams(m);
    try {
      checkRemoteParams(remote, local, this.#cfg, m.fundingSatoshis);
    } catch (err) {
      return refuse((err as Error).message);
    }
    // The opener must afford the first commitment's fee and its reserve.
    const p: PendingOpen = { role: 'fundee', peerId: peer.id, keys, local, fundingSat: m.fundingSatoshis, pushMsat: m.pushMsat, feeratePerKw: BigInt(m.feeratePerKw), format, announce: (m.channelFlags & 1) === 1, minimumDepth: this.#cfg.minimumDepth, open: m };
    p.timer = setTimeout(() => this.#abortPending(tempId, 'Timed out waiting for funding_created'), 60_000);
    this.#pending.set(tempId, p);
    const accept: AcceptChannel = {
      type: ChannelMessageType.ACCEPT_CHANNEL,
      temporaryChannelId: m.temporaryChannelId,
      ...announcedFields(local, keys.point(0n)),
      minimumDepth: this.#cfg.minimumDepth,
      channelType: m.channelType ? Buffer.from(m.channelType) : undefined,
      extraTlvs: [],
    };
    this.#sendTo(peer.id, accept);
  }

  async #onFundingCreated(peer: Peer, m: FundingCreated): Promise<void> {
    const tempId = m.temporaryChannelId.toString('hex');
    const p = this.#pending.get(tempId);
    if (!p || p.role !== 'fundee' || p.peerId !== peer.id) {
      this.#sendError(peer.id, m.temporaryChannelId, 'Unexpected funding_created');
      return;
    }
    const open = p.open!;
    const channelId = channelIdFromFunding(m.fundingTxid, m.fundingOutputIndex);
    if (this.#channels.has(channelId.toString('hex'))) return this.#abortPending(tempId, 'Channel id already in use');
    const d = initialChannelData({
      temporaryChannelId: m.temporaryChannelId,
      channelId,
      peerId: peer.id,
      opener: 'remote',
      format: p.format,
      keyIndex: p.keys.index,
      fundingSat: p.fundingSat,
      pushMsat: p.pushMsat,
      feeratePerKw: p.feeratePerKw,
      funding: { txid: Buffer.from(m.fundingTxid).reverse().toString('hex'), vout: m.fundingOutputIndex },
      minimumDepth: p.minimumDepth,
      announce: p.announce,
      local: p.local,
      remote: this.#remoteParams(open),
      remoteFirstPoint: Buffer.from(open.firstPerCommitmentPoint),
    });
    let checked: ReturnType<typeof checkLocalCommitment>;
    try {
      checked = checkLocalCommitment(d, p.keys, 0n, d.localCommit.spec, Buffer.from(m.signature), []);
    } catch (err) {
      return this.#abortPending(tempId, (err as Error).message);
    }
    if ('error' in checked) return this.#abortPending(tempId, `funding_created: ${checked.error}`);
    d.localCommit = { ...d.localCommit, txid: checked.txid, remoteSig: Buffer.from(m.signature) };
    const signed = signRemoteCommitment(d, p.keys, 0n, d.remoteCommit.point, d.remoteCommit.spec);
    d.remoteCommit.txid = signed.txid;
    this.#pending.delete(tempId);
    clearTimeout(p.timer);
    await this.#persist(d);
    const ch = this.#addChannel(d);
    ch.startFresh();
    this.#sendTo(peer.id, { type: ChannelMessageType.FUNDING_SIGNED, channelId, signature: signed.sig, extraTlvs: [] } as FundingSigned);
  }

  // -------------------------------------------------------------------------------------------------
  // Closing

  #resolveClose(channelId: string, r: CloseResult): void {
    const ws = this.#closeWaiters.get(channelId);
    if (!ws) return;
    this.#closeWaiters.delete(channelId);
    for (const w of ws) w(r);
  }

  /**
   * CLN's `close`: a mutual close when the peer is connected; after `unilateralTimeoutS` (0 = wait
   * forever) without one, our commitment is published.
   */
  async close(ch: Channel, unilateralTimeoutS: number): Promise<CloseResult> {
    const d = ch.data;
    if (d.state === 'CLOSINGD_COMPLETE' && d.closing?.txHex) return { type: 'mutual', tx: d.closing.txHex, txid: d.closing.txid! };
    if (!this.#wantsPeer(ch)) throw new ChannelError('INVALID', `Channel is in state ${d.state}`);
    const done = new Promise<CloseResult>((resolve) => {
      const list = this.#closeWaiters.get(ch.id) ?? [];
      list.push(resolve);
      this.#closeWaiters.set(ch.id, list);
    });
    if (ch.connected) {
      ch.shutdown().catch((err: Error) => this.#log.warn({ channel: ch.id, err: err.message }, 'shutdown failed'));
    }
    let timer: NodeJS.Timeout | undefined;
    if (unilateralTimeoutS > 0) {
      timer = setTimeout(() => {
        this.#failChannel(ch, 'Forcibly closed by `close` command timeout').catch(() => undefined);
      }, unilateralTimeoutS * 1000);
    }
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Fails the channel: tell the peer (unless it told us) and publish our latest commitment. */
  async #failChannel(ch: Channel, reason: string, tellPeer = true): Promise<void> {
    if (!this.#wantsPeer(ch) && ch.data.state !== 'CLOSINGD_COMPLETE') return;
    if (tellPeer) this.#sendError(ch.data.peerId, ch.data.channelId, reason);
    ch.data.failure = reason;
    const { txid, hex } = ch.localCommitmentTx();
    await ch.setOnchainState('AWAITING_UNILATERAL');
    await this.#publish(hex, 'our commitment');
    this.#resolveClose(ch.id, { type: 'unilateral', tx: hex, txid });
  }

  async #publish(hex: string, what: string): Promise<void> {
    try {
      await this.#o.chain.sendRawTransaction(hex);
      this.#log.info({ what }, 'published');
    } catch (err) {
      this.#log.warn({ what, err: (err as Error).message }, 'publish failed (will retry on the next block)');
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Chain

  async #onBlock(b: ConnectedBlock): Promise<void> {
    this.#height = b.height;
    // Live funding outputs and unconfirmed sweeps, looked up once per transaction of the block.
    const byFunding = new Map<string, Channel>();
    const sweeps = new Map<string, { ch: Channel; sweep: NonNullable<ChannelData['onchain']>['sweeps'][number] }>();
    for (const ch of this.#channels.values()) {
      const oc = ch.data.onchain;
      if (!oc) byFunding.set(`${ch.data.funding.txid}:${ch.data.funding.vout}`, ch);
      else for (const sweep of oc.sweeps) if (sweep.confirmedAt === undefined) sweeps.set(sweep.txid, { ch, sweep });
    }
    const txIndex = new Map<string, number>();
    b.block.transactions.forEach((tx, i) => txIndex.set(tx.txid, i));
    for (const ch of byFunding.values()) {
      const d = ch.data;
      if (!d.fundingConfirmation && txIndex.has(d.funding.txid)) {
        d.fundingConfirmation = { height: b.height, txIndex: txIndex.get(d.funding.txid)! };
        await this.#persist(d);
      }
    }
    for (const tx of b.block.transactions) {
      for (const input of tx.inputs) {
        const ch = byFunding.get(`${input.txid}:${input.vout}`);
        if (ch && !ch.data.onchain) await this.#onFundingSpent(ch, tx, b.height);
      }
      const swept = sweeps.get(tx.txid);
      if (swept) {
        swept.sweep.confirmedAt = b.height;
        await this.#persist(swept.ch.data);
      }
    }
    for (const ch of this.#channels.values()) {
      const d = ch.data;
      if (d.state === 'CHANNELD_AWAITING_LOCKIN' && d.fundingConfirmation && b.height - d.fundingConfirmation.height + 1 >= d.minimumDepth && !d.localReadySent) {
        await ch.fundingLocked(`${d.fundingConfirmation.height}x${d.fundingConfirmation.txIndex}x${d.funding.vout}`);
      }
      if (d.state === 'CHANNELD_AWAITING_LOCKIN' && !d.fundingConfirmation && d.fundingTxHex) await this.#publish(d.fundingTxHex, 'funding transaction');
      if (d.state === 'AWAITING_UNILATERAL') await this.#publish(ch.localCommitmentTx().hex, 'our commitment');
      if (d.state === 'CLOSINGD_COMPLETE' && d.closing?.txHex) await this.#publish(d.closing.txHex, 'closing transaction');
      if (d.onchain) await this.#progressOnchain(ch, b.height);
    }
  }

  async #onDisconnect(tip: BlockTip): Promise<void> {
    this.#height = tip.height - 1;
    for (const ch of this.#channels.values()) {
      const c = ch.data.fundingConfirmation;
      if (c && c.height >= tip.height && ch.data.state === 'CHANNELD_AWAITING_LOCKIN') {
        ch.data.fundingConfirmation = undefined;
        await this.#persist(ch.data);
      }
    }
  }

  /** The funding output was spent: work out by whom and what we can take. */
  async #onFundingSpent(ch: Channel, tx: BlockTransaction, height: number): Promise<void> {
    const d = ch.data;
    const keys = this.#channelKeys(d.keyIndex);
    const inputs: SweepInput[] = [];
    let kind: NonNullable<ChannelData['onchain']>['kind'] = 'unknown';
    const pending: { what: string; notBefore: number }[] = [];
    if (d.closing?.txid === tx.txid) {
      kind = 'mutual';
    } else if (d.localCommit.txid === tx.txid) {
      kind = 'local';
      const c = buildCommitment(d, 'local', d.localCommit.index, keys.point(d.localCommit.index), d.localCommit.spec);
      if (c.outputs.some((o) => o.kind === 'to_local')) pending.push({ what: 'to_local', notBefore: height + d.remote.toSelfDelay });
    } else {
      const rev = await this.#o.store.findRevocation(tx.txid);
      const remotes = [d.remoteCommit, d.nextRemoteCommit].filter((x): x is RemoteCommit => x !== undefined);
      const current = remotes.find((r) => r.txid === tx.txid);
      if (rev) {
        kind = 'revoked';
        const { commit, secret } = decodeRevocation(rev.data);
        const c = buildCommitment(d, 'remote', commit.index, commit.point, commit.spec);
        inputs.push(...penaltyInputs({ commitment: c, txid: tx.txid, revocationPrivkey: keys.revocationPrivkey(secret), toRemotePrivkey: keys.paymentBaseSecret }));
        this.#log.warn({ channel: ch.id, txid: tx.txid, commit: commit.index.toString() }, 'counterparty published a REVOKED commitment: sweeping it all');
      } else if (current) {
        kind = 'remote';
        const c = buildCommitment(d, 'remote', current.index, current.point, current.spec);
        const i = toRemoteInput({ commitment: c, txid: tx.txid, privkey: keys.paymentBaseSecret });
        if (i) {
          if (i.kind === 'to_remote_anchors') pending.push({ what: 'to_remote', notBefore: height + 1 });
          else inputs.push(i);
        }
      }
    }
    d.onchain = { spendTxid: tx.txid, kind, height, sweeps: [], pending };
    d.state = kind === 'mutual' ? 'ONCHAIN' : 'FUNDING_SPEND_SEEN';
    this.#log.info({ channel: ch.id, kind, txid: tx.txid }, 'funding output spent');
    await this.#o.backups?.markChannelClosed?.(d.channelId, height).catch((err: Error) => this.#log.warn({ err: err.message }, 'wtclient: markChannelClosed failed'));
    if (inputs.length > 0) await this.#sweep(ch, inputs, kind === 'revoked' ? 'penalty' : 'to_remote', height);
    await ch.setOnchainState(kind === 'mutual' ? 'ONCHAIN' : 'FUNDING_SPEND_SEEN');
    this.#resolveClose(ch.id, { type: kind === 'mutual' ? 'mutual' : 'unilateral', tx: Buffer.from(tx.raw).toString('hex'), txid: tx.txid });
  }

  async #sweep(ch: Channel, inputs: SweepInput[], what: string, height: number): Promise<void> {
    const d = ch.data;
    const dest = await this.#walletScript();
    const feerate = BigInt(await this.#o.wallet.resolveFeerate('normal').catch(() => 1000));
    try {
      const tx = buildSweepTx({ inputs, destScript: dest, feeratePerKw: feerate, lockTime: height });
      d.onchain!.sweeps.push({ txid: tx.txid, hex: tx.hex, notBefore: height, what });
      await this.#persist(d);
      await this.#publish(tx.hex, `sweep (${what})`);
    } catch (err) {
      this.#log.error({ channel: ch.id, what, err: (err as Error).message }, 'cannot build sweep');
    }
  }

  async #progressOnchain(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    const oc = d.onchain!;
    const keys = this.#channelKeys(d.keyIndex);
    for (const p of oc.pending.slice()) {
      if (height + 1 < p.notBefore) continue;
      let input: SweepInput | null = null;
      if (p.what === 'to_local') {
        const point = keys.point(d.localCommit.index);
        const c = buildCommitment(d, 'local', d.localCommit.index, point, d.localCommit.spec);
        input = delayedToLocalInput({ commitment: c, txid: oc.spendTxid, delayedPrivkey: keys.delayedPrivkey(point) });
      } else if (p.what === 'to_remote') {
        const r = [d.remoteCommit, d.nextRemoteCommit].find((x) => x?.txid === oc.spendTxid);
        if (r) input = toRemoteInput({ commitment: buildCommitment(d, 'remote', r.index, r.point, r.spec), txid: oc.spendTxid, privkey: keys.paymentBaseSecret });
      }
      oc.pending = oc.pending.filter((x) => x !== p);
      if (input) await this.#sweep(ch, [input], p.what, height);
      else await this.#persist(d);
    }
    for (const s of oc.sweeps) if (s.confirmedAt === undefined) await this.#publish(s.hex, `sweep (${s.what})`);
    const settled = oc.pending.length === 0 && oc.sweeps.every((s) => s.confirmedAt !== undefined);
    if (d.state === 'FUNDING_SPEND_SEEN' && settled) await ch.setOnchainState('ONCHAIN');
    if (d.state === 'ONCHAIN' && settled && height >= oc.height + 100) await ch.setOnchainState('CLOSED');
  }

  // -------------------------------------------------------------------------------------------------
  // Queries

  list(): Channel[] {
    return [...this.#channels.values()].sort((a, b) => a.data.createdAt - b.data.createdAt);
  }

  get(id: string): Channel | undefined {
    return this.#channels.get(id);
  }

  /** A channel by channel id, short channel id, or the peer id (its only live channel). */
  find(ref: string): Channel | undefined {
    const byId = this.#channels.get(ref);
    if (byId) return byId;
    const all = this.list();
    const scid = all.find((c) => c.data.shortChannelId === ref);
    if (scid) return scid;
    const live = all.filter((c) => c.data.peerId === ref && this.#wantsPeer(c));
    if (live.length > 0) return live[live.length - 1];
    return undefined;
  }

  isPeerConnected(peerId: string): boolean {
    return this.#o.peers.peer(peerId)?.connected ?? false;
  }
}

/** The `channels` row of a channel (what listings read without decoding the state). */
export function channelSummary(d: ChannelData): ChannelSummary {
  return {
    channelId: d.channelId.toString('hex'),
    peerId: d.peerId,
    state: d.state,
    opener: d.opener,
    shortChannelId: d.shortChannelId ?? null,
    fundingTxid: d.funding.txid,
    fundingOutnum: d.funding.vout,
    capacitySat: Number(d.fundingSat),
    createdAt: d.createdAt,
  };
}

/** A revoked commitment as stored (the channel state's JSON form: bigints and buffers kept exact). */
function encodeRevocation(r: { commit: RemoteCommit; secret: Buffer }): string {
  return encodeStored(r);
}

function decodeRevocation(text: string): { commit: RemoteCommit; secret: Buffer } {
  return decodeStored(text) as { commit: RemoteCommit; secret: Buffer };
}
