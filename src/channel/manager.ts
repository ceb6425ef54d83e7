/**
 * The node's channels, as the API sees them: the facade the JSON-RPC shell and the node wrap. It wires
 * the parts — the registry, establishment ({@link Funding}), reconnection, the on-chain sweeper — to the
 * peers (through the message router), the chain (one block watcher) and the store, routes BOLT 2
 * messages to each channel, and runs closes.
 */
import type { Logger } from 'pino';
import type { BlockListener, ConnectedBlock, Subscription, TipStore } from '../chain/notifier.js';
import { ChainNotifier } from '../chain/notifier.js';
import type { BlockTip, ChainSource } from '../chain/chain-source.js';
import type { KeyChain } from '../crypto/keychain.js';
import type { PeerManager } from '../peer/manager.js';
import type { Peer } from '../peer/peer.js';
import { MessageRouter } from '../peer/router.js';
import type { ChannelDataRepository, ChannelSummary } from '../store/channel-data.js';
import { isUnknownMessage, MessageType, type ErrorMsg, type Message } from '../wire/messages.js';
import { WireError } from '../wire/errors.js';
import { Feature } from '../wire/features.js';
import { addressToScript } from '../wallet/keys.js';
import { revokedStateBackup, type BackupSink } from './backup.js';
import { Channel, type ChannelEnv, type RevokedCommitment } from './channel.js';
import { enforceHtlcDeadlines } from './deadlines.js';
import { ChannelError } from './errors.js';
import { acceptableFeerates, DEFAULT_FEE_POLICY, MAX_FEERATE_PER_KW, maxAffordableFeerate, openerFeerateUpdate, type FeePolicy } from './fee-policy.js';
import { OutcomeWrites } from './outcome-writes.js';
import { Funding, type ChannelWallet, type FundChannelRequest, type FundChannelResult } from './funding.js';
import { channelMessagePayload, ChannelMessageType, decodeChannelMessage, messageName, type ChannelMessage } from './messages.js';
import { Sweeper } from './onchain/sweeper.js';
import type { PreimageSource } from './onchain/resolver.js';
import type { OfferedHtlcOutcome } from './onchain/outcomes.js';
import { DEFAULT_CHANNEL_CONFIG, type ChannelConfig } from './open.js';
import { Reconnector } from './reconnect.js';
import { ChannelRegistry } from './registry.js';
import type { ChannelKeys } from './signer.js';
import { decodeChannelData, encodeChannelData, encodeRevocation, type ChannelData, type HtlcAdd, type RemoteCommit } from './state.js';

export type { BackupSink } from './backup.js';
export type { ChannelWallet, FundChannelRequest, FundChannelResult } from './funding.js';

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
  /**
   * The router shared with the other message consumers (gossip, onion messages); its owner starts it once
   * every consumer has registered. Default: one of our own over `peers`, started with the channels.
   */
  router?: MessageRouter;
  /** The commitment feerate policy (update_fee both ways); default {@link DEFAULT_FEE_POLICY}. */
  feePolicy?: Partial<FeePolicy>;
  /** Channels (hex id) whose opener may set any update_fee feerate (CLN setchannel's ignorefeelimits). */
  ignoreFeeLimits?: (channelId: string) => boolean;
  /** Each HTLC a peer offered, once irrevocably committed (again after a restart): the node's HTLC intake. None: left to the caller (dev-fulfillhtlc, dev-failhtlc). */
  incomingHtlc?: (ch: Channel, htlc: HtlcAdd) => void;
  /**
   * Each HTLC we offered, once fulfilled (preimage) or failed (reason): the payment sender and the switch.
   * A returned promise is the outcome's write: the channel writes no state before it settles (a fulfil
   * arrives before the state without the HTLC, and a restart reads an HTLC gone with no outcome as failed).
   */
  offeredHtlcSettled?: (ch: Channel, ev: { id: bigint; preimage?: Buffer; failure?: Buffer; malformed?: { failureCode: number; sha256OfOnion: Buffer } }) => void | Promise<void>;
  /** Preimages known beyond the channels' own fulfills (the HTLC intake's paid invoices), for the incoming-HTLC deadline. */
  preimage?: (paymentHash: Buffer) => Buffer | undefined;
  /** Preimages the on-chain resolver claims HTLCs offered to us with, beyond the channels' own fulfils (paid invoices; forwards). */
  preimages?: PreimageSource;
  /** Each HTLC we offered once resolved on chain (fulfilled with its preimage, or failed), at every block while its channel resolves: the payment sender. */
  offeredHtlcOnChain?: (ch: Channel, ev: OfferedHtlcOutcome) => void;
  /** Each channel_reestablish exchanged (every reconnection): our channel_update goes to the peer again. */
  reestablished?: (ch: Channel) => void;
}

