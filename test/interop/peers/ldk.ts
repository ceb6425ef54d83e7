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
import type { PeerAdapter, RemotePeerInfo } from '../adapter.js';
import type { HostMessage, HostPeerInfo, HostRequest, LdkLogLevel } from './ldk-host.js';

export interface LdkPeerOptions {
  /** 32-byte seed for LDK's KeysManager; fixes the node id. Default: random. */
  seed?: Buffer;
  /** Receives LDK's log lines (prefixed `[ldk <level>]`) and host diagnostics. */
  log?: (line: string) => void;
  /** Lowest LDK log level forwarded to `log` (default 'debug'; 'trace' shows every message sent/received). */
  logLevel?: LdkLogLevel;
  /** Timeout of one start-up (WASM load + ChannelManager), default 30 s. */
  startTimeoutMs?: number;
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
  private readonly seed: Buffer;
  private readonly logFn: ((line: string) => void) | undefined;
  private readonly logLevel: LdkLogLevel;
  private readonly startTimeoutMs: number;
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
