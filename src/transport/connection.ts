import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TAG_LENGTH } from '../crypto/aead.js';
import { HEADER_LENGTH, MAX_MESSAGE_LENGTH, type TransportCipher } from './cipher.js';
import { TransportError } from './errors.js';
import { NoiseHandshake, type StaticKey } from './noise.js';

export interface NoiseSocketOptions {
  localKey: StaticKey;
  /** Set for an outbound connection: the static key (node id) we expect to reach. */
  remoteKey?: Buffer;
  /** Each handshake act must arrive within this many ms. */
  actTimeoutMs?: number;
  /** Bytes queued for the kernel beyond which the peer counts as not reading and is cut off. */
  maxOutboundBuffer?: number;
  /** Largest message we accept (≤ 65535, BOLT 8's own limit). */
  maxMessageLength?: number;
}

export const DEFAULT_ACT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_OUTBOUND_BUFFER = 4 * 1024 * 1024;
/** From this size on a body is written as separate buffers instead of being copied into one frame. */
const LARGE_MESSAGE = 4096;
/** send() asks the caller to wait for 'drain' once this much is queued. */
const SOFT_OUTBOUND_LIMIT = 256 * 1024;
/** Size of the buffers small frames of one tick are packed into (one socket write per tick). */
const BATCH_CHUNK = 64 * 1024;

/** Incoming bytes kept as a list of chunks, so a large frame is not copied once per TCP segment. */
class ByteQueue {
  #chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Removes and returns the first `n` bytes (n ≤ length); a view where one chunk suffices. */
  take(n: number): Buffer {
    const first = this.#chunks[0]!;
    this.length -= n;
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }

  clear(): void {
    this.#chunks = [];
    this.length = 0;
  }
}

export interface NoiseSocketEvents {
  message: [Buffer];
  close: [TransportError | undefined];
  drain: [];
}

/**
 * A BOLT 8 connection over a `net.Socket`: runs the handshake with per-act timeouts, then frames,
 * encrypts and decrypts messages. Backpressure: `send` returns false once 256 KiB are queued ('drain'
 * follows when the queue empties); past `maxOutboundBuffer` the peer is cut off.
 */
