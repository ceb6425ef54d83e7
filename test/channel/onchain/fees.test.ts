/** The sweeper's fee decisions: grouping by deadline, the confirmation target, the linear fee function and when it bumps. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { bumpTo, feeFunction, feerateAt, groupByDeadline, NO_DEADLINE_TARGET, targetBlocks } from '../../../src/channel/onchain/fees.js';
import type { OnchainOutput } from '../../../src/channel/state.js';

const out = (vout: number, deadline?: number): OnchainOutput => ({ vout, what: 'x', amountSat: 10_000n, notBefore: 0, ...(deadline !== undefined ? { deadline } : {}) });

describe('sweep fees', () => {
  test('groups by deadline, earliest first; outputs without one ride with the earliest group', () => {
    const g = groupByDeadline([out(0, 20), out(1), out(2, 10), out(3, 20)]);
    assert.deepEqual(g.map((x) => [x.deadline, x.outputs.map((o) => o.vout)]), [[10, [2, 1]], [20, [0, 3]]]);
    assert.deepEqual(groupByDeadline([out(4), out(5)]).map((x) => [x.deadline, x.outputs.map((o) => o.vout)]), [[undefined, [4, 5]]]);
    assert.deepEqual(groupByDeadline([]), []);
  });

  test('the output of a cheater’s second-stage HTLC transaction joins the earliest (penalty) group, else forms its own with its deadline', () => {
    const second = (vout: number, deadline: number): OnchainOutput => ({ ...out(vout, deadline), what: 'htlc_second_stage_revoked' });
    assert.deepEqual(groupByDeadline([out(0, 20), second(1, 30), out(2)]).map((x) => [x.deadline, x.outputs.map((o) => o.vout)]), [[20, [0, 1, 2]]]);
    assert.deepEqual(groupByDeadline([second(1, 30), second(3, 25)]).map((x) => [x.deadline, x.outputs.map((o) => o.vout)]), [[25, [1, 3]]]);
  });

  test('the target is the blocks left before the deadline (at least one), else the normal target', () => {
    assert.equal(targetBlocks(100, 110), 9);
    assert.equal(targetBlocks(100, 101), 1);
    assert.equal(targetBlocks(100, 90), 1);
    assert.equal(targetBlocks(100, undefined), NO_DEADLINE_TARGET);
  });

  test('the fee function starts at the estimate (never under the relay floor) and reaches half the value one block before the deadline', () => {
    const f = feeFunction(100, 110, 2000n, 1_000_000n, 1000);
    assert.equal(f.maxPerKw, 500_000n);
    assert.equal(feerateAt(f, 100), 2000n);
    assert.equal(feerateAt(f, 109), 500_000n);
    assert.equal(feerateAt(f, 120), 500_000n);
    assert.equal(feeFunction(100, 110, 1n, 1_000_000n, 1000).startPerKw, 253n);
    // A budget below the estimate: the estimate it is.
    assert.equal(feeFunction(100, 110, 2000n, 1000n, 1000).maxPerKw, 2000n);
  });

  test('feerates never fall as blocks pass; a bump is due only one sat/vbyte above what is paid', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 200 }), fc.bigInt({ min: 0n, max: 100_000n }), fc.bigInt({ min: 1000n, max: 10_000_000n }), fc.integer({ min: 300, max: 100_000 }), (from, len, est, value, weight) => {
        const f = feeFunction(from, from + len, est, value, weight);
        let last = 0n;
        for (let h = from - 2; h <= from + len + 2; h++) {
          const r = feerateAt(f, h);
          assert.ok(r >= last && r >= f.startPerKw && r <= f.maxPerKw);
          last = r;
          const b = bumpTo(f, r, h);
          assert.equal(b, null, 'what the function asks for is already paid');
          const under = bumpTo(f, r - 250n, h);
          assert.equal(under, r);
        }
      }),
    );
  });
});
