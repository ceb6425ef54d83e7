/**
 * routerrpc over gRPC (grpc-js with anode's proto/) against real LDK 0.1 nodes on btcd regtest: what an
 * LND user passes to SendPaymentV2 besides the invoice, EstimateRouteFee, and the channel_update a
 * failure carries.
 *
 *     anode ──c1 1 000 000── LDK1 ──l12 400 000 (public)── LDK2
 *       └───────────c2 200 000──────────────────────────────┘
 *
 * LDK caps what may be in flight towards it at a tenth of a channel (its default), so c2 carries at most
 * ~20 000 sat at once and the path through LDK1 ~40 000 (what LDK1 announces for l12 as its
 * htlc_maximum_msat). Paying LDK2 directly over c2 costs no fee; through LDK1 it costs LDK1's fee.
 *  - outgoing_chan_ids = [c1] forces a payment through LDK1 that would go direct; last_hop_pubkey = LDK1
 *    too; a cltv_limit below every such route's time lock ends FAILED / FAILURE_REASON_NO_ROUTE.
 *  - max_parts = 1 refuses to split an amount no single path carries (FAILED, no HTLC); the default splits
 *    it; max_shard_size_msat bounds every part.
 *  - a keysend's dest_features: a missing dependency refused, an unknown required bit unroutable; its
 *    route_hints add a private channel the graph does not have (anode2 → LDK2).
 *  - EstimateRouteFee by dest (gRPC and REST with the read-only macaroon) and by invoice: LDK1's fee and
 *    the time lock through it.
 *  - an HTLC under-paying a forwarding anode (anode → anode2 → LDK2, CLN sendpay) fails with
 *    fee_insufficient: TrackPaymentV2's Failure carries anode2's channel_update, each field as signed
 *    (LDK 0.1 sends no channel_update in its failures, so the forwarder is a second anode).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../../src/channel/channel.js';
import { sha256 } from '../../../src/crypto/hash.js';
import { DEFAULT_POLICY } from '../../../src/gossip/announce.js';
import { gossipMessagePayload, GossipMessageType, scidFromString, type ChannelUpdate } from '../../../src/gossip/messages.js';
import { signedDigest, SIGNED_FROM } from '../../../src/gossip/validate.js';
import { secp } from '../../../src/crypto/secp256k1.js';
import { forwardingFee } from '../../../src/payment/forward-policy.js';
import { decodeInvoice } from '../../../src/invoice/bolt11.js';
import { sendable } from '../../../src/payment/capacity.js';
import { KEYSEND_FINAL_CLTV_DELTA } from '../../../src/payment/pay.js';
import { chanId } from '../../../src/rpc/lnd/channels.js';
import { packageDefinition } from '../../../src/rpc/lnd/methods.js';
import { SOFT_FORKS_ACTIVE_HEIGHT, useBtcd } from '../../harness/btcd.js';
import { cliJson, fundWallet, startNode, type TestNode } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { interopGate } from '../../interop/adapter.js';
import { startLdkNetwork, type LdkNetwork } from '../../interop/ldk-network.js';
import { rest } from './harness.js';
import { ldkUnavailableReason, type LdkPeer } from '../../interop/peers/ldk.js';

const gate = interopGate('ldk', 'routerrpc options against ldk', ldkUnavailableReason());
const btcd = useBtcd('routerrpc options against ldk');

type Json = Record<string, unknown>;
type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
const KEYSEND = '5482373484';
/** Regtest's genesis block hash in wire (internal) byte order, as channel_update's chain_hash carries it. */
const REGTEST_CHAIN = Buffer.from('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206', 'hex').reverse();

