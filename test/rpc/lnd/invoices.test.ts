/**
 * LND's invoice methods: ln-service@58.1.0 createInvoice, getInvoice, getInvoices, decodePaymentRequest
 * and subscribeToInvoices against a real anode daemon (its tls.cert and admin.macaroon), REST's routes
 * for the same (SubscribeInvoices as newline-delimited `{"result": …}`), and the invoices macaroon
 * permissions. The settle event (which only the HTLC intake causes) runs in-process over a real book.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../../src/crypto/hash.js';
import type { InvoiceBook } from '../../../src/invoice/book.js';
import { decodeInvoice } from '../../../src/invoice/bolt11.js';
import { attachBook } from '../../invoice/attach-book.js';
import { startDaemon, staticKey, type Daemon } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { startTestLndRpc, type TestLndRpc } from './harness.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

interface Rest {
  port: number;
  cert: string;
  macaroon: Buffer;
}

/** One REST call; for a stream, the lines received until `lines` of them arrived (then the request is dropped). */
function restCall(r: Rest, method: string, path: string, body?: unknown, lines = 0): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: r.port, method, path, headers: { 'Grpc-Metadata-macaroon': r.macaroon.toString('hex') }, ca: r.cert, servername: 'localhost' },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (lines > 0 && text.split('\n').filter(Boolean).length >= lines) {
            resolve({ status: res.statusCode ?? 0, text });
            req.destroy();
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', (e) => (lines > 0 ? undefined : reject(e)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('LND invoices on a daemon: ln-service and REST', () => {
  let d: Daemon;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let lnd: any;
  let r: Rest;
  let nodeId: string;
  before(async () => {
    d = await startDaemon(['--log-level=debug']);
    const net = join(d.dir, 'regtest');
    const cert = readFileSync(join(net, 'tls.cert'), 'utf8');
    const macaroon = readFileSync(join(net, 'admin.macaroon'));
    nodeId = d.line.nodeId as string;
    lnd = ln.authenticatedLndGrpc({ cert: Buffer.from(cert).toString('base64'), macaroon: macaroon.toString('base64'), socket: (d.line.grpc as string[])[0] }).lnd;
    r = { port: Number((d.line.rest as string[])[0]!.split(':').at(-1)), cert, macaroon };
  });
  after(async () => {
    await d.stop();
  });

  it('createInvoice, getInvoice, getInvoices, decodePaymentRequest', async () => {
    const created = await ln.createInvoice({ lnd, tokens: 1234, description: 'tea', expires_at: new Date(Date.now() + 7200_000).toISOString() });
    const inv = decodeInvoice(created.request);
    assert.equal(inv.payeeNodeId.toString('hex'), nodeId);
    assert.equal(inv.amountMsat, 1_234_000n);
    assert.equal(created.id, inv.paymentHash.toString('hex'));
    assert.equal(created.payment, inv.paymentSecret.toString('hex'));
    assert.equal(created.tokens, 1234);

    const got = await ln.getInvoice({ lnd, id: created.id });
    assert.equal(got.request, created.request);
    assert.equal(got.description, 'tea');
    assert.equal(got.is_confirmed, false);
    assert.ok(!got.is_canceled);
    assert.equal(got.tokens, 1234);
    assert.equal(sha256(Buffer.from(got.secret, 'hex')).toString('hex'), created.id);
    assert.deepEqual(
      got.features.map((f: { bit: number }) => f.bit),
      [8, 14, 17],
    );

    const none = await ln.createInvoice({ lnd, description: 'any amount' });
    assert.equal(decodeInvoice(none.request).amountMsat, undefined);
    const { invoices } = await ln.getInvoices({ lnd });
    assert.deepEqual(
      invoices.map((i: { id: string }) => i.id),
      [none.id, created.id],
      'newest first, as LND lists them to ln-service',
    );
    const page = await ln.getInvoices({ lnd, limit: 1 });
    assert.equal(page.invoices.length, 1);
    assert.equal(page.invoices[0].id, none.id);

    const decoded = await ln.decodePaymentRequest({ lnd, request: created.request });
    assert.equal(decoded.destination, nodeId);
    assert.equal(decoded.id, created.id);
    assert.equal(decoded.tokens, 1234);
    assert.equal(decoded.description, 'tea');
    assert.equal(decoded.payment, created.payment);
    assert.equal(decoded.cltv_delta, inv.minFinalCltvExpiryDelta);

    await assert.rejects(ln.getInvoice({ lnd, id: '00'.repeat(32) }), (e: [number, string, { err: { code: number; details: string } }]) => e[2].err.code === 5 && e[2].err.details === 'unable to locate invoice');
    await assert.rejects(ln.decodePaymentRequest({ lnd, request: 'lnbc1qqq' }));
  });

  it('REST: POST /v1/invoices, GET /v1/invoice/{r_hash_str}, GET /v1/payreq/{pay_req}, errors as LND words them', async () => {
    const add = await restCall(r, 'POST', '/v1/invoices', { memo: 'rest', value_msat: '5000', expiry: '600' });
    assert.equal(add.status, 200, add.text);
    const a = JSON.parse(add.text) as { r_hash: string; payment_request: string; add_index: string; payment_addr: string };
    const hashHex = Buffer.from(a.r_hash, 'base64').toString('hex');
    const look = JSON.parse((await restCall(r, 'GET', `/v1/invoice/${hashHex}`)).text) as Record<string, unknown>;
    assert.equal(look.memo, 'rest');
    assert.equal(look.value_msat, '5000');
    assert.equal(look.value, '5');
    assert.equal(look.state, 'OPEN');
    assert.equal(look.expiry, '600');
    assert.equal(look.add_index, a.add_index);
    const pay = JSON.parse((await restCall(r, 'GET', `/v1/payreq/${a.payment_request}`)).text) as Record<string, unknown>;
    assert.equal(pay.payment_hash, hashHex);
    assert.equal(pay.num_msat, '5000');
    const both = await restCall(r, 'POST', '/v1/invoices', { value: '1', value_msat: '1000' });
    assert.equal((JSON.parse(both.text) as { message: string }).message, 'sat and msat arguments are mutually exclusive');
    const dup = await restCall(r, 'POST', '/v1/invoices', { r_preimage: Buffer.alloc(32, 5).toString('base64') });
    assert.equal(dup.status, 200);
    const dup2 = await restCall(r, 'POST', '/v1/invoices', { r_preimage: Buffer.alloc(32, 5).toString('base64') });
    assert.equal((JSON.parse(dup2.text) as { message: string }).message, 'invoice with payment hash already exists');
    const missing = await restCall(r, 'GET', `/v1/invoice/${'11'.repeat(32)}`);
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.text) as { message: string }).message, 'unable to locate invoice');
  });

  it('SubscribeInvoices: ln-service sees additions; REST streams {"result": …} lines, the backlog after add_index first', async () => {
    const sub = ln.subscribeToInvoices({ lnd });
    const seen: string[] = [];
    sub.on('invoice_updated', (i: { id: string }) => seen.push(i.id));
    sub.on('error', () => undefined);
    await new Promise((res) => setTimeout(res, 300));
    const created = await ln.createInvoice({ lnd, tokens: 10, description: 'sub' });
    await until(() => seen.includes(created.id), { what: 'the new invoice on the stream', timeoutMs: 5_000, intervalMs: 20 });
    sub.removeAllListeners();

    const { invoices } = await ln.getInvoices({ lnd });
    const lines = await restCall(r, 'GET', '/v1/invoices/subscribe?add_index=1', undefined, invoices.length - 1);
    const msgs = lines.text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { result: { add_index: string } });
    assert.equal(msgs.length, invoices.length - 1);
    assert.deepEqual(
      msgs.map((m) => Number(m.result.add_index)),
      Array.from({ length: invoices.length - 1 }, (_, i) => i + 2),
    );
  });
});

