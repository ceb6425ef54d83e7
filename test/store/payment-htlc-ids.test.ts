/**
 * A payment part's HTLC id comes back exactly on both backends (issue 14's money-safety gaps): ids past
 * 2^53 (where a double rounds) up to the column's top, 2^63 − 1, through a reopen — `pendingParts`, as
 * the restart reads them, and `parts`.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { forEachBackend } from './backends.js';

const IDS = [0n, (1n << 53n) + 1n, (1n << 62n) + 3n, (1n << 63n) - 1n];

forEachBackend('payment parts: HTLC ids', ({ location }) => {
  it('every id, 2^53 + 1 and 2^63 − 1 included, survives a reopen exactly', async () => {
    const at = await location();
    const store = await openStore(at);
    const ph = 'ab'.repeat(32);
    await store.payments.begin({ paymentHash: ph, amountMsat: 1000n, createdAt: 1 });
    for (const [i, htlcId] of IDS.entries()) {
      const part = await store.payments.addPart({ paymentHash: ph, groupId: 1, partId: i, channelId: 'cd'.repeat(32), htlcId, amountMsat: 1n, deliveredMsat: 1n, route: '[]', sharedSecrets: [], createdAt: 1 });
      assert.equal(part.htlcId, htlcId);
    }
    await store.close();
    const again = await openStore(at);
    assert.deepEqual((await again.payments.pendingParts()).map((p) => p.htlcId), IDS);
    assert.deepEqual((await again.payments.parts(ph)).map((p) => p.htlcId), IDS);
    await again.close();
  });

  it("a payment's position (LND's payment_index) agrees with list's order, ties in a second broken by hash", async () => {
    const store = await openStore(await location());
    for (const [hash, at] of [['cc', 5], ['aa', 7], ['bb', 5], ['dd', 3]] as const) await store.payments.begin({ paymentHash: hash.repeat(32), amountMsat: 1000n, createdAt: at });
    const order = (await store.payments.list()).map((p) => p.paymentHash.slice(0, 2));
    assert.deepEqual(order, ['dd', 'bb', 'cc', 'aa']);
    for (const [i, h] of order.entries()) assert.equal(await store.payments.position(h.repeat(32)), i + 1);
    assert.equal(await store.payments.position('ee'.repeat(32)), undefined);
    await store.payments.finish('aa'.repeat(32), { preimage: '00'.repeat(32) }, 8);
    assert.deepEqual([...(await store.payments.countByStatus())].sort(), [['complete', 1], ['pending', 3]]);
    await store.close();
  });
});
