/**
 * BOLT 7 checks: each of the four channel_announcement signatures (over the double-SHA256 of the bytes
 * after them), chain hash and key order; channel_update signed by the node of its direction, its
 * must_be_one flag and HTLC limits; node_announcement's signature; and the graph's read API.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelGraph } from '../../src/gossip/graph.js';
import { gossipMessagePayload, type ChannelAnnouncement } from '../../src/gossip/messages.js';
import { checkChannelAnnouncement, checkChannelUpdate, checkNodeAnnouncement } from '../../src/gossip/validate.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';
import { announce, nodeAnnouncement, REGTEST, testNode, update } from './fixtures.js';

describe('BOLT 7 validation', () => {
  const ch = announce(1n << 40n);
  const ids = [ch.nodes[0].id, ch.nodes[1].id] as const;

  it('a channel_announcement signed by all four keys passes; each bad signature is named', () => {
    assert.equal(checkChannelAnnouncement(ch.msg, ch.payload, REGTEST), undefined);
    for (const k of ['nodeSignature1', 'nodeSignature2', 'bitcoinSignature1', 'bitcoinSignature2'] as const) {
      const bad: ChannelAnnouncement = { ...ch.msg, [k]: ch.msg[k === 'nodeSignature1' ? 'nodeSignature2' : 'nodeSignature1'] };
      const reason = checkChannelAnnouncement(bad, gossipMessagePayload(bad), REGTEST);
      assert.match(reason ?? '', new RegExp(`bad ${k.replace(/([A-Z])/g, '_$1').toLowerCase().replace(/(\d)$/, '_$1')}`));
    }
  });

  it('the signed part includes bytes after the fields (a changed trailer breaks the signatures)', () => {
    const trailer = Buffer.concat([ch.payload, Buffer.of(1, 2, 3)]);
    assert.match(checkChannelAnnouncement(ch.msg, trailer, REGTEST) ?? '', /bad node_signature_1/);
  });

  it('wrong chain and unsorted node ids are refused', () => {
    assert.match(checkChannelAnnouncement(ch.msg, ch.payload, CHAIN_HASH.bitcoin) ?? '', /chain hash/);
    const swapped = { ...ch.msg, nodeId1: ch.msg.nodeId2, nodeId2: ch.msg.nodeId1 };
    assert.match(checkChannelAnnouncement(swapped, gossipMessagePayload(swapped), REGTEST) ?? '', /node_id_1 is not before/);
  });

  it('channel_update: signed by the node of its direction, must_be_one, HTLC limits', () => {
    for (const dir of [0, 1] as const) {
      const u = update(ch, dir);
      assert.equal(checkChannelUpdate(u.msg, u.payload, REGTEST, ids, 1_000_000_000n), undefined);
    }
    // Direction 1 signed by node 1: wrong signer.
    const u = update(ch, 0);
    const flipped = { ...u.msg, channelFlags: 1 };
    assert.match(checkChannelUpdate(flipped, gossipMessagePayload(flipped), REGTEST, ids, 1_000_000_000n) ?? '', /bad signature/);
    const noMax = update(ch, 0, { messageFlags: 0 });
    assert.match(checkChannelUpdate(noMax.msg, noMax.payload, REGTEST, ids, 1_000_000_000n) ?? '', /must_be_one/);
    const big = update(ch, 0, { htlcMaximumMsat: 2_000_000_000n });
    assert.match(checkChannelUpdate(big.msg, big.payload, REGTEST, ids, 1_000_000_000n) ?? '', /above the channel capacity/);
  });

  it('node_announcement: its own signature', () => {
    const n = nodeAnnouncement(ch.nodes[0]);
    assert.equal(checkNodeAnnouncement(n.msg, n.payload), undefined);
    const other = { ...n.msg, nodeId: testNode().id };
    assert.match(checkNodeAnnouncement(other, gossipMessagePayload(other)) ?? '', /bad signature/);
  });
});

describe('ChannelGraph', () => {
  it('edges out of a node with the policy of their direction; rows reused after removal; stale policies found', () => {
    const g = new ChannelGraph(2);
    const [a, b, c] = ['02aa', '02bb', '02cc'];
    g.addChannel(1n, a, b, 100_000n);
    g.addChannel(2n, b, c, 200_000n);
    g.addChannel(3n, a, c, 300_000n);
    assert.equal(g.channelCount, 3);
    const base = { messageFlags: 1, cltvExpiryDelta: 40, htlcMinimumMsat: 1n, htlcMaximumMsat: 5n, feeBaseMsat: 7, feeProportionalMillionths: 9 };
    g.setPolicy(1n, { ...base, timestamp: 100, channelFlags: 0 });
    g.setPolicy(1n, { ...base, timestamp: 200, channelFlags: 3, feeBaseMsat: 8 });
    const out: [bigint, number, string][] = [];
    g.forEachEdge(g.nodeIndex(b)!, (row, dir, peer) => out.push([g.scid(row), dir, g.nodeId(peer)]));
    assert.deepEqual(out, [[1n, 1, a], [2n, 0, c]]);
    const row1 = g.row(1n)!;
    assert.equal(g.policy(row1, 1)?.disabled, true);
    assert.equal(g.policy(row1, 1)?.feeBaseMsat, 8);
    assert.equal(g.policy(row1, 0)?.disabled, false);
    assert.equal(g.policy(g.row(2n)!, 0), undefined);
    assert.deepEqual(g.stalePolicies(150), [{ scid: 1n, direction: 0 }]);
    assert.deepEqual(g.scids(0, 1), [1n, 2n, 3n]);
    g.removeChannel(2n);
    g.addChannel(4n, c, a, 1n);
    assert.equal(g.row(4n), 1, 'the free row is reused');
    assert.equal(g.policy(1, 0), undefined, 'a reused row starts without policies');
    assert.equal(g.channel(4n)?.capacitySat, 1n);
    assert.deepEqual(g.scids().length, 3);
  });
});
