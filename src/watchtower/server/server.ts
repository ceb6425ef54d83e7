/**
 * The tower's network side (LND `watchtower/wtserver/server.go`; spec §1.5–§1.8): BOLT 8 with the tower
 * key, the Init exchange, then exactly one request kind per connection — CreateSession, a stream of
 * StateUpdates, or DeleteSession — with LND's checks and reply codes. One connection per session id (a
 * second one is closed at once), 15 s read and write deadlines, the connection closed after any non-OK
 * reply. Every OK reply follows the commit of what it acknowledges (see tower-store.ts).
 *
 * Limits, so a misbehaving client is cut off without disturbing the others: a cap on handshakes in
 * progress (the oldest makes room, so stalled ones cycle out while real ones take milliseconds), a cap on
 * connections, a per-message read deadline (bytes trickling in do not reset it), a write deadline, a
 * small bound on messages a client may send ahead of our replies, and nothing decoded beyond 65535 bytes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { NoiseSocket } from '../../transport/connection.js';
import type { TransportError } from '../../transport/errors.js';
import type { StaticKey } from '../../transport/noise.js';
import { WtErrorCode } from '../wire/codes.js';
import { TOWER_FEATURES } from '../wire/features.js';
import { checkRemoteInit, decodeMessage, encodeMessage, messageName, type WtCreateSession, type WtMessage, type WtStateUpdate } from '../wire/messages.js';
import { DEFAULT_TOWER_PORT, formatHostPort, parseTowerAddress, type HostPort } from './address.js';
import { checkCreateSession, type TowerSession } from './rules.js';
import type { TowerStore } from './tower-store.js';

export interface WatchtowerServerOptions {
  listen: HostPort[];
  /** The tower's static key (KeyChain.towerKey(): family 9 index 0). */
  towerKey: StaticKey;
  /** Genesis hash in internal byte order (the wtwire chain_hash). */
  chainHash: Buffer;
  store: TowerStore;
  log: Logger;
  /** Deadline for each message from the client, and for each handshake act (default 15 s). */
  readTimeoutMs?: number;
  /** Deadline for a reply to leave our buffers (default 15 s). */
  writeTimeoutMs?: number;
  /** `--watchtower.externalip` values (`host[:port]`, default port 9911), for the advertised URIs. */
  externalIps?: string[];
  /** Reward pkScript source; without it reward sessions are refused with 64, as LND's tower does. */
  newRewardScript?: () => Promise<Buffer>;
  /** Handshakes in progress at once; past it the oldest is dropped (default 256). */
  maxPendingHandshakes?: number;
  /** Connections at once, handshaking or not; past it new ones are closed (default 4096). */
  maxConnections?: number;
  /** Messages a client may send ahead of our replies before it is cut off (default 4). */
  maxQueuedMessages?: number;
  now?: () => number;
}

export interface TowerInfo {
  /** The tower's public key (33 bytes). */
  pubkey: Buffer;
  /** Where it listens, `host:port`. */
  listeners: string[];
  /** `<pubkey hex>@<host>:<port>` for each external address. */
  uris: string[];
}

