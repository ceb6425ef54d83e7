/**
 * option_simple_close (closing_complete / closing_sig) between two Channel engines over the in-memory pair
 * (real codec, real signatures):
 *  - both sides support it: each proposes its own closing transaction, the other signs it; no
 *    closing_signed is sent; every published transaction is fully signed and spends the funding output;
 *  - only one side supports it: the legacy closing_signed negotiation;
 *  - the connection drops at each step (either shutdown, either closing_complete, either closing_sig),
 *    10 times each: after the reconnection both sides hold a fully signed closing transaction;
 *  - a replacement (RBF) by either side pays more;
 *  - the choice of variants (dust, OP_RETURN) and the legacy negotiation's warning when the fee ranges
 *    do not overlap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Transaction } from '@scure/btc-signer';
import { closingTxFor, shutdownScriptError } from '../../src/channel/close.js';
import { signClosingTx } from '../../src/channel/closing.js';
import { ChannelMessageType } from '../../src/channel/messages.js';
import { closeeVariant, isOpReturnCloseScript, proposeSimpleClose } from '../../src/channel/simple-close.js';
import { until } from '../harness/wait.js';
import { closeInterrupted, normalPair, PAIR_WAIT, shutdownLosses, type LossCase, type Pair } from './pair.js';

const RUNS = 10;
const BOTH = { A: true, B: true };

/**
 * The close is done: a fully signed closing transaction was published, and both sides know the txid of
 * every published one (whichever confirms, each side's chain watch sees its mutual close). A side that
 * reached CLOSINGD_COMPLETE no longer reestablishes, so the other may hold no signed transaction itself.
 */
async function simpleCompletes(p: Pair, what: string): Promise<void> {
  await until(() => p.a.closings.length + p.b.closings.length > 0 && [p.a, p.b].some((s) => s.channel.data.state === 'CLOSINGD_COMPLETE'), { what, ...PAIR_WAIT });
  assert.deepEqual([p.a.failures, p.b.failures], [[], []]);
  for (const s of [p.a, p.b]) {
    for (const c of [...p.a.closings, ...p.b.closings]) assert.ok(s.channel.data.closing!.simple!.txids.includes(c.txid), `${s.name} knows ${c.txid} for the chain side`);
    assert.ok(!s.sent.includes(ChannelMessageType.CLOSING_SIGNED), `${s.name} sent no closing_signed`);
    for (const c of s.closings) {
      const tx = Transaction.fromRaw(Buffer.from(c.hex, 'hex'), { allowUnknownOutputs: true });
      assert.equal(tx.id, c.txid);
      assert.equal(tx.inputsLength, 1);
      assert.equal(Buffer.from(tx.getInput(0).txid!).toString('hex'), '11'.repeat(32), 'spends the funding output');
      assert.equal(tx.getInput(0).sequence, 0xfffffffd, 'replaceable');
      assert.equal(tx.lockTime, 100, 'nLockTime is the chain height');
      assert.equal(tx.getInput(0).finalScriptWitness!.length, 4, 'both signatures');
    }
  }
}

