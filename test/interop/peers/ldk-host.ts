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
  private stopped = false;

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

  async start(params: { seed: string; logLevel?: LdkLogLevel; forwardLogs?: boolean }): Promise<{ nodeId: string; startMs: number }> {
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

    const feeEstimator = ldk.FeeEstimator.new_impl({
      get_est_sat_per_1000_weight(): number {
        return 253;
      },
    });
    const host = this;
    const broadcaster = ldk.BroadcasterInterface.new_impl({
      broadcast_transactions(txs: Uint8Array[]): void {
        for (const tx of txs) {
          const hex = Buffer.from(tx).toString('hex');
          host.broadcastTxs.push(hex);
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
    const config = ldk.UserConfig.constructor_default();
    // Regtest genesis block at height 0 (no chain source: blocks are fed explicitly if ever needed).
    const chainParams = ldk.ChainParameters.constructor_new(network, ldk.BestBlock.constructor_from_network(network));
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
    this.peerManager = ldk.PeerManager.constructor_new(
      this.channelManager.as_ChannelMessageHandler(),
      ignorer.as_RoutingMessageHandler(),
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
    const handler = ldk.EventHandler.new_impl({
      handle_event(event) {
        host.log(`[ldk host] event ${event.constructor.name}`);
        return ldk.Result_NoneReplayEventZ.constructor_ok();
      },
    });
    this.pumpTimer = setInterval(() => {
      this.channelManager.as_EventsProvider().process_pending_events(handler);
      this.chainMonitor.as_EventsProvider().process_pending_events(handler);
      this.peerManager.process_events();
    }, 20);
    return { nodeId: this.nodeIdHex, startMs: Date.now() - t0 };
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
