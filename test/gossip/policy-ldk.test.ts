/**
 * Our forwarding policy, seen by a real LDK peer (its P2PGossipSync and NetworkGraph) on btcd regtest:
 * a public channel anode opens to LDK is announced with the policy of anode's options (--fee-base,
 * --fee-per-satoshi, --cltv-delta); `setchannel` through pyln-client and LND's UpdateChannelPolicy
 * through @grpc/grpc-js each send a newer channel_update that LDK applies to its graph and anode's
 * `listchannels` shows; FeeReport reports it; the graph calls (DescribeGraph, GetNodeInfo, GetChanInfo,
 * GetNetworkInfo) agree with `listchannels`/`listnodes`; and after a restart the policy is the one set.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { scidFromString } from '../../src/gossip/messages.js';
import { packageDefinition } from '../../src/rpc/lnd/methods.js';
import { interopGate } from '../interop/adapter.js';
import { LdkPeer, ldkUnavailableReason } from '../interop/peers/ldk.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';

const gate = interopGate('ldk', 'forwarding policy seen by LDK', ldkUnavailableReason());
const btcd = useBtcd('forwarding policy seen by LDK');
const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

type Json = Record<string, unknown>;
const PYTHON = process.env.ANODE_PYTHON ?? 'python3';
const pylnMissing = spawnSync(PYTHON, ['-c', 'import pyln.client'], { encoding: 'utf8' }).status !== 0;
/** pyln-client's setchannel against anode's socket (asynchronously: LDK and anode share this event loop). */
const PYLN_SETCHANNEL = `
import json, sys
from pyln.client import LightningRpc, RpcError
rpc = LightningRpc(sys.argv[1])
out = []
for call in json.loads(sys.argv[2]):
    try:
        out.append({"result": rpc.setchannel(**call)})
    except RpcError as e:
        out.append({"error": e.error})
print(json.dumps(out, default=str))
`;

function pylnSetchannel(sock: string, calls: Json[]): Promise<{ result?: Json; error?: { code: number; message: string } }[]> {
  return new Promise((resolve, reject) =>
    execFile(PYTHON, ['-c', PYLN_SETCHANNEL, sock, JSON.stringify(calls)], { encoding: 'utf8' }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(JSON.parse(stdout)))),
  );
}

type Client = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata, opts: object, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;

function lightning(n: TestNode): { call(method: string, req: unknown): Promise<{ err: grpc.ServiceError | null; res: Json }>; close(): void } {
  const h = n.node.lnd!;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const S = (grpc.loadPackageDefinition(packageDefinition()) as any).lnrpc.Lightning as grpc.ServiceClientConstructor;
  const c = new S(`127.0.0.1:${h.rpc[0]!.port}`, grpc.credentials.createSsl(Buffer.from(h.certPem)), { 'grpc.ssl_target_name_override': 'localhost' }) as unknown as Client;
  const mac = readFileSync(h.adminMacaroonPath).toString('hex');
  return {
    call: (method, req) =>
      new Promise((resolve) => {
        const md = new grpc.Metadata();
        md.set('macaroon', mac);
        c[method]!(req, md, { deadline: Date.now() + 10_000 }, (err, res) => resolve({ err, res: res as Json }));
      }),
    close: () => c.close(),
  };
}

