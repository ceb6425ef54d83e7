/**
 * The payment sender and channels that went on chain, or lost an HTLC's outcome in a crash (issue 14
 * money-safety gaps), on a real store (SQLite and PostgreSQL) over the channel fake: an HTLC taken on
 * chain with its preimage completes the payment, one timed out on chain fails its part (and a
 * sendpay payment with it); after a restart, a part whose HTLC is in no commitment and no update of
 * its channel, with no outcome written, is failed rather than left pending forever.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import type { ChannelData } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { PaymentError, PaymentSender } from '../../src/payment/send.js';
import { openStore, type Store } from '../../src/store/database.js';
import { testLogger } from '../harness/daemon.js';
import { forEachBackend } from '../store/backends.js';
import { fakeChannel, peerId } from './fake-channel.js';

forEachBackend('payment sender, on-chain outcomes', ({ location }) => {
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close().catch(() => undefined);
  });

  async function sender(path: string, restore: (d: ChannelData) => void = () => undefined) {
    for (const s of stores.splice(0)) await s.close();
    const store = await openStore(path);
    stores.push(store);
    const ch = fakeChannel('bb'.repeat(32), '102x1x0', store.payments);
    restore(ch.data);
    const list = (): Channel[] => [ch as unknown as Channel];
    const s = new PaymentSender({ channels: { list, get: (id) => list().find((c) => c.id === id) }, store: store.payments, nodeId: Buffer.alloc(33, 2), blockHeight: () => 500, log: testLogger() });
    await s.start();
    return { s, ch: ch as unknown as Channel, repo: store.payments };
  }
  const route = [{ id: peerId, channel: '102x1x0', amountMsat: 10_000n, delay: 540 }];

  it('an HTLC taken on chain with its preimage completes the payment; one timed out on chain fails it; others are ignored', async () => {
    const { s, ch, repo } = await sender(await location());
    const preimage = randomBytes(32);
    const paid = sha256(preimage);
    const timedOut = sha256(randomBytes(32));
    await s.sendpay({ paymentHash: paid, route });
    await s.sendpay({ paymentHash: timedOut, route });
    await s.resolvedOnChain(ch, { id: 7n, failure: 'not ours' });
    await s.resolvedOnChain(ch, { id: 0n, preimage });
    assert.equal((await s.waitsendpay(paid)).preimage, preimage.toString('hex'));
    assert.equal((await repo.get(paid.toString('hex')))?.status, 'complete');
    await s.resolvedOnChain(ch, { id: 1n, failure: 'HTLC timed out on chain' });
    await assert.rejects(s.waitsendpay(timedOut), (e: unknown) => e instanceof PaymentError && e.code === 'FAILED' && e.failure?.erringIndex === 0 && e.message === 'HTLC timed out on chain');
    assert.equal((await repo.get(timedOut.toString('hex')))?.status, 'failed', 'a sendpay payment concludes with its only part');
    // Told again at the next block: nothing changes.
    await s.resolvedOnChain(ch, { id: 1n, failure: 'HTLC timed out on chain' });
    await s.resolvedOnChain(ch, { id: 0n, preimage });
    assert.deepEqual((await repo.parts()).map((p) => p.status), ['complete', 'failed']);
  });

  it('after a restart: a part whose HTLC left the channel with no outcome written is failed, not left pending', async () => {
    const path = await location();
    const first = await sender(path);
    const gone = sha256(randomBytes(32));
    const held = sha256(randomBytes(32));
    await first.s.sendpay({ paymentHash: gone, route });
    await first.s.sendpay({ paymentHash: held, route });
    // The channel saved a state in which HTLC 0 is settled and gone (its failure not yet written by the sender), HTLC 1 still committed.
    const again = await sender(path, (d) => {
      d.localNextHtlcId = 2n;
      (d.localCommit.spec.htlcs as unknown[]).push({ direction: 'offered', add: { id: 1n, paymentHash: held } });
    });
    assert.equal((await again.repo.get(gone.toString('hex')))?.status, 'failed');
    assert.match((await again.repo.parts(gone.toString('hex')))[0]!.failure!, /not recorded before a restart/);
    assert.equal((await again.repo.get(held.toString('hex')))?.status, 'pending', 'an HTLC still committed stays in flight');
  });
});
