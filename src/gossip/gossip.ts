/**
 * The gossip manager (BOLT 7): takes announcements and updates from peers, checks them (`validate.ts`,
 * the funding output through `funding.ts`), keeps the graph (`graph.ts`) and its store, forwards what is
 * new to peers whose `gossip_timestamp_filter` asks for it, answers and sends gossip queries (`sync.ts`),
 * and prunes channels whose funding is spent (the chain notifier's blocks) and updates older than two
 * weeks.
 *
 * Spam limits: each peer's messages queue for one serial worker, at most `maxQueuePerPeer` (the rest is
 * dropped; our own sync asks for no more than
 * the queue can hold); a peer whose invalid messages reach `maxInvalid` is warned and its gossip ignored for
 * `ignoreMs`. Per-peer state goes with the connection; the ignore list is bounded. Channel updates that
 * arrive before their announcement wait in a bounded map.
 */
import type { Logger } from 'pino';
import type { ChainSource } from '../chain/chain-source.js';
import type { BlockListener, ChainNotifier, ConnectedBlock, Subscription } from '../chain/notifier.js';
import { MemoryTipStore } from '../chain/notifier.js';
import type { Peer } from '../peer/peer.js';
import type { MessageRouter } from '../peer/router.js';
import type { GossipRepository } from '../store/gossip.js';
import { isUnknownMessage, type Message } from '../wire/messages.js';
import { WireError } from '../wire/errors.js';
import { decodeAddresses, formatAddress } from './address.js';
import { FundingLookup, type UnspentCheck } from './funding.js';
import { ChannelGraph } from './graph.js';
import {
  decodeGossipMessage,
  GossipMessageType,
  scidToString,
  type ChannelAnnouncement,
  type ChannelUpdate,
  type GossipMessage,
  type NodeAnnouncement,
} from './messages.js';
import { GossipSync } from './sync.js';
import { announcedFundingScript, checkChannelAnnouncement, checkChannelUpdate, checkNodeAnnouncement } from './validate.js';

export const TWO_WEEKS_S = 14 * 24 * 3600;

export interface GossipLimits {
  /** Messages waiting per peer before more are dropped. Default 20,000. */
  maxQueuePerPeer: number;
  /** Invalid messages before a peer is warned and ignored. Default 10. */
  maxInvalid: number;
  /** How long an ignored peer stays ignored, ms. Default 10 minutes. */
  ignoreMs: number;
  /** Peers remembered as ignored (the oldest is forgotten beyond). Default 1,000. */
  maxIgnored: number;
  /** Updates waiting for their channel's announcement. Default 1,000. */
  maxPendingUpdates: number;
  /** How often new gossip is forwarded, ms. Default 5,000. */
  broadcastIntervalMs: number;
  /** Peers we run an initial sync with. Default 3. */
  syncPeers: number;
}

export const DEFAULT_GOSSIP_LIMITS: GossipLimits = {
  maxQueuePerPeer: 20_000,
  maxInvalid: 10,
  ignoreMs: 10 * 60_000,
  maxIgnored: 1_000,
  maxPendingUpdates: 1_000,
  broadcastIntervalMs: 5_000,
  syncPeers: 3,
};

export interface GossipOptions {
  router: MessageRouter;
  chain: ChainSource;
  /** Blocks for pruning spent channels; without it nothing is pruned by spends. */
  notifier?: ChainNotifier;
  chainHash: Buffer;
  store: GossipRepository;
  log: Logger;
  /** `gettxout` where the backend has it: an announced funding output must be unspent. */
  unspent?: UnspentCheck;
  limits?: Partial<GossipLimits>;
  /** Unix seconds (tests move time). */
  now?: () => number;
}

interface PeerState {
  peer: Peer;
  queue: { type: number; payload: Buffer }[];
  invalid: number;
  /** Their gossip_timestamp_filter: forward messages with first ≤ timestamp < first + range. */
  filter?: { first: number; range: number };
}

type Outcome = 'accepted' | 'known' | 'invalid' | 'ignored';

export class Gossip {
  readonly graph = new ChannelGraph();
  readonly #o: GossipOptions;
  readonly #log: Logger;
  readonly #limits: GossipLimits;
  readonly #funding: FundingLookup;
  readonly #peers = new Map<string, PeerState>();
  readonly #ignored = new Map<string, number>();
  /** funding outpoint `txid:vout` → scid, for pruning on spend. */
  readonly #outpoints = new Map<string, bigint>();
  readonly #pendingUpdates = new Map<bigint, { type: number; payload: Buffer; from: string }[]>();
  /** Raw messages accepted since the last broadcast, with their timestamp and who sent them. */
  #outbox: { type: number; payload: Buffer; timestamp: number; from?: string }[] = [];
  readonly sync: GossipSync;
  #worker: Promise<void> = Promise.resolve();
  #blocks: Subscription | undefined;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;
  /** Counters for tests, metrics and logs. */
  readonly stats = { accepted: 0, invalid: 0, dropped: 0, ignored: 0, pruned: 0 };

