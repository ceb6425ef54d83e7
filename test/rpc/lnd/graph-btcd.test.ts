/**
 * LND's graph calls over the REST gateway on a node on btcd regtest whose graph comes from gossip: a peer
 * announces four channels at real funding outputs (four sizes, a star and a triangle, one direction
 * without an update, one disabled) and node announcements for two of the nodes. GET /v1/graph,
 * /v1/graph/node/{pub_key}, /v1/graph/edge/{chan_id} and /v1/graph/info agree with CLN's listchannels
 * and listnodes on the same node, and the network figures are the ones the channel list gives. The
 * policy calls answer for a node with no channel of its own: /v1/fees is empty, /v1/chanpolicy names
 * an unknown channel point as not found.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gossipMessagePayload, scidToString } from '../../../src/gossip/messages.js';
import { useBtcd } from '../../harness/btcd.js';
import { startNode, staticKey, type TestNode as Daemon } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { ScriptedPeer } from '../../peer/scripted.js';
import { fundedOnChain, nodeAnnouncement, testNode, update, type TestNode } from '../../gossip/fixtures.js';
import { rpcCall } from '../harness.js';
import { rest, type RestTarget } from './harness.js';

const btcd = useBtcd('LND graph calls on btcd');
type Json = Record<string, unknown>;

describe('LND graph calls over REST on btcd', { skip: btcd.skip, timeout: 120_000 }, () => {
  let node: Daemon;
  let peer: ScriptedPeer;
  let t: RestTarget;
  const nodes: TestNode[] = [testNode(), testNode(), testNode(), testNode()];
  const sizes = [100_000n, 300_000n, 200_000n, 1_000_000n];
  const scids: bigint[] = [];
  const sock = (): string => join(node.dir, 'regtest', 'lightning-rpc');

  before(async () => {
    if (btcd.skip) return;
    node = await startNode(btcd.node, { extra: ['--dev-no-reconnect', '--dev-chain-poll=100'] });
    const h = node.node.lnd!;
    t = { restPort: h.rest[0]!.port, cert: h.certPem, admin: readFileSync(h.adminMacaroonPath) };
    peer = await ScriptedPeer.dial(node.port, staticKey(0x91), node.node.nodeId);
    peer.sendInit();
    const [a, b, c, d] = nodes as [TestNode, TestNode, TestNode, TestNode];
    // A star around a (a-b, a-c, a-d) and the triangle's last side b-c.
    const pairs: [TestNode, TestNode][] = [[a, b], [a, c], [a, d], [b, c]];
    for (const [i, [x, y]] of pairs.entries()) {
      const f = await fundedOnChain(btcd.node, x, y, sizes[i]);
      scids.push(f.ch.scid);
      peer.send({ type: 256, unknown: true, payload: gossipMessagePayload(f.ch.msg) });
      peer.send({ type: 258, unknown: true, payload: update(f.ch, 0, { feeBaseMsat: 100 + i }).payload });
      // The last channel has no update in direction 1; the third is disabled that way.
      if (i < 3) peer.send({ type: 258, unknown: true, payload: update(f.ch, 1, { feeBaseMsat: 200 + i, disabled: i === 2 }).payload });
    }
    peer.send({ type: 257, unknown: true, payload: nodeAnnouncement(a, { alias: 'hub', addresses: ['127.0.0.1:19001'], rgb: '112233' }).payload });
    peer.send({ type: 257, unknown: true, payload: nodeAnnouncement(b, { alias: 'spoke' }).payload });
    const g = node.node.gossip!.graph;
    await until(() => scids.every((s) => g.hasChannel(s)) && g.nodeInfo(b.id.toString('hex'))?.alias === 'spoke', { what: 'the gossip is in the graph', timeoutMs: 30_000 });
  });
  after(async () => {
    peer?.close();
    await node?.stop();
  });

  it('GET /v1/graph: every edge direction is a listchannels entry, every node a listnodes entry', async () => {
    const g = (await rest(t, 'GET', '/v1/graph')).body as { nodes: Json[]; edges: Json[] };
    const lc = ((await rpcCall(sock(), 'listchannels', {})).result as { channels: Json[] }).channels;
    const ln = ((await rpcCall(sock(), 'listnodes', {})).result as { nodes: Json[] }).nodes;
    const fromEdges = g.edges.flatMap((e) =>
      ([['node1_policy', e.node1_pub, e.node2_pub], ['node2_policy', e.node2_pub, e.node1_pub]] as const)
        .filter(([k]) => e[k] !== null && e[k] !== undefined)
        .map(([k, src, dst]) => {
          const p = e[k] as Json;
          return [scidToString(BigInt(e.channel_id as string)), src, dst, Number(p.fee_base_msat), Number(p.fee_rate_milli_msat), p.time_lock_delta, Number(p.min_htlc), Number(p.max_htlc_msat), p.last_update, !p.disabled, Number(e.capacity) * 1000];
        }),
    );
    const fromList = lc.map((c) => [c.short_channel_id, c.source, c.destination, c.base_fee_millisatoshi, c.fee_per_millionth, c.delay, c.htlc_minimum_msat, c.htlc_maximum_msat, c.last_update, c.active, c.amount_msat]);
    const sort = (a: unknown[][]): string[] => a.map((x) => JSON.stringify(x)).sort();
    assert.equal(fromList.length, 7, 'seven directions have an update');
    assert.deepEqual(sort(fromEdges), sort(fromList));
    assert.deepEqual(g.edges.map((e) => BigInt(e.channel_id as string)).sort(), [...scids].sort());
    for (const e of g.edges) {
      const i = scids.indexOf(BigInt(e.channel_id as string));
      assert.equal(e.capacity, String(sizes[i]));
      assert.match(e.chan_point as string, /^[0-9a-f]{64}:\d+$/);
    }
    const fromNodes = g.nodes.map((n) => [n.pub_key, n.alias, n.color, n.last_update, ((n.addresses ?? []) as Json[]).map((a) => a.addr)]);
    const fromListNodes = ln.map((n) => [n.nodeid, n.alias ?? '', n.color === undefined ? '' : `#${n.color as string}`, n.last_timestamp ?? 0, ((n.addresses ?? []) as Json[]).map((a) => `${a.address as string}:${a.port as number}`)]);
    assert.deepEqual(sort(fromNodes), sort(fromListNodes));
    assert.equal(g.nodes.length, 4);
  });

  it('GET /v1/graph/node/{pub_key} and /v1/graph/edge/{chan_id}', async () => {
    const hub = nodes[0]!.id.toString('hex');
    const info = (await rest(t, 'GET', `/v1/graph/node/${hub}?include_channels=true`)).body as Json;
    assert.deepEqual([(info.node as Json).alias, info.num_channels, info.total_capacity], ['hub', 3, String(sizes[0]! + sizes[1]! + sizes[2]!)]);
    assert.deepEqual(((info.channels as Json[]) ?? []).map((c) => c.channel_id).sort(), scids.slice(0, 3).map(String).sort());
    const missing = await rest(t, 'GET', `/v1/graph/node/02${'22'.repeat(32)}`);
    assert.deepEqual([missing.status, missing.body.message], [404, 'unable to find node']);

    const edge = (await rest(t, 'GET', `/v1/graph/edge/${scids[3]}`)).body as Json;
    assert.equal(edge.node2_policy ?? null, null, 'no update in direction 1');
    assert.equal((edge.node1_policy as Json).fee_base_msat, '103');
    const lc = ((await rpcCall(sock(), 'listchannels', { short_channel_id: scidToString(scids[3]!) })).result as { channels: Json[] }).channels;
    assert.deepEqual([lc.length, lc[0]!.source], [1, edge.node1_pub]);
    const noEdge = await rest(t, 'GET', '/v1/graph/edge/1');
    assert.deepEqual([noEdge.status, noEdge.body.message], [404, 'edge not found']);
  });

  it('GET /v1/graph/info: counts, degrees and channel sizes as the channel list gives them', async () => {
    const info = (await rest(t, 'GET', '/v1/graph/info')).body as Json;
    const lc = ((await rpcCall(sock(), 'listchannels', {})).result as { channels: Json[] }).channels;
    const bySc = new Map(lc.map((c) => [c.short_channel_id as string, BigInt(c.amount_msat as number) / 1000n]));
    const caps = [...bySc.values()].sort((x, y) => (x < y ? -1 : 1));
    const total = caps.reduce((s, c) => s + c, 0n);
    assert.deepEqual(
      [info.num_nodes, info.num_channels, info.max_out_degree, info.avg_out_degree, info.total_network_capacity, info.avg_channel_size, info.min_channel_size, info.max_channel_size, info.median_channel_size_sat],
      [4, 4, 3, 2, String(total), Number(total) / 4, String(caps[0]), String(caps[3]), String((caps[1]! + caps[2]!) / 2n)],
    );
  });

  it('a node with no channel of its own: /v1/fees is empty, /v1/chanpolicy reports an unknown channel point', async () => {
    assert.deepEqual((await rest(t, 'GET', '/v1/fees')).body.channel_fees, []);
    const r = await rest(t, 'POST', '/v1/chanpolicy', { body: { chan_point: { funding_txid_str: 'cd'.repeat(32), output_index: 1 }, base_fee_msat: '1', fee_rate_ppm: 1, time_lock_delta: 40 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual((r.body.failed_updates as Json[]).map((f) => [f.reason, f.update_error, (f.outpoint as Json).txid_str]), [['UPDATE_FAILURE_NOT_FOUND', 'not found', 'cd'.repeat(32)]]);
  });
});
