/**
 * The commitment feerate policy (fee-policy.ts), pure: the range of the opener's update_fee we accept
 * (our estimate times --max-fee-multiplier, never below 253 sat/kw), and when and where we move the
 * feerate of a channel we opened (hysteresis, minimum interval, anchor cap, the opener's balance).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChannelProtocolError } from '../../src/channel/errors.js';
import { acceptableFeerates, checkOpenerUpdateFee, DEFAULT_FEE_POLICY, feerateRefusal, MAX_FEERATE_PER_KW, maxAffordableFeerate, MIN_FEERATE_PER_KW, openerFeerateUpdate, type OpenerFeeInput } from '../../src/channel/fee-policy.js';
import { makePair } from './pair.js';

describe('the non-opener: which update_fee we accept', () => {
  test('up to the multiple of our estimate (CLN: 10×), never below the 253 sat/kw relay floor', () => {
    assert.deepEqual(acceptableFeerates(1000n, 10), { min: 253n, max: 10_000n });
    assert.deepEqual(acceptableFeerates(1000n, 3), { min: 253n, max: 3000n });
    // No estimate from the backend: not limited beyond affordability, as lightningd (refusing would force-close on a guess).
    assert.deepEqual(acceptableFeerates(null, 10), { min: 253n, max: MAX_FEERATE_PER_KW });
    // An estimate below the floor still lets the floor through.
    assert.deepEqual(acceptableFeerates(10n, 10), { min: MIN_FEERATE_PER_KW, max: MIN_FEERATE_PER_KW });
    const range = acceptableFeerates(12_501n, 10);
    // CLN's update_fee 125005 at an estimate of 500 sat/vB (125 000 sat/kw... here 12 501 × 10): refused only above the multiple.
    assert.equal(feerateRefusal(125_010n, range), null);
    assert.match(feerateRefusal(125_011n, range) ?? '', /feerate 125011 sat\/kw above our maximum 125010/);
    assert.match(feerateRefusal(252n, range) ?? '', /feerate 252 below 253 sat\/kw/);
    assert.equal(feerateRefusal(253n, range), null);
  });

  test('checkOpenerUpdateFee: the range, then the opener’s balance in our next commitment', () => {
    const p = makePair({ pushMsat: 100_000_000n });
    const b = p.b.channel.data; // B did not open: A's update_fee reaches B
    assert.doesNotThrow(() => checkOpenerUpdateFee(b, 9000n, acceptableFeerates(1000n, 10)));
    assert.throws(() => checkOpenerUpdateFee(b, 125_005n, acceptableFeerates(1000n, 10)), (e: unknown) => e instanceof ChannelProtocolError && /update_fee: feerate 125005 sat\/kw above our maximum 10000/.test(e.message));
    assert.throws(() => checkOpenerUpdateFee(b, 100n, acceptableFeerates(1000n, 10)), /update_fee: feerate 100 below 253/);
    // A has 10 000 sat: 724 weight at 20 000 sat/kw is 14 480 sat, more than it has.
    const poor = makePair({ pushMsat: 990_000_000n }).b.channel.data;
    assert.throws(() => checkOpenerUpdateFee(poor, 20_000n, acceptableFeerates(1_000_000n, 10)), /update_fee: the opener cannot afford feerate 20000/);
    assert.doesNotThrow(() => checkOpenerUpdateFee(poor, 13_000n, acceptableFeerates(1_000_000n, 10)));
  });
});

describe('the opener: when and where we move the feerate', () => {
  const at = (over: Partial<OpenerFeeInput>): bigint | null =>
    openerFeerateUpdate({ currentPerKw: 1000n, estimatePerKw: 1000n, anchors: false, affordablePerKw: 1_000_000n, now: 1_000_000_000, ...over });

  test('hysteresis: only a change of at least 10 %, up or down', () => {
    assert.equal(at({ estimatePerKw: 1000n }), null);
    assert.equal(at({ estimatePerKw: 1099n }), null);
    assert.equal(at({ estimatePerKw: 1100n }), 1100n);
    assert.equal(at({ estimatePerKw: 901n }), null);
    assert.equal(at({ estimatePerKw: 900n }), 900n);
    assert.equal(at({ estimatePerKw: 2505n }), 2505n);
  });

  test('minimum interval: at most one update per channel per 10 minutes', () => {
    const now = 1_000_000_000;
    assert.equal(at({ estimatePerKw: 5000n, lastUpdateAt: now - 60_000, now }), null);
    assert.equal(at({ estimatePerKw: 5000n, lastUpdateAt: now - DEFAULT_FEE_POLICY.minUpdateIntervalMs + 1, now }), null);
    assert.equal(at({ estimatePerKw: 5000n, lastUpdateAt: now - DEFAULT_FEE_POLICY.minUpdateIntervalMs, now }), 5000n);
    assert.equal(openerFeerateUpdate({ currentPerKw: 1000n, estimatePerKw: 5000n, anchors: false, affordablePerKw: 1_000_000n, lastUpdateAt: now - 1000, now }, { ...DEFAULT_FEE_POLICY, minUpdateIntervalMs: 0 }), 5000n);
  });

  test('floor: never below 253 sat/kw, and a channel under the floor is raised whatever the hysteresis', () => {
    assert.equal(at({ estimatePerKw: 100n, currentPerKw: 1000n }), 253n);
    assert.equal(at({ estimatePerKw: 100n, currentPerKw: 253n }), null);
    assert.equal(at({ estimatePerKw: 100n, currentPerKw: 250n }), 253n);
  });

  test('cap: anchor channels stay at most 2500 sat/kw (LND max-commit-fee-rate-anchors, 10 sat/vB)', () => {
    assert.equal(at({ estimatePerKw: 10_000n, anchors: true }), 2500n);
    assert.equal(at({ estimatePerKw: 10_000n, anchors: false }), 10_000n);
    assert.equal(at({ estimatePerKw: 10_000n, anchors: true, currentPerKw: 2500n }), null);
  });

  test('the funder’s balance: capped at what it affords, never lowered for want of it', () => {
    assert.equal(at({ estimatePerKw: 5000n, affordablePerKw: 3000n }), 3000n);
    assert.equal(at({ estimatePerKw: 5000n, affordablePerKw: 500n }), null);
    assert.equal(at({ estimatePerKw: 5000n, affordablePerKw: 1050n }), null);
  });

  test('maxAffordableFeerate: the commitment fee takes at most half of the opener’s balance', () => {
    // A opened with 10 000 sat left: half is 5000 sat; static_remotekey's commitment weighs 724 and its
    // fee rounds down (BOLT 3): 724 × 6907 / 1000 = 5000.7 → 5000 fits, 6908 → 5001 does not.
    const poor = makePair({ pushMsat: 990_000_000n });
    assert.equal(maxAffordableFeerate(poor.a.channel.data, 0.5), 6907n);
    // Anchors: 1124 weight and 2 × 330 sat of anchors: 1124 × 3862 / 1000 → 4340 = 5000 − 660.
    assert.equal(maxAffordableFeerate(makePair({ pushMsat: 990_000_000n, format: 'anchors_zero_fee_htlc_tx' }).a.channel.data, 0.5), 3862n);
    // All of it: 724 × 13 813 / 1000 → 10 000.
    assert.equal(maxAffordableFeerate(poor.a.channel.data, 1), 13_813n);
  });
});
