/**
 * The forwarding-policy repository (migration 0012) on SQLite and PostgreSQL: a policy written comes
 * back exactly after a reopen (u64 msat limits, the previous fee and its expiry, the flag), a second
 * write replaces the first, several channels go in one call, and a removed one is gone.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import type { StoredPolicy } from '../../src/store/policies.js';
import { forEachBackend } from '../store/backends.js';

const U64_MAX = (1n << 64n) - 1n;

const policy = (id: number, over: Partial<StoredPolicy> = {}): StoredPolicy => ({
  channelId: id.toString(16).padStart(64, '0'),
  feeBaseMsat: 1000,
  feeProportionalMillionths: 10,
  cltvExpiryDelta: 34,
  htlcMinimumMsat: undefined,
  htlcMaximumMsat: undefined,
  ignoreFeeLimits: false,
  previous: undefined,
  updatedAt: 1_700_000_000,
  ...over,
});

forEachBackend('forwarding policies', ({ location }) => {
  it('a policy survives a reopen exactly: u32 fees, u64 limits, the previous fee and its expiry', async () => {
    const at = await location();
    const store = await openStore(at);
    const full = policy(1, {
      feeBaseMsat: 0xffff_ffff,
      feeProportionalMillionths: 0xffff_fffe,
      cltvExpiryDelta: 0xffff,
      htlcMinimumMsat: 1n,
      htlcMaximumMsat: U64_MAX,
      ignoreFeeLimits: true,
      previous: { feeBaseMsat: 7, feeProportionalMillionths: 8, cltvExpiryDelta: 9, until: 1_700_000_600 },
    });
    await store.policies.put([full, policy(2)]);
    await store.close();
    const again = await openStore(at);
    assert.deepEqual(await again.policies.list(), [full, policy(2)]);
    assert.deepEqual(await again.policies.get(full.channelId), full);
    assert.equal(await again.policies.get(policy(3).channelId), undefined);
    await again.close();
  });

  it('a second write replaces the first; remove deletes', async () => {
    const store = await openStore(await location());
    await store.policies.put([policy(1, { htlcMaximumMsat: 5n, previous: { feeBaseMsat: 1, feeProportionalMillionths: 2, cltvExpiryDelta: 3, until: 4 } })]);
    await store.policies.put([policy(1, { feeBaseMsat: 42 })]);
    assert.deepEqual(await store.policies.list(), [policy(1, { feeBaseMsat: 42 })]);
    await store.policies.remove(policy(1).channelId);
    assert.deepEqual(await store.policies.list(), []);
    await store.close();
  });
});
