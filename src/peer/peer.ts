import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { NoiseSocket } from '../transport/connection.js';
import type { TransportError } from '../transport/errors.js';
import { WireError } from '../wire/errors.js';
import { checkDependencies, Features, negotiate } from '../wire/features.js';
import {
  decodeMessage,
  encodeMessage,
  isEvenType,
  isUnknownMessage,
  messageTypeName,
  MessageType,
  PING_NO_REPLY_THRESHOLD,
  sanitizeText,
  type Init,
  type Message,
} from '../wire/messages.js';
import { PeerError } from './errors.js';

export interface PeerSettings {
  features: Features;
  chainHash: Buffer;
  /** Their `init` must arrive within this many ms of the handshake. */
  initTimeoutMs: number;
  /** Keepalive: ping after this long without any traffic from the peer. */
  pingIntervalMs: number;
  /** A ping unanswered for this long drops the peer. */
  pingTimeoutMs: number;
}

export interface NetAddress {
  host: string;
  port: number;
}

export type Direction = 'in' | 'out';

export interface PeerEvents {
  /** Any message the peer layer does not handle itself (channel messages, gossip, …). */
  message: [Message];
  close: [string];
}

const ZERO_CHANNEL_ID = Buffer.alloc(32);
/** Largest `len` for an outgoing ping: type (2) + num_pong_bytes (2) + byteslen (2) + ignored ≤ 65535. */
export const MAX_PING_LEN = 65529;

interface PendingPing {
  numPongBytes: number;
  resolve: (totlen: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  user: boolean;
  /** process.hrtime.bigint() when it was sent (round-trip time). */
  sentAt: bigint;
}

/**
 * One live, encrypted connection to a node after the handshake: the `init` exchange and feature checks,
 * ping/pong with keepalive, error and warning handling, and everything else passed on as 'message'.
 */
export class Peer extends EventEmitter<PeerEvents> {
  readonly nodeId: Buffer;
  readonly id: string;
  readonly direction: Direction;
  readonly address: NetAddress;
  readonly connectedAt = Date.now();
  /** The peer's init (features merged), once received. */
  remoteInit: Init | undefined;
  remoteFeatures: Features = Features.EMPTY;
  #closedReason: string | undefined;
  #ping: PendingPing | undefined;
  #pingRttUs: number | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #lastReceived = Date.now();
  #closed: Promise<string>;
  #held: Message[] | undefined = [];
  readonly #log: Logger;

