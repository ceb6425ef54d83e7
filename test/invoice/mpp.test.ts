/**
 * The receiver's MPP set (BOLT 4 basic_mpp): parts held until total_msat, failed whole with mpp_timeout
 * after the timeout, failed on disagreeing totals; a property run checks that no sequence of parts
 * settles below total_msat and that every held part is in the final decision.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MppSet, MPP_TIMEOUT_MS } from '../../src/invoice/mpp.js';
import { FailureCode } from '../../src/onion/failure.js';

const UNKNOWN = FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS;

describe('MPP receive set', () => {
  it('holds parts until their sum reaches total_msat, then settles them all', () => {
    const set = new MppSet<string>(1000n);
    assert.deepEqual(set.add({ key: 'a', amountMsat: 400n, totalMsat: 1000n }, 0), { action: 'wait' });
    assert.deepEqual(set.add({ key: 'b', amountMsat: 500n, totalMsat: 1000n }, 10), { action: 'wait' });
    assert.deepEqual(set.add({ key: 'c', amountMsat: 200n, totalMsat: 1000n }, 20), { action: 'settle', parts: ['a', 'b', 'c'], receivedMsat: 1100n });
    assert.equal(set.closed, true);
    assert.deepEqual(set.add({ key: 'd', amountMsat: 1n, totalMsat: 1000n }, 30), { action: 'fail', parts: ['d'], failureCode: UNKNOWN });
  });

  it('fails the whole set with mpp_timeout after the timeout, counted from the first part', () => {
    const set = new MppSet<number>(undefined);
    set.add({ key: 1, amountMsat: 10n, totalMsat: 100n }, 1000);
    assert.deepEqual(set.tick(1000 + MPP_TIMEOUT_MS - 1), { action: 'wait' });
    assert.equal(set.deadline(), 1000 + MPP_TIMEOUT_MS);
    set.add({ key: 2, amountMsat: 10n, totalMsat: 100n }, 2000);
    assert.deepEqual(set.tick(1000 + MPP_TIMEOUT_MS), { action: 'fail', parts: [1, 2], failureCode: FailureCode.MPP_TIMEOUT });
    assert.deepEqual(set.tick(1000 + 2 * MPP_TIMEOUT_MS), { action: 'wait' }, 'failed once');
  });

  it('fails every part when total_msat disagrees, and a first part below (or over twice) the invoice amount alone', () => {
    const set = new MppSet<string>(undefined);
    set.add({ key: 'a', amountMsat: 10n, totalMsat: 100n }, 0);
    assert.deepEqual(set.add({ key: 'b', amountMsat: 10n, totalMsat: 101n }, 0), { action: 'fail', parts: ['a', 'b'], failureCode: UNKNOWN });
    const low = new MppSet<string>(1000n);
    assert.deepEqual(low.add({ key: 'x', amountMsat: 999n, totalMsat: 999n }, 0), { action: 'fail', parts: ['x'], failureCode: UNKNOWN });
    assert.deepEqual(low.add({ key: 'y', amountMsat: 10n, totalMsat: 2001n }, 0), { action: 'fail', parts: ['y'], failureCode: UNKNOWN });
    assert.equal(low.closed, false, 'a refused first part leaves the set open');
  });

  it('property: never settles below total_msat; every held part is settled or failed exactly once', () => {
    const part = fc.record({ amount: fc.bigInt({ min: 0n, max: 5000n }), total: fc.constantFrom(3000n, 3000n, 3000n, 2999n), at: fc.nat(2 * MPP_TIMEOUT_MS) });
    fc.assert(
      fc.property(fc.option(fc.bigInt({ min: 1n, max: 4000n }), { nil: undefined }), fc.array(part, { maxLength: 12 }), (invoice, parts) => {
        const set = new MppSet<number>(invoice);
        const held = new Map<number, bigint>();
        const decided = new Set<number>();
        let now = 0;
        parts.forEach((p, i) => {
          now += p.at % 1000;
          const d = set.add({ key: i, amountMsat: p.amount, totalMsat: p.total }, now);
          if (d.action === 'wait') held.set(i, p.amount);
          else {
            if (d.action === 'settle') {
              const sum = d.parts.reduce((s, k) => s + (k === i ? p.amount : held.get(k)!), 0n);
              assert.equal(sum, d.receivedMsat);
              assert.ok(sum >= p.total, 'settled below total_msat');
            }
            for (const k of d.parts) {
              assert.ok(!decided.has(k), 'a part decided twice');
              decided.add(k);
            }
            if (d.parts.length > 1 || d.action === 'settle') for (const k of held.keys()) assert.ok(decided.has(k), 'a held part left out');
          }
          const t = set.tick(now);
          if (t.action === 'fail') for (const k of t.parts) decided.add(k);
        });
      }),
      { numRuns: 500 },
    );
  });
});
