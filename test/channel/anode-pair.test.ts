/**
 * anode ↔ anode channels end to end: two full nodes (SQLite files, TCP, btcd regtest). Open, payments
 * both ways with HTLCs fulfilled and failed, update_fee, cooperative close mined in btcd, and a force
 * close whose delayed output comes back to the wallet.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { Transaction } from '@scure/btc-signer';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, walletBalance, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { onlyChannel } from './nodes.js';
import { backendSkip, backendSuffix, walletArgs } from '../harness/backend.js';

const btcd = useBtcd('anode ↔ anode channels');

const preimage = (n: number): Buffer => Buffer.alloc(32, n);
const hashOf = (p: Buffer): Buffer => createHash('sha256').update(p).digest();

describe(`anode ↔ anode channel${backendSuffix()}`, { skip: btcd.skip || backendSkip(), timeout: 180_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    if (btcd.skip || backendSkip()) return;
    // Both hold incoming HTLCs for the test to settle by hand (the all-zero onions would be failed back).
    a = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs', ...(await walletArgs('a'))] });
    b = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs', ...(await walletArgs('b'))] });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('opens, pays both ways, updates the fee and closes cooperatively', async () => {
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    const opened = await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, pushMsat: 10_000_000n, feeratePerKw: 1000 });
    assert.equal(opened.outnum, 0);
    assert.ok((await btcd.node.getRawMempool()).includes(opened.txid), 'the funding transaction is in the mempool');
    await until(() => b.channels.list().length === 1, { what: 'B knows the channel', timeoutMs: 30_000 });
    assert.equal(onlyChannel(a).data.state, 'CHANNELD_AWAITING_LOCKIN');
    await btcd.node.mineUntil(() => onlyChannel(a).data.state === 'CHANNELD_NORMAL' && onlyChannel(b).data.state === 'CHANNELD_NORMAL', 'both NORMAL');
    const ca = onlyChannel(a);
    const cb = onlyChannel(b);
    assert.equal(ca.id, opened.channelId);
    // getinfo and listpeers count it as CLN does.
    for (const [n, other] of [[a, b], [b, a]] as const) {
      const info = (await rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), 'getinfo')).result!;
      assert.deepEqual([info.num_pending_channels, info.num_active_channels, info.num_inactive_channels], [0, 1, 0]);
      const peers = (await rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), 'listpeers')).result!.peers as { id: string; num_channels: number }[];
      assert.deepEqual(peers.map((p) => [p.id, p.num_channels]), [[other.id, 1]]);
      const listed = (await rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), 'listpeerchannels')).result!.channels as { state: string; channel_id: string; short_channel_id: string }[];
      assert.deepEqual(listed.map((c) => [c.state, c.channel_id, c.short_channel_id]), [['CHANNELD_NORMAL', ca.id, ca.data.shortChannelId]]);
    }
    assert.equal(ca.data.shortChannelId, cb.data.shortChannelId);

    // A → B, fulfilled
    const atB: bigint[] = [];
    cb.on('htlcReceived', (h) => atB.push(h.id));
    const settledA: { id: bigint; preimage?: Buffer; failure?: Buffer }[] = [];
    ca.on('htlcSettled', (s) => settledA.push(s));
    const h1 = await ca.addHtlc({ amountMsat: 100_000_000n, paymentHash: hashOf(preimage(1)), cltvExpiry: 1000 });
    await until(() => atB.includes(h1), { what: 'B has the HTLC', timeoutMs: 30_000 });
    await cb.fulfillHtlc(h1, preimage(1));
    await until(() => settledA.some((s) => s.id === h1 && s.preimage), { what: 'A has the preimage', timeoutMs: 30_000 });
    // B → A, failed
    const atA: bigint[] = [];
    ca.on('htlcReceived', (h) => atA.push(h.id));
    const settledB: { id: bigint; failure?: Buffer }[] = [];
    cb.on('htlcSettled', (s) => settledB.push(s));
    const h2 = await cb.addHtlc({ amountMsat: 30_000_000n, paymentHash: hashOf(preimage(2)), cltvExpiry: 1000 });
    await until(() => atA.includes(h2), { what: 'A has the HTLC', timeoutMs: 30_000 });
    await ca.failHtlc(h2, Buffer.from('no thanks'));
    await until(() => settledB.some((s) => s.id === h2 && s.failure), { what: 'B sees the failure', timeoutMs: 30_000 });
    // update_fee by the opener
    await ca.updateFee(2000n);
    await until(() => ca.feeratePerKw === 2000n && cb.feeratePerKw === 2000n, { what: 'fee updated on both sides', timeoutMs: 30_000 });
    await ca.idle();
    await cb.idle();
    assert.equal(ca.data.localCommit.spec.toLocalMsat, 1_000_000_000n - 10_000_000n - 100_000_000n);
    assert.equal(cb.data.localCommit.spec.toLocalMsat, 110_000_000n);

    const balanceB = await walletBalance(b);
    const closing = a.channels.close(ca, 60);
    const r = await closing;
    assert.equal(r.type, 'mutual');
    await btcd.node.mineUntil(() => ca.data.state === 'ONCHAIN' && cb.data.state === 'ONCHAIN', 'closed on chain');
    // option_simple_close: each side proposed its own transaction, paying its own fee. B gets its whole
    // balance from A's, its balance less the fee it chose from its own.
    const mined = await btcd.node.minedAt(ca.data.onchain!.spendTxid, ca.data.onchain!.height);
    const tx = Transaction.fromRaw(mined!.raw, { allowUnknownOutputs: true });
    const toB = Array.from({ length: tx.outputsLength }, (_, i) => tx.getOutput(i)).find((o) => Buffer.from(o.script!).equals(cb.data.closing!.localScript!))!.amount!;
    assert.ok([110_000n, 110_000n - cb.data.closing!.simple!.lastFeeSat!].includes(toB), `B's output ${toB} sat`);
    await until(async () => (await walletBalance(b)) === balanceB + toB, { what: 'B’s side of the close reached its wallet', timeoutMs: 30_000 });
  });

  it('a force close returns the delayed to_local to the wallet after to_self_delay', async () => {
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port).catch(() => undefined);
    const opened = await a.channels.fundChannel({ peerId: b.id, amountSat: 500_000n, pushMsat: 200_000_000n, feeratePerKw: 1000 });
    const ca = a.channels.get(opened.channelId)!;
    await until(() => b.channels.get(opened.channelId) !== undefined, { what: 'B knows it', timeoutMs: 30_000 });
    const cb = b.channels.get(opened.channelId)!;
    await btcd.node.mineUntil(() => ca.data.state === 'CHANNELD_NORMAL' && cb.data.state === 'CHANNELD_NORMAL', 'both NORMAL');
    const before = await walletBalance(a);
    // B closes unilaterally at once (timeout while A is unreachable).
    await b.node.peers.disconnect(Buffer.from(a.id, 'hex')).catch(() => undefined);
    const r = await b.channels.close(cb, 1);
    assert.equal(r.type, 'unilateral');
    // A (the opener, whose funds are in B's commitment as to_remote) sweeps at once; B waits 6 blocks.
    await btcd.node.mineUntil(async () => (await walletBalance(a)) > before, 'A swept its to_remote', { maxBlocks: 10 });
    const bBefore = await walletBalance(b);
    await btcd.node.mineUntil(() => cb.data.onchain?.sweeps.some((s) => s.confirmedAt !== undefined) ?? false, 'B swept its delayed to_local', { maxBlocks: 15 });
    assert.ok(cb.data.onchain!.sweeps[0]!.confirmedAt! - cb.data.onchain!.height >= 6, 'not before to_self_delay');
    await until(async () => (await walletBalance(b)) > bBefore + 190_000n, { what: 'B’s delayed funds reached its wallet', timeoutMs: 30_000 });
  });
});
