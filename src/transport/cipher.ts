import { JS_AEAD_MAX, nodeOpen, chachaSealInto, chachaSealParts, TAG_LENGTH } from '../crypto/aead.js';
import { chachaKeyWords, jsOpen, jsSeal } from '../crypto/chacha-poly.js';
import { hkdf2 } from '../crypto/hash.js';
import { TransportError } from './errors.js';

/** BOLT 8: a key is rotated after it has been used for this many encryptions (500 messages). */
export const ROTATION_INTERVAL = 1000;
export const HEADER_LENGTH = 2 + TAG_LENGTH;
export const MAX_MESSAGE_LENGTH = 65535;
const EMPTY = Buffer.alloc(0);
const headerPlain = Buffer.alloc(2);

/**
 * One direction of a BOLT 8 session: key, nonce counter and chaining key, with rotation. Messages up to
 * JS_AEAD_MAX bytes (the 2-byte length header always) go through the JavaScript ChaCha20-Poly1305 with
 * the key kept as words and no allocation; larger ones through node:crypto.
 */
export class CipherState {
  #key: Buffer;
  readonly #words = new Uint32Array(8);
  #ck: Buffer;
  #n = 0;
  readonly #nonce = Buffer.alloc(12);
  readonly #jsMax: number;

  /** `jsAeadMax`: messages up to this size take the JavaScript path (tests pin each path with it). */
  constructor(key: Buffer, chainingKey: Buffer, jsAeadMax = JS_AEAD_MAX) {
    this.#key = key;
    this.#ck = chainingKey;
    this.#jsMax = jsAeadMax;
    chachaKeyWords(key, this.#words);
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
      chachaKeyWords(k, this.#words);
      this.#n = 0;
    }
  }

  sealInto(plaintext: Uint8Array, out: Buffer, offset: number): number {
    // Nonce: 4 zero bytes ‖ 64-bit little-endian counter (< 2^32 here), as three words.
    const n =
      plaintext.length <= this.#jsMax
        ? jsSeal(this.#words, 0, this.#n, 0, EMPTY, plaintext, 0, plaintext.length, out, offset)
        : chachaSealInto(this.#key, this.#next(), EMPTY, plaintext, out, offset);
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
    const n = sealed.length - TAG_LENGTH;
    if (n >= 0 && n <= this.#jsMax) {
      const p = Buffer.allocUnsafe(n);
      this.openInto(sealed, p, context);
      return p;
    }
    let p: Buffer;
    try {
      p = nodeOpen(this.#key, this.#next(), EMPTY, sealed, context);
    } catch {
      throw new TransportError('BAD_MAC', `${context}: authentication failed`);
    }
    this.#advance();
    return p;
  }

  /** Open a message through the JavaScript path into `out` (at offset 0), without allocating. */
  openInto(sealed: Uint8Array, out: Uint8Array, context: string): void {
    if (!jsOpen(this.#words, 0, this.#n, 0, EMPTY, sealed, 0, sealed.length, out, 0)) {
      throw new TransportError('BAD_MAC', `${context}: authentication failed`);
    }
    this.#advance();
  }

  /** Open a sealed 2-byte big-endian length (a frame header) and return it. */
  openLength(sealed: Uint8Array, context: string): number {
    if (this.#jsMax < 2) return this.open(sealed, context).readUInt16BE(0);
    this.openInto(sealed, headerPlain, context);
    return (headerPlain[0]! << 8) | headerPlain[1]!;
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
    const frame = Buffer.allocUnsafe(HEADER_LENGTH + message.length + TAG_LENGTH);
    this.encryptInto(message, frame, 0);
    return frame;
  }

  /**
   * Encrypt one message as a frame into `out` at `offset` (room for message.length + 34 bytes needed);
   * returns the frame's length. Lets the socket adapter pack the frames of one tick into one buffer.
   */
  encryptInto(message: Uint8Array, out: Buffer, offset: number): number {
    if (message.length > MAX_MESSAGE_LENGTH) {
      throw new TransportError('TOO_LARGE', `transport: message of ${message.length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
    }
    lengthBuf[0] = message.length >>> 8;
    lengthBuf[1] = message.length & 0xff;
    this.send.sealInto(lengthBuf, out, offset);
    return HEADER_LENGTH + this.send.sealInto(message, out, offset + HEADER_LENGTH);
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
    return this.recv.openLength(header, 'transport header');
  }

  /** Decrypt a frame body (ciphertext ‖ tag) whose length came from decryptHeader. */
  decryptBody(body: Uint8Array): Buffer {
    if (body.length < TAG_LENGTH) throw new TransportError('TRUNCATED', 'transport: body shorter than its tag');
    return this.recv.open(body, 'transport body');
  }
}
