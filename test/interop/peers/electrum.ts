/**
 * Electrum (Debian python3-electrum 4.3.4) as a remote Lightning peer.
 *
 * The class spawns `/usr/bin/python3 -I test/interop/peers/electrum_peer.py` and talks to it with one
 * JSON object per line on stdin/stdout (requests carry an `id`, responses echo it; unsolicited lines
 * are events: `peer`, `disconnected`, `rejected`, `remote_error`, `ready`). The Python side uses
 * Electrum's own BOLT 8 transport (LNTransport / LNResponderTransport), its own message serializer
 * (lnmsg) and its own init checks (feature dependencies, ln_compare_features, `networks` chain).
 *
 * Electrum behaviour worth knowing (see test/interop/peers/electrum_peer.py and
 * /work/shared/specs/test-peers.md):
 *  - As initiator it reads act 2 with one `read(1024)` and requires exactly 50 bytes: a responder must
 *    write act 2 in one write and nothing after it until act 3 has arrived.
 *  - As responder it reads act 1 and act 3 with exact-size reads, so an initiator may send act 3 and its
 *    `init` in the same segment.
 *  - After init it disconnects (like Electrum's LNPeer) when the peer's features lack a dependency, when
 *    the peer requires a bit we do not offer, when a required bit of ours is missing on the peer, when
 *    the `networks` TLV does not contain regtest, or when a message cannot be parsed (including unknown
 *    even message types). Unknown odd message types are ignored.
 *
 * Requires Debian's /usr/bin/python3 (a pyenv/venv python3 on PATH does not see dist-packages).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { PeerAdapter, RemotePeerInfo } from '../adapter.js';

export const ELECTRUM_PYTHON = '/usr/bin/python3';

/**
 * Default init features, hex of the feature bytes (big-endian): 0xa102 =
 *   bit 1  data_loss_protect (optional)
 *   bit 8  var_onion_optin   (required)
 *   bit 13 static_remotekey  (optional)
 *   bit 15 payment_secret    (optional)
 * A minimal node supports all four; it also satisfies LDK's "must support 0/1, 8/9, 12/13, 14/15".
 * (Electrum's own feature set would *require* bit 6, gossip_queries; we do not send that by default.)
 */
export const ELECTRUM_DEFAULT_FEATURES = 'a102';

export interface ElectrumPeerOptions {
  /** 32-byte node private key; random by default. */
  privateKey?: Buffer;
  /** Hex of the feature bytes sent in our `init` (big-endian, no length prefix). Default 'a102'. */
  features?: string;
  /** Receives the Python side's stderr lines and adapter notes. Without it they are kept in a ring buffer. */
  log?: (line: string) => void;
  /** Timeout for a single request to the Python side (ms). Default 60 000. */
  requestTimeoutMs?: number;
}

/** What Electrum saw of a connected counterpart. */
export interface ElectrumPeerInfo extends RemotePeerInfo {
  /** Hex of the `globalfeatures` field as received. */
  globalFeatures: string;
  /** Hex of the `features` field as received. */
  localFeatures: string;
  /** Chain hashes (hex, as on the wire) of the counterpart's `networks` TLV, or null when absent. */
  networks: string[] | null;
  /** Connection counter inside this Electrum instance. */
  connId: number;
  /** 'in' when the counterpart dialled us, 'out' when we dialled it. */
  direction: 'in' | 'out';
}

/** An error or warning message the counterpart sent. */
export interface ElectrumRemoteError {
  kind: 'error' | 'warning';
  nodeId: string;
  channelId: string;
  text: string;
  connId: number;
}

interface Pending {
  method: string;
  resolve: (v: any) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  nodeId: string;
  done: () => void;
}

const STDERR_RING = 60;
const live = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Absolute path of electrum_peer.py, resolved from this module (dist/test/interop/peers/ or test/interop/peers/). */
export function electrumScriptPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const parts = here.split(path.sep);
  const distIdx = parts.lastIndexOf('dist');
  const root =
    distIdx >= 0 ? parts.slice(0, distIdx).join(path.sep) || path.sep : path.resolve(here, '..', '..', '..');
  return path.join(root, 'test', 'interop', 'peers', 'electrum_peer.py');
}

