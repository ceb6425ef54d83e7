/**
 * The node's channels by id, each with its keys (derived once per key index), and the lookups the API
 * and the other channel parts use.
 */
import type { KeyChain } from '../crypto/keychain.js';
import type { Channel } from './channel.js';
import { ChannelKeys } from './signer.js';

export class ChannelRegistry {
  readonly #keychain: KeyChain;
  readonly #channels = new Map<string, Channel>();
  readonly #keys = new Map<number, ChannelKeys>();

  constructor(keychain: KeyChain) {
    this.#keychain = keychain;
  }

  keys(index: number): ChannelKeys {
    let keys = this.#keys.get(index);
    if (!keys) {
      keys = new ChannelKeys(this.#keychain, index);
      this.#keys.set(index, keys);
    }
    return keys;
  }

  add(ch: Channel): void {
    this.#channels.set(ch.id, ch);
  }

  has(id: string): boolean {
    return this.#channels.has(id);
  }

  get(id: string): Channel | undefined {
    return this.#channels.get(id);
  }

  /** Every channel, in registration order (the order blocks are applied in). */
  all(): IterableIterator<Channel> {
    return this.#channels.values();
  }

  /** Every channel, oldest first. */
  list(): Channel[] {
    return [...this.#channels.values()].sort((a, b) => a.data.createdAt - b.data.createdAt);
  }

  /** The channels with `peerId`, in registration order. */
  ofPeer(peerId: string): Channel[] {
    return [...this.#channels.values()].filter((ch) => ch.data.peerId === peerId);
  }

  /** A channel by channel id, short channel id, or the peer id (its only live channel). */
  find(ref: string): Channel | undefined {
    const byId = this.#channels.get(ref);
    if (byId) return byId;
    const all = this.list();
    const scid = all.find((c) => c.data.shortChannelId === ref);
    if (scid) return scid;
    const live = all.filter((c) => c.data.peerId === ref && c.open);
    if (live.length > 0) return live[live.length - 1];
    return undefined;
  }
}
