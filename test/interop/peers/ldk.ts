/**
 * `PeerAdapter` for LDK 0.1 (npm `lightningdevkit` + `lightningdevkit-node-net`).
 *
 * LDK runs in a child process (ldk-host.ts, forked with an IPC channel): its WASM banner and Rust panic
 * output cannot reach the test runner's stdout, and its timers/memory stay apart from the node under test.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ChannelChain, ChannelOps, PeerAdapter, RemoteChannel, RemotePeerInfo } from '../adapter.js';
import { parseBlock } from '../../../src/chain/block.js';
import { newP2wpkhKey, signP2wpkhSpend } from '../../harness/btcd.js';
import { until } from '../../harness/wait.js';
import type {
  ConfirmationTargetName,
  HostChannelInfo,
  HostChannelOptions,
  HostEvent,
  HostMessage,
  HostPeerInfo,
  HostRequest,
  LdkGraphPolicy,
  LdkLogLevel,
} from './ldk-host.js';

export type { ConfirmationTargetName, HostChannelInfo as LdkChannelInfo, HostChannelOptions as LdkChannelOptions, HostEvent as LdkEvent };

/** The part of a chain (test/harness/btcd.ts's BtcdNode) that `LdkPeer.syncTo` uses. */
export type LdkChainSource = Pick<ChannelChain, 'getBlockCount' | 'getBlockHash' | 'getRawBlock'>;

export interface LdkPeerOptions {
  /** 32-byte seed for LDK's KeysManager; fixes the node id. Default: random. */
  seed?: Buffer;
  /** Receives LDK's log lines (prefixed `[ldk <level>]`) and host diagnostics. */
  log?: (line: string) => void;
  /** Lowest LDK log level forwarded to `log` (default 'debug'; 'trace' shows every message sent/received). */
  logLevel?: LdkLogLevel;
  /** Timeout of one start-up (WASM load + ChannelManager), default 30 s. */
  startTimeoutMs?: number;
  /**
   * Channel settings (minimum_depth 1, our_to_self_delay 144, announced inbound channels accepted, no
   * anchors, feerate 253 sat/kw for every target, loose dust exposure...). See HostChannelOptions.
   */
  channels?: HostChannelOptions;
}

/**
 * Why LDK cannot be used here, or null when its packages resolve. Checked without loading the WASM.
 */
