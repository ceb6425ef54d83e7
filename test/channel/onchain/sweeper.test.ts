/**
 * The sweeper over real Channel engines (test/channel/pair.ts) with a recording chain: every on-chain
 * step is in the persisted state before anything is published (a restart from it carries on), nothing
 * confirmed or dropped is published again, a penalty whose inputs a watchtower took is dropped and the
 * rest swept alone, and a penalty's fee rises by RBF as its deadline nears, as do a CPFP child's and our
 * anchors HTLC transactions'.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, test } from 'node:test';
import { parseTransaction, type BlockTransaction } from '../../../src/chain/block.js';
import type { SweeperContext } from '../../../src/channel/onchain/sweeper.js';
import { htlcTransactions, resolveFundingSpend, secondStageRevoked } from '../../../src/channel/onchain/resolver.js';
import { decodeChannelData, encodeChannelData, encodeRevocation, type ChannelData } from '../../../src/channel/state.js';
import { until } from '../../harness/wait.js';
import { makePair, normalPair, PAIR_WAIT, type Side } from '../pair.js';
import { revokedWithHtlc, sweeperOf, txOf } from './sweeper-harness.js';

const H = 700;
/** A transaction of someone else spending `outpoints` (only what the sweeper reads of it). */
const foreign = (tag: string, outpoints: { txid: string; vout: number }[]): BlockTransaction => ({
  txid: createHash('sha256').update(tag).digest('hex'),
  wtxid: createHash('sha256').update(tag).digest('hex'),
  inputs: outpoints,
  outputs: [],
  hasWitness: true,
  raw: new Uint8Array(),
});

