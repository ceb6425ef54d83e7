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
