import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { NoiseSocket } from '../../src/transport/connection.js';
import type { StaticKey } from '../../src/transport/noise.js';
import { decodeMessage, encodeMessage, MessageType, CHAIN_HASH, type Message } from '../../src/wire/messages.js';
import { INIT_FEATURES } from '../../src/node/node.js';
import { withTimeout } from '../harness/wait.js';

/**
 * A hand-driven peer for unit tests of anode's peer layer: a real BOLT 8 connection over TCP whose
 * every message is chosen by the test (including ones no sane implementation sends).
 */
export class ScriptedPeer {
  readonly received: Message[] = [];
  /** Answer pings as a well-behaved peer would; tests that answer by hand turn it off. */
  autoPong = true;
  #waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  closed: Promise<void>;

  private constructor(readonly conn: NoiseSocket) {
    conn.on('message', (raw) => {
      const msg = decodeMessage(raw);
      this.received.push(msg);
      if (this.autoPong && msg.type === MessageType.PING && 'numPongBytes' in msg && msg.numPongBytes < 65532) {
        this.send({ type: MessageType.PONG, ignored: Buffer.alloc(msg.numPongBytes) });
      }
      this.#waiters = this.#waiters.filter((w) => (w.pred(msg) ? (w.resolve(msg), false) : true));
    });
    this.closed = new Promise((r) => conn.once('close', () => r()));
  }

  static async dial(port: number, key: StaticKey, remote: Buffer): Promise<ScriptedPeer> {
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const conn = new NoiseSocket(socket, { localKey: key, remoteKey: remote });
    await conn.handshake();
    const p = new ScriptedPeer(conn);
    conn.startReading();
    return p;
  }

  /** Accepts one connection on an existing server socket. */
  static async accept(socket: Socket, key: StaticKey): Promise<ScriptedPeer> {
    const conn = new NoiseSocket(socket, { localKey: key });
    await conn.handshake();
    const p = new ScriptedPeer(conn);
    conn.startReading();
    return p;
  }

  send(msg: Message): void {
    this.conn.send(encodeMessage(msg));
  }

  sendRaw(bytes: Buffer): void {
    this.conn.send(bytes);
  }

  sendInit(opts: { features?: Buffer; networks?: Buffer[] } = {}): void {
    this.send({
      type: MessageType.INIT,
      globalFeatures: Buffer.alloc(0),
      features: opts.features ?? INIT_FEATURES.toBytes(),
      networks: opts.networks ?? [CHAIN_HASH.regtest],
      extraTlvs: [],
    });
  }

  next(pred: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const found = this.received.find(pred);
    if (found) return Promise.resolve(found);
    let waiter!: { pred: (m: Message) => boolean; resolve: (m: Message) => void };
    const seen = new Promise<Message>((resolve) => this.#waiters.push((waiter = { pred, resolve })));
    return withTimeout(seen, timeoutMs, 'scripted peer: a matching message').finally(() => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    });
  }

  ofType(type: number, timeoutMs?: number): Promise<Message> {
    return this.next((m) => m.type === type, timeoutMs);
  }

  close(): void {
    this.conn.destroy();
  }
}
