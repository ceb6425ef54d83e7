/**
 * A payment whose HTLC times out on chain concludes (issue 14's money-safety gaps), two whole anodes on
 * btcd regtest: A pays B's invoice; B never settles it (`--dev-hold-htlcs`), so at the HTLC's
 * cltv_expiry A's deadline takes the channel on chain and A's HTLC-timeout transaction confirms. The
 * part fails with a local failure once that transaction is ONCHAIN_FINAL_DEPTH deep — not a block before
 * — and the payment (and A's `pay` call) ends failed instead of pending forever.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ONCHAIN_FINAL_DEPTH } from '../../src/channel/onchain/outcomes.js';
import { useBtcd } from '../harness/btcd.js';
import { startNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { onlyChannel } from '../channel/nodes.js';
import { daemons, openChannel } from '../channel/onchain-sums.js';
import { slowCall } from './slow-rpc.js';

const btcd = useBtcd('a payment whose HTLC times out on chain');

describe('HTLC timed out on chain: the payment fails', { skip: btcd.skip, timeout: 240_000 }, () => {
  const { running } = daemons('anode-onchain-timeout-logs-');

  it('the part fails once our HTLC-timeout is 6 deep; the pay call ends', async () => {
    const a = await startNode(btcd.node);
    const b = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs'] });
    running.push(a, b);
    await openChannel(btcd.node, a, b, { format: 'static_remotekey', capacitySat: 1_000_000n, pushMsat: 0n });
    const rpc = (dir: string, method: string, params: Record<string, unknown> = {}) => rpcCall(join(dir, 'regtest', 'lightning-rpc'), method, params);
    const inv = (await rpc(b.dir, 'invoice', { amount_msat: 15_000_000, label: 'held', description: 'never settled' })).result as { bolt11: string; payment_hash: string };
    const paying = slowCall(a.dir, 'pay', { bolt11: inv.bolt11 }, 200_000);
    await until(() => onlyChannel(a).data.localCommit.spec.htlcs.length === 1, { what: 'the HTLC committed', timeoutMs: 30_000 });
    const expiry = onlyChannel(a).data.localCommit.spec.htlcs[0]!.add.cltvExpiry;
    const status = async (): Promise<string | undefined> => ((await rpc(a.dir, 'listpays', { payment_hash: inv.payment_hash })).result as { pays: { status: string }[] }).pays[0]?.status;

    // Block by block until the timeout's confirmation is final.
    let timedOutAt: number | undefined;
    for (let i = 0; i < 80 && (await status()) === 'pending'; i++) {
      await btcd.node.generate(1);
      const h = await btcd.node.getBlockCount();
      await until(() => a.channels.blockHeight >= h, { what: `A applied block ${h}`, timeoutMs: 30_000 });
      const timeout = onlyChannel(a).data.onchain?.outputs?.find((o) => o.what === 'htlc_timeout_tx')?.spentBy;
      if (timeout?.ours) timedOutAt ??= timeout.height;
      if (timedOutAt !== undefined && h < timedOutAt + ONCHAIN_FINAL_DEPTH - 1) assert.equal(await status(), 'pending', `still pending at ${h}, the timeout confirmed at ${timedOutAt}`);
    }
    assert.ok(timedOutAt !== undefined && timedOutAt > expiry, `our HTLC-timeout confirmed (at ${timedOutAt}) after the expiry ${expiry}`);
    await until(async () => (await status()) === 'failed', { what: 'the payment failed', timeoutMs: 10_000 });
    const answer = await paying;
    assert.ok(answer.error, 'pay returns an error');
    const parts = ((await rpc(a.dir, 'listsendpays', { payment_hash: inv.payment_hash })).result as { payments: { status: string }[] }).payments;
    assert.deepEqual(parts.map((p) => p.status), ['failed']);
  });
});
