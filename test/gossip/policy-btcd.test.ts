/**
 * Our forwarding policy on a private channel between two anode nodes on btcd regtest: `setchannel` by
 * channel id sends the new channel_update to the peer only (the peer holds it; the graph never gets
 * it), FeeReport and DescribeGraph's `include_unannounced` show the channel with its policy (and
 * without the flag it is absent), the old fee stays honoured for `enforcedelay` seconds and is
 * dropped at once with `enforcedelay=0`, a peer with no channel is refused with lightningd's error, and
 * `ignorefeelimits` lets the opener of a channel to us set a commitment feerate far above our limit
 * (the same update_fee without it fails the channel).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_POLICY } from '../../src/gossip/announce.js';
import { decodeGossipMessage, GossipMessageType, scidFromString, type ChannelUpdate } from '../../src/gossip/messages.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { onlyChannel } from '../channel/nodes.js';
import { rpcCall } from '../rpc/harness.js';
import { rest, type RestTarget } from '../rpc/lnd/harness.js';

const btcd = useBtcd('forwarding policy on a private channel');
type Json = Record<string, unknown>;

describe('forwarding policy on a private channel', { skip: btcd.skip, timeout: 180_000 }, () => {
  const running: TestNode[] = [];
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;
  let t: RestTarget;
  const sock = (): string => join(a.dir, 'regtest', 'lightning-rpc');

  before(async () => {
    if (btcd.skip) return;
    [a, b, c] = [await startNode(btcd.node), await startNode(btcd.node), await startNode(btcd.node, { extra: ['--developer'] })];
    running.push(a, b, c);
    const h = a.node.lnd!;
    t = { restPort: h.rest[0]!.port, cert: h.certPem, admin: readFileSync(h.adminMacaroonPath) };
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    await a.node.peers.connect(Buffer.from(c.id, 'hex'), '127.0.0.1', c.port);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 800_000n, announce: false });
    await until(() => b.channels.list().length === 1, { what: 'B knows the channel', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => onlyChannel(a).data.state === 'CHANNELD_NORMAL' && onlyChannel(b).data.state === 'CHANNELD_NORMAL', 'NORMAL');
  });
  after(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
  });

  it('setchannel by channel id: the update goes to the peer only; FeeReport and include_unannounced show it', async () => {
    const ch = onlyChannel(a);
    const scid = scidFromString(ch.data.shortChannelId!)!;
    const heldFees = (): number[] => b.node.gossip!.pendingUpdatesOf(scid).map((p) => (decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, p) as ChannelUpdate).feeBaseMsat);
    // B got A's update when the channel became usable (before any setchannel), with A's default fee.
    await until(() => heldFees().includes(DEFAULT_POLICY.feeBaseMsat), { what: 'B received the channel_update at channel_ready', timeoutMs: 10_000 });
    const heldBefore = heldFees().length;
    const r = (await rpcCall(sock(), 'setchannel', { id: ch.id, feebase: 2222, feeppm: 33, enforcedelay: 120 })).result as { channels: Json[] };
    assert.deepEqual(r.channels.map((x) => [x.peer_id, x.channel_id, x.short_channel_id, x.fee_base_msat, x.fee_proportional_millionths]), [[b.id, ch.id, ch.data.shortChannelId, 2222, 33]]);
    // B receives it directly (an update for a channel B's graph does not have is held, not forwarded).
    await until(() => heldFees().length > heldBefore && heldFees().at(-1) === 2222, { what: 'B received the channel_update', timeoutMs: 10_000 });
    assert.equal(a.node.gossip!.graph.channelCount, 0, 'a private channel never enters the graph');

    const fees = (await rest(t, 'GET', '/v1/fees')).body.channel_fees as Json[];
    assert.deepEqual(fees.map((f) => [f.channel_point, f.base_fee_msat, f.fee_per_mil]), [[`${ch.data.funding.txid}:${ch.data.funding.vout}`, '2222', '33']]);
    assert.deepEqual((await rest(t, 'GET', '/v1/graph')).body.edges ?? [], []);
    const g = (await rest(t, 'GET', '/v1/graph?include_unannounced=true')).body as { edges: Json[] };
    assert.equal(g.edges.length, 1);
    const e = g.edges[0]!;
    const mine = (e.node1_pub === a.id ? e.node1_policy : e.node2_policy) as Json;
    assert.deepEqual([e.chan_point, e.capacity, mine.fee_base_msat, mine.fee_rate_milli_msat], [`${ch.data.funding.txid}:${ch.data.funding.vout}`, '800000', '2222', '33']);
    assert.equal((await rest(t, 'GET', `/v1/graph/edge/${e.channel_id as string}`)).body.chan_point, e.chan_point);
  });

  it('enforcedelay keeps the old fee honoured for its seconds; 0 drops it at once', async () => {
    const ch = onlyChannel(a);
    const now = Math.floor(Date.now() / 1000);
    await rpcCall(sock(), 'setchannel', { id: b.id, feebase: 3333, enforcedelay: 300 });
    const p = a.node.announcer!.policyOf(ch.id);
    assert.deepEqual([p.feeBaseMsat, p.previous?.feeBaseMsat, p.previous?.feeProportionalMillionths], [3333, 2222, 33]);
    assert.ok(p.previous!.until >= now + 300 && p.previous!.until <= now + 302, String(p.previous!.until - now));
    // A change of limits alone keeps the running delay.
    await rpcCall(sock(), 'setchannel', { id: b.id, htlcmin: 2000 });
    assert.equal(a.node.announcer!.policyOf(ch.id).previous?.feeBaseMsat, 2222);
    await rpcCall(sock(), 'setchannel', { id: b.id, feebase: 4444, enforcedelay: 0 });
    assert.equal(a.node.announcer!.policyOf(ch.id).previous, undefined);
  });

  it('a peer without an active channel, and an unknown channel id, are refused as lightningd does', async () => {
    const none = await rpcCall(sock(), 'setchannel', { id: c.id, feebase: 1 });
    assert.deepEqual([none.error?.code, none.error?.message], [-1, 'Could not find any active channels of peer with that id']);
    const unknown = await rpcCall(sock(), 'setchannel', { id: 'ee'.repeat(32) });
    assert.equal(unknown.error?.code, -32602);
    assert.match(unknown.error?.message ?? '', /Channel id not found/);
  });

  it('ignorefeelimits: the opener’s update_fee far above our limit is taken; without it the channel fails', async () => {
    // C opens a channel to A (C is the opener, so C sends update_fee); A's estimate is 1000 sat/kw.
    (a.node.wallet! as { estimateFeerate: (f?: unknown) => Promise<number | null> }).estimateFeerate = async () => 1000;
    await fundWallet(btcd.node, c, 2_000_000n);
    const r = await c.channels.fundChannel({ peerId: a.id, amountSat: 600_000n, announce: false, feeratePerKw: 1000 });
    const atA = await until(() => a.channels.get(r.channelId), 'A has the channel');
    await btcd.node.mineUntil(() => atA.data.state === 'CHANNELD_NORMAL' && c.channels.get(r.channelId)?.data.state === 'CHANNELD_NORMAL', 'NORMAL');
    const set = (await rpcCall(sock(), 'setchannel', { id: r.channelId, ignorefeelimits: true })).result as { channels: Json[] };
    assert.deepEqual(set.channels.map((x) => x.ignore_fee_limits), [true]);
    const cSock = join(c.dir, 'regtest', 'lightning-rpc');
    assert.equal((await rpcCall(cSock, 'dev-updatefee', { id: r.channelId, feerate_perkw: 50_000 })).error, undefined);
    await until(() => atA.data.localCommit.spec.feeratePerKw === 50_000n && atA.data.remoteCommit.spec.feeratePerKw === 50_000n, { what: 'A signed commitments at 50000 sat/kw', timeoutMs: 15_000 });
    assert.equal(atA.data.state, 'CHANNELD_NORMAL');
    // The same limit applies again once the flag is cleared.
    await rpcCall(sock(), 'setchannel', { id: r.channelId, ignorefeelimits: false });
    await rpcCall(cSock, 'dev-updatefee', { id: r.channelId, feerate_perkw: 60_000 });
    await until(() => atA.data.state === 'AWAITING_UNILATERAL', { what: 'A fails the channel', timeoutMs: 15_000 });
    assert.match(atA.data.failure ?? '', /update_fee: feerate 60000 sat\/kw above our maximum 10000/);
  });
});