export class NoiseSocket extends EventEmitter<NoiseSocketEvents> {
  readonly socket: Socket;
  readonly initiator: boolean;
  #hs: NoiseHandshake | undefined;
  #cipher: TransportCipher | undefined;
  #remoteStatic: Buffer | undefined;
  readonly #in = new ByteQueue();
  #bodyLength = -1;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Frames are delivered only once the owner has attached its handlers (startReading). */
  #reading = false;
  #handshake: { resolve: (k: Buffer) => void; reject: (e: TransportError) => void } | undefined;
  readonly #actTimeoutMs: number;
  readonly #maxOutbound: number;
  readonly #maxMessage: number;
  /** Small frames sent in this tick: full chunks, then the one being filled up to #batchUsed. */
  #batchFull: Buffer[] = [];
  #batch: Buffer | undefined;
  #batchStart = 0;
  #batchUsed = 0;
  #batchBytes = 0;
  #flushScheduled = false;
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    this.#flushBatch();
  };

  constructor(socket: Socket, opts: NoiseSocketOptions) {
    super();
    this.socket = socket;
    this.initiator = opts.remoteKey !== undefined;
    this.#actTimeoutMs = opts.actTimeoutMs ?? DEFAULT_ACT_TIMEOUT_MS;
    this.#maxOutbound = opts.maxOutboundBuffer ?? DEFAULT_MAX_OUTBOUND_BUFFER;
    this.#maxMessage = Math.min(opts.maxMessageLength ?? MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH);
    this.#hs = this.initiator
      ? NoiseHandshake.initiator(opts.localKey, opts.remoteKey!)
      : NoiseHandshake.responder(opts.localKey);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => this.#terminate(new TransportError('CLOSED', `transport: socket error: ${err.message}`)));
    socket.on('close', () => this.#terminate(undefined));
    socket.on('end', () => socket.end());
  }

  /** The counterpart's node id, once the handshake is complete. */
  get remoteNodeId(): Buffer | undefined {
    return this.#remoteStatic;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Bytes waiting in the socket's outbound queue (what the kernel has not taken). Frames of this tick not
   * yet handed to the socket are not counted: they go at the end of the tick.
   */
  get outboundBuffered(): number {
    return this.socket.writableLength;
  }

  /** Runs the handshake; resolves with the remote static key. Call once, right after construction. */
  handshake(): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.#handshake = { resolve, reject };
      if (this.#closed) {
        reject(new TransportError('CLOSED', 'transport: closed before the handshake'));
        return;
      }
      this.#armTimer('act one');
      if (this.initiator) {
        // The initiator may only write act one once connected; the caller passes a connected socket.
        this.#write(this.#hs!.actOne());
        this.#armTimer('act two');
      }
      this.#process();
    });
  }

  /** Starts delivering 'message' events (including any frames that arrived with or right after act three). */
  startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#process();
  }

  /** Encrypts and queues one message. Returns false when the caller should wait for 'drain'. */
  send(message: Uint8Array): boolean {
    if (this.#closed) return false;
    if (!this.#cipher) throw new TransportError('STATE', 'transport: send before the handshake completed');
    if (message.length < LARGE_MESSAGE) {
      // Small frames are encrypted straight into this tick's batch, which goes out in one write.
      const need = message.length + HEADER_LENGTH + TAG_LENGTH;
      if (this.#batch === undefined || this.#batch.length - this.#batchUsed < need) this.#newChunk();
      const n = this.#cipher.encryptInto(message, this.#batch!, this.#batchUsed);
      this.#batchUsed += n;
      this.#batchBytes += n;
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        process.nextTick(this.#flush);
      }
    } else {
      // Large bodies: header, ciphertext and tag in one writev (after this tick's small frames) rather
      // than a copy into one frame.
      const socket = this.socket;
      socket.cork();
      this.#flushBatch();
      for (const part of this.#cipher.encryptParts(message)) socket.write(part);
      socket.uncork();
    }
    // Our own soft limit, above the socket's 16 KiB default: a sender that pauses at every 64 KiB
    // message leaves the link idle. 'drain' still follows, when the queue empties: past this limit the
    // batch's flush finds the socket over its own 16 KiB mark, so its write returns false.
    const queued = this.socket.writableLength + this.#batchBytes;
    if (queued > this.#maxOutbound) {
      this.destroy(new TransportError('BUFFER_FULL', `transport: peer is not reading (${queued} bytes queued)`));
      return false;
    }
    return queued < SOFT_OUTBOUND_LIMIT;
  }

  /** Starts a new batch chunk; the filled part of the previous one is kept for the flush. */
  #newChunk(): void {
    if (this.#batch !== undefined && this.#batchUsed > this.#batchStart) this.#batchFull.push(this.#batch.subarray(this.#batchStart, this.#batchUsed));
    this.#batch = Buffer.allocUnsafe(BATCH_CHUNK);
    this.#batchStart = 0;
    this.#batchUsed = 0;
  }

  /**
   * Hands this tick's small frames to the socket: one write (a writev when they filled several chunks).
   * The written part of a chunk belongs to the socket from then on; the rest of the chunk is used next.
   */
  #flushBatch(): void {
    if (this.#batchBytes === 0) return;
    const socket = this.socket;
    const last = this.#batch!.subarray(this.#batchStart, this.#batchUsed);
    if (this.#batchFull.length > 0) {
      socket.cork();
      for (const b of this.#batchFull) socket.write(b);
      if (last.length > 0) socket.write(last);
      socket.uncork();
      this.#batchFull = [];
    } else {
      socket.write(last);
    }
    this.#batchStart = this.#batchUsed;
    this.#batchBytes = 0;
  }

  /** Half-close after queued data is flushed; 'close' follows when the peer closes too (or at once on error). */
  end(): void {
    if (this.#closed) return;
    this.#flushBatch();
    this.socket.end();
    // A peer that never closes its side must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5_000).unref();
  }

  /** Closes at once. Frames of this tick are handed to the socket first, as a write before it would have been. */
  destroy(err?: TransportError): void {
    if (!this.#closed && err === undefined) this.#flushBatch();
    this.#terminate(err);
  }

  #write(frame: Buffer): boolean {
    return this.socket.write(frame);
  }

  #armTimer(what: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#terminate(new TransportError('TIMEOUT', `transport: handshake timed out waiting for ${what}`));
    }, this.#actTimeoutMs);
    this.#timer.unref?.();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#in.push(chunk);
    this.#process();
  }

  #process(): void {
    try {
      if (this.#hs) {
        this.#processHandshake();
        if (this.#hs) return;
      }
      if (this.#reading) this.#processFrames();
    } catch (err) {
      this.#terminate(
        err instanceof TransportError ? err : new TransportError('STATE', `transport: ${(err as Error).message}`),
      );
    }
  }

  #processHandshake(): void {
    const hs = this.#hs!;
    const need = hs.expectedInput;
    if (need === 0 || this.#in.length < need) return;
    const act = this.#in.take(need);
    if (this.initiator) {
      hs.readActTwo(act);
      this.#write(hs.actThree());
    } else if (hs.step === 'act1') {
      hs.readActOne(act);
      // Act two goes out in one write, with nothing after it until act three (Electrum reads it in one read).
      this.#write(hs.actTwo());
      this.#armTimer('act three');
      return this.#processHandshake();
    } else {
      hs.readActThree(act);
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const { cipher, remoteStatic } = hs.result;
    this.#hs = undefined;
    this.#cipher = cipher;
    this.#remoteStatic = remoteStatic;
    const h = this.#handshake;
    this.#handshake = undefined;
    h?.resolve(remoteStatic);
  }

  #processFrames(): void {
    const cipher = this.#cipher!;
    while (!this.#closed) {
      if (this.#bodyLength < 0) {
        if (this.#in.length < HEADER_LENGTH) return;
        const len = cipher.decryptHeader(this.#in.take(HEADER_LENGTH));
        if (len > this.#maxMessage) {
          throw new TransportError('TOO_LARGE', `transport: peer announced a ${len}-byte message (limit ${this.#maxMessage})`);
        }
        this.#bodyLength = len;
      }
      if (this.#in.length < this.#bodyLength + TAG_LENGTH) return;
      const msg = cipher.decryptBody(this.#in.take(this.#bodyLength + TAG_LENGTH));
      this.#bodyLength = -1;
      this.emit('message', msg);
    }
  }

  #terminate(err: TransportError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#in.clear();
    this.#batchFull = [];
    this.#batch = undefined;
    this.#batchBytes = 0;
    this.socket.destroy();
    const h = this.#handshake;
    this.#handshake = undefined;
    h?.reject(err ?? new TransportError('CLOSED', 'transport: connection closed during the handshake'));
    this.emit('close', err);
  }
}
