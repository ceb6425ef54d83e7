/**
 * Peer addresses from gossip: B dials A and opens a public channel; once it is announced, A knows B's
 * address only from B's node_announcement (an inbound connection's source port is never stored). B stops
 * dialling (--dev-no-reconnect) and the connection drops: A reconnects to B at the announced address.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scidFromString } from '../../src/gossip/messages.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { onlyChannel } from '../channel/nodes.js';

const btcd = useBtcd('reconnection by gossip address');

describe('reconnection by gossip address', { skip: btcd.skip, timeout: 180_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    if (btcd.skip) return;
    a = await startNode(btcd.node, { extra: ['--dev-chain-poll=100'] });
    b = await startNode(btcd.node, { extra: ['--dev-no-reconnect', '--dev-chain-poll=100', '--alias=bob'] });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('A reconnects to B, which dialled in and stopped dialling, at the address B announced', async () => {
    await fundWallet(btcd.node, b, 2_000_000n);
    await b.node.peers.connect(Buffer.from(a.id, 'hex'), '127.0.0.1', a.port);
    await b.channels.fundChannel({ peerId: a.id, amountSat: 1_000_000n, announce: true });
    await until(() => a.channels.list().length === 1, { what: 'A knows the channel', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => onlyChannel(a).data.state === 'CHANNELD_NORMAL' && onlyChannel(b).data.state === 'CHANNELD_NORMAL', 'both NORMAL');
    const scid = scidFromString(onlyChannel(a).data.shortChannelId!)!;
    await btcd.node.mineUntil(() => a.node.gossip!.graph.nodeInfo(b.id)?.alias === 'bob' && b.node.gossip!.graph.hasChannel(scid), 'announced on both sides', {
      maxBlocks: 10,
      settleMs: 500,
    });
    assert.deepEqual(a.node.gossip!.addressesOf(b.id), [`127.0.0.1:${b.port}`]);
    assert.deepEqual((await a.node.store.peers.get(b.id))?.addresses ?? [], [], 'A stored no address of B: B dialled in');
    // The connection drops; B does not dial again.
    const peer = a.node.peers.peer(b.id)!;
    const dropped = peer.closed;
    await peer.close('test: connection lost');
    await dropped;
    await until(() => a.node.peers.peer(b.id)?.connected && a.node.peers.peer(b.id)?.direction === 'out', { what: 'A dialled B at its announced address', timeoutMs: 30_000 });
    await until(() => onlyChannel(a).data.state === 'CHANNELD_NORMAL' && a.channels.isPeerConnected(b.id), 'channel usable again');
  });
});
