/**
 * Gossip sync under volume, over real BOLT 8 connections between two peer managers (real SQLite stores):
 *
 * - Serving: a peer asking anode for 4,000 scids whose messages (~28 MB, synthetic payloads) far exceed
 *   the default 4 MiB outbound buffer, while it does not read for a while, gets every message and the
 *   `reply_short_channel_ids_end`, and is not cut off: anode's reply waits for its socket to drain. The
 *   same for a `gossip_timestamp_filter` from 0 (the replay of every stored channel).
 * - Syncing: anode's `query_short_channel_ids` never ask for more than its per-peer gossip queue can hold,
 *   so a serving peer that answers each query at once in full has nothing of its reply dropped, and every
 *   scid it offered is asked for exactly once.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { Gossip } from '../../src/gossip/gossip.js';
import { decodeGossipMessage, decodeShortIds, Encoding, encodeShortIds, gossipMessagePayload, GossipMessageType, type GossipMessage } from '../../src/gossip/messages.js';
import { MESSAGES_PER_SCID } from '../../src/gossip/sync.js';
import type { Peer } from '../../src/peer/peer.js';
import { MessageRouter } from '../../src/peer/router.js';
import { DEFAULT_PEER_OPTIONS } from '../../src/peer/manager.js';
import { isUnknownMessage } from '../../src/wire/messages.js';
import { startPeerManager, staticKey, testLogger, type TestPeerManager } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';
import { REGTEST } from './fixtures.js';

const scid = (i: number): bigint => (BigInt(100 + Math.floor(i / 1000)) << 40n) | (BigInt(i % 1000) << 16n);
const raw = (m: GossipMessage): { type: number; unknown: true; payload: Buffer } => ({ type: m.type, unknown: true, payload: gossipMessagePayload(m) });

describe('gossip sync under volume', { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function managers(): Promise<{ a: TestPeerManager; b: TestPeerManager }> {
    const a = await startPeerManager();
    cleanup.push(() => a.close());
    const b = await startPeerManager({ localKey: staticKey(0x43) });
    cleanup.push(() => b.close());
    return { a, b };
  }

  function gossipOn(a: TestPeerManager, maxQueuePerPeer?: number): Gossip {
    const router = new MessageRouter(a.manager, testLogger());
    const gossip = new Gossip({ router, chain: new MemoryChainSource(), chainHash: REGTEST, store: a.store.gossip, log: testLogger(), limits: { maxInvalid: 1e9, ...(maxQueuePerPeer ? { maxQueuePerPeer } : {}) } });
    cleanup.push(() => gossip.stop());
    router.start();
    return gossip;
  }

  /**
   * Synthetic stored gossip, ~6 KB per channel (a 6,000-byte features field): decodable, so the graph
   * loads it, but unsigned — replies are read from the store, not checked again.
   */
  async function fillStore(a: TestPeerManager, n: number): Promise<void> {
    const key = (b: number): Buffer => Buffer.concat([Buffer.of(2), Buffer.alloc(32, b)]);
    const sig = Buffer.alloc(64);
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < n; i++) {
      const s = scid(i);
      const announcement = gossipMessagePayload({ type: GossipMessageType.CHANNEL_ANNOUNCEMENT, nodeSignature1: sig, nodeSignature2: sig, bitcoinSignature1: sig, bitcoinSignature2: sig, features: Buffer.alloc(6000), chainHash: REGTEST, shortChannelId: s, nodeId1: key(1), nodeId2: key(2), bitcoinKey1: key(3), bitcoinKey2: key(4) } as GossipMessage);
      await a.store.gossip.addChannel({ scid: s, announcement, fundingTxid: '00'.repeat(32), fundingVout: i, capacitySat: 100_000n });
      for (const d of [0, 1] as const) {
        const u = { type: GossipMessageType.CHANNEL_UPDATE, signature: sig, chainHash: REGTEST, shortChannelId: s, timestamp: now - 600, messageFlags: 1, channelFlags: d, cltvExpiryDelta: 40, htlcMinimumMsat: 1000n, feeBaseMsat: 1000, feeProportionalMillionths: 10, htlcMaximumMsat: 100_000_000n };
        await a.store.gossip.setUpdate(s, d, gossipMessagePayload(u as GossipMessage));
      }
    }
    await a.store.gossip.flush();
  }

  /** B's messages from A, counted by type (and their bytes); B stops reading for 1.5 s after `ask`. */
  async function countWhilePaused(toA: Peer, ask: () => void, end: (counts: Map<number, number>) => boolean): Promise<{ counts: Map<number, number>; bytes: number }> {
    const counts = new Map<number, number>();
    let bytes = 0;
    toA.on('message', (m) => {
      if (!isUnknownMessage(m)) return;
      counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
      bytes += m.payload.length;
    });
    // Without pacing A queues its whole answer meanwhile and cuts B off.
    toA.conn.socket.pause();
    ask();
    await sleep(1500);
    toA.conn.socket.resume();
    await until(() => end(counts) || !toA.connected, { what: 'the whole answer or a disconnect', timeoutMs: 60_000 });
    return { counts, bytes };
  }

  /** B is still connected (on both sides) and got every channel's announcement and two updates: several times the default buffer. */
  function wholeAnswer(a: TestPeerManager, b: TestPeerManager, toA: Peer, n: number, counts: Map<number, number>, bytes: number): void {
    assert.ok(toA.connected, 'B is still connected');
    assert.ok(a.manager.list().some((p) => p.id === b.manager.nodeId.toString('hex')), 'A still lists B');
    assert.equal(counts.get(GossipMessageType.CHANNEL_ANNOUNCEMENT), n);
    assert.equal(counts.get(GossipMessageType.CHANNEL_UPDATE), 2 * n);
    assert.ok(bytes > 4 * DEFAULT_PEER_OPTIONS.maxOutboundBuffer, `the answer (${bytes} bytes) is several times the default buffer`);
  }

  it('a peer asking for 4,000 scids gets every message with the default outbound buffer and stays connected', async () => {
    const { a, b } = await managers();
    const n = 4000;
    await fillStore(a, n);
    gossipOn(a);
    const toA = await b.manager.connect(a.manager.nodeId, '127.0.0.1', a.port);
    const query = raw({ type: GossipMessageType.QUERY_SHORT_CHANNEL_IDS, chainHash: REGTEST, encodedShortIds: encodeShortIds(Array.from({ length: n }, (_, i) => scid(i)), Encoding.UNCOMPRESSED), extraTlvs: [] } as GossipMessage);
    const { counts, bytes } = await countWhilePaused(toA, () => toA.send(query), (c) => c.get(GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END) === 1);
    wholeAnswer(a, b, toA, n, counts, bytes);
  });

  it('a gossip_timestamp_filter from 0 replays every stored channel to a peer that is slow to read, which stays connected', async () => {
    const { a, b } = await managers();
    const n = 3000;
    await fillStore(a, n);
    const gossip = gossipOn(a);
    await gossip.start();
    const toA = await b.manager.connect(a.manager.nodeId, '127.0.0.1', a.port);
    const filter = raw({ type: GossipMessageType.GOSSIP_TIMESTAMP_FILTER, chainHash: REGTEST, firstTimestamp: 0, timestampRange: 0xffff_ffff } as GossipMessage);
    const { counts, bytes } = await countWhilePaused(toA, () => toA.send(filter), (c) => c.get(GossipMessageType.CHANNEL_UPDATE) === 2 * n);
    wholeAnswer(a, b, toA, n, counts, bytes);
  });

  it('our queries ask for no more than the gossip queue holds: nothing of a full reply is dropped, every scid asked once', async () => {
    const { a, b } = await managers();
    const maxQueue = 60;
    const n = 300;
    const offered = Array.from({ length: n }, (_, i) => scid(i));
    const gossip = gossipOn(a, maxQueue);
    const asked: bigint[][] = [];
    // B is a scripted serving peer: all of its range in one reply, and each query answered at once in full
    // (an announcement and two updates per scid, synthetic: A counts them invalid, which is beside the point).
    b.manager.on('connected', (p) => {
      p.on('message', (m) => {
        if (!isUnknownMessage(m)) return;
        const q = m.type >= GossipMessageType.QUERY_SHORT_CHANNEL_IDS ? decodeGossipMessage(m.type, m.payload) : undefined;
        if (q?.type === GossipMessageType.QUERY_CHANNEL_RANGE) {
          p.send(raw({ type: GossipMessageType.REPLY_CHANNEL_RANGE, chainHash: REGTEST, firstBlocknum: 0, numberOfBlocks: 0xffff_ffff, syncComplete: 1, encodedShortIds: encodeShortIds(offered, Encoding.UNCOMPRESSED), extraTlvs: [] } as GossipMessage));
        } else if (q?.type === GossipMessageType.QUERY_SHORT_CHANNEL_IDS) {
          const ids = decodeShortIds(q.encodedShortIds);
          asked.push(ids);
          for (let i = 0; i < ids.length; i++) {
            p.send({ type: GossipMessageType.CHANNEL_ANNOUNCEMENT, unknown: true, payload: Buffer.alloc(300, 1) });
            p.send({ type: GossipMessageType.CHANNEL_UPDATE, unknown: true, payload: Buffer.alloc(130, 2) });
            p.send({ type: GossipMessageType.CHANNEL_UPDATE, unknown: true, payload: Buffer.alloc(130, 3) });
          }
          p.send(raw({ type: GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END, chainHash: REGTEST, fullInformation: 1 } as GossipMessage));
        }
      });
    });
    const toA = await b.manager.connect(a.manager.nodeId, '127.0.0.1', a.port);
    const bId = b.manager.nodeId.toString('hex');
    await until(() => gossip.sync.completed.has(bId) || !toA.connected, { what: "A's sync with B", timeoutMs: 60_000 });
    assert.ok(gossip.sync.completed.has(bId), 'the sync completed');
    assert.equal(gossip.stats.dropped, 0, 'nothing dropped at the per-peer queue');
    assert.deepEqual(asked.flat().sort((x, y) => (x < y ? -1 : 1)), offered, 'every offered scid asked for exactly once');
    assert.ok(asked.length > 1 && asked.every((q) => q.length * MESSAGES_PER_SCID <= maxQueue), `each query fits the queue (${asked.map((q) => q.length).join(', ')})`);
  });
});