export class WatchtowerError extends Error {
  override name = 'WatchtowerError';
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Why a connection ended, for logs. */
class Hangup extends Error {}

/**
 * One client connection after the handshake: a queue of received messages, read with a deadline,
 * and replies written with one.
 */
class ClientConn {
  readonly #queue: Buffer[] = [];
  #waiter: { resolve: (m: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  #closedErr: Error | undefined;
  #writeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly noise: NoiseSocket,
    private readonly readTimeoutMs: number,
    private readonly writeTimeoutMs: number,
    private readonly maxQueued: number,
  ) {
    noise.on('message', (m) => {
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = undefined;
        clearTimeout(w.timer);
        w.resolve(m);
        return;
      }
      this.#queue.push(m);
      if (this.#queue.length > this.maxQueued) this.kill(`sent ${this.#queue.length} messages ahead of our replies`);
    });
    noise.on('drain', () => {
      clearTimeout(this.#writeTimer);
      this.#writeTimer = undefined;
    });
    noise.on('close', (err?: TransportError) => {
      clearTimeout(this.#writeTimer);
      this.#closedErr ??= new Hangup(err ? err.message : 'connection closed');
      const w = this.#waiter;
      this.#waiter = undefined;
      if (w) {
        clearTimeout(w.timer);
        w.reject(this.#closedErr);
      }
    });
    noise.startReading();
  }

  /** Next raw message, within the read deadline. */
  next(): Promise<Buffer> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closedErr || this.noise.closed) return Promise.reject(this.#closedErr ?? new Hangup('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        this.kill(`read timeout (${this.readTimeoutMs} ms)`);
        reject(new Hangup(`read timeout (${this.readTimeoutMs} ms)`));
      }, this.readTimeoutMs);
      timer.unref();
      this.#waiter = { resolve, reject, timer };
    });
  }

  async read(): Promise<WtMessage> {
    const raw = await this.next();
    try {
      return decodeMessage(raw);
    } catch (err) {
      this.kill(`undecodable message: ${(err as Error).message}`);
      throw new Hangup((err as Error).message);
    }
  }

  send(m: WtMessage): void {
    if (this.noise.closed) return;
    this.noise.send(encodeMessage(m));
    if (this.noise.outboundBuffered > 0 && !this.#writeTimer) {
      this.#writeTimer = setTimeout(() => this.kill(`write timeout (${this.writeTimeoutMs} ms)`), this.writeTimeoutMs);
      this.#writeTimer.unref();
    }
  }

  /** Flush what was sent, then close. */
  end(): void {
    this.noise.end();
  }

  kill(reason: string): void {
    this.#closedErr ??= new Hangup(reason);
    this.noise.destroy();
  }
}

type ResolvedOptions = Required<Omit<WatchtowerServerOptions, 'newRewardScript' | 'externalIps'>> & Pick<WatchtowerServerOptions, 'newRewardScript'>;

export class WatchtowerServer {
  #opts!: ResolvedOptions;
  #external: HostPort[] = [];
  readonly #servers: Server[] = [];
  readonly #bound: HostPort[] = [];
  /** Sockets still in the BOLT 8 handshake, oldest first. */
  readonly #pending = new Set<Socket>();
  /** Live connections by session id (hex); an entry stays until its last write has settled. */
  readonly #sessions = new Map<string, ClientConn>();
  readonly #running = new Set<Promise<void>>();
  #started = false;
  #stopping = false;

  get bound(): HostPort[] {
    return this.#bound.map((a) => ({ ...a }));
  }

  /** Connections past the handshake (for tests and metrics). */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  get pendingHandshakes(): number {
    return this.#pending.size;
  }

