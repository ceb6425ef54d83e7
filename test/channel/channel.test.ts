import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { ChannelMessageType } from '../../src/channel/messages.js';
import { decodeChannelData } from '../../src/channel/state.js';
import { until } from '../harness/wait.js';
import { makePair, normalPair, PAIR_WAIT, type Pair } from './pair.js';

const preimage = (n: number): Buffer => Buffer.alloc(32, n);
const hashOf = (p: Buffer): Buffer => createHash('sha256').update(p).digest();

const balances = (p: Pair): bigint[] => [p.a.channel.data.localCommit.spec.toLocalMsat, p.a.channel.data.localCommit.spec.toRemoteMsat, p.b.channel.data.localCommit.spec.toLocalMsat, p.b.channel.data.localCommit.spec.toRemoteMsat];

for (const format of ['static_remotekey', 'anchors_zero_fee_htlc_tx'] as const) {
  describe(`channel state machine (${format})`, () => {
    test('channel_ready both ways makes the channel NORMAL and gives each side the next point', async () => {
      const p = await normalPair({ format });
      assert.ok(p.a.channel.usable && p.b.channel.usable);
      assert.deepEqual(p.a.channel.data.remoteNextPoint, p.b.keys.point(1n));
      assert.deepEqual(p.b.channel.data.remoteNextPoint, p.a.keys.point(1n));
      assert.deepEqual(p.a.failures, []);
    });

    test('HTLC A→B fulfilled moves the amount, both commitments agree, each revocation is handed over', async () => {
      const p = await normalPair({ format });
      const received: bigint[] = [];
      p.b.channel.on('htlcReceived', (h) => received.push(h.id));
      const settled: { id: bigint; preimage?: Buffer }[] = [];
      p.a.channel.on('htlcSettled', (s) => settled.push(s));
      const id = await p.a.channel.addHtlc({ amountMsat: 50_000_000n, paymentHash: hashOf(preimage(1)), cltvExpiry: 500 });
      await until(() => received.includes(id), { what: 'B sees the HTLC committed', ...PAIR_WAIT });
      // In flight: both commitments hold it.
      assert.equal(p.a.channel.data.localCommit.spec.htlcs.length, 1);
      assert.equal(p.b.channel.data.localCommit.spec.htlcs.length, 1);
      await p.b.channel.fulfillHtlc(id, preimage(1));
      await until(() => settled.length === 1, { what: 'A learns the preimage', ...PAIR_WAIT });
      assert.deepEqual(settled[0]!.preimage, preimage(1));
      await p.a.channel.idle();
      await p.b.channel.idle();
      assert.deepEqual(balances(p), [850_000_000n, 150_000_000n, 150_000_000n, 850_000_000n]);
      assert.equal(p.a.channel.data.localCommit.index, p.b.channel.data.remoteCommit.index);
      assert.equal(p.a.channel.data.localCommit.txid, p.b.channel.data.remoteCommit.txid);
      assert.equal(p.b.channel.data.localCommit.txid, p.a.channel.data.remoteCommit.txid);
      // Every commitment B revoked was handed to A's watchtower hook, and vice versa, with its secret.
      assert.equal(p.a.revoked.length, Number(p.b.channel.data.localCommit.index));
      assert.equal(p.b.revoked.length, Number(p.a.channel.data.localCommit.index));
      for (const r of p.a.revoked) assert.deepEqual(r.secret, p.b.keys.secret(r.commit.index));
      assert.deepEqual([...p.a.failures, ...p.b.failures], []);
    });

    test('HTLC B→A failed returns the amount; update_fee from the opener is applied on both sides', async () => {
      const p = await normalPair({ format });
      const received: bigint[] = [];
      p.a.channel.on('htlcReceived', (h) => received.push(h.id));
      const failed: bigint[] = [];
      p.b.channel.on('htlcSettled', (s) => {
        if (s.failure) failed.push(s.id);
      });
      const id = await p.b.channel.addHtlc({ amountMsat: 20_000_000n, paymentHash: hashOf(preimage(2)), cltvExpiry: 600 });
      await until(() => received.includes(id), { what: 'A sees the HTLC', ...PAIR_WAIT });
      await p.a.channel.failHtlc(id, Buffer.from('nope'));
      await until(() => failed.includes(id), { what: 'B sees the failure', ...PAIR_WAIT });
      await p.a.channel.updateFee(2500n);
      await until(() => p.b.channel.feeratePerKw === 2500n && p.a.channel.feeratePerKw === 2500n, { what: 'fee applied both sides', ...PAIR_WAIT });
      await p.a.channel.idle();
      await p.b.channel.idle();
      assert.deepEqual(balances(p), [900_000_000n, 100_000_000n, 100_000_000n, 900_000_000n]);
      assert.deepEqual([...p.a.failures, ...p.b.failures], []);
    });

    test('many HTLCs in both directions at once, then all settled', async () => {
      const p = await normalPair({ format });
      const atB: bigint[] = [];
      const atA: bigint[] = [];
      p.b.channel.on('htlcReceived', (h) => atB.push(h.id));
      p.a.channel.on('htlcReceived', (h) => atA.push(h.id));
      for (let i = 0; i < 5; i++) {
        await p.a.channel.addHtlc({ amountMsat: 1_000_000n * BigInt(i + 1), paymentHash: hashOf(preimage(10 + i)), cltvExpiry: 700 + i });
        await p.b.channel.addHtlc({ amountMsat: 2_000_000n * BigInt(i + 1), paymentHash: hashOf(preimage(20 + i)), cltvExpiry: 800 + i });
      }
      await until(() => atB.length === 5 && atA.length === 5, { what: 'all committed', ...PAIR_WAIT });
      for (let i = 0; i < 5; i++) {
        await p.b.channel.fulfillHtlc(atB[i]!, preimage(10 + i));
        if (i % 2 === 0) await p.a.channel.fulfillHtlc(atA[i]!, preimage(20 + i));
        else await p.a.channel.failHtlc(atA[i]!);
      }
      await until(() => p.a.channel.data.localCommit.spec.htlcs.length === 0 && p.b.channel.data.localCommit.spec.htlcs.length === 0 && p.a.channel.data.remoteCommit.spec.htlcs.length === 0, { what: 'all settled', ...PAIR_WAIT });
      await p.a.channel.idle();
      await p.b.channel.idle();
      // A paid 15 000 000 msat, B paid 2+6+10 = 18 000 000 msat (the fulfilled ones).
      assert.deepEqual(balances(p), [903_000_000n, 97_000_000n, 97_000_000n, 903_000_000n]);
      assert.deepEqual([...p.a.failures, ...p.b.failures], []);
    });

    test('cooperative close: both sides sign the same closing transaction', async () => {
      const p = await normalPair({ format });
      await p.a.channel.shutdown();
      await until(() => p.a.closings.length === 1 && p.b.closings.length === 1, { what: 'closing signed', ...PAIR_WAIT });
      assert.equal(p.a.closings[0]!.txid, p.b.closings[0]!.txid);
      assert.equal(p.a.channel.data.state, 'CLOSINGD_COMPLETE');
      assert.equal(p.b.channel.data.state, 'CLOSINGD_COMPLETE');
    });
  });
}

