/**
 * Benchmark 2: encrypted messages over a real loopback TCP pair (two NoiseSockets after a real
 * handshake; the sender respects backpressure, the receiver counts 'message' events), against the
 * fastest raw ChaCha20-Poly1305 available doing the same AEAD work per message: seal + open of the 2-byte
 * header and of the body, each through the faster of node:crypto and anode's JavaScript path at its size
 * (the aead section measures both). A third row times TransportCipher alone (no socket) against the same
 * reference, to split the socket's share from the cipher wrapper's.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { JS_AEAD_MAX } from '../src/crypto/aead.js';
import { chachaKeyWords, jsOpen, jsSeal } from '../src/crypto/chacha-poly.js';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { secp, type Secp256k1 } from '../src/crypto/secp256k1.js';
import { HEADER_LENGTH } from '../src/transport/cipher.js';
import { NoiseSocket } from '../src/transport/connection.js';
import { NoiseHandshake, type StaticKey } from '../src/transport/noise.js';
import { compare, type Comparison, type Op, type RunOptions } from './harness.js';

function keyOf(ec: Secp256k1, fill: number): StaticKey {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: ec.publicKey(privateKey) };
}

interface Pair {
  sender: NoiseSocket;
  receiver: NoiseSocket;
  close(): void;
}

/**
 * Two NoiseSockets over 127.0.0.1 after a real BOLT 8 handshake; `SocketClass` and `ec` let another build's
 * classes be paired the same way (versus.ts).
 */
export async function loopbackPair(SocketClass: typeof NoiseSocket = NoiseSocket, ec: Secp256k1 = secp): Promise<Pair> {
  const tcp = await plainTcpPair();
  const responderKey = keyOf(ec, 0x21);
  const receiver = new SocketClass(tcp.b, { localKey: responderKey });
  const sender = new SocketClass(tcp.a, { localKey: keyOf(ec, 0x12), remoteKey: responderKey.publicKey });
  await Promise.all([sender.handshake(), receiver.handshake()]);
  sender.startReading();
  receiver.startReading();
  return {
    sender,
    receiver,
    close() {
      sender.destroy();
      receiver.destroy();
    },
  };
}

/** Sends n messages (waiting for 'drain' whenever send() says so) and resolves once all n arrived. */
export function socketOp(pair: Pair, payload: Buffer): Op {
  let received = 0;
  let target = 0;
  let done: (() => void) | undefined;
  let failure: Error | undefined;
  const fail = (why: string) => (err?: Error) => {
    failure = new Error(`bench: ${why}${err ? `: ${err.message}` : ''}`);
    done?.();
  };
  pair.sender.on('close', fail('sender closed'));
  pair.receiver.on('close', fail('receiver closed'));
  pair.receiver.on('message', (m) => {
    if (m.length !== payload.length) failure ??= new Error(`bench: got ${m.length} bytes, sent ${payload.length}`);
    if (++received === target) done?.();
  });
  const drained = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const go = (): void => {
        pair.sender.off('drain', go);
        pair.sender.off('close', go);
        resolve();
      };
      pair.sender.on('drain', go);
      pair.sender.on('close', go);
    });
  return {
    name: 'NoiseSocket over loopback TCP',
    async run(n: number) {
      target = received + n;
      const arrived = new Promise<void>((resolve) => (done = resolve));
      for (let i = 0; i < n && !failure; i++) {
        if (!pair.sender.send(payload)) await drained();
      }
      if (received < target && !failure) await arrived;
      done = undefined;
      if (failure) throw failure;
    },
  };
}

/**
 * TransportCipher alone: encrypt a frame, decrypt its header and body (what the socket adapter adds I/O
 * to). `Handshake` and `ec` let another build's classes be timed the same way (versus.ts).
 */
export function cipherOp(payload: Buffer, Handshake: typeof NoiseHandshake = NoiseHandshake, ec: Secp256k1 = secp): Op {
  const rk = keyOf(ec, 0x21);
  const i = Handshake.initiator(keyOf(ec, 0x12), rk.publicKey);
  const r = Handshake.responder(rk);
  r.readActOne(i.actOne());
  i.readActTwo(r.actTwo());
  r.readActThree(i.actThree());
  const tx = i.result.cipher;
  const rx = r.result.cipher;
  return {
    name: 'TransportCipher in memory (no socket)',
    run(n: number) {
      for (let j = 0; j < n; j++) {
        const frame = tx.encrypt(payload);
        const len = rx.decryptHeader(frame.subarray(0, HEADER_LENGTH));
        const body = rx.decryptBody(frame.subarray(HEADER_LENGTH));
        if (body.length !== len) throw new Error('bench: cipher round trip mismatch');
      }
    },
  };
}

