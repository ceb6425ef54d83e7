/**
 * Our own gossip: the `announcement_signatures` exchange for our public channels once their funding is
 * 6 blocks deep (BOLT 7), the `channel_announcement` built from both sides' signatures, our
 * `channel_update` for each announced channel and our `node_announcement` (alias, colour, addresses),
 * all taken through the same checks as a peer's (`Gossip.addOwn`) and forwarded. Updates and the node
 * announcement are re-signed with a fresh timestamp before two weeks pass, so they are never pruned.
 * Every channel's update (private ones, and public ones not yet announced) also goes to its peer
 * directly when the channel becomes usable and after every channel_reestablish (`sendToPeer`): the
 * peer of a private channel learns our fees only so, and builds its invoices' route hints from them.
 *
 * The channel layer is seen through {@link OwnChannel} only (built by the node from its channels).
 */
import type { Logger } from 'pino';
import type { ChainNotifier, Subscription } from '../chain/notifier.js';
import { MemoryTipStore } from '../chain/notifier.js';
import { secp } from '../crypto/secp256k1.js';
import type { Peer } from '../peer/peer.js';
import type { PolicyRepository, StoredPolicy } from '../store/policies.js';
import type { MessageRouter } from '../peer/router.js';
import { encodeAddresses } from './address.js';
import type { Gossip } from './gossip.js';
import {
  decodeGossipMessage,
  gossipMessagePayload,
  GossipMessageType,
  scidToString,
  type AnnouncementSignatures,
  type ChannelAnnouncement,
  type GossipMessage,
} from './messages.js';
import { channelAnnouncementDigest, signChannelUpdate, signNodeAnnouncement } from './validate.js';

/** BOLT 7: announcement_signatures only once the funding transaction has this many confirmations. */
export const ANNOUNCE_DEPTH = 6;
/** Our update and node announcement are refreshed when older than this (half the pruning age). */
const REFRESH_S = 7 * 24 * 3600;

export interface OwnChannel {
  channelId: Buffer;
  peerId: string;
  scid: bigint;
  /** Confirmations of the funding transaction. */
  confirmations: number;
  localFundingPubkey: Buffer;
  remoteFundingPubkey: Buffer;
  /** Signs a digest with our funding key. */
  signFunding(digest: Buffer): Buffer;
  capacitySat: bigint;
  /** What the peer accepts from us: the limits our channel_update announces. */
  htlcMinimumMsat: bigint;
  htlcMaximumMsat: bigint;
}

/** The fees (and CLTV delta) in force before the last change, still honoured until `until` (unix s). */
export interface PreviousPolicy {
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
  until: number;
}

/**
 * What we charge to forward out of a channel and the limits we announce for it. `htlcMinimumMsat` and
 * `htlcMaximumMsat` are what was set (undefined: the channel's own limits, which also bind).
 * `previous` is present while an older fee is still honoured (CLN's `setchannel … enforcedelay`): an
 * HTLC paying what `previous` asks is forwarded until `previous.until`.
 */
export interface ForwardingPolicy {
  cltvExpiryDelta: number;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  htlcMinimumMsat?: bigint;
  htlcMaximumMsat?: bigint;
  previous?: PreviousPolicy;
}

/** The largest HTLC a channel can carry out: the capacity, or less if the peer takes less in flight. */
export function htlcCeiling(ch: OwnChannel): bigint {
  return ch.htlcMaximumMsat < ch.capacitySat * 1000n ? ch.htlcMaximumMsat : ch.capacitySat * 1000n;
}

/** lightningd's defaults (fee-base 1000 msat, fee-per-satoshi 10, cltv-delta 34). */
export const DEFAULT_POLICY: ForwardingPolicy = { cltvExpiryDelta: 34, feeBaseMsat: 1000, feeProportionalMillionths: 10 };

/** A change of policy: what is given replaces, what is absent stays. */
export interface PolicyChange {
  feeBaseMsat?: number;
  feeProportionalMillionths?: number;
  cltvExpiryDelta?: number;
  htlcMinimumMsat?: bigint;
  htlcMaximumMsat?: bigint;
  ignoreFeeLimits?: boolean;
  /** Seconds the old fees stay honoured (CLN's enforcedelay; 0: at once). */
  enforceDelayS?: number;
}

/** One channel's policy after a change, with the limits as announced (clamped to the channel's). */
export interface AppliedPolicy {
  channel: OwnChannel;
  policy: ForwardingPolicy;
  ignoreFeeLimits: boolean;
  /** The htlc_minimum_msat / htlc_maximum_msat in the channel_update signed. */
  htlcMinimumMsat: bigint;
  htlcMaximumMsat: bigint;
  /** Set when what was asked was out of the channel's range and was clamped (CLN's warnings). */
  minClamped: boolean;
  maxClamped: boolean;
}

