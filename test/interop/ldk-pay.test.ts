/**
 * Issue 14, sending, against real LDK 0.1 on btcd regtest, through anode's CLN JSON-RPC (anode-cli):
 * anode pays LDK's invoices (with and without an amount), keysends to LDK, reads LDK's refusal of an
 * unknown payment hash (attributed to LDK, with its BOLT 4 code), and splits a payment across two
 * channels when neither can carry it alone (LDK caps what is in flight towards it per channel). LDK
 * claims each payment (its PaymentClaimed event) and anode records the preimage; a paid hash is never
 * paid again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { sha256 } from '../../src/crypto/hash.js';
import { sendable } from '../../src/payment/capacity.js';
import { useBtcd } from '../harness/btcd.js';
import { cli, cliJson, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';
import { startWithAnode } from './with-anode.js';

const gate = interopGate('ldk', 'anode pays ldk', ldkUnavailableReason());
const btcd = useBtcd('anode pays ldk');

type Json = Record<string, unknown>;

const PYTHON = process.env.ANODE_PYTHON ?? 'python3';
const pylnMissing = spawnSync(PYTHON, ['-c', 'import pyln.client'], { encoding: 'utf8' }).status !== 0;
/** pyln-client's pay and keysend against anode's socket (asynchronously: LDK and anode share this process's event loop). */
const PYLN_PAY = `
import json, sys
from pyln.client import LightningRpc
rpc = LightningRpc(sys.argv[1])
print(json.dumps({"pay": rpc.pay(sys.argv[2]), "keysend": rpc.keysend(sys.argv[3], 2500000)}, default=str))
`;

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

/** anode-cli's error answer (lightningd's `{code, message, data}`). */
async function cliError(dir: string, ...args: string[]): Promise<{ code: number; message: string; data?: Json }> {
  const r = await cli(dir, ...args);
  assert.notEqual(r.status, 0, `anode-cli ${args[0]} should fail: ${r.out}`);
  return JSON.parse(r.out || r.err) as { code: number; message: string; data?: Json };
}

