/**
 * A node catching up on blocks does not pay its sweeps' budgets (issue 14's money-safety gaps): a
 * revoked commitment confirmed while the node was off is seen on an old block; no penalty is built or
 * bumped on the blocks behind the backend's best one, so its fee function starts at the tip — at the
 * backend's estimate — instead of climbing toward half the value swept with each old block replayed.
 * Two real Channel engines; the sweeper (onchain/sweeper-harness.ts) on a backend whose best height is
 * set by the test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { feerateAt } from '../../src/channel/onchain/fees.js';
import { decodeChannelData } from '../../src/channel/state.js';
import { revokedWithHtlc, sweeperOf, txOf } from './onchain/sweeper-harness.js';

const H = 700;
const ESTIMATE = 1000n;

describe('sweeps while the node catches up', () => {
  it('a penalty seen on an old block is first built at the tip, at the estimate; its fee function counts from there', async () => {
    // B cheats: its commitment holding an HTLC, revoked since.
    const { p, cheat } = await revokedWithHtlc('b', 7);
    let best = H + 3;
    const { mine, published } = sweeperOf(p.a, 1, { estimate: ESTIMATE, revoked: p.a.revoked, best: () => best });
    const oc = () => decodeChannelData(p.a.persisted).onchain!;

    // The commitment at H, seen while the backend is at H + 3: planned and written, nothing built.
    await mine(H, txOf(cheat.hex));
    assert.equal(oc().kind, 'revoked');
    const deadline = oc().outputs!.find((o) => o.deadline !== undefined)!.deadline!;
    assert.ok(deadline > best + 1, `the penalty's deadline ${deadline} is still ahead of the tip`);
    await mine(H + 1);
    await mine(H + 2);
    assert.deepEqual([oc().sweeps.length, published.length], [0, 0], 'no sweep built or published on the blocks behind the tip');

    // At the tip: the penalty at the estimate, its fee function from the tip to the deadline.
    await mine(H + 3);
    const [penalty, ...more] = oc().sweeps;
    assert.equal(more.length, 0);
    assert.equal(penalty!.feeratePerKw, ESTIMATE);
    assert.deepEqual([penalty!.fee?.from, penalty!.fee?.deadline], [H + 3, deadline]);
    assert.deepEqual(published, [penalty!.txid]);
    // One block later (at the tip again): the function's first step, not a jump to its budget.
    best = H + 4;
    await mine(H + 4);
    const bumped = oc().sweeps.at(-1)!;
    assert.equal(bumped.feeratePerKw, feerateAt(penalty!.fee!, H + 4));
    assert.ok(bumped.feeratePerKw! < penalty!.fee!.maxPerKw, 'below the budget before the block ahead of the deadline');
  });
});
