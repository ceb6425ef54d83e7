/**
 * Smoke test of the bench's "channel" section (bench/channel.ts): tiny batches, one round, so the code
 * path (two PeerManagers over loopback, SQLite on both sides, HTLC and update_fee rounds, the raw crypto
 * and SQLite references) keeps working. No timing assertions: only the per-round counts, which are fixed
 * by the protocol.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchChannel, printChannel } from '../../bench/channel.js';

describe('bench: channel section', () => {
  it('runs HTLC and update_fee round trips with both references and counts the work per round', { timeout: 120_000 }, async () => {
    const r = await benchChannel({ rounds: 1, batchMs: 5, warmupMs: 5 });

    // HTLC round: add signed both ways (1 HTLC on each commitment), then the fulfill signed both ways.
    assert.equal(r.htlc.counts.commitmentSigned, 4);
    assert.equal(r.htlc.counts.revokeAndAck, 4);
    assert.equal(r.htlc.counts.commitmentSigs, 4);
    assert.equal(r.htlc.counts.htlcSigs, 2);
    assert.equal(r.htlc.counts.points, 12);
    assert.equal(r.htlc.counts.saves, 12);
    assert.equal(r.htlc.counts.revocations, 4);
    assert.equal(r.htlc.counts.messages, 10);

    // update_fee round: one signature round each way, no HTLC.
    assert.equal(r.fee.counts.commitmentSigned, 2);
    assert.equal(r.fee.counts.htlcSigs, 0);
    assert.equal(r.fee.counts.points, 6);
    assert.equal(r.fee.counts.saves, 6);
    assert.equal(r.fee.counts.revocations, 2);
    assert.equal(r.fee.counts.messages, 5);

    for (const s of [r.htlc, r.fee]) {
      assert.ok(s.crypto.candidate.median > 0 && s.crypto.reference.median > 0);
      assert.ok(s.sqlite.candidate.median > 0 && s.sqlite.reference.median > 0);
      assert.ok(Number.isFinite(s.roundMs) && s.roundMs > 0);
    }
    assert.ok(r.totalRounds.htlc > 4 && r.totalRounds.fee > 4);
    assert.doesNotThrow(() => JSON.stringify(r));
    assert.ok(printChannel(r).some((l) => l.includes('round trips/s')));
  });
});
