/**
 * The closing fee negotiation's decisions (channel/close.ts) against BOLT 2's closing_signed rules with
 * fee_range, and issue 13's numbers with CLN: anode's estimate 253 sat/kw, the commitment at 1250 sat/kw,
 * CLN as non-opener wanting at least 1690 sat. The old code offered 171 sat in 85..513 sat.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, ourProposal, type CloseTerms } from '../../src/channel/close.js';

const P2WPKH = Buffer.concat([Buffer.from([0x00, 0x14]), Buffer.alloc(20, 1)]);
const terms = (t: Partial<CloseTerms> = {}): CloseTerms => ({
  opener: true,
  estimatePerKw: 253n,
  commitPerKw: 1250n,
  localScript: P2WPKH,
  remoteScript: P2WPKH,
  openerBalanceSat: 500_000n,
  ...t,
});

describe('closing fee negotiation (BOLT 2 fee_range)', () => {
  it("the opener's range covers its estimate and the commitment feerate: it reaches CLN's 1690 sat", () => {
    const { fee, range } = ourProposal(terms());
    assert.ok(range.min <= fee && fee <= range.max);
    assert.ok(range.min <= 171n, `min ${range.min} at most the fee at our estimate`);
    assert.ok(range.max >= 1690n, `max ${range.max} reaches CLN's minimum`);
    // CLN's closing_signed at 1690 sat with its range: accepted.
    assert.deepEqual(decide(terms(), { fee: 1690n, range: { min: 1690n, max: 10_000n } }, fee), { kind: 'accept' });
  });

  it('the opener never offers more than its balance', () => {
    const { fee, range } = ourProposal(terms({ estimatePerKw: 100_000n, openerBalanceSat: 5_000n }));
    assert.equal(range.max, 5_000n);
    assert.equal(fee, 5_000n);
  });

  it('the non-opener accepts any fee from the relay floor up to what the opener has', () => {
    const t = terms({ opener: false, estimatePerKw: 5060n });
    const { range } = ourProposal(t);
    assert.equal(range.max, 500_000n);
    assert.ok(range.min < 200n);
    assert.deepEqual(decide(t, { fee: 180n, range: { min: 90n, max: 540n } }, undefined), { kind: 'accept' });
  });

  it('a fee inside the intersection is accepted; outside it, the opener fails the negotiation', () => {
    const t = terms();
    const { fee, range } = ourProposal(t);
    assert.deepEqual(decide(t, { fee: range.max - 1n, range: { min: 1n, max: range.max * 2n } }, fee), { kind: 'accept' });
    assert.equal(decide(t, { fee: range.max + 1n, range: { min: 1n, max: range.max * 2n } }, fee).kind, 'fail');
  });

  it('the non-opener counters a fee outside the intersection once, inside it; then only its own fee is accepted', () => {
    const t = terms({ opener: false });
    const d = decide(t, { fee: 100_000n, range: { min: 50n, max: 100_000n } }, undefined);
    // Our max (all the opener has) is above theirs: their fee is inside.
    assert.deepEqual(d, { kind: 'accept' });
    const low = decide(t, { fee: 60n, range: { min: 50n, max: 400n } }, undefined);
    assert.equal(low.kind, 'counter');
    const counter = (low as { fee: bigint }).fee;
    assert.ok(counter >= ourProposal(t).range.min && counter <= 400n);
    assert.deepEqual(decide(t, { fee: counter, range: { min: 50n, max: 400n } }, counter), { kind: 'accept' });
    assert.equal(decide(t, { fee: 60n, range: { min: 50n, max: 400n } }, counter).kind, 'fail');
  });

  it('ranges without overlap: disagree (and wait), not fail; a fee outside its own range fails', () => {
    assert.equal(decide(terms(), { fee: 20_000n, range: { min: 20_000n, max: 30_000n } }, 171n).kind, 'disagree');
    assert.equal(decide(terms(), { fee: 10n, range: { min: 20n, max: 30n } }, 171n).kind, 'fail');
  });

  it('a legacy proposal (no fee_range) inside our range is accepted, otherwise countered between ours and theirs', () => {
    const t = terms();
    const { fee, range } = ourProposal(t);
    assert.deepEqual(decide(t, { fee: range.max }, fee), { kind: 'accept' });
    const c = decide(t, { fee: range.max * 2n }, fee);
    assert.equal(c.kind, 'counter');
    assert.ok((c as { fee: bigint }).fee > fee && (c as { fee: bigint }).fee < range.max * 2n);
  });
});
