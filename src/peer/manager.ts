import { EventEmitter } from 'node:events';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PeerRepository } from '../store/peers.js';
import { NoiseSocket } from '../transport/connection.js';
import type { TransportError } from '../transport/errors.js';
import type { StaticKey } from '../transport/noise.js';
import { Features } from '../wire/features.js';
import { PeerError, type DialFailure } from './errors.js';
import { Peer, type NetAddress, type PeerSettings } from './peer.js';

export interface PeerManagerOptions {
  localKey: StaticKey;
  chainHash: Buffer;
  features: Features;
  /** Addresses to accept connections on ([] = do not listen). */
  listen: NetAddress[];
  connectTimeoutMs: number;
  /** Per handshake act. */
  handshakeTimeoutMs: number;
  initTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Inbound handshakes in progress at once; past it the oldest is dropped for the newcomer. */
  maxPendingHandshakes: number;
  /** Bytes queued for a peer that does not read before it is cut off. */
  maxOutboundBuffer: number;
  /** Largest incoming message, ≤ 65535. */
  maxMessageLength: number;
  peers: PeerRepository;
  log: Logger;
}

export const DEFAULT_PEER_OPTIONS = {
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  initTimeoutMs: 30_000,
  pingIntervalMs: 60_000,
  pingTimeoutMs: 30_000,
  maxPendingHandshakes: 128,
  maxOutboundBuffer: 4 * 1024 * 1024,
  maxMessageLength: 65535,
} satisfies Partial<PeerManagerOptions>;

export interface PeerManagerEvents {
  connected: [Peer];
  disconnected: [Peer, string];
}

/**
 * Owns every connection: listeners, outbound dials, one live connection per node id, the limits that
 * keep a misbehaving connection from hurting anyone else, and the API core (connect, disconnect, list,
 * ping) that the JSON-RPC and gRPC shells wrap.
 */
export class PeerManager extends EventEmitter<PeerManagerEvents> {
  readonly #opts: PeerManagerOptions;
  readonly #settings: PeerSettings;
  readonly #servers: Server[] = [];
  readonly #bound: NetAddress[] = [];
  readonly #peers = new Map<string, Peer>();
  /** Outbound attempts in flight, so concurrent connects to one node share a dial. */
  readonly #dialing = new Map<string, Promise<Peer>>();
  /** Sockets still in their handshake or init exchange, oldest first. */
  readonly #pending = new Set<Socket>();
  #stopping = false;
  readonly #log: Logger;

