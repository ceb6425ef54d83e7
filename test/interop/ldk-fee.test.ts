/**
 * update_fee both ways against real LDK on btcd regtest (issue 13 item 4). LDK's fee estimator is the
 * test's (`setFeerate`); anode's estimate is its wallet's, replaced here by hand on the in-process node.
 *  - anode opened the channel: its estimate rises, the next block makes it send update_fee, and LDK
 *    applies it (LDK's own view of the channel's feerate);
 *  - LDK opened the channel: it raises its feerate to 50 000 sat/kw — under anode's old fixed cap
 *    (100 000) but five times what anode now accepts (its estimate, 1000 sat/kw, times
 *    --max-fee-multiplier 10): anode fails the channel cleanly — its commitment in btcd's mempool, the
 *    failure persisted, later blocks processed (the spend seen, the other channel still followed), and
 *    `stop` completes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, type TestNode } from '../harness/daemon.js';
import { startWithAnode } from './with-anode.js';
import { until, withTimeout } from '../harness/wait.js';
import type { Channel } from '../../src/channel/channel.js';

const gate = interopGate('ldk', 'anode ↔ ldk update_fee', ldkUnavailableReason());
const btcd = useBtcd('anode ↔ ldk update_fee');
const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

describe('update_fee both ways, anode ↔ ldk on btcd', { skip: gate.skip || btcd.skip, timeout: 240_000 }, () => {
  let ldk: LdkPeer;
  let anode: TestNode | undefined;
  let toLdk: Channel;

  before(async () => {
    gate.require();
    ldk = new LdkPeer({ seed: Buffer.alloc(32, 0x6e), log: verbose ? (l: string) => process.stderr.write(`[ldk] ${l}\n`) : undefined });
    anode = await startWithAnode(ldk, btcd.node);
  });
  after(async () => {
    await anode?.stop();
    await ldk?.stop();
  });

  const follow = async (): Promise<void> => {
    await ldk.channels.followChain();
    await anode!.channels.syncChain();
  };
  const ldkFeerate = async (id: string): Promise<number | undefined> => (await ldk.channels.list()).find((c) => c.channelId === id)?.feeratePerKw;
  /** anode's fee estimate (the backend's, as the wallet reads it), sat/kw. */
  const setAnodeEstimate = (satPerKw: number): void => {
    (anode!.node.wallet! as { estimateFeerate: (f?: unknown) => Promise<number | null> }).estimateFeerate = async () => satPerKw;
  };

  it("anode's estimate rises: anode sends update_fee on the channel it opened, LDK applies it", async () => {
    const a = anode!;
    await fundWallet(btcd.node, a, 1_000_000n);
    await ldk.channels.followChain();
    const r = await a.channels.fundChannel({ peerId: ldk.nodeId.toString('hex'), amountSat: 600_000n, feeratePerKw: 1000 });
    toLdk = a.channels.get(r.channelId)!;
    await btcd.node.mineUntil(async () => toLdk.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === r.channelId && c.state === 'usable'), 'both sides usable', { maxBlocks: 6, settleMs: 500, follow });
    // An estimate at the channel's feerate: blocks change nothing.
    setAnodeEstimate(1000);
    await btcd.node.generate(1);
    await follow();
    assert.equal(toLdk.data.remoteCommit.spec.feeratePerKw, 1000n);
    assert.equal(await ldkFeerate(r.channelId), 1000);

    setAnodeEstimate(5000);
    await btcd.node.generate(1);
    await follow();
    await until(() => toLdk.data.localCommit.spec.feeratePerKw === 5000n && toLdk.data.remoteCommit.spec.feeratePerKw === 5000n, { what: "anode's commitments at 5000 sat/kw", timeoutMs: 15_000 });
    await until(async () => (await ldkFeerate(r.channelId)) === 5000, { what: 'LDK applied the update_fee', timeoutMs: 10_000 });
    assert.ok(toLdk.usable, 'the channel is still usable');
  });

  it('LDK sends update_fee far above what anode accepts: anode fails the channel cleanly', async () => {
    const a = anode!;
    setAnodeEstimate(1000);
    const opened = await ldk.channels.open({ nodeId: a.node.nodeId, amountSat: 800_000n, pushMsat: 200_000_000n });
    const fromLdk = await until(() => a.channels.get(opened.channelId), 'anode has the channel');
    await btcd.node.mineUntil(async () => fromLdk.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === opened.channelId && c.state === 'usable'), 'both sides usable', { maxBlocks: 6, settleMs: 500, follow });
    const commitment = fromLdk.data.localCommit.txid;

    await ldk.channels.updateFee(opened.channelId, 50_000);
    await until(() => fromLdk.data.state === 'AWAITING_UNILATERAL', { what: 'anode fails the channel', timeoutMs: 15_000 });
    assert.match(fromLdk.data.failure ?? '', /update_fee: feerate 50000 sat\/kw above our maximum 10000/);
    // Its commitment, the last both sides signed, is in btcd's mempool.
    await until(async () => (await btcd.node.getRawMempool()).includes(commitment), { what: "anode's commitment in the mempool", timeoutMs: 15_000 });

    // Later blocks: the spend is seen, the other channel is followed, the chain height advances.
    await btcd.node.mineUntil(() => fromLdk.data.onchain?.spendTxid === commitment, 'the commitment confirmed and seen', { maxBlocks: 3, settleMs: 5000, follow: () => a.channels.syncChain() });
    const height = a.channels.blockHeight;
    await btcd.node.generate(1);
    await a.channels.syncChain();
    await until(() => a.channels.blockHeight > height, 'anode processes the block after');
    assert.equal(toLdk.data.state, 'CHANNELD_NORMAL', 'the other channel is untouched');

    await withTimeout(a.stop(), 15_000, 'anode stops');
    anode = undefined;
  });
});