export interface CloseResult {
  type: 'mutual' | 'unilateral';
  tx: string;
  txid: string;
}

const ZERO_ID = Buffer.alloc(32);

export class ChannelManager {
  readonly #o: ChannelManagerOptions;
  readonly #cfg: ChannelConfig;
  readonly #log: Logger;
  readonly #registry: ChannelRegistry;
  readonly #router: MessageRouter;
  /** Whether the router is ours to start (none was given). */
  readonly #ownRouter: boolean;
  readonly #reconnector: Reconnector;
  readonly #sweeper: Sweeper;
  readonly #funding: Funding;
  readonly #closeWaiters = new Map<string, ((r: CloseResult) => void)[]>();
  #watcher: Subscription | undefined;
  #height = 0;
  readonly #feePolicy: FeePolicy;
  /** Per channel we opened: the feerate last seen, and when we (or an operator) last moved it. */
  readonly #fees = new Map<string, { feeratePerKw: bigint; at?: number }>();
  #followingFees = false;
  /** Who hears every channel's state (the API's channel event streams): set by {@link watchChannels}. */
  readonly #watchers = new Set<(ch: Channel, state: string) => void>();
  /** Closing feerates asked for by the operator (LND's CloseChannel target_conf / sat_per_vbyte), per channel. */
  readonly #closeFeerates = new Map<string, bigint>();
  #loaded = false;
  /** Outcome writes of HTLCs we offered still in flight, per channel: its next state write waits for them. */
  readonly #outcomes = new OutcomeWrites();

