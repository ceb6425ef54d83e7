/**
 * Child-process host for LDK (lightningdevkit 0.1, Rust compiled to WASM), driven by `LdkPeer` in ldk.ts
 * over the IPC channel of `child_process.fork` (JSON messages).
 *
 * Why a child process: LDK prints a banner (and Rust panics) on stdout, which node's test runner owns
 * in the test process; and LDK's WASM memory and timers stay apart from the node under test.
 *
 * Protocol:
 *   parent → child  { id, method, params }
 *   child  → parent { id, ok: true, result } | { id, ok: false, error } | { type: 'log', line }
 * The child sends { type: 'ready' } once its message handler is installed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as net from 'node:net';

export type LdkLogLevel = 'gossip' | 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface HostRequest {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export type HostMessage =
  | { type: 'ready' }
  | { type: 'log'; line: string }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: string };

/**
 * Channel-related settings of the LDK node (all optional; defaults suit regtest interop tests).
 * Facts about LDK 0.1 these map to are in the comments of `buildConfig` in this file.
 */
export interface HostChannelOptions {
  /** ChannelHandshakeConfig.minimum_depth: confirmations LDK (as fundee) asks for. Default 1 (LDK: 6; LDK's lower bound is 1). */
  minimumDepth?: number;
  /**
   * ChannelHandshakeConfig.our_to_self_delay: the delay LDK imposes on the peer. Default 144, which is also
   * LDK 0.1's enforced minimum (BREAKDOWN_TIMEOUT): below it create_channel fails with APIMisuseError
   * "Configured with an unreasonable our_to_self_delay (N) putting user funds at risks" and inbound opens
   * are answered with an error message "... It must be greater than 144".
   */
  ourToSelfDelay?: number;
  /** ChannelHandshakeLimits.their_to_self_delay: the largest delay LDK accepts from the peer. Default 2016 (= LDK's cap). */
  theirToSelfDelayMax?: number;
  /** UserConfig.accept_inbound_channels (auto-accept, no OpenChannelRequest). Default true. */
  acceptInboundChannels?: boolean;
  /** ChannelHandshakeConfig.announce_for_forwarding: LDK's own preference for channels it opens. Default false. */
  announceForForwarding?: boolean;
  /** ChannelConfig.max_dust_htlc_exposure as a fixed limit, msat. Default 1_000_000_000 (1 M sat: effectively off). */
  maxDustHtlcExposureMsat?: number;
  /** ChannelConfig.force_close_avoidance_max_fee_satoshis. Default 100_000 (LDK: 1000). */
  forceCloseAvoidanceMaxFeeSat?: number;
  /** ChannelHandshakeConfig.commit_upfront_shutdown_pubkey: send upfront_shutdown_script in open/accept. Default true (LDK's). */
  commitUpfrontShutdownPubkey?: boolean;
  /** ChannelHandshakeConfig.max_inbound_htlc_value_in_flight_percent_of_channel. Default 100 (LDK: 10). */
  maxInboundHtlcValueInFlightPercent?: number;
  /** UserConfig.accept_forwards_to_priv_channels: forward HTLCs onto unannounced channels. Default false (LDK's). */
  acceptForwardsToPrivChannels?: boolean;
  /** Initial FeeEstimator answer for every ConfirmationTarget, sat/kw. Default 253. */
  feerateSatPerKw?: number;
  /** LDK's best block at start (ChainParameters), display-order hash hex. Default: regtest genesis, height 0. */
  bestBlock?: { hash: string; height: number };
}

/** LDK 0.1's ConfirmationTarget names, by enum value. */
export const CONFIRMATION_TARGETS = [
  'MaximumFeeEstimate',
  'UrgentOnChainSweep',
  'MinAllowedAnchorChannelRemoteFee',
  'MinAllowedNonAnchorChannelRemoteFee',
  'AnchorChannelFee',
  'NonAnchorChannelFee',
  'ChannelCloseMinimum',
  'OutputSpendingFee',
] as const;
export type ConfirmationTargetName = (typeof CONFIRMATION_TARGETS)[number];

export interface HostChannelInfo {
  /** Final channel id (or the temporary one before funding), hex. */
  channelId: string;
  /** The temporary channel id this channel had, when the host saw it (hex). */
  temporaryChannelId?: string;
  counterpartyNodeId: string;
  /** Display-order txid. */
  fundingTxid?: string;
  fundingVout?: number;
  channelValueSat: number;
  isOutbound: boolean;
  isChannelReady: boolean;
  isUsable: boolean;
  isAnnounced: boolean;
  outboundCapacityMsat: number;
  inboundCapacityMsat: number;
  nextOutboundHtlcLimitMsat: number;
  /** Commitment feerate (sat/kw) of the channel as LDK has it. */
  feerateSatPerKw?: number;
  confirmations?: number;
  confirmationsRequired?: number;
  /** "BLOCKxTXxOUT". */
  shortChannelId?: string;
  /** The scid aliases (BLOCKxTXxOUT): the peer's from its channel_ready (LDK's invoice hints use it), LDK's own. */
  inboundScidAlias?: string;
  outboundScidAlias?: string;
  /** Blocks LDK must wait to claim its own to_local output after a force close (the peer's to_self_delay). */
  forceCloseSpendDelay?: number;
  /** Channel type feature bits set, e.g. [12] for static_remotekey. */
  channelTypeBits: number[];
  /** NotShuttingDown | ShutdownInitiated | ResolvingHTLCs | NegotiatingClosingFee | ShutdownComplete. */
  shutdownState?: string;
}

export interface HostEvent {
  /** Sequence number (index in the log). */
  seq: number;
  /** Event class name without the `Event_` prefix, e.g. 'ChannelClosed'. */
  type: string;
  channelId?: string;
  temporaryChannelId?: string;
  counterpartyNodeId?: string;
  /** ChannelClosed: ClosureReason class name without prefix, e.g. 'LocallyInitiatedCooperativeClosure'. */
  reason?: string;
  /** ChannelClosed: LDK's description of the reason. */
  reasonText?: string;
  /** SpendableOutputs: number of descriptors; descriptor kinds. */
  outputs?: number;
  outputKinds?: string[];
  /** FundingGenerationReady: output script hex and value. */
  scriptHex?: string;
  amountSat?: number;
  /** ChannelReady: channel type feature bits. */
  channelTypeBits?: number[];
  /** DiscardFunding / FundingTxBroadcastSafe: funding txid (display order) when known. */
  fundingTxid?: string;
  /** PaymentPathFailed: the short channel id LDK blames (BLOCKxTXxOUT). */
  shortChannelId?: string;
  /** PaymentPathFailed / PaymentFailed: the payment hash, hex. */
  paymentHash?: string;
  /** PaymentPathFailed: the recipient rejected the payment (not just this path); the failure kind (OnPath, InitialSend); the channel blamed. */
  paymentFailedPermanently?: boolean;
  pathFailure?: string;
  /** PaymentFailed: LDK's PaymentFailureReason (RecipientRejected, RetriesExhausted, …). */
  failureReason?: string;
  /** PaymentClaimable / PaymentClaimed: the amount received, msat; the payment kind (Bolt11InvoicePayment, SpontaneousPayment). */
  amountMsat?: number;
  purpose?: string;
  /** PaymentSent: the preimage the payee released, hex, and the fee paid (msat). */
  paymentPreimage?: string;
  feePaidMsat?: number;
}

export interface HostPeerInfo {
  nodeId: string;
  features: string;
  inbound: boolean;
}

/* ------------------------------------------------------------------------------------------------ */

type Ldk = typeof import('lightningdevkit');
type NodeLDKNetCtor = typeof import('lightningdevkit-node-net').NodeLDKNet;

const LEVELS: LdkLogLevel[] = ['gossip', 'trace', 'debug', 'info', 'warn', 'error'];

function send(msg: HostMessage): void {
  if (process.send && process.connected) process.send(msg);
}

