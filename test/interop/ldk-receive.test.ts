/**
 * Issue 14's receiving against real LDK 0.1 on btcd regtest: LDK pays an anode daemon, whose HTLC intake
 * settles each payment against its invoice book. One LDK node and one anode daemon with two channels
 * (LDK opens both) serve every scenario:
 *  - an invoice with an amount: LDK's PaymentSent carries the invoice's preimage; `waitinvoice` answers,
 *    `listinvoices` shows `paid` with `amount_received_msat`, ln-service `getInvoice` is confirmed
 *    (LND's SETTLED);
 *  - an invoice of any amount, paid with what LDK chose;
 *  - keysend (record 5482373484): listed as a paid `keysend-…` invoice of the amount received;
 *  - MPP: an invoice larger than either channel can carry, received in parts over both channels;
 *  - an expired invoice: refused with incorrect_or_unknown_payment_details (BOLT 4's final-node rule,
 *    as CLN and LND send it), which LDK decrypts, attributes to anode and reports as RecipientRejected;
 *  - kill -9 of the daemon after the payment is committed and before the fulfil is sent
 *    (`--dev-crash-after-paid`): after the restart the HTLC is fulfilled, LDK's payment succeeds, the
 *    invoice is paid once.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import { useBtcd } from '../harness/btcd.js';
import { chainArgs, startDaemon, tempDir, type Daemon } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason, type LdkEvent } from './peers/ldk.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

const gate = interopGate('ldk', 'anode receives payments from ldk', ldkUnavailableReason());
const btcd = useBtcd('anode receives payments from ldk');
const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

interface InvoiceView {
  label: string;
  status: string;
  bolt11: string;
  payment_hash: string;
  payment_preimage?: string;
  amount_msat?: number;
  amount_received_msat?: number;
  pay_index?: number;
}

describe('LDK pays anode: invoices, keysend, MPP, expiry, kill -9 between commit and fulfil', { skip: gate.skip || btcd.skip, timeout: 300_000 }, () => {
  let ldk: LdkPeer;
  let daemon: Daemon;
  const dir = tempDir('anode-receive-');
  const rpcPath = join(dir, 'regtest', 'lightning-rpc');
  const lines: string[] = [];
  let anodeId: string;
  const channelIds: string[] = [];

  async function call<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const r = await rpcCall(rpcPath, method, params);
    if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
    return r.result as T;
  }
  const launch = (extra: string[] = []): Promise<Daemon> => startDaemon(['--developer', '--log-level=debug', ...chainArgs(btcd.node), ...extra], dir);
  const follow = async (): Promise<void> => {
    await ldk.channels.followChain();
  };
  const anodeChannels = async (): Promise<{ state: string; peer_connected: boolean; channel_id: string }[]> =>
    (await call<{ channels: { state: string; peer_connected: boolean; channel_id: string }[] }>('listpeerchannels')).channels;
  /** Both channels usable on both sides. */
  const allUsable = async (): Promise<boolean> => {
    const mine = await anodeChannels().catch(() => []);
    const theirs = await ldk.channels.list();
    return channelIds.every((id) => mine.some((c) => c.channel_id === id && c.state === 'CHANNELD_NORMAL' && c.peer_connected) && theirs.some((c) => c.channelId === id && c.state === 'usable'));
  };
  const invoice = (label: string, amount: number | 'any', extra: Record<string, unknown> = {}): Promise<{ bolt11: string; payment_hash: string; payment_secret: string }> =>
    call('invoice', { amount_msat: amount, label, description: `receive test ${label}`, ...extra });
  /** ln-service's handle on the daemon's gRPC, with its admin macaroon. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const lndOf = (): any => {
    const net = join(dir, 'regtest');
    return ln.authenticatedLndGrpc({ cert: readFileSync(join(net, 'tls.cert')).toString('base64'), macaroon: readFileSync(join(net, 'admin.macaroon')).toString('base64'), socket: (daemon.line.grpc as string[])[0] }).lnd;
  };
  const listed = async (label: string): Promise<InvoiceView> => (await call<{ invoices: InvoiceView[] }>('listinvoices', { label })).invoices[0]!;

  /** LDK's outcome for a payment hash: PaymentSent or PaymentFailed (from event sequence `since`). */
  async function outcome(hash: string, since: number, timeoutMs = 30_000): Promise<LdkEvent> {
    return until(async () => (await ldk.events(since)).find((e) => (e.type === 'PaymentSent' || e.type === 'PaymentFailed') && e.paymentHash === hash), { what: `LDK's outcome for ${hash}`, timeoutMs });
  }

  before(async () => {
    gate.require();
    ldk = new LdkPeer({
      seed: Buffer.alloc(32, 0x6d),
      log: (l: string) => {
        lines.push(l);
        if (verbose) process.stderr.write(`[ldk] ${l}\n`);
      },
    });
    await ldk.start();
    await ldk.channels.useChain(btcd.node);
    daemon = await launch();
    anodeId = daemon.line.nodeId as string;
    const port = await ldk.listen();
    await call('connect', { id: `${ldk.nodeId.toString('hex')}@127.0.0.1:${port}` });
    await ldk.waitForPeer(Buffer.from(anodeId, 'hex'), 10_000);
    for (const amountSat of [400_000n, 400_000n]) channelIds.push((await ldk.channels.open({ nodeId: Buffer.from(anodeId, 'hex'), amountSat })).channelId);
    await btcd.node.mineUntil(allUsable, 'both channels usable on both sides', { maxBlocks: 8, settleMs: 800, follow });
  });
  after(async () => {
    if (daemon?.running()) await daemon.stop();
    await ldk?.stop();
  });
  afterEach((t) => {
    if ((t as unknown as { passed?: boolean }).passed === false || process.env.ANODE_KEEP_LOGS) {
      writeFileSync(join(dir, 'receive-test.log'), daemon.output());
      console.error(`anode log: ${join(dir, 'receive-test.log')}`);
    }
  });

  it('an invoice with an amount: PaymentSent with its preimage; waitinvoice, listinvoices paid, ln-service getInvoice confirmed', async () => {
    const inv = await invoice('with-amount', 21_000_000);
    const waiting = call<InvoiceView>('waitinvoice', { label: 'with-amount' });
    const since = (await ldk.events()).length;
    const { paymentHash } = await ldk.payInvoice(inv.bolt11);
    assert.equal(paymentHash, inv.payment_hash);
    const sent = await outcome(paymentHash, since);
    assert.equal(sent.type, 'PaymentSent');
    assert.equal(sha256(Buffer.from(sent.paymentPreimage!, 'hex')).toString('hex'), inv.payment_hash);
    const waited = await waiting;
    assert.equal(waited.status, 'paid');
    assert.equal(waited.amount_received_msat, 21_000_000);
    const row = await listed('with-amount');
    assert.deepEqual([row.status, row.amount_received_msat, row.payment_preimage], ['paid', 21_000_000, sent.paymentPreimage]);
    // LND's view: ln-service over the daemon's gRPC with its admin macaroon.
    const lnd = lndOf();
    const got = await ln.getInvoice({ lnd, id: inv.payment_hash });
    assert.deepEqual([got.is_confirmed, got.received_mtokens, got.secret], [true, '21000000', sent.paymentPreimage]);
  });

  it('an invoice of any amount: paid with the amount LDK sent', async () => {
    const inv = await invoice('any-amount', 'any');
    const since = (await ldk.events()).length;
    const { paymentHash } = await ldk.payInvoice(inv.bolt11, 7_654_321);
    assert.equal((await outcome(paymentHash, since)).type, 'PaymentSent');
    const row = await listed('any-amount');
    assert.deepEqual([row.status, row.amount_msat, row.amount_received_msat], ['paid', undefined, 7_654_321]);
  });

  it('keysend: fulfilled with the sender preimage, listed as a paid keysend invoice of the amount received', async () => {
    const since = (await ldk.events()).length;
    const { paymentHash } = await ldk.keysend({ nodeId: Buffer.from(anodeId, 'hex'), amountMsat: 3_333_000 });
    const sent = await outcome(paymentHash, since);
    assert.equal(sent.type, 'PaymentSent');
    const all = (await call<{ invoices: InvoiceView[] }>('listinvoices')).invoices;
    const ks = all.find((i) => i.payment_hash === paymentHash);
    assert.ok(ks, 'the keysend is listed');
    assert.match(ks.label, /^keysend-\d+\.\d{9}$/);
    assert.deepEqual([ks.status, ks.amount_received_msat, ks.payment_preimage], ['paid', 3_333_000, sent.paymentPreimage]);
    // LND's view (ListInvoices): SETTLED, is_keysend, no payment request, as LND lists its keysends.
    const lnd = lndOf();
    const got = (await ln.getInvoices({ lnd })).invoices.find((i: { id: string }) => i.id === paymentHash);
    assert.deepEqual([got.is_confirmed, got.received_mtokens, got.request], [true, '3333000', undefined]);
    const raw = await new Promise<{ is_keysend: boolean; payment_request: string; state: string }>((res, rej) => lnd.default.lookupInvoice({ r_hash: Buffer.from(paymentHash, 'hex') }, (e: Error | null, r: { is_keysend: boolean; payment_request: string; state: string }) => (e ? rej(e) : res(r))));
    assert.deepEqual([raw.is_keysend, raw.payment_request, raw.state], [true, '', 'SETTLED']);
  });

  it('MPP: an invoice larger than either channel, received in parts over both channels', async () => {
    const before = await ldk.channels.list();
    const largest = Math.max(...before.filter((c) => channelIds.includes(c.channelId)).map((c) => Number(c.spendableMsat)));
    const amount = largest + 100_000_000;
    const inv = await invoice('mpp', amount);
    const since = (await ldk.events()).length;
    const { paymentHash } = await ldk.payInvoice(inv.bolt11);
    const sent = await outcome(paymentHash, since);
    assert.equal(sent.type, 'PaymentSent', `LDK's verdict: ${JSON.stringify(sent)}`);
    const row = await listed('mpp');
    assert.deepEqual([row.status, row.amount_received_msat], ['paid', amount]);
    const afterPay = await ldk.channels.list();
    for (const id of channelIds) {
      const was = Number(before.find((c) => c.channelId === id)!.spendableMsat);
      const now = Number(afterPay.find((c) => c.channelId === id)!.spendableMsat);
      assert.ok(now < was, `channel ${id} carried a part (${was} → ${now})`);
    }
  });

  it('an expired invoice: incorrect_or_unknown_payment_details from anode, LDK says the recipient rejected it', async () => {
    const inv = await invoice('expired', 5_000_000, { expiry: 1 });
    await sleep(2_100);
    assert.equal((await listed('expired')).status, 'expired');
    // LDK refuses to pay an expired invoice itself, so its HTLC is sent with the invoice's hash and secret.
    const since = (await ldk.events()).length;
    const from = lines.length;
    const { paymentSecret } = decodeInvoice(inv.bolt11);
    await ldk.sendPayment({ nodeId: Buffer.from(anodeId, 'hex'), amountMsat: 5_000_000, paymentHash: Buffer.from(inv.payment_hash, 'hex'), paymentSecret: paymentSecret!, finalCltvDelta: 40 });
    const failed = await outcome(inv.payment_hash, since);
    assert.deepEqual([failed.type, failed.failureReason], ['PaymentFailed', 'RecipientRejected']);
    assert.ok(lines.slice(from).some((l) => l.includes(`Onion Error[from ${anodeId}: incorrect_or_unknown_payment_details(0x400f)`)), 'LDK decoded the failure from anode');
    assert.equal((await listed('expired')).status, 'expired');
  });

  it('kill -9 after the payment is committed, before the fulfil: the restart fulfils, LDK succeeds, paid once', async () => {
    await daemon.stop();
    daemon = await launch(['--dev-crash-after-paid']);
    await until(allUsable, { what: 'reconnected, channels usable', timeoutMs: 60_000 });
    const inv = await invoice('crash', 12_000_000);
    const since = (await ldk.events()).length;
    const { paymentHash } = await ldk.payInvoice(inv.bolt11);
    await daemon.exited;
    assert.equal(daemon.running(), false, 'the daemon died at the crash point');
    assert.match(daemon.output(), /invoice paid/, 'it died after committing the payment');
    assert.equal((await ldk.events(since)).some((e) => e.type === 'PaymentSent' && e.paymentHash === paymentHash), false, 'no preimage left before the crash');
    daemon = await launch();
    const sent = await outcome(paymentHash, since, 60_000);
    assert.equal(sent.type, 'PaymentSent');
    const row = await listed('crash');
    assert.deepEqual([row.status, row.amount_received_msat], ['paid', 12_000_000]);
    const paid = (await call<{ invoices: InvoiceView[] }>('listinvoices')).invoices.filter((i) => i.payment_hash === paymentHash);
    assert.equal(paid.length, 1);
    await until(async () => (await anodeChannels()).every((c) => c.state === 'CHANNELD_NORMAL'), { what: 'channels normal', timeoutMs: 10_000 });
  });
});