export interface AnnouncerOptions {
  gossip: Gossip;
  router: MessageRouter;
  notifier?: ChainNotifier;
  chainHash: Buffer;
  nodeId: Buffer;
  /** Signs a digest with the node key. */
  signNode(digest: Buffer): Buffer;
  /** Our public channels in normal operation (private ones are never announced). */
  ownChannels(): OwnChannel[];
  alias: string;
  /** 3 bytes. */
  rgb: Buffer;
  /** Our node features (BOLT 9 context N). */
  features?: Buffer;
  /** `host:port` strings to announce (computed when announcing: listeners may bind port 0). */
  addresses(): string[];
  /** Every channel's policy until one is set for it (--fee-base, …); DEFAULT_POLICY if absent. */
  policy?: ForwardingPolicy;
  /** Where per-channel policies are kept (loaded at start; written before an update is signed). */
  policies?: PolicyRepository;
  /** Every channel in normal operation with an scid, private ones too (updates sent to the peer only). */
  allChannels?(): OwnChannel[];
  log: Logger;
  now?: () => number;
}

export class Announcer {
  readonly #o: AnnouncerOptions;
  readonly #policy: ForwardingPolicy;
  /** Per-channel policies set by setchannel/UpdateChannelPolicy, by channel id (hex). */
  readonly #set = new Map<string, StoredPolicy>();
  /** Our latest signed channel_update per channel (hex id), as sent to the peer and into gossip. */
  readonly #signed = new Map<string, Buffer>();
  readonly #peers = new Map<string, Peer>();
  /** `peer:scid` whose announcement_signatures we sent on the current connection. */
  readonly #sent = new Set<string>();
  /** Their announcement_signatures received before our funding was deep enough, by channel id. */
  readonly #early = new Map<string, AnnouncementSignatures>();
  #lastTimestamp = 0;
  #blocks: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> = Promise.resolve();

  constructor(o: AnnouncerOptions) {
    this.#o = o;
    this.#policy = o.policy ?? DEFAULT_POLICY;
    o.gossip.onAnnouncementSignatures = (peer, payload) => this.#queue(() => this.#onSignatures(peer, payload));
    o.router.watch({
      connected: (p) => {
        this.#peers.set(p.id, p);
        this.#queue(() => this.tick());
      },
      disconnected: (p) => {
        if (this.#peers.get(p.id) === p) this.#peers.delete(p.id);
        for (const k of [...this.#sent]) if (k.startsWith(`${p.id}:`)) this.#sent.delete(k);
      },
    });
  }

  #now(): number {
    return this.#o.now?.() ?? Math.floor(Date.now() / 1000);
  }

  /** A timestamp after every one we used (two updates in one second must still be newer). */
  #timestamp(): number {
    this.#lastTimestamp = Math.max(this.#now(), this.#lastTimestamp + 1);
    return this.#lastTimestamp;
  }

  #queue(fn: () => Promise<void>): void {
    this.#busy = this.#busy.then(fn).catch((e: Error) => this.#o.log.warn({ err: e.message }, 'gossip: announcing failed'));
  }