export function ldkUnavailableReason(): string | null {
  try {
    const require = createRequire(import.meta.url);
    require.resolve('lightningdevkit/liblightningjs.wasm');
    import.meta.resolve('lightningdevkit');
    import.meta.resolve('lightningdevkit-node-net');
    return null;
  } catch (e) {
    return `LDK packages not loadable (npm lightningdevkit@0.1.0, lightningdevkit-node-net@0.1.0): ${String((e as Error).message).split("\n")[0]}`;
  }
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class LdkPeer implements PeerAdapter {
  readonly name = 'ldk';
  readonly channels: LdkChannelOps;
  private readonly seed: Buffer;
  private readonly logFn: ((line: string) => void) | undefined;
  private readonly logLevel: LdkLogLevel;
  private readonly startTimeoutMs: number;
  private readonly channelOptions: HostChannelOptions;
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited: Error | undefined;
  private _nodeId: Buffer | undefined;
  private stopping: Promise<void> | undefined;
  private readonly tail: string[] = [];
  /** Milliseconds the last start() took (fork + WASM init + ChannelManager). */
  startMs = 0;

  constructor(opts: LdkPeerOptions = {}) {
    this.seed = opts.seed ?? randomBytes(32);
    if (this.seed.length !== 32) throw new Error('LdkPeer: seed must be 32 bytes');
    this.logFn = opts.log;
    this.logLevel = opts.logLevel ?? 'debug';
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.channelOptions = opts.channels ?? {};
    this.channels = new LdkChannelOps(this, this.channelOptions.ourToSelfDelay ?? 144);
  }

  get nodeId(): Buffer {
    if (!this._nodeId) throw new Error('LdkPeer: nodeId is available after start()');
    return this._nodeId;
  }

  private log(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 30) this.tail.shift();
    this.logFn?.(line);
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('LdkPeer: already started');
    const t0 = Date.now();
    const hostPath = fileURLToPath(new URL('./ldk-host.js', import.meta.url));
    const child = fork(hostPath, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
      serialization: 'json',
    });
    this.child = child;
    const forward = (stream: NodeJS.ReadableStream | null, tag: string): void => {
      if (!stream) return;
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          this.log(`[ldk ${tag}] ${buf.slice(0, i)}`);
          buf = buf.slice(i + 1);
        }
      });
    };
    forward(child.stdout, 'stdout');
    forward(child.stderr, 'stderr');

    const ready = new Promise<void>((resolve, reject) => {
      const onMsg = (m: HostMessage): void => {
        if (m.type === 'ready') {
          child.off('message', onMsg);
          resolve();
        }
      };
      child.on('message', onMsg);
      child.once('exit', () => reject(this.exited ?? new Error('LDK host exited before ready')));
    });
    child.on('message', (m: HostMessage) => this.onMessage(m));
    child.on('error', (e) => this.log(`[ldk host] process error: ${e.message}`));
    child.on('exit', (code, signal) => {
      const err = new Error(
        `LDK host process exited (code ${code}, signal ${signal})${this.stopping ? '' : ' unexpectedly'}; last lines:\n${this.tail.slice(-10).join('\n')}`,
      );
      this.exited = err;
      for (const [, p] of this.pending) p.reject(new Error(`${p.method}: ${err.message}`));
      this.pending.clear();
    });
    await ready;
    const res = (await this.call('start', {
      seed: this.seed.toString('hex'),
      logLevel: this.logLevel,
      forwardLogs: this.logFn !== undefined,
      channels: this.channelOptions,
    }, this.startTimeoutMs)) as { nodeId: string; startMs: number };
    this._nodeId = Buffer.from(res.nodeId, 'hex');
    this.startMs = Date.now() - t0;
    this.log(`[ldk host] started node ${res.nodeId} in ${this.startMs} ms (LDK init ${res.startMs} ms)`);
  }

  private onMessage(m: HostMessage): void {
    if (m.type === 'log') {
      this.log(m.line);
      return;
    }
    if (m.type !== 'response') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`LDK ${p.method}: ${m.error}`));
  }

  private call(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<unknown> {
    const child = this.child;
    if (!child) return Promise.reject(new Error(`LdkPeer.${method}: not started`));
    if (this.exited) return Promise.reject(new Error(`LdkPeer.${method}: ${this.exited.message}`));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`LdkPeer.${method}: no answer from LDK host within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        method,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const req: HostRequest = { id, method, params };
      child.send(req, (err) => {
        if (err && this.pending.delete(id)) {
          clearTimeout(timer);
          reject(new Error(`LdkPeer.${method}: IPC send failed: ${err.message}`));
        }
      });
    });
  }

  async listen(): Promise<number> {
    return (await this.call('listen')) as number;
  }

  async connect(host: string, port: number, remoteNodeId: Buffer, timeoutMs = 10_000): Promise<void> {
    await this.call('connect', { host, port, nodeId: remoteNodeId.toString('hex'), timeoutMs }, timeoutMs + 5_000);
  }

  async waitForPeer(nodeId: Buffer, timeoutMs = 10_000): Promise<RemotePeerInfo> {
    const info = (await this.call('waitForPeer', { nodeId: nodeId.toString('hex'), timeoutMs }, timeoutMs + 5_000)) as HostPeerInfo;
    return { nodeId: info.nodeId, features: info.features };
  }

  /** Peers LDK currently has (handshake + init done), with their init features and direction. */
  async listPeers(): Promise<HostPeerInfo[]> {
    return (await this.call('listPeers')) as HostPeerInfo[];
  }

  /** LDK's NetworkGraph (its P2PGossipSync): channels and announced nodes. */
  async networkGraph(): Promise<{ channels: { scid: string; node1: string; node2: string; directions: [LdkGraphPolicy | null, LdkGraphPolicy | null] }[]; nodes: { id: string; alias?: string }[] }> {
    return (await this.call('networkGraph')) as Awaited<ReturnType<LdkPeer['networkGraph']>>;
  }

  /** LDK broadcasts its node_announcement (it needs a public channel first). */
  async broadcastNodeAnnouncement(p: { alias: string; rgb?: string; port?: number }): Promise<void> {
    await this.call('broadcastNodeAnnouncement', p);
  }

  async pingRoundTrips(nodeId: Buffer, count: number, perPingTimeoutMs = 5_000): Promise<number> {
    const res = (await this.call(
      'pingRoundTrips',
      { nodeId: nodeId.toString('hex'), count, timeoutMs: perPingTimeoutMs },
      count * perPingTimeoutMs + 10_000,
    )) as { pongs: number; ms: number };
    this.log(`[ldk host] ${res.pongs}/${count} ping round trips in ${res.ms} ms`);
    return res.pongs;
  }

  async pingsReceived(nodeId: Buffer): Promise<number> {
    return (await this.call('pingsReceived', { nodeId: nodeId.toString('hex') })) as number;
  }

  /** Ping/pong counters for one peer as seen in LDK's log (pings sent include LDK's automatic ones). */
  async pingStats(nodeId: Buffer): Promise<{ pingsReceived: number; pongsReceived: number; pingsSent: number }> {
    return (await this.call('stats', { nodeId: nodeId.toString('hex') })) as {
      pingsReceived: number;
      pongsReceived: number;
      pingsSent: number;
    };
  }

  /** Transactions LDK handed to its broadcaster, hex. */
  async broadcastTxs(): Promise<string[]> {
    return (await this.call('broadcastTxs')) as string[];
  }

  /* ---------------------------------------- channels ---------------------------------------- */

  /**
   * `ChannelManager.send_payment` to `nodeId` (no retry; LDK routes over its channels): with a random
   * payment secret, `customTlvs` in the final payload, or through `hint` (a route hint `hint.from
   * --hint.scid--> nodeId`). The outcome comes as PaymentPathFailed / PaymentFailed / PaymentSent events.
   */
  async sendPayment(p: { nodeId: Buffer | string; amountMsat: number | bigint; paymentHash: Buffer; paymentSecret?: Buffer; finalCltvDelta?: number; customTlvs?: { type: bigint; value: Buffer }[]; hint?: { from: Buffer | string; scid: string; feeBaseMsat?: number; feePpm?: number; cltvDelta?: number } }): Promise<{ paymentId: string }> {
    return (await this.call('sendPayment', {
      nodeId: hexOf(p.nodeId),
      amountMsat: Number(p.amountMsat),
      paymentHash: p.paymentHash.toString('hex'),
      ...(p.paymentSecret ? { paymentSecret: p.paymentSecret.toString('hex') } : {}),
      ...(p.finalCltvDelta !== undefined ? { finalCltvDelta: p.finalCltvDelta } : {}),
      ...(p.customTlvs ? { customTlvs: p.customTlvs.map((t) => ({ type: t.type.toString(), valueHex: t.value.toString('hex') })) } : {}),
      ...(p.hint ? { hint: { ...p.hint, from: hexOf(p.hint.from) } } : {}),
    })) as { paymentId: string };
  }

  /** A BOLT 11 invoice of LDK's (`create_bolt11_invoice`); LDK claims what pays it unless `holdClaims`. */
  async createInvoice(p: { amountMsat?: number | bigint; description?: string; expirySecs?: number; minFinalCltvDelta?: number; holdClaims?: boolean } = {}): Promise<string> {
    const r = (await this.call('createInvoice', { ...p, ...(p.amountMsat !== undefined ? { amountMsat: Number(p.amountMsat) } : {}) })) as { bolt11: string };
    return r.bolt11;
  }

  /** Claims the payments held since `createInvoice({ holdClaims: true })`. */
  async claimHeld(): Promise<number> {
    return ((await this.call('claimHeld', {})) as { claimed: number }).claimed;
  }

  /**
   * Pays a BOLT 11 invoice as LDK reads it (payment secret, features, expiry, final CLTV delta; LDK splits
   * it over several channels when one is not enough); `amountMsat` for an invoice of any amount. The
   * outcome comes as PaymentSent (with the preimage) or PaymentPathFailed / PaymentFailed.
   */
  async payInvoice(invoice: string, amountMsat?: number | bigint): Promise<{ paymentId: string; paymentHash: string }> {
    return (await this.call('payInvoice', { invoice, ...(amountMsat !== undefined ? { amountMsat: Number(amountMsat) } : {}) })) as { paymentId: string; paymentHash: string };
  }

  /** Keysend (`send_spontaneous_payment`): `amountMsat` to `nodeId` with `preimage` (default random) in record 5482373484. */
  async keysend(p: { nodeId: Buffer | string; amountMsat: number | bigint; preimage?: Buffer; finalCltvDelta?: number }): Promise<{ paymentId: string; paymentHash: string }> {
    return (await this.call('keysend', {
      nodeId: hexOf(p.nodeId),
      amountMsat: Number(p.amountMsat),
      ...(p.preimage ? { preimage: p.preimage.toString('hex') } : {}),
      ...(p.finalCltvDelta !== undefined ? { finalCltvDelta: p.finalCltvDelta } : {}),
    })) as { paymentId: string; paymentHash: string };
  }

  /** `ChannelManager.create_channel` to a connected peer. `announce` overrides announce_for_forwarding. */
  async openChannel(p: { nodeId: Buffer | string; amountSat: number | bigint; pushMsat?: number | bigint; announce?: boolean }): Promise<{ temporaryChannelId: string }> {
    return (await this.call('openChannel', {
      nodeId: hexOf(p.nodeId),
      amountSat: Number(p.amountSat),
      ...(p.pushMsat !== undefined ? { pushMsat: Number(p.pushMsat) } : {}),
      ...(p.announce !== undefined ? { announce: p.announce } : {}),
    })) as { temporaryChannelId: string };
  }

  /** The funding output LDK asked for (FundingGenerationReady), waiting for the event. */
  async fundingOutput(temporaryChannelId: string, timeoutMs = 10_000): Promise<{ scriptHex: string; amountSat: number }> {
    return (await this.call('fundingOutput', { temporaryChannelId, timeoutMs }, timeoutMs + 5_000)) as { scriptHex: string; amountSat: number };
  }

  /** `funding_transaction_generated`: LDK broadcasts `txHex` (see takeBroadcasts) once funding_signed arrives. */
  async fundingTransactionGenerated(temporaryChannelId: string, nodeId: Buffer | string, txHex: string): Promise<void> {
    await this.call('fundingTransactionGenerated', { temporaryChannelId, nodeId: hexOf(nodeId), txHex });
  }

  /** Feeds one block to LDK (transactions_confirmed + best_block_updated on ChannelManager and ChainMonitor). */
  async connectBlock(p: { headerHex: string; height: number; txs?: { index: number; hex: string }[] }): Promise<void> {
    await this.call('connectBlock', p);
  }

  /** LDK's best block (display-order hash) and how many channels / channel monitors it has. */
  async chainState(): Promise<{ hash: string; height: number; channels: number; monitors: number }> {
    return (await this.call('chainState')) as { hash: string; height: number; channels: number; monitors: number };
  }

  /**
   * Feeds LDK every block after its best block up to the chain's tip, with all their transactions.
   * While LDK has no channel and no monitor, it jumps straight to the tip. No reorg support: throws
   * when the chain is shorter than LDK's height. Returns the new height.
   */
  async syncTo(chain: LdkChainSource): Promise<number> {
    const tip = await chain.getBlockCount();
    const st = await this.chainState();
    if (tip < st.height) throw new Error(`LdkPeer.syncTo: chain tip ${tip} is below LDK's height ${st.height} (reorgs are not supported)`);
    const from = st.channels === 0 && st.monitors === 0 ? Math.max(st.height + 1, tip) : st.height + 1;
    for (let h = from; h <= tip; h++) {
      const block = parseBlock(await chain.getRawBlock(await chain.getBlockHash(h)));
      await this.connectBlock({
        headerHex: Buffer.from(block.header.raw).toString('hex'),
        height: h,
        txs: block.transactions.map((t, index) => ({ index, hex: Buffer.from(t.raw).toString('hex') })),
      });
    }
    return tip;
  }

  async listChannels(): Promise<HostChannelInfo[]> {
    return (await this.call('listChannels')) as HostChannelInfo[];
  }

  /** The channel with this id (final, or the temporary id from openChannel), if LDK still lists it. */
  async getChannel(channelId: string): Promise<HostChannelInfo | undefined> {
    const list = await this.listChannels();
    return list.find((c) => c.channelId === channelId || c.temporaryChannelId === channelId);
  }

  /**
   * Waits until the channel (final or temporary id) is ready (channel_ready exchanged), usable (ready
   * and peer connected), or closed (ChannelClosed seen and no longer listed). Returns the channel, or
   * the ChannelClosed event.
   */
  async waitForChannel(channelId: string, state: 'ready' | 'usable', timeoutMs?: number): Promise<HostChannelInfo>;
  async waitForChannel(channelId: string, state: 'closed', timeoutMs?: number): Promise<HostEvent>;
  async waitForChannel(channelId: string, state: 'ready' | 'usable' | 'closed', timeoutMs = 10_000): Promise<HostChannelInfo | HostEvent> {
    return (await this.call('waitForChannel', { channelId, state, timeoutMs }, timeoutMs + 5_000)) as HostChannelInfo | HostEvent;
  }

  /** The event log (FundingGenerationReady, ChannelPending, ChannelReady, ChannelClosed, SpendableOutputs, …). */
  async events(since = 0): Promise<HostEvent[]> {
    return (await this.call('events', { since })) as HostEvent[];
  }

  /** Waits for an event of `type` (optionally for a channel id, final or temporary; from sequence `since`). */
  async waitForEvent(type: string, opts: { channelId?: string; since?: number; timeoutMs?: number } = {}): Promise<HostEvent> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return (await this.call('waitForEvent', { type, ...opts, timeoutMs }, timeoutMs + 5_000)) as HostEvent;
  }

  /**
   * Sets what LDK's FeeEstimator answers, sat/kw. Without `target`: every ConfirmationTarget except the
   * MinAllowed*RemoteFee lower bounds. LDK (as funder of a non-anchor channel) sends update_fee on the
   * next timerTick() when NonAnchorChannelFee rose, or fell below half the channel's feerate.
   * Returns the table, indexed by ConfirmationTarget value.
   */
  async setFeerate(satPerKw: number, target?: ConfirmationTargetName): Promise<number[]> {
    return (await this.call('setFeerate', { satPerKw, ...(target ? { target } : {}) })) as number[];
  }

  /** ChannelManager.timer_tick_occurred() and (unless `peers: false` or a ping is outstanding) PeerManager's. */
  async timerTick(opts: { peers?: boolean } = {}): Promise<{ peerTick: boolean }> {
    return (await this.call('timerTick', opts)) as { peerTick: boolean };
  }

  /** Cooperative close (shutdown + closing_signed); `feerateSatPerKw` uses close_channel_with_feerate_and_script. */
  async closeChannel(channelId: string, nodeId: Buffer | string, feerateSatPerKw?: number): Promise<void> {
    await this.call('closeChannel', { channelId, nodeId: hexOf(nodeId), ...(feerateSatPerKw !== undefined ? { feerateSatPerKw } : {}) });
  }

  /** force_close_broadcasting_latest_txn: LDK broadcasts its latest commitment transaction. */
  async forceClose(channelId: string, nodeId: Buffer | string, message?: string): Promise<void> {
    await this.call('forceClose', { channelId, nodeId: hexOf(nodeId), ...(message !== undefined ? { message } : {}) });
  }

  /** Transactions LDK broadcast since the last call (hex), in order; clears them. */
  async takeBroadcasts(): Promise<string[]> {
    return (await this.call('takeBroadcasts')) as string[];
  }

  /** Waits until LDK has broadcast at least one transaction not yet taken, and takes them all. */
  async waitForBroadcasts(timeoutMs = 10_000): Promise<string[]> {
    return until(async () => {
      const txs = await this.takeBroadcasts();
      return txs.length > 0 && txs;
    }, { what: 'LDK to broadcast', timeoutMs }).catch((e: Error) => {
      throw new Error(`LdkPeer.waitForBroadcasts: ${e.message}; last lines:\n${this.tail.slice(-10).join('\n')}`);
    });
  }

  async disconnect(nodeId: Buffer): Promise<void> {
    await this.call('disconnect', { nodeId: nodeId.toString('hex') });
  }

  async waitForDisconnect(nodeId: Buffer, timeoutMs = 10_000): Promise<void> {
    await this.call('waitForDisconnect', { nodeId: nodeId.toString('hex'), timeoutMs }, timeoutMs + 5_000);
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    const child = this.child;
    if (!child || this.exited) {
      this.stopping = Promise.resolve();
      return this.stopping;
    }
    this.stopping = (async () => {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      try {
        await Promise.race([this.call('stop', {}, 3_000), exited]);
      } catch {
        /* host unresponsive: killed below */
      }
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exited;
      clearTimeout(killTimer);
    })();
    return this.stopping;
  }
}

