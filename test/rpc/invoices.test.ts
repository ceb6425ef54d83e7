/**
 * CLN's invoice commands over a real anode daemon's socket (every result checked against its schema by
 * the harness client): invoice, listinvoices, decodepay, decode, delinvoice, waitinvoice and
 * waitanyinvoice, with lightningd's codes (900, 901, 903–906, 908) and texts. The paid path (which only
 * the HTLC intake reaches) runs in-process: the node's real JSON-RPC server over a real book and store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import type { InvoiceBook } from '../../src/invoice/book.js';
import { decodeInvoice } from '../../src/invoice/bolt11.js';
import { attachBook } from '../invoice/attach-book.js';
import { cli, staticKey } from '../harness/daemon.js';
import { RawClient, startDaemon, startRpcNode, type Daemon, type RpcNode } from './harness.js';

describe('CLN invoice commands on a daemon', () => {
  let d: Daemon;
  let c: RawClient;
  before(async () => {
    d = await startDaemon();
    c = await RawClient.open(d.rpcPath);
  });
  after(async () => {
    c.close();
    await d.stop();
  });

  it('invoice: a signed BOLT 11 string, listed, decoded; duplicates refused with 900 and 901', async () => {
    const r = (await c.call('invoice', { amount_msat: '10sat', label: 'coffee', description: 'one coffee', expiry: 3600, cltv: 40 })).result!;
    const inv = decodeInvoice(r.bolt11 as string);
    assert.equal(inv.payeeNodeId.toString('hex'), d.nodeId);
    assert.equal(inv.amountMsat, 10_000n);
    assert.equal(inv.minFinalCltvExpiryDelta, 40);
    assert.equal(inv.paymentHash.toString('hex'), r.payment_hash);
    assert.equal(inv.paymentSecret.toString('hex'), r.payment_secret);
    assert.equal(r.expires_at, inv.timestamp + 3600);
    assert.equal(r.created_index, 1);

    const any = (await c.call('invoice', ['any', 7, 'any amount'])).result!;
    assert.equal(decodeInvoice(any.bolt11 as string).amountMsat, undefined);
    const listed = (await c.call('listinvoices', {})).result!.invoices as Record<string, unknown>[];
    assert.deepEqual(listed.map((i) => [i.label, i.status, i.amount_msat]), [['coffee', 'unpaid', 10000], ['7', 'unpaid', undefined]]);
    assert.deepEqual(((await c.call('listinvoices', { invstring: r.bolt11 })).result!.invoices as unknown[]).length, 1);
    assert.deepEqual(((await c.call('listinvoices', { payment_hash: any.payment_hash })).result!.invoices as { label: string }[])[0]!.label, '7');

    const dup = await c.call('invoice', { amount_msat: 1, label: 'coffee', description: 'x' });
    assert.deepEqual(dup.error, { code: 900, message: "Duplicate label 'coffee'" });
    const pre = 'ab'.repeat(32);
    await c.call('invoice', { amount_msat: 1, label: 'p1', description: 'x', preimage: pre });
    assert.equal((await c.call('invoice', { amount_msat: 1, label: 'p2', description: 'x', preimage: pre })).error?.code, 901);
    assert.equal((await c.call('invoice', { amount_msat: 0, label: 'z', description: 'x' })).error?.code, -32602);
    assert.equal((await c.call('listinvoices', { label: 'a', payment_hash: pre })).error?.message, 'Can only specify one of {label}, {invstring}, {payment_hash} or {offer_id}');
    assert.equal((await c.call('check', { command_to_check: 'invoice', amount_msat: 1, label: 'coffee', description: 'x' })).error, undefined, 'check does not look the label up (as lightningd)');
  });

  it('decodepay and decode: common/bolt11_json.c fields; a bad string fails', async () => {
    const r = (await c.call('invoice', { amount_msat: 5000, label: 'dec', description: 'hashed', deschashonly: true })).result!;
    const p = (await c.call('decodepay', { bolt11: r.bolt11 })).result!;
    assert.equal(p.currency, 'bcrt');
    assert.equal(p.payee, d.nodeId);
    assert.equal(p.amount_msat, 5000);
    assert.equal(p.description_hash, sha256(Buffer.from('hashed')).toString('hex'));
    assert.equal(p.features, '024100');
    assert.equal(p.payment_hash, r.payment_hash);
    const dec = (await c.call('decode', [r.bolt11])).result!;
    assert.equal(dec.type, 'bolt11 invoice');
    assert.equal(dec.valid, true);
    assert.equal((await c.call('decodepay', { bolt11: r.bolt11, description: 'not it' })).error?.code, -1);
    const { bech32 } = (await c.call('newaddr', {})).result as { bech32: string };
    const fb = (await c.call('invoice', { amount_msat: 5000, label: 'fb', description: 'f', fallbacks: [bech32] })).result!;
    const withFallback = (await c.call('decodepay', [fb.bolt11])).result!;
    assert.deepEqual((withFallback.fallbacks as { type: string; addr: string }[]).map((f) => [f.type, f.addr]), [['P2WPKH', bech32]]);
    assert.deepEqual((await c.call('invoice', { amount_msat: 1, label: 'fb2', description: 'f', fallbacks: ['bc1qnot'] })).error, { code: -1, message: 'Fallback address not valid' });
    assert.match((await c.call('decodepay', ['lnbcrt1xyz'])).error!.message, /^Invalid bolt11: /);
  });

  it('delinvoice: 905, 906 with the statuses, desconly then 908, then the invoice goes', async () => {
    await c.call('invoice', { amount_msat: 1000, label: 'del', description: 'gone soon' });
    assert.deepEqual((await c.call('delinvoice', { label: 'nope', status: 'unpaid' })).error, { code: 905, message: 'Unknown invoice' });
    const wrong = JSON.parse((await c.call('delinvoice', { label: 'del', status: 'paid' })).text) as { error: { code: number; message: string; data: unknown } };
    assert.deepEqual(wrong.error, { code: 906, message: 'Invoice status is unpaid not paid', data: { current_status: 'unpaid', expected_status: 'paid' } });
    const desc = (await c.call('delinvoice', { label: 'del', status: 'unpaid', desconly: true })).result!;
    assert.equal(desc.description, undefined);
    assert.equal((await c.call('delinvoice', { label: 'del', status: 'unpaid', desconly: true })).error?.code, 908);
    assert.equal((await c.call('delinvoice', ['del', 'unpaid'])).result!.label, 'del');
    assert.deepEqual((await c.call('listinvoices', { label: 'del' })).result!.invoices, []);
  });

  it('anode-cli: invoice and listinvoices through the generic JSON-RPC path', async () => {
    const r = await cli(d.anodeDir, 'invoice', '3000', 'from-cli', 'made by anode-cli');
    assert.equal(r.status, 0, r.err);
    const made = JSON.parse(r.out) as { bolt11: string; payment_hash: string };
    assert.equal(decodeInvoice(made.bolt11).amountMsat, 3000n);
    const l = await cli(d.anodeDir, 'listinvoices', 'from-cli');
    assert.equal((JSON.parse(l.out) as { invoices: { payment_hash: string }[] }).invoices[0]!.payment_hash, made.payment_hash);
  });

  it('waitanyinvoice times out with 904; waitinvoice on an unknown label fails; on an expired one 903', async () => {
    assert.deepEqual((await c.call('waitanyinvoice', { timeout: 0 })).error, { code: 904, message: 'Timed out while waiting for invoice to be paid' });
    assert.deepEqual((await c.call('waitinvoice', ['nope'])).error, { code: -1, message: 'Label not found' });
    await c.call('invoice', { amount_msat: 1000, label: 'brief', description: 'x', expiry: 1 });
    const r = JSON.parse((await c.call('waitinvoice', ['brief'])).text) as { error: { code: number; message: string; data: { status: string } } };
    assert.equal(r.error.code, 903);
    assert.equal(r.error.message, 'invoice expired during wait');
    assert.equal(r.error.data.status, 'expired');
  });
});

describe('CLN invoice waits on payment (in-process node, real book and store)', () => {
  let n: RpcNode;
  let book: InvoiceBook;
  before(async () => {
    n = await startRpcNode();
    book = await attachBook(n.core, n.node.store, staticKey(0x42), Buffer.alloc(32, 1));
  });
  after(async () => {
    book.stop();
    await n.close();
  });

  it('waitinvoice and waitanyinvoice answer when the intake marks the invoice paid', async () => {
    const c = await RawClient.open(n.path);
    const c2 = await RawClient.open(n.path);
    const r = (await c.call('invoice', { amount_msat: 2000, label: 'w', description: 'wait for me' })).result!;
    const waiting = c.call('waitinvoice', { label: 'w' });
    const any = c2.call('waitanyinvoice', {});
    await new Promise((res) => setTimeout(res, 50));
    await book.markPaid(Buffer.from(r.payment_hash as string, 'hex'), 2100n, 2);
    const paid = (await waiting).result!;
    assert.equal(paid.status, 'paid');
    assert.equal(paid.pay_index, 1);
    assert.equal(paid.amount_received_msat, 2100);
    assert.equal(sha256(Buffer.from(paid.payment_preimage as string, 'hex')).toString('hex'), r.payment_hash);
    assert.equal((await any).result!.label, 'w');
    assert.equal((await c.call('waitanyinvoice', { lastpay_index: 1, timeout: 0 })).error?.code, 904);
    assert.equal((await c.call('delinvoice', ['w', 'paid'])).result!.status, 'paid');
    c.close();
    c2.close();
  });
});
