/**
 * Issue 15's reconnection case with real LDK on btcd regtest: LDK dials anode and opens a public channel,
 * then announces its address (node_announcement). anode stored no address for LDK (an inbound
 * connection's source port is not one). LDK drops the connection and, as LDK does, never dials again:
 * anode reconnects to LDK at the address LDK announced, and the channel is usable again on both sides.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { interopGate } from '../interop/adapter.js';
import { startLdkNetwork, type LdkNetwork } from '../interop/ldk-network.js';
import { ldkUnavailableReason, type LdkPeer } from '../interop/peers/ldk.js';
import { useBtcd } from '../harness/btcd.js';
import { until } from '../harness/wait.js';
import { scidFromString } from '../../src/gossip/messages.js';

const gate = interopGate('ldk', 'reconnection to LDK by gossip address', ldkUnavailableReason());
const btcd = useBtcd('reconnection to LDK by gossip address');

describe('reconnection to LDK by its gossip address', { skip: gate.skip || btcd.skip, timeout: 180_000 }, () => {
  let net: LdkNetwork;
  let ldk: LdkPeer;
  before(async () => {
    gate.require();
    net = await startLdkNetwork(btcd.node, { ldk: [{ seed: 0x7e }], anodeDials: [] });
    [ldk] = net.ldk as [LdkPeer];
  });
  after(async () => {
    await net?.stop();
  });

  it('LDK dialled in, announced its address and stopped dialling: anode dials it there', async () => {
    const anode = net.anode;
    const ldkId = ldk.nodeId.toString('hex');
    await ldk.connect('127.0.0.1', anode.port, anode.node.nodeId);
    await until(() => anode.node.peers.peer(ldkId)?.connected, 'LDK connected to anode');
    assert.equal(anode.node.peers.peer(ldkId)!.direction, 'in');
    const { channelId } = await ldk.channels.open({ nodeId: anode.node.nodeId, amountSat: 500_000n, announce: true });
    const ch = await until(() => anode.channels.get(channelId), 'anode has the channel');
    await net.mineUntil(async () => ch.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === channelId && c.state === 'usable'), 'both sides usable');
    const scid = scidFromString(ch.data.shortChannelId!)!;
    await net.mineUntil(() => anode.node.gossip!.graph.hasChannel(scid), 'the channel announced', 8);
    await ldk.broadcastNodeAnnouncement({ alias: 'ldk-dialler', port: net.ports[0]! });
    await until(() => anode.node.gossip!.graph.nodeInfo(ldkId)?.alias === 'ldk-dialler', { what: 'anode has LDK’s node announcement', timeoutMs: 30_000 });
    assert.deepEqual(anode.node.gossip!.addressesOf(ldkId), [`127.0.0.1:${net.ports[0]!}`]);
    assert.deepEqual((await anode.node.store.peers.get(ldkId))?.addresses ?? [], [], 'anode stored no address of LDK: LDK dialled in');
    // LDK drops the connection and does not dial again.
    await ldk.disconnect(anode.node.nodeId);
    await until(async () => !(await ldk.listPeers()).some((p) => p.nodeId === anode.id), 'LDK disconnected');
    await until(() => anode.node.peers.peer(ldkId)?.connected && anode.node.peers.peer(ldkId)?.direction === 'out', { what: 'anode dialled LDK at its announced address', timeoutMs: 60_000 });
    await ldk.waitForPeer(anode.node.nodeId, 10_000);
    assert.equal((await ldk.listPeers()).find((p) => p.nodeId === anode.id)?.inbound, true, 'LDK sees anode dial in');
    await until(async () => ch.usable && (await ldk.channels.list()).some((c) => c.channelId === channelId && c.state === 'usable'), { what: 'the channel usable again on both sides', timeoutMs: 30_000 });
  });
});
