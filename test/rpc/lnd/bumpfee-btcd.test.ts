/**
 * WalletKit.BumpFee and PendingSweeps over LND's REST gateway on btcd regtest: A force-closes a
 * static_remotekey channel with two in-process anode nodes; once the commitment confirms, B's sweep of
 * its to_remote output waits in btcd's mempool. PendingSweeps lists that outpoint with the sweep's fee
 * rate; BumpFee at a higher sat/vbyte replaces it (RBF): btcd's mempool holds the replacement, not the
 * original, and it pays the asked rate; the replacement confirms and B's wallet has it. A rate that is
 * not higher, or an outpoint nobody sweeps, is refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { parseTransaction } from '../../../src/chain/block.js';
import { useBtcd } from '../../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { onlyChannel } from '../../channel/nodes.js';
import { rest, type RestTarget } from './harness.js';

const btcd = useBtcd('WalletKit.BumpFee on btcd');

function target(n: TestNode): RestTarget {
  const h = n.node.lnd!;
  return { restPort: h.rest[0]!.port, cert: h.certPem, admin: readFileSync(h.adminMacaroonPath) };
}

describe('WalletKit.BumpFee over REST on btcd', { skip: btcd.skip, timeout: 300_000 }, () => {
  const running: TestNode[] = [];
  after(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
  });

  it('replaces a sweep in the mempool at the asked rate; PendingSweeps lists it; refusals', async () => {
    const a = await startNode(btcd.node);
    const b = await startNode(btcd.node);
    running.push(a, b);
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, pushMsat: 300_000_000n, feeratePerKw: 1000, format: 'static_remotekey' });
    await until(() => b.channels.list().length === 1, { what: 'B knows the channel', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => onlyChannel(a).data.state === 'CHANNELD_NORMAL' && onlyChannel(b).data.state === 'CHANNELD_NORMAL', 'NORMAL');
    const commitment = onlyChannel(a).localCommitmentTx();
    await onlyChannel(a).fail('test: force close');
    await until(async () => (await btcd.node.getRawMempool()).includes(commitment.txid), { what: 'commitment in the mempool', timeoutMs: 30_000 });
    await btcd.node.generate(1);
    // B's to_remote sweep, published once B applied the block.
    const sweepOf = (): { txid: string; feeratePerKw?: bigint; spends?: string[] } | undefined => onlyChannel(b).data.onchain?.sweeps.find((s) => s.dropped === undefined && s.confirmedAt === undefined && s.publishedAt !== undefined);
    await until(() => sweepOf() !== undefined, { what: 'B swept its to_remote', timeoutMs: 30_000 });
    const first = sweepOf()!;
    const outpoint = first.spends![0]!;
    const [txid, vout] = outpoint.split(':') as [string, string];
    assert.equal(txid, commitment.txid);
    assert.ok((await btcd.node.getRawMempool()).includes(first.txid), 'the sweep waits in the mempool');
    const tb = target(b);

    const pending = await rest(tb, 'GET', '/v2/wallet/sweeps/pending');
    assert.equal(pending.status, 200, JSON.stringify(pending.body));
    const listed = (pending.body as { pending_sweeps: { outpoint: { txid_str: string; output_index: number }; witness_type: string; amount_sat: number; sat_per_vbyte: string }[] }).pending_sweeps;
    const entry = listed.find((p) => p.outpoint.txid_str === txid && p.outpoint.output_index === Number(vout));
    assert.ok(entry, `PendingSweeps lists ${outpoint}: ${JSON.stringify(listed)}`);
    assert.equal(entry.witness_type, 'COMMITMENT_NO_DELAY_TWEAKLESS');
    assert.equal(entry.sat_per_vbyte, String(first.feeratePerKw! / 250n));

    // Not higher than what it pays: refused; an outpoint nobody sweeps: refused.
    const same = await rest(tb, 'POST', '/v2/wallet/bumpfee', { body: { outpoint: { txid_str: txid, output_index: Number(vout) }, sat_per_vbyte: String(first.feeratePerKw! / 250n) } });
    assert.notEqual(same.status, 200);
    const nobody = await rest(tb, 'POST', '/v2/wallet/bumpfee', { body: { outpoint: { txid_str: '11'.repeat(32), output_index: 0 }, sat_per_vbyte: '30' } });
    assert.notEqual(nobody.status, 200);

    const r = await rest(tb, 'POST', '/v2/wallet/bumpfee', { body: { outpoint: { txid_str: txid, output_index: Number(vout) }, sat_per_vbyte: '25', immediate: true } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const bumped = sweepOf()!;
    assert.notEqual(bumped.txid, first.txid, 'a replacement');
    assert.equal(bumped.feeratePerKw, 25n * 250n);
    const mempool = await btcd.node.getRawMempool();
    assert.ok(mempool.includes(bumped.txid), 'the replacement is in the mempool');
    assert.ok(!mempool.includes(first.txid), 'the original was replaced');
    // It pays the asked rate: fee over its virtual size.
    const tx = parseTransaction(await btcd.node.getRawTransaction(bumped.txid));
    const input = parseTransaction(Buffer.from(commitment.hex, 'hex')).outputs[Number(vout)]!.valueSat;
    const fee = input - tx.outputs.reduce((s, o) => s + o.valueSat, 0n);
    const raw = tx.raw.length;
    const stripped = raw - (tx.hasWitness ? 2 + 1 + 1 + 72 + 1 + 33 : 0);
    const vsize = BigInt(Math.ceil((stripped * 3 + raw) / 4));
    assert.ok(fee >= 24n * vsize && fee <= 26n * vsize, `fee ${fee} sat over ${vsize} vbytes`);

    await btcd.node.generate(1);
    await until(() => onlyChannel(b).data.onchain!.sweeps.some((s) => s.txid === bumped.txid && s.confirmedAt !== undefined), { what: 'the replacement confirmed', timeoutMs: 30_000 });
  });
});