  /** Loads the per-channel policies (before start: policyOf answers from them). */
  async load(): Promise<void> {
    for (const p of (await this.#o.policies?.list()) ?? []) this.#set.set(p.channelId, p);
  }

  /**
   * What we charge to forward out of `channelId` (Buffer or hex): its own policy if one was set, else
   * the node's. `previous` is there only while it is still honoured.
   */
  policyOf(channelId: Buffer | string): ForwardingPolicy {
    const id = typeof channelId === 'string' ? channelId : channelId.toString('hex');
    const p = this.#set.get(id);
    if (p === undefined) return this.#policy;
    const out: ForwardingPolicy = { cltvExpiryDelta: p.cltvExpiryDelta, feeBaseMsat: p.feeBaseMsat, feeProportionalMillionths: p.feeProportionalMillionths };
    const min = p.htlcMinimumMsat ?? this.#policy.htlcMinimumMsat;
    const max = p.htlcMaximumMsat ?? this.#policy.htlcMaximumMsat;
    if (min !== undefined) out.htlcMinimumMsat = min;
    if (max !== undefined) out.htlcMaximumMsat = max;
    if (p.previous !== undefined && p.previous.until > this.#now()) out.previous = p.previous;
    return out;
  }

  /** Whether setchannel's ignorefeelimits was set for the channel. */
  ignoresFeeLimits(channelId: Buffer | string): boolean {
    return this.#set.get(typeof channelId === 'string' ? channelId : channelId.toString('hex'))?.ignoreFeeLimits ?? false;
  }

  /** Our latest signed channel_update for a channel (payload, without the type), if one was made. */
  channelUpdateOf(channelId: Buffer | string): Buffer | undefined {
    return this.#signed.get(typeof channelId === 'string' ? channelId : channelId.toString('hex'));
  }

  /** Our channels a policy applies to: public and private, in normal operation with an scid. */
  channels(): OwnChannel[] {
    return this.#o.allChannels?.() ?? this.#o.ownChannels();
  }

  /**
   * Sets the policy of `channels`: written (one transaction) before anything is signed, then a new
   * channel_update, newer than any before, sent to each channel's peer and, for announced channels,
   * into gossip.
   */
  async setPolicy(channels: OwnChannel[], change: PolicyChange): Promise<AppliedPolicy[]> {
    const now = this.#now();
    const stored: StoredPolicy[] = [];
    const applied: AppliedPolicy[] = [];
    for (const ch of channels) {
      const id = ch.channelId.toString('hex');
      const old = this.policyOf(id);
      const before = this.#set.get(id);
      const delay = change.enforceDelayS ?? 0;
      const feesChange =
        (change.feeBaseMsat !== undefined && change.feeBaseMsat !== old.feeBaseMsat) ||
        (change.feeProportionalMillionths !== undefined && change.feeProportionalMillionths !== old.feeProportionalMillionths) ||
        (change.cltvExpiryDelta !== undefined && change.cltvExpiryDelta !== old.cltvExpiryDelta);
      const previous = feesChange && delay > 0
        ? { feeBaseMsat: old.feeBaseMsat, feeProportionalMillionths: old.feeProportionalMillionths, cltvExpiryDelta: old.cltvExpiryDelta, until: now + delay }
        : feesChange ? undefined : before?.previous;
      const p: StoredPolicy = {
        channelId: id,
        feeBaseMsat: change.feeBaseMsat ?? old.feeBaseMsat,
        feeProportionalMillionths: change.feeProportionalMillionths ?? old.feeProportionalMillionths,
        cltvExpiryDelta: change.cltvExpiryDelta ?? old.cltvExpiryDelta,
        htlcMinimumMsat: change.htlcMinimumMsat ?? before?.htlcMinimumMsat,
        htlcMaximumMsat: change.htlcMaximumMsat ?? before?.htlcMaximumMsat,
        ignoreFeeLimits: change.ignoreFeeLimits ?? before?.ignoreFeeLimits ?? false,
        previous,
        updatedAt: now,
      };
      stored.push(p);
    }
    await this.#o.policies?.put(stored);
    for (const p of stored) this.#set.set(p.channelId, p);
    for (const ch of channels) {
      const policy = this.policyOf(ch.channelId);
      const limits = this.limitsOf(ch);
      applied.push({ channel: ch, policy, ignoreFeeLimits: this.ignoresFeeLimits(ch.channelId), ...limits });
    }
    await new Promise<void>((resolve) => this.#queue(async () => {
      try {
        for (const ch of channels) await this.#update(ch);
        this.#o.gossip.flush();
      } finally {
        resolve();
      }
    }));
    return applied;
  }

  /**
   * Sends our channel_update for `channelId` (hex) to its peer: when the channel becomes usable and on
   * every reestablish (BOLT 7: the peer of an unannounced channel learns our fees only so; an announced
   * one's before it is 6 deep). The update signed last is sent again, or one is signed if none was yet
   * — except for a channel whose update from us the graph already holds (the peer has it by gossip; a
   * restart does not re-sign it, which would spend the peers' update rate limits).
   */
  sendToPeer(channelId: string): void {
    this.#queue(async () => {
      const ch = this.channels().find((c) => c.channelId.toString('hex') === channelId);
      const peer = ch && this.#peers.get(ch.peerId);
      if (ch === undefined || peer === undefined) return;
      const signed = this.#signed.get(channelId);
      if (signed !== undefined) peer.send({ type: GossipMessageType.CHANNEL_UPDATE, unknown: true, payload: signed });
      else if (this.#o.gossip.graph.policyTimestamp(ch.scid, this.#direction(ch)) === 0) await this.#update(ch);
    });
  }

