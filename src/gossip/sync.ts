/**
 * Gossip queries (BOLT 7 "Query Messages"): our initial sync — `query_channel_range` over every block to
 * the first `syncPeers` peers that offer `gossip_queries`, then `query_short_channel_ids` (one batch
 * outstanding per peer) for the channels we lack or hold older updates of — and our answers to a peer's
 * queries: `reply_channel_range` (with timestamps when asked), the messages of each queried scid then
 * `reply_short_channel_ids_end`, and, on `gossip_timestamp_filter`, the stored gossip in its range —
 * long replies paced by the socket (`Peer.writable`); our queries sized to what the gossip queue still holds.
 * Every peer offering `gossip_queries` gets our filter, so it forwards new gossip to us.
 */
import type { Logger } from 'pino';
import type { Peer } from '../peer/peer.js';
import type { GossipRepository } from '../store/gossip.js';
import { Feature } from '../wire/features.js';
import type { ChannelGraph } from './graph.js';
import {
  decodeShortIds,
  decodeTimestamps,
  Encoding,
  encodeShortIds,
  encodeTimestamps,
  gossipMessagePayload,
  GossipMessageType,
  type GossipMessage,
  type QueryChannelRange,
  type ReplyChannelRange,
} from './messages.js';

/** Scids per reply_channel_range (with timestamps: 16 bytes each, well within a message). */
export const REPLY_CHUNK = 3000;
/** Scids per query_short_channel_ids. */
export const QUERY_CHUNK = 4000;
/** The most messages one queried scid brings: its announcement, two updates and two node announcements. */
export const MESSAGES_PER_SCID = 5;
/** query_option bit 0: timestamps wanted. */
const WANT_TIMESTAMPS = 1n;

export interface GossipSyncOptions {
  graph: ChannelGraph;
  store: GossipRepository;
  chainHash: Buffer;
  log: Logger;
  syncPeers: number;
  now: () => number;
  send: (peer: Peer, msg: GossipMessage | { type: number; payload: Buffer }) => boolean;
  /** The peer's gossip queue: messages waiting and room for more. Each query asks for no more than the room (see `roomFreed`). */
  queue: (peer: Peer) => { queued: number; room: number };
  /** A query or reply the peer sent did not decode (a bad zlib stream, a short id list of the wrong length): counted as misbehaviour, never thrown to the transport. */
  invalid: (peer: Peer, reason: string) => void;
}

interface SyncState {
  /** Our query_channel_range's end block (exclusive). */
  rangeEnd: number;
  wanted: bigint[];
  /** A query_short_channel_ids is outstanding. */
  querying: boolean;
  /** The next query waits for the peer's gossip queue to empty. */
  waitingRoom: boolean;
  done: boolean;
}

export class GossipSync {
  readonly #o: GossipSyncOptions;
  readonly #syncing = new Map<string, SyncState>();
  /** Peers whose query_short_channel_ids we are answering (one at a time each). */
  readonly #answering = new Set<string>();
  /** Peers we completed an initial sync with. */
  readonly completed = new Set<string>();

  constructor(o: GossipSyncOptions) {
    this.#o = o;
  }

  payload(m: GossipMessage): Buffer {
    return gossipMessagePayload(m);
  }