/**
 * Raw AEAD: per message, seal + open the 2-byte header and seal + open the body, each through the
 * faster implementation at its size (anode's JavaScript ChaCha20-Poly1305 up to JS_AEAD_MAX, node:crypto
 * above), with no framing, no rotation, no allocation beyond node:crypto's own.
 */
function rawAeadOp(payload: Buffer): Op {
  const k = randomBytes(32);
  const words = chachaKeyWords(k);
  const nonce = Buffer.alloc(12);
  const header = Buffer.alloc(2);
  const sealed = Buffer.alloc(Math.min(payload.length, JS_AEAD_MAX) + 16);
  const back = Buffer.alloc(Math.min(payload.length, JS_AEAD_MAX));
  const EMPTY = Buffer.alloc(0);
  let counter = 0;
  const sealOpen = (plaintext: Buffer): number => {
    counter = (counter + 1) >>> 0;
    if (plaintext.length <= JS_AEAD_MAX) {
      jsSeal(words, 0, counter, 0, EMPTY, plaintext, 0, plaintext.length, sealed, 0);
      if (!jsOpen(words, 0, counter, 0, EMPTY, sealed, 0, plaintext.length + 16, back, 0)) throw new Error('bench: raw AEAD mismatch');
      return plaintext.length;
    }
    nonce.writeUInt32LE(counter, 4);
    const c = createCipheriv('chacha20-poly1305', k, nonce, { authTagLength: 16 });
    const ct = c.update(plaintext);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv('chacha20-poly1305', k, nonce, { authTagLength: 16 });
    d.setAuthTag(tag);
    const pt = d.update(ct);
    d.final();
    return pt.length;
  };
  return {
    name: 'raw AEAD 2 seal + 2 open (fastest path per size)',
    run(n: number) {
      for (let j = 0; j < n; j++) {
        sealOpen(header);
        if (sealOpen(payload) !== payload.length) throw new Error('bench: raw AEAD mismatch');
      }
    },
  };
}

/**
 * The floor for the socket row on one thread: the same raw AEAD work plus moving the same bytes (a
 * frame's worth per message) through a plain loopback TCP pair, no anode code, written as a sender would
 * at best: the frames of a batch in writes of up to 64 KiB. The socket row can at best match it.
 */
function rawAeadPlusTcpOp(payload: Buffer, tcp: { a: Socket; b: Socket }): Op {
  const aead = rawAeadOp(payload);
  const frameLength = payload.length + 2 * 16 + 2;
  const perWrite = Math.max(1, Math.floor(65536 / frameLength));
  const chunk = Buffer.alloc(perWrite * frameLength, 7);
  let received = 0;
  let target = 0;
  let done: (() => void) | undefined;
  tcp.b.on('data', (d: Buffer) => {
    received += d.length;
    if (received >= target) done?.();
  });
  return {
    name: 'raw AEAD + plain loopback TCP of the same bytes',
    async run(n: number) {
      target = received + n * frameLength;
      const arrived = new Promise<void>((r) => (done = r));
      for (let j = 0; j < n; j += perWrite) {
        const k = Math.min(perWrite, n - j);
        await aead.run(k);
        if (!tcp.a.write(chunk.subarray(0, k * frameLength)) && tcp.a.writableLength >= 256 * 1024) await once(tcp.a, 'drain');
      }
      if (received < target) await arrived;
      done = undefined;
    },
  };
}

async function plainTcpPair(): Promise<{ a: Socket; b: Socket; close(): void }> {
  const server = createServer({ noDelay: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const a = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, noDelay: true });
  await once(a, 'connect');
  const [b] = await accepted;
  server.close();
  return { a, b, close: () => (a.destroy(), b.destroy()) };
}

export interface TransportRow {
  size: number;
  path: 'socket' | 'cipher' | 'socket-vs-floor';
  comparison: Comparison;
}

export const TRANSPORT_SIZES = [65535, 32];

export async function benchTransport(opts: RunOptions): Promise<TransportRow[]> {
  const rows: TransportRow[] = [];
  for (const size of TRANSPORT_SIZES) {
    const payload = randomBytes(size);
    const pair = await loopbackPair();
    try {
      rows.push({ size, path: 'socket', comparison: await compare(socketOp(pair, payload), rawAeadOp(payload), opts) });
    } finally {
      pair.close();
    }
    rows.push({ size, path: 'cipher', comparison: await compare(cipherOp(payload), rawAeadOp(payload), opts) });
    const pair2 = await loopbackPair();
    const tcp = await plainTcpPair();
    try {
      rows.push({ size, path: 'socket-vs-floor', comparison: await compare(socketOp(pair2, payload), rawAeadPlusTcpOp(payload, tcp), opts) });
    } finally {
      pair2.close();
      tcp.close();
    }
  }
  return rows;
}
