/**
 * Short channel id aliases against real LDK 0.1 on btcd regtest, anode a real daemon (SQLite), every
 * channel unannounced.
 *
 * 1. LDK1 → anode → LDK2: anode's channel_ready gives LDK2 an alias (LDK's `inbound_scid_alias`, which
 *    LDK's invoices must name in their route hints); LDK2's invoice hint names it, LDK1 pays, anode
 *    forwards by the alias. anode stores LDK2's own alias (`outbound_scid_alias`) as the remote one;
 *    CLN `listpeerchannels` and LND `ListChannels` (gRPC) show both. Killed (SIGKILL) and restarted, anode
 *    keeps both aliases and forwards by the same alias again.
 * 2. LDK1 → LDK2 → anode over a private LDK2–anode channel: anode's `invoice` (no
 *    exposeprivatechannels: anode has no public channel) and LND `AddInvoice` with `private` carry a
 *    route hint naming LDK2's alias with LDK2's policy from its channel_update; LDK1 pays it, and the fee
 *    it paid is that policy's (LDK2 forwarded at the fee the hint announced).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isAliasScid } from '../../src/channel/alias.js';
import { decodeInvoice, type RouteHintHop } from '../../src/invoice/bolt11.js';
import { forwardingFee } from '../../src/payment/forward-policy.js';
import { chanId } from '../../src/rpc/lnd/channels.js';
import { useBtcd } from '../harness/btcd.js';
import type { Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { interopGate } from './adapter.js';
import { AnodeAroundLdk } from './ldk-around-anode.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';

const gate = interopGate('ldk', 'scid aliases with LDK', ldkUnavailableReason());
const btcd = useBtcd('scid aliases with LDK');

type Json = Record<string, unknown>;
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

/** LND's Lightning service over gRPC on the daemon `d` in `dir` (as ln-service calls it). */
function lndOf(dir: string, d: Daemon): { call(method: string, req: Json): Promise<Json> } {
  const net = join(dir, 'regtest');
  const { lnd } = ln.authenticatedLndGrpc({ cert: readFileSync(join(net, 'tls.cert')).toString('base64'), macaroon: readFileSync(join(net, 'admin.macaroon')).toString('base64'), socket: (d.line.grpc as string[])[0] });
  return { call: (method, req) => new Promise((resolve, reject) => lnd.default[method](req, (err: Error | null, res: Json) => (err ? reject(err) : resolve(res)))) };
}

/** `payer` pays `bolt11`; the LDK event that ended it. */
async function pay(payer: LdkPeer, bolt11: string): Promise<{ type: string; feePaidMsat?: number | string }> {
  const since = (await payer.events()).length;
  const { paymentHash } = await payer.payInvoice(bolt11);
  return until(async () => (await payer.events(since)).find((e) => (e.type === 'PaymentSent' || e.type === 'PaymentFailed') && e.paymentHash === paymentHash), { what: 'the LDK payment outcome', timeoutMs: 30_000 });
}