/** Every console output of LDK (banner, Rust panics via WASI fd_write) goes to the parent's log. */
function captureConsole(): void {
  const fwd = (...args: unknown[]): void => {
    send({ type: 'log', line: `[ldk console] ${args.map((a) => String(a)).join(' ')}` });
  };
  console.log = fwd;
  console.info = fwd;
  console.warn = fwd;
  console.error = fwd;
  console.debug = fwd;
}

interface PeerCounters {
  pingsReceived: number;
  pongsReceived: number;
  pingsSent: number;
}

class Waiter {
  private waiters = new Set<() => void>();
  /** Resolves when `cond()` is true; rechecked on every `notify()` and every `pollMs`. */
  wait(cond: () => boolean, timeoutMs: number, what: string, pollMs = 25): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        let ok = false;
        try {
          ok = cond();
        } catch (e) {
          cleanup();
          reject(e);
          return;
        }
        if (ok) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timeout after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, pollMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }
  /**
   * Recheck waiters. Deferred to a microtask: this is called from inside LDK callbacks (logger), and a
   * condition calling back into LDK there (list_peers) would re-borrow a lock LDK holds and panic
   * ("already borrowed: BorrowMutError", LDK's no-std mutexes are RefCells).
   */
  notify(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const w of [...this.waiters]) w();
    });
  }
  private scheduled = false;
}


/** One direction of a channel in LDK's NetworkGraph (msat limits as decimal strings: IPC carries no bigint). */
export interface LdkGraphPolicy {
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
  htlcMinimumMsat: string;
  htlcMaximumMsat: string;
  lastUpdate: number;
}