describe('forwarding policy seen by LDK', { skip: gate.skip || btcd.skip, timeout: 300_000 }, () => {
  let ldk: LdkPeer;
  let anode: TestNode;
  let ch: Channel;
  let scid: string;
  const sock = (): string => join(anode.dir, 'regtest', 'lightning-rpc');

  before(async () => {
    gate.require();
    ldk = new LdkPeer({ seed: Buffer.alloc(32, 0x71), log: verbose ? (l: string) => process.stderr.write(`[ldk] ${l}\n`) : undefined });
    await ldk.start();
    await ldk.channels.useChain(btcd.node);
    anode = await startNode(btcd.node, { extra: ['--alias=anode-policy', '--fee-base=1500', '--fee-per-satoshi=20', '--cltv-delta=40'] });
    const port = await ldk.listen();
    await anode.node.peers.connect(ldk.nodeId, '127.0.0.1', port);
    await ldk.waitForPeer(anode.node.nodeId, 10_000);
    await fundWallet(btcd.node, anode, 3_000_000n);
    await ldk.channels.followChain();
    const r = await anode.channels.fundChannel({ peerId: ldk.nodeId.toString('hex'), amountSat: 700_000n, announce: true });
    ch = anode.channels.get(r.channelId)!;
    const follow = async (): Promise<void> => {
      await ldk.channels.followChain();
      await anode.channels.syncChain();
    };
    await btcd.node.mineUntil(async () => ch.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === ch.id && c.state === 'usable'), 'both sides usable', { maxBlocks: 6, settleMs: 300, follow });
    scid = ch.data.shortChannelId!;
    await btcd.node.mineUntil(() => anode.node.gossip!.graph.hasChannel(scidFromString(scid)!), 'anode announced the channel', { maxBlocks: 8, settleMs: 500, follow });
    await until(async () => (await ldk.networkGraph()).channels.some((c) => c.scid === scid), { what: 'LDK lists the channel', timeoutMs: 30_000 });
  });
  after(async () => {
    await anode?.stop();
    await ldk?.stop();
  });

  /** anode's direction of the channel in LDK's graph. */
  const ldkView = async () => {
    const c = (await ldk.networkGraph()).channels.find((x) => x.scid === scid);
    return c?.directions[c.node1 === anode.id ? 0 : 1] ?? null;
  };
  const listed = async (): Promise<Json> => {
    const r = (await rpcCall(sock(), 'listchannels', { short_channel_id: scid })).result as { channels: Json[] };
    return r.channels.find((c) => c.source === anode.id)!;
  };

  it('the channel is announced with the policy of anode’s options', async () => {
    await until(async () => (await ldkView())?.feeBaseMsat === 1500, { what: 'LDK has anode’s update', timeoutMs: 30_000 });
    const v = (await ldkView())!;
    assert.deepEqual([v.feeBaseMsat, v.feeProportionalMillionths, v.cltvExpiryDelta], [1500, 20, 40]);
    const l = await listed();
    assert.deepEqual([l.base_fee_millisatoshi, l.fee_per_millionth, l.delay], [1500, 20, 40]);
  });

  it('setchannel through pyln-client: LDK’s graph and listchannels show the new policy, each update newer than the last', { skip: pylnMissing && process.env.ANODE_REQUIRE_INTEROP !== '1' && 'PYLN-CLIENT NOT AVAILABLE — skipped (ANODE_REQUIRE_INTEROP=1 makes this fatal)' }, async () => {
    const before = (await ldkView())!.lastUpdate;
    // Two changes in the same second, by peer id then by scid: LDK only takes a strictly newer update.
    const [first, second, unknown, inverted] = await pylnSetchannel(sock(), [
      { id: ldk.nodeId.toString('hex'), feebase: 4000, feeppm: 300, htlcmin: '5000msat' },
      { id: scid, feeppm: 301, htlcmax: '1000000000000msat' },
      { id: '999x1x0', feebase: 1 },
      { id: scid, htlcmin: 10, htlcmax: 5 },
    ]);
    assert.deepEqual(first!.result, {
      channels: [
        {
          peer_id: ldk.nodeId.toString('hex'),
          channel_id: ch.id,
          short_channel_id: scid,
          fee_base_msat: 4000,
          fee_proportional_millionths: 300,
          minimum_htlc_out_msat: 5000,
          maximum_htlc_out_msat: (second!.result!.channels as Json[])[0]!.maximum_htlc_out_msat,
          ignore_fee_limits: false,
        },
      ],
    });
    const s = (second!.result!.channels as Json[])[0]!;
    // htlcmax above what the channel carries is lowered, with CLN's warning.
    assert.equal(s.warning_htlcmax_too_high, 'Set maximum_htlc_out_msat to maximum possible in channel');
    assert.ok((s.maximum_htlc_out_msat as number) <= 700_000_000);
    assert.deepEqual([s.fee_base_msat, s.fee_proportional_millionths, s.minimum_htlc_out_msat], [4000, 301, 5000]);
    assert.equal(unknown!.error!.code, -32602);
    assert.match(unknown!.error!.message, /Short channel id not found/);
    assert.deepEqual([inverted!.error!.code, inverted!.error!.message], [-1, 'htlcmax cannot be less than htlcmin']);

    await until(async () => (await ldkView())?.feeProportionalMillionths === 301, { what: 'LDK applied the second update', timeoutMs: 30_000 });
    const v = (await ldkView())!;
    assert.deepEqual([v.feeBaseMsat, v.feeProportionalMillionths, v.htlcMinimumMsat, v.htlcMaximumMsat], [4000, 301, '5000', String(s.maximum_htlc_out_msat)]);
    assert.ok(v.lastUpdate > before, `timestamp ${v.lastUpdate} after ${before}`);
    const l = await listed();
    assert.deepEqual([l.base_fee_millisatoshi, l.fee_per_millionth, l.htlc_minimum_msat, l.last_update], [4000, 301, 5000, v.lastUpdate]);
    // The old fee stays honoured for enforcedelay (600 s by default).
    const p = anode.node.announcer!.policyOf(ch.id);
    assert.deepEqual([p.feeBaseMsat, p.feeProportionalMillionths, p.previous?.feeBaseMsat, p.previous?.feeProportionalMillionths], [4000, 301, 4000, 300]);
    assert.ok(p.previous!.until > Date.now() / 1000 + 590);
  });

  it('UpdateChannelPolicy and FeeReport over gRPC; LDK applies the update', async () => {
    const ln = lightning(anode);
    try {
      const [txid, vout] = [ch.data.funding.txid, ch.data.funding.vout];
      const chanPoint = { funding_txid_str: txid, output_index: vout };
      const tooSmall = await ln.call('UpdateChannelPolicy', { chan_point: chanPoint, base_fee_msat: 1, fee_rate_ppm: 1, time_lock_delta: 17 });
      assert.match(tooSmall.err?.message ?? '', /time lock delta of 17 is too small, minimum supported is 18/);
      const inbound = await ln.call('UpdateChannelPolicy', { global: true, base_fee_msat: 1, fee_rate_ppm: 1, time_lock_delta: 40, inbound_fee: { base_fee_msat: -1, fee_rate_ppm: 0 } });
      assert.match(inbound.err?.message ?? '', /inbound fees are not supported/);
      const both = await ln.call('UpdateChannelPolicy', { global: true, fee_rate: 0.001, fee_rate_ppm: 5, time_lock_delta: 40 });
      assert.equal(both.err?.code, grpc.status.INVALID_ARGUMENT);
      const missing = await ln.call('UpdateChannelPolicy', { chan_point: { funding_txid_str: 'ab'.repeat(32), output_index: 3 }, base_fee_msat: 1, fee_rate_ppm: 1, time_lock_delta: 40 });
      assert.deepEqual((missing.res.failed_updates as Json[]).map((f) => [f.reason, f.update_error, (f.outpoint as Json).txid_str, (f.outpoint as Json).output_index]), [['UPDATE_FAILURE_NOT_FOUND', 'not found', 'ab'.repeat(32), 3]]);

      const ok = await ln.call('UpdateChannelPolicy', { chan_point: chanPoint, base_fee_msat: 2500, fee_rate: 0.000777, time_lock_delta: 48, max_htlc_msat: 50_000_000 });
      assert.equal(ok.err, null);
      assert.deepEqual(ok.res.failed_updates, []);
      await until(async () => (await ldkView())?.feeBaseMsat === 2500, { what: 'LDK applied UpdateChannelPolicy', timeoutMs: 30_000 });
      const v = (await ldkView())!;
      assert.deepEqual([v.feeProportionalMillionths, v.cltvExpiryDelta, v.htlcMaximumMsat], [777, 48, '50000000']);

      const report = await ln.call('FeeReport', {});
      assert.equal(report.err, null);
      assert.deepEqual(report.res.channel_fees, [
        { chan_id: String(scidFromString(scid)), channel_point: `${txid}:${vout}`, base_fee_msat: '2500', fee_per_mil: '777', fee_rate: 0.000777, inbound_base_fee_msat: 0, inbound_fee_per_mil: 0 },
      ]);
    } finally {
      ln.close();
    }
  });

  it('DescribeGraph, GetNodeInfo, GetChanInfo and GetNetworkInfo agree with listchannels and listnodes', async () => {
    const ln = lightning(anode);
    try {
      await ldk.broadcastNodeAnnouncement({ alias: 'ldk-policy' });
      await until(() => anode.node.gossip!.graph.nodeInfo(ldk.nodeId.toString('hex'))?.alias === 'ldk-policy', { what: 'LDK’s node announcement', timeoutMs: 30_000 });
      const lc = ((await rpcCall(sock(), 'listchannels', {})).result as { channels: Json[] }).channels;
      const ln2 = ((await rpcCall(sock(), 'listnodes', {})).result as { nodes: Json[] }).nodes;
      const g = (await ln.call('DescribeGraph', {})).res as { nodes: Json[]; edges: Json[] };
      // Every direction listchannels shows is the matching node policy of an edge.
      const fromEdges = g.edges.flatMap((e) =>
        ([['node1_policy', e.node1_pub, e.node2_pub], ['node2_policy', e.node2_pub, e.node1_pub]] as const)
          .filter(([k]) => e[k] !== null)
          .map(([k, src, dst]) => {
            const p = e[k] as Json;
            return [String(e.channel_id), src, dst, Number(p.fee_base_msat), Number(p.fee_rate_milli_msat), p.time_lock_delta, Number(p.min_htlc), Number(p.max_htlc_msat), p.last_update, !p.disabled, Number(e.capacity) * 1000];
          }),
      );
      const fromList = lc.map((c) => [String(scidFromString(c.short_channel_id as string)), c.source, c.destination, c.base_fee_millisatoshi, c.fee_per_millionth, c.delay, c.htlc_minimum_msat, c.htlc_maximum_msat, c.last_update, c.active, c.amount_msat]);
      const sort = (a: unknown[][]) => a.map((x) => JSON.stringify(x)).sort();
      assert.deepEqual(sort(fromEdges), sort(fromList));
      assert.equal(g.edges.length, 1);
      assert.equal(g.edges[0]!.chan_point, `${ch.data.funding.txid}:${ch.data.funding.vout}`);
      assert.deepEqual(
        g.nodes.map((n) => [n.pub_key, n.alias, n.last_update]).sort(),
        ln2.map((n) => [n.nodeid, n.alias ?? '', n.last_timestamp ?? 0]).sort(),
      );
      const ldkNode = g.nodes.find((n) => n.pub_key === ldk.nodeId.toString('hex'))!;
      assert.equal(ldkNode.color, `#${(ln2.find((n) => n.nodeid === ldk.nodeId.toString('hex'))!.color as string)}`);

      const info = (await ln.call('GetNodeInfo', { pub_key: ldk.nodeId.toString('hex'), include_channels: true })).res as Json;
      assert.deepEqual([info.num_channels, info.total_capacity, (info.node as Json).alias, (info.channels as Json[]).length], [1, '700000', 'ldk-policy', 1]);
      const lean = (await ln.call('GetNodeInfo', { pub_key: ldk.nodeId.toString('hex') })).res as Json;
      assert.deepEqual(lean.channels, []);
      const none = await ln.call('GetNodeInfo', { pub_key: `02${'11'.repeat(32)}` });
      assert.deepEqual([none.err?.code, none.err?.details], [grpc.status.NOT_FOUND, 'unable to find node']);

      const byId = (await ln.call('GetChanInfo', { chan_id: String(scidFromString(scid)) })).res;
      const byPoint = (await ln.call('GetChanInfo', { chan_point: `${ch.data.funding.txid}:${ch.data.funding.vout}` })).res;
      assert.deepEqual(byId, g.edges[0]);
      assert.deepEqual(byPoint, g.edges[0]);
      const noEdge = await ln.call('GetChanInfo', { chan_id: '12345' });
      assert.deepEqual([noEdge.err?.code, noEdge.err?.details], [grpc.status.NOT_FOUND, 'edge not found']);

      const net = (await ln.call('GetNetworkInfo', {})).res as Json;
      assert.deepEqual(
        [net.num_nodes, net.num_channels, net.max_out_degree, net.avg_out_degree, net.total_network_capacity, net.avg_channel_size, net.min_channel_size, net.max_channel_size, net.median_channel_size_sat],
        [ln2.length, lc.length / 2, 1, 1, '700000', 700000, '700000', '700000', '700000'],
      );
    } finally {
      ln.close();
    }
  });

  it('after a restart the policy is the one set: FeeReport and the next update carry it', async () => {
    const dir = anode.dir;
    await anode.stop();
    anode = await startNode(btcd.node, { dir, extra: ['--alias=anode-policy', '--fee-base=1500', '--fee-per-satoshi=20', '--cltv-delta=40'] });
    const p = anode.node.announcer!.policyOf(ch.id);
    assert.deepEqual([p.feeBaseMsat, p.feeProportionalMillionths, p.cltvExpiryDelta, p.htlcMaximumMsat, p.previous], [2500, 777, 48, 50_000_000n, undefined]);
    const ln = lightning(anode);
    try {
      const report = (await ln.call('FeeReport', {})).res as { channel_fees: Json[] };
      assert.deepEqual(report.channel_fees.map((c) => [c.base_fee_msat, c.fee_per_mil]), [['2500', '777']]);
    } finally {
      ln.close();
    }
    // A new change after the restart is still newer than what LDK holds.
    await until(() => anode.node.peers.peer(ldk.nodeId.toString('hex')), { what: 'anode reconnected to LDK', timeoutMs: 60_000 });
    const last = (await ldkView())!.lastUpdate;
    const r = (await rpcCall(sock(), 'setchannel', { id: 'all', feebase: 1234 })).result as { channels: Json[] };
    assert.equal(r.channels.length, 1);
    await until(async () => (await ldkView())?.feeBaseMsat === 1234, { what: 'LDK applied the post-restart update', timeoutMs: 60_000 });
    assert.ok((await ldkView())!.lastUpdate > last);
  });
});
