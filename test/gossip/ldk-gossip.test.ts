/**
 * anode and real LDK (its P2PGossipSync and NetworkGraph) on btcd regtest exchange gossip both ways: a
 * public channel anode opens to LDK is announced at 6 confirmations (announcement_signatures both ways),
 * each lists it and the other's node announcement (alias), and after a cooperative close the channel
 * disappears from both graphs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { interopGate } from '../interop/adapter.js';
import { ldkUnavailableReason, type LdkPeer } from '../interop/peers/ldk.js';
import { startLdkNetwork, type LdkNetwork } from '../interop/ldk-network.js';
import { useBtcd } from '../harness/btcd.js';
import type { TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { scidFromString, scidToString } from '../../src/gossip/messages.js';
import type { Channel } from '../../src/channel/channel.js';
import { encodeGossipMessage } from '../../src/gossip/messages.js';
import { staticKey } from '../harness/daemon.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { announce } from './fixtures.js';

const gate = interopGate('ldk', 'anode ↔ LDK gossip', ldkUnavailableReason());
const btcd = useBtcd('anode ↔ LDK gossip');

describe('anode ↔ LDK gossip', { skip: gate.skip || btcd.skip, timeout: 240_000 }, () => {
  let net: LdkNetwork;
  let ldk: LdkPeer;
  let anode: TestNode;
  let ldkPort: number;
  let ch: Channel;

  before(async () => {
    gate.require();
    net = await startLdkNetwork(btcd.node, { ldk: [{ seed: 0x67 }], anodeExtra: ['--alias=anode-gossip', '--rgb=0a0b0c'], fundSat: 3_000_000n });
    [ldk] = net.ldk as [LdkPeer];
    anode = net.anode;
    ldkPort = net.ports[0]!;
  });
  after(async () => {
    await net?.stop();
  });

  const follow = (): Promise<void> => net.follow();

  it('a public channel is announced at 6 confirmations and each side lists it with the other’s node announcement', async () => {
    await ldk.channels.followChain();
    const r = await anode.channels.fundChannel({ peerId: ldk.nodeId.toString('hex'), amountSat: 600_000n, announce: true });
    ch = anode.channels.get(r.channelId)!;
    await btcd.node.mineUntil(async () => ch.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === ch.id && c.state === 'usable'), 'both sides usable', {
      maxBlocks: 6,
      settleMs: 300,
      follow,
    });
    const scid = scidFromString(ch.data.shortChannelId!)!;
    const gossip = anode.node.gossip!;
    await btcd.node.mineUntil(() => gossip.graph.hasChannel(scid), 'anode announced the channel', { maxBlocks: 8, settleMs: 500, follow });
    // LDK's node_announcement (it needs the public channel first), then both graphs.
    await until(async () => (await ldk.networkGraph()).channels.some((c) => c.scid === scidToString(scid)), { what: 'LDK lists the channel', timeoutMs: 30_000 });
    await ldk.broadcastNodeAnnouncement({ alias: 'ldk-gossip', port: ldkPort });
    const ldkId = ldk.nodeId.toString('hex');
    await until(() => gossip.graph.nodeInfo(ldkId)?.alias === 'ldk-gossip', { what: 'anode has LDK’s node announcement', timeoutMs: 30_000 });
    assert.deepEqual(gossip.addressesOf(ldkId), [`127.0.0.1:${ldkPort}`]);
    const info = gossip.graph.channel(scid)!;
    assert.equal(info.capacitySat, 600_000n);
    assert.ok(info.policies[0] && info.policies[1], 'both directions have a channel_update (ours and LDK’s)');
    await until(async () => (await ldk.networkGraph()).nodes.some((n) => n.id === anode.id && n.alias === 'anode-gossip'), { what: 'LDK has anode’s node announcement', timeoutMs: 30_000 });
  });

  it('a peer flooding invalid announcements is warned and ignored, memory back to baseline, while LDK’s gossip still goes through', async () => {
    const gossip = anode.node.gossip!;
    const baseline = gossip.footprint();
    const spammerKey = staticKey(0x5a);
    const spammer = await ScriptedPeer.dial(anode.port, spammerKey, anode.node.nodeId);
    spammer.sendInit();
    const spammerId = spammerKey.publicKey.toString('hex');
    await until(() => anode.node.peers.peer(spammerId), 'spammer connected');
    const scid = scidFromString(ch.data.shortChannelId!)!;
    for (let i = 0; i < 2000; i++) {
      const bogus = announce(scid + BigInt(i + 1));
      bogus.msg.bitcoinSignature2 = Buffer.alloc(64, 1);
      spammer.sendRaw(encodeGossipMessage(bogus.msg));
    }
    await until(() => gossip.isIgnored(spammerId), 'spammer ignored');
    assert.match(((await spammer.ofType(1)) as { data: Buffer }).data.toString(), /too many invalid messages/);
    // LDK's new node announcement is still taken while the spammer is ignored.
    await ldk.broadcastNodeAnnouncement({ alias: 'ldk-gossip-2', port: ldkPort });
    await until(() => gossip.graph.nodeInfo(ldk.nodeId.toString('hex'))?.alias === 'ldk-gossip-2', { what: 'LDK’s newer node announcement', timeoutMs: 30_000 });
    await gossip.idle();
    const now = gossip.footprint();
    // The outbox (what waits for the next broadcast, every 5 s) holds LDK's gossip, not the flood's.
    assert.deepEqual({ ...now, ignoredPeers: 0, outbox: 0 }, { ...baseline, ignoredPeers: 0, outbox: 0 }, 'nothing of the flood is held');
    assert.equal(now.ignoredPeers, baseline.ignoredPeers + 1);
    assert.equal(gossip.graph.channelCount, 1);
    spammer.close();
  });

  it('after a cooperative close the channel disappears from both graphs', async () => {
    const scid = scidFromString(ch.data.shortChannelId!)!;
    void anode.channels.close(ch, 0);
    await until(() => ch.data.state === 'CLOSINGD_COMPLETE', { what: 'close agreed', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => ch.data.state === 'ONCHAIN', 'closing transaction confirmed', { maxBlocks: 6, settleMs: 300, follow });
    await until(() => !anode.node.gossip!.graph.hasChannel(scid), { what: 'anode pruned the spent channel', timeoutMs: 20_000 });
    await until(async () => !(await ldk.networkGraph()).channels.some((c) => c.scid === scidToString(scid)), { what: 'LDK dropped the channel', timeoutMs: 20_000 });
  });
});
