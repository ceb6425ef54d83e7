/**
 * One wtwire connection from the client to a tower (spec §1.6): TCP, BOLT 8 with the session key as our
 * static key and the tower key as the expected remote, the Init exchange, then strictly one request and
 * one reply at a time, each within a deadline.
 */
import { connect, type Socket } from 'node:net';
import { NoiseSocket } from '../../transport/connection.js';
import type { StaticKey } from '../../transport/noise.js';
import { checkRemoteInit, decodeMessage, encodeMessage, type WtMessage } from '../wire/messages.js';
import type { TowerAddr } from './address.js';

export class TowerConnError extends Error {
  override name = 'TowerConnError';
}

export interface DialOptions {
  addr: TowerAddr;
  towerKey: Buffer;
  sessionKey: StaticKey;
  chainHash: Buffer;
  features: readonly number[];
  timeoutMs: number;
}

export class TowerConn {
  #queue: WtMessage[] = [];
  #waiter: ((m: WtMessage | Error) => void) | undefined;
  #closed: Error | undefined;

  private constructor(
    readonly noise: NoiseSocket,
    private readonly timeoutMs: number,
  ) {
    noise.on('message', (raw) => {
      let m: WtMessage | Error;
      try {
        m = decodeMessage(raw);
      } catch (e) {
        m = new TowerConnError(`tower sent an undecodable message: ${(e as Error).message}`);
        this.close();
      }
      const w = this.#waiter;
      this.#waiter = undefined;
      if (w) w(m);
      else if (!(m instanceof Error)) this.#queue.push(m);
    });
    noise.on('close', (err) => {
      this.#closed ??= new TowerConnError(err ? `connection closed: ${err.message}` : 'connection closed by the tower');
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.(this.#closed);
    });
  }

  static async open(o: DialOptions, onSocket?: (s: Socket) => void): Promise<TowerConn> {
    const socket = connect({ host: o.addr.host, port: o.addr.port });
    onSocket?.(socket);
    const timer = setTimeout(() => socket.destroy(new Error(`connect timeout (${o.timeoutMs} ms)`)), o.timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
        socket.once('close', () => reject(new TowerConnError('connection closed while connecting')));
      });
    } catch (e) {
      socket.destroy();
      throw new TowerConnError(`dial ${o.addr.host}:${o.addr.port}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    const noise = new NoiseSocket(socket, { localKey: o.sessionKey, remoteKey: o.towerKey, actTimeoutMs: o.timeoutMs });
    try {
      await noise.handshake();
    } catch (e) {
      noise.destroy();
      throw new TowerConnError(`handshake with ${o.addr.host}:${o.addr.port}: ${(e as Error).message}`);
    }
    const c = new TowerConn(noise, o.timeoutMs);
    noise.startReading();
    try {
      c.send({ type: 600, features: [...o.features], chainHash: o.chainHash });
      const init = await c.next();
      if (init.type !== 600) throw new TowerConnError(`tower answered init with ${init.type}`);
      checkRemoteInit(init, o.chainHash);
    } catch (e) {
      c.close();
      throw e instanceof TowerConnError ? e : new TowerConnError(`init: ${(e as Error).message}`);
    }
    return c;
  }

  send(m: WtMessage): void {
    if (this.#closed) throw this.#closed;
    this.noise.send(encodeMessage(m));
  }

  next(): Promise<WtMessage> {
    const q = this.#queue.shift();
    if (q) return Promise.resolve(q);
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new TowerConnError(`no reply within ${this.timeoutMs} ms`));
        this.close();
      }, this.timeoutMs);
      this.#waiter = (m) => {
        clearTimeout(timer);
        if (m instanceof Error) reject(m);
        else resolve(m);
      };
    });
  }

  async request(m: WtMessage): Promise<WtMessage> {
    this.send(m);
    return this.next();
  }

  close(): void {
    this.noise.destroy();
  }
}
