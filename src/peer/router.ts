/**
 * Which handler gets which message of a connected peer: handlers register for a message type or a range
 * of types (BOLT 2 to the channels, BOLT 7 gossip, later onion messages), and each peer gets one
 * 'message' listener that dispatches in arrival order. A message nobody registered for is handled as
 * BOLT 1 says: an unknown even type is a protocol violation, an unknown odd one is ignored. BOLT 7
 * gossip (256–259) is understood and ignored until a gossip handler registers for it; the node's
 * `gossip/` registers 256–259 and 261–265 (announcements and queries), replacing that default.
 *
 * The router also tells its watchers when a peer comes and goes, once per connection, so a layer that
 * keeps per-peer state (channels to reestablish, opens to abort) needs no listeners of its own.
 */
import type { Logger } from 'pino';
import { isEvenType, isUnknownMessage, type KnownMessage, type Message } from '../wire/messages.js';
import type { PeerManager } from './manager.js';
import type { Peer } from './peer.js';

/** Handles one message; runs synchronously in arrival order (async work must queue itself). */
export type MessageHandler = (peer: Peer, msg: Message) => void;

/**
 * Messages a peer may send before the router runs (a connection dialled during start-up: its
 * channel_reestablish, one per channel) that wait for start(); past it the connection is dropped.
 */
export const EARLY_MESSAGE_LIMIT = 1000;

export interface PeerWatcher {
  /** The peer's connection is registered, before its first message is delivered. */
  connected(peer: Peer): void;
  disconnected(peer: Peer): void;
}

export class MessageRouter {
  readonly #peers: PeerManager;
  readonly #log: Logger;
  readonly #byType = new Map<number, MessageHandler>();
  readonly #ranges: { from: number; to: number; handler: MessageHandler }[] = [];
  readonly #watchers: PeerWatcher[] = [];
  readonly #attached = new WeakSet<Peer>();
  #started = false;
  /** Peers that connected before start(), with their messages so far (in arrival order). */
  readonly #early = new Map<Peer, { messages: Message[]; hold: (m: Message) => void }>();

  constructor(peers: PeerManager, log: Logger) {
    this.#peers = peers;
    this.#log = log;
    this.handle({ from: 256, to: 259 }, (peer, m) => this.#log.debug({ peer: peer.id, type: m.type }, 'ignoring gossip message'));
    // A peer connected before the router runs waits for it: with no listener its first message (a
    // channel_reestablish for a channel we know) would be refused as an unknown even message.
    peers.on('connected', (p) => {
      if (!this.#started) this.#holdEarly(p);
    });
  }

  #holdEarly(peer: Peer): void {
    if (this.#early.has(peer)) return;
    const messages: Message[] = [];
    const hold = (m: Message): void => {
      messages.push(m);
      if (messages.length <= EARLY_MESSAGE_LIMIT) return;
      this.#forgetEarly(peer);
      void peer.close(`more than ${EARLY_MESSAGE_LIMIT} messages before the node was ready`);
    };
    this.#early.set(peer, { messages, hold });
    peer.on('message', hold);
    peer.once('close', () => this.#forgetEarly(peer));
  }

  #forgetEarly(peer: Peer): void {
    const e = this.#early.get(peer);
    if (e) peer.off('message', e.hold);
    this.#early.delete(peer);
  }

  /**
   * Routes messages of `type`, or of every type in `from`…`to` inclusive, to `handler`. A handler for
   * the exact type comes first, then the range registered last (so a gossip handler replaces the
   * default).
   */
  handle<T extends KnownMessage['type']>(type: T, handler: (peer: Peer, msg: Extract<KnownMessage, { type: T }>) => void): void;
  handle(type: number | { from: number; to: number }, handler: MessageHandler): void;
  handle(type: number | { from: number; to: number }, typed: (peer: Peer, msg: never) => void): void {
    // Sound: a handler for a known type is only ever called with a message of that type (#dispatch).
    const handler = typed as MessageHandler;
    if (typeof type === 'number') {
      if (this.#byType.has(type)) throw new Error(`router: type ${type} already has a handler`);
      this.#byType.set(type, handler);
    } else this.#ranges.unshift({ ...type, handler });
  }

  watch(w: PeerWatcher): void {
    this.#watchers.push(w);
  }

  /**
   * Attaches to every connected peer and to each one that connects from now on (once; later calls do
   * nothing); what a peer sent before (it connected earlier) is dispatched now, in order.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const early = [...this.#early];
    for (const [p] of early) this.#forgetEarly(p);
    this.#peers.on('connected', (p) => this.#attach(p));
    this.#peers.on('disconnected', (p) => {
      for (const w of this.#watchers) w.disconnected(p);
    });
    for (const p of this.#peers.list()) this.#attach(p);
    // What the early peers sent meanwhile, in order, as if it had just arrived.
    for (const [p, { messages }] of early) {
      for (const m of messages) if (this.#attached.has(p) && p.connected) this.#dispatch(p, m);
    }
  }

  #attach(peer: Peer): void {
    if (this.#attached.has(peer)) return;
    this.#attached.add(peer);
    peer.on('message', (m) => this.#dispatch(peer, m));
    for (const w of this.#watchers) w.connected(peer);
  }

  #dispatch(peer: Peer, m: Message): void {
    const handler = this.#byType.get(m.type) ?? this.#ranges.find((r) => m.type >= r.from && m.type <= r.to)?.handler;
    if (handler) return handler(peer, m);
    if (!isUnknownMessage(m)) return;
    if (isEvenType(m.type)) {
      peer.sendWarning(`unknown even message ${m.type}`);
      peer.close(`unknown even message ${m.type}`);
    }
  }
}