/** A gRPC client of anode's routerrpc.Router and lnrpc.Lightning with the admin macaroon. */
function clients(n: TestNode): { stream(method: string, req: Json): Promise<{ msgs: Json[]; err: grpc.ServiceError | null }>; unary(service: 'router' | 'lightning', method: string, req: Json): Promise<{ res: Json; err: grpc.ServiceError | null }>; close(): void } {
  const h = n.node.lnd!;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pkg = grpc.loadPackageDefinition(packageDefinition()) as any;
  const creds = grpc.credentials.createSsl(Buffer.from(h.certPem));
  const opts = { 'grpc.ssl_target_name_override': 'localhost' };
  const addr = `127.0.0.1:${h.rpc[0]!.port}`;
  const router = new pkg.routerrpc.Router(addr, creds, opts) as Client;
  const lightning = new pkg.lnrpc.Lightning(addr, creds, opts) as Client;
  const md = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set('macaroon', readFileSync(h.adminMacaroonPath).toString('hex'));
    return m;
  };
  return {
    stream: (method, req) =>
      new Promise((resolve) => {
        const msgs: Json[] = [];
        const call = router[method]!(req, md(), { deadline: Date.now() + 120_000 }) as grpc.ClientReadableStream<Json>;
        call.on('data', (m: Json) => msgs.push(m));
        call.on('error', (err: grpc.ServiceError) => resolve({ msgs, err }));
        call.on('end', () => resolve({ msgs, err: null }));
      }),
    unary: (service, method, req) =>
      new Promise((resolve) => {
        const c = service === 'router' ? router : lightning;
        c[method]!(req, md(), { deadline: Date.now() + 30_000 }, (err: grpc.ServiceError | null, res: Json) => resolve({ res, err }));
      }),
    close: () => {
      router.close();
      lightning.close();
    },
  };
}