  /** The HTLC limits our update announces: what was set, within what the peer and the channel allow. */
  limitsOf(ch: OwnChannel): { htlcMinimumMsat: bigint; htlcMaximumMsat: bigint; minClamped: boolean; maxClamped: boolean } {
    const p = this.policyOf(ch.channelId);
    const cap = htlcCeiling(ch);
    const wantMin = p.htlcMinimumMsat ?? ch.htlcMinimumMsat;
    const wantMax = p.htlcMaximumMsat ?? cap;
    const min = wantMin < ch.htlcMinimumMsat ? ch.htlcMinimumMsat : wantMin;
    const max = wantMax > cap ? cap : wantMax;
    return { htlcMinimumMsat: min, htlcMaximumMsat: max, minClamped: min !== wantMin, maxClamped: max !== wantMax };
  }

  start(): void {
    if (this.#o.notifier) {
      this.#blocks = this.#o.notifier.subscribe(new MemoryTipStore(), { connect: () => this.#queue(() => this.tick()), disconnect: () => undefined }, { name: 'announcer' });
    }
    this.#timer = setInterval(() => this.#queue(() => this.tick()), 3600_000).unref();
    this.#queue(() => this.tick());
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#blocks?.stop();
    await this.#busy;
  }

  /** Resolves when the work queued so far is done (tests). */
  idle(): Promise<void> {
    return this.#busy;
  }

