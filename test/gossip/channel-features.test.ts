/**
 * CLN's `listchannels` `features` is the channel_announcement's features (here odd bits 9 and 15) (a required field in CLN's
 * schema), not a constant '': a channel announced with features, kept in the real SQLite gossip store,
 * shows them after the graph is rebuilt from the store at start; a channel announced without shows ''.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { Gossip } from '../../src/gossip/gossip.js';
import { scidToString } from '../../src/gossip/messages.js';
import { MessageRouter } from '../../src/peer/router.js';
import { listchannels } from '../../src/rpc/cln/methods/graph.js';
import type { CallContext } from '../../src/rpc/cln/method.js';
import { startPeerManager, testLogger } from '../harness/daemon.js';
import { announce, REGTEST, testNode, update } from './fixtures.js';

describe('listchannels features', () => {
  it("are the announcement's, kept through the store", async () => {
    const now = 2_000_000_000;
    const pm = await startPeerManager();
    const repo = pm.store.gossip;
    const featured = announce(7n << 40n, testNode(), testNode(), [testNode(), testNode()], REGTEST, Buffer.from([0x02, 0x80]));
    const plain = announce(8n << 40n);
    for (const c of [featured, plain]) {
      await repo.addChannel({ scid: c.scid, announcement: c.payload, fundingTxid: 'aa'.repeat(32), fundingVout: 0, capacitySat: 100_000n });
      await repo.setUpdate(c.scid, 0, update(c, 0, { timestamp: now }).payload);
    }
    const gossip = new Gossip({ router: new MessageRouter(pm.manager, testLogger()), chain: new MemoryChainSource(), chainHash: REGTEST, store: repo, log: testLogger(), now: () => now });
    try {
      await gossip.start();
      const ctx = { core: { graph: gossip.graph } } as unknown as CallContext;
      const list = async (scid: bigint) => ((await listchannels.run!({ short_channel_id: scidToString(scid) }, ctx)) as { channels: { features: string }[] }).channels.map((c) => c.features);
      assert.deepEqual(await list(featured.scid), ['0280']);
      assert.deepEqual(await list(plain.scid), ['']);
    } finally {
      await gossip.stop();
      await pm.close();
    }
  });
});
