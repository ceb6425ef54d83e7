/**
 * The invoice book over the real store, on SQLite and on PostgreSQL: invoices it signs (decoded back), deterministic
 * preimages, states and expiry, what the HTLC intake is told, waits, deletion, and that everything
 * (payments, counters) survives closing and reopening the database.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { BookError, InvoiceBook, type InvoiceBookOptions } from '../../src/invoice/book.js';
import { decodeInvoice, signWithKey } from '../../src/invoice/bolt11.js';
import { FailureCode } from '../../src/onion/failure.js';
import { openStore, type Store } from '../../src/store/database.js';
import { forEachBackend } from '../store/backends.js';

const nodeKey = Buffer.alloc(32, 7);
const nodeId = Buffer.from(secp.publicKey(nodeKey));
const seed = Buffer.alloc(32, 9);

forEachBackend('invoice book', ({ location }) => {

  async function open(path?: string, clock = { t: 1_700_000_000 }): Promise<{ store: Store; book: InvoiceBook; clock: { t: number }; path: string }> {
    const p = path ?? (await location());
    const store = await openStore(p);
    const opts: InvoiceBookOptions = {
      repo: store.invoices,
      network: 'regtest',
      nodeId,
      sign: signWithKey(nodeKey),
      preimageKey: InvoiceBook.preimageKey(seed),
      now: () => clock.t,
    };
    const book = new InvoiceBook(opts);
    await book.start();
    return { store, book, clock, path: p };
  }

  it('signs invoices with the node key: payment_secret, var_onion_optin + payment_secret (+ basic_mpp), seed-derived preimages', async () => {
    const { store, book } = await open();
    const a = await book.create({ label: 'a', amountMsat: 50_000n, description: 'coffee', expirySeconds: 600 });
    const d = decodeInvoice(a.bolt11);
    assert.deepEqual(d.payeeNodeId, nodeId);
    assert.equal(d.amountMsat, 50_000n);
    assert.equal(d.description, 'coffee');
    assert.equal(d.expirySeconds, 600);
    assert.equal(d.network, 'regtest');
    assert.deepEqual(d.features.bits(), [8, 14, 17]);
    assert.deepEqual(d.paymentSecret, a.paymentSecret);
    assert.deepEqual(d.paymentHash, sha256(a.preimage));
    assert.deepEqual(d.routeHints, []);
    // Index 0 then 1 of the seed's preimage key; Core Lightning's secret rule.
    assert.deepEqual(a.preimage, InvoiceBook.derivePreimage(InvoiceBook.preimageKey(seed), 0));
    const flipped = Buffer.from(a.preimage);
    flipped[0]! ^= 1;
    assert.deepEqual(a.paymentSecret, sha256(flipped));
    const b = await book.create({ label: 'b', description: 'any amount', descriptionHashOnly: true });
    assert.deepEqual(b.preimage, InvoiceBook.derivePreimage(InvoiceBook.preimageKey(seed), 1));
    const db = decodeInvoice(b.bolt11);
    assert.equal(db.amountMsat, undefined);
    assert.equal(db.description, undefined);
    assert.deepEqual(db.descriptionHash, sha256(Buffer.from('any amount')));
    assert.equal(b.description, 'any amount');
    assert.equal(b.expiresAt - b.createdAt, 604_800);
    const given = Buffer.alloc(32, 0xab);
    const c = await book.create({ label: 'c', amountMsat: 1n, description: '', preimage: given });
    assert.deepEqual(c.paymentHash, sha256(given));
    await assert.rejects(book.create({ label: 'c', description: 'x' }), (e: BookError) => e.code === 'DUPLICATE_LABEL' && e.message === "Duplicate label 'c'");
    await assert.rejects(book.create({ label: 'd', description: 'x', preimage: given }), (e: BookError) => e.code === 'DUPLICATE_PREIMAGE');
    await assert.rejects(book.create({ label: 'e', description: 'x'.repeat(640) }), (e: BookError) => e.code === 'INVALID' && /greater than 639 bytes/.test(e.message));
    assert.equal((await book.list()).length, 3);
    book.stop();
    await store.close();
  });

  it('states: unpaid, expired at expires_at, paid once; the intake is told why it may not pay', async () => {
    const { store, book, clock } = await open();
    const inv = await book.create({ label: 'x', amountMsat: 10_000n, description: 'x', expirySeconds: 100, minFinalCltvExpiryDelta: 20 });
    const ok = { paymentSecret: inv.paymentSecret, totalMsat: 10_000n, cltvExpiry: 130, height: 110 };
    const reason = async (h: Partial<typeof ok>, hash = inv.paymentHash): Promise<string> => {
      const r = await book.checkHtlc(hash, { ...ok, ...h });
      assert.equal(r.kind, 'reject');
      assert.equal(r.kind === 'reject' && r.failureCode, FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS);
      return r.kind === 'reject' ? r.reason : '';
    };
    assert.equal((await book.checkHtlc(inv.paymentHash, ok)).kind, 'accept');
    assert.match(await reason({}, Buffer.alloc(32)), /^Unknown invoice/);
    assert.match(await reason({ paymentSecret: Buffer.alloc(32) }), /wrong secret/);
    assert.match(await reason({ paymentSecret: undefined }), /without secret/);
    assert.match(await reason({ totalMsat: 9_999n }), /< 10000msat/);
    assert.match(await reason({ totalMsat: 20_001n }), /> 20000msat/);
    assert.match(await reason({ cltvExpiry: 129 }), /too soon/);
    assert.equal((await book.byLabel('x'))!.status, 'unpaid');
    clock.t += 100;
    assert.equal((await book.byLabel('x'))!.status, 'expired');
    assert.match(await reason({}), /^Already paid or expired/);
    assert.equal(await book.markPaid(inv.paymentHash, 10_000n, 1), undefined, 'an expired invoice is never marked paid');
    clock.t -= 100;
    const paid = await book.markPaid(inv.paymentHash, 10_500n, 2);
    assert.equal(paid?.status, 'paid');
    assert.deepEqual(paid?.preimage, inv.preimage);
    assert.equal(paid?.payIndex, 1);
    assert.equal(paid?.amountReceivedMsat, 10_500n);
    assert.equal(paid?.paidParts, 2);
    assert.equal(await book.markPaid(inv.paymentHash, 10_000n, 1), undefined, 'paid once only');
    clock.t += 1000;
    assert.equal((await book.byLabel('x'))!.status, 'paid', 'a paid invoice never expires');
    book.stop();
    await store.close();
  });

  it('survives a reopen: rows, payments, pay and preimage counters', async () => {
    const first = await open();
    const a = await first.book.create({ label: 'a', amountMsat: 1000n, description: 'a' });
    await first.book.create({ label: 'b', description: 'b' });
    await first.book.markPaid(a.paymentHash, 1000n, 1);
    first.book.stop();
    await first.store.close();
    const again = await open(first.path, first.clock);
    const list = await again.book.list();
    assert.deepEqual(list.map((i) => [i.label, i.status, i.createdIndex, i.payIndex]), [['a', 'paid', 1, 1], ['b', 'unpaid', 2, undefined]]);
    assert.deepEqual(list[0]!.preimage, a.preimage);
    assert.equal(list[0]!.bolt11, a.bolt11);
    const c = await again.book.create({ label: 'c', description: 'c' });
    assert.deepEqual(c.preimage, InvoiceBook.derivePreimage(InvoiceBook.preimageKey(seed), 2), 'the preimage counter continues');
    const paidC = await again.book.markPaid(c.paymentHash, 5n, 1);
    assert.equal(paidC?.payIndex, 2);
    assert.deepEqual((await again.book.list({ index: 'updated', start: 2 })).map((i) => i.label), ['c']);
    again.book.stop();
    await again.store.close();
  });

  it('waits: waitinvoice for payment or expiry, waitanyinvoice after a pay index or a timeout', async () => {
    const { store, book, clock } = await open();
    const a = await book.create({ label: 'a', amountMsat: 1000n, description: 'a', expirySeconds: 60 });
    const b = await book.create({ label: 'b', amountMsat: 1000n, description: 'b', expirySeconds: 60 });
    await assert.rejects(book.waitInvoice('nope'), (e: BookError) => e.code === 'NOT_FOUND');
    const waitA = book.waitInvoice('a');
    const any = book.waitAnyInvoice(0);
    await book.markPaid(a.paymentHash, 1000n, 1);
    assert.equal((await waitA).status, 'paid');
    assert.equal((await any).label, 'a');
    assert.equal((await book.waitAnyInvoice(0)).label, 'a', 'already paid: at once');
    await assert.rejects(book.waitAnyInvoice(1, 50), (e: BookError) => e.code === 'WAIT_TIMEOUT');
    // The rejection is awaited from the start: on PostgreSQL it arrives while expireDue is still on the wire.
    const waitB = assert.rejects(book.waitInvoice('b'), (e: BookError) => e.code === 'EXPIRED_DURING_WAIT' && e.data?.invoice?.label === 'b' && e.data.invoice.status === 'expired');
    clock.t += 60;
    await book.expireDue();
    await waitB;
    await assert.rejects(book.waitInvoice('b'), (e: BookError) => e.code === 'EXPIRED_DURING_WAIT', 'expired already: at once');
    void b;
    book.stop();
    await store.close();
  });

  it('the expiry timer announces expiries on its own', async () => {
    const { store, book } = await open(undefined, { t: 0 });
    // A real clock for this one: an invoice of 1 second.
    const real = new InvoiceBook({ repo: store.invoices, network: 'regtest', nodeId, sign: signWithKey(nodeKey), preimageKey: InvoiceBook.preimageKey(seed) });
    await real.start();
    await real.create({ label: 'short', description: 's', expirySeconds: 1 });
    // The book's timer is unref'd (it never holds a daemon open): keep this test's loop alive meanwhile.
    const keepAlive = setInterval(() => undefined, 100);
    const seen = await new Promise<string>((resolve) => real.subscribe((e) => e.type === 'expired' && resolve(e.invoice.label)));
    clearInterval(keepAlive);
    assert.equal(seen, 'short');
    real.stop();
    book.stop();
    await store.close();
  });

  it('delinvoice: by status, or only the description; a wait for a deleted invoice ends', async () => {
    const { store, book } = await open();
    await book.create({ label: 'a', amountMsat: 1000n, description: 'a' });
    await assert.rejects(book.delete('zz', 'unpaid'), (e: BookError) => e.code === 'NOT_FOUND' && e.message === 'Unknown invoice');
    await assert.rejects(book.delete('a', 'paid'), (e: BookError) => e.code === 'STATUS_UNEXPECTED' && e.message === 'Invoice status is unpaid not paid' && e.data?.currentStatus === 'unpaid');
    const d = await book.delete('a', 'unpaid', true);
    assert.equal(d.description, undefined);
    assert.equal(d.updatedIndex, 1);
    await assert.rejects(book.delete('a', 'unpaid', true), (e: BookError) => e.code === 'NO_DESCRIPTION');
    const wait = book.waitInvoice('a');
    await book.delete('a', 'unpaid');
    await assert.rejects(wait, (e: BookError) => e.code === 'DELETED_DURING_WAIT');
    assert.equal(await book.byLabel('a'), undefined);
    book.stop();
    await store.close();
  });
});
