/**
 * HTLC deadlines (src/channel/deadlines.ts) on the states two real Channel engines reach: an offered
 * HTLC goes on chain at its cltv_expiry (OUTGOING_BROADCAST_DELTA 0) unless the peer fulfilled it; a
 * received one whose preimage we know INCOMING_BROADCAST_DELTA blocks before; one we cannot settle never
 * (failing it is the intake's job); nothing once the channel is on chain.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { htlcDeadline, INCOMING_BROADCAST_DELTA, OUTGOING_BROADCAST_DELTA } from '../../src/channel/deadlines.js';
import { until } from '../harness/wait.js';
import { normalPair, pairWithHtlc, PAIR_WAIT } from './pair.js';

const preimage = Buffer.alloc(32, 9);
const paymentHash = createHash('sha256').update(preimage).digest();
const EXPIRY = 600;

const htlcAtoB = () => pairWithHtlc({ amountMsat: 30_000_000n, paymentHash, cltvExpiry: EXPIRY });

describe('HTLC deadlines', () => {
  it('an offered HTLC the peer does not resolve: on chain at cltv_expiry, not a block before', async () => {
    const { p, id } = await htlcAtoB();
    assert.equal(htlcDeadline(p.a.channel.data, EXPIRY - OUTGOING_BROADCAST_DELTA - 1), undefined);
    assert.equal(OUTGOING_BROADCAST_DELTA, 0, "LND's DefaultOutgoingBroadcastDelta");
    assert.equal(htlcDeadline(p.a.channel.data, EXPIRY), `Offered HTLC ${id} cltv ${EXPIRY} hit deadline at block ${EXPIRY}`);
    assert.ok(htlcDeadline(p.a.channel.data, EXPIRY + 50));
    // Once on chain (or failing) the deadline is the on-chain side's business.
    p.a.channel.data.state = 'AWAITING_UNILATERAL';
    assert.equal(htlcDeadline(p.a.channel.data, EXPIRY + 50), undefined);
  });

  it('an offered HTLC only added (not yet signed) has no deadline; one in their next commitment has', async () => {
    const p = await normalPair();
    p.b.hold = true;
    await p.a.channel.addHtlc({ amountMsat: 30_000_000n, paymentHash, cltvExpiry: EXPIRY });
    assert.equal(htlcDeadline(p.a.channel.data, EXPIRY), undefined, 'proposed only');
    await until(() => p.a.channel.data.nextRemoteCommit !== undefined, { what: 'A signed it', ...PAIR_WAIT });
    assert.ok(htlcDeadline(p.a.channel.data, EXPIRY), 'in their next commitment');
  });

  it('a received HTLC without a preimage never has one; with our fulfill pending, 18 blocks before its expiry', async () => {
    const { p, id } = await htlcAtoB();
    assert.equal(htlcDeadline(p.b.channel.data, EXPIRY + 100), undefined);
    // A does not take B's fulfill in: it stays in B's update log while the HTLC is in both commitments.
    p.a.hold = true;
    await p.b.channel.fulfillHtlc(id, preimage);
    await until(() => p.a.held.length > 0, { what: 'B sent its fulfill', ...PAIR_WAIT });
    assert.equal(htlcDeadline(p.b.channel.data, EXPIRY - INCOMING_BROADCAST_DELTA - 1), undefined);
    assert.equal(htlcDeadline(p.b.channel.data, EXPIRY - INCOMING_BROADCAST_DELTA), `Fulfilled HTLC ${id} cltv ${EXPIRY} hit deadline at block ${EXPIRY - INCOMING_BROADCAST_DELTA}`);
    // A, told the preimage, has nothing to time out.
    await p.deliverHeld(p.a);
    await until(() => p.a.channel.data.remoteChanges.proposed.some((u) => u.kind === 'fulfill') || p.a.channel.data.localCommit.spec.htlcs.length === 0, { what: 'A has the fulfill', ...PAIR_WAIT });
    assert.equal(htlcDeadline(p.a.channel.data, EXPIRY + 10), undefined);
  });

  it('a preimage known elsewhere (the invoice book) counts as ours', async () => {
    const { p } = await htlcAtoB();
    const known = (h: Buffer) => (h.equals(paymentHash) ? preimage : undefined);
    assert.ok(htlcDeadline(p.b.channel.data, EXPIRY - INCOMING_BROADCAST_DELTA, known));
    assert.equal(htlcDeadline(p.b.channel.data, EXPIRY - INCOMING_BROADCAST_DELTA - 1, known), undefined);
  });
});
