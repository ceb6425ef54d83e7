/**
 * The HTLC switch (payment/forward.ts) on a real store (SQLite and PostgreSQL), over in-memory channel
 * fakes (unit tests of one module; test/interop/ldk-forward*.test.ts run it between real nodes): the
 * forward is in the database before the downstream add leaves; the downstream preimage is committed
 * before the upstream fulfil; a downstream failure reaches the payer attributed to the hop that made it
 * (the downstream node's own, passed on obfuscated; ours for `update_fail_malformed_htlc`); a refusal is
 * committed as `local_failed` before it goes upstream; non-strict forwarding picks another channel to
 * the same peer; after a restart a settled forward fulfils upstream from the store, an add that never
 * left is offered again, once, and one whose downstream channel is gone is held.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import type { ChannelData, HtlcAdd } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { attributeFailure, createFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { encodeHopPayload } from '../../src/onion/payload.js';
import { createOnion, peelOnion } from '../../src/onion/sphinx.js';
import { Forwarder } from '../../src/payment/forward.js';
import { openStore, type Store } from '../../src/store/database.js';
import type { SqlForwardRepository } from '../../src/store/forwards.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';
import { testLogger } from '../harness/daemon.js';
import { forEachBackend } from '../store/backends.js';

const bKey = Buffer.alloc(32, 0x31);
const bId = secp.publicKey(bKey);
const cKey = Buffer.alloc(32, 0x32);
const cId = secp.publicKey(cKey).toString('hex');
const aId = secp.publicKey(Buffer.alloc(32, 0x33)).toString('hex');
const policy = { cltvExpiryDelta: 40, feeBaseMsat: 1000, feeProportionalMillionths: 100 };
const HEIGHT = 500;

interface Fake {
  id: string;
  usable: boolean;
  open: boolean;
  data: ChannelData;
  sent: { id: bigint; amountMsat: bigint; cltvExpiry: number; onion: Buffer; recordedFirst: boolean }[];
  settledUp: { id: bigint; preimage?: Buffer; reason?: Buffer; committedFirst: boolean }[];
}

function fake(id: string, peerId: string, scid: string, repo: SqlForwardRepository): Fake {
  const data = {
    channelId: Buffer.from(id, 'hex'),
    peerId,
    shortChannelId: scid,
    state: 'CHANNELD_NORMAL',
    opener: 'remote',
    fundingSat: 1_000_000n,
    local: { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 1_000_000_000n },
    remote: { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 1_000_000_000n, htlcMinimumMsat: 1000n },
    localNextHtlcId: 0n,
    localCommit: { spec: { htlcs: [], toLocalMsat: 500_000_000n, toRemoteMsat: 500_000_000n, feeratePerKw: 253 } },
    remoteCommit: { spec: { htlcs: [] } },
    localChanges: { proposed: [], signed: [], acked: [] },
    remoteChanges: { proposed: [], signed: [], acked: [] },
  } as unknown as ChannelData;
  const ch = {
    id,
    usable: true,
    open: true,
    data,
    sent: [] as Fake['sent'],
    settledUp: [] as Fake['settledUp'],
    async addHtlc(h: { amountMsat: bigint; paymentHash: Buffer; cltvExpiry: number; onion: Buffer; beforeSend?: (id: bigint) => Promise<void> }) {
      const htlcId = data.localNextHtlcId;
      await h.beforeSend?.(htlcId);
      const recordedFirst = (await repo.list()).some((f) => f.outChannel === id && f.outHtlcId === htlcId && f.status === 'offered');
      data.localNextHtlcId++;
      (data.remoteCommit.spec.htlcs as unknown[]).push({ direction: 'received', add: { id: htlcId } });
      ch.sent.push({ id: htlcId, amountMsat: h.amountMsat, cltvExpiry: h.cltvExpiry, onion: h.onion, recordedFirst });
      return htlcId;
    },
    async fulfillHtlc(htlcId: bigint, preimage: Buffer) {
      const rec = (await repo.list()).find((f) => f.inChannel === id && f.inHtlcId === htlcId);
      ch.settledUp.push({ id: htlcId, preimage, committedFirst: rec?.status === 'settled' && rec.preimage === preimage.toString('hex') });
      (data.localChanges.proposed as unknown[]).push({ kind: 'fulfill', id: htlcId, preimage });
    },
    async failHtlc(htlcId: bigint, reason: Buffer) {
      const rec = (await repo.list()).find((f) => f.inChannel === id && f.inHtlcId === htlcId);
      ch.settledUp.push({ id: htlcId, reason, committedFirst: rec?.upstreamReason === reason.toString('hex') });
      (data.localChanges.proposed as unknown[]).push({ kind: 'fail', id: htlcId, reason });
    },
    once() {},
  };
  return ch;
}

/** A's onion for A → B → C: B forwards `amt` over `scid` with `outgoingCltv`; C is the payee. */
function onion(paymentHash: Buffer, amt: bigint, outgoingCltv: number, scid = '600x1x0') {
  return createOnion({
    sessionKey: randomBytes(32),
    associatedData: paymentHash,
    hops: [
      { nodeId: bId, payload: encodeHopPayload({ amtToForward: amt, outgoingCltvValue: outgoingCltv, shortChannelId: scid }) },
      { nodeId: Buffer.from(cId, 'hex'), payload: encodeHopPayload({ amtToForward: amt, outgoingCltvValue: outgoingCltv, paymentData: { paymentSecret: randomBytes(32), totalMsat: amt } }) },
    ],
  });
}

