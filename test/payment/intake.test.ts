/**
 * The HTLC intake: every kind of incoming onion gets the failure BOLT 4 asks for, encrypted so that the
 * payer attributes it to us (decideIncomingHtlc), and two real Channel engines (test/channel/pair.ts)
 * carry it: the sender learns the failure, the HTLC leaves both commitments, a failure forgotten by a
 * disconnection is decided again, and a restart never settles twice.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ChannelMessageType } from '../../src/channel/messages.js';
import type { HtlcAdd } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { attributeFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { encodeHopPayload, KEYSEND_TLV_TYPE, type HopPayload } from '../../src/onion/payload.js';
import { createOnion, ONION_PACKET_SIZE } from '../../src/onion/sphinx.js';
import { decideIncomingHtlc, failureOfCode, HtlcIntake } from '../../src/payment/intake.js';
import { until } from '../harness/wait.js';
import { normalPair, PAIR_WAIT, type Pair } from '../channel/pair.js';

const NODE_KEY = Buffer.alloc(32, 0x21);
const NODE_ID = secp.publicKey(NODE_KEY);
const OTHER_ID = secp.publicKey(Buffer.alloc(32, 0x22));
const HEIGHT = 812;
const log = pino({ level: 'silent' });

/** An onion for `hops` (payloads), with the shared secrets the sender keeps. */
function onion(paymentHash: Buffer, hops: { nodeId: Buffer; payload: Partial<HopPayload> }[]): { packet: Buffer; sharedSecrets: Buffer[] } {
  return createOnion({ sessionKey: randomBytes(32), associatedData: paymentHash, hops: hops.map((h) => ({ nodeId: h.nodeId, payload: encodeHopPayload(h.payload) })) });
}

function htlc(over: Partial<HtlcAdd> = {}): HtlcAdd {
  return { id: 3n, amountMsat: 50_000_000n, paymentHash: sha256(randomBytes(32)), cltvExpiry: 900, onion: Buffer.alloc(ONION_PACKET_SIZE), ...over };
}

/** The decision for `h` as the payer reads it: the erring hop's index and message. */
function payerSees(h: HtlcAdd, sharedSecrets: Buffer[]) {
  const d = decideIncomingHtlc(h, NODE_KEY, HEIGHT);
  assert.equal(d.kind, 'fail');
  if (d.kind !== 'fail') throw new Error('unreachable');
  const { hopIndex, failure } = attributeFailure(sharedSecrets, d.reason);
  return { hopIndex, failure };
}

