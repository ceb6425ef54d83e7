import { closeSync, existsSync, lstatSync, openSync, unlinkSync } from 'node:fs';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Dispatcher, Outcome, Running } from './dispatch.js';
import { errorResponse } from './dispatch.js';
import { RpcCode } from './errors.js';
import { JsonFramer } from './json.js';
import type { ConnectionState } from './method.js';

export interface RpcServerOptions {
  /** Socket path (`<anode-dir>/<network>/lightning-rpc`). */
  path: string;
  /** File mode of the socket (CLN's rpc-file-mode), default 0o600. */
  mode?: number;
  /** Largest request accepted; a bigger one gets an error and the connection is closed. */
  maxRequestBytes?: number;
  /** Requests of one connection being executed at once; past it the connection is not read. */
  maxInFlight?: number;
  /** Connections at once; more are refused. */
  maxClients?: number;
  /** A request started but not finished within this long gets an error and the connection closed. */
  partialRequestTimeoutMs?: number;
  log: Logger;
}

export const RPC_DEFAULTS = {
  mode: 0o600,
  maxRequestBytes: 8 * 1024 * 1024,
  maxInFlight: 64,
  maxClients: 256,
  partialRequestTimeoutMs: 60_000,
} as const;

export class RpcServerError extends Error {
  override name = 'RpcServerError';
}

/** Longest path a unix socket address holds (sun_path, with its terminating NUL). */
const SUN_PATH_MAX = 107;

/**
 * Core Lightning's JSON-RPC transport: a unix socket; requests back to back with no separator; each
 * response one compact JSON object followed by "\n\n", in completion order. Every connection is
 * independent: one that sends garbage, too much, never finishes a request or vanishes mid-request
 * only ever affects itself.
 */
export class RpcServer {
  readonly #opts: Required<RpcServerOptions>;
  readonly #dispatcher: Dispatcher;
  #server: Server | undefined;
  readonly #conns = new Set<RpcConnection>();
  #stopping: Promise<void> | undefined;

  constructor(opts: RpcServerOptions, dispatcher: Dispatcher) {
    this.#opts = { ...RPC_DEFAULTS, ...opts } as Required<RpcServerOptions>;
    this.#dispatcher = dispatcher;
  }

  get path(): string {
    return this.#opts.path;
  }

  get connections(): number {
    return this.#conns.size;
  }

  /** Binds the socket, replacing a stale file; fails if another process answers on it. */
  async start(): Promise<void> {
    const path = this.#opts.path;
    if (existsSync(path)) {
      if (await answers(path)) throw new RpcServerError(`rpc filename '${path}' in use`);
      if (!lstatSync(path).isSocket()) throw new RpcServerError(`rpc filename '${path}' exists and is not a socket`);
      unlinkSync(path);
    }
    const server = createServer({ allowHalfOpen: false, pauseOnConnect: false }, (s) => this.#accept(s));
    server.maxConnections = this.#opts.maxClients;
    // The socket file gets mode 0777 & ~umask at bind time; set the umask so it is never wider.
    const oldMask = process.umask(0o777 & ~this.#opts.mode);
    try {
      await listenUnix(server, path);
    } finally {
      process.umask(oldMask);
    }
    server.on('error', (err) => this.#opts.log.error({ err: err.message }, 'rpc: listener error'));
    this.#server = server;
    this.#opts.log.info({ path }, 'JSON-RPC listening');
  }

  #accept(socket: Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    const conn = new RpcConnection(socket, this.#dispatcher, this.#opts);
    this.#conns.add(conn);
    socket.once('close', () => this.#conns.delete(conn));
  }

  /**
   * Stops listening and removes the socket file; requests still running get -5 (shutting down);
   * resolves once every connection is closed (each has at most 2 s to take its last responses).
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const server = this.#server;
      const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
      try {
        if (existsSync(this.#opts.path)) unlinkSync(this.#opts.path);
      } catch {
        /* already gone */
      }
      await Promise.all([...this.#conns].map((c) => c.shutdown()));
      await closed;
    })();
    return this.#stopping;
  }
}

function listenUnix(server: Server, path: string): Promise<void> {
  let bindPath = path;
  let dirFd: number | undefined;
  if (path.length > SUN_PATH_MAX) {
    // Too long for sun_path: bind through /proc/self/fd/<dir>/<name> (Linux), as pyln-client connects.
    if (process.platform !== 'linux') return Promise.reject(new RpcServerError(`rpc filename '${path}' too long`));
    dirFd = openSync(dirname(path), 'r');
    bindPath = `/proc/self/fd/${dirFd}/${basename(path)}`;
    if (bindPath.length > SUN_PATH_MAX) {
      closeSync(dirFd);
      return Promise.reject(new RpcServerError(`rpc filename '${path}' too long`));
    }
  }
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new RpcServerError(`Binding rpc socket to '${path}': ${err.code ?? err.message}`)));
    server.listen(bindPath, () => resolve());
  }).finally(() => {
    if (dirFd !== undefined) closeSync(dirFd);
  });
}