describe('scid aliases with real LDK (private channels)', { skip: gate.skip || btcd.skip, timeout: 420_000 }, () => {
  const envs: AnodeAroundLdk[] = [];
  const own: LdkPeer[] = [];
  after(async () => {
    for (const e of envs) await e.stop();
    for (const l of own) await l.stop();
  });

  /** A fresh anode daemon (its data dir named by `prefix`) and its node id. */
  async function anode(prefix: string): Promise<{ env: AnodeAroundLdk; d: Daemon; anodeId: Buffer }> {
    gate.require();
    const env = await AnodeAroundLdk.create(btcd.node, prefix);
    envs.push(env);
    const d = await env.launch();
    return { env, d, anodeId: Buffer.from(d.line.nodeId as string, 'hex') };
  }

  it('LDK1 → anode → LDK2 by the alias anode gave LDK2 (its invoice hint), before and after a kill -9 of anode', async () => {
    const started = await anode('anode-alias-fwd-');
    const { env, anodeId } = started;
    let d = started.d;
    const { ldk1, ldk2, usable } = await env.ldkPair(anodeId, [0x91, 0x92]);
    const ldk2Id = ldk2.nodeId.toString('hex');
    const outOf = async (): Promise<Json> => (await env.channels()).find((c) => c.peer_id === ldk2Id)!;
    const out = await outOf();
    assert.equal(out.private, true);
    const alias = out.alias as { local: string; remote: string };
    assert.ok(isAliasScid(alias.local), `anode's alias ${alias.local} is in the alias range`);
    const theirs = async () => (await ldk2.listChannels()).find((c) => c.counterpartyNodeId === anodeId.toString('hex'))!;
    assert.deepEqual([(await theirs()).inboundScidAlias, (await theirs()).outboundScidAlias], [alias.local, alias.remote], 'each side holds the alias the other sent');
    assert.notEqual(alias.local, out.short_channel_id);
    // LND's view: the alias we gave, the peer's.
    const lnd = lndOf(env.dir, d);
    const listed = ((await lnd.call('listChannels', {})).channels as Json[]).find((c) => c.remote_pubkey === ldk2Id)!;
    assert.deepEqual([listed.alias_scids, listed.peer_scid_alias], [[chanId(alias.local)], chanId(alias.remote)]);

    const amount = 8_000_000n;
    let forwards = 0;
    const payByAlias = async (): Promise<void> => {
      const bolt11 = await until(
        async () => {
          const inv = await ldk2.createInvoice({ amountMsat: amount });
          return decodeInvoice(inv).routeHints[0]?.[0]?.shortChannelId === alias.local ? inv : undefined;
        },
        { what: "an LDK2 invoice whose hint names anode's alias", timeoutMs: 30_000 },
      );
      const hop = decodeInvoice(bolt11).routeHints[0]![0]!;
      assert.equal(hop.nodeId.toString('hex'), anodeId.toString('hex'));
      const sent = await pay(ldk1, bolt11);
      assert.equal(sent.type, 'PaymentSent', `LDK1 paid through anode by its alias: ${JSON.stringify(sent)}`);
      forwards++;
      const settled = await until(
        async () => {
          const f = (await env.call('listforwards', { status: 'settled' })).forwards as Json[];
          return f.length === forwards ? f : undefined;
        },
        { what: 'anode settled the forward', timeoutMs: 30_000 },
      );
      // Recorded by the channel's real scid: the alias only named it.
      assert.equal(settled[forwards - 1]!.out_channel, out.short_channel_id);
    };
    await payByAlias();

    // kill -9, restart: both aliases kept (the channel's stored data), the same alias still forwards.
    await d.kill();
    d = await env.launch();
    for (const l of [ldk1, ldk2]) await l.connect('127.0.0.1', env.port, anodeId);
    await until(usable, { what: 'channels usable after the restart', timeoutMs: 60_000 });
    assert.deepEqual((await outOf()).alias, alias);
    assert.equal((await theirs()).inboundScidAlias, alias.local);
    await payByAlias();
  });

  it("LDK1 → LDK2 → anode: anode's invoices hint LDK2's alias with LDK2's policy, and LDK1 pays them", async () => {
    const { env, d, anodeId } = await anode('anode-alias-hint-');
    // LDK2 forwards onto its unannounced channel to anode (LDK refuses by default).
    const [ldk1, ldk2] = [0x93, 0x94].map((s, i) => new LdkPeer({ seed: Buffer.alloc(32, s), channels: { acceptForwardsToPrivChannels: true }, ...(process.env.ANODE_INTEROP_VERBOSE === '1' ? { log: (l: string) => process.stderr.write(`[ldk${i + 1}] ${l}\n`) } : {}) })) as [LdkPeer, LdkPeer];
    for (const l of [ldk1, ldk2]) {
      own.push(l);
      await l.start();
      await l.channels.useChain(btcd.node);
    }
    await ldk2.connect('127.0.0.1', env.port, anodeId);
    const port2 = await ldk2.listen();
    await ldk1.connect('127.0.0.1', port2, ldk2.nodeId);
    await ldk2.waitForPeer(ldk1.nodeId, 10_000);
    const c12 = await ldk1.channels.open({ nodeId: ldk2.nodeId, amountSat: 500_000n });
    const c2a = await ldk2.channels.open({ nodeId: anodeId, amountSat: 500_000n });
    const usable = async (): Promise<boolean> => {
      const mine = await env.channels();
      const theirs = [...(await ldk1.channels.list()), ...(await ldk2.channels.list())];
      const ends = (id: string): number => theirs.filter((c) => c.channelId === id && c.state === 'usable').length;
      // LDK1–LDK2 usable at both LDK ends, LDK2–anode at LDK2's and anode's.
      return mine.length === 1 && mine[0]!.state === 'CHANNELD_NORMAL' && mine[0]!.peer_connected === true && ends(c12.channelId) === 2 && ends(c2a.channelId) === 1;
    };
    const follow = async (): Promise<void> => {
      await ldk1.channels.followChain();
      await ldk2.channels.followChain();
    };
    await btcd.node.mineUntil(usable, 'LDK1–LDK2 and LDK2–anode usable', { maxBlocks: 8, settleMs: 500, follow });
    const [ch] = await env.channels();
    assert.equal(ch!.private, true);
    const ldk2Alias = (await ldk2.listChannels()).find((c) => c.channelId === c2a.channelId)!.outboundScidAlias!;
    assert.equal((ch!.alias as Json).remote, ldk2Alias, "anode stored LDK2's alias from its channel_ready");

    const amount = 12_000_000n;
    let n = 0;
    // LDK2's channel_update to anode may follow channel_ready by a moment: ask until the hint is there.
    const { bolt11, hop, label } = await until(
      async () => {
        const label = `alias-${n++}`;
        const { bolt11 } = (await env.call('invoice', { amount_msat: Number(amount), label, description: 'over a private channel' })) as { bolt11: string };
        const hop = decodeInvoice(bolt11).routeHints[0]?.[0];
        return hop ? { bolt11, hop, label } : undefined;
      },
      { what: 'an anode invoice with a route hint', timeoutMs: 30_000 },
    );
    assert.equal(decodeInvoice(bolt11).routeHints.length, 1);
    assert.deepEqual([hop.nodeId.toString('hex'), hop.shortChannelId], [ldk2.nodeId.toString('hex'), ldk2Alias], "the hop from LDK2 by LDK2's alias");
    assert.notEqual(hop.shortChannelId, ch!.short_channel_id);
    // `exposeprivatechannels: false`: none; naming the channel: that one.
    const none = (await env.call('invoice', { amount_msat: Number(amount), label: `alias-${n++}`, description: 'x', exposeprivatechannels: false })) as { bolt11: string };
    assert.equal(decodeInvoice(none.bolt11).routeHints.length, 0);
    const named = (await env.call('invoice', { amount_msat: Number(amount), label: `alias-${n++}`, description: 'x', exposeprivatechannels: [ch!.short_channel_id] })) as { bolt11: string };
    assert.deepEqual(decodeInvoice(named.bolt11).routeHints, [[hop]]);
    // LND AddInvoice: hints only with `private`.
    const lnd = lndOf(env.dir, d);
    const lndHints = async (priv: boolean): Promise<RouteHintHop[][]> => decodeInvoice((await lnd.call('addInvoice', { value_msat: String(amount), private: priv })).payment_request as string).routeHints;
    assert.deepEqual(await lndHints(true), [[hop]]);
    assert.deepEqual(await lndHints(false), []);

    const since = (await ldk1.events()).length;
    const sent = await pay(ldk1, bolt11);
    if (sent.type !== 'PaymentSent') process.stderr.write(d.output().split('\n').filter((l) => /htlc|forward|intake|fail|invoice/i.test(l)).join('\n'));
    assert.equal(sent.type, 'PaymentSent', `LDK1 paid anode's invoice through LDK2: ${JSON.stringify(await ldk1.events(since))} ${JSON.stringify(await ldk2.events())}`);
    assert.equal(BigInt(sent.feePaidMsat!), forwardingFee(hop, amount), "the fee LDK2 took is the hint's");
    await until(async () => (((await env.call('listinvoices', { label })).invoices as Json[])[0]?.status === 'paid' ? true : undefined), { what: 'the invoice paid', timeoutMs: 30_000 });
  });
});
