/**
 * Issue 14/15, against real LDK 0.1 on btcd regtest: anode's channel_update for a private channel reaches
 * its peer, so LDK builds its own invoice route hints through anode with anode's real policy (LDK's
 * `create_bolt11_invoice` takes the hop's fees and CLTV delta from the counterparty's channel_update
 * only; a channel without one gets no hint). LDK1 → anode → LDK2, anode a real daemon (SQLite), both
 * channels unannounced.
 *
 * - At channel_ready: LDK2's invoice carries a hint through anode with anode's default policy, naming
 *   the scid alias anode's channel_ready gave LDK2; LDK1 pays it (anode forwards by the alias) and the
 *   fee it paid is exactly that policy's.
 * - `setchannel` raises the fee: LDK2's next invoice carries the new fee and pays at it.
 * - On reestablish: a `setchannel` while LDK2 is away reaches it when it reconnects (the update sent
 *   again after channel_reestablish); LDK2's invoice carries it and pays.
 * - LND's FeeReport (gRPC, as ln-service calls it): the day/week/month sums are the fees of these
 *   settled forwards, in whole satoshis.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_POLICY, type ForwardingPolicy } from '../../src/gossip/announce.js';
import { decodeInvoice, type RouteHintHop } from '../../src/invoice/bolt11.js';
import { forwardingFee } from '../../src/payment/forward-policy.js';
import { useBtcd } from '../harness/btcd.js';
import { until } from '../harness/wait.js';
import { interopGate } from './adapter.js';
import { AnodeAroundLdk } from './ldk-around-anode.js';
import { ldkUnavailableReason } from './peers/ldk.js';

const gate = interopGate('ldk', 'ldk builds route hints from anode channel_update', ldkUnavailableReason());
const btcd = useBtcd('ldk builds route hints from anode channel_update');

type Json = Record<string, unknown>;
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

describe('LDK route hints through anode from its channel_update (private channels)', { skip: gate.skip || btcd.skip, timeout: 300_000 }, () => {
  let env: AnodeAroundLdk | undefined;
  after(async () => env?.stop());

  it('LDK2 invoices carry anode policy (at channel_ready, after setchannel, after a reconnection) and LDK1 pays them', async () => {
    gate.require();
    env = await AnodeAroundLdk.create(btcd.node, 'anode-hints-');
    const { dir, port } = env;
    const call = (method: string, params?: Json): Promise<Json> => env!.call(method, params);
    const channels = (): Promise<Json[]> => env!.channels();
    const d = await env.launch();
    const anodeId = Buffer.from(d.line.nodeId as string, 'hex');
    const { ldk1, ldk2, usable } = await env.ldkPair(anodeId, [0x81, 0x82]);
    const ldk2Id = ldk2.nodeId.toString('hex');
    const outChannel = (await channels()).find((c) => c.peer_id === ldk2Id)!;
    assert.equal(outChannel.private, true, 'the anode → LDK2 channel is unannounced');
    const amount = 10_000_000n;

    // LDK2's own invoice: its one route hint is anode's hop, with what anode's channel_update said.
    const invoiceWith = async (p: ForwardingPolicy): Promise<{ bolt11: string; hop: RouteHintHop }> => {
      const { bolt11, hop } = await until(
        async () => {
          const bolt11 = await ldk2.createInvoice({ amountMsat: amount });
          const hop = decodeInvoice(bolt11).routeHints[0]?.[0];
          return hop && hop.feeBaseMsat === p.feeBaseMsat && hop.feeProportionalMillionths === p.feeProportionalMillionths && hop.cltvExpiryDelta === p.cltvExpiryDelta ? { bolt11, hop } : undefined;
        },
        { what: `an LDK2 invoice hinting anode's policy ${JSON.stringify(p)}`, timeoutMs: 30_000 },
      );
      // The hop anode → LDK2 by anode's alias of the channel (from its channel_ready: LDK's inbound_scid_alias, which LDK's hints must use).
      assert.deepEqual([hop.nodeId.toString('hex'), hop.shortChannelId], [anodeId.toString('hex'), (outChannel.alias as Json).local]);
      assert.notEqual(hop.shortChannelId, outChannel.short_channel_id);
      assert.equal(decodeInvoice(bolt11).routeHints.length, 1, 'one hint: the channel through anode');
      return { bolt11, hop };
    };
    const fees: bigint[] = [];
    const payThrough = async (p: ForwardingPolicy): Promise<void> => {
      const { bolt11 } = await invoiceWith(p);
      const since = (await ldk1.events()).length;
      const { paymentHash } = await ldk1.payInvoice(bolt11);
      const sent = await until(async () => (await ldk1.events(since)).find((e) => (e.type === 'PaymentSent' || e.type === 'PaymentFailed') && e.paymentHash === paymentHash), { what: 'LDK1 payment outcome', timeoutMs: 30_000 });
      assert.equal(sent.type, 'PaymentSent', `LDK1 paid through anode: ${JSON.stringify(sent)}`);
      const fee = forwardingFee(p, amount);
      assert.equal(BigInt(sent.feePaidMsat!), fee, "the fee paid is anode's policy fee");
      fees.push(fee);
      await until(async () => ((await call('listforwards', { status: 'settled' })).forwards as Json[]).length === fees.length, { what: 'anode settled the forward', timeoutMs: 30_000 });
    };

    // 1. At channel_ready, anode's default policy.
    await payThrough(DEFAULT_POLICY);
    // 2. setchannel raises the fee: the new update reaches LDK2 at once.
    const raised: ForwardingPolicy = { feeBaseMsat: 5_000, feeProportionalMillionths: 2_000, cltvExpiryDelta: DEFAULT_POLICY.cltvExpiryDelta };
    await call('setchannel', { id: outChannel.short_channel_id, feebase: raised.feeBaseMsat, feeppm: raised.feeProportionalMillionths });
    await payThrough(raised);
    // 3. A change while LDK2 is away reaches it on reestablish.
    await ldk2.disconnect(anodeId);
    await until(async () => (await channels()).find((c) => c.peer_id === ldk2Id)?.peer_connected === false, { what: 'anode sees LDK2 gone', timeoutMs: 30_000 });
    const away: ForwardingPolicy = { feeBaseMsat: 7_000, feeProportionalMillionths: 3_000, cltvExpiryDelta: DEFAULT_POLICY.cltvExpiryDelta };
    await call('setchannel', { id: outChannel.short_channel_id, feebase: away.feeBaseMsat, feeppm: away.feeProportionalMillionths });
    await ldk2.connect('127.0.0.1', port, anodeId);
    await until(usable, { what: 'channels usable again', timeoutMs: 30_000 });
    await payThrough(away);

    // LND's FeeReport over gRPC: every forward above settled in the last day.
    const net = join(dir, 'regtest');
    const { lnd } = ln.authenticatedLndGrpc({ cert: readFileSync(join(net, 'tls.cert')).toString('base64'), macaroon: readFileSync(join(net, 'admin.macaroon')).toString('base64'), socket: (d.line.grpc as string[])[0] });
    const report = await new Promise<Json>((resolve, reject) => lnd.default.feeReport({}, (err: Error | null, res: Json) => (err ? reject(err) : resolve(res))));
    const sat = String(fees.reduce((a, b) => a + b, 0n) / 1000n);
    assert.deepEqual([report.day_fee_sum, report.week_fee_sum, report.month_fee_sum], [sat, sat, sat]);
    assert.notEqual(sat, '0');
  });
});
