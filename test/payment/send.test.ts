/**
 * The payment sender on a real store (SQLite and PostgreSQL), over in-memory channel fakes (unit tests of payment/send.ts;
 * test/interop/ldk-pay*.test.ts run it against LDK): a hash is refused while pending or once complete;
 * each part is in the database before the channel sends its HTLC; after a restart, a part whose HTLC
 * id the channel never used fails, a part whose fulfilment the channel holds completes the payment;
 * failures are attributed (which hop, which code, whether another route could help); subscribers hear of
 * each change after it is written. Property test:
 * no failure reason, random or mutated, makes attribution throw.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import fc from 'fast-check';
import type { Channel } from '../../src/channel/channel.js';
import type { ChannelData } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { createFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { peelOnion } from '../../src/onion/sphinx.js';
import { ChannelGraph } from '../../src/gossip/graph.js';
import { attribute, PaymentError, PaymentSender, type RouteFinder } from '../../src/payment/send.js';
import { findRoute } from '../../src/routing/pathfind.js';
import { openStore, type Store } from '../../src/store/database.js';
import type { SqlPaymentRepository } from '../../src/store/payments.js';
import { testLogger } from '../harness/daemon.js';
import { forEachBackend } from '../store/backends.js';
import { until } from '../harness/wait.js';
import { fakeChannel, peerId, peerKey, type FakeChannel } from './fake-channel.js';

forEachBackend('payment sender', ({ location }) => {
  /** The open store at each location: a restart closes it first, as the process holding it is gone. */
  const stores = new Map<string, Store>();
  after(async () => {
    for (const s of stores.values()) await s.close();
  });

  /** A sender on the database at `path`, its channel's state set by `restore` before the sender starts (a restart). */
  async function setup(at?: string, restore: (d: ChannelData) => void = () => undefined): Promise<{ path: string; repo: SqlPaymentRepository; chans: FakeChannel[]; sender: PaymentSender }> {
    const path = at ?? (await location());
    await stores.get(path)?.close();
    const store = await openStore(path);
    stores.set(path, store);
    const repo = store.payments;
    const chans = [fakeChannel('aa'.repeat(32), '101x1x0', repo)];
    restore(chans[0]!.data);
    const list = (): Channel[] => chans as unknown as Channel[];
    const sender = new PaymentSender({ channels: { list, get: (id) => list().find((c) => c.id === id) }, store: repo, nodeId: Buffer.alloc(33, 2), blockHeight: () => 500, log: testLogger() });
    await sender.start();
    return { path, repo, chans, sender };
  }

  const route = (amountMsat = 10_000n) => [{ id: peerId, channel: '101x1x0', amountMsat, delay: 540 }];

  it('records the part before the HTLC leaves; the onion is for the peer with payment_data; a pending or paid hash is refused', async () => {
    const { chans, sender } = await setup();
    const preimage = randomBytes(32);
    const paymentHash = sha256(preimage);
    const secret = randomBytes(32);
    const part = await sender.sendpay({ paymentHash, route: route(), paymentSecret: secret });
    assert.equal(part.status, 'pending');
    assert.deepEqual(chans[0]!.sent.map((s) => [s.id, s.recordedFirst]), [[0n, true]]);
    const peeled = peelOnion(chans[0]!.sent[0]!.onion, peerKey, paymentHash);
    assert.equal(peeled.kind, 'final');
    if (peeled.kind === 'final') assert.deepEqual([peeled.payload.amtToForward, peeled.payload.outgoingCltvValue, peeled.payload.paymentData?.paymentSecret.equals(secret)], [10_000n, 540, true]);
    await assert.rejects(sender.sendpay({ paymentHash, route: route() }), (e: unknown) => e instanceof PaymentError && e.code === 'IN_PROGRESS');
    await sender.settled(chans[0] as unknown as Channel, { id: 0n, preimage });
    assert.equal((await sender.waitsendpay(paymentHash)).preimage, preimage.toString('hex'));
    await assert.rejects(sender.sendpay({ paymentHash, route: route() }), (e: unknown) => e instanceof PaymentError && e.code === 'ALREADY_PAID');
    assert.equal(chans[0]!.sent.length, 1, 'never sent twice');
  });

  it('subscribe: one notice per change — begun, each part recorded, each outcome, the pay loop’s end — each after the change is written', async () => {
    const { chans, sender, repo } = await setup();
    const seen: [string, string | undefined, number][] = [];
    const reads: Promise<void>[] = [];
    const unsubscribe = sender.subscribe((hash) => {
      // Read at once: what the notice announces must already be in the store.
      reads.push(Promise.all([repo.get(hash), repo.parts(hash)]).then(([p, parts]) => void seen.push([hash, p?.status, parts.length])));
    });
    const preimage = randomBytes(32);
    const paymentHash = sha256(preimage);
    const h = paymentHash.toString('hex');
    await sender.sendpay({ paymentHash, route: route() });
    await sender.settled(chans[0] as unknown as Channel, { id: 0n, preimage });
    await Promise.all(reads);
    assert.deepEqual(seen, [[h, 'pending', 0], [h, 'pending', 1], [h, 'complete', 1]]);
    // pay(): begun, the part, its outcome, then the loop's end.
    seen.length = 0;
    const p2 = randomBytes(32);
    const direct: RouteFinder = (amt, c) => findRoute(new ChannelGraph(0), { source: Buffer.alloc(33, 2).toString('hex'), target: peerId, amountMsat: amt, finalCltvDelta: 40, local: c.local, mission: c.mission, now: c.now });
    const paying = sender.pay({ paymentHash: sha256(p2), destination: peerId, amountMsat: 10_000n, findRoute: direct, mpp: false });
    await until(() => chans[0]!.sent.length === 2, 'the part sent');
    await sender.settled(chans[0] as unknown as Channel, { id: 1n, preimage: p2 });
    await paying;
    await Promise.all(reads);
    assert.deepEqual(seen.map((x) => x[1]), ['pending', 'pending', 'complete', 'complete']);
    unsubscribe();
    await sender.sendpay({ paymentHash: sha256(randomBytes(32)), route: route() });
    assert.equal(seen.length, 4, 'no notice after unsubscribing');
  });

  it('after a restart: an id the channel never used fails the part; a fulfilment the channel holds completes the payment', async () => {
    const first = await setup();
    const lost = sha256(randomBytes(32));
    const preimage = randomBytes(32);
    const kept = sha256(preimage);
    await first.sender.sendpay({ paymentHash: lost, route: route() });
    await first.sender.sendpay({ paymentHash: kept, route: route() });
    const lostHex = lost.toString('hex');
    const keptHex = kept.toString('hex');
    // Restart 1: both adds committed (next id 2), the second fulfilled by the peer before the crash.
    const r1 = await setup(first.path, (d) => {
      d.localNextHtlcId = 2n;
      (d.localCommit.spec.htlcs as unknown[]).push({ direction: 'offered', add: { id: 0n } });
      (d.remoteChanges.signed as unknown[]).push({ kind: 'fulfill', id: 1n, preimage });
    });
    assert.deepEqual([(await r1.repo.get(keptHex))?.status, (await r1.repo.get(keptHex))?.preimage], ['complete', preimage.toString('hex')]);
    assert.equal((await r1.repo.get(lostHex))?.status, 'pending', 'HTLC 0 still in the channel: in flight');
    // Restart 2: the channel never committed HTLC 0 (next id 0, as after a crash before commitment_signed).
    const r2 = await setup(first.path, (d) => {
      d.localNextHtlcId = 0n;
    });
    assert.equal((await r2.repo.get(lostHex))?.status, 'failed', 'an add never committed fails the payment');
    assert.equal((await r2.repo.get(keptHex))?.status, 'complete');
    // A failed hash may be paid again, in a new group; a complete one never.
    assert.equal((await r2.sender.sendpay({ paymentHash: lost, route: route() })).groupId, 2);
    await assert.rejects(r2.sender.sendpay({ paymentHash: kept, route: route() }), (e: unknown) => e instanceof PaymentError && e.code === 'ALREADY_PAID');
  });

  it('attributes failures: the payee refusing ends the payment, a temporary channel failure does not', async () => {
    const { sender, chans } = await setup();
    const paymentHash = sha256(randomBytes(32));
    const part = await sender.sendpay({ paymentHash, route: route() });
    const peeled = peelOnion(chans[0]!.sent[0]!.onion, peerKey, paymentHash);
    assert.equal(peeled.kind, 'final');
    const ss = peeled.kind === 'final' ? peeled.sharedSecret : Buffer.alloc(32);
    const refused = attribute(part, createFailure(ss, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: 10_000n, height: 500 }));
    assert.deepEqual([refused.code, refused.erringIndex, refused.erringNode, refused.terminal, refused.message], [0x400f, 1, peerId, true, 'failed: WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS (reply from remote)']);
    const temporary = attribute(part, createFailure(ss, { code: FailureCode.MPP_TIMEOUT }));
    assert.deepEqual([temporary.code, temporary.terminal], [FailureCode.MPP_TIMEOUT, false]);
    await sender.settled(chans[0] as unknown as Channel, { id: 0n, failure: createFailure(ss, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: 10_000n, height: 500 }) });
    await assert.rejects(sender.waitsendpay(paymentHash), (e: unknown) => e instanceof PaymentError && e.code === 'DESTINATION_FAILED' && e.failure?.code === 0x400f);
    assert.equal((await sender.payment(paymentHash.toString('hex')))?.payment.status, 'failed');
  });

  it('pay: a part failing for a temporary reason (mpp_timeout) is retried on the other channel; the payee refusing stops', async () => {
    const { chans, sender, repo } = await setup();
    chans.push(fakeChannel('bb'.repeat(32), '102x1x0', repo));
    const preimage = randomBytes(32);
    const paymentHash = sha256(preimage);
    // The pathfinder over an empty graph: our channels to the payee only.
    const route: RouteFinder = (amt, c) => findRoute(new ChannelGraph(0), { source: Buffer.alloc(33, 2).toString('hex'), target: peerId, amountMsat: amt, finalCltvDelta: 40, local: c.local, mission: c.mission, now: c.now });
    const paying = sender.pay({ paymentHash, destination: peerId, amountMsat: 50_000n, findRoute: route, paymentSecret: randomBytes(32), mpp: true });
    const first = await until(() => chans.find((c) => c.sent.length === 1), 'the first part sent');
    const other = chans.find((c) => c !== first)!;
    const ss = (onion: Buffer) => {
      const p = peelOnion(onion, peerKey, paymentHash);
      return p.kind === 'final' ? p.sharedSecret : Buffer.alloc(32);
    };
    await sender.settled(first as unknown as Channel, { id: 0n, failure: createFailure(ss(first.sent[0]!.onion), { code: FailureCode.MPP_TIMEOUT }) });
    await until(() => other.sent.length === 1, 'retried on the other channel');
    assert.equal(first.sent.length, 1, 'the failed channel is not tried again');
    await sender.settled(other as unknown as Channel, { id: 0n, preimage });
    const done = await paying;
    assert.deepEqual([done.payment.status, done.parts.map((p) => p.status)], ['complete', ['failed', 'complete']]);
    // The payee refusing ends the payment: no retry.
    const refusedHash = sha256(randomBytes(32));
    const refusing = sender.pay({ paymentHash: refusedHash, destination: peerId, amountMsat: 20_000n, findRoute: route, paymentSecret: randomBytes(32), mpp: true });
    const ch = await until(() => chans.find((c) => c.sent.length === 2), 'sent');
    const onion = ch.sent[1]!.onion;
    const p = peelOnion(onion, peerKey, refusedHash);
    await sender.settled(ch as unknown as Channel, { id: 1n, failure: createFailure(p.kind === 'final' ? p.sharedSecret : Buffer.alloc(32), { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: 20_000n, height: 500 }) });
    await assert.rejects(refusing, (e: unknown) => e instanceof PaymentError && e.code === 'DESTINATION_FAILED');
    assert.equal(chans.reduce((n, c) => n + c.sent.length, 0), 3, 'no retry after the payee refused');
  });

  it('pay in two parts: reported once both have ended, not at the first preimage (as lightningd and LND)', async () => {
    const { chans, sender, repo } = await setup();
    chans.push(fakeChannel('bb'.repeat(32), '102x1x0', repo));
    const preimage = randomBytes(32);
    const paymentHash = sha256(preimage);
    const route: RouteFinder = (amt, c) => findRoute(new ChannelGraph(0), { source: Buffer.alloc(33, 2).toString('hex'), target: peerId, amountMsat: amt, finalCltvDelta: 40, local: c.local, mission: c.mission, now: c.now });
    let reported = false;
    const paying = sender.pay({ paymentHash, destination: peerId, amountMsat: 50_000n, findRoute: route, paymentSecret: randomBytes(32), mpp: true, maxPartMsat: 25_000n, minPartMsat: 1n });
    void paying.then(() => (reported = true), () => undefined);
    const sent = await until(() => {
      const all = chans.flatMap((c) => c.sent.map((h) => ({ c, id: h.id })));
      return all.length === 2 ? all : undefined;
    }, 'two parts sent');
    await sender.settled(sent[0]!.c as unknown as Channel, { id: sent[0]!.id, preimage });
    assert.equal((await sender.payment(paymentHash.toString('hex')))?.payment.status, 'complete', 'the payment is complete at the first preimage');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(reported, false, 'pay waits for the other part');
    await sender.settled(sent[1]!.c as unknown as Channel, { id: sent[1]!.id, preimage });
    const done = await paying;
    assert.deepEqual(done.parts.map((p) => p.status), ['complete', 'complete']);
  });

  it('property: any failure reason, random or a mutated real one, is attributed or reported, never thrown', async () => {
    const { sender, chans } = await setup();
    const paymentHash = sha256(randomBytes(32));
    const part = await sender.sendpay({ paymentHash, route: route() });
    const peeled = peelOnion(chans[0]!.sent[0]!.onion, peerKey, paymentHash);
    const real = createFailure(peeled.kind === 'final' ? peeled.sharedSecret : Buffer.alloc(32), { code: FailureCode.TEMPORARY_NODE_FAILURE });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(real.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), (bytes, at, flip, useReal) => {
        const reason = useReal ? Buffer.from(real) : Buffer.from(bytes);
        if (useReal) reason[at] = reason[at]! ^ flip;
        const f = attribute(part, reason);
        assert.equal(typeof f.message, 'string');
        assert.ok(f.erringIndex >= 1);
      }),
      { numRuns: 300 },
    );
  });
});
