/**
 * Updates of a channel the graph does not have (a peer's side of our private channel, sent to us
 * directly) are held, the latest four: the fifth and later ones replace the oldest, so what our invoices'
 * route hints read (`pendingUpdatesOf`, payment/route-hints.ts) follows the peer's fee changes.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { Gossip } from '../../src/gossip/gossip.js';
import { decodeGossipMessage, GossipMessageType, type ChannelUpdate } from '../../src/gossip/messages.js';
import { MessageRouter } from '../../src/peer/router.js';
import { startPeerManager, testLogger } from '../harness/daemon.js';
import { announce, REGTEST, update } from './fixtures.js';

it('a private channel’s updates: the latest four are held', async () => {
  const pm = await startPeerManager();
  const gossip = new Gossip({ router: new MessageRouter(pm.manager, testLogger()), chain: new MemoryChainSource(), chainHash: REGTEST, store: pm.store.gossip, log: testLogger() });
  try {
    await gossip.start();
    const ch = announce(9n << 40n); // never announced to the graph: only its updates arrive
    for (let fee = 1; fee <= 6; fee++) await gossip.addOwn(GossipMessageType.CHANNEL_UPDATE, update(ch, 0, { feeBaseMsat: fee, timestamp: 1_000 + fee }).payload);
    const held = gossip.pendingUpdatesOf(ch.scid).map((p) => (decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, p) as ChannelUpdate).feeBaseMsat);
    assert.deepEqual(held, [3, 4, 5, 6]);
  } finally {
    await gossip.stop();
    await pm.close();
  }
});