forEachBackend('HTLC switch', ({ location }) => {
  const stores = new Map<string, Store>();
  after(async () => {
    for (const s of stores.values()) await s.close();
  });

  async function setup(at?: string, restore: (out: Fake[]) => void = () => undefined) {
    const path = at ?? (await location());
    await stores.get(path)?.close();
    const store = await openStore(path);
    stores.set(path, store);
    const repo = store.forwards;
    const inCh = fake('aa'.repeat(32), aId, '500x1x0', repo);
    const outs = [fake('cc'.repeat(32), cId, '600x1x0', repo), fake('cd'.repeat(32), cId, '601x1x0', repo)];
    restore(outs);
    const all = [inCh, ...outs];
    const list = (): Channel[] => all as unknown as Channel[];
    const order: string[] = [];
    const fwd = new Forwarder({
      channels: { list, get: (id) => list().find((c) => c.id === id) },
      store: repo,
      nodeId: bId,
      nodeKey: bKey,
      chainHash: CHAIN_HASH.regtest,
      policyOf: () => policy,
      blockHeight: () => HEIGHT,
      log: testLogger(),
      afterPreimage: () => order.push(`afterPreimage:${inCh.settledUp.length}`),
    });
    await fwd.start();
    return { path, repo, inCh, outs, fwd, order };
  }

  /** An HTLC A offers B on `inCh` (committed there) paying B's fee and delta exactly, and B's peeled view of it. */
  function incoming(inCh: Fake, id: bigint, amt = 10_000_000n, feeShort = 0n) {
    const preimage = randomBytes(32);
    const paymentHash = sha256(preimage);
    const outgoingCltv = HEIGHT + 100;
    const { packet, sharedSecrets } = onion(paymentHash, amt, outgoingCltv);
    const htlc: HtlcAdd = { id, amountMsat: amt + 1000n + (amt * 100n) / 1_000_000n - feeShort, paymentHash, cltvExpiry: outgoingCltv + 40, onion: packet };
    (inCh.data.localCommit.spec.htlcs as unknown[]).push({ direction: 'received', add: htlc });
    const peeled = peelOnion(packet, bKey, paymentHash);
    assert.equal(peeled.kind, 'forward');
    if (peeled.kind !== 'forward') throw new Error('not a forward');
    return { preimage, paymentHash, htlc, sharedSecrets, go: (f: Forwarder) => f.forward(inCh as unknown as Channel, htlc, peeled.payload, peeled.sharedSecret, peeled.nextOnion) };
  }

  it('offers downstream after the record is committed; the preimage is committed before the upstream fulfil', async () => {
    const { repo, inCh, outs, fwd, order } = await setup();
    const h = incoming(inCh, 0n);
    await h.go(fwd);
    assert.deepEqual(outs[0]!.sent.map((s) => [s.id, s.amountMsat, s.cltvExpiry, s.recordedFirst]), [[0n, 10_000_000n, HEIGHT + 100, true]]);
    // The next onion is C's: C reads the final payload.
    assert.equal(peelOnion(outs[0]!.sent[0]!.onion, cKey, h.paymentHash).kind, 'final');
    const [rec] = await repo.list();
    assert.deepEqual([rec?.status, rec?.inMsat, rec?.outMsat, rec?.inScid, rec?.outScid], ['offered', h.htlc.amountMsat, 10_000_000n, '500x1x0', '600x1x0']);
    await fwd.settled(outs[0] as unknown as Channel, { id: 0n, preimage: h.preimage });
    assert.deepEqual(order, ['afterPreimage:0'], 'the crash hook runs after the commit and before any fulfil');
    assert.deepEqual(inCh.settledUp.map((s) => [s.id, s.preimage?.equals(h.preimage), s.committedFirst]), [[0n, true, true]]);
    const done = (await repo.list())[0]!;
    assert.equal(done.status, 'settled');
    assert.ok(done.resolvedTime! >= done.receivedTime);
    // Announced again (a reconnection): fulfilled again from the store, never offered twice.
    inCh.data.localChanges.proposed = [];
    await h.go(fwd);
    assert.equal(outs[0]!.sent.length, 1);
  });

  it("a downstream failure goes upstream obfuscated: A attributes it to C with C's code", async () => {
    const { repo, inCh, outs, fwd } = await setup();
    const h = incoming(inCh, 0n);
    await h.go(fwd);
    const cSecret = peelOnion(outs[0]!.sent[0]!.onion, cKey, h.paymentHash);
    if (cSecret.kind !== 'final') throw new Error('C cannot read its onion');
    const reason = createFailure(cSecret.sharedSecret, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: 10_000_000n, height: HEIGHT });
    await fwd.settled(outs[0] as unknown as Channel, { id: 0n, failure: reason });
    const up = inCh.settledUp[0]!;
    assert.ok(up.committedFirst, 'the failure is in the store before it goes upstream');
    const a = attributeFailure(h.sharedSecrets, up.reason!);
    assert.deepEqual([a.hopIndex, a.failure?.code], [1, FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS]);
    assert.equal((await repo.list())[0]!.status, 'failed');
  });

  it('update_fail_malformed_htlc downstream becomes our invalid_onion_* failure with its sha256_of_onion', async () => {
    const { inCh, outs, fwd } = await setup();
    const h = incoming(inCh, 0n);
    await h.go(fwd);
    const sha = sha256(outs[0]!.sent[0]!.onion);
    await fwd.settled(outs[0] as unknown as Channel, { id: 0n, failure: Buffer.alloc(0), malformed: { failureCode: FailureCode.INVALID_ONION_HMAC, sha256OfOnion: sha } });
    const a = attributeFailure(h.sharedSecrets, inCh.settledUp[0]!.reason!);
    assert.equal(a.hopIndex, 0, 'B reports it');
    assert.equal(a.failure?.code, FailureCode.INVALID_ONION_HMAC);
    assert.ok((a.failure as { sha256OfOnion: Buffer }).sha256OfOnion.equals(sha));
  });

  it('a fee one msat short: local_failed committed, fee_insufficient from B upstream, nothing offered', async () => {
    const { repo, inCh, outs, fwd } = await setup();
    const h = incoming(inCh, 0n, 10_000_000n, 1n);
    await h.go(fwd);
    assert.equal(outs[0]!.sent.length + outs[1]!.sent.length, 0);
    const [rec] = await repo.list();
    assert.deepEqual([rec?.status, rec?.failcode, rec?.failreason, rec?.outHtlcId], ['local_failed', FailureCode.FEE_INSUFFICIENT, 'fee_insufficient', undefined]);
    assert.ok(inCh.settledUp[0]!.committedFirst);
    const a = attributeFailure(h.sharedSecrets, inCh.settledUp[0]!.reason!);
    assert.deepEqual([a.hopIndex, a.failure?.code], [0, FailureCode.FEE_INSUFFICIENT]);
  });

  it('non-strict: the named channel offline, the other channel to the same peer carries the HTLC', async () => {
    const { repo, inCh, outs, fwd } = await setup();
    outs[0]!.usable = false;
    const h = incoming(inCh, 0n);
    await h.go(fwd);
    assert.deepEqual([outs[0]!.sent.length, outs[1]!.sent.length], [0, 1]);
    assert.equal((await repo.list())[0]!.outScid, '601x1x0');
    // Both away: temporary_channel_failure from B.
    outs[1]!.usable = false;
    const h2 = incoming(inCh, 1n);
    await h2.go(fwd);
    assert.equal(attributeFailure(h2.sharedSecrets, inCh.settledUp[0]!.reason!).failure?.code, FailureCode.TEMPORARY_CHANNEL_FAILURE);
  });

  it('after a restart: an add that never left is offered again (once); a settled forward fulfils from the store', async () => {
    const first = await setup();
    const lost = incoming(first.inCh, 0n);
    await lost.go(first.fwd);
    const kept = incoming(first.inCh, 1n);
    await kept.go(first.fwd);
    await first.fwd.settled(first.outs[0] as unknown as Channel, { id: 1n, preimage: kept.preimage });
    // Restart: the downstream channel forgot both unsigned adds (next id 0); the incoming HTLCs are announced again.
    const r = await setup(first.path, (outs) => {
      outs[0]!.data.localNextHtlcId = 0n;
    });
    const again = (h: typeof lost) => r.fwd.forward(r.inCh as unknown as Channel, h.htlc, ...peeledArgs(h.htlc));
    (r.inCh.data.localCommit.spec.htlcs as unknown[]).push({ direction: 'received', add: lost.htlc }, { direction: 'received', add: kept.htlc });
    await again(lost);
    await again(kept);
    assert.deepEqual(r.outs[0]!.sent.map((s) => [s.id, s.recordedFirst]), [[0n, true]], 'the lost one offered again, the settled one not');
    assert.deepEqual(r.inCh.settledUp.map((s) => [s.id, s.preimage?.equals(kept.preimage)]), [[1n, true]]);
    await again(lost);
    assert.equal(r.outs[0]!.sent.length, 1, 'never offered twice');
    assert.equal((await r.repo.list()).length, 2);
    // The downstream channel gone from the manager: the offered forward is held, neither re-offered nor failed.
    const gone = await setup(first.path, (outs) => {
      outs.length = 0;
    });
    (gone.inCh.data.localCommit.spec.htlcs as unknown[]).push({ direction: 'received', add: lost.htlc });
    await gone.fwd.forward(gone.inCh as unknown as Channel, lost.htlc, ...peeledArgs(lost.htlc));
    assert.deepEqual([gone.inCh.settledUp.length, (await gone.repo.get(gone.inCh.id, 0n))?.status], [0, 'offered']);
  });

  it('downstream resolved on chain: their preimage fulfils upstream, our timeout fails it with permanent_channel_failure (also after a restart)', async () => {
    const { path, inCh, outs, fwd } = await setup();
    const taken = incoming(inCh, 0n);
    await taken.go(fwd);
    const timedOut = incoming(inCh, 1n);
    await timedOut.go(fwd);
    // The downstream channel went on chain; the next hop claimed HTLC 0 with its preimage.
    outs[0]!.open = false;
    await fwd.resolvedOnChain(outs[0] as unknown as Channel, { id: 0n, preimage: taken.preimage });
    assert.deepEqual(inCh.settledUp.map((s) => [s.id, s.preimage?.equals(taken.preimage), s.committedFirst]), [[0n, true, true]]);
    // Restart before our timeout of HTLC 1 is deep enough: the switch still knows the forward from the store.
    const r = await setup(path, (o) => {
      o[0]!.open = false;
      o[0]!.data.localNextHtlcId = 2n;
    });
    (r.inCh.data.localCommit.spec.htlcs as unknown[]).push({ direction: 'received', add: timedOut.htlc });
    await r.fwd.resolvedOnChain(r.outs[0] as unknown as Channel, { id: 1n, failure: 'HTLC timed out on chain' });
    const up = r.inCh.settledUp[0]!;
    assert.deepEqual([up.id, up.committedFirst], [1n, true]);
    const a = attributeFailure(timedOut.sharedSecrets, up.reason!);
    assert.deepEqual([a.hopIndex, a.failure?.code], [0, FailureCode.PERMANENT_CHANNEL_FAILURE]);
    assert.deepEqual((await r.repo.list()).map((f) => f.status).sort(), ['failed', 'settled']);
    // Heard again (every block while on chain): nothing more goes upstream.
    await r.fwd.resolvedOnChain(r.outs[0] as unknown as Channel, { id: 1n, failure: 'HTLC timed out on chain' });
    await r.fwd.resolvedOnChain(r.outs[0] as unknown as Channel, { id: 0n, preimage: taken.preimage });
    assert.equal(r.inCh.settledUp.length, 1);
  });
});

function peeledArgs(htlc: HtlcAdd): [Parameters<Forwarder['forward']>[2], Buffer, Buffer] {
  const p = peelOnion(htlc.onion, bKey, htlc.paymentHash);
  if (p.kind !== 'forward') throw new Error('not a forward');
  return [p.payload, p.sharedSecret, p.nextOnion];
}
