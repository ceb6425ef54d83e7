/**
 * `pay`'s drive (payment/send.ts) over the pathfinder, on a real SQLite store with in-memory channel
 * fakes (a unit test of the sender; test/routing/ldk-graph-pay.test.ts runs it through real LDK):
 * - MPP: when no channel can carry the amount, the parts go over several channels, each within that
 *   channel's real spendable balance, and what they deliver adds up to the amount exactly;
 * - the fee budget applies to the whole payment: a route whose fee exceeds it is not taken;
 * - a part failing at a forwarding node teaches mission control, and the next part avoids that hop.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import type { ChannelData } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { ChannelGraph } from '../../src/gossip/graph.js';
import { createFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { peelOnion } from '../../src/onion/sphinx.js';
import { PaymentError, PaymentSender, type RouteFinder } from '../../src/payment/send.js';
import { findRoute, MIN_ROUTE_PROBABILITY } from '../../src/routing/pathfind.js';
import { openStore, type Store } from '../../src/store/database.js';
import { testLogger, tempDir } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

const key = (n: number): Buffer => Buffer.alloc(32, n);
const id = (n: number): string => secp.publicKey(key(n)).toString('hex');
const US = 0x21;

interface Fake {
  id: string;
  usable: boolean;
  data: ChannelData;
  sent: { id: bigint; amountMsat: bigint; onion: Buffer }[];
  addHtlc(h: { amountMsat: bigint; onion?: Buffer; beforeSend?: (id: bigint) => Promise<void> }): Promise<bigint>;
}

/** Our channel to `peer` able to send `toLocalMsat` (no reserve, the peer opened it: no fee on our side). */
function channel(chanId: string, scid: string, peer: string, toLocalMsat: bigint): Fake {
  const data = {
    peerId: peer,
    shortChannelId: scid,
    opener: 'remote',
    local: { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 10n ** 12n },
    remote: { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 10n ** 12n, htlcMinimumMsat: 1n },
    localNextHtlcId: 0n,
    localCommit: { spec: { htlcs: [], toLocalMsat, toRemoteMsat: 0n, feeratePerKw: 253 } },
  } as unknown as ChannelData;
  const ch: Fake = {
    id: chanId,
    usable: true,
    data,
    sent: [],
    async addHtlc(h) {
      const htlcId = data.localNextHtlcId++;
      await h.beforeSend?.(htlcId);
      ch.sent.push({ id: htlcId, amountMsat: h.amountMsat, onion: h.onion! });
      return htlcId;
    },
  };
  return ch;
}