  constructor(opts: ChannelManagerOptions) {
    this.#o = opts;
    this.#cfg = { ...DEFAULT_CHANNEL_CONFIG, ...opts.config };
    this.#log = opts.log;
    this.#feePolicy = { ...DEFAULT_FEE_POLICY, ...opts.feePolicy };
    this.#registry = new ChannelRegistry(opts.keychain);
    this.#reconnector = new Reconnector({ peers: opts.peers, peerAddresses: opts.peerAddresses, enabled: opts.reconnect !== false, log: this.#log });
    this.#sweeper = new Sweeper({
      chain: opts.chain,
      registry: this.#registry,
      revocations: opts.store,
      preimages: opts.preimages,
      offeredHtlcResolved: opts.offeredHtlcOnChain,
      backups: opts.backups,
      walletScript: () => this.#walletScript(),
      feeratePerKw: () => this.#feeratePerKw(),
      estimateFeerate: async (blocks) => {
        const est = await opts.chain.estimateFeeSatPerKw(blocks).catch(() => null);
        return est === null ? null : BigInt(est.feeRateSatPerKw);
      },
      fundFeeInputs: async (outputs, feeratePerKw) => {
        const f = await opts.wallet.fundTransaction({ outputs, feeRateSatPerKw: Number(feeratePerKw) });
        return { txid: f.txid, hex: f.hex, broadcast: async () => void (await opts.wallet.broadcast(f)) };
      },
      log: this.#log,
      closed: (ch, type, txid, tx) => {
        this.#resolveClose(ch.id, { type, tx, txid });
        // The funding spend is in a block: news for the channel watchers (fundingSpent emits no state change).
        for (const w of this.#watchers) w(ch, ch.data.state);
      },
    });
    this.#funding = new Funding({
      peers: opts.peers,
      wallet: opts.wallet,
      nextKeyIndex: () => opts.store.nextKeyIndex(),
      chainHash: opts.chainHash,
      config: this.#cfg,
      registry: this.#registry,
      log: this.#log,
      send: (peerId, msg) => this.#sendTo(peerId, msg),
      sendError: (peerId, channelId, text) => this.#sendError(peerId, channelId, text),
      persist: (d) => this.#persist(d),
      addChannel: (d) => this.#addChannel(d),
      publish: async (hex, what) => void (await this.#sweeper.publish(hex, what)),
    });
    this.#ownRouter = opts.router === undefined;
    this.#router = opts.router ?? new MessageRouter(opts.peers, this.#log);
    for (const type of Object.values(ChannelMessageType)) this.#router.handle(type, (peer, m) => this.#onChannelMessage(peer, m));
    this.#router.handle(MessageType.ERROR, (peer, m) => this.#onPeerError(peer, m));
    this.#router.watch({ connected: (p) => this.#attach(p), disconnected: (p) => this.#detach(p) });
  }

  get config(): ChannelConfig {
    return this.#cfg;
  }

  /** The best block the channels have processed (null before the first). */
  get tip(): BlockTip | null {
    return this.#watcher?.tip ?? null;
  }

  /** LND's BumpFee: the sweep of `outpoint` replaced at a higher fee rate (onchain/sweeper.ts). */
  bumpFee(outpoint: string, pref: Parameters<Sweeper['bumpFee']>[1]): ReturnType<Sweeper['bumpFee']> {
    return this.#sweeper.bumpFee(outpoint, pref, this.blockHeight);
  }

  /** LND's PendingSweeps: the outputs of closed channels still to resolve, with their live sweeps. */
  pendingSweeps(): ReturnType<Sweeper['pendingSweeps']> {
    return this.#sweeper.pendingSweeps();
  }

  get blockHeight(): number {
    return this.#watcher?.tip?.height ?? this.#height;
  }

  async start(): Promise<void> {
    for (const row of await this.#o.store.loadAll()) {
      const d = decodeChannelData(row.data);
      this.#addChannel(d);
    }
    this.#loaded = true;
    if (this.#ownRouter) this.#router.start();
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
      onError: (err, { quiet }) => (quiet ? this.#log.debug : this.#log.warn).call(this.#log, { err: err.message }, 'channels: chain poll failed'),
    });
    // With its own router the manager serves the peers at once; a shared router is started by the node,
    // which dials them (reconnectAll) only then: a peer's channel_reestablish must find its handler.
    if (this.#ownRouter) this.reconnectAll();
  }

  /** Dials the peers of live channels we are not connected to (call once the message router runs). */
  reconnectAll(): void {
    for (const ch of this.#registry.all()) if (ch.open) this.#reconnector.schedule(ch.data.peerId, 0);
  }

  async stop(): Promise<void> {
    this.#reconnector.stop();
    await this.#watcher?.stop();
    this.#funding.stop();
  }

  /** Polls the chain now (tests and RPC calls that must see the newest blocks). */
  async syncChain(): Promise<void> {
    await this.#watcher?.syncOnce();
  }

  // -------------------------------------------------------------------------------------------------
  // Channels and their environment

  #addChannel(d: ChannelData): Channel {
    const keys = this.#registry.keys(d.keyIndex);
    const ch = new Channel(d, this.#env(keys, () => ch));
    ch.on('state', (s) => {
      this.#log.info({ channel: ch.id, state: s }, 'channel state');
      for (const w of this.#watchers) w(ch, s);
    });
    if (this.#o.incomingHtlc) ch.on('htlcReceived', (h) => this.#o.incomingHtlc!(ch, h));
    if (this.#o.offeredHtlcSettled) ch.on('htlcSettled', (ev) => this.#outcomes.track(ch.id, this.#o.offeredHtlcSettled!(ch, ev)));
    if (this.#o.reestablished) ch.on('reestablished', () => this.#o.reestablished!(ch));
    this.#registry.add(ch);
    // A channel created after start (an open, ours or theirs) is news too.
    if (this.#loaded) for (const w of this.#watchers) w(ch, d.state);
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
      closingFeerate: async () => this.#closeFeerates.get(self().id) ?? this.#feeratePerKw(),
      feerateRange: async () => (this.#o.ignoreFeeLimits?.(self().id) ? { min: 0n, max: MAX_FEERATE_PER_KW } : acceptableFeerates(await this.#estimatePerKw(), this.#feePolicy.maxFeeMultiplier)),
      fail: (reason, how) => this.#failed(self(), reason, how),
      simpleClose: () => this.#o.peers.features.supports(Feature.OPTION_SIMPLE_CLOSE) && !!this.#o.peers.peer(self().data.peerId)?.remoteFeatures.supports(Feature.OPTION_SIMPLE_CLOSE),
      warn: (text) => this.#o.peers.peer(self().data.peerId)?.sendWarning(text, self().data.channelId),
      blockHeight: () => this.blockHeight,
      publishClosing: async (txid, hex) => {
        await this.#sweeper.publish(hex, 'closing transaction');
        this.#resolveClose(self().id, { type: 'mutual', tx: hex, txid });
      },
    };
  }

  async #walletScript(): Promise<Buffer> {
    const { address } = await this.#o.wallet.newAddress('p2wpkh');
    return Buffer.from(addressToScript(address, this.#o.wallet.keys.network));
  }

  /** The wallet's 'normal' fee rate (1000 sat/kw when it has no estimate), for closes and sweeps. */
  async #feeratePerKw(): Promise<bigint> {
    return BigInt(await this.#o.wallet.resolveFeerate('normal').catch(() => 1000));
  }

  /** The backend's own estimate ('normal'), or null when it has none: fee decisions never follow a fallback. */
  async #estimatePerKw(): Promise<bigint | null> {
    const est = await this.#o.wallet.estimateFeerate('normal').catch(() => null);
    return est === null ? null : BigInt(est);
  }

  async #persist(d: ChannelData): Promise<void> {
    const id = d.channelId.toString('hex');
    if (this.#outcomes.pending(id) > 0) {
      this.#log.debug({ channel: id, outcomes: this.#outcomes.pending(id) }, 'channel: state write waits for HTLC outcomes to be recorded');
      await this.#outcomes.written(id);
    }
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
    const sweepScript = await ch.towerSweepScript(() => this.#walletScript());
    try {
      await backups.backupState(r.channelId, Number(r.commit.index), revokedStateBackup(ch.data, this.#registry.keys(ch.data.keyIndex), r, sweepScript));
    } catch (err) {
      this.#log.warn({ channel: ch.id, err: (err as Error).message }, 'watchtower backup refused');
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Peers

  #attach(peer: Peer): void {
    this.#reconnector.connected(peer.id);
    for (const ch of this.#registry.ofPeer(peer.id)) ch.connect().catch((err: Error) => this.#log.warn({ err: err.message }, 'reestablish failed'));
  }

  #detach(peer: Peer): void {
    this.#funding.peerGone(peer.id);
    let wants = false;
    for (const ch of this.#registry.ofPeer(peer.id)) {
      ch.disconnect().catch(() => undefined);
      if (ch.open) wants = true;
    }
    if (wants) this.#reconnector.schedule(peer.id, 1000);
  }

  #onChannelMessage(peer: Peer, m: Message): void {
    if (!isUnknownMessage(m)) return;
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
    const opening = this.#funding.handle(peer, msg);
    if (opening) return opening;
    const id = (msg as { channelId: Buffer }).channelId.toString('hex');
    const ch = this.#registry.get(id);
    if (!ch || ch.data.peerId !== peer.id) {
      if (msg.type === ChannelMessageType.CHANNEL_REESTABLISH) this.#sendError(peer.id, (msg as { channelId: Buffer }).channelId, 'Unknown channel for reestablish');
      else this.#log.debug({ peer: peer.id, channel: id, msg: messageName(msg.type) }, 'message for an unknown channel');
      return;
    }
    if (!ch.open) return;
    await ch.handle(msg);
  }

  #onPeerError(peer: Peer, m: ErrorMsg): void {
    const text = m.data.toString('utf8');
    if (this.#funding.peerError(m.channelId, text)) return;
    const all = m.channelId.equals(ZERO_ID);
    for (const ch of this.#registry.ofPeer(peer.id)) {
      if (!all && !ch.data.channelId.equals(m.channelId)) continue;
      if (!ch.open) continue;
      this.#log.warn({ channel: ch.id, text }, 'peer sent error: failing the channel');
      ch.fail(`peer sent error: ${text}`, false).catch((err: Error) => this.#log.warn({ channel: ch.id, err: err.message }, 'failing the channel failed'));
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Opening and closing

  fundChannel(req: FundChannelRequest): Promise<FundChannelResult> {
    return this.#funding.fundChannel(req);
  }

  #resolveClose(channelId: string, r: CloseResult): void {
    const ws = this.#closeWaiters.get(channelId);
    if (!ws) return;
    this.#closeWaiters.delete(channelId);
    for (const w of ws) w(r);
  }

  /**
   * CLN's `close`: a mutual close when the peer is connected; after `unilateralTimeoutS` (0 = wait
   * forever) without one, our commitment is published. `feeratePerKw`: what our closing fee proposal starts
   * from instead of the wallet's 'normal' estimate.
   */
  async close(ch: Channel, unilateralTimeoutS: number, opts: { feeratePerKw?: bigint } = {}): Promise<CloseResult> {
    const d = ch.data;
    if (opts.feeratePerKw !== undefined) this.#closeFeerates.set(ch.id, opts.feeratePerKw);
    if (d.state === 'CLOSINGD_COMPLETE' && d.closing?.txHex) return { type: 'mutual', tx: d.closing.txHex, txid: d.closing.txid! };
    if (!ch.open) throw new ChannelError('INVALID', `Channel is in state ${d.state}`);
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
        ch.fail('Forcibly closed by `close` command timeout').catch((err: Error) => this.#log.warn({ channel: ch.id, err: err.message }, 'failing the channel failed'));
      }, unilateralTimeoutS * 1000);
    }
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The channel failed (AWAITING_UNILATERAL persisted): publish our latest commitment, then tell the peer
   * (unless it told us; after, so that its own commitment, published on our `error`, does not race ours).
   * Runs inside the channel's queue: nothing here waits on the channel.
   */
  async #failed(ch: Channel, reason: string, how: Parameters<ChannelEnv['fail']>[1]): Promise<void> {
    if (how.commitment) await this.#sweeper.publish(how.commitment.hex, 'our commitment');
    if (how.tellPeer) this.#sendError(ch.data.peerId, ch.data.channelId, reason);
    if (how.commitment) this.#resolveClose(ch.id, { type: 'unilateral', tx: how.commitment.hex, txid: how.commitment.txid });
  }

  // -------------------------------------------------------------------------------------------------
  // Chain: each block is applied to every channel in turn (funding first, then what is on chain)

  async #onBlock(b: ConnectedBlock): Promise<void> {
    this.#height = b.height;
    await this.#funding.confirmIn(b);
    await this.#sweeper.scan(b);
    for (const ch of this.#registry.all()) {
      await this.#funding.onBlock(ch, b.height);
      await this.#sweeper.onBlock(ch, b.height);
    }
    enforceHtlcDeadlines(this.#registry.all(), b.height, this.#log, this.#o.preimage);
    this.#log.debug({ height: b.height }, 'channels: block applied');
    // Not awaited: a channel's queue or a slow estimate must never hold up block processing.
    if (!this.#followingFees) {
      this.#followingFees = true;
      this.#followFees()
        .catch((err: Error) => this.#log.warn({ err: err.message }, 'fee update failed'))
        .finally(() => (this.#followingFees = false));
    }
  }

  /** As opener, moves each usable channel's feerate toward the backend's estimate (fee-policy.ts decides). */
  async #followFees(): Promise<void> {
    const ours = [...this.#registry.all()].filter((ch) => ch.data.opener === 'local' && ch.usable);
    if (ours.length === 0) return;
    const estimatePerKw = await this.#estimatePerKw();
    if (estimatePerKw === null) return; // no estimate from the backend: nothing to follow
    const now = Date.now();
    for (const ch of ours) {
      const d = ch.data;
      // Only on a settled feerate: no fee update of ours on its way.
      if (d.nextRemoteCommit || d.localChanges.proposed.some((u) => u.kind === 'fee')) continue;
      const current = d.remoteCommit.spec.feeratePerKw;
      const seen = this.#fees.get(ch.id);
      // A feerate moved by someone else (dev-updatefee) counts as an update: the interval starts again.
      if (seen && seen.feeratePerKw !== current) this.#fees.set(ch.id, { feeratePerKw: current, at: now });
      else if (!seen) this.#fees.set(ch.id, { feeratePerKw: current });
      const target = openerFeerateUpdate(
        { currentPerKw: current, estimatePerKw, anchors: d.format !== 'static_remotekey', affordablePerKw: maxAffordableFeerate(d, this.#feePolicy.maxFeeAllocation), lastUpdateAt: this.#fees.get(ch.id)!.at, now },
        this.#feePolicy,
      );
      if (target === null) continue;
      this.#log.info({ channel: ch.id, from: current, to: target, estimate: estimatePerKw }, 'update_fee: following the fee estimate');
      this.#fees.set(ch.id, { feeratePerKw: target, at: now });
      ch.updateFee(target).catch((err: Error) => this.#log.warn({ channel: ch.id, err: err.message }, 'update_fee refused'));
    }
  }

  async #onDisconnect(tip: BlockTip): Promise<void> {
    this.#height = tip.height - 1;
    await this.#funding.onDisconnect(tip);
    await this.#sweeper.disconnected(tip.height);
  }

  // -------------------------------------------------------------------------------------------------
  // Queries

  list(): Channel[] {
    return this.#registry.list();
  }

  get(id: string): Channel | undefined {
    return this.#registry.get(id);
  }

  /** A channel by channel id, short channel id, or the peer id (its only live channel). */
  find(ref: string): Channel | undefined {
    return this.#registry.find(ref);
  }

  /** Calls `listener` on every channel state change and every channel created; returns the unsubscribe. */
  watchChannels(listener: (ch: Channel, state: string) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
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