describe('sweeper', () => {
  test('our commitment: the spend and its plan are written at once; after a restart the to_local is swept once, confirmed, never published again', async () => {
    const p = makePair();
    const w = sweeperOf(p.a, 1);
    const commitment = p.a.channel.localCommitmentTx();
    await w.mine(H, txOf(commitment.hex));
    // The bug of issue 12: the spend lived in memory only.
    const saved = w.persisted();
    assert.equal(saved.state, 'FUNDING_SPEND_SEEN');
    assert.equal(saved.onchain?.kind, 'local');
    assert.equal(saved.onchain?.spendTxid, commitment.txid);
    assert.deepEqual(saved.onchain?.outputs?.map((o) => [o.what, o.notBefore]), [['to_local_delayed', H + 6]]);
    assert.deepEqual(w.published, [], 'nothing to publish before the delay');

    // Killed here: a new engine and sweeper from what was written.
    const restarted = p.restart(p.a);
    const w2 = sweeperOf(p.a, 1);
    assert.equal(restarted.data.state, 'FUNDING_SPEND_SEEN');
    for (let h = H + 1; h < H + 5; h++) await w2.mine(h);
    assert.deepEqual(w2.published, [], 'not before the CSV delay');
    await w2.mine(H + 5);
    assert.equal(w2.published.length, 1, 'swept when the next block may confirm it');
    const sweep = w2.persisted().onchain!.sweeps[0]!;
    assert.equal(sweep.publishedAt, H + 5);
    await w2.mine(H + 6, txOf(sweep.hex));
    const after = w2.persisted();
    assert.equal(after.onchain!.sweeps[0]!.confirmedAt, H + 6);
    assert.deepEqual(after.onchain!.outputs![0]!.spentBy, { txid: sweep.txid, height: H + 6, ours: true });
    assert.equal(after.state, 'ONCHAIN');
    for (let h = H + 7; h < H + 110; h++) await w2.mine(h);
    assert.equal(w2.published.length, 1, 'a confirmed sweep is never published again');
    assert.equal(w2.persisted().state, 'CLOSED');
  });

  test('a state written before issue 12 (a pending list, no plan): the plan is rebuilt from it and the to_local swept', async () => {
    const p = makePair();
    const commitment = p.a.channel.localCommitmentTx();
    const old = decodeChannelData(p.a.persisted);
    old.state = 'FUNDING_SPEND_SEEN';
    old.onchain = { spendTxid: commitment.txid, kind: 'local', height: H, sweeps: [], pending: [{ what: 'to_local', notBefore: H + 6 }] };
    p.a.persisted = encodeChannelData(old);
    p.restart(p.a);
    const w = sweeperOf(p.a, 1);
    await w.mine(H + 1);
    const upgraded = w.persisted().onchain!;
    assert.deepEqual(upgraded.outputs?.map((o) => [o.what, o.notBefore]), [['to_local_delayed', H + 6]]);
    assert.deepEqual(upgraded.pending, []);
    for (let h = H + 2; h <= H + 5; h++) await w.mine(h);
    assert.equal(w.published.length, 1, 'swept once due');
  });

  test('a reorganisation that takes our sweep out of the chain: unconfirmed again (written), published again, resolved when it confirms again', async () => {
    const p = makePair();
    const w = sweeperOf(p.a, 1);
    await w.mine(H, txOf(p.a.channel.localCommitmentTx().hex));
    for (let h = H + 1; h <= H + 5; h++) await w.mine(h);
    const sweep = w.persisted().onchain!.sweeps[0]!;
    await w.mine(H + 6, txOf(sweep.hex));
    assert.equal(w.persisted().state, 'ONCHAIN');
    await w.sweeper.disconnected(H + 6);
    const undone = w.persisted();
    assert.equal(undone.state, 'FUNDING_SPEND_SEEN');
    assert.equal(undone.onchain!.sweeps[0]!.confirmedAt, undefined);
    assert.equal(undone.onchain!.outputs![0]!.spentBy, undefined);
    const before = w.published.length;
    await w.mine(H + 6);
    assert.deepEqual(w.published.slice(before), [sweep.txid], 'published again, and nothing new built');
    await w.mine(H + 7, txOf(sweep.hex));
    assert.equal(w.persisted().state, 'ONCHAIN');
    assert.equal(w.persisted().onchain!.sweeps.length, 1);
  });

  test('anchors: our commitment paying less than the estimate gets a child through its anchor and a wallet-funded input (written first, the package at the estimate); confirmed with the commitment, it is recorded as spending that input', async () => {
    const p = makePair({ format: 'anchors_zero_fee_htlc_tx' });
    // The wallet's transaction: one output of the requested amount (what the sweeper reads of it).
    const feeTxid = 'fe'.repeat(32);
    let broadcasts = 0;
    let asked: { amountSat: bigint } | undefined;
    const fund: SweeperContext['fundFeeInputs'] = async (outputs) => {
      asked = outputs[0];
      return { txid: feeTxid, hex: '00', broadcast: async () => void broadcasts++ };
    };
    const w = sweeperOf(p.a, 1, { estimate: 5000n, fundFeeInputs: fund });
    const low = sweeperOf(p.a, 1, { estimate: 1000n, fundFeeInputs: fund });
    await p.a.channel.fail('test: force close');
    assert.equal(w.persisted().state, 'AWAITING_UNILATERAL');
    const commitment = p.a.channel.localCommitmentTx();
    // At the commitment's own feerate: nothing to do.
    await low.mine(H);
    assert.equal(w.persisted().cpfp, undefined);
    await w.mine(H + 1);
    const cpfp = w.persisted().cpfp!;
    assert.ok(cpfp, 'a child was built and written');
    assert.equal(broadcasts, 1);
    assert.ok(w.published.includes(cpfp.child.txid), 'the child was published (after it was written)');
    const child = txOf(cpfp.child.hex);
    const c = txOf(commitment.hex);
    const anchorVout = c.outputs.findIndex((o) => o.valueSat === 330n && child.inputs.some((i) => i.txid === commitment.txid && i.vout === c.outputs.indexOf(o)));
    assert.ok(anchorVout >= 0, 'the child spends an anchor of our commitment');
    assert.deepEqual(child.inputs.map((i) => `${i.txid}:${i.vout}`), [`${commitment.txid}:${anchorVout}`, `${feeTxid}:0`]);
    // The package pays the estimate: (commitment fee + child fee) over their weights.
    const weight = (hex: string): bigint => {
      const raw = Buffer.from(hex, 'hex');
      const t = txOf(hex);
      const stripped = 4 + 1 + 41 * t.inputs.length + 1 + t.outputs.reduce((s, o) => s + 9 + o.script.length, 0) + 4;
      return BigInt(stripped * 3 + raw.length);
    };
    const commitFee = 1_000_000n - c.outputs.reduce((s, o) => s + o.valueSat, 0n);
    const childFee = 330n + asked!.amountSat - child.outputs[0]!.valueSat;
    const packagePerKw = ((commitFee + childFee) * 1000n) / (weight(commitment.hex) + weight(cpfp.child.hex));
    assert.ok(packagePerKw >= 5000n && packagePerKw < 5200n, `package ${packagePerKw} sat/kw`);

    // The commitment and the child confirm together: the fee input is spent by our child, nothing left but to_local.
    await w.mine(H + 2, c, child);
    const oc = w.persisted().onchain!;
    assert.deepEqual(oc.outputs!.find((o) => o.what === 'fee_input')?.spentBy, { txid: cpfp.child.txid, height: H + 2, ours: true });
    assert.deepEqual(oc.feeTxs?.map((f) => f.txid), [feeTxid]);
  });

  test('a revoked commitment: the penalty is bumped as its deadline nears; a tower takes two outputs, our penalty is dropped and the HTLC swept alone', async () => {
    const { p, cheat } = await revokedWithHtlc('a', 1);
    const w = sweeperOf(p.a, 1, { estimate: 1000n, revoked: p.a.revoked });

    await w.mine(H, txOf(cheat.hex));
    let oc = w.persisted().onchain!;
    assert.equal(oc.kind, 'revoked');
    assert.equal(oc.sweeps.length, 1, 'one penalty');
    const first = oc.sweeps[0]!;
    assert.deepEqual([...first.spends!].sort(), oc.outputs!.map((o) => `${cheat.txid}:${o.vout}`).sort(), 'the penalty takes every output');
    assert.equal(first.feeratePerKw, 1000n, 'at the backend estimate');
    assert.deepEqual(w.published, [first.txid]);

    // The next block: the fee function asks for more; the replacement spends the same outputs.
    await w.mine(H + 1);
    oc = w.persisted().onchain!;
    assert.equal(oc.sweeps.length, 2);
    const bumped = oc.sweeps[1]!;
    assert.deepEqual(oc.sweeps[0]!.dropped, { reason: 'replaced', txid: bumped.txid, height: H + 1 });
    assert.ok(bumped.feeratePerKw! >= first.feeratePerKw! + 250n, `bumped ${first.feeratePerKw} → ${bumped.feeratePerKw}`);
    assert.deepEqual(bumped.spends, first.spends);
    assert.deepEqual(w.published, [first.txid, bumped.txid], 'the replaced penalty is not published again');

    // A watchtower's justice transaction takes to_local and to_remote.
    const taken = oc.outputs!.filter((o) => o.what !== 'htlc_revoked');
    const justice = foreign('justice', taken.map((o) => ({ txid: cheat.txid, vout: o.vout })));
    await w.mine(H + 2, justice);
    oc = w.persisted().onchain!;
    assert.deepEqual(oc.sweeps[1]!.dropped, { reason: 'input_spent', txid: justice.txid, height: H + 2 });
    for (const o of oc.outputs!) if (o.what !== 'htlc_revoked') assert.deepEqual(o.spentBy, { txid: justice.txid, height: H + 2, ours: false });
    const htlcSweep = oc.sweeps[2]!;
    assert.deepEqual(htlcSweep.spends, oc.outputs!.filter((o) => o.what === 'htlc_revoked').map((o) => `${cheat.txid}:${o.vout}`), 'the HTLC output swept alone');
    assert.deepEqual(parseTransaction(Buffer.from(htlcSweep.hex, 'hex')).inputs.map((i) => i.txid), [cheat.txid]);
    assert.equal(w.published.at(-1), htlcSweep.txid);
    assert.equal(w.persisted().state, 'FUNDING_SPEND_SEEN');

    const live = w.persisted().onchain!.sweeps.at(-1)!;
    await w.mine(H + 3, txOf(live.hex));
    const end = w.persisted();
    assert.equal(end.state, 'ONCHAIN', 'resolved: every output spent, by us or the tower');
    const count = w.published.length;
    await w.mine(H + 4);
    assert.equal(w.published.length, count, 'nothing published once resolved');
  });

  test('a revoked commitment whose HTLC the cheater takes first with its own HTLC-timeout: its output is planned (deadline: our CSV from its confirmation), written, and taken by revocation after a restart; the channel resolves', async () => {
    // B keeps the state it will cheat with: its commitment and A's signature of its HTLC-timeout.
    const { p, cheat, old } = await revokedWithHtlc('b', 2);
    const plan = await resolveFundingSpend(old, p.b.keys, cheat.txid, H, { findRevocation: async () => undefined });
    const timeoutOut = plan.outputs.find((o) => o.what === 'htlc_timeout_tx')!;
    old.onchain = { spendTxid: cheat.txid, kind: 'local', height: H, sweeps: [], pending: [], outputs: plan.outputs };
    const htlcTx = (await htlcTransactions(old, p.b.keys, [timeoutOut])).htlcs[0]!.signed!;
    const w = sweeperOf(p.a, 1, { estimate: 1000n, revoked: p.a.revoked });

    await w.mine(H, txOf(cheat.hex));
    const penalty = w.persisted().onchain!.sweeps[0]!;
    assert.ok(penalty.spends!.includes(`${cheat.txid}:${timeoutOut.vout}`), 'the penalty takes the HTLC output');
    // The cheater's HTLC-timeout confirms first.
    await w.mine(H + 1, txOf(htlcTx.hex));
    let oc = w.persisted().onchain!;
    const htlcRevoked = oc.outputs!.find((o) => o.what === 'htlc_revoked')!;
    assert.deepEqual(htlcRevoked.spentBy, { txid: htlcTx.txid, height: H + 1, ours: false });
    const second = oc.outputs!.find((o) => o.what === 'htlc_second_stage_revoked');
    assert.ok(second, 'the second-stage output is planned and written');
    assert.deepEqual(second, { txid: htlcTx.txid, vout: 0, what: 'htlc_second_stage_revoked', fromVout: timeoutOut.vout, amountSat: txOf(htlcTx.hex).outputs[0]!.valueSat, notBefore: H + 1, deadline: H + 1 + p.a.channel.data.local.toSelfDelay, ...(second.spentBy ? { spentBy: second.spentBy } : {}) });
    assert.equal(oc.sweeps[0]!.dropped?.reason, 'input_spent');

    // Killed here: the restarted node takes the second-stage output with the revocation key.
    p.restart(p.a);
    const w2 = sweeperOf(p.a, 1, { estimate: 1000n, revoked: p.a.revoked });
    await w2.mine(H + 2);
    oc = w2.persisted().onchain!;
    const takes = oc.sweeps.filter((s) => s.confirmedAt === undefined && s.dropped === undefined);
    const take = takes.find((s) => s.spends!.includes(`${htlcTx.txid}:0`));
    assert.ok(take, 'a sweep of the second-stage output, written');
    assert.ok(w2.published.includes(take.txid), 'and published');
    const toLocal = oc.outputs!.find((o) => o.what === 'to_local_revoked')!;
    assert.ok(take.spends!.includes(`${cheat.txid}:${toLocal.vout}`), 'joined with the rest of the penalty');
    assert.deepEqual(parseTransaction(Buffer.from(take.hex, 'hex')).inputs.find((i) => i.txid === htlcTx.txid), { txid: htlcTx.txid, vout: 0 });
    await w2.mine(H + 3, ...takes.map((s) => txOf(s.hex)));
    assert.equal(w2.persisted().state, 'ONCHAIN', 'every output resolved');
    assert.deepEqual(w2.persisted().onchain!.outputs!.find((o) => o.what === 'htlc_second_stage_revoked')!.spentBy, { txid: take.txid, height: H + 3, ours: true });
  });

  test('property: any transaction spending the revoked commitment (random and mutated inputs and outputs) is read without throwing, and only outputs paying the derived second-stage script to an HTLC spend are planned', async () => {
    const { p, cheat, old } = await revokedWithHtlc('b', 2);
    const plan = await resolveFundingSpend(old, p.b.keys, cheat.txid, H, { findRevocation: async () => undefined });
    const timeoutOut = plan.outputs.find((o) => o.what === 'htlc_timeout_tx')!;
    old.onchain = { spendTxid: cheat.txid, kind: 'local', height: H, sweeps: [], pending: [], outputs: plan.outputs };
    const real = txOf((await htlcTransactions(old, p.b.keys, [timeoutOut])).htlcs[0]!.signed!.hex);
    const w = sweeperOf(p.a, 1, { estimate: 1000n, revoked: p.a.revoked });
    await w.mine(H, txOf(cheat.hex));
    const d = w.persisted();
    const revocations = { findRevocation: async (txid: string) => { const r = p.a.revoked.find((x) => x.commit.txid === txid); return r && { channelId: '00', commitNum: Number(r.commit.index), data: encodeRevocation(r) }; } };
    const goodScript = Buffer.from(real.outputs[0]!.script);
    const script = fc.oneof(fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)), fc.constant(goodScript), fc.constant(goodScript).map((g) => { const m = Buffer.from(g); m[m.length - 1]! ^= 1; return m; }));
    const input = fc.record({ txid: fc.oneof(fc.constant(cheat.txid), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'))), vout: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xffffffff })) });
    const output = fc.record({ script, valueSat: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) });
    await fc.assert(
      fc.asyncProperty(fc.array(input, { maxLength: 6 }), fc.array(output, { maxLength: 6 }), async (inputs, outputs) => {
        const tx = { txid: 'ab'.repeat(32), inputs, outputs } as unknown as Pick<BlockTransaction, 'txid' | 'inputs' | 'outputs'>;
        const planned = await secondStageRevoked(d, p.a.keys, tx, H + 1, revocations);
        for (const o of planned) {
          assert.equal(o.what, 'htlc_second_stage_revoked');
          assert.equal(inputs[o.vout]!.txid, cheat.txid, 'the input at its index spends the revoked commitment');
          assert.ok(Buffer.from(outputs[o.vout]!.script).equals(goodScript), 'and its output pays the derived script');
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a transaction spending a revoked HTLC output to an output that is not the cheater\'s second-stage script is only recorded', async () => {
    const { p, cheat } = await revokedWithHtlc('a', 3);
    const w = sweeperOf(p.a, 1, { estimate: 1000n, revoked: p.a.revoked });
    await w.mine(H, txOf(cheat.hex));
    const htlc = w.persisted().onchain!.outputs!.find((o) => o.what === 'htlc_revoked')!;
    const other = { ...foreign('other', [{ txid: cheat.txid, vout: htlc.vout }]), outputs: [{ valueSat: htlc.amountSat - 500n, script: new Uint8Array(Buffer.concat([Buffer.from([0x00, 0x20]), Buffer.alloc(32, 7)])) }] };
    await w.mine(H + 1, other);
    const oc = w.persisted().onchain!;
    assert.equal(oc.outputs!.find((o) => o.what === 'htlc_revoked')!.spentBy?.txid, other.txid);
    assert.equal(oc.outputs!.some((o) => o.what === 'htlc_second_stage_revoked'), false, 'a P2WSH of another script is not ours');
  });

  test('anchors: the CPFP child is replaced (RBF, the same anchor and fee input, written first) when the estimate rises by a step, not before', async () => {
    const p = makePair({ format: 'anchors_zero_fee_htlc_tx' });
    const feeTxid = 'fe'.repeat(32);
    let asked: bigint | undefined;
    const fund: SweeperContext['fundFeeInputs'] = async (outputs) => {
      asked = outputs[0]!.amountSat;
      return { txid: feeTxid, hex: '00', broadcast: async () => undefined };
    };
    await p.a.channel.fail('test: force close');
    const commitment = p.a.channel.localCommitmentTx();
    const at = (estimate: bigint) => sweeperOf(p.a, 1, { estimate, fundFeeInputs: fund });
    await at(5000n).mine(H);
    const first = w0(p.a);
    const small = at(5200n);
    await small.mine(H + 1);
    assert.equal(w0(p.a).child.txid, first.child.txid, 'less than a step more: the same child');
    const high = at(9000n);
    await high.mine(H + 2);
    const bumped = w0(p.a);
    assert.notEqual(bumped.child.txid, first.child.txid, 'a replacement child');
    assert.equal(bumped.child.feeratePerKw, 9000n);
    assert.deepEqual(bumped.feeTx, first.feeTx, 'the same wallet transaction');
    const ins = (hex: string): string[] => txOf(hex).inputs.map((i) => `${i.txid}:${i.vout}`);
    assert.deepEqual(ins(bumped.child.hex), ins(first.child.hex), 'spending the same anchor and fee input');
    const paid = (hex: string): bigint => 330n + asked! - txOf(hex).outputs[0]!.valueSat;
    assert.ok(paid(bumped.child.hex) > paid(first.child.hex), `fee ${paid(first.child.hex)} → ${paid(bumped.child.hex)} sat`);
    assert.deepEqual(high.published, [commitment.txid, bumped.child.txid], 'published once written (the sweeper checks)');
    await high.mine(H + 3);
    assert.equal(w0(p.a).child.txid, bumped.child.txid, 'at the same estimate: no further replacement');
  });

  test('anchors: our joined HTLC-success transaction follows the fee function to its deadline, replaced by RBF (same HTLC and fee input, written first); the fee input was sized for the budget', async () => {
    const p = await normalPair({ format: 'anchors_zero_fee_htlc_tx' });
    const preimage = Buffer.alloc(32, 5);
    const received: bigint[] = [];
    p.a.channel.on('htlcReceived', (h) => received.push(h.id));
    await p.b.channel.addHtlc({ amountMsat: 60_000_000n, paymentHash: createHash('sha256').update(preimage).digest(), cltvExpiry: H + 12 });
    await until(() => received.length === 1, { what: 'HTLC committed', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    // A fulfills; B never sees it (held): the HTLC stays on A's commitment with its preimage known to A.
    p.b.hold = true;
    await p.a.channel.fulfillHtlc(received[0]!, preimage);
    await until(() => p.a.channel.data.nextRemoteCommit !== undefined, { what: 'fulfill signed', ...PAIR_WAIT });
    await p.a.channel.fail('test: force close');
    const commitment = p.a.channel.localCommitmentTx();
    const feeTxid = 'fd'.repeat(32);
    let asked: bigint | undefined;
    const fund: SweeperContext['fundFeeInputs'] = async (outputs) => {
      asked = outputs[0]!.amountSat;
      return { txid: feeTxid, hex: '00', broadcast: async () => undefined };
    };
    const w = sweeperOf(p.a, 1, { estimate: 1000n, fundFeeInputs: fund });
    await w.mine(H, txOf(commitment.hex));
    let oc = w.persisted().onchain!;
    const first = oc.sweeps.find((s) => s.presigned)!;
    assert.ok(first, 'the HTLC-success transaction was built');
    assert.equal(first.what, 'htlc_success_tx');
    assert.equal(first.feeratePerKw, 1000n, 'at the estimate');
    assert.equal(first.fee?.deadline, H + 12, 'following the fee function to the HTLC expiry');
    const success = txOf(first.hex);
    assert.ok(Buffer.from(first.hex, 'hex').includes(preimage), 'with the preimage');
    // Its weight is at least its size: the fee input pays at least the budget's feerate over that.
    assert.ok(asked! >= (first.fee!.maxPerKw * BigInt(first.hex.length / 2)) / 1000n, `fee input ${asked} sat covers the budget ${first.fee!.maxPerKw} sat/kw`);
    await w.mine(H + 1);
    oc = w.persisted().onchain!;
    const bumped = oc.sweeps.filter((s) => s.presigned).at(-1)!;
    assert.notEqual(bumped.txid, first.txid, 'replaced');
    assert.deepEqual(oc.sweeps.find((s) => s.txid === first.txid)!.dropped, { reason: 'replaced', txid: bumped.txid, height: H + 1 });
    assert.ok(bumped.feeratePerKw! >= first.feeratePerKw! + 250n, `bumped ${first.feeratePerKw} → ${bumped.feeratePerKw}`);
    assert.deepEqual(bumped.spends, first.spends);
    assert.deepEqual(txOf(bumped.hex).inputs.map((i) => `${i.txid}:${i.vout}`), success.inputs.map((i) => `${i.txid}:${i.vout}`), 'the same HTLC output and fee input');
    assert.equal(txOf(bumped.hex).outputs[0]!.valueSat, success.outputs[0]!.valueSat, 'the HTLC output keeps its full amount (SIGHASH_SINGLE)');
    assert.ok(txOf(bumped.hex).outputs.at(-1)!.valueSat < success.outputs.at(-1)!.valueSat, 'the change pays the bump');
    assert.deepEqual(bumped.creates?.map((o) => o.txid), [bumped.txid], 'its delayed output planned from the replacement');
    assert.deepEqual(w.published.filter((t) => t === first.txid || t === bumped.txid), [first.txid, bumped.txid], 'the replaced one is not published again');
    // The replacement confirms: its delayed output is ours after the delay.
    await w.mine(H + 2, txOf(bumped.hex));
    oc = w.persisted().onchain!;
    assert.equal(oc.sweeps.find((s) => s.txid === bumped.txid)!.confirmedAt, H + 2);
    assert.ok(oc.outputs!.some((o) => o.what === 'htlc_delayed' && o.txid === bumped.txid));
  });
});
/** A's CPFP as written. */
function w0(s: Side): NonNullable<ChannelData['cpfp']> {
  return decodeChannelData(s.persisted).cpfp!;
}