  constructor(opts: PeerManagerOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.log;
    this.#settings = {
      features: opts.features,
      chainHash: opts.chainHash,
      initTimeoutMs: opts.initTimeoutMs,
      pingIntervalMs: opts.pingIntervalMs,
      pingTimeoutMs: opts.pingTimeoutMs,
    };
  }

  get nodeId(): Buffer {
    return this.#opts.localKey.publicKey;
  }

  get features(): Features {
    return this.#opts.features;
  }

  /** Where we actually listen (ports resolved when 0 was asked for). */
  get bound(): NetAddress[] {
    return [...this.#bound];
  }

  /** Inbound connections still handshaking (for tests and metrics). */
  get pendingHandshakes(): number {
    return this.#pending.size;
  }

  async start(): Promise<void> {
    for (const addr of this.#opts.listen) {
      const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, addr.host, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch((err: NodeJS.ErrnoException) => {
        throw new PeerError('CONNECT_FAILED', `peer: cannot listen on ${formatAddress(addr)}: ${err.code ?? err.message}`);
      });
      server.on('error', (err) => this.#log.error({ err }, 'listener error'));
      const a = server.address() as { address: string; port: number };
      this.#servers.push(server);
      this.#bound.push({ host: a.address, port: a.port });
      this.#log.info({ address: formatAddress({ host: a.address, port: a.port }) }, 'listening for peers');
    }
  }

  #accept(socket: Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    // At the cap, the oldest unfinished handshake makes room: a flood of stalled connections then
    // cycles through the slots while an honest peer's handshake (milliseconds) gets through.
    if (this.#pending.size >= this.#opts.maxPendingHandshakes) {
      const oldest = this.#pending.values().next().value as Socket;
      this.#pending.delete(oldest);
      oldest.destroy();
    }
    this.#pending.add(socket);
    const address = { host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    const conn = this.#noise(socket);
    this.#establish(conn, 'in', address)
      .catch((err: Error) => this.#log.debug({ address: formatAddress(address), err: err.message }, 'inbound connection failed'))
      .finally(() => this.#pending.delete(socket));
  }

  #noise(socket: Socket, remoteKey?: Buffer): NoiseSocket {
    return new NoiseSocket(socket, {
      localKey: this.#opts.localKey,
      remoteKey,
      actTimeoutMs: this.#opts.handshakeTimeoutMs,
      maxOutboundBuffer: this.#opts.maxOutboundBuffer,
      maxMessageLength: this.#opts.maxMessageLength,
    });
  }

  /** Handshake, init exchange, then registration (replacing an older connection to the same node). */
  async #establish(conn: NoiseSocket, direction: 'in' | 'out', address: NetAddress): Promise<Peer> {
    const where = formatAddress(address);
    await conn.handshake().catch((err: Error) => {
      const dial: DialFailure = { address: where, stage: 'Cryptographic handshake', detail: err.message };
      throw new PeerError('HANDSHAKE_FAILED', `${dial.stage}: ${err.message}`, (err as TransportError).code, dial);
    });
    const peer = new Peer(conn, direction, address, this.#settings, this.#log);
    await peer.start().catch((err: Error) => {
      const dial: DialFailure = { address: where, stage: 'Exchanging init messages', detail: err.message };
      throw new PeerError('INIT_FAILED', `${dial.stage}: ${err.message}`, undefined, dial);
    });
    if (this.#stopping) {
      await peer.close('shutting down');
      throw new PeerError('SHUTTING_DOWN', 'node is shutting down');
    }
    const old = this.#peers.get(peer.id);
    if (old) {
      this.#log.info({ peer: peer.id }, 'peer reconnected: replacing the old connection');
      this.#peers.delete(peer.id);
      void old.close('replaced by a new connection');
    }
    this.#peers.set(peer.id, peer);
    peer.once('close', (reason) => {
      if (this.#peers.get(peer.id) === peer) this.#peers.delete(peer.id);
      this.emit('disconnected', peer, reason);
    });
    // Only an address we dialled: an inbound connection's source port is ephemeral (docs/channels.md, Peer addresses).
    this.#opts.peers
      .recordConnection(peer.id, direction === 'out' ? formatAddress(address) : undefined, peer.remoteFeatures.toHex(), Date.now())
      .catch((err: Error) => this.#log.error({ err: err.message, peer: peer.id }, 'cannot record peer'));
    this.emit('connected', peer);
    peer.release();
    return peer;
  }

  /**
   * Connects to `nodeId` at host:port. An existing live connection is returned at once (either
   * direction); a dial already in flight to that node is shared.
   */
  connect(nodeId: Buffer, host: string, port: number): Promise<Peer> {
    if (this.#stopping) return Promise.reject(new PeerError('SHUTTING_DOWN', 'node is shutting down'));
    const id = nodeId.toString('hex');
    const live = this.#peers.get(id);
    if (live?.connected) return Promise.resolve(live);
    const inflight = this.#dialing.get(id);
    if (inflight) return inflight;
    const attempt = this.#dial(nodeId, { host, port }).finally(() => this.#dialing.delete(id));
    this.#dialing.set(id, attempt);
    return attempt;
  }

  async #dial(nodeId: Buffer, address: NetAddress): Promise<Peer> {
    const where = formatAddress(address);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = tcpConnect({ host: address.host, port: address.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(connectFailure(where, { code: 'ETIMEDOUT' }));
      }, this.#opts.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectFailure(where, err));
      });
    });
    try {
      return await this.#establish(this.#noise(socket, nodeId), 'out', address);
    } catch (err) {
      const e = err as PeerError;
      throw new PeerError(e.code ?? 'CONNECT_FAILED', `${where}: ${e.message}`, e.transportCode, e.dial);
    }
  }

  peer(nodeId: Buffer | string): Peer | undefined {
    const p = this.#peers.get(typeof nodeId === 'string' ? nodeId : nodeId.toString('hex'));
    return p?.connected ? p : undefined;
  }

  list(): Peer[] {
    return [...this.#peers.values()].filter((p) => p.connected);
  }

  /** Closes the connection to `nodeId`; resolves once it is really gone. */
  async disconnect(nodeId: Buffer): Promise<void> {
    const p = this.#peers.get(nodeId.toString('hex'));
    if (!p || !p.connected) throw new PeerError('NOT_CONNECTED', 'Peer not connected');
    this.#peers.delete(p.id);
    await p.close('disconnected by request');
  }

  async ping(nodeId: Buffer, len?: number, pongBytes?: number): Promise<number> {
    const p = this.peer(nodeId);
    if (!p) throw new PeerError('NOT_CONNECTED', 'Peer not connected');
    return p.ping(len, pongBytes);
  }

  /** Stops listening, tells every peer we are going, and waits for their connections to close. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    // server.close() completes only once every accepted connection has ended, so start it, close the
    // connections, then wait for it.
    const listenersClosed = Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.#pending) s.destroy();
    const peers = [...this.#peers.values()];
    for (const p of peers) p.sendWarning('anode is shutting down');
    await Promise.all(peers.map((p) => p.close('shutting down')));
    this.#peers.clear();
    await listenersClosed;
  }
}

export function formatAddress(a: NetAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A failed TCP connect, worded as lightningd words it (`<addr>: Connection establishment: …`). */
function connectFailure(where: string, err: { code?: string; message?: string }): PeerError {
  const dial: DialFailure = { address: where, stage: 'Connection establishment', detail: describeSocketError(err), ...(err.code ? { errno: err.code } : {}) };
  return new PeerError('CONNECT_FAILED', `${where}: ${dial.stage}: ${dial.detail}`, undefined, dial);
}

function describeSocketError(err: { code?: string; message?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ETIMEDOUT':
      return 'Connection timed out';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    default:
      return err.message ?? String(err.code);
  }
}
