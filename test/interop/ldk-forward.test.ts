/**
 * Issue 14, forwarding, against real LDK 0.1 on btcd regtest: LDK1 → anode → LDK2, anode a real daemon
 * (SQLite) between two LDK nodes. LDK1 reaches LDK2 through a route hint naming anode's channel to LDK2
 * with the fees and CLTV delta the hint claims.
 *
 * - A hint claiming no fee: anode refuses with `fee_insufficient` (committed as `local_failed`, code and
 *   name in `listforwards`), LDK1 reads the failure from anode's channel and fails the payment.
 * - A hint with anode's policy: the HTLC anode offers LDK2 is the incoming one less exactly the policy's
 *   fee, and its expiry exactly the policy's `cltv_expiry_delta` earlier (read from both channels while
 *   LDK2 holds the payment); LDK2 claims, LDK1 is told the preimage and the fee it paid; `listforwards`
 *   and LND's ForwardingHistory show the settled forward.
 * - kill -9 of anode right after it committed LDK2's preimage and before it fulfilled LDK1's HTLC
 *   (`--dev-crash-after-forward-preimage`): after a restart LDK1 gets the preimage, and anode's balances
 *   moved by exactly amount + fee in and amount out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_POLICY } from '../../src/gossip/announce.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import { FailureCode } from '../../src/onion/failure.js';
import { forwardingFee } from '../../src/payment/forward-policy.js';
import { useBtcd } from '../harness/btcd.js';
import { cliJson, type Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rest } from '../rpc/lnd/harness.js';
import { interopGate } from './adapter.js';
import { AnodeAroundLdk } from './ldk-around-anode.js';
import { ldkUnavailableReason } from './peers/ldk.js';

const gate = interopGate('ldk', 'anode forwards between two ldk nodes', ldkUnavailableReason());
const btcd = useBtcd('anode forwards between two ldk nodes');

type Json = Record<string, unknown>;
const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

describe('LDK → anode → LDK: policy, fees, CLTV delta, failures, kill -9', { skip: gate.skip || btcd.skip, timeout: 300_000 }, () => {
  let env: AnodeAroundLdk | undefined;
  after(async () => env?.stop());

  it('forwards at its policy, refuses a short fee, and settles upstream after a crash', async () => {
    gate.require();
    env = await AnodeAroundLdk.create(btcd.node, 'anode-fwd-');
    const { dir, port } = env;
    const launch = (extra?: string[]): Promise<Daemon> => env!.launch(extra);
    const call = (method: string, params?: Json): Promise<Json> => env!.call(method, params);
    const channels = (): Promise<Json[]> => env!.channels();
    let d = await launch();
    const anodeId = Buffer.from(d.line.nodeId as string, 'hex');
    // LDK1 funds the incoming side; LDK2 opens the outgoing side and pushes anode what it will forward.
    const { ldk1, ldk2, usable } = await env.ldkPair(anodeId, [0x71, 0x72]);
    const ldk1Id = ldk1.nodeId.toString('hex');
    const ldk2Id = ldk2.nodeId.toString('hex');
    const chanTo = async (peer: string): Promise<Json> => (await channels()).find((c) => c.peer_id === peer)!;
    const outScid = (await chanTo(ldk2Id)).short_channel_id as string;
    const inScid = (await chanTo(ldk1Id)).short_channel_id as string;
    const amount = 10_000_000n;
    const fee = forwardingFee(DEFAULT_POLICY, amount);
    const hint = { from: anodeId, scid: outScid, feeBaseMsat: DEFAULT_POLICY.feeBaseMsat, feePpm: DEFAULT_POLICY.feeProportionalMillionths, cltvDelta: DEFAULT_POLICY.cltvExpiryDelta };
    const pay = async (over: Partial<typeof hint> = {}, holdClaims = false): Promise<{ hash: string; since1: number; since2: number }> => {
      const inv = decodeInvoice(await ldk2!.createInvoice({ amountMsat: amount, holdClaims }));
      const since1 = (await ldk1!.events()).length;
      const since2 = (await ldk2!.events()).length;
      await ldk1!.sendPayment({ nodeId: ldk2Id, amountMsat: amount, paymentHash: inv.paymentHash, paymentSecret: inv.paymentSecret, finalCltvDelta: inv.minFinalCltvExpiryDelta, hint: { ...hint, ...over } });
      return { hash: inv.paymentHash.toString('hex'), since1, since2 };
    };

    // 1. A hint claiming no fee: fee_insufficient from anode, committed as local_failed.
    const short = await pay({ feeBaseMsat: 0, feePpm: 0 });
    const failed = await until(async () => (await ldk1!.events(short.since1)).find((e) => e.type === 'PaymentFailed' && e.paymentHash === short.hash), { what: 'LDK1 gives up the underpaying payment', timeoutMs: 30_000 });
    assert.ok(failed);
    const pathFailed = (await ldk1.events(short.since1)).find((e) => e.type === 'PaymentPathFailed' && e.paymentHash === short.hash);
    assert.ok([inScid, outScid].includes(pathFailed?.shortChannelId ?? ''), `LDK1 blames a channel of anode's: ${pathFailed?.shortChannelId}`);
    const local = ((await call('listforwards', { status: 'local_failed' })).forwards as Json[])[0]!;
    assert.deepEqual([local.in_channel, local.out_channel, local.failcode, local.failreason, local.in_msat, local.out_msat, local.style], [inScid, outScid, FailureCode.FEE_INSUFFICIENT, 'fee_insufficient', Number(amount), Number(amount), 'tlv']);
    assert.equal(local.out_htlc_id, undefined, 'nothing was offered downstream');

    // 2. anode's policy: LDK2 holds the payment so both HTLCs can be read at anode.
    const before = { in: BigInt((await chanTo(ldk1Id)).to_us_msat as number), out: BigInt((await chanTo(ldk2Id)).to_us_msat as number) };
    const ok = await pay({}, true);
    await until(async () => (await ldk2!.events(ok.since2)).some((e) => e.type === 'PaymentClaimable' && e.paymentHash === ok.hash), { what: 'LDK2 holds the HTLC', timeoutMs: 30_000 });
    const htlcIn = ((await call('dev-listhtlcs', { id: inScid })).htlcs as Json[]).find((h) => h.payment_hash === ok.hash && h.direction === 'in')!;
    const htlcOut = ((await call('dev-listhtlcs', { id: outScid })).htlcs as Json[]).find((h) => h.payment_hash === ok.hash && h.direction === 'out')!;
    assert.equal(BigInt(htlcIn.amount_msat as number) - BigInt(htlcOut.amount_msat as number), fee, 'the fee taken is the policy fee');
    assert.equal(BigInt(htlcOut.amount_msat as number), amount);
    assert.equal((htlcIn.cltv_expiry as number) - (htlcOut.cltv_expiry as number), DEFAULT_POLICY.cltvExpiryDelta, "the delta is the policy's cltv_expiry_delta");
    assert.equal(((await call('listforwards', { status: 'offered' })).forwards as Json[]).length, 1);
    assert.equal(await ldk2.claimHeld(), 1);
    const sent = await until(async () => (await ldk1!.events(ok.since1)).find((e) => e.type === 'PaymentSent' && e.paymentHash === ok.hash), { what: 'LDK1 has the preimage', timeoutMs: 30_000 });
    assert.equal(BigInt(sent.feePaidMsat!), fee);
    const settled = await until(async () => ((await call('listforwards', { status: 'settled' })).forwards as Json[])[0], { what: 'anode settled the forward', timeoutMs: 30_000 });
    assert.deepEqual([settled.in_channel, settled.out_channel, settled.in_msat, settled.out_msat, settled.fee_msat], [inScid, outScid, Number(amount + fee), Number(amount), Number(fee)]);
    assert.ok((settled.resolved_time as number) >= (settled.received_time as number));
    // LND's ForwardingHistory (gRPC, as ln-service calls it): the settled forward only.
    const net = join(dir, 'regtest');
    const { lnd } = ln.authenticatedLndGrpc({ cert: readFileSync(join(net, 'tls.cert')).toString('base64'), macaroon: readFileSync(join(net, 'admin.macaroon')).toString('base64'), socket: (d.line.grpc as string[])[0] });
    const history = await new Promise<Json>((resolve, reject) => lnd.default.forwardingHistory({ start_time: 0, num_max_events: 10 }, (err: Error | null, res: Json) => (err ? reject(err) : resolve(res))));
    const events = history.forwarding_events as Json[];
    assert.equal(events.length, 1);
    assert.deepEqual([events[0]!.fee_msat, events[0]!.amt_in_msat, events[0]!.amt_out_msat, history.last_offset_index], [String(fee), String(amount + fee), String(amount), 1]);
    // The same through the REST gateway (POST /v1/switch, LND's JSON: uint64 as strings).
    const restAt = (d.line.rest as string[])[0]!;
    const viaRest = await rest({ restPort: Number(restAt.slice(restAt.lastIndexOf(':') + 1)), cert: readFileSync(join(net, 'tls.cert'), 'utf8'), admin: readFileSync(join(net, 'admin.macaroon')) }, 'POST', '/v1/switch', { body: { start_time: '0' } });
    assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
    const restEvents = viaRest.body.forwarding_events as Json[];
    assert.deepEqual([restEvents.length, restEvents[0]!.fee_msat, restEvents[0]!.chan_id_out, viaRest.body.last_offset_index], [1, String(fee), events[0]!.chan_id_out, 1]);
    await until(async () => BigInt((await chanTo(ldk2Id)).to_us_msat as number) === before.out - amount, { what: 'the outgoing balance settled', timeoutMs: 30_000 });
    await until(async () => BigInt((await chanTo(ldk1Id)).to_us_msat as number) === before.in + amount + fee, { what: 'the incoming balance settled', timeoutMs: 30_000 });

    // 3. kill -9 after the downstream preimage is committed, before the upstream fulfil.
    const mid = { in: BigInt((await chanTo(ldk1Id)).to_us_msat as number), out: BigInt((await chanTo(ldk2Id)).to_us_msat as number) };
    await d.stop();
    d = await launch(['--dev-crash-after-forward-preimage']);
    for (const l of [ldk1, ldk2]) await l.connect('127.0.0.1', port, anodeId);
    await until(usable, { what: 'channels usable again', timeoutMs: 30_000 });
    const crash = await pay();
    await d.exited;
    assert.match(d.output(), /forward: settled downstream/, 'anode killed itself after committing the preimage');
    await until(async () => (await ldk2!.events(crash.since2)).some((e) => e.type === 'PaymentClaimed' && e.paymentHash === crash.hash), { what: 'LDK2 claimed', timeoutMs: 30_000 });
    assert.equal((await ldk1.events(crash.since1)).some((e) => e.type === 'PaymentSent'), false, 'LDK1 has no preimage yet');
    d = await launch();
    for (const l of [ldk1, ldk2]) await l.connect('127.0.0.1', port, anodeId).catch(() => undefined);
    const sentAfter = await until(async () => (await ldk1!.events(crash.since1)).find((e) => e.type === 'PaymentSent' && e.paymentHash === crash.hash), { what: 'LDK1 gets the preimage after the restart', timeoutMs: 60_000 });
    assert.equal(BigInt(sentAfter.feePaidMsat!), fee);
    const all = (await call('listforwards', { status: 'settled' })).forwards as Json[];
    assert.equal(all.length, 2);
    // anode-cli listforwards, as lightning-cli.
    const viaCli = await cliJson<{ forwards: Json[] }>(dir, 'listforwards', '-k', 'status=settled', `out_channel=${outScid}`);
    assert.deepEqual(viaCli.forwards.map((f) => f.fee_msat), [Number(fee), Number(fee)]);
    await until(async () => BigInt((await chanTo(ldk2Id)).to_us_msat as number) === mid.out - amount && BigInt((await chanTo(ldk1Id)).to_us_msat as number) === mid.in + amount + fee, { what: 'balances moved by amount + fee in, amount out', timeoutMs: 30_000 });
  });
});