/** Whether Debian's python3 can import electrum; `reason` says why not. */
export function electrumAvailable(): { ok: boolean; reason?: string } {
  const r = spawnSync(ELECTRUM_PYTHON, ['-I', '-c', 'import electrum, electrum.lntransport'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (r.error) return { ok: false, reason: `${ELECTRUM_PYTHON}: ${r.error.message}` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').slice(-1)[0] ?? '';
    return { ok: false, reason: `${ELECTRUM_PYTHON} -c "import electrum" failed: ${last}` };
  }
  return { ok: true };
}

function normHex(h: string): string {
  const s = h.toLowerCase().replace(/^0x/, '');
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) throw new Error(`features must be hex bytes, got ${JSON.stringify(h)}`);
  return s;
}

export class ElectrumPeer implements PeerAdapter {
  readonly name = 'electrum';
  /** No channels: the Python side speaks BOLT 1/8 only (Electrum's channel code needs its wallet and network stack). */
  readonly channels = null;

  private readonly privateKey: Buffer;
  private readonly features: string;
  private readonly logFn?: (line: string) => void;
  private readonly requestTimeoutMs: number;

  private child?: ChildProcessWithoutNullStreams;
  private exited?: Promise<void>;
  private dead?: Error;
  private stopped = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly stderrRing: string[] = [];
  private _nodeId?: Buffer;

  /** Counterparts with a live, initialised connection, by node id hex. */
  private readonly peers = new Map<string, ElectrumPeerInfo>();
  private readonly peerWaiters = new Set<Waiter>();
  private readonly disconnectWaiters = new Set<Waiter>();
  /** Why recent connection attempts were dropped during init (newest last). */
  readonly rejections: { nodeId: string; direction: string; reason: string }[] = [];
  /** error / warning messages received from counterparts. */
  readonly remoteErrors: ElectrumRemoteError[] = [];

  constructor(opts: ElectrumPeerOptions = {}) {
    if (opts.privateKey !== undefined && opts.privateKey.length !== 32) throw new Error('privateKey must be 32 bytes');
    this.privateKey = opts.privateKey ? Buffer.from(opts.privateKey) : randomBytes(32);
    this.features = normHex(opts.features ?? ELECTRUM_DEFAULT_FEATURES);
    this.logFn = opts.log;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
  }

  get nodeId(): Buffer {
    if (!this._nodeId) throw new Error('ElectrumPeer: nodeId is available after start()');
    return this._nodeId;
  }

  /** The last stderr lines of the Python side. */
  recentLog(): string {
    return this.stderrRing.join('\n');
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('ElectrumPeer already started');
    if (this.stopped) throw new Error('ElectrumPeer was stopped');
    const script = electrumScriptPath();
    const child = spawn(ELECTRUM_PYTHON, ['-I', script], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    this.child = child;
    live.add(child);
    installExitHook();

    let readyResolve!: () => void;
    const ready = new Promise<void>((res) => (readyResolve = res));

    createInterface({ input: child.stderr }).on('line', (line) => this.noteLog(line));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg: any;
      try {
        msg = JSON.parse(line);
      } catch {
        this.noteLog(`(non-JSON stdout) ${line}`);
        return;
      }
      if (msg.event === 'ready') readyResolve();
      else if (msg.event) this.onEvent(msg);
      else this.onResponse(msg);
    });

    this.exited = new Promise<void>((res) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        const err = new Error(
          `electrum_peer.py exited (code ${code}, signal ${signal})` +
            (this.stopped ? '' : ` unexpectedly; last stderr:\n${this.recentLog()}`),
        );
        this.dead = err;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new Error(`${p.method}: ${err.message}`));
          this.pending.delete(id);
        }
        this.peers.clear();
        for (const w of [...this.disconnectWaiters]) w.done();
        for (const w of [...this.peerWaiters]) w.done();
        readyResolve();
        res();
      });
    });
    child.on('error', (e) => this.noteLog(`spawn error: ${e.message}`));
    child.stdin.on('error', (e) => this.noteLog(`stdin error: ${e.message}`));

    await ready;
    if (this.dead) throw new Error(`ElectrumPeer failed to start: ${this.dead.message}`);
    const r = await this.call<{ nodeId: string }>('start', {
      privateKey: this.privateKey.toString('hex'),
      features: this.features,
    });
    this._nodeId = Buffer.from(r.nodeId, 'hex');
  }

  async listen(): Promise<number> {
    const r = await this.call<{ port: number }>('listen', { host: '127.0.0.1' });
    return r.port;
  }

  async connect(host: string, port: number, remoteNodeId: Buffer): Promise<void> {
    await this.call('connect', { host, port, nodeId: remoteNodeId.toString('hex') });
  }

  /** Resolves with the counterpart's info (an ElectrumPeerInfo) once it has completed handshake + init. */
  waitForPeer(nodeId: Buffer, timeoutMs = 10_000): Promise<ElectrumPeerInfo> {
    const id = nodeId.toString('hex');
    const have = this.peers.get(id);
    if (have) return Promise.resolve(have);
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        nodeId: id,
        done: () => {
          clearTimeout(timer);
          this.peerWaiters.delete(w);
          const info = this.peers.get(id);
          if (info) resolve(info);
          else reject(this.dead ?? new Error('ElectrumPeer stopped'));
        },
      };
      const timer = setTimeout(() => {
        this.peerWaiters.delete(w);
        const rej = this.rejections.filter((r) => r.nodeId === id).map((r) => `${r.direction}: ${r.reason}`);
        reject(
          new Error(
            `electrum: no peer ${id} after ${timeoutMs} ms` +
              (rej.length ? `; init rejections: ${rej.join('; ')}` : '') +
              `; connected: [${[...this.peers.keys()].join(', ')}]; last stderr:\n${this.recentLog()}`,
          ),
        );
      }, timeoutMs);
      this.peerWaiters.add(w);
    });
  }

  async pingRoundTrips(nodeId: Buffer, count: number): Promise<number> {
    const r = await this.call<{ pongs: number }>('pingRoundTrips', { nodeId: nodeId.toString('hex'), count });
    return r.pongs;
  }

  /** Pings received from `nodeId`, counted over every connection since start (pings with
   *  num_pong_bytes >= 65532 are counted but, per BOLT 1, not answered). */
  async pingsReceived(nodeId: Buffer): Promise<number> {
    const r = await this.call<{ count: number }>('pingsReceived', { nodeId: nodeId.toString('hex') });
    return r.count;
  }

  /** Closes the connection; resolves after Electrum's read loop for it has ended. */
  async disconnect(nodeId: Buffer): Promise<void> {
    await this.call('disconnect', { nodeId: nodeId.toString('hex') });
  }

  /** Resolves once there is no live connection to `nodeId` (immediately if there is none now). */
  waitForDisconnect(nodeId: Buffer, timeoutMs = 10_000): Promise<void> {
    const id = nodeId.toString('hex');
    if (!this.peers.has(id) || this.dead) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        nodeId: id,
        done: () => {
          clearTimeout(timer);
          this.disconnectWaiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.disconnectWaiters.delete(w);
        reject(new Error(`electrum: still connected to ${id} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.disconnectWaiters.add(w);
    });
  }

  /** Currently connected counterparts. */
  connectedPeers(): ElectrumPeerInfo[] {
    return [...this.peers.values()];
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (this.stopped) {
      if (this.exited) await this.exited;
      return;
    }
    this.stopped = true;
    if (!child || !this.exited) return;
    if (!this.dead) {
      try {
        child.stdin.write(JSON.stringify({ id: 0, method: 'stop' }) + '\n');
        child.stdin.end();
      } catch {
        /* ignore */
      }
      const t = setTimeout(() => {
        if (!this.dead) child.kill('SIGKILL');
      }, 3000);
      await this.exited;
      clearTimeout(t);
    }
    for (const w of [...this.peerWaiters]) w.done();
  }

  // --- internals ---

  private noteLog(line: string): void {
    this.stderrRing.push(line);
    if (this.stderrRing.length > STDERR_RING) this.stderrRing.shift();
    if (this.logFn) this.logFn(line);
  }

  private call<T = unknown>(method: string, params: Record<string, unknown>): Promise<T> {
    const child = this.child;
    if (!child) return Promise.reject(new Error(`ElectrumPeer.${method}: not started`));
    if (this.dead) return Promise.reject(new Error(`${method}: ${this.dead.message}`));
    if (this.stopped) return Promise.reject(new Error(`ElectrumPeer.${method}: stopped`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`electrum ${method}: no answer after ${this.requestTimeoutMs} ms; last stderr:\n${this.recentLog()}`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      child.stdin.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  private onResponse(msg: { id: number; result?: unknown; error?: string }): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error !== undefined) p.reject(new Error(`electrum ${p.method}: ${msg.error}`));
    else p.resolve(msg.result);
  }

  private onEvent(msg: any): void {
    switch (msg.event) {
      case 'peer': {
        const { event: _e, ...info } = msg;
        this.peers.set(info.nodeId, info as ElectrumPeerInfo);
        for (const w of [...this.peerWaiters]) if (w.nodeId === info.nodeId) w.done();
        break;
      }
      case 'disconnected': {
        const cur = this.peers.get(msg.nodeId);
        if (cur && cur.connId === msg.connId) {
          this.peers.delete(msg.nodeId);
          for (const w of [...this.disconnectWaiters]) if (w.nodeId === msg.nodeId) w.done();
        }
        this.noteLog(`(adapter) disconnected ${msg.nodeId} conn ${msg.connId}: ${msg.reason}`);
        break;
      }
      case 'rejected':
        this.rejections.push({ nodeId: msg.nodeId, direction: msg.direction, reason: msg.reason });
        if (this.rejections.length > 20) this.rejections.shift();
        break;
      case 'remote_error':
        this.remoteErrors.push({
          kind: msg.kind,
          nodeId: msg.nodeId,
          channelId: msg.channelId,
          text: msg.text,
          connId: msg.connId,
        });
        break;
      default:
        this.noteLog(`(adapter) unknown event ${JSON.stringify(msg)}`);
    }
  }
}
