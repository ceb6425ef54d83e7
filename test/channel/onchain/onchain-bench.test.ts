/** Smoke test of the on-chain benchmark (bench/onchain.ts): one round of each case, its counts and feerates. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchOnchain } from '../../../bench/onchain.js';

test('on-chain bench: 400 HTLC transactions (local) or one sweep (remote), three writes each, the remote sweep at the estimate', { timeout: 60_000 }, async () => {
  const [local, remote] = await benchOnchain({ rounds: 1 });
  assert.equal(local!.case, 'local');
  assert.equal(local!.published, 400);
  assert.equal(local!.writes, 3);
  assert.equal(remote!.published, 1);
  assert.equal(remote!.writes, 3);
  // Fees are computed over an upper bound of the weight: what is paid is at least the estimate, within 1%.
  assert.ok(remote!.paidPerKw[0] >= remote!.estimatePerKw && remote!.paidPerKw[0] <= remote!.estimatePerKw * 1.01, `paid ${remote!.paidPerKw[0]}`);
});
