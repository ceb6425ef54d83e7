/**
 * The invoice repository's figures for metrics and the APIs, on both backends: invoices counted by
 * status by the database (expired = unpaid at or past its expiry, as the invoice book says), without
 * listing them.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { forEachBackend } from './backends.js';

const hash = (i: number): Buffer => Buffer.alloc(32, i);

forEachBackend('invoice figures', ({ location }) => {
  it('countByStatus: unpaid, paid and expired counted by the database, expiry at the edge included', async () => {
    const store = await openStore(await location());
    try {
      assert.deepEqual(await store.invoices.countByStatus(150), { unpaid: 0, paid: 0, expired: 0 });
      const expiries = [120, 150, 151, 200, 300];
      for (const [i, expiresAt] of expiries.entries()) {
        await store.invoices.insert({ label: `l${i}`, paymentHash: hash(10 + i), preimage: hash(40 + i), paymentSecret: hash(70 + i), amountMsat: 1000n, description: 'd', bolt11: `lnbcrt${i}`, createdAt: 100, expiresAt, minFinalCltvExpiry: 18 });
      }
      await store.invoices.markPaid(hash(10), { amountReceivedMsat: 1000n, parts: 1, paidAt: 110 });
      await store.invoices.markPaid(hash(13), { amountReceivedMsat: 1000n, parts: 1, paidAt: 110 });
      // At 150: l0 paid (its expiry does not matter), l1 expired (150 >= 150), l2 unpaid, l3 paid, l4 unpaid.
      assert.deepEqual(await store.invoices.countByStatus(150), { unpaid: 2, paid: 2, expired: 1 });
      assert.deepEqual(await store.invoices.countByStatus(1000), { unpaid: 0, paid: 2, expired: 3 });
    } finally {
      await store.close();
    }
  });
});

forEachBackend('invoice paying HTLCs', ({ location }) => {
  it('markPaid keeps each paying HTLC as the intake took it (amounts past 2^53 exact); names alone still work', async () => {
    const at = await location();
    let store = await openStore(at);
    try {
      const row = (i: number) => ({ label: `h${i}`, paymentHash: hash(100 + i), preimage: hash(140 + i), paymentSecret: hash(170 + i), amountMsat: undefined, description: 'd', bolt11: `lnbcrt-h${i}`, createdAt: 100, expiresAt: 10_000, minFinalCltvExpiry: 18 });
      await store.invoices.insert(row(1));
      await store.invoices.insert(row(2));
      const big = (1n << 60n) + 7n;
      const parts = [
        { name: `${'aa'.repeat(32)}/0`, amountMsat: big, expiryHeight: 540, acceptHeight: 500, acceptTime: 1_700_000_000, mppTotalMsat: big + 5n },
        { name: `${'bb'.repeat(32)}/3`, amountMsat: 5n, expiryHeight: 541, acceptHeight: 501, acceptTime: 1_700_000_009, mppTotalMsat: big + 5n },
      ];
      await store.invoices.markPaid(hash(101), { amountReceivedMsat: big + 5n, parts: 2, paidAt: 1_700_000_010, htlcs: parts });
      await store.invoices.markPaid(hash(102), { amountReceivedMsat: 9n, parts: 1, paidAt: 1_700_000_011, htlcs: [`${'cc'.repeat(32)}/1`] });
      await store.close();
      store = await openStore(at);
      const paid = await store.invoices.byHash(hash(101));
      assert.deepEqual(paid?.paidHtlcs, parts.map((p) => p.name));
      assert.deepEqual(paid?.paidHtlcDetails, parts);
      const named = await store.invoices.byLabel('h2');
      assert.deepEqual([named?.paidHtlcs, named?.paidHtlcDetails], [[`${'cc'.repeat(32)}/1`], []]);
    } finally {
      await store.close();
    }
  });
});
