/**
 * The switch's forwarding checks (payment/forward-policy.ts), pure: each BOLT 4 failure code in the
 * order LND and CLN apply them, with its data (the incoming amount or expiry, our channel_update of the
 * outgoing channel, signed by the node key and readable by BOLT 7's checks); the fee formula at its
 * rounding edge; a forward that meets the policy passes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secp } from '../../src/crypto/secp256k1.js';
import { DEFAULT_POLICY } from '../../src/gossip/announce.js';
import { decodeGossipMessage, GossipMessageType, type ChannelUpdate } from '../../src/gossip/messages.js';
import { checkChannelUpdate } from '../../src/gossip/validate.js';
import { decodeFailureMessage, encodeFailureMessage, FailureCode, type FailureMessage } from '../../src/onion/failure.js';
import { checkForward, forwardingFee, MAX_CLTV_EXPIRY_BLOCKS, OUTGOING_CLTV_REJECT_DELTA, ownChannelUpdate, type OutgoingChannel } from '../../src/payment/forward-policy.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';

const nodeKey = Buffer.alloc(32, 0x21);
const nodeId = secp.publicKey(nodeKey);
const peerId = secp.publicKey(Buffer.alloc(32, 0x22));
const policy = { cltvExpiryDelta: 40, feeBaseMsat: 1000, feeProportionalMillionths: 100 };
const HEIGHT = 500;
const CAPACITY_MSAT = 1_000_000_000n;

function update(disabled = false): Buffer {
  return ownChannelUpdate(
    { chainHash: CHAIN_HASH.regtest, scid: (500n << 40n) | (1n << 16n), direction: Buffer.compare(nodeId, peerId) < 0 ? 0 : 1, timestamp: 1_700_000_000, disabled, policy, htlcMinimumMsat: 1000n, htlcMaximumMsat: 500_000_000n },
    (d) => secp.sign(d, nodeKey),
  );
}

function out(over: Partial<OutgoingChannel> = {}): OutgoingChannel {
  return { policy, htlcMinimumMsat: 1000n, htlcMaximumMsat: 500_000_000n, sendableMsat: 800_000_000n, status: 'usable', channelUpdate: () => update(over.status === 'disabled'), ...over };
}

/** An HTLC paying exactly the fee and delta `policy` asks to forward `amt`. */
function exact(amt = 10_000_000n, outgoingCltvValue = HEIGHT + 100) {
  return { amountMsat: amt + forwardingFee(policy, amt), cltvExpiry: outgoingCltvValue + policy.cltvExpiryDelta, amtToForward: amt, outgoingCltvValue };
}

/** The failure as it goes on the wire and back: its code and data survive encoding. */
function wire(f: FailureMessage | undefined): FailureMessage {
  assert.ok(f, 'a failure');
  return decodeFailureMessage(encodeFailureMessage(f));
}

function updateOf(f: FailureMessage): ChannelUpdate {
  const bytes = (f as { channelUpdate: Buffer }).channelUpdate;
  assert.equal(bytes.readUInt16BE(0), GossipMessageType.CHANNEL_UPDATE, 'prefixed with its type, as LND and CLN send it');
  const payload = bytes.subarray(2);
  const m = decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, payload) as ChannelUpdate;
  const ids: [Buffer, Buffer] = Buffer.compare(nodeId, peerId) < 0 ? [nodeId, peerId] : [peerId, nodeId];
  assert.equal(checkChannelUpdate(m, payload, CHAIN_HASH.regtest, ids, CAPACITY_MSAT), undefined, 'signed by our node key, valid by BOLT 7');
  return m;
}

