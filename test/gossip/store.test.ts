/**
 * The gossip store on real SQLite and PostgreSQL, and the graph rebuilt from it at start: channels, both updates and
 * node announcements come back; updates older than two weeks are dropped (a channel with both
 * directions stale goes, with its nodes' announcements), fresh ones stay.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { Gossip, TWO_WEEKS_S } from '../../src/gossip/gossip.js';
import { MessageRouter } from '../../src/peer/router.js';
import { openStore } from '../../src/store/database.js';
import { startPeerManager, testLogger } from '../harness/daemon.js';
import { forEachBackend } from '../store/backends.js';
import { announce, nodeAnnouncement, REGTEST, update } from './fixtures.js';

forEachBackend('gossip store', ({ location }) => {

  it('keeps the graph across a restart and prunes updates older than two weeks', async () => {
    const now = 2_000_000_000;
    const old = now - TWO_WEEKS_S - 10;
    const store = await openStore(await location());
    const repo = store.gossip;
    const fresh = announce(1n << 40n);
    const stale = announce(2n << 40n);
    const half = announce(3n << 40n);
    for (const [c, t0, t1] of [[fresh, now, now], [stale, old, old], [half, old, now]] as const) {
      await repo.addChannel({ scid: c.scid, announcement: c.payload, fundingTxid: 'aa'.repeat(32), fundingVout: Number(c.scid >> 40n), capacitySat: 500_000n });
      await repo.setUpdate(c.scid, 0, update(c, 0, { timestamp: t0 }).payload);
      await repo.setUpdate(c.scid, 1, update(c, 1, { timestamp: t1 }).payload);
    }
    await repo.setNode(stale.nodes[0].id.toString('hex'), nodeAnnouncement(stale.nodes[0], { timestamp: now }).payload, now);
    await repo.setNode(fresh.nodes[0].id.toString('hex'), nodeAnnouncement(fresh.nodes[0], { alias: 'fresh', timestamp: now }).payload, now);
    const pm = await startPeerManager();
    const gossip = new Gossip({ router: new MessageRouter(pm.manager, testLogger()), chain: new MemoryChainSource(), chainHash: REGTEST, store: repo, log: testLogger(), now: () => now });
    try {
      await gossip.start();
      const g = gossip.graph;
      assert.equal(g.channelCount, 2);
      assert.equal(g.hasChannel(stale.scid), false, 'both directions stale: the channel goes');
      assert.equal(g.channel(fresh.scid)?.capacitySat, 500_000n);
      assert.equal(g.channel(half.scid)?.policies[0], undefined, 'the stale direction is dropped');
      assert.equal(g.channel(half.scid)?.policies[1]?.timestamp, now);
      assert.equal(g.nodeInfo(fresh.nodes[0].id.toString('hex'))?.alias, 'fresh');
      assert.equal(g.nodeInfo(stale.nodes[0].id.toString('hex')), undefined);
      // In the store too.
      assert.equal(await repo.channel(stale.scid), undefined);
      assert.equal((await repo.channel(half.scid))?.updates[0], null);
      assert.equal(await repo.node(stale.nodes[0].id.toString('hex')), undefined);
    } finally {
      await gossip.stop();
      await pm.close();
      await store.close();
    }
  });
});