  async start(opts: WatchtowerServerOptions): Promise<void> {
    if (this.#started) throw new WatchtowerError('watchtower: already started');
    if (opts.chainHash.length !== 32) throw new WatchtowerError('watchtower: chain hash must be 32 bytes');
    this.#external = (opts.externalIps ?? []).map((s) => parseTowerAddress(s, DEFAULT_TOWER_PORT));
    const read = opts.readTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#opts = {
      readTimeoutMs: read,
      writeTimeoutMs: opts.writeTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxPendingHandshakes: 256,
      maxConnections: 4096,
      maxQueuedMessages: 4,
      now: Date.now,
      ...stripUndefined(opts),
    } as ResolvedOptions;
    this.#started = true;
    for (const addr of opts.listen) {
      const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(addr.port, addr.host, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch(async (err: NodeJS.ErrnoException) => {
        await this.stop();
        throw new WatchtowerError(`watchtower: cannot listen on ${formatHostPort(addr)}: ${err.code ?? err.message}`);
      });
      server.on('error', (err) => this.#opts.log.error({ err: err.message }, 'watchtower listener error'));
      const a = server.address() as { address: string; port: number };
      this.#servers.push(server);
      this.#bound.push({ host: a.address, port: a.port });
      this.#opts.log.info({ address: formatHostPort({ host: a.address, port: a.port }) }, 'watchtower listening');
    }
  }

  info(): TowerInfo {
    if (!this.#started) throw new WatchtowerError('watchtower not active');
    const pub = this.#opts.towerKey.publicKey.toString('hex');
    return {
      pubkey: Buffer.from(this.#opts.towerKey.publicKey),
      listeners: this.#bound.map(formatHostPort),
      uris: this.#external.map((a) => `${pub}@${formatHostPort(a)}`),
    };
  }

  /** Stops listening, closes every connection and waits until their pending writes have settled. */
  async stop(): Promise<void> {
    if (this.#stopping || !this.#started) return;
    this.#stopping = true;
    const closed = Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const s of this.#pending) s.destroy();
    for (const c of this.#sessions.values()) c.kill('tower stopping');
    await Promise.allSettled([...this.#running]);
    await closed;
  }

  #accept(socket: Socket): void {
    socket.on('error', () => {});
    if (this.#stopping || this.#pending.size + this.#sessions.size >= this.#opts.maxConnections) {
      socket.destroy();
      return;
    }
    if (this.#pending.size >= this.#opts.maxPendingHandshakes) {
      const oldest = this.#pending.values().next().value as Socket;
      this.#pending.delete(oldest);
      oldest.destroy();
    }
    this.#pending.add(socket);
    const p = this.#serve(socket)
      .catch((err: Error) => this.#opts.log.error({ err: err.message }, 'watchtower: connection handler failed'))
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async #serve(socket: Socket): Promise<void> {
    const address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const log = this.#opts.log;
    const noise = new NoiseSocket(socket, {
      localKey: this.#opts.towerKey,
      actTimeoutMs: this.#opts.readTimeoutMs,
      maxOutboundBuffer: 256 * 1024,
    });
    let remote: Buffer;
    try {
      remote = await noise.handshake();
    } catch (err) {
      log.debug({ address, err: (err as Error).message }, 'watchtower: handshake failed');
      return;
    } finally {
      this.#pending.delete(socket);
    }
    if (this.#stopping) {
      noise.destroy();
      return;
    }
    const id = remote.toString('hex');
    if (this.#sessions.has(id)) {
      // LND: ErrPeerAlreadyConnected, closed without a reply.
      log.debug({ address, session: id }, 'watchtower: session already connected, closing the new connection');
      noise.destroy();
      return;
    }
    const conn = new ClientConn(noise, this.#opts.readTimeoutMs, this.#opts.writeTimeoutMs, this.#opts.maxQueuedMessages);
    this.#sessions.set(id, conn);
    try {
      await this.#handle(conn, remote, id);
    } catch (err) {
      if (err instanceof Hangup) log.debug({ address, session: id, reason: err.message }, 'watchtower: client gone');
      else {
        log.error({ address, session: id, err: (err as Error).message }, 'watchtower: connection failed');
        conn.kill('internal error');
      }
    } finally {
      this.#sessions.delete(id);
    }
  }

  async #handle(conn: ClientConn, sessionId: Buffer, id: string): Promise<void> {
    const log = this.#opts.log;
    // As LND's tower: the client's Init first (anything else closes the connection without a word), then
    // ours, then the client's is validated.
    const init = await conn.read();
    if (init.type !== 600) {
      log.debug({ session: id, got: messageName(init.type) }, 'watchtower: expected init');
      return conn.kill('first message is not init');
    }
    conn.send({ type: 600, features: [...TOWER_FEATURES], chainHash: this.#opts.chainHash });
    try {
      checkRemoteInit(init, this.#opts.chainHash);
    } catch (err) {
      log.debug({ session: id, err: (err as Error).message }, 'watchtower: init rejected');
      return conn.kill((err as Error).message);
    }
    const first = await conn.read();
    switch (first.type) {
      case 602:
        return this.#createSession(conn, sessionId, first);
      case 604:
        return this.#stateUpdates(conn, sessionId, first);
      case 606:
        return this.#deleteSession(conn, sessionId);
      default:
        log.debug({ session: id, got: messageName(first.type) }, 'watchtower: unexpected request');
        return conn.kill(`unexpected ${messageName(first.type)}`);
    }
  }

  async #createSession(conn: ClientConn, sessionId: Buffer, req: WtCreateSession): Promise<void> {
    const log = this.#opts.log;
    const reply = (code: number, lastApplied = 0, data: Buffer = Buffer.alloc(0)): void => {
      conn.send({ type: 603, code, lastApplied, data });
      conn.end();
    };
    const policy = {
      blobType: req.blobType,
      maxUpdates: req.maxUpdates,
      rewardBase: req.rewardBase,
      rewardRate: req.rewardRate,
      sweepFeeRateSatPerKw: req.sweepFeeRateSatPerKw,
    };
    let existing: TowerSession | undefined;
    try {
      existing = await this.#opts.store.getSession(sessionId);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'watchtower: cannot read session');
      return reply(WtErrorCode.TemporaryFailure);
    }
    const verdict = checkCreateSession(existing, policy, this.#opts.newRewardScript !== undefined);
    if (verdict.kind === 'reply') return reply(verdict.code, verdict.lastApplied, verdict.data);
    let rewardScript = Buffer.alloc(0);
    if (verdict.needsRewardScript) {
      try {
        rewardScript = Buffer.from(await this.#opts.newRewardScript!());
      } catch (err) {
        log.error({ err: (err as Error).message }, 'watchtower: cannot make a reward script');
        return reply(WtErrorCode.TemporaryFailure);
      }
    }
    try {
      const r = await this.#opts.store.insertSession({
        id: sessionId,
        policy,
        lastApplied: 0,
        clientLastApplied: 0,
        rewardScript,
        createdAt: this.#opts.now(),
      });
      if (!r.ok) return reply(WtErrorCode.CreateSessionAlreadyExists, r.existing.lastApplied, r.existing.rewardScript);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'watchtower: cannot store session');
      return reply(WtErrorCode.TemporaryFailure);
    }
    log.debug({ session: sessionId.toString('hex'), blobType: policy.blobType, maxUpdates: policy.maxUpdates }, 'watchtower: session created');
    reply(WtErrorCode.OK, 0, rewardScript);
  }

  async #stateUpdates(conn: ClientConn, sessionId: Buffer, first: WtStateUpdate): Promise<void> {
    let req = first;
    for (;;) {
      let code: number;
      let lastApplied: number;
      try {
        const v = await this.#opts.store.applyStateUpdate(sessionId, {
          seqNum: req.seqNum,
          lastApplied: req.lastApplied,
          hint: req.hint,
          encryptedBlob: req.encryptedBlob,
        });
        code = v.code;
        lastApplied = v.lastApplied;
      } catch (err) {
        this.#opts.log.error({ err: (err as Error).message }, 'watchtower: cannot store state update');
        code = WtErrorCode.TemporaryFailure;
        lastApplied = 0;
      }
      conn.send({ type: 605, code, lastApplied });
      if (code !== WtErrorCode.OK || req.isComplete === 1) return conn.end();
      const next = await conn.read();
      if (next.type !== 604) {
        this.#opts.log.debug({ got: messageName(next.type) }, 'watchtower: expected state_update');
        return conn.kill(`unexpected ${messageName(next.type)} mid-stream`);
      }
      req = next;
    }
  }

  async #deleteSession(conn: ClientConn, sessionId: Buffer): Promise<void> {
    let code: number;
    try {
      code = (await this.#opts.store.deleteSession(sessionId)) ? WtErrorCode.OK : WtErrorCode.DeleteSessionNotFound;
    } catch (err) {
      this.#opts.log.error({ err: (err as Error).message }, 'watchtower: cannot delete session');
      code = WtErrorCode.TemporaryFailure;
    }
    if (code === WtErrorCode.OK) this.#opts.log.debug({ session: sessionId.toString('hex') }, 'watchtower: session deleted');
    conn.send({ type: 607, code });
    conn.end();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
