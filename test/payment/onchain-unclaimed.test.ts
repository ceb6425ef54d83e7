/**
 * A payment whose HTLC output is not worth claiming on chain concludes (issue 14), two whole anodes on
 * btcd regtest: A pays B's invoice of 700 sat (and 123 msat) over an anchors channel; B never settles it
 * (`--dev-hold-htlcs`) and goes on chain with its commitment. On it, A's HTLC output (700 sat) is worth
 * less than the fee of A's direct timeout claim plus a non-dust output, so A's sweeper abandons it. The
 * part fails once B's commitment is ONCHAIN_FINAL_DEPTH deep and the HTLC's expiry has passed (the block
 * the timeout claim was due in) — not a block before — and the payment (and A's `pay` call) ends failed
 * instead of pending forever.
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

const btcd = useBtcd('a payment whose HTLC output is not worth claiming on chain');

describe('HTLC output not worth claiming on chain: the payment fails once expired', { skip: btcd.skip, timeout: 240_000 }, () => {
  const { running } = daemons('anode-onchain-unclaimed-logs-');

  it('the abandoned HTLC fails once the commitment is 6 deep and its expiry passed; the pay call ends', async (t) => {
    const a = await startNode(btcd.node);
    const b = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs'] });
    running.push(a, b);
    await openChannel(btcd.node, a, b, { format: 'anchors_zero_fee_htlc_tx', capacitySat: 1_000_000n, pushMsat: 0n });
    const rpc = (dir: string, method: string, params: Record<string, unknown> = {}) => rpcCall(join(dir, 'regtest', 'lightning-rpc'), method, params);
    const inv = (await rpc(b.dir, 'invoice', { amount_msat: 700_123, label: 'small', description: 'held, then on chain' })).result as { bolt11: string; payment_hash: string };
    const paying = slowCall(a.dir, 'pay', { bolt11: inv.bolt11 }, 200_000);
    await until(() => onlyChannel(a).data.localCommit.spec.htlcs.length === 1 && onlyChannel(b).data.localCommit.spec.htlcs.length === 1, { what: 'the HTLC on both commitments', timeoutMs: 30_000 });
    await onlyChannel(a).idle();
    await onlyChannel(b).idle();
    const expiry = onlyChannel(a).data.localCommit.spec.htlcs[0]!.add.cltvExpiry;
    const status = async (): Promise<string | undefined> => ((await rpc(a.dir, 'listpays', { payment_hash: inv.payment_hash })).result as { pays: { status: string }[] }).pays[0]?.status;

    // B goes on chain with its commitment (published before it tells A).
    await onlyChannel(b).fail('test: B goes on chain while holding the HTLC');
    let decidedAt: number | undefined;
    for (let i = 0; i < 60 && (await status()) === 'pending'; i++) {
      await btcd.node.generate(1);
      const h = await btcd.node.getBlockCount();
      await until(() => a.channels.blockHeight >= h, { what: `A applied block ${h}`, timeoutMs: 30_000 });
      const oc = onlyChannel(a).data.onchain;
      if (oc) assert.equal(oc.kind, 'remote', 'B’s commitment confirmed');
      const htlc = oc?.outputs?.find((o) => o.what === 'htlc_timeout_remote');
      if (oc && htlc?.abandoned !== undefined) {
        // Its timeout claim was due in the block after the expiry: that, and the commitment final.
        decidedAt ??= Math.max(oc.height + ONCHAIN_FINAL_DEPTH - 1, expiry + 1);
        if (h < decidedAt) assert.equal(await status(), 'pending', `still pending at ${h} (decided at ${decidedAt})`);
        else await until(async () => (await status()) === 'failed', { what: `the payment failed at ${h}`, timeoutMs: 10_000 });
      } else assert.equal(await status(), 'pending', `pending while the HTLC output is not abandoned (${h})`);
    }
    assert.ok(decidedAt !== undefined, 'A abandoned the HTLC output (worth less than its claim)');
    assert.ok(decidedAt > expiry, `decided (at ${decidedAt}) after the expiry ${expiry}`);
    assert.equal(await status(), 'failed');
    const answer = await paying;
    assert.ok(answer.error, 'pay returns an error');
    const parts = ((await rpc(a.dir, 'listsendpays', { payment_hash: inv.payment_hash })).result as { payments: { status: string }[] }).payments;
    assert.deepEqual(parts.map((p) => p.status), ['failed']);
    t.diagnostic(`B's commitment at ${onlyChannel(a).data.onchain!.height}, HTLC expiry ${expiry}, failed at ${decidedAt}`);
  });
});
