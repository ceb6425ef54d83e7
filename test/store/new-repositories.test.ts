/**
 * The invoice, payment and gossip repositories on both backends, at the edges their own suites
 * (test/invoice/book, test/payment/send, test/gossip/store) do not reach: every amount at the top of
 * u64 comes back exact (no backend rounds it through a double), an scid with every bit set too, and
 * list orders are the documented ones whatever order the rows were written in.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { forEachBackend } from './backends.js';

const U64_MAX = (1n << 64n) - 1n;
const hash = (i: number): Buffer => Buffer.alloc(32, i);

forEachBackend('invoice, payment and gossip repositories', ({ location }) => {
  it('u64 amounts, msat and sat, and a full-width scid survive a reopen exactly', async () => {
    const at = await location();
    const store = await openStore(at);
    await store.invoices.insert({
      label: 'max',
      paymentHash: hash(1),
      preimage: hash(2),
      paymentSecret: hash(3),
      amountMsat: U64_MAX,
      description: 'd',
      bolt11: 'lnbcrt1x',
      createdAt: 1_700_000_000,
      expiresAt: 1_700_003_600,
      minFinalCltvExpiry: 18,
    });
    await store.invoices.markPaid(hash(1), { amountReceivedMsat: U64_MAX - 1n, parts: 2, paidAt: 1_700_000_001 });
    const ph = hash(4).toString('hex');
    await store.payments.begin({ paymentHash: ph, amountMsat: U64_MAX, createdAt: 1_700_000_000 });
    await store.payments.addPart({ paymentHash: ph, groupId: 1, partId: 0, channelId: 'aa'.repeat(32), htlcId: 7n, amountMsat: U64_MAX, deliveredMsat: U64_MAX - 5n, route: '[]', sharedSecrets: [], createdAt: 1_700_000_000 });
    await store.gossip.addChannel({ scid: U64_MAX, announcement: Buffer.from([1, 2, 3]), fundingTxid: 'bb'.repeat(32), fundingVout: 65_535, capacitySat: U64_MAX / 1000n });
    await store.close();

    const again = await openStore(at);
    const inv = await again.invoices.byLabel('max');
    assert.equal(inv?.amountMsat, U64_MAX);
    assert.equal(inv?.amountReceivedMsat, U64_MAX - 1n);
    assert.deepEqual([inv?.state, inv?.payIndex, inv?.paidParts, inv?.createdAt], ['paid', 1, 2, 1_700_000_000]);
    assert.equal((await again.payments.get(ph))?.amountMsat, U64_MAX);
    const [part] = await again.payments.parts(ph);
    assert.deepEqual([part?.amountMsat, part?.deliveredMsat, part?.htlcId, part?.id], [U64_MAX, U64_MAX - 5n, 7n, 1]);
    const ch = await again.gossip.channel(U64_MAX);
    assert.deepEqual([ch?.scid, ch?.capacitySat, ch?.fundingVout, ch?.announcement], [U64_MAX, U64_MAX / 1000n, 65_535, Buffer.from([1, 2, 3])]);
    await again.close();
  });

  it('invoices list by creation and by update index; paid ones in pay order; parts in creation order', async () => {
    const store = await openStore(await location());
    for (const [i, label] of ['c', 'a', 'b'].entries()) {
      await store.invoices.insert({ label, paymentHash: hash(10 + i), preimage: hash(20 + i), paymentSecret: hash(30 + i), amountMsat: undefined, description: undefined, bolt11: `lnbcrt${label}`, createdAt: 100, expiresAt: 200, minFinalCltvExpiry: 18 });
    }
    await store.invoices.markPaid(hash(12), { amountReceivedMsat: 1n, parts: 1, paidAt: 101 });
    await store.invoices.markPaid(hash(10), { amountReceivedMsat: 1n, parts: 1, paidAt: 102 });
    await store.invoices.deleteDescription('a');
    assert.deepEqual((await store.invoices.list()).map((r) => [r.label, r.createdIndex]), [['c', 1], ['a', 2], ['b', 3]]);
    assert.deepEqual((await store.invoices.list({ index: 'updated' })).map((r) => [r.label, r.updatedIndex]), [['b', 1], ['c', 2], ['a', 3]]);
    assert.deepEqual((await store.invoices.list({ index: 'created', start: 2, limit: 1 })).map((r) => r.label), ['a']);
    assert.deepEqual((await store.invoices.paidAfter(0)).map((r) => [r.label, r.payIndex]), [['b', 1], ['c', 2]]);
    assert.equal(await store.invoices.delete('a'), true);
    assert.equal(await store.invoices.delete('a'), false);
    const ph = hash(40).toString('hex');
    await store.payments.begin({ paymentHash: ph, amountMsat: 3n, createdAt: 1 });
    for (const partId of [2, 0, 1]) {
      await store.payments.addPart({ paymentHash: ph, groupId: 1, partId, channelId: 'cc'.repeat(32), htlcId: BigInt(partId), amountMsat: 1n, deliveredMsat: 1n, route: '[]', sharedSecrets: ['dd'.repeat(32)], createdAt: 1 });
    }
    const parts = await store.payments.parts(ph);
    assert.deepEqual(parts.map((p) => [p.id, p.partId]), [[1, 2], [2, 0], [3, 1]]);
    assert.deepEqual(parts[0]!.sharedSecrets, ['dd'.repeat(32)]);
    await store.payments.settlePart(2, { failure: '{}' }, 5);
    assert.deepEqual((await store.payments.pendingParts()).map((p) => p.id), [1, 3]);
    await store.close();
  });
});
