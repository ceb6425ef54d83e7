import { chachaOpen, chachaSealInto, chachaSealParts, TAG_LENGTH } from '../crypto/aead.js';
import { hkdf2 } from '../crypto/hash.js';
import { TransportError } from './errors.js';

/** BOLT 8: a key is rotated after it has been used for this many encryptions (500 messages). */
export const ROTATION_INTERVAL = 1000;
export const HEADER_LENGTH = 2 + TAG_LENGTH;
export const MAX_MESSAGE_LENGTH = 65535;
const EMPTY = Buffer.alloc(0);

/** One direction of a BOLT 8 session: key, nonce counter and chaining key, with rotation. */
export class CipherState {
  #key: Buffer;
  #ck: Buffer;
  #n = 0;
  readonly #nonce = Buffer.alloc(12);

  constructor(key: Buffer, chainingKey: Buffer) {
    this.#key = key;
    this.#ck = chainingKey;
  }

  /** The nonce for the next use, then advance (and rotate after ROTATION_INTERVAL uses). */
  #next(): Buffer {
    this.#nonce.writeUInt32LE(this.#n, 4); // 4 zero bytes ‖ 64-bit little-endian counter (< 2^32 here)
    return this.#nonce;
  }

  #advance(): void {
    this.#n += 1;
    if (this.#n === ROTATION_INTERVAL) {
      const [ck, k] = hkdf2(this.#ck, this.#key);
      this.#ck = ck;
      this.#key = k;
      this.#n = 0;
    }
  }

  sealInto(plaintext: Uint8Array, out: Buffer, offset: number): number {
    const n = chachaSealInto(this.#key, this.#next(), EMPTY, plaintext, out, offset);
    this.#advance();
    return n;
  }

  /** Seal without copying: ciphertext and tag as separate buffers (for large bodies). */
  sealParts(plaintext: Uint8Array): [Buffer, Buffer] {
    const parts = chachaSealParts(this.#key, this.#next(), EMPTY, plaintext);
    this.#advance();
    return parts;
  }

  open(sealed: Uint8Array, context: string): Buffer {
    let p: Buffer;
    try {
      p = chachaOpen(this.#key, this.#next(), EMPTY, sealed, context);
    } catch {
      throw new TransportError('BAD_MAC', `${context}: authentication failed`);
    }
    this.#advance();
    return p;
  }
}

const lengthBuf = Buffer.alloc(2);

/**
 * The post-handshake transport: encrypts outgoing messages into frames and decrypts incoming headers and
 * bodies. Pure (no sockets): the socket adapter feeds it bytes.
 */
export class TransportCipher {
  constructor(
    readonly send: CipherState,
    readonly recv: CipherState,
  ) {}

  /** Encrypt one message into a complete frame: sealed 2-byte length ‖ sealed body. */
  encrypt(message: Uint8Array): Buffer {
    if (message.length > MAX_MESSAGE_LENGTH) {
      throw new TransportError('TOO_LARGE', `transport: message of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    }
    const frame = Buffer.allocUnsafe(HEADER_LENGTH + message.length + TAG_LENGTH);
    lengthBuf.writeUInt16BE(message.length, 0);
    this.send.sealInto(lengthBuf, frame, 0);
    this.send.sealInto(message, frame, HEADER_LENGTH);
    return frame;
  }

  /**
   * Encrypt one message as three buffers — sealed header, ciphertext, tag — so a large body is never
   * copied into a frame; the socket adapter writes them with one writev.
   */
  encryptParts(message: Uint8Array): Buffer[] {
    if (message.length > MAX_MESSAGE_LENGTH) {
      throw new TransportError('TOO_LARGE', `transport: message of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    }
    const header = Buffer.allocUnsafe(HEADER_LENGTH);
    lengthBuf.writeUInt16BE(message.length, 0);
    this.send.sealInto(lengthBuf, header, 0);
    const [body, tag] = this.send.sealParts(message);
    return [header, body, tag];
  }

  /** Decrypt an 18-byte frame header; returns the body length (the body on the wire is that + 16). */
  decryptHeader(header: Uint8Array): number {
    if (header.length !== HEADER_LENGTH) {
      throw new TransportError('TRUNCATED', `transport: header must be ${HEADER_LENGTH} bytes, got ${header.length}`);
    }
    return this.recv.open(header, 'transport header').readUInt16BE(0);
  }

  /** Decrypt a frame body (ciphertext ‖ tag) whose length came from decryptHeader. */
  decryptBody(body: Uint8Array): Buffer {
    if (body.length < TAG_LENGTH) throw new TransportError('TRUNCATED', 'transport: body shorter than its tag');
    return this.recv.open(body, 'transport body');
  }
}