describe('decideIncomingHtlc', () => {
  it('final hop, no invoice: incorrect_or_unknown_payment_details with the HTLC amount and our height, attributed to us', () => {
    const h = htlc();
    const o = onion(h.paymentHash, [{ nodeId: NODE_ID, payload: { amtToForward: h.amountMsat, outgoingCltvValue: h.cltvExpiry, paymentData: { paymentSecret: randomBytes(32), totalMsat: h.amountMsat } } }]);
    const seen = payerSees({ ...h, onion: o.packet }, o.sharedSecrets);
    assert.equal(seen.hopIndex, 0);
    assert.deepEqual(seen.failure, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: h.amountMsat, height: HEIGHT, extraTlvs: [] });
  });

  it('keysend is a final hop like any other: incorrect_or_unknown_payment_details', () => {
    const preimage = randomBytes(32);
    const h = htlc({ paymentHash: sha256(preimage) });
    const o = onion(h.paymentHash, [{ nodeId: NODE_ID, payload: { amtToForward: h.amountMsat, outgoingCltvValue: h.cltvExpiry, keysendPreimage: preimage } }]);
    assert.ok(KEYSEND_TLV_TYPE > 0n);
    assert.equal(payerSees({ ...h, onion: o.packet }, o.sharedSecrets).failure?.code, FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS);
  });

  it('final-hop checks first: a larger outgoing_cltv_value or amt_to_forward than the HTLC carries', () => {
    const h = htlc();
    const cltv = onion(h.paymentHash, [{ nodeId: NODE_ID, payload: { amtToForward: h.amountMsat, outgoingCltvValue: h.cltvExpiry + 1 } }]);
    assert.deepEqual(payerSees({ ...h, onion: cltv.packet }, cltv.sharedSecrets).failure, { code: FailureCode.FINAL_INCORRECT_CLTV_EXPIRY, cltvExpiry: h.cltvExpiry, extraTlvs: [] });
    const amt = onion(h.paymentHash, [{ nodeId: NODE_ID, payload: { amtToForward: h.amountMsat + 1n, outgoingCltvValue: h.cltvExpiry } }]);
    assert.deepEqual(payerSees({ ...h, onion: amt.packet }, amt.sharedSecrets).failure, { code: FailureCode.FINAL_INCORRECT_HTLC_AMOUNT, incomingHtlcAmt: h.amountMsat, extraTlvs: [] });
  });

  it('a hop to forward: unknown_next_peer from us (hop 0), not from the next node', () => {
    const h = htlc();
    const o = onion(h.paymentHash, [
      { nodeId: NODE_ID, payload: { amtToForward: h.amountMsat - 1000n, outgoingCltvValue: h.cltvExpiry - 40, shortChannelId: '500x1x0' } },
      { nodeId: OTHER_ID, payload: { amtToForward: h.amountMsat - 1000n, outgoingCltvValue: h.cltvExpiry - 40 } },
    ]);
    const seen = payerSees({ ...h, onion: o.packet }, o.sharedSecrets);
    assert.equal(seen.hopIndex, 0);
    assert.equal(seen.failure?.code, FailureCode.UNKNOWN_NEXT_PEER);
  });

  it('an authentic onion with a payload missing amt_to_forward: invalid_onion_payload naming type 2', () => {
    const h = htlc();
    const o = onion(h.paymentHash, [{ nodeId: NODE_ID, payload: { outgoingCltvValue: h.cltvExpiry } }]);
    assert.deepEqual(payerSees({ ...h, onion: o.packet }, o.sharedSecrets).failure, { code: FailureCode.INVALID_ONION_PAYLOAD, tlvType: 2n, offset: 0, extraTlvs: [] });
  });

  it('unreadable onions: update_fail_malformed_htlc with the BADONION code and sha256_of_onion', () => {
    const h = htlc();
    const zero = decideIncomingHtlc(h, NODE_KEY, HEIGHT);
    assert.deepEqual(zero, { kind: 'fail-malformed', failureCode: FailureCode.INVALID_ONION_KEY, sha256OfOnion: sha256(h.onion) });
    const toOther = onion(h.paymentHash, [{ nodeId: OTHER_ID, payload: { amtToForward: 1n, outgoingCltvValue: 1 } }]).packet;
    assert.deepEqual(decideIncomingHtlc({ ...h, onion: toOther }, NODE_KEY, HEIGHT), { kind: 'fail-malformed', failureCode: FailureCode.INVALID_ONION_HMAC, sha256OfOnion: sha256(toOther) });
    // Authentic bytes, but another payment hash as associated data: the HMAC does not match either.
    const good = onion(h.paymentHash, [{ nodeId: NODE_ID, payload: { amtToForward: 1n, outgoingCltvValue: 1 } }]).packet;
    assert.equal(decideIncomingHtlc({ ...h, onion: good, paymentHash: sha256(good) }, NODE_KEY, HEIGHT).kind, 'fail-malformed');
  });

  it('failureOfCode fills the data it knows and refuses codes that need a channel_update', () => {
    const h = htlc();
    assert.deepEqual(failureOfCode(FailureCode.TEMPORARY_NODE_FAILURE, h, HEIGHT), { code: FailureCode.TEMPORARY_NODE_FAILURE });
    assert.deepEqual(failureOfCode(FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, h, HEIGHT), { code: 0x400f, htlcMsat: h.amountMsat, height: HEIGHT });
    assert.deepEqual(failureOfCode(0x7777, h, HEIGHT), { code: 0x7777, unknownCode: true, data: Buffer.alloc(0) });
    assert.throws(() => failureOfCode(FailureCode.TEMPORARY_CHANNEL_FAILURE, h, HEIGHT), /temporary_channel_failure needs data/);
  });
});

/** B's intake, as the node wires it: every HTLC B's channel announces. */
function attachIntake(p: Pair, after?: () => Promise<void>): HtlcIntake {
  const intake = new HtlcIntake({ nodeKey: NODE_KEY, blockHeight: () => HEIGHT, log });
  p.b.channel.on('htlcReceived', (h) => void intake.receive(p.b.channel, h).then(after));
  return intake;
}

/** A's settlements of its offered HTLCs. */
function settlements(p: Pair): { id: bigint; failure?: Buffer; preimage?: Buffer }[] {
  const out: { id: bigint; failure?: Buffer }[] = [];
  p.a.channel.on('htlcSettled', (s) => out.push(s));
  return out;
}