  connected(peer: Peer): void {
    if (!peer.remoteFeatures.supports(Feature.GOSSIP_QUERIES)) return;
    const chainHash = this.#o.chainHash;
    this.#o.send(peer, { type: GossipMessageType.GOSSIP_TIMESTAMP_FILTER, chainHash, firstTimestamp: this.#o.now(), timestampRange: 0xffff_ffff });
    if (this.#syncing.size + this.completed.size >= this.#o.syncPeers || this.completed.has(peer.id)) return;
    this.#syncing.set(peer.id, { rangeEnd: 0xffff_ffff, wanted: [], querying: false, waitingRoom: false, done: false });
    this.#o.send(peer, { type: GossipMessageType.QUERY_CHANNEL_RANGE, chainHash, firstBlocknum: 0, numberOfBlocks: 0xffff_ffff, queryOption: WANT_TIMESTAMPS, extraTlvs: [] });
  }

  disconnected(peer: Peer): void {
    this.#syncing.delete(peer.id);
    this.#answering.delete(peer.id);
  }

  /** The peer's gossip queue took one off: a query that waited for room goes out once it fits. */
  roomFreed(peer: Peer): void {
    const s = this.#syncing.get(peer.id);
    if (s === undefined || !s.waitingRoom) return;
    s.waitingRoom = false;
    this.#next(peer, s);
  }

  /** Whether an initial sync with `peerId` is under way. */
  syncing(peerId: string): boolean {
    return this.#syncing.has(peerId);
  }

  /** A query, reply or filter from `peer`; nothing it holds is thrown to the transport (the peer's channels stay up). */
  onQuery(peer: Peer, m: GossipMessage): void {
    try {
      this.#onQuery(peer, m);
    } catch (e) {
      this.#o.log.warn({ err: (e as Error).message, peer: peer.id, type: m.type }, 'gossip: handling a query failed');
    }
  }

  #onQuery(peer: Peer, m: GossipMessage): void {
    if ('chainHash' in m && !m.chainHash.equals(this.#o.chainHash)) {
      if (m.type === GossipMessageType.QUERY_CHANNEL_RANGE) {
        this.#o.send(peer, { ...m, type: GossipMessageType.REPLY_CHANNEL_RANGE, syncComplete: 0, encodedShortIds: Buffer.alloc(0), extraTlvs: [] } as GossipMessage);
      }
      return;
    }
    switch (m.type) {
      case GossipMessageType.QUERY_CHANNEL_RANGE:
        return this.#replyRange(peer, m);
      case GossipMessageType.QUERY_SHORT_CHANNEL_IDS: {
        const ids = this.#decoded(peer, () => decodeShortIds(m.encodedShortIds));
        if (ids === undefined) return;
        return void this.#replyIds(peer, ids).catch((e: Error) => this.#o.log.warn({ err: e.message, peer: peer.id }, 'gossip: answering a query failed'));
      }
      case GossipMessageType.REPLY_CHANNEL_RANGE: {
        const s = this.#syncing.get(peer.id);
        if (s === undefined || s.done) return;
        const decoded = this.#decoded(peer, () => ({ ids: decodeShortIds(m.encodedShortIds), ts: m.timestamps ? decodeTimestamps(m.timestamps) : undefined }));
        if (decoded === undefined) return;
        return this.#onReplyRange(peer, s, m, decoded.ids, decoded.ts);
      }
      case GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END: {
        const s = this.#syncing.get(peer.id);
        if (s) {
          s.querying = false;
          this.#next(peer, s);
        }
        return;
      }
      case GossipMessageType.GOSSIP_TIMESTAMP_FILTER:
        return void this.#dump(peer, m.firstTimestamp, m.timestampRange).catch((e: Error) => this.#o.log.warn({ err: e.message }, 'gossip: replaying to a filter failed'));
    }
  }

  #replyRange(peer: Peer, q: QueryChannelRange): void {
    const end = Math.min(q.firstBlocknum + q.numberOfBlocks, 0xffff_ffff);
    const ids = this.#o.graph.scids(q.firstBlocknum, end - q.firstBlocknum);
    const withTs = q.queryOption !== undefined && (q.queryOption & WANT_TIMESTAMPS) !== 0n;
    let first = q.firstBlocknum;
    for (let i = 0; i === 0 || i < ids.length; i += REPLY_CHUNK) {
      const chunk = ids.slice(i, i + REPLY_CHUNK);
      const last = i + REPLY_CHUNK >= ids.length;
      // Each reply covers its blocks; the last reaches the query's end.
      const upto = last ? end : Number(ids[i + REPLY_CHUNK]! >> 40n);
      const reply: ReplyChannelRange = {
        type: GossipMessageType.REPLY_CHANNEL_RANGE,
        chainHash: this.#o.chainHash,
        firstBlocknum: first,
        numberOfBlocks: upto - first,
        syncComplete: 1,
        encodedShortIds: encodeShortIds(chunk, Encoding.UNCOMPRESSED),
        extraTlvs: [],
      };
      if (withTs) {
        reply.timestamps = encodeTimestamps(
          chunk.map((s) => ({ timestamp1: this.#o.graph.policyTimestamp(s, 0), timestamp2: this.#o.graph.policyTimestamp(s, 1) })),
          Encoding.UNCOMPRESSED,
        );
      }
      this.#o.send(peer, reply);
      first = upto;
    }
  }

  /** The encoded lists of a peer's message, or undefined (counted as misbehaviour) when they do not decode. */
  #decoded<T>(peer: Peer, decode: () => T): T | undefined {
    try {
      return decode();
    } catch (e) {
      this.#o.invalid(peer, `bad encoded list: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * Sending paced by the socket: once a send asks us to wait, `paced` (awaited before each next item)
   * waits for the outbound queue to drain, so a long reply never reaches the transport's cut-off (CLN
   * streams replies as its socket drains; LND rate-limits its chunks). `paced` is false once the peer is gone.
   */
  #pacer(peer: Peer): { send: (msg: { type: number; payload: Buffer }) => void; paced: () => Promise<boolean> } {
    let full = false;
    return {
      send: (msg) => {
        if (!this.#o.send(peer, msg)) full = true;
      },
      paced: async () => {
        if (full) await peer.writable();
        full = false;
        return peer.connected;
      },
    };
  }

  async #replyIds(peer: Peer, ids: bigint[]): Promise<void> {
    if (this.#answering.has(peer.id)) {
      peer.sendWarning('gossip: query_short_channel_ids while the previous one is unanswered');
      return;
    }
    this.#answering.add(peer.id);
    try {
      const sentNodes = new Set<string>();
      const { send, paced } = this.#pacer(peer);
      for (const scid of ids) {
        if (!(await paced())) return;
        const c = await this.#o.store.channel(scid);
        if (c === undefined) continue;
        send({ type: GossipMessageType.CHANNEL_ANNOUNCEMENT, payload: c.announcement });
        for (const u of c.updates) if (u) send({ type: GossipMessageType.CHANNEL_UPDATE, payload: u });
        const info = this.#o.graph.channel(scid);
        for (const n of info ? [info.node1, info.node2] : []) {
          if (sentNodes.has(n)) continue;
          sentNodes.add(n);
          const na = await this.#o.store.node(n);
          if (na) send({ type: GossipMessageType.NODE_ANNOUNCEMENT, payload: na });
        }
      }
      if (!(await paced())) return;
      this.#o.send(peer, { type: GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END, chainHash: this.#o.chainHash, fullInformation: 1 });
    } finally {
      this.#answering.delete(peer.id);
    }
  }

  #onReplyRange(peer: Peer, s: SyncState, r: ReplyChannelRange, ids: bigint[], ts: ReturnType<typeof decodeTimestamps> | undefined): void {
    ids.forEach((scid, i) => {
      const t = ts?.[i];
      const g = this.#o.graph;
      const stale = !g.hasChannel(scid) || (t !== undefined && (t.timestamp1 > g.policyTimestamp(scid, 0) || t.timestamp2 > g.policyTimestamp(scid, 1)));
      if (stale) s.wanted.push(scid);
    });
    if (r.firstBlocknum + r.numberOfBlocks >= s.rangeEnd || r.firstBlocknum + r.numberOfBlocks >= 0xffff_ffff) {
      s.done = true;
      this.#o.log.info({ peer: peer.id, wanted: s.wanted.length }, 'gossip: channel range received');
      this.#next(peer, s);
    }
  }

  #next(peer: Peer, s: SyncState): void {
    if (s.querying || !s.done) return;
    if (s.wanted.length === 0) {
      this.#syncing.delete(peer.id);
      this.completed.add(peer.id);
      this.#o.log.info({ peer: peer.id }, 'gossip: initial sync complete');
      return;
    }
    // Ask for no more than the peer's gossip queue can hold (what is past it would be dropped and never
    // asked again); a query too small to be worth it (under a quarter of a full one) waits for room
    // (`roomFreed`), or goes out anyway once the queue is empty.
    const { room, queued } = this.#o.queue(peer);
    const size = Math.min(QUERY_CHUNK, s.wanted.length, Math.floor(room / MESSAGES_PER_SCID));
    if (queued > 0 && size < Math.min(QUERY_CHUNK / 4, s.wanted.length)) {
      s.waitingRoom = true;
      return;
    }
    const chunk = s.wanted.splice(0, Math.max(1, size));
    s.querying = true;
    this.#o.send(peer, {
      type: GossipMessageType.QUERY_SHORT_CHANNEL_IDS,
      chainHash: this.#o.chainHash,
      encodedShortIds: encodeShortIds(chunk, Encoding.UNCOMPRESSED),
      extraTlvs: [],
    });
  }

  /** The stored gossip with a timestamp in [first, first + range) (a channel by its updates' timestamps), paced by the socket like a query's reply. */
  async #dump(peer: Peer, first: number, range: number): Promise<void> {
    const inRange = (t: number): boolean => t >= first && t - first < range;
    // A filter starting now asks only for what comes next.
    if (first >= this.#o.now() - 60) return;
    const { send, paced } = this.#pacer(peer);
    for (const c of await this.#o.store.loadChannels()) {
      if (!(await paced())) return;
      const g = this.#o.graph;
      const t = [g.policyTimestamp(c.scid, 0), g.policyTimestamp(c.scid, 1)];
      if (!t.some(inRange)) continue;
      send({ type: GossipMessageType.CHANNEL_ANNOUNCEMENT, payload: c.announcement });
      c.updates.forEach((u, d) => u && inRange(t[d]!) && send({ type: GossipMessageType.CHANNEL_UPDATE, payload: u }));
    }
    for (const n of await this.#o.store.loadNodes()) {
      if (!(await paced())) return;
      const info = this.#o.graph.nodeInfo(n.nodeId);
      if (info && inRange(info.timestamp)) send({ type: GossipMessageType.NODE_ANNOUNCEMENT, payload: n.announcement });
    }
  }
}
