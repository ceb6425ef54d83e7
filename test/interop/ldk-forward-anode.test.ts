/**
 * Issue 14, forwarding, anode → anode → LDK 0.1 on btcd regtest: anode A pays an LDK invoice through
 * anode B (both whole nodes in this process, SQLite, TCP) with `sendpay` over a route A builds from B's
 * policy. B's fee and CLTV delta are read from the HTLC B receives and the one it sends; LDK claims and
 * A records the preimage. A route paying B one msat too little fails at B with `fee_insufficient`: A
 * decodes it (erring index 1, B's node) and the `channel_update` inside is B's, signed by B, with B's
 * policy.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { DEFAULT_POLICY } from '../../src/gossip/announce.js';
import { decodeGossipMessage, GossipMessageType, scidFromString, type ChannelUpdate } from '../../src/gossip/messages.js';
import { signedDigest, SIGNED_FROM } from '../../src/gossip/validate.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import { decodeFailureMessage, FailureCode } from '../../src/onion/failure.js';
import { forwardingFee } from '../../src/payment/forward-policy.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';

const gate = interopGate('ldk', 'anode forwards from anode to ldk', ldkUnavailableReason());
const btcd = useBtcd('anode forwards from anode to ldk');

type Json = Record<string, unknown>;

describe('anode → anode → LDK: a forwarded payment at B’s policy, and fee_insufficient decoded at A', { skip: gate.skip || btcd.skip, timeout: 240_000 }, () => {
  let ldk: LdkPeer;
  let a: TestNode | undefined;
  let b: TestNode | undefined;
  let ab: Channel;
  let bl: Channel;
  const call = async (n: TestNode, method: string, params: Json): Promise<{ result?: Json; error?: { code: number; message: string; data?: Json } }> =>
    (await rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), method, params)) as { result?: Json; error?: { code: number; message: string; data?: Json } };

  before(async () => {
    gate.require();
    ldk = new LdkPeer({ seed: Buffer.alloc(32, 0x7a), log: (l) => process.env.ANODE_INTEROP_VERBOSE === '1' && process.stderr.write(`[ldk] ${l}\n`) });
    await ldk.start();
    await ldk.channels.useChain(btcd.node);
    a = await startNode(btcd.node);
    b = await startNode(btcd.node);
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    const ldkPort = await ldk.listen();
    await b.node.peers.connect(ldk.nodeId, '127.0.0.1', ldkPort);
    await ldk.waitForPeer(b.node.nodeId, 10_000);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, feeratePerKw: 1000 });
    const opened = await ldk.channels.open({ nodeId: b.node.nodeId, amountSat: 500_000n, pushMsat: 300_000_000n });
    await until(() => b!.channels.list().length === 2, { what: 'B has both channels', timeoutMs: 30_000 });
    ab = a.channels.list()[0]!;
    bl = await until(() => b!.channels.get(opened.channelId), 'B has the LDK channel');
    const follow = async (): Promise<void> => {
      await ldk.channels.followChain();
    };
    await btcd.node.mineUntil(async () => ab.usable && bl.usable && b!.channels.list().every((c) => c.usable) && (await ldk.channels.list()).some((c) => c.channelId === opened.channelId && c.state === 'usable'), 'all channels usable', { maxBlocks: 8, settleMs: 500, follow });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await ldk?.stop();
  });

  /** A's route to LDK through B paying `feeMsat` to B, B's delta `delta`. */
  function route(amountMsat: bigint, finalCltv: number, feeMsat: bigint, delta = DEFAULT_POLICY.cltvExpiryDelta): Json[] {
    // Delays relative to A's blockheight + 1, as CLN's sendpay takes them.
    return [
      { id: b!.id, channel: ab.data.shortChannelId, amount_msat: Number(amountMsat + feeMsat), delay: finalCltv + delta },
      { id: ldk.nodeId.toString('hex'), channel: bl.data.shortChannelId, amount_msat: Number(amountMsat), delay: finalCltv },
    ];
  }

  it("A pays LDK's invoice through B: B takes its policy's fee and CLTV delta; LDK claims; A has the preimage", async () => {
    const amount = 25_000_000n;
    const inv = decodeInvoice(await ldk.createInvoice({ amountMsat: amount }));
    const fee = forwardingFee(DEFAULT_POLICY, amount);
    const seen: { in?: { amountMsat: bigint; cltvExpiry: number }; out?: { amountMsat: bigint; cltvExpiry: number } } = {};
    const bIn = b!.channels.list().find((c) => c.data.peerId === a!.id)!;
    bIn.once('htlcReceived', (h) => (seen.in = h));
    // What B's switch offers LDK, as it hands it to the channel.
    const offer = bl.addHtlc.bind(bl);
    bl.addHtlc = (h) => ((seen.out = h), offer(h));
    const since = (await ldk.events()).length;
    const sent = await call(a!, 'sendpay', { route: route(amount, inv.minFinalCltvExpiryDelta + 2, fee), payment_hash: inv.paymentHash.toString('hex'), payment_secret: inv.paymentSecret.toString('hex'), amount_msat: Number(amount) });
    assert.equal(sent.error, undefined, JSON.stringify(sent.error));
    const done = await call(a!, 'waitsendpay', { payment_hash: inv.paymentHash.toString('hex'), timeout: 60 });
    assert.equal(done.error, undefined, JSON.stringify(done.error));
    assert.equal(done.result?.status, 'complete');
    bl.addHtlc = offer;
    assert.ok(seen.in && seen.out);
    assert.equal(seen.in.amountMsat - seen.out.amountMsat, fee, "B kept exactly its policy's fee");
    assert.equal(seen.out.amountMsat, amount);
    assert.equal(seen.in.cltvExpiry - seen.out.cltvExpiry, DEFAULT_POLICY.cltvExpiryDelta, "B's delta is its cltv_expiry_delta");
    const claimed = await until(async () => (await ldk.events(since)).find((e) => e.type === 'PaymentClaimed' && e.paymentHash === inv.paymentHash.toString('hex')), { what: 'LDK claimed', timeoutMs: 30_000 });
    assert.equal(BigInt(claimed.amountMsat!), amount);
    const fwd = ((await call(b!, 'listforwards', { status: 'settled' })).result!.forwards as Json[])[0]!;
    assert.deepEqual([fwd.in_msat, fwd.out_msat, fwd.fee_msat, fwd.in_channel, fwd.out_channel], [Number(amount + fee), Number(amount), Number(fee), bIn.data.shortChannelId, bl.data.shortChannelId]);
  });

  it("one msat short of B's fee: fee_insufficient from B, decoded at A with B's signed channel_update", async () => {
    const amount = 5_000_000n;
    const inv = decodeInvoice(await ldk.createInvoice({ amountMsat: amount }));
    const fee = forwardingFee(DEFAULT_POLICY, amount) - 1n;
    const hash = inv.paymentHash.toString('hex');
    assert.equal((await call(a!, 'sendpay', { route: route(amount, inv.minFinalCltvExpiryDelta + 2, fee), payment_hash: hash, payment_secret: inv.paymentSecret.toString('hex'), amount_msat: Number(amount) })).error, undefined);
    const r = await call(a!, 'waitsendpay', { payment_hash: hash, timeout: 60 });
    const data = r.error?.data;
    assert.equal(r.error?.code, 204, 'a hop on the way failed: another route may work');
    assert.deepEqual([data?.erring_index, data?.erring_node, data?.failcode, data?.failcodename], [1, b!.id, FailureCode.FEE_INSUFFICIENT, 'WIRE_FEE_INSUFFICIENT']);
    const msg = decodeFailureMessage(Buffer.from(data!.raw_message as string, 'hex')) as { code: number; htlcMsat: bigint; channelUpdate: Buffer };
    assert.equal(msg.htlcMsat, amount + fee, 'the HTLC amount B received');
    const payload = msg.channelUpdate.subarray(2);
    assert.equal(msg.channelUpdate.readUInt16BE(0), GossipMessageType.CHANNEL_UPDATE);
    const u = decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, payload) as ChannelUpdate;
    assert.equal(u.shortChannelId, scidFromString(bl.data.shortChannelId!), "the update is for B's outgoing channel");
    assert.deepEqual([u.feeBaseMsat, u.feeProportionalMillionths, u.cltvExpiryDelta], [DEFAULT_POLICY.feeBaseMsat, DEFAULT_POLICY.feeProportionalMillionths, DEFAULT_POLICY.cltvExpiryDelta]);
    assert.ok(secp.verify(signedDigest(payload, SIGNED_FROM.channelUpdate), Buffer.from(b!.id, 'hex'), u.signature), 'signed by B');
    const local = ((await call(b!, 'listforwards', { status: 'local_failed' })).result!.forwards as Json[])[0]!;
    assert.deepEqual([local.failcode, local.failreason], [FailureCode.FEE_INSUFFICIENT, 'fee_insufficient']);
  });
});
