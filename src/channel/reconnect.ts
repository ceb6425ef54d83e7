/**
 * Reconnection to peers we have live channels with, as CLN does it: the first attempt after 1 s (at
 * once on start-up), then doubling up to 300 s, until the peer is back in either direction.
 */
import type { Logger } from 'pino';
import type { PeerManager } from '../peer/manager.js';

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 300_000;

interface Attempt {
  timer?: NodeJS.Timeout;
  delayMs: number;
}

export interface ReconnectorOptions {
  peers: PeerManager;
  /** Known addresses of a peer, `host:port` (IPv6 in brackets). */
  peerAddresses(nodeId: string): Promise<string[]>;
  /** False: never dial (a test node that must stay offline). */
  enabled: boolean;
  log: Logger;
}

export class Reconnector {
  readonly #o: ReconnectorOptions;
  readonly #attempts = new Map<string, Attempt>();
  #stopped = false;

  constructor(o: ReconnectorOptions) {
    this.#o = o;
  }

  /** Dials `peerId` after `delayMs` unless an attempt is already waiting, and keeps trying with backoff. */
  schedule(peerId: string, delayMs: number): void {
    if (this.#stopped || !this.#o.enabled) return;
    const prev = this.#attempts.get(peerId);
    if (prev?.timer) return;
    const attempt = prev ?? { delayMs: Math.max(delayMs, MIN_BACKOFF_MS) };
    this.#attempts.set(peerId, attempt);
    attempt.timer = setTimeout(() => {
      attempt.timer = undefined;
      this.#attempt(peerId, attempt).catch(() => undefined);
    }, delayMs);
    attempt.timer.unref();
  }

  /** The peer is connected (either direction): no more attempts, and the backoff starts over next time. */
  connected(peerId: string): void {
    const attempt = this.#attempts.get(peerId);
    if (!attempt) return;
    clearTimeout(attempt.timer);
    this.#attempts.delete(peerId);
  }

  stop(): void {
    this.#stopped = true;
    for (const a of this.#attempts.values()) clearTimeout(a.timer);
  }

  async #attempt(peerId: string, attempt: Attempt): Promise<void> {
    const { peers, log } = this.#o;
    if (this.#stopped || peers.peer(peerId)) return;
    const addrs = await this.#o.peerAddresses(peerId).catch(() => []);
    for (const a of addrs) {
      const m = /^(.*):(\d+)$/.exec(a);
      if (!m) continue;
      try {
        await peers.connect(Buffer.from(peerId, 'hex'), m[1]!.replace(/^\[|\]$/g, ''), Number(m[2]));
        log.info({ peer: peerId }, 'reconnected to channel peer');
        return;
      } catch (err) {
        log.debug({ peer: peerId, err: (err as Error).message }, 'reconnect failed');
      }
    }
    if (peers.peer(peerId)) return;
    const next = attempt.delayMs;
    attempt.delayMs = Math.min(attempt.delayMs * 2, MAX_BACKOFF_MS);
    this.schedule(peerId, next);
  }
}