function hexOf(id: Buffer | string): string {
  return typeof id === 'string' ? id : id.toString('hex');
}

/**
 * The generic channel operations on top of LdkPeer's own: LDK has no wallet, so a channel it opens is
 * funded from the chain's miner, and it has no chain backend, so blocks are fed to it and what it
 * broadcasts is published for it.
 */
class LdkChannelOps implements ChannelOps {
  private chainSource: ChannelChain | undefined;
  constructor(
    private readonly ldk: LdkPeer,
    readonly toSelfDelay: number,
  ) {}

  private get chain(): ChannelChain {
    if (!this.chainSource) throw new Error('LdkPeer.channels: useChain() first');
    return this.chainSource;
  }

  async useChain(chain: ChannelChain): Promise<void> {
    this.chainSource = chain;
    await this.ldk.syncTo(chain);
  }

  async followChain(): Promise<void> {
    await this.ldk.syncTo(this.chain);
    await this.chain.publish(await this.ldk.takeBroadcasts());
  }

  /** `announce` (LDK's announce_for_forwarding for this channel) makes it a public channel. */
  async open(p: { nodeId: Buffer; amountSat: bigint; pushMsat?: bigint; announce?: boolean }): Promise<{ channelId: string; fundingTxid: string }> {
    const { temporaryChannelId } = await this.ldk.openChannel(p);
    const out = await this.ldk.fundingOutput(temporaryChannelId);
    const key = newP2wpkhKey();
    const utxo = await this.chain.fund(key.script, p.amountSat + 10_000n);
    await this.ldk.syncTo(this.chain);
    const funding = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script: Buffer.from(out.scriptHex, 'hex'), amountSat: p.amountSat }]);
    await this.ldk.fundingTransactionGenerated(temporaryChannelId, p.nodeId, funding.hex);
    const pending = await this.ldk.waitForEvent('ChannelPending', { channelId: temporaryChannelId });
    await this.chain.publish(await this.ldk.waitForBroadcasts());
    return { channelId: pending.channelId ?? temporaryChannelId, fundingTxid: funding.txid };
  }

  async list(): Promise<RemoteChannel[]> {
    return (await this.ldk.listChannels()).map(remoteChannel);
  }

  async waitFor(channelId: string, state: 'usable', timeoutMs?: number): Promise<RemoteChannel>;
  async waitFor(channelId: string, state: 'closed', timeoutMs?: number): Promise<RemoteChannel | undefined>;
  async waitFor(channelId: string, state: 'usable' | 'closed', timeoutMs?: number): Promise<RemoteChannel | undefined> {
    if (state === 'closed') {
      await this.ldk.waitForChannel(channelId, 'closed', timeoutMs);
      return undefined;
    }
    return remoteChannel(await this.ldk.waitForChannel(channelId, 'usable', timeoutMs));
  }

  /** LDK sends update_fee on a timer tick when its fee estimate for the channel rose (see setFeerate). */
  async updateFee(_channelId: string, feeratePerKw: number): Promise<void> {
    await this.ldk.setFeerate(feeratePerKw);
    await this.ldk.timerTick({ peers: false });
  }

  async close(channelId: string, nodeId: Buffer): Promise<void> {
    await this.ldk.closeChannel(channelId, nodeId);
  }

  async forceClose(channelId: string, nodeId: Buffer): Promise<void> {
    await this.ldk.forceClose(channelId, nodeId);
    await this.chain.publish(await this.ldk.waitForBroadcasts());
  }
}

function remoteChannel(c: HostChannelInfo): RemoteChannel {
  const closing = c.shutdownState !== undefined && c.shutdownState !== 'NotShuttingDown';
  return {
    channelId: c.channelId,
    peerId: c.counterpartyNodeId,
    outbound: c.isOutbound,
    state: c.isUsable ? 'usable' : closing ? 'closing' : c.isChannelReady ? 'ready' : 'opening',
    capacitySat: c.channelValueSat,
    spendableMsat: c.outboundCapacityMsat,
    receivableMsat: c.inboundCapacityMsat,
    feeratePerKw: c.feerateSatPerKw ?? 0,
    ...(c.fundingTxid !== undefined ? { fundingTxid: c.fundingTxid } : {}),
    ...(c.shortChannelId !== undefined ? { shortChannelId: c.shortChannelId } : {}),
  };
}