class LdkHost {
  private ldk!: Ldk;
  private peerManager!: import('lightningdevkit').PeerManager;
  private channelManager!: import('lightningdevkit').ChannelManager;
  private chainMonitor!: import('lightningdevkit').ChainMonitor;
  private net!: InstanceType<NodeLDKNetCtor>;
  private nodeIdHex = '';
  private logLevel = 2; // debug
  private forwardLogs = true;
  private readonly counters = new Map<string, PeerCounters>();
  private readonly waiter = new Waiter();
  /** Open sockets (node-net descriptors) → node id hex ('' while unknown for inbound). */
  private readonly descriptors = new Map<object, { nodeId: string; closed: boolean }>();
  private readonly recentLines: string[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  /** While a ping series runs, the periodic timer tick is suspended (a tick while a ping is
   * outstanding and nothing was received since the previous tick makes LDK drop the peer). */
  private pingSeriesRunning = false;
  readonly broadcastTxs: string[] = [];
  /** Broadcasts not yet taken by `takeBroadcasts`. */
  private pendingBroadcasts: string[] = [];
  private stopped = false;
  /** FeeEstimator answers, sat/kw, by ConfirmationTarget value. */
  private readonly feerates: number[] = CONFIRMATION_TARGETS.map(() => 253);
  private readonly eventLog: HostEvent[] = [];
  /** FundingGenerationReady by temporary channel id hex. */
  private readonly fundingReady = new Map<string, { scriptHex: string; amountSat: number; counterpartyNodeId: string }>();
  /** temporary channel id hex → final channel id hex (from ChannelPending). */
  private readonly tempToFinal = new Map<string, string>();
  private eventHandler!: import('lightningdevkit').EventHandler;
  /** Confirm interfaces to feed blocks to: ChannelManager's and ChainMonitor's. */
  private confirms: import('lightningdevkit').Confirm[] = [];
  private pumping = false;

  log(line: string): void {
    this.recentLines.push(line);
    if (this.recentLines.length > 40) this.recentLines.shift();
    if (this.forwardLogs) send({ type: 'log', line });
  }

  private counter(nodeId: string): PeerCounters {
    let c = this.counters.get(nodeId);
    if (!c) {
      c = { pingsReceived: 0, pongsReceived: 0, pingsSent: 0 };
      this.counters.set(nodeId, c);
    }
    return c;
  }

  /** LDK log record → counters (ping/pong are logged at Trace level by the PeerManager). */
  private onLdkLog(level: number, args: string, peerId: Uint8Array | null): void {
    let touched = false;
    const m = /^(Received message|Enqueueing message) (Ping|Pong)\b.*? (?:from|to) ([0-9a-f]{66})/.exec(args);
    if (m) {
      const id = m[3] ?? (peerId ? Buffer.from(peerId).toString('hex') : '');
      const c = this.counter(id);
      if (m[1] === 'Received message') {
        if (m[2] === 'Ping') c.pingsReceived++;
        else c.pongsReceived++;
      } else if (m[2] === 'Ping') {
        c.pingsSent++;
      }
      touched = true;
    }
    if (level >= this.logLevel) this.log(`[ldk ${LEVELS[level] ?? level}] ${args}`);
    if (touched) this.waiter.notify();
  }

  async start(params: {
    seed: string;
    logLevel?: LdkLogLevel;
    forwardLogs?: boolean;
    channels?: HostChannelOptions;
  }): Promise<{ nodeId: string; startMs: number }> {
    const t0 = Date.now();
    if (params.logLevel) this.logLevel = Math.max(0, LEVELS.indexOf(params.logLevel));
    this.forwardLogs = params.forwardLogs !== false;

    const require = createRequire(import.meta.url);
    const wasm = readFileSync(require.resolve('lightningdevkit/liblightningjs.wasm'));
    const ldk: Ldk = await import('lightningdevkit');
    const { NodeLDKNet } = await import('lightningdevkit-node-net');
    this.ldk = ldk;
    await ldk.initializeWasmFromBinary(wasm);

    const seed = Buffer.from(params.seed, 'hex');
    if (seed.length !== 32) throw new Error('seed must be 32 bytes');

    const chOpts = params.channels ?? {};
    this.channelOptions = chOpts;
    if (chOpts.feerateSatPerKw !== undefined) this.feerates.fill(chOpts.feerateSatPerKw);
    const host = this;
    // LDK asks per ConfirmationTarget; the answers are settable at runtime (setFeerate). LDK bounds every
    // answer below by 253 sat/kw (LowerBoundedFeeEstimator).
    const feeEstimator = ldk.FeeEstimator.new_impl({
      get_est_sat_per_1000_weight(target: import('lightningdevkit').ConfirmationTarget): number {
        return host.feerates[target as number] ?? 253;
      },
    });
    const broadcaster = ldk.BroadcasterInterface.new_impl({
      broadcast_transactions(txs: Uint8Array[]): void {
        for (const tx of txs) {
          const hex = Buffer.from(tx).toString('hex');
          host.broadcastTxs.push(hex);
          host.pendingBroadcasts.push(hex);
          host.log(`[ldk host] broadcast tx ${hex}`);
        }
      },
    });
    const logger = ldk.Logger.new_impl({
      log(record): void {
        let peer: Uint8Array | null = null;
        try {
          peer = record.get_peer_id();
        } catch {
          peer = null;
        }
        host.onLdkLog(record.get_level() as number, record.get_args(), peer);
      },
    });
    const persister = ldk.Persist.new_impl({
      persist_new_channel() {
        return ldk.ChannelMonitorUpdateStatus.LDKChannelMonitorUpdateStatus_Completed;
      },
      update_persisted_channel() {
        return ldk.ChannelMonitorUpdateStatus.LDKChannelMonitorUpdateStatus_Completed;
      },
      archive_persisted_channel(): void {},
    });
    const network = ldk.Network.LDKNetwork_Regtest;
    this.chainMonitor = ldk.ChainMonitor.constructor_new(ldk.Option_FilterZ.constructor_none(), broadcaster, logger, feeEstimator, persister);
    const now = Date.now();
    const keysManager = ldk.KeysManager.constructor_new(seed, BigInt(Math.floor(now / 1000)), (now % 1000) * 1_000_000);
    const graph = ldk.NetworkGraph.constructor_new(network, logger);
    const scorer = ldk.ProbabilisticScorer.constructor_new(ldk.ProbabilisticScoringDecayParameters.constructor_default(), graph, logger);
    const lockableScore = ldk.MultiThreadedLockableScore.constructor_new(scorer.as_Score());
    const router = ldk.DefaultRouter.constructor_new(
      graph,
      logger,
      keysManager.as_EntropySource(),
      lockableScore.as_LockableScore(),
      ldk.ProbabilisticScoringFeeParameters.constructor_default(),
    );
    const messageRouter = ldk.DefaultMessageRouter.constructor_new(graph, keysManager.as_EntropySource());
    const config = this.buildConfig(chOpts);
    // Regtest genesis at height 0 unless given: blocks are fed explicitly (connectBlock), see syncTo in ldk.ts.
    const bestBlock = chOpts.bestBlock
      ? ldk.BestBlock.constructor_new(Buffer.from(chOpts.bestBlock.hash, 'hex').reverse(), chOpts.bestBlock.height)
      : ldk.BestBlock.constructor_from_network(network);
    const chainParams = ldk.ChainParameters.constructor_new(network, bestBlock);
    this.channelManager = ldk.ChannelManager.constructor_new(
      feeEstimator,
      this.chainMonitor.as_Watch(),
      broadcaster,
      router.as_Router(),
      messageRouter.as_MessageRouter(),
      logger,
      keysManager.as_EntropySource(),
      keysManager.as_NodeSigner(),
      keysManager.as_SignerProvider(),
      config,
      chainParams,
      Math.floor(now / 1000),
    );
    const ignorer = ldk.IgnoringMessageHandler.constructor_new();
    // BOLT 7 gossip into LDK's NetworkGraph (no UTXO lookup: LDK takes announcements without a chain check).
    this.graph = graph;
    const gossipSync = ldk.P2PGossipSync.constructor_new(graph, ldk.Option_UtxoLookupZ.constructor_none(), logger);
    this.peerManager = ldk.PeerManager.constructor_new(
      this.channelManager.as_ChannelMessageHandler(),
      gossipSync.as_RoutingMessageHandler(),
      ignorer.as_OnionMessageHandler(),
      ignorer.as_CustomMessageHandler(),
      Math.floor(now / 1000),
      keysManager.as_EntropySource().get_secure_random_bytes(),
      logger,
      keysManager.as_NodeSigner(),
    );
    this.instrumentPeerManager();
    this.net = new NodeLDKNet(this.peerManager);
    // node-net ticks every 10 s on its own; replace that timer by ours, which pauses during ping series.
    clearInterval((this.net as unknown as { ping_timer: NodeJS.Timeout }).ping_timer);
    this.tickTimer = setInterval(() => {
      if (this.pingSeriesRunning) return;
      this.peerManager.timer_tick_occurred();
      this.peerManager.process_events();
    }, 10_000);
    this.tickTimer.unref();

    this.nodeIdHex = Buffer.from(this.channelManager.get_our_node_id()).toString('hex');
    this.eventHandler = ldk.EventHandler.new_impl({
      handle_event(event) {
        try {
          host.onEvent(event);
        } catch (e) {
          host.log(`[ldk host] event handler error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        }
        return ldk.Result_NoneReplayEventZ.constructor_ok();
      },
    });
    this.confirms = [this.channelManager.as_Confirm(), this.chainMonitor.as_Confirm()];
    this.pumpTimer = setInterval(() => this.pump(), 20);
    return { nodeId: this.nodeIdHex, startMs: Date.now() - t0 };
  }

  private channelOptions: HostChannelOptions = {};

  /**
   * UserConfig for regtest interop. LDK 0.1 facts (from its docs and checked by ldk-channels.test.ts):
   * - ChannelHandshakeConfig.minimum_depth (default 6, lower bound 1) is what LDK as fundee asks for;
   *   as funder it accepts the fundee's value up to ChannelHandshakeLimits.max_minimum_depth (144).
   * - ChannelHandshakeConfig.our_to_self_delay: default and enforced minimum BREAKDOWN_TIMEOUT = 144;
   *   a smaller value makes create_channel fail (APIMisuseError "unreasonable our_to_self_delay") and
   *   inbound opens fail. ChannelHandshakeLimits.their_to_self_delay: default 2016 and capped at 2016;
   *   there is no lower bound on the peer's value.
   * - Inbound announced channels are refused while ChannelHandshakeLimits.force_announced_channel_preference
   *   (default true) and announce_for_forwarding (default false) disagree: the preference is turned off.
   * - Anchors: negotiate_anchors_zero_fee_htlc_tx false (the default) makes LDK propose channel_type
   *   static_remotekey (open_channel TLV channel_type = 0x0010, bit 12); inbound anchor channels need
   *   manually_accept_inbound_channels, which is off.
   * - Its open_channel/accept_channel (observed): dust_limit 354 sat, reserve 1% (min 1000 sat),
   *   max_accepted_htlcs 50, htlc_minimum_msat 1, upfront_shutdown_script set, channel_flags 0 unless announced.
   * - update_fee: ChannelManager.timer_tick_occurred() re-reads ConfirmationTarget::NonAnchorChannelFee
   *   (AnchorChannelFee for anchor channels) for channels LDK funded, and sends update_fee when it rose,
   *   or fell below half the current feerate. As fundee it refuses (closes on) a feerate below its
   *   MinAllowedNonAnchorChannelRemoteFee estimate; max_dust_htlc_exposure also bounds the feerate it accepts
   *   (with the default FeeRateMultiplier(10_000) × MaximumFeeEstimate 253 = 2530 sat, a few thousand sat/kw),
   *   hence the fixed 1 M sat limit here.
   */
  private buildConfig(o: HostChannelOptions, announce?: boolean): import('lightningdevkit').UserConfig {
    const ldk = this.ldk;
    const config = ldk.UserConfig.constructor_default();
    const hs = config.get_channel_handshake_config();
    hs.set_minimum_depth(o.minimumDepth ?? 1);
    hs.set_our_to_self_delay(o.ourToSelfDelay ?? 144);
    hs.set_announce_for_forwarding(announce ?? o.announceForForwarding ?? false);
    hs.set_negotiate_anchors_zero_fee_htlc_tx(false);
    hs.set_commit_upfront_shutdown_pubkey(o.commitUpfrontShutdownPubkey ?? true);
    hs.set_max_inbound_htlc_value_in_flight_percent_of_channel(o.maxInboundHtlcValueInFlightPercent ?? 100);
    config.set_channel_handshake_config(hs);
    const lim = config.get_channel_handshake_limits();
    lim.set_force_announced_channel_preference(false);
    lim.set_their_to_self_delay(o.theirToSelfDelayMax ?? 2016);
    config.set_channel_handshake_limits(lim);
    const cc = config.get_channel_config();
    cc.set_max_dust_htlc_exposure(ldk.MaxDustHTLCExposure.constructor_fixed_limit_msat(BigInt(o.maxDustHtlcExposureMsat ?? 1_000_000_000)));
    cc.set_force_close_avoidance_max_fee_satoshis(BigInt(o.forceCloseAvoidanceMaxFeeSat ?? 100_000));
    config.set_channel_config(cc);
    config.set_accept_inbound_channels(o.acceptInboundChannels ?? true);
    config.set_manually_accept_inbound_channels(false);
    config.set_accept_forwards_to_priv_channels(o.acceptForwardsToPrivChannels ?? false);
    return config;
  }

  /** For the IPC loop: pump after every command. */
  pumpNow(): void {
    this.pump();
  }

  /** Process LDK's pending events (ChannelManager, ChainMonitor) and flush the PeerManager's queues. */
  private pump(): void {
    if (this.pumping || this.stopped || !this.channelManager) return;
    this.pumping = true;
    try {
      this.channelManager.as_EventsProvider().process_pending_events(this.eventHandler);
      this.chainMonitor.as_EventsProvider().process_pending_events(this.eventHandler);
      this.peerManager.process_events();
    } finally {
      this.pumping = false;
    }
  }

  private static hex(b: Uint8Array | null | undefined): string {
    return b ? Buffer.from(b).toString('hex') : '';
  }

  private static chanId(id: import('lightningdevkit').ChannelId | null | undefined): string | undefined {
    return id ? LdkHost.hex(id.get_a()) : undefined;
  }

  private static featureBits(le: Uint8Array): number[] {
    const bits: number[] = [];
    for (let i = 0; i < le.length; i++) for (let j = 0; j < 8; j++) if (le[i]! & (1 << j)) bits.push(i * 8 + j);
    return bits;
  }

  /** Txid bytes as LDK holds them (internal order) → display (RPC) order hex. */
  private static txidHex(b: Uint8Array): string {
    return Buffer.from(b).reverse().toString('hex');
  }

  private onEvent(event: import('lightningdevkit').Event): void {
    const ldk = this.ldk;
    const e: HostEvent = { seq: this.eventLog.length, type: event.constructor.name.replace(/^Event_/, '') };
    if (event instanceof ldk.Event_FundingGenerationReady) {
      e.temporaryChannelId = LdkHost.chanId(event.temporary_channel_id)!;
      e.counterpartyNodeId = LdkHost.hex(event.counterparty_node_id);
      e.scriptHex = LdkHost.hex(event.output_script);
      e.amountSat = Number(event.channel_value_satoshis);
      this.fundingReady.set(e.temporaryChannelId, { scriptHex: e.scriptHex, amountSat: e.amountSat, counterpartyNodeId: e.counterpartyNodeId });
    } else if (event instanceof ldk.Event_ChannelPending) {
      e.channelId = LdkHost.chanId(event.channel_id)!;
      const tmp = LdkHost.chanId(event.former_temporary_channel_id);
      if (tmp) {
        e.temporaryChannelId = tmp;
        this.tempToFinal.set(tmp, e.channelId);
      }
      e.counterpartyNodeId = LdkHost.hex(event.counterparty_node_id);
      if (event.funding_txo) e.fundingTxid = LdkHost.txidHex(event.funding_txo.get_txid());
      if (event.channel_type) e.channelTypeBits = LdkHost.featureBits(event.channel_type.le_flags());
    } else if (event instanceof ldk.Event_ChannelReady) {
      e.channelId = LdkHost.chanId(event.channel_id)!;
      e.counterpartyNodeId = LdkHost.hex(event.counterparty_node_id);
      e.channelTypeBits = LdkHost.featureBits(event.channel_type.le_flags());
    } else if (event instanceof ldk.Event_ChannelClosed) {
      e.channelId = LdkHost.chanId(event.channel_id)!;
      // LDK 0.1's NetworkGraph does not watch funding spends: as an LDK application does, the host drops
      // its own closed channel from the graph.
      const closedScid = this.scidOf.get(e.channelId);
      if (closedScid !== undefined) this.graph?.channel_failed_permanent(closedScid);
      if (event.counterparty_node_id) e.counterpartyNodeId = LdkHost.hex(event.counterparty_node_id);
      e.reason = event.reason.constructor.name.replace(/^ClosureReason_/, '');
      try {
        e.reasonText = event.reason.to_str();
      } catch {
        /* no text */
      }
    } else if (event instanceof ldk.Event_SpendableOutputs) {
      e.channelId = LdkHost.chanId(event.channel_id);
      e.outputs = event.outputs.length;
      e.outputKinds = event.outputs.map((o) => o.constructor.name.replace(/^SpendableOutputDescriptor_/, ''));
    } else if (event instanceof ldk.Event_DiscardFunding) {
      e.channelId = LdkHost.chanId(event.channel_id);
    } else if (event instanceof ldk.Event_PaymentPathFailed) {
      e.paymentHash = LdkHost.hex(event.payment_hash);
      e.paymentFailedPermanently = Boolean(event.payment_failed_permanently);
      e.pathFailure = event.failure.constructor.name.replace(/^PathFailure_/, '');
      if (event.short_channel_id instanceof ldk.Option_u64Z_Some) {
        const v = event.short_channel_id.some;
        e.shortChannelId = `${v >> 40n}x${(v >> 16n) & 0xffffffn}x${v & 0xffffn}`;
      }
    } else if (event instanceof ldk.Event_PaymentFailed) {
      if (event.payment_hash instanceof ldk.Option_ThirtyTwoBytesZ_Some) e.paymentHash = LdkHost.hex(event.payment_hash.some);
      if (event.reason instanceof ldk.Option_PaymentFailureReasonZ_Some) e.failureReason = String(ldk.PaymentFailureReason[event.reason.some]).replace(/^LDKPaymentFailureReason_/, '');
    } else if (event instanceof ldk.Event_PendingHTLCsForwardable) {
      // Received HTLCs wait here until processed (LDK asks for a short random delay; none needed in tests).
      setImmediate(() => {
        this.channelManager.process_pending_htlc_forwards();
        this.pump();
      });
    } else if (event instanceof ldk.Event_PaymentClaimable || event instanceof ldk.Event_PaymentClaimed) {
      e.paymentHash = LdkHost.hex(event.payment_hash);
      e.amountMsat = Number(event.amount_msat);
      e.purpose = event.purpose.constructor.name.replace(/^PaymentPurpose_/, '');
      // Claim what we can (an invoice of ours or a keysend), unless a test holds claims.
      const preimage = event.purpose.preimage();
      if (event instanceof ldk.Event_PaymentClaimable && preimage instanceof ldk.Option_ThirtyTwoBytesZ_Some) {
        if (this.holdClaims) this.held.push(preimage.some);
        else this.channelManager.claim_funds(preimage.some);
      }
    } else if (event instanceof ldk.Event_PaymentSent) {
      e.paymentHash = LdkHost.hex(event.payment_hash);
      e.paymentPreimage = LdkHost.hex(event.payment_preimage);
      if (event.fee_paid_msat instanceof ldk.Option_u64Z_Some) e.feePaidMsat = Number(event.fee_paid_msat.some);
    } else if (event instanceof ldk.Event_FundingTxBroadcastSafe) {
      e.channelId = LdkHost.chanId(event.channel_id);
      e.fundingTxid = LdkHost.txidHex(event.funding_txo.get_txid());
    }
    this.eventLog.push(e);
    this.log(`[ldk host] event ${JSON.stringify(e)}`);
    this.waiter.notify();
  }

  private apiError(what: string, res: { is_ok(): boolean }): void {
    if (res.is_ok()) return;
    const err = (res as unknown as { err?: unknown }).err;
    let text = 'unknown error';
    if (err && typeof err === 'object') {
      const o = err as { err?: string; constructor: { name: string } };
      text = `${o.constructor.name.replace(/^APIError_/, '')}${o.err ? `: ${o.err}` : ''}`;
    }
    throw new Error(`${what}: ${text}`);
  }

  private channelIdOf(hex: string): import('lightningdevkit').ChannelId {
    const b = Buffer.from(this.tempToFinal.get(hex) ?? hex, 'hex');
    if (b.length !== 32) throw new Error(`bad channel id ${hex}`);
    return this.ldk.ChannelId.constructor_new(b);
  }

  private channelInfo(d: import('lightningdevkit').ChannelDetails): HostChannelInfo {
    const ldk = this.ldk;
    const channelId = LdkHost.chanId(d.get_channel_id())!;
    const info: HostChannelInfo = {
      channelId,
      counterpartyNodeId: LdkHost.hex(d.get_counterparty().get_node_id()),
      channelValueSat: Number(d.get_channel_value_satoshis()),
      isOutbound: Boolean(d.get_is_outbound()),
      isChannelReady: Boolean(d.get_is_channel_ready()),
      isUsable: Boolean(d.get_is_usable()),
      isAnnounced: Boolean(d.get_is_announced()),
      outboundCapacityMsat: Number(d.get_outbound_capacity_msat()),
      inboundCapacityMsat: Number(d.get_inbound_capacity_msat()),
      nextOutboundHtlcLimitMsat: Number(d.get_next_outbound_htlc_limit_msat()),
      channelTypeBits: [],
    };
    for (const [tmp, fin] of this.tempToFinal) if (fin === channelId) info.temporaryChannelId = tmp;
    const txo = d.get_funding_txo();
    if (txo) {
      info.fundingTxid = LdkHost.txidHex(txo.get_txid());
      info.fundingVout = txo.get_index();
    }
    const fr = d.get_feerate_sat_per_1000_weight();
    if (fr instanceof ldk.Option_u32Z_Some) info.feerateSatPerKw = fr.some;
    const conf = d.get_confirmations();
    if (conf instanceof ldk.Option_u32Z_Some) info.confirmations = conf.some;
    const req = d.get_confirmations_required();
    if (req instanceof ldk.Option_u32Z_Some) info.confirmationsRequired = req.some;
    const scid = d.get_short_channel_id();
    if (scid instanceof ldk.Option_u64Z_Some) {
      const v = scid.some;
      this.scidOf.set(channelId, v);
      info.shortChannelId = `${v >> 40n}x${(v >> 16n) & 0xffffffn}x${v & 0xffffn}`;
    }
    // The bindings hand a u64 over as a signed 64-bit bigint: an alias's high block height reads negative.
    const scidText = (v: bigint): string => `${BigInt.asUintN(64, v) >> 40n}x${(v >> 16n) & 0xffffffn}x${v & 0xffffn}`;
    const inAlias = d.get_inbound_scid_alias();
    if (inAlias instanceof ldk.Option_u64Z_Some) info.inboundScidAlias = scidText(inAlias.some);
    const outAlias = d.get_outbound_scid_alias();
    if (outAlias instanceof ldk.Option_u64Z_Some) info.outboundScidAlias = scidText(outAlias.some);
    const delay = d.get_force_close_spend_delay();
    if (delay instanceof ldk.Option_u16Z_Some) info.forceCloseSpendDelay = delay.some;
    const ct = d.get_channel_type();
    if (ct) info.channelTypeBits = LdkHost.featureBits(ct.le_flags());
    const sd = d.get_channel_shutdown_state();
    if (sd instanceof ldk.Option_ChannelShutdownStateZ_Some) {
      info.shutdownState = String(ldk.ChannelShutdownState[sd.some]).replace(/^LDKChannelShutdownState_/, '');
    }
    return info;
  }

  listChannels(): HostChannelInfo[] {
    return this.channelManager.list_channels().map((d) => this.channelInfo(d));
  }

  private findChannel(id: string): HostChannelInfo | undefined {
    const fin = this.tempToFinal.get(id) ?? id;
    return this.listChannels().find((c) => c.channelId === fin || c.channelId === id);
  }

  private closedEvent(id: string): HostEvent | undefined {
    const fin = this.tempToFinal.get(id) ?? id;
    return this.eventLog.find((e) => e.type === 'ChannelClosed' && (e.channelId === fin || e.channelId === id));
  }

  async waitForChannel(params: { channelId: string; state: 'ready' | 'usable' | 'closed'; timeoutMs?: number }): Promise<HostChannelInfo | HostEvent> {
    let out: HostChannelInfo | HostEvent | undefined;
    await this.waiter
      .wait(
        () => {
          this.pump();
          if (params.state === 'closed') {
            const ev = this.closedEvent(params.channelId);
            if (ev && !this.findChannel(params.channelId)) out = ev;
          } else {
            const c = this.findChannel(params.channelId);
            if (c && (params.state === 'ready' ? c.isChannelReady : c.isUsable)) out = c;
          }
          return out !== undefined;
        },
        params.timeoutMs ?? 10_000,
        `channel ${params.channelId} ${params.state}`,
        25,
      )
      .catch((e: Error) => {
        const c = this.findChannel(params.channelId);
        throw new Error(`${e.message}; channel now: ${JSON.stringify(c ?? null)}; recent LDK log:\n${this.recentLines.slice(-12).join('\n')}`);
      });
    return out!;
  }

  events(params: { since?: number }): HostEvent[] {
    return this.eventLog.slice(params.since ?? 0);
  }

  async waitForEvent(params: { type: string; channelId?: string; since?: number; timeoutMs?: number }): Promise<HostEvent> {
    let out: HostEvent | undefined;
    const match = (e: HostEvent): boolean => {
      if (e.type !== params.type || e.seq < (params.since ?? 0)) return false;
      if (params.channelId === undefined) return true;
      const fin = this.tempToFinal.get(params.channelId) ?? params.channelId;
      return e.channelId === fin || e.channelId === params.channelId || e.temporaryChannelId === params.channelId;
    };
    await this.waiter
      .wait(
        () => {
          this.pump();
          return (out = this.eventLog.find(match)) !== undefined;
        },
        params.timeoutMs ?? 10_000,
        `event ${params.type}${params.channelId ? ` for ${params.channelId}` : ''}`,
        25,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; events so far: ${this.eventLog.map((x) => x.type).join(', ')}; recent LDK log:\n${this.recentLines.slice(-12).join('\n')}`);
      });
    return out!;
  }

  /**
   * ChannelManager.send_payment to `nodeId` (routed by LDK over its own channels, no retry), with a
   * payment secret, optional custom TLVs in the final payload, and optionally a route hint
   * `hint.from --hint.scid--> nodeId` (then `nodeId` is reached through `hint.from`, which forwards).
   */
  sendPayment(params: { nodeId: string; amountMsat: number; paymentHash: string; paymentSecret?: string; finalCltvDelta?: number; customTlvs?: { type: string; valueHex: string }[]; hint?: { from: string; scid: string; feeBaseMsat?: number; feePpm?: number; cltvDelta?: number } }): { paymentId: string } {
    const ldk = this.ldk;
    const delta = params.finalCltvDelta ?? 40;
    let onion = ldk.RecipientOnionFields.constructor_secret_only(params.paymentSecret ? Buffer.from(params.paymentSecret, 'hex') : randomBytes(32));
    if (params.customTlvs?.length) {
      const r = onion.with_custom_tlvs(params.customTlvs.map((t) => ldk.TwoTuple_u64CVec_u8ZZ.constructor_new(BigInt(t.type), Buffer.from(t.valueHex, 'hex'))));
      if (!(r instanceof ldk.Result_RecipientOnionFieldsNoneZ_OK)) throw new Error('with_custom_tlvs: refused (types must be >= 65536 and ascending)');
      onion = r.res;
    }
    const payee = Buffer.from(params.nodeId, 'hex');
    let payment: import('lightningdevkit').PaymentParameters;
    if (params.hint) {
      const [block, tx, out] = params.hint.scid.split('x').map(BigInt) as [bigint, bigint, bigint];
      const hop = ldk.RouteHintHop.constructor_new(Buffer.from(params.hint.from, 'hex'), (block << 40n) | (tx << 16n) | out, ldk.RoutingFees.constructor_new(params.hint.feeBaseMsat ?? 0, params.hint.feePpm ?? 0), params.hint.cltvDelta ?? 40, ldk.Option_u64Z.constructor_none(), ldk.Option_u64Z.constructor_none());
      const clear = ldk.Payee.constructor_clear(payee, [ldk.RouteHint.constructor_new([hop])], ldk.Bolt11InvoiceFeatures.constructor_empty(), delta);
      payment = ldk.PaymentParameters.constructor_new(clear, ldk.Option_u64Z.constructor_none(), 1008, 1, 19, 2, [], []);
    } else payment = ldk.PaymentParameters.constructor_from_node_id(payee, delta);
    const paymentId = randomBytes(32);
    const res = this.channelManager.send_payment(
      Buffer.from(params.paymentHash, 'hex'),
      onion,
      paymentId,
      ldk.RouteParameters.constructor_from_payment_params_and_value(payment, BigInt(params.amountMsat)),
      ldk.Retry.constructor_attempts(0),
    );
    if (!res.is_ok()) throw new Error(`send_payment: ${String(ldk.RetryableSendFailure[(res as unknown as { err: number }).err])}`);
    this.pump();
    return { paymentId: paymentId.toString('hex') };
  }

  /** Payments received are claimed at once unless held (a test that wants an HTLC left in flight). */
  private holdClaims = false;
  private held: Uint8Array[] = [];

  /** Claims every payment held so far (the fulfil goes out now, or on reconnection) and stops holding. */
  claimHeld(): { claimed: number } {
    const held = this.held.splice(0);
    this.holdClaims = false;
    for (const p of held) this.channelManager.claim_funds(p);
    this.pump();
    return { claimed: held.length };
  }

  /** A BOLT 11 invoice of this node (`ChannelManager.create_bolt11_invoice`), with or without an amount. */
  createInvoice(params: { amountMsat?: number; description?: string; expirySecs?: number; minFinalCltvDelta?: number; holdClaims?: boolean }): { bolt11: string } {
    const ldk = this.ldk;
    if (params.holdClaims !== undefined) this.holdClaims = params.holdClaims;
    const desc = ldk.Description.constructor_new(params.description ?? 'anode test');
    if (!(desc instanceof ldk.Result_DescriptionCreationErrorZ_OK)) throw new Error('createInvoice: bad description');
    const res = this.channelManager.create_bolt11_invoice(
      params.amountMsat === undefined ? ldk.Option_u64Z.constructor_none() : ldk.Option_u64Z.constructor_some(BigInt(params.amountMsat)),
      ldk.Bolt11InvoiceDescription.constructor_direct(desc.res),
      params.expirySecs === undefined ? ldk.Option_u32Z.constructor_none() : ldk.Option_u32Z.constructor_some(params.expirySecs),
      params.minFinalCltvDelta === undefined ? ldk.Option_u16Z.constructor_none() : ldk.Option_u16Z.constructor_some(params.minFinalCltvDelta),
      ldk.Option_ThirtyTwoBytesZ.constructor_none(),
    );
    if (!(res instanceof ldk.Result_Bolt11InvoiceSignOrCreationErrorZ_OK)) throw new Error('createInvoice: LDK refused');
    return { bolt11: res.res.to_str() };
  }

  /**
   * Pays a BOLT 11 invoice as LDK's own `payment_parameters_from_invoice` reads it (its payment secret,
   * features — basic_mpp lets LDK split over several channels —, expiry and final CLTV delta); an
   * invoice of any amount needs `amountMsat`. No retry.
   */
  payInvoice(params: { invoice: string; amountMsat?: number }): { paymentId: string; paymentHash: string } {
    const ldk = this.ldk;
    const parsed = ldk.Bolt11Invoice.constructor_from_str(params.invoice);
    if (!(parsed instanceof ldk.Result_Bolt11InvoiceParseOrSemanticErrorZ_OK)) throw new Error('payInvoice: LDK cannot parse the invoice');
    const r =
      params.amountMsat === undefined
        ? ldk.UtilMethods.constructor_payment_parameters_from_invoice(parsed.res)
        : ldk.UtilMethods.constructor_payment_parameters_from_variable_amount_invoice(parsed.res, BigInt(params.amountMsat));
    if (!(r instanceof ldk.Result_C3Tuple_ThirtyTwoBytesRecipientOnionFieldsRouteParametersZNoneZ_OK)) throw new Error('payInvoice: LDK refused the invoice (amount given for a fixed amount, or none for any amount)');
    const paymentHash = r.res.get_a();
    const paymentId = randomBytes(32);
    const res = this.channelManager.send_payment(paymentHash, r.res.get_b(), paymentId, r.res.get_c(), ldk.Retry.constructor_attempts(0));
    if (!res.is_ok()) throw new Error(`send_payment: ${String(ldk.RetryableSendFailure[(res as unknown as { err: number }).err])}`);
    this.pump();
    return { paymentId: paymentId.toString('hex'), paymentHash: LdkHost.hex(paymentHash) };
  }

  /** `send_spontaneous_payment` (keysend, record 5482373484) of `amountMsat` to `nodeId` with `preimage` (default random). */
  keysend(params: { nodeId: string; amountMsat: number; preimage?: string; finalCltvDelta?: number }): { paymentId: string; paymentHash: string } {
    const ldk = this.ldk;
    const preimage = params.preimage ? Buffer.from(params.preimage, 'hex') : randomBytes(32);
    const payment = ldk.PaymentParameters.constructor_for_keysend(Buffer.from(params.nodeId, 'hex'), params.finalCltvDelta ?? 40, false);
    const paymentId = randomBytes(32);
    const res = this.channelManager.send_spontaneous_payment(
      ldk.Option_ThirtyTwoBytesZ.constructor_some(preimage),
      ldk.RecipientOnionFields.constructor_spontaneous_empty(),
      paymentId,
      ldk.RouteParameters.constructor_from_payment_params_and_value(payment, BigInt(params.amountMsat)),
      ldk.Retry.constructor_attempts(0),
    );
    if (!res.is_ok()) throw new Error(`send_spontaneous_payment: ${String(ldk.RetryableSendFailure[(res as unknown as { err: number }).err])}`);
    this.pump();
    return { paymentId: paymentId.toString('hex'), paymentHash: createHash('sha256').update(preimage).digest('hex') };
  }

  openChannel(params: { nodeId: string; amountSat: number; pushMsat?: number; announce?: boolean }): { temporaryChannelId: string } {
    const override = params.announce === undefined ? null : this.buildConfig(this.channelOptions, params.announce);
    const res = this.channelManager.create_channel(
      Buffer.from(params.nodeId, 'hex'),
      BigInt(params.amountSat),
      BigInt(params.pushMsat ?? 0),
      BigInt(this.eventLog.length + 1) * 1000n + BigInt(Math.floor(Math.random() * 1000)),
      null,
      override,
    );
    this.apiError('create_channel', res);
    const id = (res as import('lightningdevkit').Result_ChannelIdAPIErrorZ_OK).res;
    this.pump();
    return { temporaryChannelId: LdkHost.hex(id.get_a()) };
  }

  async fundingOutput(params: { temporaryChannelId: string; timeoutMs?: number }): Promise<{ scriptHex: string; amountSat: number }> {
    await this.waitForEvent({ type: 'FundingGenerationReady', channelId: params.temporaryChannelId, timeoutMs: params.timeoutMs ?? 10_000 });
    const f = this.fundingReady.get(params.temporaryChannelId)!;
    return { scriptHex: f.scriptHex, amountSat: f.amountSat };
  }

  fundingTransactionGenerated(params: { temporaryChannelId: string; nodeId: string; txHex: string }): void {
    const res = this.channelManager.funding_transaction_generated(
      this.ldk.ChannelId.constructor_new(Buffer.from(params.temporaryChannelId, 'hex')),
      Buffer.from(params.nodeId, 'hex'),
      Buffer.from(params.txHex, 'hex'),
    );
    this.apiError('funding_transaction_generated', res);
    this.pump();
  }

  /** One block: transactions_confirmed (if any txs) then best_block_updated, on ChannelManager and ChainMonitor. */
  connectBlock(params: { headerHex: string; height: number; txs?: { index: number; hex: string }[] }): { height: number } {
    const ldk = this.ldk;
    const header = Buffer.from(params.headerHex, 'hex');
    if (header.length !== 80) throw new Error(`connectBlock: header must be 80 bytes, got ${header.length}`);
    const txs = (params.txs ?? []).map((t) => ({ index: t.index, raw: Buffer.from(t.hex, 'hex') }));
    for (const c of this.confirms) {
      if (txs.length > 0) {
        c.transactions_confirmed(
          header,
          txs.map((t) => ldk.TwoTuple_usizeTransactionZ.constructor_new(t.index, t.raw)),
          params.height,
        );
      }
    }
    for (const c of this.confirms) c.best_block_updated(header, params.height);
    this.pump();
    return { height: params.height };
  }

  chainState(): { hash: string; height: number; channels: number; monitors: number } {
    const bb = this.channelManager.current_best_block();
    return {
      hash: LdkHost.txidHex(bb.get_block_hash()),
      height: bb.get_height(),
      channels: this.channelManager.list_channels().length,
      monitors: this.chainMonitor.list_monitors().length,
    };
  }

  setFeerate(params: { satPerKw: number; target?: ConfirmationTargetName }): number[] {
    if (params.target) {
      const i = CONFIRMATION_TARGETS.indexOf(params.target);
      if (i < 0) throw new Error(`unknown ConfirmationTarget ${params.target}`);
      this.feerates[i] = params.satPerKw;
    } else {
      // Every target except the two lower bounds LDK enforces on the peer's feerates: raising those
      // with our own estimate would make LDK refuse (and close on) the peer's lower feerate.
      CONFIRMATION_TARGETS.forEach((t, i) => {
        if (!t.startsWith('MinAllowed')) this.feerates[i] = params.satPerKw;
      });
    }
    return [...this.feerates];
  }

  /**
   * ChannelManager.timer_tick_occurred (feerate updates → update_fee for outbound channels, timeouts)
   * and, unless `peers: false` or a ping is outstanding, PeerManager.timer_tick_occurred (pings; a
   * second tick with a ping unanswered and nothing received drops the peer).
   */
  timerTick(params: { peers?: boolean }): { peerTick: boolean } {
    this.channelManager.timer_tick_occurred();
    let peerTick = false;
    if (params.peers !== false && !this.pingSeriesRunning) {
      const outstanding = [...this.counters.values()].some((c) => c.pingsSent > c.pongsReceived);
      if (!outstanding) {
        this.peerManager.timer_tick_occurred();
        peerTick = true;
      }
    }
    this.pump();
    return { peerTick };
  }

  closeChannel(params: { channelId: string; nodeId: string; feerateSatPerKw?: number }): void {
    const id = this.channelIdOf(params.channelId);
    const node = Buffer.from(params.nodeId, 'hex');
    const res =
      params.feerateSatPerKw === undefined
        ? this.channelManager.close_channel(id, node)
        : this.channelManager.close_channel_with_feerate_and_script(id, node, this.ldk.Option_u32Z.constructor_some(params.feerateSatPerKw), null);
    this.apiError('close_channel', res);
    this.pump();
  }

  forceClose(params: { channelId: string; nodeId: string; message?: string }): void {
    const res = this.channelManager.force_close_broadcasting_latest_txn(
      this.channelIdOf(params.channelId),
      Buffer.from(params.nodeId, 'hex'),
      params.message ?? 'force-closed by test',
    );
    this.apiError('force_close_broadcasting_latest_txn', res);
    this.pump();
  }

  takeBroadcasts(): string[] {
    this.pump();
    const out = this.pendingBroadcasts;
    this.pendingBroadcasts = [];
    return out;
  }

  /** Track node-net's socket descriptors, so a connection LDK drops before init is noticed at once. */
  private instrumentPeerManager(): void {
    const pm = this.peerManager as unknown as Record<string, (...a: unknown[]) => unknown>;
    const origOut = pm.new_outbound_connection!.bind(pm);
    const origIn = pm.new_inbound_connection!.bind(pm);
    const origClosed = pm.socket_disconnected!.bind(pm);
    pm.new_outbound_connection = (nodeId: unknown, descriptor: unknown, addr: unknown) => {
      this.descriptors.set(descriptor as object, { nodeId: Buffer.from(nodeId as Uint8Array).toString('hex'), closed: false });
      return origOut(nodeId, descriptor, addr);
    };
    pm.new_inbound_connection = (descriptor: unknown, addr: unknown) => {
      this.descriptors.set(descriptor as object, { nodeId: '', closed: false });
      return origIn(descriptor, addr);
    };
    pm.socket_disconnected = (descriptor: unknown) => {
      const d = this.descriptors.get(descriptor as object);
      if (d && !d.closed) {
        d.closed = true;
        this.descriptors.delete(descriptor as object);
        this.log(`[ldk host] socket closed${d.nodeId ? ` (peer ${d.nodeId})` : ' (inbound)'}`);
        this.waiter.notify();
      }
      return origClosed(descriptor);
    };
  }

  private peers(): HostPeerInfo[] {
    return this.peerManager.list_peers().map((p) => {
      const le = p.get_init_features().le_flags();
      const be = Buffer.from(le).reverse();
      let i = 0;
      while (i < be.length && be[i] === 0) i++;
      return {
        nodeId: Buffer.from(p.get_counterparty_node_id()).toString('hex'),
        features: be.subarray(i).toString('hex'),
        inbound: Boolean(p.get_is_inbound_connection()), // the binding returns 0/1
      };
    });
  }

  private findPeer(nodeId: string): HostPeerInfo | undefined {
    return this.peers().find((p) => p.nodeId === nodeId);
  }

  async listen(): Promise<number> {
    await this.net.bind_listener('127.0.0.1', 0);
    const servers = (this.net as unknown as { servers: net.Server[] }).servers;
    const addr = servers[servers.length - 1]?.address();
    if (!addr || typeof addr === 'string') throw new Error('LDK listener has no TCP address');
    this.log(`[ldk host] listening on 127.0.0.1:${addr.port}`);
    return addr.port;
  }

  async connect(params: { host: string; port: number; nodeId: string; timeoutMs?: number }): Promise<HostPeerInfo> {
    const before = new Set(this.descriptors.keys());
    try {
      await this.net.connect_peer(params.host, params.port, Buffer.from(params.nodeId, 'hex'));
    } catch (e) {
      throw new Error(`LDK could not connect to ${params.host}:${params.port}: ${String(e ?? 'socket error')}`);
    }
    // node-net creates the descriptor in the socket's connect callback, right after resolving.
    await new Promise((r) => setImmediate(r));
    const mine = [...this.descriptors.entries()].filter(([d, v]) => !before.has(d) && v.nodeId === params.nodeId).map(([, v]) => v);
    const conn = mine[mine.length - 1];
    let info: HostPeerInfo | undefined;
    await this.waiter.wait(
      () => {
        info = this.findPeer(params.nodeId);
        if (info) return true;
        if (conn?.closed) {
          throw new Error(`LDK dropped the connection to ${params.nodeId} before init completed; recent LDK log:\n${this.recentLines.slice(-12).join('\n')}`);
        }
        return false;
      },
      params.timeoutMs ?? 10_000,
      `handshake + init with ${params.nodeId}`,
      5,
    );
    return info!;
  }

  async waitForPeer(params: { nodeId: string; timeoutMs?: number }): Promise<HostPeerInfo> {
    let info: HostPeerInfo | undefined;
    await this.waiter.wait(
      () => (info = this.findPeer(params.nodeId)) !== undefined,
      params.timeoutMs ?? 10_000,
      `peer ${params.nodeId}`,
      5,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; recent LDK log:\n${this.recentLines.slice(-12).join('\n')}`);
    });
    return info!;
  }

  /**
   * `count` pings from LDK to `nodeId`, one at a time. LDK sends a ping on `timer_tick_occurred()` when it
   * is not awaiting a pong; we tick only when no ping of ours is outstanding and wait for the pong
   * (observed through LDK's Trace log "Received message Pong(...) from <id>") before the next tick.
   */
  async pingRoundTrips(params: { nodeId: string; count: number; timeoutMs?: number }): Promise<{ pongs: number; ms: number }> {
    const { nodeId, count } = params;
    const perPing = params.timeoutMs ?? 5_000;
    const t0 = Date.now();
    let pongs = 0;
    if (!this.findPeer(nodeId)) throw new Error(`not connected to ${nodeId}`);
    this.pingSeriesRunning = true;
    try {
      const c = this.counter(nodeId);
      for (let i = 0; i < count; i++) {
        // No ping outstanding (also not LDK's automatic extra ping after 32 unanswered messages).
        await this.waiter.wait(() => c.pongsReceived >= c.pingsSent || !this.findPeer(nodeId), perPing, `pong to outstanding ping to ${nodeId}`);
        if (!this.findPeer(nodeId)) break;
        const sentBefore = c.pingsSent;
        const pongsBefore = c.pongsReceived;
        this.peerManager.timer_tick_occurred();
        this.peerManager.process_events();
        if (c.pingsSent === sentBefore) {
          throw new Error(`LDK did not send a ping on timer tick (ping ${i + 1}/${count}); recent LDK log:\n${this.recentLines.slice(-8).join('\n')}`);
        }
        try {
          await this.waiter.wait(() => c.pongsReceived > pongsBefore || !this.findPeer(nodeId), perPing, `pong ${i + 1}/${count} from ${nodeId}`, 50);
        } catch (e) {
          this.log(`[ldk host] ${(e as Error).message}`);
          break;
        }
        if (c.pongsReceived <= pongsBefore) break; // peer gone
        pongs++;
      }
    } finally {
      this.pingSeriesRunning = false;
    }
    return { pongs, ms: Date.now() - t0 };
  }

  pingsReceived(params: { nodeId: string }): number {
    return this.counters.get(params.nodeId)?.pingsReceived ?? 0;
  }

  stats(params: { nodeId: string }): PeerCounters {
    return { ...this.counter(params.nodeId) };
  }

  disconnect(params: { nodeId: string }): void {
    this.peerManager.disconnect_by_node_id(Buffer.from(params.nodeId, 'hex'));
    this.peerManager.process_events();
  }

  async waitForDisconnect(params: { nodeId: string; timeoutMs?: number }): Promise<void> {
    await this.waiter.wait(() => !this.findPeer(params.nodeId), params.timeoutMs ?? 10_000, `disconnect of ${params.nodeId}`, 5);
  }

  listPeers(): HostPeerInfo[] {
    return this.peers();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.pumpTimer) clearInterval(this.pumpTimer);
    try {
      this.net?.stop();
    } catch (e) {
      this.log(`[ldk host] stop: ${String(e)}`);
    }
  }

  private graph: import('lightningdevkit').NetworkGraph | undefined;
  private readonly scidOf = new Map<string, bigint>();

  /** LDK's NetworkGraph: channels (scid as BLOCKxTXxOUT, node ids, each direction's policy) and announced nodes (id, alias). */
  async networkGraph(): Promise<{ channels: { scid: string; node1: string; node2: string; directions: [LdkGraphPolicy | null, LdkGraphPolicy | null] }[]; nodes: { id: string; alias?: string }[] }> {
    const ldk = this.ldk!;
    const g = this.graph!.read_only();
    try {
      return this.readGraph(ldk, g);
    } finally {
      // The read-only view holds the graph's lock until freed: free it now, not at garbage collection
      // (a later gossip message would otherwise find the lock taken and panic).
      const bindings = await import('lightningdevkit/bindings.mjs');
      const { CommonBase } = await import('lightningdevkit/structs/CommonBase.mjs');
      (bindings as unknown as { ReadOnlyNetworkGraph_free(p: bigint): void }).ReadOnlyNetworkGraph_free((g as unknown as { ptr: bigint }).ptr);
      (CommonBase as unknown as { set_null_skip_free(o: unknown): void }).set_null_skip_free(g);
    }
  }

  private readGraph(ldk: Ldk, g: import('lightningdevkit').ReadOnlyNetworkGraph): { channels: { scid: string; node1: string; node2: string; directions: [LdkGraphPolicy | null, LdkGraphPolicy | null] }[]; nodes: { id: string; alias?: string }[] } {
    // Each direction's latest channel_update as LDK applied it (null before one).
    const policyOf = (u: import('lightningdevkit').ChannelUpdateInfo | null): LdkGraphPolicy | null =>
      u === null || u === undefined
        ? null
        : {
            feeBaseMsat: u.get_fees().get_base_msat(),
            feeProportionalMillionths: u.get_fees().get_proportional_millionths(),
            cltvExpiryDelta: u.get_cltv_expiry_delta(),
            htlcMinimumMsat: String(u.get_htlc_minimum_msat()),
            htlcMaximumMsat: String(u.get_htlc_maximum_msat()),
            lastUpdate: u.get_last_update(),
          };
    const hex = (n: import('lightningdevkit').NodeId): string => Buffer.from(n.as_slice()).toString('hex');
    const channels = g.list_channels().map((scid) => {
      const c = g.channel(scid);
      return { scid: `${scid >> 40n}x${(scid >> 16n) & 0xffffffn}x${scid & 0xffffn}`, node1: hex(c.get_node_one()), node2: hex(c.get_node_two()), directions: [policyOf(c.get_one_to_two()), policyOf(c.get_two_to_one())] as [LdkGraphPolicy | null, LdkGraphPolicy | null] };
    });
    const nodes = g.list_nodes().map((id) => {
      const info = g.node(id)?.get_announcement_info();
      const alias = info instanceof ldk.Option_NodeAnnouncementInfoZ_Some ? Buffer.from(info.some.alias().get_a()).toString('utf8').replace(/\0+$/, '') : undefined;
      return { id: hex(id), ...(alias !== undefined ? { alias } : {}) };
    });
    return { channels, nodes };
  }

  /** LDK's node_announcement, broadcast to its peers (LDK sends one only once it has a public channel). */
  broadcastNodeAnnouncement(p: { alias: string; rgb?: string; port?: number }): void {
    const alias = Buffer.alloc(32);
    alias.write(p.alias, 'utf8');
    const addrs = p.port ? [this.ldk.SocketAddress.constructor_tcp_ip_v4(Buffer.from([127, 0, 0, 1]), p.port)] : [];
    this.peerManager.broadcast_node_announcement(Buffer.from(p.rgb ?? '123456', 'hex'), alias, addrs);
  }


  async dispatch(method: string, params: Record<string, unknown>): Promise<unknown> {
    const p = params as never;
    switch (method) {
      case 'start':
        return this.start(p);
      case 'listen':
        return this.listen();
      case 'connect':
        return this.connect(p);
      case 'waitForPeer':
        return this.waitForPeer(p);
      case 'pingRoundTrips':
        return this.pingRoundTrips(p);
      case 'pingsReceived':
        return this.pingsReceived(p);
      case 'stats':
        return this.stats(p);
      case 'disconnect':
        return this.disconnect(p);
      case 'waitForDisconnect':
        return this.waitForDisconnect(p);
      case 'listPeers':
        return this.listPeers();
      case 'broadcastTxs':
        return this.broadcastTxs;
      case 'takeBroadcasts':
        return this.takeBroadcasts();
      case 'sendPayment':
        return this.sendPayment(p);
      case 'payInvoice':
        return this.payInvoice(p);
      case 'keysend':
        return this.keysend(p);
      case 'openChannel':
        return this.openChannel(p);
      case 'createInvoice':
        return this.createInvoice(p);
      case 'claimHeld':
        return this.claimHeld();
      case 'fundingOutput':
        return this.fundingOutput(p);
      case 'fundingTransactionGenerated':
        return this.fundingTransactionGenerated(p);
      case 'connectBlock':
        return this.connectBlock(p);
      case 'chainState':
        return this.chainState();
      case 'listChannels':
        return this.listChannels();
      case 'waitForChannel':
        return this.waitForChannel(p);
      case 'events':
        return this.events(p);
      case 'waitForEvent':
        return this.waitForEvent(p);
      case 'setFeerate':
        return this.setFeerate(p);
      case 'timerTick':
        return this.timerTick(p);
      case 'closeChannel':
        return this.closeChannel(p);
      case 'forceClose':
        return this.forceClose(p);
      case 'networkGraph':
        return this.networkGraph();
      case 'broadcastNodeAnnouncement':
        return this.broadcastNodeAnnouncement(p);
      case 'stop':
        return this.stop();
      default:
        throw new Error(`unknown method ${method}`);
    }
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write('ldk-host.js must be started with child_process.fork\n');
    process.exit(2);
  }
  captureConsole();
  const host = new LdkHost();
  process.on('message', (raw: unknown) => {
    const req = raw as HostRequest;
    void (async () => {
      try {
        const result = await host.dispatch(req.method, req.params ?? {});
        if (req.method !== 'stop') host.pumpNow();
        send({ type: 'response', id: req.id, ok: true, result: result ?? null });
        if (req.method === 'stop') setTimeout(() => process.exit(0), 10);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        send({ type: 'response', id: req.id, ok: false, error: msg });
      }
    })();
  });
  // Parent went away: nothing left to serve.
  process.on('disconnect', () => {
    host.stop();
    process.exit(0);
  });
  process.on('uncaughtException', (e) => {
    send({ type: 'log', line: `[ldk host] uncaught: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` });
    process.exit(1);
  });
  send({ type: 'ready' });
}

main();