describe('option_simple_close between two anode channels', () => {
  it('both support it: closing_complete each way, each signed by the other, no closing_signed', async () => {
    const p = await normalPair({ simpleClose: BOTH });
    await p.a.channel.shutdown();
    await simpleCompletes(p, 'both closed');
    await until(() => p.a.closings.length === 2 && p.b.closings.length === 2, { what: 'both transactions signed', ...PAIR_WAIT });
    for (const s of [p.a, p.b]) {
      assert.ok(s.sent.includes(ChannelMessageType.CLOSING_COMPLETE) && s.sent.includes(ChannelMessageType.CLOSING_SIG));
      assert.equal(s.channel.data.state, 'CLOSINGD_COMPLETE');
    }
    // Each pays its own fee: A's transaction leaves B its whole balance, and the other way round.
    const outputs = (hex: string): bigint[] => {
      const tx = Transaction.fromRaw(Buffer.from(hex, 'hex'), { allowUnknownOutputs: true });
      return Array.from({ length: tx.outputsLength }, (_, i) => tx.getOutput(i).amount!).sort((x, y) => (x < y ? -1 : 1));
    };
    const txids = new Set([...p.a.closings, ...p.b.closings].map((c) => c.txid));
    assert.equal(txids.size, 2, 'two competing closing transactions');
    const all = [...p.a.closings, ...p.b.closings].map((c) => outputs(c.hex));
    assert.ok(all.some((o) => o[0] === 100_000n), "A's proposal pays B's 100 000 sat in full");
    assert.ok(all.some((o) => o[1] === 900_000n), "B's proposal pays A's 900 000 sat in full");
  });

  it('only one side supports it: the legacy closing_signed negotiation', async () => {
    const p = await normalPair({ simpleClose: { A: true, B: false } });
    await p.a.channel.shutdown();
    await until(() => p.a.channel.data.state === 'CLOSINGD_COMPLETE' && p.b.channel.data.state === 'CLOSINGD_COMPLETE', { what: 'legacy close', ...PAIR_WAIT });
    assert.ok(p.a.sent.includes(ChannelMessageType.CLOSING_SIGNED));
    assert.ok(!p.a.sent.includes(ChannelMessageType.CLOSING_COMPLETE) && !p.b.sent.includes(ChannelMessageType.CLOSING_COMPLETE));
    assert.equal(p.a.closings[0]!.txid, p.b.closings[0]!.txid);
  });

  for (const initiator of ['A', 'B'] as const) {
    const cases: LossCase[] = [
      ...shutdownLosses(initiator),
      ["A's closing_complete lost", (p) => p.b, ChannelMessageType.CLOSING_COMPLETE],
      ["B's closing_complete lost", (p) => p.a, ChannelMessageType.CLOSING_COMPLETE],
      ['the closing_sig to A lost', (p) => p.a, ChannelMessageType.CLOSING_SIG],
      ['the closing_sig to B lost', (p) => p.b, ChannelMessageType.CLOSING_SIG],
    ];
    for (const [name, receiverOf, type] of cases) {
      it(`${initiator} closes, ${name}: completes ${RUNS} times out of ${RUNS}`, async () => {
        for (let i = 0; i < RUNS; i++) {
          const p = await closeInterrupted(initiator, receiverOf, type, { simpleClose: BOTH });
          await simpleCompletes(p, `close ${i + 1} completed after the reconnection`);
        }
      });
    }
  }

  for (const who of ['A', 'B'] as const) {
    it(`${who} replaces its closing transaction (RBF) at a higher fee, the other signs it`, async () => {
      const fees = { A: 1000n, B: 1000n };
      const p = await normalPair({ simpleClose: BOTH, closingFeerate: fees });
      await p.a.channel.shutdown();
      await until(() => p.a.closings.length === 2 && p.b.closings.length === 2, { what: 'first close', ...PAIR_WAIT });
      const side = who === 'A' ? p.a : p.b;
      const first = side.channel.data.closing!.simple!.lastFeeSat!;
      const known = side.channel.data.closing!.simple!.txids.length;
      // Same estimate: the replacement still pays the relay increment more.
      await side.channel.shutdown();
      await until(() => p.a.closings.length === 3 && p.b.closings.length === 3, { what: 'replacement signed', ...PAIR_WAIT });
      const second = side.channel.data.closing!.simple!.lastFeeSat!;
      assert.ok(second > first, `replacement fee ${second} > ${first}`);
      assert.equal(p.a.closings[2]!.txid, p.b.closings[2]!.txid, 'both published the replacement');
      assert.ok(side.channel.data.closing!.simple!.txids.length > known);
      assert.equal(side.channel.data.closing!.txid, p.a.closings[2]!.txid, 'the replacement is the one rebroadcast');
      assert.deepEqual([p.a.failures, p.b.failures], [[], []]);
    });
  }
});

describe('simple close variants (BOLT 2)', () => {
  const ours = Buffer.concat([Buffer.from([0, 20]), Buffer.alloc(20, 1)]);
  const theirs = Buffer.concat([Buffer.from([0, 20]), Buffer.alloc(20, 2)]);
  const base = { ourScript: ours, theirScript: theirs, feeratePerKw: 1000n, locktime: 7 };

  it('the side with more signs closer_output_only and closer_and_closee_outputs', () => {
    const p = proposeSimpleClose({ ...base, ourMsat: 900_000_000n, theirMsat: 100_000_000n });
    assert.ok(typeof p !== 'string');
    assert.deepEqual(p.variants, ['closerOutputOnly', 'closerAndCloseeOutputs']);
    assert.ok(p.feeSat > 0n && p.closerScript.equals(ours) && p.closeeScript.equals(theirs) && p.locktime === 7);
  });

  it('the closee output is dust: only closer_output_only', () => {
    const p = proposeSimpleClose({ ...base, ourMsat: 900_000_000n, theirMsat: 200_000n });
    assert.ok(typeof p !== 'string');
    assert.deepEqual(p.variants, ['closerOutputOnly']);
  });

  it('the side with less never signs closer_output_only; its dust output is left out (closee_output_only)', () => {
    const normal = proposeSimpleClose({ ...base, ourMsat: 100_000_000n, theirMsat: 900_000_000n });
    assert.ok(typeof normal !== 'string');
    assert.deepEqual(normal.variants, ['closerAndCloseeOutputs']);
    const dust = proposeSimpleClose({ ...base, feeratePerKw: 253n, ourMsat: 400_000n, theirMsat: 900_000_000n });
    assert.ok(typeof dust !== 'string');
    assert.deepEqual(dust.variants, ['closeeOutputOnly']);
    assert.equal(dust.feeSat, 400n, 'all of our balance goes to the fee');
  });

  it('the side with more whose output would be dust pays to an OP_RETURN, all of its balance to the fee', () => {
    const p = proposeSimpleClose({ ...base, ourMsat: 900_000n, theirMsat: 100_000n });
    assert.ok(typeof p !== 'string');
    assert.ok(isOpReturnCloseScript(p.closerScript));
    assert.equal(p.feeSat, 900n);
    assert.deepEqual(p.variants, ['closerOutputOnly']);
  });

  it('a balance that cannot pay any fee proposes nothing (the peer proposes)', () => {
    assert.equal(typeof proposeSimpleClose({ ...base, ourMsat: 0n, theirMsat: 1_000_000_000n }), 'string');
  });

  it('the closee checks the variant BOLT 2 selects', () => {
    const all = new Set(['closerOutputOnly', 'closeeOutputOnly', 'closerAndCloseeOutputs'] as const);
    assert.equal(closeeVariant(ours, 100_000n, all), 'closerOutputOnly', 'our output is dust');
    assert.equal(closeeVariant(ours, 100_000_000n, all), 'closerAndCloseeOutputs');
    assert.equal(closeeVariant(ours, 100_000_000n, new Set(['closeeOutputOnly'] as const)), 'closeeOutputOnly');
  });

  it('OP_RETURN scripts: one push of 6 to 80 bytes', () => {
    const push = (n: number): Buffer => (n <= 75 ? Buffer.concat([Buffer.from([0x6a, n]), Buffer.alloc(n)]) : Buffer.concat([Buffer.from([0x6a, 0x4c, n]), Buffer.alloc(n)]));
    for (const n of [6, 40, 75, 76, 80]) assert.ok(isOpReturnCloseScript(push(n)), `${n} bytes`);
    for (const n of [0, 5, 81]) assert.ok(!isOpReturnCloseScript(push(n)), `${n} bytes`);
    assert.ok(!isOpReturnCloseScript(Buffer.from([0x6a, 0x4c, 40, ...Buffer.alloc(40)])), 'OP_PUSHDATA1 below 76 bytes');
    assert.ok(!isOpReturnCloseScript(Buffer.concat([push(6), Buffer.from([0])])), 'trailing byte');
  });
});

