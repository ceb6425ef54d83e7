/**
 * `pay` over routes anode finds itself, through a real LDK forwarder, on btcd regtest: anode has one
 * public channel to LDK1; LDK1 has a public channel to LDK2 that anode learns only from gossip (its
 * announcement checked on chain).
 * - CLN `getroute` and LND `QueryRoutes` (REST) give the two hops, priced by LDK1's announced policy to
 *   the msat and block;
 * - CLN `keysend` (no route hint exists for it: only the graph reaches LDK2) and `pay` of an LDK2
 *   invoice deliver over them (LDK1 forwards), the fee paid being exactly that hop's fee;
 * - a keysend larger than LDK1's real outbound liquidity (the gossip capacity says it fits) fails at
 *   LDK1 with temporary_channel_failure; mission control then knows that direction cannot carry the
 *   amount, so `getroute` finds no route for it while a smaller amount still goes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import { scidFromString } from '../../src/gossip/messages.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import { interopGate } from '../interop/adapter.js';
import { LdkPeer, ldkUnavailableReason } from '../interop/peers/ldk.js';
import { newP2wpkhKey, signP2wpkhSpend, useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { rest } from '../rpc/lnd/harness.js';
import { chanId } from '../../src/rpc/lnd/channels.js';
import { readFileSync } from 'node:fs';

const gate = interopGate('ldk', 'pay over the graph through LDK', ldkUnavailableReason());
const btcd = useBtcd('pay over the graph through LDK');
const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

describe('pay over the graph through an LDK forwarder', { skip: gate.skip || btcd.skip, timeout: 300_000 }, () => {
  let ldk1: LdkPeer;
  let ldk2: LdkPeer;
  let anode: TestNode;
  let sock: string;
  let ldkScid: string;
  const follow = async (): Promise<void> => {
    await ldk1.channels.followChain();
    await ldk2.channels.followChain();
    await anode.channels.syncChain();
  };

  before(async () => {
    gate.require();
    const log = (name: string) => (verbose ? (l: string) => process.stderr.write(`[${name}] ${l}\n`) : undefined);
    ldk1 = new LdkPeer({ seed: Buffer.alloc(32, 0x71), log: log('ldk1') });
    ldk2 = new LdkPeer({ seed: Buffer.alloc(32, 0x72), log: log('ldk2') });
    await Promise.all([ldk1.start(), ldk2.start()]);
    await ldk1.channels.useChain(btcd.node);
    await ldk2.channels.useChain(btcd.node);
    anode = await startNode(btcd.node);
    sock = join(anode.dir, 'regtest', 'lightning-rpc');
    const port2 = await ldk2.listen();
    await ldk1.connect('127.0.0.1', port2, ldk2.nodeId);
    await ldk2.waitForPeer(ldk1.nodeId, 10_000);
    const port1 = await ldk1.listen();
    await anode.node.peers.connect(ldk1.nodeId, '127.0.0.1', port1);
    await ldk1.waitForPeer(anode.node.nodeId, 10_000);
    await fundWallet(btcd.node, anode, 3_000_000n);
  });
  after(async () => {
    await anode?.stop();
    await ldk1?.stop();
    await ldk2?.stop();
  });

  it('getroute finds LDK2 through LDK1 from gossip alone, priced by LDK1’s announced policy', async () => {
    // LDK1 → LDK2, public, 1,000,000 sat with 850,000 pushed: LDK1 can forward ~140,000 sat, not the capacity.
    const { temporaryChannelId } = await ldk1.openChannel({ nodeId: ldk2.nodeId, amountSat: 1_000_000, pushMsat: 850_000_000, announce: true });
    const out = await ldk1.fundingOutput(temporaryChannelId);
    const key = newP2wpkhKey();
    const utxo = await btcd.node.fund(key.script, 1_010_000n);
    await ldk1.syncTo(btcd.node);
    const funding = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script: Buffer.from(out.scriptHex, 'hex'), amountSat: 1_000_000n }]);
    await ldk1.fundingTransactionGenerated(temporaryChannelId, ldk2.nodeId, funding.hex);
    await ldk1.waitForEvent('ChannelPending', { channelId: temporaryChannelId });
    await btcd.node.publish(await ldk1.waitForBroadcasts());
    await ldk1.channels.followChain();
    const r = await anode.channels.fundChannel({ peerId: ldk1.nodeId.toString('hex'), amountSat: 600_000n, announce: true });
    const ours = anode.channels.get(r.channelId)!;
    const graph = anode.node.gossip!.graph;
    const ldk2Id = ldk2.nodeId.toString('hex');
    // Both channels announced at 6 confirmations; anode checks LDK's on chain and takes both updates.
    await btcd.node.mineUntil(
      () => {
        const row = graph.nodeIndex(ldk2Id);
        if (row === undefined || ours.data.state !== 'CHANNELD_NORMAL') return false;
        let found = false;
        graph.forEachEdge(row, (c, d) => (found ||= graph.policy(c, (1 - d) as 0 | 1) !== undefined));
        return found;
      },
      'anode has the LDK1 → LDK2 channel and its update',
      { maxBlocks: 14, settleMs: 1500, follow },
    );
    const reply = await rpcCall(sock, 'getroute', { id: ldk2Id, amount_msat: 50_000_000, riskfactor: 10 });
    const route = reply.result!.route as { id: string; channel: string; direction: number; amount_msat: number; delay: number }[];
    assert.deepEqual(
      route.map((h) => h.id),
      [ldk1.nodeId.toString('hex'), ldk2Id],
    );
    ldkScid = route[1]!.channel;
    const info = graph.channel(scidFromString(ldkScid)!)!;
    const p = info.policies[route[1]!.direction]!;
    const fee = BigInt(p.feeBaseMsat) + (50_000_000n * BigInt(p.feeProportionalMillionths)) / 1_000_000n;
    assert.deepEqual(
      route.map((h) => [BigInt(h.amount_msat), h.delay]),
      [
        [50_000_000n + fee, 9 + p.cltvExpiryDelta],
        [50_000_000n, 9],
      ],
    );
    assert.equal(route[0]!.channel, ours.data.shortChannelId);
    // LND's QueryRoutes over REST: the same route in LND's shape (each hop's forward, fee and expiry).
    const lnd = anode.node.lnd!;
    const target = { restPort: lnd.rest[0]!.port, cert: lnd.certPem, admin: readFileSync(lnd.adminMacaroonPath) };
    const res = await rest(target, 'GET', `/v1/graph/routes/${ldk2Id}/50000?final_cltv_delta=20`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const lr = (res.body.routes as Record<string, unknown>[])[0]!;
    const height = anode.channels.blockHeight;
    assert.deepEqual(
      (lr.hops as Record<string, unknown>[]).map((h) => [h.pub_key, h.chan_id, h.amt_to_forward_msat, h.fee_msat, h.expiry]),
      [
        [ldk1.nodeId.toString('hex'), chanId(ours.data.shortChannelId), '50000000', String(fee), height + 20],
        [ldk2Id, chanId(ldkScid), '50000000', '0', height + 20],
      ],
    );
    assert.deepEqual([lr.total_amt_msat, lr.total_fees_msat, lr.total_time_lock], [String(50_000_000n + fee), String(fee), height + 20 + p.cltvExpiryDelta]);
    assert.ok((res.body.success_prob as number) > 0 && (res.body.success_prob as number) <= 1);
  });

  it('keysend (no hint possible) and pay of LDK2’s invoice go over the two hops, paying exactly LDK1’s fee', async () => {
    const ldk2Id = ldk2.nodeId.toString('hex');
    const dir = ldk1.nodeId.toString('hex') < ldk2Id ? 0 : 1;
    const p = anode.node.gossip!.graph.channel(scidFromString(ldkScid)!)!.policies[dir]!;
    const fee = (amt: bigint): bigint => BigInt(p.feeBaseMsat) + (amt * BigInt(p.feeProportionalMillionths)) / 1_000_000n;
    // Keysend: only the graph knows the way to LDK2.
    const sent = (await rpcCall(sock, 'keysend', { destination: ldk2Id, amount_msat: 20_000_000 })).result!;
    assert.equal(sent.status, 'complete');
    assert.equal(BigInt(sent.amount_sent_msat as number), 20_000_000n + fee(20_000_000n));
    // An LDK invoice: its route hint is the same LDK1 → LDK2 channel under an alias scid.
    const bolt11 = await ldk2.createInvoice({ amountMsat: 50_000_000n, description: 'over the graph' });
    assert.deepEqual(
      decodeInvoice(bolt11).routeHints.flat().map((h) => h.nodeId.toString('hex')),
      [ldk1.nodeId.toString('hex')],
    );
    const paid = (await rpcCall(sock, 'pay', { bolt11 })).result!;
    assert.equal(paid.status, 'complete');
    assert.equal(sha256(Buffer.from(paid.payment_preimage as string, 'hex')).toString('hex'), paid.payment_hash);
    assert.equal(BigInt(paid.amount_sent_msat as number), 50_000_000n + fee(50_000_000n));
    for (const hash of [sent.payment_hash, paid.payment_hash]) {
      const sends = (await rpcCall(sock, 'listsendpays', { payment_hash: hash })).result!.payments as Record<string, unknown>[];
      assert.deepEqual(
        sends.map((s) => s.status),
        ['complete'],
        'one part, first try',
      );
    }
  });

  it('a failing hop teaches mission control: LDK1 lacks the liquidity the gossip capacity promises', async () => {
    const ldk2Id = ldk2.nodeId.toString('hex');
    const outbound = (await ldk1.listChannels()).find((c) => c.counterpartyNodeId === ldk2Id)!.outboundCapacityMsat;
    const amount = 400_000_000; // 400,000 sat: well within the 1,000,000 sat capacity, far above LDK1's outbound
    assert.ok(outbound < amount, `LDK1 can send ${outbound} msat`);
    assert.ok((await rpcCall(sock, 'getroute', { id: ldk2Id, amount_msat: amount, riskfactor: 10 })).result, 'the graph alone says it fits');
    const failed = await rpcCall(sock, 'keysend', { destination: ldk2Id, amount_msat: amount, retry_for: 20 });
    assert.ok(failed.error, 'the keysend fails');
    const data = (failed.error as unknown as { data?: Record<string, unknown> }).data;
    assert.deepEqual([data?.erring_index, data?.failcode, data?.erring_node], [1, 0x1007, ldk1.nodeId.toString('hex')], 'temporary_channel_failure at LDK1');
    // Learnt: the LDK1 → LDK2 direction cannot carry that amount (for about an hour), a smaller one still goes.
    const again = await rpcCall(sock, 'getroute', { id: ldk2Id, amount_msat: amount, riskfactor: 10 });
    assert.deepEqual([again.error?.code, again.error?.message], [205, 'Could not find a route']);
    assert.ok((await rpcCall(sock, 'getroute', { id: ldk2Id, amount_msat: 10_000_000, riskfactor: 10 })).result);
    const tries = (await rpcCall(sock, 'listsendpays', {})).result!.payments as Record<string, unknown>[];
    assert.equal(tries.filter((s) => s.status === 'failed').length, 1, 'one attempt: the next search found nothing better to try');
  });
});