describe('routerrpc SendPaymentV2 options, EstimateRouteFee and Failure.channel_update against LDK', { skip: gate.skip || btcd.skip, timeout: 420_000 }, () => {
  let net: LdkNetwork;
  let ldk1: LdkPeer;
  let ldk2: LdkPeer;
  let ids: string[];
  let c1: Channel;
  let c2: Channel;
  let l12: string;
  let rpc: ReturnType<typeof clients>;

  before(async () => {
    gate.require();
    await btcd.node.mineTo(SOFT_FORKS_ACTIVE_HEIGHT + 1);
    net = await startLdkNetwork(btcd.node, { ldk: [{ seed: 0x91 }, { seed: 0x92, channels: { maxInboundHtlcValueInFlightPercent: 10 } }], anodeExtra: ['--alias=anode-routerrpc'], ldkLinks: [[0, 1]], fundSat: 2_000_000n });
    [ldk1, ldk2] = net.ldk as [LdkPeer, LdkPeer];
    ids = net.ldk.map((l) => l.nodeId.toString('hex'));
    const anode = net.anode;
    // A second output, so the second channel does not wait for the first one's change.
    await fundWallet(btcd.node, anode, 300_000n);
    await net.follow();
    c1 = anode.channels.get((await anode.channels.fundChannel({ peerId: ids[0]!, amountSat: 1_000_000n, announce: false })).channelId)!;
    await net.follow();
    c2 = anode.channels.get((await anode.channels.fundChannel({ peerId: ids[1]!, amountSat: 200_000n, announce: false })).channelId)!;
    const c12 = await net.openLdkChannel(0, 1, 400_000n);
    await net.mineUntil(() => c1.usable && c2.usable, 'anode’s channels usable');
    l12 = (await ldk1.listChannels()).find((c) => c.channelId === c12)!.shortChannelId!;
    const known = (): boolean => {
      const c = anode.node.gossip!.graph.channel(scidFromString(l12)!);
      return c?.policies[0] !== undefined && c.policies[1] !== undefined;
    };
    await net.mineUntil(known, 'anode has LDK1–LDK2 with both updates', 12);
    // LDK puts route hints in its invoices while a public channel has fewer than 7 confirmations: none here.
    await net.mineUntil(async () => (await ldk2.listChannels()).every((c) => (c.confirmations ?? 0) >= 7), 'LDK2’s channels have 7 confirmations');
    rpc = clients(anode);
  });
  let anode2: TestNode | undefined;
  after(async () => {
    rpc?.close();
    await anode2?.stop();
    await net?.stop();
  });

  const height = (): number => net.anode.channels.blockHeight;
  const c1Id = (): string => chanId(c1.data.shortChannelId);
  const c2Id = (): string => chanId(c2.data.shortChannelId);
  /** LDK1's policy for l12 as anode's listchannels shows it. */
  async function ldk1Policy(): Promise<Json> {
    const { channels } = await cliJson<{ channels: Json[] }>(net.anode.dir, 'listchannels', l12);
    return channels.find((c) => c.source === ids[0])!;
  }
  const feeOf = (p: Json, amountMsat: bigint): bigint => BigInt(p.base_fee_millisatoshi as number) + (amountMsat * BigInt(p.fee_per_millionth as number)) / 1_000_000n;
  async function claimed(hash: string, since: number): Promise<bigint> {
    const ev = await until(async () => (await ldk2.events(since)).find((e) => e.type === 'PaymentClaimed' && e.paymentHash === hash), { what: 'LDK2 claimed the payment', timeoutMs: 30_000 });
    return BigInt(ev.amountMsat!);
  }
  const final = (msgs: Json[]): Json => msgs[msgs.length - 1]!;
  const hopsOf = (htlc: Json): Json[] => (htlc.route as Json).hops as Json[];
  const succeeded = (p: Json): Json[] => (p.htlcs as Json[]).filter((h) => h.status === 'SUCCEEDED');

  it('outgoing_chan_ids = [c1]: SendPaymentV2 pays LDK2 through LDK1 over c1, paying LDK1’s fee, though c2 is cheaper', async () => {
    const amount = 10_000_000n;
    // Unrestricted, the route is direct over c2 (no fee): the one the restriction changes.
    const q = await rpc.unary('lightning', 'QueryRoutes', { pub_key: ids[1], amt: String(amount / 1000n) });
    assert.equal(q.err, null);
    assert.deepEqual(((q.res.routes as Json[])[0]!.hops as Json[]).map((h) => [h.chan_id, h.pub_key]), [[c2Id(), ids[1]]]);
    const bolt11 = await ldk2.createInvoice({ amountMsat: amount, description: 'outgoing' });
    const since = (await ldk2.events()).length;
    const { msgs, err } = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, fee_limit_sat: '100', outgoing_chan_ids: [c1Id()] });
    assert.equal(err, null, err?.details);
    const p = final(msgs);
    assert.equal(p.status, 'SUCCEEDED', JSON.stringify(p.failure_reason));
    const [htlc] = succeeded(p);
    assert.deepEqual(hopsOf(htlc!).map((h) => [h.chan_id, h.pub_key]), [
      [c1Id(), ids[0]],
      [chanId(l12), ids[1]],
    ]);
    assert.equal(BigInt(p.fee_msat as string), feeOf(await ldk1Policy(), amount), 'LDK1’s advertised fee was paid');
    assert.equal(await claimed(decodeInvoice(bolt11).paymentHash.toString('hex'), since), amount);
    // LND's own refusals of the restriction.
    const both = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, outgoing_chan_id: c1Id(), outgoing_chan_ids: [c2Id()] });
    assert.deepEqual([both.err?.code, both.err?.details], [grpc.status.UNKNOWN, 'outgoing_chan_id and outgoing_chan_ids are mutually exclusive']);
  });

  it('last_hop_pubkey = LDK1: the route reaches LDK2 from LDK1; a cltv_limit below its time lock: FAILED, FAILURE_REASON_NO_ROUTE, no HTLC', async () => {
    const amount = 12_000_000n;
    const bolt11 = await ldk2.createInvoice({ amountMsat: amount, description: 'last hop' });
    const inv = decodeInvoice(bolt11);
    const policy = await ldk1Policy();
    // Just above LND's least (final CLTV + 3 blocks of padding), below LDK1's delta on top of it.
    const tight = inv.minFinalCltvExpiryDelta + 4;
    assert.ok(tight < inv.minFinalCltvExpiryDelta + (policy.delay as number));
    const refused = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, fee_limit_sat: '100', last_hop_pubkey: Buffer.from(ids[0]!, 'hex'), cltv_limit: tight });
    assert.equal(refused.err, null, refused.err?.details);
    assert.deepEqual([final(refused.msgs).status, final(refused.msgs).failure_reason, (final(refused.msgs).htlcs as Json[]).length], ['FAILED', 'FAILURE_REASON_NO_ROUTE', 0]);
    const since = (await ldk2.events()).length;
    const { msgs, err } = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, fee_limit_sat: '100', last_hop_pubkey: Buffer.from(ids[0]!, 'hex') });
    assert.equal(err, null, err?.details);
    const p = final(msgs);
    assert.equal(p.status, 'SUCCEEDED');
    const hops = hopsOf(succeeded(p)[0]!);
    assert.deepEqual(hops.map((h) => h.pub_key), [ids[0], ids[1]], 'reaches LDK2 from LDK1');
    assert.equal(await claimed(inv.paymentHash.toString('hex'), since), amount);
    // LND's validation of cltv_limit: at most --max-cltv-expiry (2016), above the final delta and its padding.
    const tooBig = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, cltv_limit: 2017 });
    assert.deepEqual([tooBig.err?.code, tooBig.err?.details], [grpc.status.UNKNOWN, 'total time lock of 2017 exceeds max allowed 2016']);
    const tooSmall = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, cltv_limit: inv.minFinalCltvExpiryDelta + 3 });
    assert.deepEqual([tooSmall.err?.code, tooSmall.err?.details], [grpc.status.UNKNOWN, `cltv limit ${inv.minFinalCltvExpiryDelta + 3} should be greater than ${inv.minFinalCltvExpiryDelta + 3}`]);
  });

  it('EstimateRouteFee by dest + amt_sat and by payment_request: LDK1’s fee and the time lock through it (c2 cannot carry the amount)', async () => {
    const amountSat = 30_000n;
    assert.ok(sendable(c2.data, 'local') < amountSat * 1000n, 'c2 cannot carry it at once');
    const policy = await ldk1Policy();
    const byDest = await rpc.unary('router', 'EstimateRouteFee', { dest: Buffer.from(ids[1]!, 'hex'), amt_sat: String(amountSat) });
    assert.equal(byDest.err, null, byDest.err?.details);
    // LND's probeDestination: the route's fee; its TotalTimeLock (height + deltas + the final delta of a payment by dest) plus 3 blocks of padding.
    assert.deepEqual(byDest.res, { routing_fee_msat: String(feeOf(policy, amountSat * 1000n)), time_lock_delay: String(height() + (policy.delay as number) + KEYSEND_FINAL_CLTV_DELTA + 3), failure_reason: 'FAILURE_REASON_NONE' });
    const bolt11 = await ldk2.createInvoice({ amountMsat: amountSat * 1000n, description: 'estimate' });
    const byInvoice = await rpc.unary('router', 'EstimateRouteFee', { payment_request: bolt11 });
    assert.equal(byInvoice.err, null, byInvoice.err?.details);
    assert.deepEqual(byInvoice.res, { routing_fee_msat: String(feeOf(policy, amountSat * 1000n)), time_lock_delay: String(height() + (policy.delay as number) + decodeInvoice(bolt11).minFinalCltvExpiryDelta + 3), failure_reason: 'FAILURE_REASON_NONE' });
    // REST, with the read-only macaroon (offchain:read): the same estimate, in LND's JSON.
    const regtest = join(net.anode.dir, 'regtest');
    const t = { restPort: net.anode.node.lnd!.rest[0]!.port, cert: readFileSync(join(regtest, 'tls.cert'), 'utf8'), admin: readFileSync(join(regtest, 'admin.macaroon')) };
    const viaRest = await rest(t, 'POST', '/v2/router/route/estimatefee', { macaroon: readFileSync(join(regtest, 'readonly.macaroon')), body: { dest: Buffer.from(ids[1]!, 'hex').toString('base64'), amt_sat: String(amountSat) } });
    assert.deepEqual(viaRest, { status: 200, body: byDest.res });
    const neither = await rpc.unary('router', 'EstimateRouteFee', {});
    assert.deepEqual([neither.err?.code, neither.err?.details], [grpc.status.UNKNOWN, 'specify either a destination or an invoice']);
    const noAmount = await rpc.unary('router', 'EstimateRouteFee', { dest: Buffer.from(ids[1]!, 'hex') });
    assert.equal(noAmount.err?.details, 'amount must be greater than 0');
    const tooMuch = await rpc.unary('router', 'EstimateRouteFee', { dest: Buffer.from(ids[1]!, 'hex'), amt_sat: '900000' });
    assert.equal(tooMuch.err?.details, 'unable to find a path to destination');
  });

  it('max_parts = 1 refuses to split what no single path carries (FAILED, no HTLC); the default (16) splits it; max_shard_size_msat bounds each part', async () => {
    // What each path carries now: c2 at once, and c1 then LDK1's next-HTLC limit on l12.
    const direct = sendable(c2.data, 'local');
    const viaLdk1Limit = BigInt((await ldk1.listChannels()).find((c) => c.shortChannelId === l12)!.nextOutboundHtlcLimitMsat);
    const via = sendable(c1.data, 'local') < viaLdk1Limit ? sendable(c1.data, 'local') : viaLdk1Limit;
    const [big, small] = direct > via ? [direct, via] : [via, direct];
    const amount = ((big + small / 2n) / 1000n) * 1000n;
    assert.ok(amount > direct && amount > via, 'no single path carries it');
    const bolt11 = await ldk2.createInvoice({ amountMsat: amount, description: 'mpp' });
    const hash = decodeInvoice(bolt11).paymentHash.toString('hex');
    const one = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 30, fee_limit_sat: '1000', max_parts: 1 });
    assert.equal(one.err, null, one.err?.details);
    assert.deepEqual([final(one.msgs).status, final(one.msgs).failure_reason, (final(one.msgs).htlcs as Json[]).length], ['FAILED', 'FAILURE_REASON_NO_ROUTE', 0]);
    const since = (await ldk2.events()).length;
    const many = await rpc.stream('SendPaymentV2', { payment_request: bolt11, timeout_seconds: 60, fee_limit_sat: '1000' });
    assert.equal(many.err, null, many.err?.details);
    assert.equal(final(many.msgs).status, 'SUCCEEDED');
    // SUCCEEDED as the first part's preimage arrives (proof of payment); the others settle after.
    const sent = (final(many.msgs).htlcs as Json[]).filter((h) => h.status !== 'FAILED');
    assert.ok(sent.length >= 2, `paid in ${sent.length} parts`);
    assert.equal(await claimed(hash, since), amount);
    await until(async () => (await net.anode.node.store.payments.parts(hash)).filter((x) => x.status === 'complete').length === sent.length, 'every part settled');

    const shard = small / 2n;
    const bolt11b = await ldk2.createInvoice({ amountMsat: amount, description: 'shards' });
    const tooFew = await rpc.stream('SendPaymentV2', { payment_request: bolt11b, timeout_seconds: 60, fee_limit_sat: '1000', max_parts: 2, max_shard_size_msat: String(shard) });
    assert.deepEqual([tooFew.err?.code, tooFew.err?.details], [grpc.status.UNKNOWN, `payment amount ${amount} mSAT exceeds maximum possible amount ${shard * 2n} mSAT with max_parts=2 and max_shard_size_msat=${shard} mSAT`]);
    const sinceB = (await ldk2.events()).length;
    const shards = await rpc.stream('SendPaymentV2', { payment_request: bolt11b, timeout_seconds: 60, fee_limit_sat: '1000', max_shard_size_msat: String(shard) });
    assert.equal(shards.err, null, shards.err?.details);
    const p = final(shards.msgs);
    assert.equal(p.status, 'SUCCEEDED');
    for (const h of (p.htlcs as Json[]).filter((x) => x.status !== 'FAILED')) {
      const hops = hopsOf(h);
      assert.ok(BigInt(hops[hops.length - 1]!.amt_to_forward_msat as string) <= shard, `a part delivers at most ${shard} msat`);
    }
    assert.equal(await claimed(decodeInvoice(bolt11b).paymentHash.toString('hex'), sinceB), amount);
  });

  it('keysend dest_features: a missing dependency refused; an unknown required bit unroutable; valid ones and final_cltv_delta honoured', async () => {
    const keysend = (features: unknown[], extra: Json = {}): { req: Json; hash: string } => {
      const preimage = randomBytes(32);
      return { req: { dest: Buffer.from(ids[1]!, 'hex'), amt: '5000', timeout_seconds: 30, payment_hash: sha256(preimage), dest_custom_records: { [KEYSEND]: preimage }, dest_features: features, ...extra }, hash: sha256(preimage).toString('hex') };
    };
    const missing = await rpc.stream('SendPaymentV2', keysend(['MPP_OPT']).req);
    assert.deepEqual([missing.err?.code, missing.err?.details], [grpc.status.UNKNOWN, 'missing feature dependency: 15']);
    const unknown = await rpc.stream('SendPaymentV2', keysend(['TLV_ONION_OPT', 100]).req);
    assert.equal(unknown.err, null, unknown.err?.details);
    assert.deepEqual([final(unknown.msgs).status, final(unknown.msgs).failure_reason], ['FAILED', 'FAILURE_REASON_NO_ROUTE']);
    const shard = await rpc.stream('SendPaymentV2', keysend([], { max_shard_size_msat: '1000000' }).req);
    assert.equal(shard.err?.details, 'keysend payments cannot specify a max shard amount - MPP not supported with keysend payments');
    const ok = keysend(['TLV_ONION_OPT', 'PAYMENT_ADDR_OPT', 'MPP_OPT'], { final_cltv_delta: 50 });
    const since = (await ldk2.events()).length;
    const at = height();
    const { msgs, err } = await rpc.stream('SendPaymentV2', ok.req);
    assert.equal(err, null, err?.details);
    assert.equal(final(msgs).status, 'SUCCEEDED');
    const hops = hopsOf(succeeded(final(msgs))[0]!);
    assert.equal(hops[hops.length - 1]!.expiry, at + 50, 'the final HTLC expires final_cltv_delta blocks ahead');
    assert.equal(await claimed(ok.hash, since), 5_000_000n);
  });

  /**
   * anode → anode2 → LDK2, both channels private (anode funds c3, LDK2 opens c4 pushing to anode2): a
   * forwarding anode whose channel to LDK2 anode's graph does not have. Made once, for the tests below.
   */
  let second: Promise<{ b: TestNode; c3: Channel; c4: Channel }> | undefined;
  function withAnode2(): Promise<{ b: TestNode; c3: Channel; c4: Channel }> {
    second ??= (async () => {
      anode2 = await startNode(btcd.node, { extra: ['--alias=anode2'] });
      const b = anode2;
      await fundWallet(btcd.node, net.anode, 1_000_000n);
      await net.anode.node.peers.connect(b.node.nodeId, '127.0.0.1', b.port);
      await b.node.peers.connect(ldk2.nodeId, '127.0.0.1', net.ports[1]!);
      await ldk2.waitForPeer(b.node.nodeId, 10_000);
      await net.follow();
      const c3 = net.anode.channels.get((await net.anode.channels.fundChannel({ peerId: b.id, amountSat: 500_000n, announce: false })).channelId)!;
      await net.follow();
      const opened = await ldk2.channels.open({ nodeId: b.node.nodeId, amountSat: 500_000n, pushMsat: 300_000_000n, announce: false });
      const c4 = await until(() => b.channels.get(opened.channelId), 'anode2 has the LDK2 channel');
      await net.mineUntil(async () => c3.usable && c4.usable && b.channels.list().every((c) => c.usable) && (await ldk2.listChannels()).some((c) => c.channelId === opened.channelId && c.isUsable), 'anode → anode2 → LDK2 usable');
      return { b, c3, c4 };
    })();
    return second;
  }

  it('route_hints for a keysend: through anode2 over its private channel to LDK2, a route anode knows only from the hint', async () => {
    const { b, c3, c4 } = await withAnode2();
    // anode2's own policy for c4, as an invoice's hint would give it.
    const hint = { hop_hints: [{ node_id: b.id, chan_id: chanId(c4.data.shortChannelId), fee_base_msat: DEFAULT_POLICY.feeBaseMsat, fee_proportional_millionths: DEFAULT_POLICY.feeProportionalMillionths, cltv_expiry_delta: DEFAULT_POLICY.cltvExpiryDelta }] };
    const keysend = (extra: Json): { req: Json; hash: string } => {
      const preimage = randomBytes(32);
      return { req: { dest: Buffer.from(ids[1]!, 'hex'), amt: '4000', timeout_seconds: 30, fee_limit_sat: '100', payment_hash: sha256(preimage), dest_custom_records: { [KEYSEND]: preimage }, outgoing_chan_ids: [chanId(c3.data.shortChannelId)], ...extra }, hash: sha256(preimage).toString('hex') };
    };
    // Only c3 may carry the first hop and anode2's channel to LDK2 is private: without the hint, no route.
    const without = await rpc.stream('SendPaymentV2', keysend({}).req);
    assert.equal(without.err, null, without.err?.details);
    assert.deepEqual([final(without.msgs).status, final(without.msgs).failure_reason, (final(without.msgs).htlcs as Json[]).length], ['FAILED', 'FAILURE_REASON_NO_ROUTE', 0]);
    const withHint = keysend({ route_hints: [hint] });
    const since = (await ldk2.events()).length;
    const { msgs, err } = await rpc.stream('SendPaymentV2', withHint.req);
    assert.equal(err, null, err?.details);
    const p = final(msgs);
    assert.equal(p.status, 'SUCCEEDED', String(p.failure_reason));
    assert.deepEqual(hopsOf(succeeded(p)[0]!).map((h) => [h.chan_id, h.pub_key]), [
      [chanId(c3.data.shortChannelId), b.id],
      [chanId(c4.data.shortChannelId), ids[1]],
    ]);
    assert.equal(await claimed(withHint.hash, since), 4_000_000n);
  });

  it('fee_insufficient from a forwarding anode (anode2 → LDK2): TrackPaymentV2’s Failure carries anode2’s channel_update, every field as anode2 signed it', async () => {
    const { b, c3, c4 } = await withAnode2();
    const amount = 3_000_000n;
    const bolt11 = await ldk2.createInvoice({ amountMsat: amount, description: 'underpaid' });
    const inv = decodeInvoice(bolt11);
    const hash = inv.paymentHash.toString('hex');
    // anode2 is offered one msat less than its fee.
    const fee = forwardingFee(DEFAULT_POLICY, amount) - 1n;
    const finalDelay = inv.minFinalCltvExpiryDelta + 2;
    const route = [
      { id: b.id, channel: c3.data.shortChannelId, amount_msat: String(amount + fee), delay: finalDelay + DEFAULT_POLICY.cltvExpiryDelta },
      { id: ids[1], channel: c4.data.shortChannelId, amount_msat: String(amount), delay: finalDelay },
    ];
    await cliJson(net.anode.dir, 'sendpay', '-k', `route=${JSON.stringify(route)}`, `payment_hash=${hash}`, `payment_secret=${inv.paymentSecret.toString('hex')}`, `amount_msat=${amount}`);
    await until(async () => (await net.anode.node.store.payments.get(hash))?.status === 'failed', 'the part failed');
    const { msgs, err } = await rpc.stream('TrackPaymentV2', { payment_hash: Buffer.from(hash, 'hex') });
    assert.equal(err, null, err?.details);
    const p = final(msgs);
    assert.equal(p.status, 'FAILED');
    const failure = (p.htlcs as Json[])[0]!.failure as Json;
    assert.deepEqual([failure.code, failure.failure_source_index, failure.htlc_msat], ['FEE_INSUFFICIENT', 1, String(amount + fee)]);
    const u = failure.channel_update as Json;
    assert.ok(u, 'the failure carries a channel_update');
    assert.equal(u.chan_id, chanId(c4.data.shortChannelId), 'for anode2’s outgoing channel');
    assert.deepEqual([u.base_fee, u.fee_rate, u.time_lock_delta], [DEFAULT_POLICY.feeBaseMsat, DEFAULT_POLICY.feeProportionalMillionths, DEFAULT_POLICY.cltvExpiryDelta]);
    assert.deepEqual(u.chain_hash, REGTEST_CHAIN);
    assert.deepEqual(u.extra_opaque_data, Buffer.alloc(0));
    // The message rebuilt from lnrpc.ChannelUpdate's fields is the one anode2 signed: every field is as sent.
    const payload = gossipMessagePayload({
      type: GossipMessageType.CHANNEL_UPDATE,
      signature: u.signature as Buffer,
      chainHash: u.chain_hash as Buffer,
      shortChannelId: BigInt(u.chan_id as string),
      timestamp: u.timestamp as number,
      messageFlags: u.message_flags as number,
      channelFlags: u.channel_flags as number,
      cltvExpiryDelta: u.time_lock_delta as number,
      htlcMinimumMsat: BigInt(u.htlc_minimum_msat as string),
      feeBaseMsat: u.base_fee as number,
      feeProportionalMillionths: u.fee_rate as number,
      htlcMaximumMsat: BigInt(u.htlc_maximum_msat as string),
    } as ChannelUpdate);
    assert.ok(secp.verify(signedDigest(payload, SIGNED_FROM.channelUpdate), b.node.nodeId, u.signature as Buffer), 'signed by anode2');
    assert.equal(((u.channel_flags as number) & 1) === 0, b.id < ids[1]!, 'the direction out of anode2');
  });
});