describe('legacy closing_signed: fee ranges that do not overlap', () => {
  it('the peer gets a warning (BOLT 2), the channel waits for another proposal', async () => {
    const p = await normalPair();
    // B's closing_signed never reaches A; instead A gets one with a range below its own.
    p.a.holdWhen = (t) => t === ChannelMessageType.CLOSING_SIGNED;
    p.b.holdWhen = (t) => t === ChannelMessageType.CLOSING_SIGNED;
    await p.a.channel.shutdown();
    await until(() => p.b.held.length > 0 && p.a.channel.data.state === 'CLOSINGD_SIGEXCHANGE', { what: "A's closing_signed", ...PAIR_WAIT });
    const fee = 1n;
    const sig = signClosingTx(closingTxFor(p.b.channel.data, fee), p.b.keys.fundingPrivkey);
    await p.a.channel.handle({ type: ChannelMessageType.CLOSING_SIGNED, channelId: p.a.channel.data.channelId, feeSatoshis: fee, signature: sig, feeRange: { minFeeSatoshis: fee, maxFeeSatoshis: fee }, extraTlvs: [] });
    assert.equal(p.a.warnings.length, 1);
    assert.match(p.a.warnings[0]!, /Unable to agree on a closing fee/);
    assert.equal(p.a.channel.data.state, 'CLOSINGD_SIGEXCHANGE');
    assert.deepEqual(p.a.failures, []);
  });
});

describe('shutdown scripts under option_simple_close', () => {
  it('an OP_RETURN shutdown script is accepted only when option_simple_close is negotiated', async () => {
    const p = await normalPair();
    const opReturn = Buffer.from([0x6a, 6, 1, 2, 3, 4, 5, 6]);
    assert.equal(shutdownScriptError(p.a.channel.data, opReturn, true), undefined);
    assert.match(shutdownScriptError(p.a.channel.data, opReturn, false)!, /not a standard output script/);
  });
});

describe('a bad replacement after the close is signed', () => {
  it('is refused with a warning, never by failing the channel (which would publish a commitment)', async () => {
    const p = await normalPair({ simpleClose: BOTH });
    await p.a.channel.shutdown();
    await until(() => p.a.closings.length === 2 && p.b.closings.length === 2, { what: 'closed', ...PAIR_WAIT });
    const d = p.a.channel.data;
    await p.a.channel.handle({
      type: ChannelMessageType.CLOSING_COMPLETE,
      channelId: d.channelId,
      closerScriptPubkey: d.closing!.remoteScript!,
      closeeScriptPubkey: d.closing!.localScript!,
      feeSatoshis: 2000n,
      locktime: 100,
      closerAndCloseeOutputs: Buffer.alloc(64, 1),
      extraTlvs: [],
    });
    assert.deepEqual(p.a.failures, []);
    assert.deepEqual(p.a.published, [], 'no commitment published');
    assert.equal(p.a.channel.data.state, 'CLOSINGD_COMPLETE');
    assert.match(p.a.warnings.at(-1)!, /bad closerAndCloseeOutputs signature/);
  });
});