const sent = (p: Pair, type: number): number => p.b.sent.filter((t) => t === type).length;

describe('the intake on a channel (two Channel engines)', () => {
  it('fails an HTLC to us back at once: the sender attributes incorrect_or_unknown_payment_details to B; balances unchanged', async () => {
    const p = await normalPair();
    attachIntake(p);
    const settled = settlements(p);
    const paymentHash = sha256(randomBytes(32));
    const o = onion(paymentHash, [{ nodeId: NODE_ID, payload: { amtToForward: 20_000_000n, outgoingCltvValue: 600 } }]);
    const before = p.a.channel.data.localCommit.spec.toLocalMsat;
    const id = await p.a.channel.addHtlc({ amountMsat: 20_000_000n, paymentHash, cltvExpiry: 600, onion: o.packet });
    await until(() => settled.length === 1, { what: 'A learns the failure', ...PAIR_WAIT });
    assert.equal(settled[0]!.id, id);
    const { hopIndex, failure } = attributeFailure(o.sharedSecrets, settled[0]!.failure!);
    assert.equal(hopIndex, 0);
    assert.deepEqual(failure, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: 20_000_000n, height: HEIGHT, extraTlvs: [] });
    await p.a.channel.idle();
    await p.b.channel.idle();
    assert.equal(p.a.channel.data.localCommit.spec.htlcs.length + p.b.channel.data.localCommit.spec.htlcs.length, 0);
    assert.equal(p.a.channel.data.localCommit.spec.toLocalMsat, before);
    assert.deepEqual([...p.a.failures, ...p.b.failures], []);
  });

  it('an all-zero onion goes back as update_fail_malformed_htlc (invalid_onion_key)', async () => {
    const p = await normalPair();
    attachIntake(p);
    const settled = settlements(p);
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: sha256(randomBytes(32)), cltvExpiry: 600 });
    await until(() => settled.length === 1, { what: 'A learns the failure', ...PAIR_WAIT });
    assert.equal(sent(p, ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC), 1);
    assert.equal(sent(p, ChannelMessageType.UPDATE_FAIL_HTLC), 0);
    assert.deepEqual([...p.a.failures, ...p.b.failures], []);
  });

  it('a failure forgotten by a disconnection (never signed) is decided again on reestablish', async () => {
    const p = await normalPair();
    let first = true;
    attachIntake(p, async () => {
      if (!first) return;
      first = false;
      // Before B's commitment_signed goes out (it is scheduled for the next turn of the event loop).
      await p.disconnect();
    });
    const settled = settlements(p);
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: sha256(randomBytes(32)), cltvExpiry: 600 });
    await until(() => !first && !p.b.channel.connected, { what: 'B decided, then the connection dropped', ...PAIR_WAIT });
    assert.equal(p.b.channel.data.localChanges.proposed.length + p.b.channel.data.localChanges.signed.length, 0, 'the unsigned failure is forgotten');
    await p.connect();
    await until(() => settled.length === 1, { what: 'A learns the failure after reconnecting', ...PAIR_WAIT });
    assert.equal(sent(p, ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC), 2);
  });

  it('after a restart the HTLC is announced again, and one already being failed is not failed twice', async () => {
    const p = await normalPair();
    attachIntake(p);
    const settled = settlements(p);
    // A does not get B's second commitment_signed (the one with the failure): it stays signed, not revoked.
    let commits = 0;
    p.a.holdWhen = (type) => type === ChannelMessageType.COMMITMENT_SIGNED && ++commits === 2;
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: sha256(randomBytes(32)), cltvExpiry: 600 });
    await until(() => p.b.channel.data.localChanges.signed.some((u) => u.kind === 'fail_malformed'), { what: 'B signed its failure', ...PAIR_WAIT });
    await p.disconnect();
    p.a.hold = false;
    p.a.held.length = 0;
    p.a.holdWhen = undefined;
    p.restart(p.b);
    let announced = 0;
    p.b.channel.on('htlcReceived', () => announced++);
    attachIntake(p);
    await p.connect();
    await until(() => settled.length === 1, { what: 'A learns the failure after B restarted', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    assert.equal(announced, 1, 'the restarted channel announced the HTLC again');
    // Once before the restart, once retransmitted by channel_reestablish: never a second decision.
    assert.equal(sent(p, ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC), 2);
    assert.equal(p.b.channel.data.localCommit.spec.htlcs.length, 0);
    assert.deepEqual([...p.a.failures, ...p.b.failures], []);
  });
});