describe('channel reestablish and durability', () => {
  test('B restarts from its persisted state after sending revoke_and_ack that A never got: reestablish retransmits it', async () => {
    const p = await normalPair();
    const received: bigint[] = [];
    p.b.channel.on('htlcReceived', (h) => received.push(h.id));
    // A's updates reach B, but everything B sends back is lost.
    p.a.hold = true;
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: hashOf(preimage(3)), cltvExpiry: 500 });
    await until(() => p.b.sent.includes(ChannelMessageType.REVOKE_AND_ACK), { what: 'B revokes', ...PAIR_WAIT });
    p.a.held.splice(0);
    await p.disconnect();
    p.a.hold = false;
    // B restarts from disk; A keeps its memory (it had persisted its commitment_signed).
    p.restart(p.b);
    p.b.channel.on('htlcReceived', (h) => received.push(h.id));
    p.restart(p.a);
    await p.connect();
    await until(() => received.length > 0, { what: 'B sees the HTLC after reestablish', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    assert.equal(p.a.channel.data.localCommit.txid, p.b.channel.data.remoteCommit.txid);
    assert.equal(p.b.channel.data.localCommit.txid, p.a.channel.data.remoteCommit.txid);
    assert.deepEqual([...p.a.failures, ...p.b.failures], []);
  });

  test('commitment_signed lost in flight is retransmitted with the same signature', async () => {
    const p = await normalPair();
    p.b.hold = true;
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: hashOf(preimage(4)), cltvExpiry: 500 });
    await until(() => p.a.sent.includes(ChannelMessageType.COMMITMENT_SIGNED), { what: 'A signs', ...PAIR_WAIT });
    const signed = decodeChannelData(p.a.persisted).nextRemoteCommit;
    assert.ok(signed, 'the commitment A signed is persisted before it is sent');
    p.b.held.splice(0);
    await p.disconnect();
    p.b.hold = false;
    p.restart(p.a);
    p.restart(p.b);
    await p.connect();
    await until(() => p.b.channel.data.localCommit.spec.htlcs.length === 1, { what: 'B has the HTLC', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    assert.equal(p.a.channel.data.remoteCommit.txid, p.b.channel.data.localCommit.txid);
    assert.deepEqual(p.b.channel.data.localCommit.remoteSig, signed.sig);
  });

  test('a bad commitment signature fails the channel', async () => {
    const p = await normalPair();
    p.b.hold = true;
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: hashOf(preimage(5)), cltvExpiry: 500 });
    await until(() => p.b.held.length >= 2, { what: 'update and commitment_signed held', ...PAIR_WAIT });
    const commit = p.b.held[1]!;
    commit[2 + 32 + 10]! ^= 0x01; // flip a bit of the signature
    await p.deliverHeld(p.b);
    await until(() => p.b.failures.length > 0, { what: 'B fails the channel', ...PAIR_WAIT });
    assert.match(p.b.failures[0]!, /bad commitment signature|HTLC signature/);
  });

  test('update_fee from the non-opener and updates before reestablish are protocol errors', async () => {
    const p = await normalPair();
    // A opened the channel: an update_fee reaching A can only come from the non-opener.
    await p.a.channel.handle({ type: ChannelMessageType.UPDATE_FEE, channelId: p.a.channel.data.channelId, feeratePerKw: 5000, extraTlvs: [] });
    assert.match(p.a.failures[0] ?? '', /update_fee from the non-opener/);
    const q = makePair();
    await q.b.channel.handle({ type: ChannelMessageType.UPDATE_FEE, channelId: q.b.channel.data.channelId, feeratePerKw: 5000, extraTlvs: [] });
    assert.match(q.b.failures[0] ?? '', /before channel_reestablish/);
  });

  test('an update_fee below 253 sat/kw, a revoke_and_ack nobody asked for and a stray funding message fail the channel', async () => {
    const p = await normalPair();
    await p.b.channel.handle({ type: ChannelMessageType.UPDATE_FEE, channelId: p.b.channel.data.channelId, feeratePerKw: 100, extraTlvs: [] });
    assert.match(p.b.failures[0] ?? '', /update_fee: feerate 100 below 253/);
    const q = await normalPair();
    await q.a.channel.handle({ type: ChannelMessageType.REVOKE_AND_ACK, channelId: q.a.channel.data.channelId, perCommitmentSecret: q.b.keys.secret(0n), nextPerCommitmentPoint: q.b.keys.point(2n), extraTlvs: [] });
    assert.match(q.a.failures[0] ?? '', /revoke_and_ack without a commitment_signed/);
    const r = await normalPair();
    await r.a.channel.handle({ type: ChannelMessageType.FUNDING_SIGNED, channelId: r.a.channel.data.channelId, signature: Buffer.alloc(64), extraTlvs: [] });
    assert.match(r.a.failures[0] ?? '', /unexpected funding_signed/);
  });
});