  constructor(opts: GossipOptions) {
    this.#o = opts;
    this.#log = opts.log;
    this.#limits = { ...DEFAULT_GOSSIP_LIMITS, ...opts.limits };
    this.#funding = new FundingLookup(opts.chain, opts.unspent);
    this.sync = new GossipSync({
      graph: this.graph,
      store: opts.store,
      chainHash: opts.chainHash,
      log: opts.log,
      syncPeers: this.#limits.syncPeers,
      now: () => this.#now(),
      send: (peer, msg) => this.#send(peer, msg),
      queue: (peer) => {
        const queued = this.#peers.get(peer.id)?.queue.length ?? 0;
        return { queued, room: this.#limits.maxQueuePerPeer - queued };
      },
      invalid: (peer, reason) => {
        const st = this.#peers.get(peer.id);
        if (st) this.#misbehaved(st, reason);
      },
    });
    // 260 is unassigned: left to the router (an unknown even type).
    opts.router.handle({ from: 256, to: 259 }, (peer, m) => this.#onMessage(peer, m));
    opts.router.handle({ from: 261, to: 265 }, (peer, m) => this.#onMessage(peer, m));
    opts.router.watch({ connected: (p) => this.#connected(p), disconnected: (p) => this.#disconnected(p) });
  }

  #now(): number {
    return this.#o.now?.() ?? Math.floor(Date.now() / 1000);
  }

  /** Loads the graph from the store and starts the pruning and broadcast timers and the block watch. */
  async start(): Promise<void> {
    for (const c of await this.#o.store.loadChannels()) {
      const ann = decodeGossipMessage(GossipMessageType.CHANNEL_ANNOUNCEMENT, c.announcement) as ChannelAnnouncement;
      this.graph.addChannel(c.scid, ann.nodeId1.toString('hex'), ann.nodeId2.toString('hex'), c.capacitySat, ann.features);
      this.#outpoints.set(`${c.fundingTxid}:${c.fundingVout}`, c.scid);
      for (const u of c.updates) if (u) this.#applyUpdate(decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, u) as ChannelUpdate);
    }
    for (const n of await this.#o.store.loadNodes()) this.#applyNode(decodeGossipMessage(GossipMessageType.NODE_ANNOUNCEMENT, n.announcement) as NodeAnnouncement);
    if (this.#o.notifier) {
      const listener: BlockListener = { connect: (b) => this.#onBlock(b), disconnect: () => undefined };
      this.#blocks = this.#o.notifier.subscribe(new MemoryTipStore(), listener, {
        name: 'gossip',
        onError: (err) => this.#log.warn({ err: err.message }, 'gossip: block processing failed'),
      });
    }
    this.#timers.push(setInterval(() => this.#broadcast(), this.#limits.broadcastIntervalMs).unref());
    this.#timers.push(setInterval(() => void this.pruneStale().catch(() => undefined), 3600_000).unref());
    await this.pruneStale();
    this.#log.info({ channels: this.graph.channelCount, nodes: this.graph.nodeCount }, 'gossip: graph loaded');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#blocks?.stop();
    await this.#worker.catch(() => undefined);
    await this.#o.store.flush();
  }

  /** Addresses a node announced, as `host:port` (for reconnection and `connect <id>`). */
  /** Funding outpoint (`txid:vout`) → scid of every channel in the graph (LND's chan_point). */
  outpoints(): ReadonlyMap<string, bigint> {
    return this.#outpoints;
  }

  addressesOf(nodeId: string): string[] {
    return (this.graph.nodeInfo(nodeId)?.addresses ?? []).map(formatAddress);
  }

  /** Resolves once every message queued so far is processed (tests). */
  idle(): Promise<void> {
    return this.#worker;
  }

  /** The channel_update payloads held for `scid`, a channel the graph does not have (a peer's private channel). */
  pendingUpdatesOf(scid: bigint): Buffer[] {
    return (this.#pendingUpdates.get(scid) ?? []).map((u) => u.payload);
  }

  /** What the gossip layer holds besides the graph: messages queued, updates waiting, peers ignored. */
  footprint(): { queued: number; pendingUpdates: number; pendingAnnouncements: number; ignoredPeers: number; outbox: number } {
    let queued = 0;
    for (const st of this.#peers.values()) queued += st.queue.length;
    return { queued, pendingUpdates: this.#pendingUpdates.size, pendingAnnouncements: this.#pendingAnnouncements.size, ignoredPeers: this.#ignored.size, outbox: this.#outbox.length };
  }

  isIgnored(peerId: string): boolean {
    const until = this.#ignored.get(peerId);
    return until !== undefined && until > Date.now();
  }

  // -------------------------------------------------------------------------------------------------
  // Peers

  #connected(peer: Peer): void {
    this.#peers.set(peer.id, { peer, queue: [], invalid: 0 });
    this.sync.connected(peer);
  }

  #disconnected(peer: Peer): void {
    const st = this.#peers.get(peer.id);
    if (st?.peer === peer) this.#peers.delete(peer.id);
    this.sync.disconnected(peer);
  }

  #send(peer: Peer, msg: GossipMessage | { type: number; payload: Buffer }): boolean {
    if ('payload' in msg && Buffer.isBuffer(msg.payload)) return peer.send({ type: msg.type, unknown: true, payload: msg.payload });
    return peer.send({ type: msg.type, unknown: true, payload: this.sync.payload(msg as GossipMessage) });
  }

  #onMessage(peer: Peer, m: Message): void {
    if (!isUnknownMessage(m) || this.#stopped) return;
    if (this.isIgnored(peer.id)) {
      this.stats.ignored++;
      return;
    }
    const st = this.#peers.get(peer.id);
    if (st === undefined) return;
    // Queries and filters are answered at once (cheap); announcements queue for the serial worker.
    if (m.type >= GossipMessageType.QUERY_SHORT_CHANNEL_IDS) {
      let msg: GossipMessage;
      try {
        msg = decodeGossipMessage(m.type, m.payload);
      } catch (e) {
        return this.#misbehaved(st, (e as Error).message);
      }
      if (msg.type === GossipMessageType.GOSSIP_TIMESTAMP_FILTER) {
        if (!msg.chainHash.equals(this.#o.chainHash)) return;
        st.filter = { first: msg.firstTimestamp, range: msg.timestampRange };
      }
      this.sync.onQuery(peer, msg);
      return;
    }
    if (m.type === GossipMessageType.ANNOUNCEMENT_SIGNATURES) {
      this.onAnnouncementSignatures?.(peer, m.payload);
      return;
    }
    if (st.queue.length >= this.#limits.maxQueuePerPeer) {
      this.stats.dropped++;
      return;
    }
    st.queue.push({ type: m.type, payload: m.payload });
    if (st.queue.length === 1) this.#worker = this.#worker.then(() => this.#drain(st));
  }

  /** Set by the announcer (our own channels' announcement_signatures). */
  onAnnouncementSignatures: ((peer: Peer, payload: Buffer) => void) | undefined;

  async #drain(st: PeerState): Promise<void> {
    while (st.queue.length > 0 && !this.#stopped) {
      const { type, payload } = st.queue[0]!;
      if (this.isIgnored(st.peer.id)) {
        this.stats.ignored += st.queue.length;
        st.queue.length = 0;
        return;
      }
      let outcome: Outcome;
      let reason = '';
      try {
        [outcome, reason] = await this.#process(type, payload, st.peer.id);
      } catch (e) {
        if (e instanceof WireError) [outcome, reason] = ['invalid', e.message];
        else {
          this.#log.warn({ err: (e as Error).message, peer: st.peer.id }, 'gossip: processing failed');
          outcome = 'ignored';
        }
      }
      st.queue.shift();
      if (outcome === 'invalid') this.#misbehaved(st, reason);
      else if (outcome === 'accepted') this.stats.accepted++;
      // The queue has room again: a sync waiting for it may send its next query.
      if (!this.#stopped) this.sync.roomFreed(st.peer);
    }
  }

  #misbehaved(st: PeerState, reason: string): void {
    this.stats.invalid++;
    st.invalid++;
    this.#log.debug({ peer: st.peer.id, reason }, 'gossip: invalid message');
    if (st.invalid < this.#limits.maxInvalid) return;
    this.#ignored.set(st.peer.id, Date.now() + this.#limits.ignoreMs);
    while (this.#ignored.size > this.#limits.maxIgnored) this.#ignored.delete(this.#ignored.keys().next().value!);
    this.stats.ignored += st.queue.length;
    st.queue.length = 0;
    st.invalid = 0;
    this.#log.warn({ peer: st.peer.id, reason }, 'gossip: peer sent too many invalid messages; ignoring its gossip');
    st.peer.sendWarning(`gossip: too many invalid messages (last: ${reason}); ignoring your gossip for ${Math.round(this.#limits.ignoreMs / 1000)} s`);
  }

  // -------------------------------------------------------------------------------------------------
  // Ingest

  /** Processes one announcement or update; public for our own messages (from = undefined). */
  async #process(type: number, payload: Buffer, from?: string): Promise<[Outcome, string]> {
    const msg = decodeGossipMessage(type, payload);
    switch (msg.type) {
      case GossipMessageType.CHANNEL_ANNOUNCEMENT:
        return this.#onChannelAnnouncement(msg, payload, from);
      case GossipMessageType.CHANNEL_UPDATE:
        return this.#onChannelUpdate(msg, payload, from);
      case GossipMessageType.NODE_ANNOUNCEMENT:
        return this.#onNodeAnnouncement(msg, payload, from);
      default:
        return ['ignored', ''];
    }
  }

  /** Our own announcement or update: checked and taken like a peer's, then forwarded to everyone. */
  async addOwn(type: number, payload: Buffer): Promise<string | undefined> {
    const result = this.#worker.then(() => this.#process(type, payload));
    this.#worker = result.then(() => undefined, () => undefined);
    const [outcome, reason] = await result;
    return outcome === 'invalid' ? reason : undefined;
  }

  async #onChannelAnnouncement(m: ChannelAnnouncement, payload: Buffer, from?: string): Promise<[Outcome, string]> {
    if (this.graph.hasChannel(m.shortChannelId)) return ['known', ''];
    const bad = checkChannelAnnouncement(m, payload, this.#o.chainHash);
    if (bad) return ['invalid', bad];
    const out = await this.#funding.lookup(m.shortChannelId);
    if (typeof out === 'string') return ['invalid', `channel_announcement ${scidToString(m.shortChannelId)}: ${out}`];
    if (!out.script.equals(announcedFundingScript(m))) return ['invalid', `channel_announcement ${scidToString(m.shortChannelId)}: funding output is not the 2-of-2 of its bitcoin keys`];
    await this.#o.store.addChannel({ scid: m.shortChannelId, announcement: payload, fundingTxid: out.txid, fundingVout: out.vout, capacitySat: out.valueSat });
    this.graph.addChannel(m.shortChannelId, m.nodeId1.toString('hex'), m.nodeId2.toString('hex'), out.valueSat, m.features);
    this.#outpoints.set(`${out.txid}:${out.vout}`, m.shortChannelId);
    // Forwarded with its first update (BOLT 7: never an announcement without one).
    this.#pendingAnnouncements.set(m.shortChannelId, { payload, from });
    const waiting = this.#pendingUpdates.get(m.shortChannelId);
    this.#pendingUpdates.delete(m.shortChannelId);
    for (const u of waiting ?? []) await this.#process(u.type, u.payload, u.from).catch(() => undefined);
    return ['accepted', ''];
  }

  readonly #pendingAnnouncements = new Map<bigint, { payload: Buffer; from: string | undefined }>();

  async #onChannelUpdate(m: ChannelUpdate, payload: Buffer, from?: string): Promise<[Outcome, string]> {
    const ch = this.graph.channel(m.shortChannelId);
    if (ch === undefined) {
      if (!m.chainHash.equals(this.#o.chainHash)) return ['ignored', ''];
      if (this.#pendingUpdates.size < this.#limits.maxPendingUpdates || this.#pendingUpdates.has(m.shortChannelId)) {
        const list = this.#pendingUpdates.get(m.shortChannelId) ?? [];
        // The latest four: a peer's update of our private channel is read from here for our invoices' hints.
        if (list.length >= 4) list.shift();
        list.push({ type: m.type, payload, from: from ?? '' });
        this.#pendingUpdates.set(m.shortChannelId, list);
      }
      return ['ignored', ''];
    }
    const dir = (m.channelFlags & 1) as 0 | 1;
    if (m.timestamp <= this.graph.policyTimestamp(m.shortChannelId, dir)) return ['known', ''];
    if (m.timestamp > this.#now() + TWO_WEEKS_S) return ['ignored', ''];
    const bad = checkChannelUpdate(m, payload, this.#o.chainHash, [Buffer.from(ch.node1, 'hex'), Buffer.from(ch.node2, 'hex')], ch.capacitySat * 1000n);
    if (bad) return ['invalid', bad];
    if (m.timestamp < this.#now() - TWO_WEEKS_S) return ['ignored', ''];
    await this.#o.store.setUpdate(m.shortChannelId, dir, payload);
    this.#applyUpdate(m);
    const ann = this.#pendingAnnouncements.get(m.shortChannelId);
    if (ann) {
      this.#pendingAnnouncements.delete(m.shortChannelId);
      this.#outbox.push({ type: GossipMessageType.CHANNEL_ANNOUNCEMENT, payload: ann.payload, timestamp: m.timestamp, from: ann.from });
    }
    this.#outbox.push({ type: m.type, payload, timestamp: m.timestamp, from });
    return ['accepted', ''];
  }

  #applyUpdate(m: ChannelUpdate): void {
    this.graph.setPolicy(m.shortChannelId, m);
  }

  async #onNodeAnnouncement(m: NodeAnnouncement, payload: Buffer, from?: string): Promise<[Outcome, string]> {
    const id = m.nodeId.toString('hex');
    if (!this.graph.hasChannels(id)) return ['ignored', ''];
    if (m.timestamp <= (this.graph.nodeInfo(id)?.timestamp ?? 0)) return ['known', ''];
    const bad = checkNodeAnnouncement(m, payload);
    if (bad) return ['invalid', bad];
    await this.#o.store.setNode(id, payload, m.timestamp);
    this.#applyNode(m);
    this.#outbox.push({ type: m.type, payload, timestamp: m.timestamp, from });
    return ['accepted', ''];
  }

  #applyNode(m: NodeAnnouncement): void {
    let addresses: ReturnType<typeof decodeAddresses> = [];
    try {
      addresses = decodeAddresses(m.addresses);
    } catch {
      // Stored announcements were checked when received.
    }
    const end = m.alias.indexOf(0);
    this.graph.setNodeInfo({
      nodeId: m.nodeId.toString('hex'),
      timestamp: m.timestamp,
      features: m.features,
      alias: m.alias.subarray(0, end < 0 ? 32 : end).toString('utf8'),
      rgb: m.rgbColor.toString('hex'),
      addresses,
    });
  }

  // -------------------------------------------------------------------------------------------------
  // Forwarding and pruning

  /** Sends what was accepted since the last call to each peer whose filter covers it (not back to its sender). */
  #broadcast(): void {
    const out = this.#outbox;
    if (out.length === 0) return;
    this.#outbox = [];
    for (const st of this.#peers.values()) {
      const f = st.filter;
      if (f === undefined) continue;
      for (const m of out) {
        if (m.from === st.peer.id) continue;
        if (m.timestamp < f.first || m.timestamp - f.first >= f.range) continue;
        st.peer.send({ type: m.type, unknown: true, payload: m.payload });
      }
    }
  }

  /** Forwards now (tests and our own announcements). */
  flush(): void {
    this.#broadcast();
  }

  async #onBlock(b: ConnectedBlock): Promise<void> {
    for (const tx of b.block.transactions) {
      for (const i of tx.inputs) {
        const scid = this.#outpoints.get(`${i.txid}:${i.vout}`);
        if (scid === undefined) continue;
        this.#outpoints.delete(`${i.txid}:${i.vout}`);
        await this.removeChannel(scid, `funding spent by ${tx.txid}`);
      }
    }
  }

  /** Drops a channel (and nodes left without channels) from the graph and the store. */
  async removeChannel(scid: bigint, why: string): Promise<void> {
    const ch = this.graph.channel(scid);
    if (ch === undefined) return;
    this.graph.removeChannel(scid);
    await this.#o.store.removeChannel(scid);
    for (const n of [ch.node1, ch.node2]) if (!this.graph.hasChannels(n)) await this.#o.store.removeNode(n);
    this.stats.pruned++;
    this.#log.debug({ scid: scidToString(scid), why }, 'gossip: channel pruned');
  }

  /** Forgets updates older than two weeks; a channel with both directions stale goes. */
  async pruneStale(): Promise<void> {
    const before = this.#now() - TWO_WEEKS_S;
    const stale = this.graph.stalePolicies(before);
    const byScid = new Map<bigint, number>();
    for (const s of stale) byScid.set(s.scid, (byScid.get(s.scid) ?? 0) + 1);
    for (const { scid, direction } of stale) {
      const other = this.graph.policyTimestamp(scid, (1 - direction) as 0 | 1);
      if (byScid.get(scid) === 2 || other === 0) await this.removeChannel(scid, 'updates older than two weeks');
      else {
        this.graph.clearPolicy(scid, direction);
        await this.#o.store.setUpdate(scid, direction, null);
      }
    }
  }
}
