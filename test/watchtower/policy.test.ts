/** Session policy: LND's defaults, Validate (in its order), TxPolicy equality, feature bits. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultPolicy,
  DEFAULT_REWARD_RATE,
  MIN_SWEEP_FEE_RATE_SAT_PER_KW,
  PolicyError,
  policyFeatureBits,
  policyString,
  sweepSatPerVbyte,
  txPolicyEqual,
  txPolicyOf,
  validatePolicy,
  type Policy,
} from '../../src/watchtower/policy.js';
import { assertCode } from './helpers.js';

describe('session policy (§2.2)', () => {
  it('LND defaults: legacy altruist, 1024 updates, 2500 sat/kW (10 sat/vB)', () => {
    const p = defaultPolicy();
    assert.deepEqual(p, { blobType: 0x02, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n, maxUpdates: 1024 });
    assert.equal(sweepSatPerVbyte(p), 10);
    assert.equal(DEFAULT_REWARD_RATE, 10000);
    assert.equal(MIN_SWEEP_FEE_RATE_SAT_PER_KW, 1000n);
    validatePolicy(p);
    assert.equal(policyString(p), '(blob-type=10 max-updates=1024 reward-rate=0 sweep-fee-rate=2500)');
  });
  it('Validate, in LND’s order', () => {
    const p = defaultPolicy();
    assertCode(() => validatePolicy({ ...p, rewardRate: 1, maxUpdates: 0, sweepFeeRateSatPerKw: 1n }), PolicyError, 'ALTRUIST_REWARD');
    assertCode(() => validatePolicy({ ...p, rewardBase: 1 }), PolicyError, 'ALTRUIST_REWARD');
    assertCode(() => validatePolicy({ ...p, maxUpdates: 0, sweepFeeRateSatPerKw: 1n }), PolicyError, 'NO_MAX_UPDATES');
    assertCode(() => validatePolicy({ ...p, sweepFeeRateSatPerKw: 999n }), PolicyError, 'SWEEP_FEE_RATE_TOO_LOW');
    validatePolicy({ ...p, sweepFeeRateSatPerKw: 1000n, maxUpdates: 1 });
    validatePolicy({ ...p, blobType: 0x03, rewardBase: 1, rewardRate: 10000 });
  });
  it('TxPolicy equality ignores MaxUpdates only', () => {
    const a: Policy = defaultPolicy();
    const b: Policy = { ...a, maxUpdates: 1 };
    assert.ok(txPolicyEqual(a, b));
    for (const d of [{ blobType: 0x06 }, { rewardBase: 1 }, { rewardRate: 1 }, { sweepFeeRateSatPerKw: 2501n }]) {
      assert.ok(!txPolicyEqual(a, { ...a, ...d }), JSON.stringify(d, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
    }
    assert.deepEqual(txPolicyOf(a), { blobType: 0x02, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n });
  });
  it('feature bits per blob type (LND Policy.FeatureBits)', () => {
    const bits = (blobType: number): number[] => policyFeatureBits({ ...txPolicyOf(defaultPolicy()), blobType });
    assert.deepEqual(bits(0x02), [0]);
    assert.deepEqual(bits(0x03), [0]);
    assert.deepEqual(bits(0x06), [0, 2]);
    assert.deepEqual(bits(0x0a), [0, 4]);
    assert.deepEqual(bits(0x1a), [0, 4]);
  });
});