describe('SubscribeInvoices: a settlement (in-process LND shell over a real book)', () => {
  let t: TestLndRpc;
  let book: InvoiceBook;
  before(async () => {
    t = await startTestLndRpc();
    book = await attachBook(t.core, t.pm.store, staticKey(0x42), Buffer.alloc(32, 3));
  });
  after(async () => {
    book.stop();
    await t.close();
  });

  it('ln-service hears the invoice confirmed, with what was received', async () => {
    const lnd = ln.authenticatedLndGrpc({ cert: Buffer.from(t.cert).toString('base64'), macaroon: t.admin.toString('base64'), socket: t.grpcAddr }).lnd;
    const created = await ln.createInvoice({ lnd, tokens: 3, description: 'settle me' });
    const sub = ln.subscribeToInvoices({ lnd });
    sub.on('error', () => undefined);
    const confirmed = new Promise<{ is_confirmed: boolean; received_mtokens: string }>((res) =>
      sub.on('invoice_updated', (i: { id: string; is_confirmed: boolean; received_mtokens: string }) => i.id === created.id && i.is_confirmed && res(i)),
    );
    await new Promise((res) => setTimeout(res, 300));
    await book.markPaid(Buffer.from(created.id, 'hex'), 3500n, 2);
    const i = await confirmed;
    assert.equal(i.received_mtokens, '3500');
    sub.removeAllListeners();
    const got = await ln.getInvoice({ lnd, id: created.id });
    assert.equal(got.is_confirmed, true);
    assert.equal(got.received_mtokens, '3500');
  });
});
