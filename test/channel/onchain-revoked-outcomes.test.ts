/**
 * What became of our payments when the peer publishes a revoked commitment (issue 14), two whole anodes
 * on btcd regtest with an anchors channel: A pays B's invoice 1 (B holds it, `--dev-hold-htlcs`) and B
 * keeps a copy of its directory; A then pays invoice 2, so B revokes the commitment of the copy (holding
 * payment 1 only), both payments still pending. B comes back from the copy and publishes that revoked
 * commitment. A:
 * - names the revoked HTLC output it offered as lightningd does: `OUR_HTLC` (using `OUR_PENALTY_TX`) in
 *   listpeerchannels' status, not `THEIR_HTLC`;
 * - fails payment 2 (not in the revoked commitment) as soon as that commitment is ONCHAIN_FINAL_DEPTH
 *   deep, and payment 1 as soon as its own output's revocation claim is ONCHAIN_FINAL_DEPTH deep — each
 *   not a block before, nor after.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ONCHAIN_FINAL_DEPTH } from '../../src/channel/onchain/outcomes.js';
import { useBtcd } from '../harness/btcd.js';
import { startNode, tempDir } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { slowCall } from '../payment/slow-rpc.js';
import { onlyChannel } from './nodes.js';
import { daemons, openChannel } from './onchain-sums.js';

const btcd = useBtcd('payments on a revoked commitment');

describe('revoked commitment: each payment decided as soon as its own output is', { skip: btcd.skip, timeout: 300_000 }, () => {
  const { running } = daemons('anode-revoked-outcomes-logs-');

  it('OUR_HTLC in the status; the payment not in the commitment fails once it is final, the other once its penalty is', async (t) => {
    const hold = ['--developer', '--dev-hold-htlcs'];
    const a = await startNode(btcd.node);
    const b = await startNode(btcd.node, { extra: hold });
    running.push(a, b);
    await openChannel(btcd.node, a, b, { format: 'anchors_zero_fee_htlc_tx', capacitySat: 1_000_000n, pushMsat: 0n });
    const rpc = (dir: string, method: string, params: Record<string, unknown> = {}) => rpcCall(join(dir, 'regtest', 'lightning-rpc'), method, params);
    const invoice = async (label: string, msat: number) => (await rpc(b.dir, 'invoice', { amount_msat: msat, label, description: label })).result as { bolt11: string; payment_hash: string };
    const inv1 = await invoice('one', 50_000_123);
    const inv2 = await invoice('two', 20_000_000);
    const status = async (hash: string): Promise<string | undefined> => ((await rpc(a.dir, 'listpays', { payment_hash: hash })).result as { pays: { status: string }[] }).pays[0]?.status;

    const pay1 = slowCall(a.dir, 'pay', { bolt11: inv1.bolt11 }, 250_000);
    await until(() => onlyChannel(b).data.localCommit.spec.htlcs.length === 1 && onlyChannel(a).data.remoteCommit.spec.htlcs.length === 1, { what: 'payment 1 committed', timeoutMs: 30_000 });
    await onlyChannel(a).idle();
    await onlyChannel(b).idle();
    // B's copy: its commitment holds payment 1.
    await b.stop();
    const copy = tempDir('anode-cheater-');
    cpSync(b.dir, copy, { recursive: true });
    const b2 = await startNode(btcd.node, { extra: hold, dir: b.dir });
    running.push(b2);
    await a.node.peers.connect(Buffer.from(b2.id, 'hex'), '127.0.0.1', b2.port);
    await until(() => onlyChannel(a).usable && onlyChannel(b2).usable, { what: 'reestablished', timeoutMs: 30_000 });
    const revokedIndex = onlyChannel(b2).data.localCommit.index;
    // Payment 2: B revokes the copy's commitment; both payments stay pending.
    const pay2 = slowCall(a.dir, 'pay', { bolt11: inv2.bolt11 }, 250_000);
    await until(() => onlyChannel(b2).data.localCommit.spec.htlcs.length === 2 && onlyChannel(a).data.remoteCommit.index > revokedIndex && onlyChannel(a).data.remoteCommit.spec.htlcs.length === 2, { what: 'payment 2 committed', timeoutMs: 30_000 });
    await onlyChannel(a).idle();
    await onlyChannel(b2).idle();
    await b2.stop();

    // B from its copy publishes the revoked commitment (never connecting to A).
    const cheater = await startNode(btcd.node, { extra: [...hold, '--dev-no-reconnect'], dir: copy });
    running.push(cheater);
    assert.equal(onlyChannel(cheater).data.localCommit.index, revokedIndex);
    await onlyChannel(cheater).fail('test: publishing a revoked commitment');
    let revokedAt: number | undefined;
    let penaltyAt: number | undefined;
    let named = false;
    for (let i = 0; i < 20 && ((await status(inv1.payment_hash)) === 'pending' || (await status(inv2.payment_hash)) === 'pending'); i++) {
      await btcd.node.generate(1);
      const h = await btcd.node.getBlockCount();
      await until(() => a.channels.blockHeight >= h, { what: `A applied block ${h}`, timeoutMs: 30_000 });
      const oc = onlyChannel(a).data.onchain;
      if (!oc) continue;
      assert.equal(oc.kind, 'revoked');
      revokedAt ??= oc.height;
      const htlc = oc.outputs!.find((o) => o.what === 'htlc_revoked')!;
      assert.ok(htlc, 'the HTLC of payment 1 is an output of the revoked commitment');
      if (!htlc.spentBy) {
        // The next output to resolve is that HTLC's (with anchors A's to_remote waits a block more): lightningd's names.
        const lines = (await rpc(a.dir, 'listpeerchannels')).result as { channels: { status: string[] }[] };
        const last = lines.channels[0]!.status.at(-1)!;
        assert.match(last, /^ONCHAIN:\d+ outputs unresolved: (in \d+ blocks will spend|waiting confirmation that we spent) OUR_HTLC \([0-9a-f]{64}:\d+\) using OUR_PENALTY_TX$/, last);
        named = true;
      } else {
        assert.ok(htlc.spentBy.ours, 'taken by our penalty');
        penaltyAt ??= htlc.spentBy.height;
      }
      // Payment 2: decided when the commitment is final; payment 1: when its penalty is.
      const final2 = revokedAt + ONCHAIN_FINAL_DEPTH - 1;
      if (h < final2) assert.equal(await status(inv2.payment_hash), 'pending', `payment 2 pending at ${h}`);
      else await until(async () => (await status(inv2.payment_hash)) === 'failed', { what: `payment 2 failed at ${h} (commitment at ${revokedAt})`, timeoutMs: 10_000 });
      if (penaltyAt === undefined || h < penaltyAt + ONCHAIN_FINAL_DEPTH - 1) assert.equal(await status(inv1.payment_hash), 'pending', `payment 1 pending at ${h}`);
      else await until(async () => (await status(inv1.payment_hash)) === 'failed', { what: `payment 1 failed at ${h} (penalty at ${penaltyAt})`, timeoutMs: 10_000 });
    }
    assert.ok(named, 'the status named the HTLC output while it was open');
    assert.ok(revokedAt !== undefined && penaltyAt !== undefined, 'the revoked commitment and the penalty confirmed');
    assert.equal(await status(inv1.payment_hash), 'failed');
    assert.equal(await status(inv2.payment_hash), 'failed');
    for (const p of [await pay1, await pay2]) assert.ok(p.error, 'each pay call ends with an error');
    t.diagnostic(`revoked commitment at ${revokedAt}, penalty at ${penaltyAt}`);
  });
});
