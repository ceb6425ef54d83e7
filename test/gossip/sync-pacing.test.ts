/**
 * Gossip sync under volume, over real BOLT 8 connections between two peer managers (real SQLite stores):
 *
 * - Serving: a peer asking anode for 4,000 scids whose messages (~28 MB, synthetic payloads) far exceed
 *   the default 4 MiB outbound buffer, while it does not read for a while, gets every message and the
 *   `reply_short_channel_ids_end`, and is not cut off: anode's reply waits for its socket to drain.
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

  it('a peer asking for 4,000 scids gets every message with the default outbound buffer and stays connected', async () => {
    const { a, b } = await managers();
    const n = 4000;
    // Synthetic stored gossip (the reply is read from the store, not checked again): ~7 KB per scid.
    const announcement = Buffer.alloc(6000, 0xa1);
    const update = Buffer.alloc(500, 0xb2);
    for (let i = 0; i < n; i++) {
      await a.store.gossip.addChannel({ scid: scid(i), announcement, fundingTxid: '00'.repeat(32), fundingVout: i, capacitySat: 100_000n });
      await a.store.gossip.setUpdate(scid(i), 0, update);
      await a.store.gossip.setUpdate(scid(i), 1, update);
    }
    await a.store.gossip.flush();
    gossipOn(a);
    const toA = await b.manager.connect(a.manager.nodeId, '127.0.0.1', a.port);
    const counts = new Map<number, number>();
    let bytes = 0;
    toA.on('message', (m) => {
      if (!isUnknownMessage(m)) return;
      counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
      bytes += m.payload.length;
    });
    // B stops reading while A answers: without pacing A queues the whole reply and cuts B off.
    toA.conn.socket.pause();
    toA.send(raw({ type: GossipMessageType.QUERY_SHORT_CHANNEL_IDS, chainHash: REGTEST, encodedShortIds: encodeShortIds(Array.from({ length: n }, (_, i) => scid(i)), Encoding.UNCOMPRESSED), extraTlvs: [] } as GossipMessage));
    await sleep(1500);
    toA.conn.socket.resume();
    await until(() => counts.get(GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END) === 1 || !toA.connected, { what: 'the reply end or a disconnect', timeoutMs: 60_000 });
    assert.ok(toA.connected, 'B is still connected');
    assert.ok(a.manager.list().some((p) => p.id === b.manager.nodeId.toString('hex')), 'A still lists B');
    assert.equal(counts.get(GossipMessageType.CHANNEL_ANNOUNCEMENT), n);
    assert.equal(counts.get(GossipMessageType.CHANNEL_UPDATE), 2 * n);
    assert.ok(bytes > 4 * DEFAULT_PEER_OPTIONS.maxOutboundBuffer, `the reply (${bytes} bytes) is several times the default buffer`);
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