describe('forwarding policy checks', () => {
  it('the fee is base + amount × ppm / 1e6, rounded down', () => {
    assert.equal(forwardingFee(policy, 10_000_000n), 2000n);
    assert.equal(forwardingFee(policy, 9_999n), 1000n + 0n);
    assert.equal(forwardingFee(DEFAULT_POLICY, 1_000_000_000n), 1000n + 10_000n);
  });

  it('an HTLC paying exactly the fee and delta passes; one more msat of fee or block of delta too', () => {
    assert.equal(checkForward(exact(), out(), HEIGHT), undefined);
    const r = exact();
    assert.equal(checkForward({ ...r, amountMsat: r.amountMsat + 1n, cltvExpiry: r.cltvExpiry + 1 }, out(), HEIGHT), undefined);
  });

  it("setchannel's enforcedelay: the previous fee and delta still pass until it ends, then only the new ones", () => {
    const r = exact();
    const raised = { cltvExpiryDelta: 80, feeBaseMsat: 5000, feeProportionalMillionths: 500 };
    assert.equal(wire(checkForward(r, out({ policy: raised }), HEIGHT)).code, FailureCode.FEE_INSUFFICIENT, 'the old fee alone is short');
    const during = out({ policy: { ...raised, previous: { ...policy, until: 1_700_000_600 } } });
    assert.equal(checkForward(r, during, HEIGHT), undefined, 'paying the previous policy exactly passes while it is honoured');
    assert.equal(wire(checkForward({ ...r, amountMsat: r.amountMsat - 1n }, during, HEIGHT)).code, FailureCode.FEE_INSUFFICIENT);
    assert.equal(wire(checkForward({ ...r, cltvExpiry: r.cltvExpiry - 1 }, during, HEIGHT)).code, FailureCode.INCORRECT_CLTV_EXPIRY);
  });

  it('no channel for the short_channel_id: unknown_next_peer, no data', () => {
    assert.deepEqual(wire(checkForward(exact(), undefined, HEIGHT)), { code: FailureCode.UNKNOWN_NEXT_PEER, extraTlvs: [] });
  });

  it('amt_to_forward below the outgoing htlc_minimum_msat: amount_below_minimum with the HTLC amount and our update', () => {
    const r = exact(999n);
    const f = wire(checkForward(r, out(), HEIGHT));
    assert.equal(f.code, FailureCode.AMOUNT_BELOW_MINIMUM);
    assert.equal((f as { htlcMsat: bigint }).htlcMsat, r.amountMsat);
    assert.equal(updateOf(f).htlcMinimumMsat, 1000n);
  });

  it('one msat of fee short: fee_insufficient with the HTLC amount and the update naming our fees', () => {
    const r = exact();
    const f = wire(checkForward({ ...r, amountMsat: r.amountMsat - 1n }, out(), HEIGHT));
    assert.equal(f.code, FailureCode.FEE_INSUFFICIENT);
    assert.equal((f as { htlcMsat: bigint }).htlcMsat, r.amountMsat - 1n);
    const u = updateOf(f);
    assert.deepEqual([u.feeBaseMsat, u.feeProportionalMillionths, u.cltvExpiryDelta], [1000, 100, 40]);
    // An amount below what is to be forwarded is a fee failure, not an underflow.
    assert.equal(checkForward({ ...r, amountMsat: r.amtToForward - 5n }, out(), HEIGHT)?.code, FailureCode.FEE_INSUFFICIENT);
  });

  it('fee is checked before the delta (BOLT 4 order): both short gives fee_insufficient', () => {
    const r = exact();
    assert.equal(checkForward({ ...r, amountMsat: r.amountMsat - 1n, cltvExpiry: r.cltvExpiry - 1 }, out(), HEIGHT)?.code, FailureCode.FEE_INSUFFICIENT);
  });

  it('one block of delta short: incorrect_cltv_expiry with the incoming cltv_expiry and our update', () => {
    const r = exact();
    const f = wire(checkForward({ ...r, cltvExpiry: r.cltvExpiry - 1 }, out(), HEIGHT));
    assert.equal(f.code, FailureCode.INCORRECT_CLTV_EXPIRY);
    assert.equal((f as { cltvExpiry: number }).cltvExpiry, r.cltvExpiry - 1);
    assert.equal(updateOf(f).cltvExpiryDelta, 40);
  });

  it('an outgoing expiry at the tip plus the reject delta: expiry_too_soon with our update; one block later passes', () => {
    const f = wire(checkForward(exact(10_000_000n, HEIGHT + OUTGOING_CLTV_REJECT_DELTA), out(), HEIGHT));
    assert.equal(f.code, FailureCode.EXPIRY_TOO_SOON);
    updateOf(f);
    assert.equal(checkForward(exact(10_000_000n, HEIGHT + OUTGOING_CLTV_REJECT_DELTA + 1), out(), HEIGHT), undefined);
  });

  it(`an outgoing expiry more than ${MAX_CLTV_EXPIRY_BLOCKS} blocks away: expiry_too_far`, () => {
    assert.deepEqual(wire(checkForward(exact(10_000_000n, HEIGHT + MAX_CLTV_EXPIRY_BLOCKS + 1), out(), HEIGHT)), { code: FailureCode.EXPIRY_TOO_FAR, extraTlvs: [] });
    assert.equal(checkForward(exact(10_000_000n, HEIGHT + MAX_CLTV_EXPIRY_BLOCKS), out(), HEIGHT), undefined);
  });

  it('a closing channel: channel_disabled with flags 0 and an update with the disable bit', () => {
    const f = wire(checkForward(exact(), out({ status: 'disabled' }), HEIGHT));
    assert.equal(f.code, FailureCode.CHANNEL_DISABLED);
    assert.equal((f as { disabledFlags: number }).disabledFlags, 0);
    assert.equal(updateOf(f).channelFlags & 2, 2);
  });

  it('peer offline, above htlc_maximum_msat, or more than the channel can send: temporary_channel_failure with our update', () => {
    for (const [what, o, amt] of [
      ['offline', out({ status: 'offline' }), 10_000_000n],
      ['max', out(), 500_000_001n],
      ['capacity', out({ sendableMsat: 9_999_999n }), 10_000_000n],
    ] as const) {
      const f = wire(checkForward(exact(amt), o, HEIGHT));
      assert.equal(f.code, FailureCode.TEMPORARY_CHANNEL_FAILURE, what);
      assert.equal(updateOf(f).channelFlags & 2, 0, what);
    }
  });
});
