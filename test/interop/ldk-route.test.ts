/**
 * Issue 15, routing over the graph through real LDK 0.1 nodes on btcd regtest (past the soft-fork height).
 *
 *     anode ──1 000 000── LDK1 ──400 000── LDK2 ──400 000── LDK3
 *                            └─────────250 000 (phase 2)──────┘
 *
 * Every channel is public; anode is connected to LDK1 only and learns the LDK–LDK channels by gossip
 * (through LDK1). LDK2 and LDK3 cap what may be in flight towards them at half a channel
 * (max_htlc_value_in_flight), which their channel_updates announce as htlc_maximum_msat: no single path
 * to LDK3 carries the MPP amount, and no payment drains a channel. Then, through anode's CLN JSON-RPC:
 *  (a) with only LDK1 → LDK2 → LDK3, anode pays LDK3's invoice (no route hints) over three hops it found;
 *  (b) with the direct LDK1 → LDK3 channel too, an amount neither path carries goes in parts over both;
 *  (c) the LDK–LDK channel of anode's preferred route stops forwarding (its two ends disconnect): the first
 *      attempt fails at that hop, the retry avoids it and succeeds.
 * Each payment's parts (the store's records: status, route, failure) show which hops carried what, and
 * each complete part's amount is what it delivers plus the fees of the forwarding hops' channel_updates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scidFromString } from '../../src/gossip/messages.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import type { Channel } from '../../src/channel/channel.js';
import type { PartFailure } from '../../src/payment/send.js';
import { routeFromJson } from '../../src/payment/route.js';
import type { PaymentPart } from '../../src/store/payments.js';
import { SOFT_FORKS_ACTIVE_HEIGHT, useBtcd } from '../harness/btcd.js';
import { cli, cliJson } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { interopGate } from './adapter.js';
import { startLdkNetwork, type LdkNetwork } from './ldk-network.js';
import { ldkUnavailableReason, type LdkPeer } from './peers/ldk.js';

const gate = interopGate('ldk', 'anode routes through LDK nodes', ldkUnavailableReason());
const btcd = useBtcd('anode routes through LDK nodes');

type Json = Record<string, unknown>;

describe('anode pays over routes it finds in the graph, through three real LDK nodes', { skip: gate.skip || btcd.skip, timeout: 420_000 }, () => {
  let net: LdkNetwork;
  let ldk1: LdkPeer;
  let ldk2: LdkPeer;
  let ldk3: LdkPeer;
  let ids: string[];
  /** BLOCKxTXxOUT of anode–LDK1, LDK1–LDK2, LDK2–LDK3, LDK1–LDK3. */
  const scid: { a1?: string; l12?: string; l23?: string; l13?: string } = {};
  let anodeChannel: Channel;

  before(async () => {
    gate.require();
    await btcd.node.mineTo(SOFT_FORKS_ACTIVE_HEIGHT + 1);
    net = await startLdkNetwork(btcd.node, {
      ldk: [{ seed: 0x71 }, { seed: 0x72, channels: { maxInboundHtlcValueInFlightPercent: 50 } }, { seed: 0x73, channels: { maxInboundHtlcValueInFlightPercent: 50 } }],
      anodeExtra: ['--alias=anode-route'],
      anodeDials: [0],
      ldkLinks: [
        [0, 1],
        [1, 2],
        [0, 2],
      ],
      fundSat: 2_000_000n,
    });
    [ldk1, ldk2, ldk3] = net.ldk as [LdkPeer, LdkPeer, LdkPeer];
    ids = net.ldk.map((l) => l.nodeId.toString('hex'));
    const anode = net.anode;
    await net.follow();
    const r = await anode.channels.fundChannel({ peerId: ids[0]!, amountSat: 1_000_000n, announce: true });
    anodeChannel = anode.channels.get(r.channelId)!;
    const c12 = await net.openLdkChannel(0, 1, 400_000n);
    const c23 = await net.openLdkChannel(1, 2, 400_000n);
    await net.mineUntil(async () => anodeChannel.data.state === 'CHANNELD_NORMAL' && (await ldk1.listChannels()).some((c) => c.channelId === anodeChannel.id && c.isUsable), 'anode–LDK1 usable');
    scid.a1 = anodeChannel.data.shortChannelId!;
    scid.l12 = (await ldk1.listChannels()).find((c) => c.channelId === c12)!.shortChannelId!;
    scid.l23 = (await ldk2.listChannels()).find((c) => c.channelId === c23)!.shortChannelId!;
  });
  after(async () => {
    await net?.stop();
  });

  /** anode's graph has the channel with a channel_update in both directions. */
  function known(s: string | undefined): boolean {
    const c = s === undefined ? undefined : net.anode.node.gossip!.graph.channel(scidFromString(s)!);
    return c?.policies[0] !== undefined && c.policies[1] !== undefined;
  }

  /**
   * LDK puts route hints in its invoices while a public channel has fewer than 7 confirmations (not yet
   * in every graph): mine until LDK3's channels have 7, so its invoices carry none.
   */
  async function publicOnly(): Promise<void> {
    await net.mineUntil(async () => (await ldk3.listChannels()).every((c) => (c.confirmations ?? 0) >= 7), 'LDK3’s channels have 7 confirmations');
  }

  async function claimed(l: LdkPeer, hash: string, since: number): Promise<bigint> {
    const ev = await until(async () => (await l.events(since)).find((e) => e.type === 'PaymentClaimed' && e.paymentHash === hash), { what: 'LDK claimed the payment', timeoutMs: 30_000 });
    return BigInt(ev.amountMsat!);
  }

  /** anode's `listchannels` entry for `s` from `source`. */
  async function listed(s: string, source: string): Promise<Json | undefined> {
    const { channels } = await cliJson<{ channels: Json[] }>(net.anode.dir, 'listchannels', s);
    return channels.find((c) => c.source === source);
  }

  /**
   * What a part must send for what it delivers over its route: each forwarding node (every hop but the
   * last) takes the fee its channel_update for the next channel asks, on the amount it forwards.
   */
  async function expectedSent(part: PaymentPart): Promise<bigint> {
    const route = routeFromJson(part.route);
    let amount = part.deliveredMsat;
    for (let i = route.length - 1; i >= 1; i--) {
      const p = (await listed(route[i]!.channel, route[i - 1]!.id))!;
      amount += BigInt(p.base_fee_millisatoshi as number) + (amount * BigInt(p.fee_per_millionth as number)) / 1_000_000n;
    }
    return amount;
  }

  async function partsOf(hash: string): Promise<PaymentPart[]> {
    return net.anode.node.store.payments.parts(hash);
  }
  const hops = (p: PaymentPart): string[] => routeFromJson(p.route).map((h) => h.channel);
  const nodes = (p: PaymentPart): string[] => routeFromJson(p.route).map((h) => h.id);

  /** Pays `bolt11` through anode's `pay`; checks LDK3 claimed it and the complete parts' amounts. */
  async function pay(bolt11: string, amountMsat: bigint): Promise<{ result: Json; parts: PaymentPart[]; complete: PaymentPart[] }> {
    assert.deepEqual(decodeInvoice(bolt11).routeHints, [], 'LDK3 has public channels: its invoice carries no route hints');
    const since = (await ldk3.events()).length;
    const result = await cliJson<Json>(net.anode.dir, 'pay', bolt11);
    assert.equal(result.status, 'complete');
    assert.equal(result.destination, ids[2]);
    const hash = result.payment_hash as string;
    assert.equal(await claimed(ldk3, hash, since), amountMsat);
    const parts = await partsOf(hash);
    const complete = parts.filter((p) => p.status === 'complete');
    assert.equal(result.parts, complete.length);
    assert.equal(complete.reduce((s, p) => s + p.deliveredMsat, 0n), amountMsat, 'the complete parts deliver the amount');
    for (const p of complete) assert.equal(p.amountMsat, await expectedSent(p), `part ${p.partId} pays the hops' advertised fees`);
    assert.equal(BigInt(result.amount_sent_msat as number), complete.reduce((s, p) => s + p.amountMsat, 0n));
    assert.ok(BigInt(result.amount_sent_msat as number) > amountMsat, 'forwarding fees were paid');
    const listedParts = (await cliJson<{ payments: Json[] }>(net.anode.dir, 'listsendpays', '-k', `payment_hash=${hash}`)).payments;
    assert.deepEqual(listedParts.map((p) => p.status), parts.map((p) => p.status), 'listsendpays shows every part');
    return { result, parts, complete };
  }

  it('anode learns the LDK–LDK channels by gossip only; LDK forwards (LDK1 pays LDK3 through LDK2)', async () => {
    const anode = net.anode;
    await net.mineUntil(() => known(scid.a1) && known(scid.l12) && known(scid.l23), 'anode has the three public channels with both updates', 12);
    await publicOnly();
    for (const id of ids.slice(1)) assert.equal(anode.node.peers.peer(id), undefined, 'anode has no connection to LDK2 or LDK3');
    for (const [s, a, b] of [
      [scid.l12!, ids[0]!, ids[1]!],
      [scid.l23!, ids[1]!, ids[2]!],
    ] as const) {
      assert.equal((await listed(s, a))?.destination, b, `listchannels ${s} ${a.slice(0, 8)} → ${b.slice(0, 8)}`);
      assert.equal((await listed(s, b))?.destination, a, `listchannels ${s} ${b.slice(0, 8)} → ${a.slice(0, 8)}`);
    }
    // LDK1 has no channel to LDK3 yet: its payment goes through LDK2, which takes its advertised fee.
    const amount = 5_000_000n;
    const since = (await ldk1.events()).length;
    const bolt11 = await ldk3.createInvoice({ amountMsat: amount });
    const { paymentHash } = await ldk1.payInvoice(bolt11);
    const sent = await ldk1.waitForEvent('PaymentSent', { since, timeoutMs: 30_000 });
    assert.equal(sent.paymentHash, paymentHash);
    const fee = (await listed(scid.l23!, ids[1]!))!;
    assert.equal(BigInt(sent.feePaidMsat!), BigInt(fee.base_fee_millisatoshi as number) + (amount * BigInt(fee.fee_per_millionth as number)) / 1_000_000n);
    assert.equal(await claimed(ldk3, paymentHash, 0), amount);
  });

  /** CLN's sendpay route to LDK3 over `chans` (through `nodes`), amounts and delays from the graph's policies. */
  async function givenRoute(chans: string[], nodes: string[], amount: bigint, finalDelta: number): Promise<{ id: string; channel: string; amount_msat: string; delay: number }[]> {
    const route: { id: string; channel: string; amount_msat: string; delay: number }[] = [];
    let msat = amount;
    let delay = finalDelta + 6; // relative, as CLN's sendpay takes it
    for (let i = chans.length - 1; i >= 0; i--) {
      route.unshift({ id: nodes[i]!, channel: chans[i]!, amount_msat: msat.toString(), delay });
      if (i === 0) break;
      const p = (await listed(chans[i]!, nodes[i - 1]!))!;
      msat += BigInt(p.base_fee_millisatoshi as number) + (msat * BigInt(p.fee_per_millionth as number)) / 1_000_000n;
      delay += p.delay as number;
    }
    return route;
  }

  async function sendpay(bolt11: string, chans: string[], nodes: string[], amount: bigint): Promise<{ hash: string; route: { amount_msat: string }[] }> {
    const inv = decodeInvoice(bolt11);
    const route = await givenRoute(chans, nodes, amount, inv.minFinalCltvExpiryDelta);
    const hash = inv.paymentHash.toString('hex');
    await cliJson(net.anode.dir, 'sendpay', '-k', `route=${JSON.stringify(route)}`, `payment_hash=${hash}`, `payment_secret=${inv.paymentSecret.toString('hex')}`, `amount_msat=${amount}`, `bolt11=${bolt11}`);
    return { hash, route };
  }

  it('sendpay over the three hops, the route given: LDK1 and LDK2 forward anode’s onion for the fees and CLTV deltas they announced', async () => {
    // Independent of the pathfinder: checks the graph's policies are what LDK charges (expectedSent).
    const amount = 3_000_000n;
    const since = (await ldk3.events()).length;
    const chans = [scid.a1!, scid.l12!, scid.l23!];
    const { hash, route } = await sendpay(await ldk3.createInvoice({ amountMsat: amount, description: 'sendpay' }), chans, ids, amount);
    const done = await cliJson<Json>(net.anode.dir, 'waitsendpay', hash);
    assert.equal(done.status, 'complete');
    assert.equal(await claimed(ldk3, hash, since), amount);
    const [part] = await partsOf(hash);
    assert.deepEqual(hops(part!), chans);
    assert.equal(part!.amountMsat, await expectedSent(part!));
    assert.equal(part!.amountMsat, BigInt(route[0]!.amount_msat));
  });

  it('getroute piped into sendpay pays: the delays getroute returns are relative, as sendpay takes them', async () => {
    const amount = 4_000_000n;
    const bolt11 = await ldk3.createInvoice({ amountMsat: amount, description: 'getroute | sendpay' });
    const inv = decodeInvoice(bolt11);
    const hash = inv.paymentHash.toString('hex');
    const since = (await ldk3.events()).length;
    const { route } = await cliJson<{ route: { channel: string; delay: number }[] }>(net.anode.dir, 'getroute', '-k', `id=${ids[2]}`, `amount_msat=${amount}`, 'riskfactor=1', `cltv=${inv.minFinalCltvExpiryDelta}`);
    assert.equal(route[route.length - 1]!.delay, inv.minFinalCltvExpiryDelta, 'getroute: the last hop’s delay is the final CLTV delta');
    await cliJson(net.anode.dir, 'sendpay', '-k', `route=${JSON.stringify(route)}`, `payment_hash=${hash}`, `payment_secret=${inv.paymentSecret.toString('hex')}`, `amount_msat=${amount}`);
    const done = await cliJson<Json>(net.anode.dir, 'waitsendpay', hash);
    assert.equal(done.status, 'complete');
    assert.equal(await claimed(ldk3, hash, since), amount);
    const [part] = await partsOf(hash);
    assert.deepEqual(hops(part!), route.map((h) => h.channel));
  });

  it('(a) anode pays LDK3 over anode → LDK1 → LDK2 → LDK3, a route only the graph tells it', async () => {
    const amount = 20_000_000n;
    const { complete } = await pay(await ldk3.createInvoice({ amountMsat: amount, description: 'three hops' }), amount);
    for (const p of complete) {
      assert.deepEqual(nodes(p), ids, 'through LDK1 and LDK2 to LDK3');
      assert.deepEqual(hops(p), [scid.a1, scid.l12, scid.l23]);
    }
  });

  it('(b) MPP: an amount no single path carries goes in parts over LDK1 → LDK2 → LDK3 and LDK1 → LDK3', async () => {
    const c13 = await net.openLdkChannel(0, 2, 250_000n);
    scid.l13 = (await ldk1.listChannels()).find((c) => c.channelId === c13)!.shortChannelId!;
    await net.mineUntil(() => known(scid.l13), 'anode has LDK1–LDK3 with both updates', 12);
    await publicOnly();
    // What each path can carry now: its LDK hops' next-HTLC limits (balance, reserve, in-flight cap).
    const limit = async (l: LdkPeer, s: string): Promise<bigint> => BigInt((await l.listChannels()).find((c) => c.shortChannelId === s)!.nextOutboundHtlcLimitMsat);
    const viaLdk2 = [await limit(ldk1, scid.l12!), await limit(ldk2, scid.l23!)].reduce((a, b) => (a < b ? a : b));
    const direct = await limit(ldk1, scid.l13);
    const [big, small] = viaLdk2 > direct ? [viaLdk2, direct] : [direct, viaLdk2];
    const amount = ((big + small / 2n) / 1000n) * 1000n;
    assert.ok(amount > viaLdk2 && amount > direct, 'neither path alone carries it');
    // The graph says so too: each LDK–LDK direction announces at most half its channel.
    for (const [s, from] of [[scid.l12!, ids[0]!], [scid.l23!, ids[1]!], [scid.l13, ids[0]!]] as const) {
      assert.ok(BigInt((await listed(s, from))!.htlc_maximum_msat as number) < amount, `${s}'s htlc_maximum_msat is below the amount`);
    }
    const { complete } = await pay(await ldk3.createInvoice({ amountMsat: amount, description: 'mpp' }), amount);
    assert.ok(complete.length >= 2, `paid in ${complete.length} parts`);
    const through2 = complete.filter((p) => hops(p).join() === [scid.a1, scid.l12, scid.l23].join());
    const direct13 = complete.filter((p) => hops(p).join() === [scid.a1, scid.l13].join());
    assert.equal(through2.length + direct13.length, complete.length, 'every part over one of the two paths');
    assert.ok(through2.length > 0 && direct13.length > 0, 'parts over both paths');
  });

  // Before the sendpay over a broken hop below: the failure it causes teaches mission control that LDK1–LDK3
  // fails, which would leave (c)'s retry no path but the one that just failed.
  it('(c) a failing LDK–LDK hop: the first attempt fails there, the retry avoids it and succeeds', async () => {
    const amount = 20_000_000n;
    // The route anode prefers now (no fuzz): its channel out of LDK1 is the hop that will fail.
    const { route } = await cliJson<{ route: { id: string; channel: string }[] }>(net.anode.dir, 'getroute', '-k', `id=${ids[2]}`, `amount_msat=${amount}`, 'riskfactor=1', 'fuzzpercent=0');
    assert.equal(route[0]!.id, ids[0]);
    const broken = route[1]!.channel;
    const peerOfLdk1 = net.ldk[ids.indexOf(route[1]!.id)]!;
    assert.ok(broken === scid.l12 || broken === scid.l13, `the preferred route leaves LDK1 on an LDK–LDK channel (${broken})`);
    await ldk1.disconnect(peerOfLdk1.nodeId);
    await ldk1.waitForDisconnect(peerOfLdk1.nodeId);
    try {
      const { parts, complete } = await pay(await ldk3.createInvoice({ amountMsat: amount, description: 'retry' }), amount);
      const failed = parts.filter((p) => p.status === 'failed');
      assert.ok(failed.length >= 1, 'a failed attempt is recorded');
      const first = parts[0]!;
      assert.equal(first.status, 'failed', 'the first attempt failed');
      assert.equal(hops(first)[1], broken, 'the first attempt went over the failing hop');
      const why = JSON.parse(first.failure!) as PartFailure;
      assert.equal(why.erringNode, ids[0], 'LDK1 reported the failure');
      assert.equal(why.erringIndex, 1);
      for (const p of complete) {
        assert.ok(!hops(p).includes(broken), `the retry avoids ${broken}: ${hops(p).join(' → ')}`);
        assert.ok(p.id > first.id, 'the success came after the failure');
      }
    } finally {
      await ldk1.connect('127.0.0.1', net.ports[net.ldk.indexOf(peerOfLdk1)]!, peerOfLdk1.nodeId);
    }
  });

  it('sendpay over a hop that cannot forward (LDK1 and LDK3 disconnected): waitsendpay names LDK1 and the channel out of it, as CLN does', async () => {
    const amount = 2_000_000n;
    // (c) reconnected the peers it parted: their channels are back before these two part.
    await until(async () => (await ldk1.listChannels()).filter((c) => c.shortChannelId === scid.l12 || c.shortChannelId === scid.l13).every((c) => c.isUsable), 'LDK1’s LDK channels usable');
    await ldk1.disconnect(ldk3.nodeId);
    await ldk1.waitForDisconnect(ldk3.nodeId);
    try {
      const { hash } = await sendpay(await ldk3.createInvoice({ amountMsat: amount, description: 'cannot forward' }), [scid.a1!, scid.l13!], [ids[0]!, ids[2]!], amount);
      const r = await cli(net.anode.dir, 'waitsendpay', hash);
      assert.notEqual(r.status, 0, `waitsendpay should fail: ${r.out}`);
      const e = JSON.parse(r.out || r.err) as { code: number; data: Json };
      assert.equal(e.code, 204, 'a failure along the route');
      // BOLT 4: a forwarding node that cannot use its outgoing channel fails with an UPDATE code (temporary_channel_failure, channel_disabled).
      assert.ok(((e.data.failcode as number) & 0x1000) !== 0, `failcode ${String(e.data.failcode)}`);
      assert.deepEqual([e.data.erring_index, e.data.erring_node, e.data.erring_channel], [1, ids[0], scid.l13], 'CLN: the erring node’s next channel');
      const [part] = await partsOf(hash);
      assert.equal(part!.status, 'failed');
    } finally {
      await ldk1.connect('127.0.0.1', net.ports[2]!, ldk3.nodeId);
    }
    await until(async () => (await ldk1.listChannels()).some((c) => c.shortChannelId === scid.l13 && c.isUsable), 'LDK1–LDK3 usable again');
  });
});
