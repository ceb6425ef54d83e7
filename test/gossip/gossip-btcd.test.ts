/**
 * The gossip layer in a whole anode node on btcd regtest, fed by hand-driven peers over real BOLT 8
 * connections: a channel announced at a real funding output enters the graph (and the store, across a
 * restart), a peer's filter gets it replayed and forwarded, queries are answered, the funding spend
 * prunes it, announcements of a wrong output are refused, and a flood of invalid announcements gets its
 * sender warned and ignored while another peer's gossip still goes through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Transaction } from '@scure/btc-signer';
import { fundingScript } from '../../src/bitcoin/bolt3-scripts.js';
import {
  decodeGossipMessage,
  decodeShortIds,
  encodeShortIds,
  gossipMessagePayload,
  GossipMessageType,
  scidToString,
  type GossipMessage,
} from '../../src/gossip/messages.js';
import { isUnknownMessage, type Message } from '../../src/wire/messages.js';
import { join } from 'node:path';
import { useBtcd } from '../harness/btcd.js';
import { rpcCall } from '../rpc/harness.js';
import { startNode, startPeerManager, staticKey, type TestNode as Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { announce, fundedOnChain, nodeAnnouncement, REGTEST, testNode, update, type TestChannel, type TestNode } from './fixtures.js';

const btcd = useBtcd('gossip on btcd');

const unknown = (m: GossipMessage): Message => ({ type: m.type, unknown: true, payload: gossipMessagePayload(m) });
const raw = (type: number, payload: Buffer): Message => ({ type, unknown: true, payload });
const gossipOf = (p: ScriptedPeer, type: number): GossipMessage[] =>
  p.received.filter((m) => m.type === type && isUnknownMessage(m)).map((m) => decodeGossipMessage(m.type, (m as { payload: Buffer }).payload));

/** Funds the 2-of-2 of two fresh bitcoin keys on chain and returns the announcement at its scid. */
const fundedChannel = (a: TestNode, b: TestNode, amountSat = 1_000_000n): ReturnType<typeof fundedOnChain> => fundedOnChain(btcd.node, a, b, amountSat);

/** Spends a channel's funding output with both bitcoin keys (a close, as far as gossip can tell). */
async function spendFunding(f: { ch: TestChannel; txid: string; amountSat: bigint }): Promise<void> {
  const [k1, k2] = f.ch.bitcoin;
  const tx = new Transaction({ allowUnknownOutputs: true });
  tx.addInput({ txid: f.txid, index: 0, witnessUtxo: { script: f.ch.script, amount: f.amountSat }, witnessScript: fundingScript(k1.id, k2.id) });
  tx.addOutput({ script: btcd.node.miner.script, amount: f.amountSat - 10_000n });
  tx.signIdx(k1.priv, 0);
  tx.signIdx(k2.priv, 0);
  tx.finalize();
  await btcd.node.sendRawTransaction(tx.hex);
  await btcd.node.generate(1);
}