describe('anode pays LDK: invoices, keysend, failures, MPP', { skip: gate.skip || btcd.skip, timeout: 150_000 }, () => {
  let ldk: LdkPeer;
  let anode: TestNode | undefined;
  let ldkId: string;
  const chans: Channel[] = [];

  before(async () => {
    gate.require();
    ldk = new LdkPeer({ seed: Buffer.alloc(32, 0x5e), log: (l) => process.env.ANODE_INTEROP_VERBOSE === '1' && process.stderr.write(`[ldk] ${l}\n`) });
    anode = await startWithAnode(ldk, btcd.node);
    ldkId = ldk.nodeId.toString('hex');
    const follow = async (): Promise<void> => {
      await ldk.channels.followChain();
      await anode!.channels.syncChain();
    };
    // Two channels opened by LDK, each pushing anode what it will spend.
    for (let i = 0; i < 2; i++) {
      const opened = await ldk.channels.open({ nodeId: anode.node.nodeId, amountSat: 500_000n, pushMsat: 300_000_000n });
      chans.push(await until(() => anode!.channels.get(opened.channelId), 'anode has the channel'));
    }
    await btcd.node.mineUntil(async () => chans.every((c) => c.usable) && (await ldk.channels.list()).filter((c) => c.state === 'usable').length === 2, 'both channels usable', { maxBlocks: 8, settleMs: 500, follow });
  });
  after(async () => {
    await anode?.stop();
    await ldk?.stop();
  });

  async function claimed(hash: string, since: number): Promise<number> {
    const ev = await until(async () => (await ldk.events(since)).find((e) => e.type === 'PaymentClaimed' && e.paymentHash === hash), { what: 'LDK claimed the payment', timeoutMs: 30_000 });
    return ev.amountMsat!;
  }

  it('pays an LDK invoice with an amount; paying it again returns the same success and sends nothing', async () => {
    const since = (await ldk.events()).length;
    const bolt11 = await ldk.createInvoice({ amountMsat: 12_345_000 });
    const r = await cliJson<Json>(anode!.dir, 'pay', bolt11);
    assert.equal(r.status, 'complete');
    assert.equal(r.destination, ldkId);
    assert.equal(r.amount_msat, 12_345_000);
    assert.equal(sha256(Buffer.from(r.payment_preimage as string, 'hex')).toString('hex'), r.payment_hash);
    assert.equal(await claimed(r.payment_hash as string, since), 12_345_000);
    const parts = (await cliJson<{ payments: Json[] }>(anode!.dir, 'listsendpays', '-k', `payment_hash=${r.payment_hash as string}`)).payments;
    assert.deepEqual(parts.map((p) => p.status), ['complete']);
    const again = await cliJson<Json>(anode!.dir, 'pay', bolt11);
    assert.equal(again.payment_preimage, r.payment_preimage);
    assert.equal((await cliJson<{ payments: Json[] }>(anode!.dir, 'listsendpays', '-k', `payment_hash=${r.payment_hash as string}`)).payments.length, 1, 'no second HTLC');
    const pays = (await cliJson<{ pays: Json[] }>(anode!.dir, 'listpays', '-k', `bolt11=${bolt11}`)).pays;
    assert.deepEqual([pays.length, pays[0]!.status, pays[0]!.preimage, pays[0]!.number_of_parts], [1, 'complete', r.payment_preimage, 1]);
  });

  it('pays an amount-less LDK invoice: amount_msat required, then paid', async () => {
    const since = (await ldk.events()).length;
    const bolt11 = await ldk.createInvoice({});
    const e = await cliError(anode!.dir, 'pay', bolt11);
    assert.deepEqual([e.code, e.message], [-32602, 'amount_msat parameter required']);
    const r = await cliJson<Json>(anode!.dir, 'pay', bolt11, '7000000');
    assert.equal(r.status, 'complete');
    assert.equal(await claimed(r.payment_hash as string, since), 7_000_000);
  });

  it('keysend to LDK: LDK claims a spontaneous payment', async () => {
    const since = (await ldk.events()).length;
    const r = await cliJson<Json>(anode!.dir, 'keysend', ldkId, '5000000');
    assert.equal(r.status, 'complete');
    assert.equal(await claimed(r.payment_hash as string, since), 5_000_000);
    const ev = (await ldk.events(since)).find((x) => x.type === 'PaymentClaimed');
    assert.equal(ev?.purpose, 'SpontaneousPayment');
  });

  it('sendpay of a hash LDK does not know: waitsendpay reports LDK refused it (incorrect_or_unknown_payment_details, 203)', async () => {
    const hash = sha256(randomBytes(32)).toString('hex');
    const ch = chans[0]!;
    const route = [{ id: ldkId, channel: ch.data.shortChannelId, amount_msat: 3_000_000, delay: 40 }];
    const sent = await cliJson<Json>(anode!.dir, 'sendpay', '-k', `route=${JSON.stringify(route)}`, `payment_hash=${hash}`, `payment_secret=${randomBytes(32).toString('hex')}`);
    assert.equal(sent.status, 'pending');
    const e = await cliError(anode!.dir, 'waitsendpay', hash);
    assert.equal(e.code, 203);
    assert.equal(e.data?.failcodename, 'WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS');
    assert.equal(e.data?.failcode, 0x400f);
    assert.deepEqual([e.data?.erring_index, e.data?.erring_node, e.data?.status], [1, ldkId, 'failed']);
    // The failure carries the HTLC's amount and LDK's height (BOLT 4: htlc_msat, height).
    assert.match(String(e.data?.raw_message), /^400f00000000002dc6c0/);
    const pays = (await cliJson<{ pays: Json[] }>(anode!.dir, 'listpays', '-k', `payment_hash=${hash}`)).pays;
    assert.equal(pays[0]!.status, 'failed');
  });

  it("LND's SendPaymentSync (ln-service's raw lnrpc client): an LDK invoice, a keysend with the caller's preimage, then ListPayments", async () => {
    const regtest = join(anode!.dir, 'regtest');
    const addr = anode!.node.lnd!.rpc[0]!;
    const { lnd } = ln.authenticatedLndGrpc({ cert: readFileSync(join(regtest, 'tls.cert')).toString('base64'), macaroon: readFileSync(join(regtest, 'admin.macaroon')).toString('base64'), socket: `127.0.0.1:${addr.port}` });
    const call = (method: string, req: Json): Promise<Json> => new Promise((resolve, reject) => lnd.default[method](req, (err: Error | null, res: Json) => (err ? reject(err) : resolve(res))));
    const since = (await ldk.events()).length;
    const bolt11 = await ldk.createInvoice({ amountMsat: 4_000_000 });
    const r = await call('sendPaymentSync', { payment_request: bolt11 });
    assert.equal(r.payment_error, '');
    const hash = (r.payment_hash as Buffer).toString('hex');
    assert.equal(sha256(r.payment_preimage as Buffer).toString('hex'), hash);
    assert.equal(await claimed(hash, since), 4_000_000);
    const route = r.payment_route as { hops: Json[]; total_amt_msat: string };
    assert.deepEqual([route.total_amt_msat, route.hops.length, route.hops[0]!.pub_key], ['4000000', 1, ldkId]);
    assert.equal((await call('sendPaymentSync', { payment_request: bolt11 })).payment_error, 'invoice is already paid');
    const preimage = randomBytes(32);
    const k = await call('sendPaymentSync', { dest: ldk.nodeId, amt: '3000', payment_hash: sha256(preimage), dest_custom_records: { '5482373484': preimage } });
    assert.equal(k.payment_error, '');
    assert.ok((k.payment_preimage as Buffer).equals(preimage));
    const listed = (await call('listPayments', { include_incomplete: true })).payments as Json[];
    const mine = listed.find((p) => p.payment_hash === hash)!;
    assert.deepEqual([mine.status, mine.value_msat, mine.payment_request, (mine.htlcs as Json[]).length], ['SUCCEEDED', '4000000', bolt11, 1]);
    assert.ok(listed.some((p) => p.payment_hash === sha256(preimage).toString('hex') && p.status === 'SUCCEEDED'));
    lnd.default.close?.();
  });

  it('pyln-client pay and keysend against anode', { skip: pylnMissing && process.env.ANODE_REQUIRE_INTEROP !== '1' && 'PYLN-CLIENT NOT AVAILABLE — skipped (ANODE_REQUIRE_INTEROP=1 makes this fatal)' }, async () => {
    const since = (await ldk.events()).length;
    const bolt11 = await ldk.createInvoice({ amountMsat: 3_300_000 });
    const out = await new Promise<string>((resolve, reject) =>
      execFile(PYTHON, ['-c', PYLN_PAY, join(anode!.dir, 'regtest', 'lightning-rpc'), bolt11, ldkId], { encoding: 'utf8' }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message}: ${stderr}`)) : resolve(stdout))),
    );
    const r = JSON.parse(out) as { pay: Json; keysend: Json };
    assert.deepEqual([r.pay.status, r.keysend.status], ['complete', 'complete']);
    assert.equal(await claimed(r.pay.payment_hash as string, since), 3_300_000);
    assert.equal(await claimed(r.keysend.payment_hash as string, since), 2_500_000);
  });

  it('MPP: an amount neither channel can carry alone goes in parts over both, LDK claims the total', async () => {
    const rooms = chans.map((c) => sendable(c.data, 'local'));
    const biggest = rooms.reduce((a, b) => (a > b ? a : b));
    const total = biggest + (rooms.reduce((a, b) => (a < b ? a : b)) / 2n);
    const since = (await ldk.events()).length;
    const bolt11 = await ldk.createInvoice({ amountMsat: total });
    const r = await cliJson<Json>(anode!.dir, 'pay', bolt11);
    assert.equal(r.status, 'complete');
    assert.ok((r.parts as number) >= 2, `paid in ${String(r.parts)} parts`);
    assert.equal(BigInt(await claimed(r.payment_hash as string, since)), total);
    const parts = (await cliJson<{ payments: Json[] }>(anode!.dir, 'listsendpays', '-k', `payment_hash=${r.payment_hash as string}`)).payments;
    assert.equal(parts.reduce((s, p) => s + BigInt(p.amount_msat as number), 0n), total);
  });
});