/** Whether something accepts connections on the unix socket at `path`. */
export function answers(path: string): Promise<boolean> {
  const addr = socketAddress(path);
  return new Promise<boolean>((resolve) => {
    const s = netConnect(addr.path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  }).finally(() => addr.release());
}

/**
 * A path usable with connect() for the socket at `path`: a path longer than sun_path goes through
 * /proc/self/fd/<dir>/<name> on Linux (as pyln-client does). Call release() once connected.
 */
export function socketAddress(path: string): { path: string; release(): void } {
  if (path.length <= SUN_PATH_MAX || process.platform !== 'linux') return { path, release: () => {} };
  const fd = openSync(dirname(path), 'r');
  return { path: `/proc/self/fd/${fd}/${basename(path)}`, release: () => closeSync(fd) };
}

interface Pending {
  /** The request id as sent. */
  id: string;
  done: boolean;
}

/** One client: reads requests as they complete, runs up to maxInFlight at once, writes in completion order. */
class RpcConnection {
  readonly #socket: Socket;
  readonly #dispatcher: Dispatcher;
  readonly #opts: Required<RpcServerOptions>;
  readonly #framer: JsonFramer;
  readonly #state: ConnectionState = { notifications: false };
  readonly #pending = new Set<Pending>();
  /** No more requests are taken (bad input, shutdown); data that still arrives is discarded. */
  #readClosed = false;
  #writeBlocked = false;
  #pumping = false;
  #closed = false;
  #partialTimer: NodeJS.Timeout | undefined;
  #lingerTimer: NodeJS.Timeout | undefined;
  #onShutdown: (() => void) | undefined;

  constructor(socket: Socket, dispatcher: Dispatcher, opts: Required<RpcServerOptions>) {
    this.#socket = socket;
    this.#dispatcher = dispatcher;
    this.#opts = opts;
    this.#framer = new JsonFramer(opts.maxRequestBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => {
      this.#writeBlocked = false;
      this.#pump();
    });
    socket.on('error', () => {
      /* 'close' follows; a client that vanished is not our error */
    });
    socket.once('close', () => {
      this.#closed = true;
      this.#readClosed = true;
      clearTimeout(this.#partialTimer);
      clearTimeout(this.#lingerTimer);
      this.#onShutdown?.();
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#readClosed) return;
    this.#framer.push(chunk);
    this.#pump();
  }

  /** Takes complete requests while there is room, and keeps the socket paused while there is not. */
  #pump(): void {
    if (this.#pumping) return; // a request answered synchronously calls back in here
    this.#pumping = true;
    try {
      this.#takeRequests();
    } finally {
      this.#pumping = false;
    }
    this.#armPartialTimer();
    if (this.#closed) return;
    const full = this.#writeBlocked || this.#pending.size >= this.#opts.maxInFlight;
    if (full && !this.#readClosed) this.#socket.pause();
    else this.#socket.resume();
  }

  #takeRequests(): void {
    while (!this.#readClosed && !this.#writeBlocked && this.#pending.size < this.#opts.maxInFlight) {
      const frame = this.#framer.next();
      if (!frame) break;
      if (!frame.ok) {
        const message =
          frame.reason.startsWith('request larger')
            ? `Request too large: ${frame.reason}`
            : `Failed to parse RPC JSON response '${frame.preview}'`;
        this.#write(errorResponse('null', RpcCode.INVALID_REQUEST, message));
        this.#halfClose();
        break;
      }
      this.#run(frame.text);
    }
  }

  #run(text: string): void {
    let r: Outcome | Running;
    try {
      r = this.#dispatcher.handle(text, this.#state);
    } catch (err) {
      this.#opts.log.error({ err: (err as Error).message }, 'rpc: dispatcher failed');
      r = { response: errorResponse('null', RpcCode.LIGHTNINGD, 'internal error') };
    }
    if (!('outcome' in r)) {
      this.#finish({ id: 'null', done: false }, r);
      return;
    }
    const pending: Pending = { id: r.id, done: false };
    this.#pending.add(pending);
    r.outcome.then(
      (o) => this.#finish(pending, o),
      (err: Error) => {
        this.#opts.log.error({ err: err.message }, 'rpc: command failed');
        this.#finish(pending, { response: errorResponse(pending.id, RpcCode.LIGHTNINGD, 'internal error') });
      },
    );
  }

  #finish(pending: Pending, o: Outcome): void {
    this.#pending.delete(pending);
    if (pending.done) return; // already answered with "shutting down"
    pending.done = true;
    this.#write(o.response, o.after);
    if (o.halfClose) this.#halfClose();
    if (this.#readClosed) this.#maybeEnd();
    else this.#pump();
  }

  #write(text: string, after?: () => void): void {
    if (this.#closed || this.#socket.writableEnded) {
      after?.();
      return;
    }
    const ok = this.#socket.write(text, after ? () => after() : undefined);
    if (!ok) this.#writeBlocked = true;
  }

  /** CLN's half-close: stop taking requests, answer those running, then end our side. */
  #halfClose(): void {
    this.#readClosed = true;
    clearTimeout(this.#partialTimer);
    this.#socket.resume(); // keep draining what the client still sends, so it is never stuck writing
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (this.#pending.size > 0 || this.#closed) return;
    this.#socket.end();
    // A client that never closes its side does not keep the socket.
    this.#lingerTimer ??= setTimeout(() => this.#socket.destroy(), 2_000);
    this.#lingerTimer.unref();
  }

  #armPartialTimer(): void {
    if (this.#readClosed || this.#framer.partialBytes === 0) {
      clearTimeout(this.#partialTimer);
      this.#partialTimer = undefined;
      return;
    }
    this.#partialTimer ??= setTimeout(() => {
      this.#partialTimer = undefined;
      if (this.#readClosed || this.#framer.partialBytes === 0) return;
      const secs = this.#opts.partialRequestTimeoutMs / 1000;
      this.#write(errorResponse('null', RpcCode.INVALID_REQUEST, `Request not completed within ${secs} seconds`));
      this.#halfClose();
    }, this.#opts.partialRequestTimeoutMs);
    this.#partialTimer.unref();
  }

  /** Shutdown: running requests get -5, then the connection ends. */
  shutdown(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => (this.#onShutdown = resolve));
    this.#readClosed = true;
    clearTimeout(this.#partialTimer);
    for (const p of this.#pending) {
      p.done = true;
      this.#write(errorResponse(p.id, RpcCode.LIGHTNINGD_SHUTDOWN, 'anode is shutting down'));
    }
    this.#pending.clear();
    this.#maybeEnd();
    const timer = setTimeout(() => this.#socket.destroy(), 2_000);
    return closed.finally(() => clearTimeout(timer));
  }
}