  constructor(
    readonly conn: NoiseSocket,
    direction: Direction,
    address: NetAddress,
    readonly settings: PeerSettings,
    log: Logger,
  ) {
    super();
    this.nodeId = conn.remoteNodeId!;
    this.id = this.nodeId.toString('hex');
    this.direction = direction;
    this.address = address;
    this.#log = log.child({ peer: this.id });
    this.#closed = new Promise((resolve) => {
      conn.once('close', (err?: TransportError) => {
        const reason = this.#closedReason ?? (err ? err.message : 'connection closed by peer');
        this.#closedReason = reason;
        this.#stopTimers(new PeerError('DISCONNECTED', `peer disconnected: ${reason}`));
        this.#log.info({ reason }, 'peer disconnected');
        resolve(reason);
        this.emit('close', reason);
      });
    });
  }

  /** Round-trip time of the last answered ping, µs; undefined before any (LND's ping_time). */
  get pingTimeUs(): number | undefined {
    return this.#pingRttUs;
  }

  /** Bytes written to and read from the connection (ciphertext, handshake included), as LND counts them. */
  get bytesSent(): number {
    return this.conn.socket.bytesWritten;
  }

  get bytesReceived(): number {
    return this.conn.socket.bytesRead;
  }

  get connected(): boolean {
    return this.#closedReason === undefined && !this.conn.closed;
  }

  /** Delivers the messages that arrived between init and the owner's listeners, then everything live. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const m of held ?? []) {
      if (!this.connected) return;
      this.#dispatch(m);
    }
  }

  /** Resolves with the reason once the connection is gone. */
  get closed(): Promise<string> {
    return this.#closed;
  }

  /**
   * Sends our init and waits for theirs. Resolves when the peer is usable; rejects (and closes the
   * connection, telling the peer why where the spec asks for it) otherwise.
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`no init within ${this.settings.initTimeoutMs} ms`, false), this.settings.initTimeoutMs);
      const onClose = (reason: string): void => fail(reason, false);
      const fail = (reason: string, warn: boolean): void => {
        clearTimeout(timer);
        this.off('close', onClose);
        if (warn) this.sendWarning(reason);
        this.close(reason);
        reject(new PeerError('INIT_FAILED', reason));
      };
      this.once('close', onClose);
      this.conn.on('message', (raw) => {
        this.#lastReceived = Date.now();
        let msg: Message;
        try {
          msg = decodeMessage(raw);
        } catch (err) {
          const text = err instanceof WireError ? err.message : String(err);
          if (!this.remoteInit) return fail(`malformed message before init: ${text}`, true);
          this.#protocolViolation(`malformed ${messageTypeName(raw.length >= 2 ? raw.readUInt16BE(0) : -1)}: ${text}`);
          return;
        }
        if (this.remoteInit) {
          // Until the owner has seen the peer (release()), later messages wait: a channel_reestablish
          // in the same read as the init must not reach a peer nobody listens to yet.
          if (this.#held) this.#held.push(msg);
          else this.#dispatch(msg);
          return;
        }
        if (isUnknownMessage(msg) || msg.type !== MessageType.INIT) {
          return fail(`expected init, got ${messageTypeName(msg.type)}`, true);
        }
        const problem = this.#checkInit(msg);
        if (problem) return fail(problem, true);
        clearTimeout(timer);
        this.off('close', onClose);
        this.remoteInit = msg;
        this.remoteFeatures = Features.fromBytes(msg.features).or(Features.fromBytes(msg.globalFeatures));
        this.#log.info({ direction: this.direction, features: this.remoteFeatures.toHex() }, 'peer connected');
        this.#armKeepalive();
        resolve();
      });
      this.#send({
        type: MessageType.INIT,
        globalFeatures: Buffer.alloc(0),
        features: this.settings.features.toBytes(),
        networks: [this.settings.chainHash],
        extraTlvs: [],
      });
      this.conn.startReading();
    });
  }

  /** Reason to refuse their init, or undefined if it is acceptable. */
  #checkInit(init: Init): string | undefined {
    if (init.networks && init.networks.length > 0 && !init.networks.some((n) => n.equals(this.settings.chainHash))) {
      return 'no common chain: the peer is not on our network';
    }
    const theirs = Features.fromBytes(init.features).or(Features.fromBytes(init.globalFeatures));
    const result = negotiate(this.settings.features, theirs);
    if (!result.ok) return `unknown required feature bits: ${result.unknownRequired.join(', ')}`;
    const missing = checkDependencies(theirs);
    if (missing) return `feature dependency missing: ${missing}`;
    return undefined;
  }

  #dispatch(msg: Message): void {
    if (isUnknownMessage(msg)) {
      if (this.listenerCount('message') === 0) {
        if (isEvenType(msg.type)) this.#protocolViolation(`unknown even message ${msg.type}`);
        else this.#log.debug({ type: msg.type }, 'ignoring unknown odd message');
        return;
      }
      this.emit('message', msg);
      return;
    }
    switch (msg.type) {
      case MessageType.PING: {
        if (msg.numPongBytes < PING_NO_REPLY_THRESHOLD) {
          this.#send({ type: MessageType.PONG, ignored: Buffer.alloc(msg.numPongBytes) });
        }
        return;
      }
      case MessageType.PONG: {
        const p = this.#ping;
        if (!p) {
          this.#log.debug('ignoring unsolicited pong');
          return;
        }
        if (msg.ignored.length !== p.numPongBytes) {
          this.#protocolViolation(`pong of ${msg.ignored.length} bytes for a ping asking ${p.numPongBytes}`);
          return;
        }
        this.#ping = undefined;
        clearTimeout(p.timer);
        this.#pingRttUs = Number((process.hrtime.bigint() - p.sentAt) / 1000n);
        this.#armKeepalive();
        p.resolve(4 + msg.ignored.length);
        return;
      }
      case MessageType.ERROR: {
        this.#log.warn({ channelId: msg.channelId.toString('hex'), text: sanitizeText(msg.data) }, 'peer sent error');
        // Without channels an error can only mean the whole connection; with channels the channel
        // layer also sees it (below) before we drop the link.
        this.emit('message', msg);
        if (msg.channelId.equals(ZERO_CHANNEL_ID) || this.listenerCount('message') === 0) {
          this.close(`peer sent error: ${sanitizeText(msg.data)}`);
        }
        return;
      }
      case MessageType.WARNING:
        this.#log.warn({ channelId: msg.channelId.toString('hex'), text: sanitizeText(msg.data) }, 'peer sent warning');
        return;
      case MessageType.INIT:
        this.#protocolViolation('second init');
        return;
    }
  }

  /** A violation of BOLT 1 by the peer: tell it with a warning, then drop the connection. */
  #protocolViolation(reason: string): void {
    this.#log.warn({ reason }, 'protocol violation');
    this.sendWarning(reason);
    this.close(reason);
  }

  /**
   * Sends a ping and resolves with the total length of the pong (4 + pongBytes), or 0 at once when
   * pongBytes ≥ 65532 (no reply expected). One ping at a time per peer, as CLN.
   */
  ping(len = 128, pongBytes = 128): Promise<number> {
    if (!this.connected) return Promise.reject(new PeerError('NOT_CONNECTED', 'Peer not connected'));
    if (len < 0 || len > MAX_PING_LEN) return Promise.reject(new PeerError('INVALID', `${len} would result in oversize ping`));
    if (pongBytes < 0 || pongBytes > 65535) return Promise.reject(new PeerError('INVALID', `pongbytes ${pongBytes} > 65535`));
    if (this.#ping) return Promise.reject(new PeerError('PING_PENDING', 'Ping already pending'));
    return this.#sendPing(len, pongBytes, true);
  }

  #sendPing(len: number, pongBytes: number, user: boolean): Promise<number> {
    this.#send({ type: MessageType.PING, numPongBytes: pongBytes, ignored: Buffer.alloc(len) });
    if (pongBytes >= PING_NO_REPLY_THRESHOLD) return Promise.resolve(0);
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#ping = undefined;
        reject(new PeerError('DISCONNECTED', 'ping timed out'));
        this.close(`no pong within ${this.settings.pingTimeoutMs} ms`);
      }, this.settings.pingTimeoutMs);
      this.#ping = { numPongBytes: pongBytes, resolve, reject, timer, user, sentAt: process.hrtime.bigint() };
    });
  }

  /** Keepalive: once the link has been quiet for pingIntervalMs, ping; a missing pong drops the peer. */
  #armKeepalive(): void {
    clearTimeout(this.#keepalive);
    if (!this.connected) return;
    this.#keepalive = setTimeout(() => {
      const quiet = Date.now() - this.#lastReceived;
      if (quiet < this.settings.pingIntervalMs) {
        this.#armKeepalive();
        return;
      }
      if (!this.#ping) {
        this.#sendPing(0, 0, false).catch(() => {
          /* the timeout already closed the connection */
        });
      }
    }, this.settings.pingIntervalMs);
    this.#keepalive.unref();
  }

  #stopTimers(err: Error): void {
    clearTimeout(this.#keepalive);
    const p = this.#ping;
    this.#ping = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  send(msg: Message): boolean {
    return this.#send(msg);
  }

  /**
   * Resolves once the connection takes more after a send() returned false: its outbound queue has drained,
   * or it is gone (callers check `connected`). Long replies await it so the queue never reaches the
   * transport's cut-off.
   */
  writable(): Promise<void> {
    if (!this.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.conn.off('drain', done);
        this.conn.off('close', done);
        resolve();
      };
      this.conn.once('drain', done);
      this.conn.once('close', done);
    });
  }

  #send(msg: Message): boolean {
    if (!this.connected) return false;
    return this.conn.send(encodeMessage(msg));
  }

  sendWarning(text: string, channelId: Buffer = ZERO_CHANNEL_ID): void {
    this.#send({ type: MessageType.WARNING, channelId, data: Buffer.from(text, 'utf8') });
  }

  sendError(text: string, channelId: Buffer = ZERO_CHANNEL_ID): void {
    this.#send({ type: MessageType.ERROR, channelId, data: Buffer.from(text, 'utf8') });
  }

  /** Closes the connection (flushing what is queued); resolves once it is gone. */
  close(reason = 'closed locally'): Promise<string> {
    if (this.#closedReason === undefined) {
      this.#closedReason = reason;
      this.#log.debug({ reason }, 'closing connection');
      this.conn.end();
    }
    return this.#closed;
  }
}