  /** Sends our signatures for each deep public channel not yet in the graph; refreshes what is getting old. */
  async tick(): Promise<void> {
    const graph = this.#o.gossip.graph;
    let announced = false;
    for (const ch of this.#o.ownChannels()) {
      if (ch.confirmations < ANNOUNCE_DEPTH) continue;
      const peer = this.#peers.get(ch.peerId);
      if (!graph.hasChannel(ch.scid)) {
        if (peer) this.#sendSignatures(peer, ch);
        const early = this.#early.get(ch.channelId.toString('hex'));
        if (early && peer) await this.#onSignatures(peer, gossipMessagePayload(early));
        continue;
      }
      announced = true;
      const dir = this.#direction(ch);
      const row = graph.row(ch.scid)!;
      const mine = graph.policy(row, dir);
      if (mine === undefined || mine.timestamp < this.#now() - REFRESH_S) await this.#update(ch);
    }
    const me = this.#o.gossip.graph.nodeInfo(this.#o.nodeId.toString('hex'));
    if (announced && (me === undefined || me.timestamp < this.#now() - REFRESH_S)) await this.#nodeAnnouncement();
  }

  #direction(ch: OwnChannel): 0 | 1 {
    return Buffer.compare(this.#o.nodeId, Buffer.from(ch.peerId, 'hex')) < 0 ? 0 : 1;
  }

  #unsigned(ch: OwnChannel): Omit<ChannelAnnouncement, 'nodeSignature1' | 'nodeSignature2' | 'bitcoinSignature1' | 'bitcoinSignature2'> {
    const first = this.#direction(ch) === 0;
    const them = Buffer.from(ch.peerId, 'hex');
    return {
      type: GossipMessageType.CHANNEL_ANNOUNCEMENT,
      features: Buffer.alloc(0),
      chainHash: this.#o.chainHash,
      shortChannelId: ch.scid,
      nodeId1: first ? this.#o.nodeId : them,
      nodeId2: first ? them : this.#o.nodeId,
      bitcoinKey1: first ? ch.localFundingPubkey : ch.remoteFundingPubkey,
      bitcoinKey2: first ? ch.remoteFundingPubkey : ch.localFundingPubkey,
    };
  }

  #sendSignatures(peer: Peer, ch: OwnChannel): void {
    const key = `${peer.id}:${ch.scid}`;
    if (this.#sent.has(key)) return;
    this.#sent.add(key);
    const h = channelAnnouncementDigest(this.#unsigned(ch));
    const msg: GossipMessage = {
      type: GossipMessageType.ANNOUNCEMENT_SIGNATURES,
      channelId: ch.channelId,
      shortChannelId: ch.scid,
      nodeSignature: this.#o.signNode(h),
      bitcoinSignature: ch.signFunding(h),
    };
    peer.send({ type: msg.type, unknown: true, payload: gossipMessagePayload(msg) });
    this.#o.log.info({ peer: peer.id, scid: scidToString(ch.scid) }, 'gossip: announcement_signatures sent');
  }

  async #onSignatures(peer: Peer, payload: Buffer): Promise<void> {
    let m: AnnouncementSignatures;
    try {
      m = decodeGossipMessage(GossipMessageType.ANNOUNCEMENT_SIGNATURES, payload) as AnnouncementSignatures;
    } catch (e) {
      peer.sendWarning(`announcement_signatures: ${(e as Error).message}`);
      return;
    }
    const ch = this.#o.ownChannels().find((c) => c.channelId.equals(m.channelId) && c.peerId === peer.id);
    if (ch === undefined) return; // a private, closed or unknown channel: BOLT 7 allows ignoring it
    if (ch.confirmations < ANNOUNCE_DEPTH) {
      this.#early.set(ch.channelId.toString('hex'), m);
      return;
    }
    this.#early.delete(ch.channelId.toString('hex'));
    if (m.shortChannelId !== ch.scid) {
      peer.sendWarning(`announcement_signatures: short_channel_id ${scidToString(m.shortChannelId)} is not ${scidToString(ch.scid)}`);
      return;
    }
    const unsigned = this.#unsigned(ch);
    const h = channelAnnouncementDigest(unsigned);
    if (!secp.verify(h, Buffer.from(peer.id, 'hex'), m.nodeSignature) || !secp.verify(h, ch.remoteFundingPubkey, m.bitcoinSignature)) {
      peer.sendWarning('announcement_signatures: bad signature');
      return;
    }
    this.#sendSignatures(peer, ch);
    if (this.#o.gossip.graph.hasChannel(ch.scid)) return;
    const ours = { node: this.#o.signNode(h), bitcoin: ch.signFunding(h) };
    const first = this.#direction(ch) === 0;
    const ann: ChannelAnnouncement = {
      ...unsigned,
      nodeSignature1: first ? ours.node : m.nodeSignature,
      nodeSignature2: first ? m.nodeSignature : ours.node,
      bitcoinSignature1: first ? ours.bitcoin : m.bitcoinSignature,
      bitcoinSignature2: first ? m.bitcoinSignature : ours.bitcoin,
    };
    const bad = await this.#o.gossip.addOwn(GossipMessageType.CHANNEL_ANNOUNCEMENT, gossipMessagePayload(ann));
    if (bad) {
      this.#o.log.warn({ scid: scidToString(ch.scid), reason: bad }, 'gossip: our channel_announcement was refused');
      return;
    }
    this.#o.log.info({ scid: scidToString(ch.scid) }, 'gossip: channel announced');
    await this.#update(ch);
    await this.#nodeAnnouncement();
    this.#o.gossip.flush();
  }

  async #update(ch: OwnChannel): Promise<void> {
    const policy = this.policyOf(ch.channelId);
    const { htlcMinimumMsat, htlcMaximumMsat } = this.limitsOf(ch);
    const dir = this.#direction(ch);
    // Strictly newer than what the graph holds (a restart forgets #lastTimestamp).
    this.#lastTimestamp = Math.max(this.#lastTimestamp, this.#o.gossip.graph.policyTimestamp(ch.scid, dir));
    const { payload } = signChannelUpdate(
      {
        type: GossipMessageType.CHANNEL_UPDATE,
        chainHash: this.#o.chainHash,
        shortChannelId: ch.scid,
        timestamp: this.#timestamp(),
        messageFlags: 1,
        channelFlags: dir,
        cltvExpiryDelta: policy.cltvExpiryDelta,
        htlcMinimumMsat,
        feeBaseMsat: policy.feeBaseMsat,
        feeProportionalMillionths: policy.feeProportionalMillionths,
        htlcMaximumMsat,
      },
      (d) => this.#o.signNode(d),
    );
    this.#signed.set(ch.channelId.toString('hex'), payload);
    if (this.#o.gossip.graph.hasChannel(ch.scid)) {
      const bad = await this.#o.gossip.addOwn(GossipMessageType.CHANNEL_UPDATE, payload);
      if (bad) this.#o.log.warn({ scid: scidToString(ch.scid), reason: bad }, 'gossip: our channel_update was refused');
    }
    // The peer hears it directly too (BOLT 7: a private channel's update goes only to its peer).
    this.#peers.get(ch.peerId)?.send({ type: GossipMessageType.CHANNEL_UPDATE, unknown: true, payload });
  }

  async #nodeAnnouncement(): Promise<void> {
    const alias = Buffer.alloc(32);
    alias.write(this.#o.alias, 'utf8');
    const { payload } = signNodeAnnouncement(
      {
        type: GossipMessageType.NODE_ANNOUNCEMENT,
        features: this.#o.features ?? Buffer.alloc(0),
        timestamp: this.#timestamp(),
        nodeId: this.#o.nodeId,
        rgbColor: this.#o.rgb,
        alias,
        addresses: encodeAddresses(this.#o.addresses()),
      },
      (d) => this.#o.signNode(d),
    );
    const bad = await this.#o.gossip.addOwn(GossipMessageType.NODE_ANNOUNCEMENT, payload);
    if (bad) this.#o.log.warn({ reason: bad }, 'gossip: our node_announcement was refused');
  }
}