describe('gossip in a node on btcd', { skip: btcd.skip }, () => {
  let node: Daemon;
  const peers: ScriptedPeer[] = [];
  let n = 0;
  const ids = new Map<ScriptedPeer, string>();
  const dial = async (): Promise<ScriptedPeer> => {
    const key = staticKey(0x60 + n++);
    const p = await ScriptedPeer.dial(node.port, key, node.node.nodeId);
    p.sendInit();
    peers.push(p);
    ids.set(p, key.publicKey.toString('hex'));
    await until(() => node.node.peers.list().some((x) => x.id === ids.get(p)), 'peer registered');
    return p;
  };
  const gossip = () => node.node.gossip!;

  before(async () => {
    if (btcd.skip) return;
    node = await startNode(btcd.node, { extra: ['--dev-no-reconnect', '--dev-chain-poll=100'] });
  });
  after(async () => {
    for (const p of peers) p.close();
    await node?.stop();
  });

  let first: Awaited<ReturnType<typeof fundedChannel>>;

  it('takes a channel announced at a real funding output, its updates and node announcement; starts a sync with the peer', async () => {
    const a = await dial();
    // anode asks the peer for its gossip: its filter, then an initial sync by channel range.
    const filter = await a.ofType(GossipMessageType.GOSSIP_TIMESTAMP_FILTER);
    const range = await a.ofType(GossipMessageType.QUERY_CHANNEL_RANGE);
    assert.ok(filter && range);
    first = await fundedChannel(testNode(), testNode());
    const { ch } = first;
    a.send(unknown(ch.msg));
    a.send(raw(258, update(ch, 0, { feeBaseMsat: 1234 }).payload));
    a.send(raw(258, update(ch, 1, { disabled: true }).payload));
    a.send(raw(257, nodeAnnouncement(ch.nodes[0], { alias: 'first', addresses: ['127.0.0.1:19735'] }).payload));
    await until(() => gossip().graph.nodeInfo(ch.nodes[0].id.toString('hex')), 'node announcement in the graph');
    const info = gossip().graph.channel(ch.scid)!;
    assert.equal(info.capacitySat, first.amountSat);
    assert.equal(info.policies[0]?.feeBaseMsat, 1234);
    assert.equal(info.policies[1]?.disabled, true);
    assert.deepEqual(gossip().addressesOf(ch.nodes[0].id.toString('hex')), ['127.0.0.1:19735']);
    // The graph's read API: the edge out of node 1 is priced by direction 0.
    const row = gossip().graph.nodeIndex(ch.nodes[0].id.toString('hex'))!;
    const edges: [number, number][] = [];
    gossip().graph.forEachEdge(row, (r, dir) => edges.push([r, dir]));
    assert.equal(edges.length, 1);
    assert.equal(gossip().graph.policy(edges[0]![0], 0)?.feeBaseMsat, 1234);
    // Answer the sync with an empty range, so the node completes it.
    a.send(unknown({ type: 264, chainHash: REGTEST, firstBlocknum: 0, numberOfBlocks: 0xffffffff, syncComplete: 1, encodedShortIds: encodeShortIds([]), extraTlvs: [] }));
    await until(() => gossip().sync.completed.size === 1, 'initial sync complete');
  });

  it('CLN listchannels and listnodes show the graph', async () => {
    const { ch } = first;
    const sock = join(node.dir, 'regtest', 'lightning-rpc');
    const lc = (await rpcCall(sock, 'listchannels', { short_channel_id: scidToString(ch.scid) })).result as { channels: Record<string, unknown>[] };
    assert.deepEqual(
      lc.channels.map((c) => [c.direction, c.source, c.active, c.base_fee_millisatoshi, c.amount_msat]),
      [
        [0, ch.nodes[0].id.toString('hex'), true, 1234, Number(first.amountSat * 1000n)],
        [1, ch.nodes[1].id.toString('hex'), false, 1000, Number(first.amountSat * 1000n)],
      ],
    );
    const from = (await rpcCall(sock, 'listchannels', { source: ch.nodes[1].id.toString('hex') })).result as { channels: unknown[] };
    assert.equal(from.channels.length, 1);
    const ln = (await rpcCall(sock, 'listnodes', {})).result as { nodes: Record<string, unknown>[] };
    const n1 = ln.nodes.find((n) => n.nodeid === ch.nodes[0].id.toString('hex'));
    assert.deepEqual([n1?.alias, n1?.addresses], ['first', [{ type: 'ipv4', address: '127.0.0.1', port: 19735 }]]);
    assert.deepEqual(ln.nodes.find((n) => n.nodeid === ch.nodes[1].id.toString('hex')), { nodeid: ch.nodes[1].id.toString('hex') });
  });

  it('CLN connect <id> without an address dials the address of its node_announcement', async () => {
    // A node with a channel in the graph announces where a real listener is.
    const listener = await startPeerManager({ localKey: staticKey(0x77) });
    try {
      const f = await fundedChannel(testNode(staticKey(0x77).privateKey), testNode());
      const a = peers[0]!;
      a.send(unknown(f.ch.msg));
      a.send(raw(258, update(f.ch, 0).payload));
      const me = f.ch.nodes.find((x) => x.id.equals(staticKey(0x77).publicKey))!;
      a.send(raw(257, nodeAnnouncement(me, { addresses: [`127.0.0.1:${listener.port}`] }).payload));
      const id = me.id.toString('hex');
      await until(() => gossip().graph.nodeInfo(id), 'announcement taken');
      const sock = join(node.dir, 'regtest', 'lightning-rpc');
      const r = (await rpcCall(sock, 'connect', { id })).result as { id: string; direction: string; address: { port: number } };
      assert.deepEqual([r.id, r.direction, r.address.port], [id, 'out', listener.port]);
      const unknownId = testNode().id.toString('hex');
      assert.match(JSON.stringify((await rpcCall(sock, 'connect', { id: unknownId })).error), /no address known/);
    } finally {
      await listener.close();
    }
  });

  it('refuses an announcement whose output is not the 2-of-2 of its keys, or does not exist', async () => {
    const a = peers[0]!;
    const f = await fundedChannel(testNode(), testNode());
    // Same scid, other bitcoin keys: the funding script does not match.
    const wrong = announce(f.ch.scid);
    const missing = announce(f.ch.scid + 1n);
    const before = gossip().stats.invalid;
    a.send(unknown(wrong.msg));
    a.send(unknown(missing.msg));
    await until(() => gossip().stats.invalid >= before + 2, 'both refused');
    assert.equal(gossip().graph.hasChannel(f.ch.scid), false);
    assert.equal(gossip().graph.hasChannel(f.ch.scid + 1n), false);
  });

  it('replays to a peer filter, forwards new updates to it, and answers channel-range and short-id queries', async () => {
    const b = await dial();
    const { ch } = first;
    b.send(unknown({ type: 265, chainHash: REGTEST, firstTimestamp: 0, timestampRange: 0xffffffff }));
    await b.next((m) => m.type === 256);
    await b.next((m) => m.type === 257);
    assert.equal(gossipOf(b, 258).filter((u) => u.type === 258 && u.shortChannelId === ch.scid).length, 2);
    // A newer update from peer a reaches b (not a) at the next broadcast.
    peers[0]!.send(raw(258, update(ch, 0, { feeBaseMsat: 999, timestamp: Math.floor(Date.now() / 1000) + 5 }).payload));
    await until(() => gossip().graph.channel(ch.scid)?.policies[0]?.feeBaseMsat === 999, 'newer update taken');
    gossip().flush();
    await b.next((m) => m.type === 258 && isUnknownMessage(m) && (decodeGossipMessage(258, m.payload) as { feeBaseMsat: number }).feeBaseMsat === 999);
    // query_channel_range with timestamps, then query_short_channel_ids.
    b.send(unknown({ type: 263, chainHash: REGTEST, firstBlocknum: 0, numberOfBlocks: 0xffffffff, queryOption: 1n, extraTlvs: [] }));
    const reply = decodeGossipMessage(264, ((await b.ofType(264)) as { payload: Buffer }).payload);
    assert.ok(reply.type === 264);
    const listed = decodeShortIds(reply.encodedShortIds);
    assert.deepEqual(listed, gossip().graph.scids(), 'every channel, in ascending order');
    assert.ok(listed.includes(ch.scid));
    assert.ok(reply.timestamps);
    const before = b.received.length;
    b.send(unknown({ type: 261, chainHash: REGTEST, encodedShortIds: encodeShortIds([ch.scid], 1), extraTlvs: [] }));
    await b.next((m, i = b.received.indexOf(m)) => m.type === 262 && i >= before);
    const after = b.received.slice(before).map((m) => m.type);
    assert.ok(after.includes(256) && after.includes(258) && after.includes(257), `got ${after}`);
  });

  it('ignores a peer flooding invalid announcements (warned) while another peer’s gossip still goes through', async () => {
    const spammer = await dial();
    const good = peers[0]!;
    const f = await fundedChannel(testNode(), testNode());
    const channelsBefore = gossip().graph.channelCount;
    for (let i = 0; i < 500; i++) {
      const bogus = announce(f.ch.scid + BigInt(i + 1));
      bogus.msg.nodeSignature1 = Buffer.alloc(64, 7);
      spammer.send(unknown(bogus.msg));
    }
    await until(() => gossip().isIgnored(ids.get(spammer)!), 'spammer ignored');
    const warning = await spammer.ofType(1);
    assert.match((warning as { data: Buffer }).data.toString(), /too many invalid/);
    good.send(unknown(f.ch.msg));
    good.send(raw(258, update(f.ch, 1).payload));
    await until(() => gossip().graph.channel(f.ch.scid)?.policies[1], 'good peer’s channel taken');
    await gossip().idle();
    // Nothing of the flood is kept: the graph holds only real channels, nothing waits in queues.
    assert.equal(gossip().graph.channelCount, channelsBefore + 1);
    assert.deepEqual({ ...gossip().footprint(), ignoredPeers: 0 }, { queued: 0, pendingUpdates: 0, pendingAnnouncements: 0, ignoredPeers: 0, outbox: gossip().footprint().outbox });
    assert.ok(gossip().stats.ignored > 0);
  });

  it('an unassigned even type in the gossip range (260) is still an unknown even message: the peer is warned and dropped', async () => {
    const p = await dial();
    p.send(raw(260, Buffer.alloc(10)));
    await p.closed;
    assert.match(((await p.ofType(1)) as { data: Buffer }).data.toString(), /unknown even message 260/);
  });

  it('prunes a channel once its funding output is spent, and keeps the graph across a restart', async () => {
    const { ch } = first;
    await spendFunding(first);
    await until(() => !gossip().graph.hasChannel(ch.scid), { what: 'spent channel pruned', timeoutMs: 20_000 });
    assert.equal(gossip().graph.nodeInfo(ch.nodes[0].id.toString('hex')), undefined);
    const count = gossip().graph.channelCount;
    const dir = node.dir;
    for (const p of peers.splice(0)) p.close();
    await node.stop();
    node = await startNode(btcd.node, { dir, extra: ['--dev-no-reconnect', '--dev-chain-poll=100'] });
    assert.equal(gossip().graph.channelCount, count);
    assert.equal(gossip().graph.hasChannel(ch.scid), false);
  });
});
