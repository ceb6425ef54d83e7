/**
 * Gossip queries from a peer that does not decode never reach the transport: over a real BOLT 8
 * connection between two peer managers (A with the gossip layer, on a real SQLite store; B sending raw
 * messages), a `reply_channel_range` with a bad zlib stream, a `query_short_channel_ids` whose list is not
 * a multiple of 8 bytes, and random mutations of every query, reply and filter are counted as gossip
 * misbehaviour (`stats.invalid`) while B stays connected — its channels would stay up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { Gossip } from '../../src/gossip/gossip.js';
import { Encoding, encodeShortIds, encodeTimestamps, gossipMessagePayload, GossipMessageType, type GossipMessage } from '../../src/gossip/messages.js';
import type { Peer } from '../../src/peer/peer.js';
import { MessageRouter } from '../../src/peer/router.js';
import { startPeerManager, staticKey, testLogger, type TestPeerManager } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { REGTEST } from './fixtures.js';

const ids = [(100n << 40n) | 1n, (200n << 40n) | (2n << 16n)];

/** One well-formed message of each query type, B to A (zlib-encoded lists where the format allows). */
function samples(): GossipMessage[] {
  const zlibIds = encodeShortIds(ids, Encoding.ZLIB);
  return [
    { type: GossipMessageType.QUERY_SHORT_CHANNEL_IDS, chainHash: REGTEST, encodedShortIds: zlibIds, extraTlvs: [] },
    { type: GossipMessageType.REPLY_SHORT_CHANNEL_IDS_END, chainHash: REGTEST, fullInformation: 1 },
    { type: GossipMessageType.QUERY_CHANNEL_RANGE, chainHash: REGTEST, firstBlocknum: 0, numberOfBlocks: 1000, extraTlvs: [] },
    // Not the end of A's range: A stays in its initial sync with B and keeps decoding B's replies.
    {
      type: GossipMessageType.REPLY_CHANNEL_RANGE,
      chainHash: REGTEST,
      firstBlocknum: 0,
      numberOfBlocks: 1000,
      syncComplete: 1,
      encodedShortIds: zlibIds,
      timestamps: encodeTimestamps(ids.map(() => ({ timestamp1: 1, timestamp2: 2 })), Encoding.ZLIB),
      extraTlvs: [],
    },
    { type: GossipMessageType.GOSSIP_TIMESTAMP_FILTER, chainHash: REGTEST, firstTimestamp: 0, timestampRange: 0xffff_ffff },
  ] as GossipMessage[];
}

describe('gossip queries that do not decode', { timeout: 120_000 }, () => {
  let a: TestPeerManager;
  let b: TestPeerManager;
  let gossip: Gossip;
  let toA: Peer;

  before(async () => {
    a = await startPeerManager();
    b = await startPeerManager({ localKey: staticKey(0x43) });
    // No peer is ignored for its invalid messages here: each one must reach the handler and be counted.
    const router = new MessageRouter(a.manager, testLogger());
    gossip = new Gossip({ router, chain: new MemoryChainSource(), chainHash: REGTEST, store: a.store.gossip, log: testLogger(), limits: { maxInvalid: 1e9 } });
    await gossip.start();
    router.start();
    toA = await b.manager.connect(a.manager.nodeId, '127.0.0.1', a.port);
    // B takes A's answers (reply_short_channel_ids_end is even: unheard, it would end the connection from B's side).
    toA.on('message', () => undefined);
    await until(() => gossip.sync.syncing(b.manager.nodeId.toString('hex')), { what: 'A syncing with B', timeoutMs: 10_000 });
  });
  after(async () => {
    await gossip?.stop();
    await b?.close();
    await a?.close();
  });

  /** Sends `payload` as message `type` to A, then a ping: its pong means A handled the message before it. */
  async function deliver(type: number, payload: Buffer): Promise<void> {
    toA.send({ type, unknown: true, payload });
    await toA.ping(0, 0);
  }

  const connected = (): boolean => toA.connected && a.manager.list().some((p) => p.id === b.manager.nodeId.toString('hex'));

  it('a reply_channel_range with a bad zlib stream is counted, and B stays connected', async () => {
    const reply = samples()[3] as GossipMessage & { encodedShortIds: Buffer };
    const before = gossip.stats.invalid;
    await deliver(reply.type, gossipMessagePayload({ ...reply, encodedShortIds: Buffer.concat([Buffer.of(Encoding.ZLIB), Buffer.from('not a zlib stream')]) } as GossipMessage));
    assert.ok(connected(), 'B still connected');
    assert.equal(gossip.stats.invalid, before + 1, 'counted as misbehaviour');
    // Its timestamps too, and a zlib stream of a list that is not whole u64s.
    await deliver(reply.type, gossipMessagePayload({ ...reply, timestamps: Buffer.concat([Buffer.of(Encoding.ZLIB), Buffer.from([0x78, 0x9c, 1, 2, 3])]) } as GossipMessage));
    await deliver(reply.type, gossipMessagePayload({ ...reply, encodedShortIds: Buffer.concat([Buffer.of(Encoding.ZLIB), deflateSync(Buffer.alloc(7))]) } as GossipMessage));
    assert.ok(connected(), 'B still connected');
    assert.equal(gossip.stats.invalid, before + 3);
    assert.ok(gossip.sync.syncing(b.manager.nodeId.toString('hex')), 'the sync with B goes on');
  });

  it('a query_short_channel_ids whose list is not whole u64s is counted, not answered, and B stays connected', async () => {
    const q = samples()[0] as GossipMessage & { encodedShortIds: Buffer };
    const before = gossip.stats.invalid;
    await deliver(q.type, gossipMessagePayload({ ...q, encodedShortIds: Buffer.concat([Buffer.of(Encoding.UNCOMPRESSED), Buffer.alloc(9)]) } as GossipMessage));
    assert.ok(connected());
    assert.equal(gossip.stats.invalid, before + 1);
  });

  it('property: mutated queries, replies and filters never disconnect B; what does not decode is counted', { timeout: 90_000 }, async () => {
    const payloads = samples().map((m) => ({ type: m.type, payload: gossipMessagePayload(m) }));
    await fc.assert(
      fc.asyncProperty(
        fc.nat(payloads.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        async (which, flips, cut, truncate) => {
          const { type, payload } = payloads[which]!;
          const mutated = Buffer.from(payload);
          // Keep the chain hash (bytes 0–31) so the message reaches the decoders behind it.
          for (const [at, v] of flips) if (mutated.length > 32) mutated[32 + (at % (mutated.length - 32))] = v;
          const sent = truncate ? mutated.subarray(0, cut % (mutated.length + 1)) : mutated;
          const before = gossip.stats.invalid;
          await deliver(type, sent);
          assert.ok(connected(), `B disconnected by a mutated ${type}`);
          assert.ok(gossip.stats.invalid >= before);
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(connected());
  });
});