describe('pay over the pathfinder', () => {
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });

  async function sender(chans: Fake[], more: { heldPartsGraceMs?: number } = {}): Promise<PaymentSender> {
    const store = await openStore(`sqlite3://${tempDir('anode-drive-')}/db.sqlite3`);
    stores.push(store);
    const list = (): Channel[] => chans as unknown as Channel[];
    const s = new PaymentSender({ channels: { list, get: (x) => list().find((c) => c.id === x) }, store: store.payments, nodeId: secp.publicKey(key(US)), blockHeight: () => 500, log: testLogger(), ...more });
    await s.start();
    return s;
  }

  const finder =
    (graph: ChannelGraph, target: string): RouteFinder =>
    (amountMsat, c) =>
      findRoute(graph, { source: id(US), target, amountMsat, finalCltvDelta: 40, local: c.local, mission: c.mission, inFlight: c.inFlight, now: c.now, minProbability: MIN_ROUTE_PROBABILITY, ...(c.maxFeeMsat !== undefined ? { maxFeeMsat: c.maxFeeMsat } : {}) });

  it('MPP: parts over two channels, each within its spendable balance, add up to the amount exactly', async () => {
    const payee = id(0x31);
    const chans = [channel('a'.repeat(64), '101x1x0', payee, 30_000_000n), channel('b'.repeat(64), '102x1x0', payee, 30_000_000n)];
    const s = await sender(chans);
    const preimage = randomBytes(32);
    const paying = s.pay({ paymentHash: sha256(preimage), destination: payee, amountMsat: 50_000_000n, findRoute: finder(new ChannelGraph(0), payee), paymentSecret: randomBytes(32), mpp: true, minPartMsat: 1_000_000n });
    const sentTotal = (): bigint => chans.reduce((t, c) => t + c.sent.reduce((u, x) => u + x.amountMsat, 0n), 0n);
    await until(() => sentTotal() === 50_000_000n, 'parts adding up to the amount');
    for (const c of chans) {
      assert.ok(c.sent.length > 0, `${c.data.shortChannelId} carries a part`);
      assert.ok(c.sent.reduce((u, x) => u + x.amountMsat, 0n) <= 30_000_000n, 'within its balance');
    }
    await s.settled(chans[0] as unknown as Channel, { id: 0n, preimage });
    const done = await paying;
    assert.equal(done.payment.status, 'complete');
    assert.equal(
      done.parts.reduce((t, p) => t + p.deliveredMsat, 0n),
      50_000_000n,
    );
  });

  it('the fee budget and mission control: a failing hop is avoided on the next part, a too-expensive one never taken', async () => {
    const [peer, hubA, hubB, payee] = [id(0x41), id(0x42), id(0x43), id(0x44)];
    const graph = new ChannelGraph();
    const scid = (n: number): bigint => BigInt(n) << 40n;
    const add = (n: number, a: string, b: string, base: number): void => {
      const [n1, n2] = a < b ? [a, b] : [b, a];
      graph.addChannel(scid(n), n1, n2, 10_000_000n);
      graph.setPolicy(scid(n), { timestamp: 1, channelFlags: a === n1 ? 0 : 1, messageFlags: 1, cltvExpiryDelta: 40, htlcMinimumMsat: 1n, htlcMaximumMsat: 10_000_000_000n, feeBaseMsat: base, feeProportionalMillionths: 0 });
    };
    add(201, peer, hubA, 0); // peer → hubA, cheap
    add(202, hubA, payee, 0);
    add(203, peer, hubB, 3000); // peer → hubB, 3000 msat
    add(204, hubB, payee, 0);
    const chans = [channel('c'.repeat(64), '200x1x0', peer, 100_000_000n)];
    const s = await sender(chans);
    // A budget of 2000 msat: only the hubA way fits; when it fails there is nothing left to try.
    const h1 = sha256(randomBytes(32));
    const tight = s.pay({ paymentHash: h1, destination: payee, amountMsat: 5_000_000n, findRoute: finder(graph, payee), paymentSecret: randomBytes(32), mpp: false, maxFeeMsat: 2000n });
    await until(() => chans[0]!.sent.length === 1, 'first part');
    const fail = async (n: number): Promise<void> => {
      const sent = chans[0]!.sent[n]!;
      const peeled = peelOnion(sent.onion, key(0x41), n === 0 ? h1 : h2);
      assert.equal(peeled.kind, 'forward');
      if (peeled.kind !== 'forward') return;
      assert.equal(peeled.payload.shortChannelId, '201x0x0', 'the cheap way first');
      await s.settled(chans[0] as unknown as Channel, { id: sent.id, failure: createFailure(peeled.sharedSecret, { code: FailureCode.TEMPORARY_CHANNEL_FAILURE, channelUpdate: Buffer.alloc(0) }) });
    };
    let h2: Buffer = Buffer.alloc(32);
    await fail(0);
    await assert.rejects(tight, (e: unknown) => e instanceof PaymentError && e.code === 'FAILED' && e.failure?.code === FailureCode.TEMPORARY_CHANNEL_FAILURE);
    assert.equal(chans[0]!.sent.length, 1, 'the 3000 msat way is over the budget: not tried');
    // With room in the budget, the next payment avoids the hop that failed for this amount.
    h2 = sha256(randomBytes(32));
    void s.pay({ paymentHash: h2, destination: payee, amountMsat: 5_000_000n, findRoute: finder(graph, payee), paymentSecret: randomBytes(32), mpp: false, maxFeeMsat: 10_000n }).catch(() => undefined);
    await until(() => chans[0]!.sent.length === 2, 'second payment sent');
    const peeled = peelOnion(chans[0]!.sent[1]!.onion, key(0x41), h2);
    assert.equal(peeled.kind === 'forward' ? peeled.payload.shortChannelId : undefined, '203x0x0', 'mission control: the hubA way failed at this amount');
  });

  it('a part the payee holds (an incomplete MPP set) ends pay with TIMEOUT after retry_for and the grace; the payment stays pending, then fails with the part', async () => {
    const payee = id(0x51);
    const chans = [channel('d'.repeat(64), '301x1x0', payee, 30_000_000n)];
    const s = await sender(chans, { heldPartsGraceMs: 300 });
    const hash = sha256(randomBytes(32));
    const started = Date.now();
    // 50,000 sat over one 30,000 sat channel: one part goes, the rest finds no route; the sent part is held.
    const paying = s.pay({ paymentHash: hash, destination: payee, amountMsat: 50_000_000n, findRoute: finder(new ChannelGraph(0), payee), paymentSecret: randomBytes(32), mpp: true, minPartMsat: 20_000_000n, timeoutMs: 200 });
    await assert.rejects(paying, (e: unknown) => e instanceof PaymentError && e.code === 'TIMEOUT' && /1 part still in flight/.test(e.message));
    assert.ok(Date.now() - started >= 500, 'waited retry_for and the grace');
    assert.equal(chans[0]!.sent.length, 1, 'one 25,000 sat part was sent and held (the rest is below the smallest part)');
    const hex = hash.toString('hex');
    assert.equal((await s.payment(hex))?.payment.status, 'pending', 'parts in flight: still pending');
    for (const sent of chans[0]!.sent) {
      const peeled = peelOnion(sent.onion, key(0x51), hash);
      await s.settled(chans[0] as unknown as Channel, { id: sent.id, failure: createFailure(peeled.kind === 'final' ? peeled.sharedSecret : Buffer.alloc(32), { code: FailureCode.MPP_TIMEOUT }) });
    }
    assert.equal((await s.payment(hex))?.payment.status, 'failed', 'its last part failing ends the payment');
  });
});
