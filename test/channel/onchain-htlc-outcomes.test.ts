/**
 * Incoming and outgoing HTLCs once a channel is on chain (issue 14's money-safety gaps), on the states
 * two real Channel engines reach:
 * - the resolver claims an HTLC offered to us with a preimage only a {@link PreimageSource} knows (a
 *   paid invoice), on our commitment (HTLC-success) and on theirs (direct claim); a wrong one is ignored;
 * - what became of an HTLC we offered (`offeredHtlcOutcomes`): taken with the preimage (read from the
 *   taker's witness by `witnessPreimage`), timed out by us and six blocks deep, or trimmed from the
 *   commitment that confirmed; `witnessPreimage` never throws on random or mutated bytes;
 * - on a revoked commitment, each HTLC we offered decided by its own output (the plan records who offered
 *   it): our claim of it, or of the cheater's second stage, 6 deep — whatever other outputs still wait;
 *   one not in that commitment once it is 6 deep; a plan without that record waits for every output.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sha256 } from '../../src/crypto/hash.js';
import { abandonedOfferedPending, offeredHtlcOutcomes, ONCHAIN_FINAL_DEPTH, witnessPreimage } from '../../src/channel/onchain/outcomes.js';
import { htlcTransactions, plannedInputs, resolveFundingSpend, type PreimageSource } from '../../src/channel/onchain/resolver.js';
import { cloneChannelData, encodeRevocation, type ChannelData } from '../../src/channel/state.js';
import { until } from '../harness/wait.js';
import { normalPair, PAIR_WAIT, type Pair } from './pair.js';

const H = 500;
const EXPIRY = 700;
const noRevocations = { findRevocation: async () => undefined };
const preimage = Buffer.alloc(32, 0x42);
const paymentHash = createHash('sha256').update(preimage).digest();
const book: PreimageSource = { preimageFor: (h) => (h.equals(paymentHash) ? preimage : undefined) };

/** A pair with HTLCs A → B committed on both sides: one of `amountMsat` for `paymentHash`, and a dust one. */
async function withHtlcs(): Promise<{ p: Pair; id: bigint; dust: bigint }> {
  const p = await normalPair();
  const received: bigint[] = [];
  p.b.channel.on('htlcReceived', (h) => received.push(h.id));
  const id = await p.a.channel.addHtlc({ amountMsat: 30_000_000n, paymentHash, cltvExpiry: EXPIRY });
  const dust = await p.a.channel.addHtlc({ amountMsat: 1_000n, paymentHash: sha256(Buffer.alloc(32, 1)), cltvExpiry: EXPIRY });
  await until(() => received.includes(id) && received.includes(dust), { what: 'B has both HTLCs committed', ...PAIR_WAIT });
  await p.a.channel.idle();
  await p.b.channel.idle();
  return { p, id, dust };
}

describe('HTLCs on chain: preimages from the book, outcomes of ours', () => {
  it('an HTLC offered to us is claimed with a preimage only the source knows, on either commitment', async () => {
    const { p } = await withHtlcs();
    const d = cloneChannelData(p.b.channel.data);
    const keys = p.b.keys;
    // Our commitment: the HTLC-success transaction, signed with the preimage.
    const without = await resolveFundingSpend(d, keys, d.localCommit.txid, H, noRevocations);
    assert.equal(without.outputs.some((o) => o.what === 'htlc_success_tx'), false, 'no preimage: theirs to take');
    const wrong = await resolveFundingSpend(d, keys, d.localCommit.txid, H, noRevocations, { preimageFor: () => Buffer.alloc(32, 9) });
    assert.equal(wrong.outputs.some((o) => o.what === 'htlc_success_tx'), false, 'a preimage not of the hash is ignored');
    const local = await resolveFundingSpend(d, keys, d.localCommit.txid, H, noRevocations, book);
    const success = local.outputs.filter((o) => o.what === 'htlc_success_tx');
    assert.deepEqual(success.map((o) => o.deadline), [EXPIRY]);
    d.onchain = { spendTxid: d.localCommit.txid, kind: 'local', height: H, sweeps: [], pending: [], outputs: local.outputs };
    const { htlcs } = await htlcTransactions(d, keys, success, book);
    assert.equal(htlcs.length, 1);
    assert.deepEqual(htlcs[0]!.preimage, preimage);
    assert.deepEqual(witnessPreimage(Buffer.from(htlcs[0]!.signed!.hex, 'hex'), 0, new Set([paymentHash.toString('hex')])), preimage, 'the preimage is in its witness');
    assert.equal((await htlcTransactions(d, keys, success)).htlcs.length, 0, 'without the source: nothing to sign');
    // Their commitment: claimed directly with the preimage.
    const remote = await resolveFundingSpend(d, keys, d.remoteCommit.txid, H, noRevocations, book);
    const claim = remote.outputs.filter((o) => o.what === 'htlc_success_remote');
    assert.equal(claim.length, 1);
    d.onchain = { spendTxid: d.remoteCommit.txid, kind: 'remote', height: H, sweeps: [], pending: [], outputs: remote.outputs };
    const [input] = await plannedInputs(d, keys, claim, noRevocations, book);
    assert.equal(input?.kind, 'htlc_success_remote');
    assert.deepEqual(input && 'preimage' in input ? input.preimage : undefined, preimage);
  });

  it('outcomes of HTLCs we offered: the preimage the taker revealed; our timeout once 6 deep; a trimmed one once the commitment is 6 deep', async () => {
    const { p, id, dust } = await withHtlcs();
    const keys = p.a.keys;
    const onLocal = async (): Promise<ChannelData> => {
      const d = cloneChannelData(p.a.channel.data);
      const r = await resolveFundingSpend(d, keys, d.localCommit.txid, H, noRevocations);
      d.onchain = { spendTxid: d.localCommit.txid, kind: 'local', height: H, sweeps: [], pending: [], outputs: r.outputs };
      return d;
    };
    const d = await onLocal();
    const timeout = d.onchain!.outputs!.find((o) => o.what === 'htlc_timeout_tx')!;
    assert.ok(timeout, 'our HTLC-timeout is planned (the dust HTLC has no output)');
    assert.deepEqual(offeredHtlcOutcomes(d, keys, H), [], 'nothing resolved yet');
    // The commitment six deep: the trimmed HTLC has failed; the other is still open.
    assert.deepEqual(offeredHtlcOutcomes(d, keys, H + ONCHAIN_FINAL_DEPTH - 2), []);
    assert.deepEqual(offeredHtlcOutcomes(d, keys, H + ONCHAIN_FINAL_DEPTH - 1).map((o) => [o.id, 'failure' in o]), [[dust, true]]);
    // Our HTLC-timeout confirmed at H + 10: final at H + 15.
    timeout.spentBy = { txid: 'dd'.repeat(32), height: H + 10, ours: true };
    assert.deepEqual(offeredHtlcOutcomes(d, keys, H + 10 + ONCHAIN_FINAL_DEPTH - 2).map((o) => o.id), [dust]);
    assert.deepEqual(offeredHtlcOutcomes(d, keys, H + 10 + ONCHAIN_FINAL_DEPTH - 1).map((o) => [o.id, 'failure' in o ? o.failure : 'preimage']), [[id, 'HTLC timed out on chain'], [dust, 'HTLC not in the commitment that confirmed on chain (trimmed or not yet committed)']].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    // Taken by the peer with the preimage instead: fulfilled at once, whatever the depth.
    const e = await onLocal();
    e.onchain!.outputs!.find((o) => o.what === 'htlc_timeout_tx')!.spentBy = { txid: 'ee'.repeat(32), height: H + 1, ours: false, preimage: preimage.toString('hex') };
    const out = offeredHtlcOutcomes(e, keys, H + 1);
    assert.deepEqual(out.map((o) => [o.id, 'preimage' in o && o.preimage.equals(preimage)]), [[id, true]]);
  });

  it('an abandoned HTLC output of ours fails once the commitment is 6 deep and its expiry passed; the channel is kept until then', async () => {
    const { p, id } = await withHtlcs();
    const keys = p.a.keys;
    const d = cloneChannelData(p.a.channel.data);
    // Their commitment (B's) confirmed at H: our direct timeout claim is due in the block after the expiry.
    const r = await resolveFundingSpend(d, keys, d.remoteCommit.txid, H, noRevocations);
    d.onchain = { spendTxid: d.remoteCommit.txid, kind: 'remote', height: H, sweeps: [], pending: [], outputs: r.outputs };
    const claim = d.onchain.outputs!.find((o) => o.what === 'htlc_timeout_remote')!;
    assert.equal(claim.notBefore, EXPIRY + 1);
    const ids = (h: number): bigint[] => offeredHtlcOutcomes(d, keys, h).filter((o) => 'failure' in o && o.failure.startsWith('HTLC output not worth')).map((o) => o.id);
    assert.deepEqual(ids(EXPIRY + 1), [], 'not abandoned: waits for our claim');
    claim.abandoned = 'channel: sweep: output below the dust limit';
    assert.deepEqual(ids(EXPIRY), [], 'not before the expiry has passed');
    assert.deepEqual(ids(EXPIRY + 1), [id]);
    assert.ok(abandonedOfferedPending(d.onchain, EXPIRY + ONCHAIN_FINAL_DEPTH), 'kept while its outcome is told');
    assert.equal(abandonedOfferedPending(d.onchain, EXPIRY + 1 + ONCHAIN_FINAL_DEPTH), false);
    // A commitment not yet final: wait for it, whatever the expiry.
    d.onchain.height = EXPIRY;
    assert.deepEqual(ids(EXPIRY + 1), []);
    assert.deepEqual(ids(EXPIRY + ONCHAIN_FINAL_DEPTH - 1), [id]);
  });

  it('revoked commitment: each HTLC we offered decided as soon as its own output is resolved', async () => {
    // A offers HTLC `one`; B's commitment then (the cheat) holds it; A offers `two`, B revokes the cheat.
    const p = await normalPair();
    const received: bigint[] = [];
    p.b.channel.on('htlcReceived', (h) => received.push(h.id));
    const one = await p.a.channel.addHtlc({ amountMsat: 30_000_000n, paymentHash, cltvExpiry: EXPIRY });
    await until(() => received.length === 1, { what: 'one committed', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    const cheat = p.b.channel.localCommitmentTx();
    const two = await p.a.channel.addHtlc({ amountMsat: 20_000_000n, paymentHash: sha256(Buffer.alloc(32, 2)), cltvExpiry: EXPIRY });
    await until(() => received.length === 2 && p.a.revoked.some((r) => r.commit.txid === cheat.txid), { what: 'two committed, the cheat revoked', ...PAIR_WAIT });
    await p.a.channel.idle();
    await p.b.channel.idle();
    const r = p.a.revoked.find((x) => x.commit.txid === cheat.txid)!;
    const revocations = { findRevocation: async (txid: string) => (txid === cheat.txid ? { channelId: '00', commitNum: Number(r.commit.index), data: encodeRevocation(r) } : undefined) };
    const keys = p.a.keys;
    const plan = await resolveFundingSpend(p.a.channel.data, keys, cheat.txid, H, revocations);
    assert.equal(plan.kind, 'revoked');
    const htlcOut = plan.outputs.find((o) => o.what === 'htlc_revoked')!;
    assert.deepEqual(htlcOut.htlc, { id: one, offeredByUs: true, cltvExpiry: EXPIRY }, 'the plan names the HTLC and who offered it');
    const state = (): ChannelData => {
      const d = cloneChannelData(p.a.channel.data);
      d.onchain = { spendTxid: cheat.txid, kind: 'revoked', height: H, sweeps: [], pending: [], outputs: structuredClone(plan.outputs) };
      return d;
    };
    const outcomes = (d: ChannelData, h: number): [bigint, string][] => offeredHtlcOutcomes(d, keys, h).map((o) => [o.id, 'failure' in o ? o.failure : 'preimage']);
    const NOT_IN = 'HTLC not in the commitment that confirmed on chain (trimmed or not yet committed)';
    const REVOKED = 'the peer published a revoked commitment: HTLC not fulfilled on chain';
    // Our penalty took the HTLC's output at H + 1; another output (to_remote) is still open.
    const d = state();
    const own = d.onchain!.outputs!.find((o) => o.what === 'htlc_revoked')!;
    own.spentBy = { txid: 'aa'.repeat(32), height: H + 1, ours: true };
    assert.ok(d.onchain!.outputs!.some((o) => !o.spentBy), 'an output still open');
    assert.deepEqual(outcomes(d, H + ONCHAIN_FINAL_DEPTH - 2), [], 'nothing before the commitment is final');
    assert.deepEqual(outcomes(d, H + ONCHAIN_FINAL_DEPTH - 1), [[two, NOT_IN]], 'two (not in the cheat) once it is final');
    assert.deepEqual(outcomes(d, H + ONCHAIN_FINAL_DEPTH), [[one, REVOKED], [two, NOT_IN]], 'one once its penalty is final, the rest still open');
    // A plan without the HTLC record: only once every output is resolved.
    const old = state();
    for (const o of old.onchain!.outputs!) delete o.htlc;
    old.onchain!.outputs!.find((o) => o.what === 'htlc_revoked')!.spentBy = { txid: 'aa'.repeat(32), height: H + 1, ours: true };
    assert.deepEqual(outcomes(old, H + 20), [], 'an old plan waits for every output');
    // Taken by the cheater's second stage at H + 2, whose output we took at H + 4: decided at H + 9.
    const second = state();
    const o2 = second.onchain!.outputs!.find((o) => o.what === 'htlc_revoked')!;
    o2.spentBy = { txid: 'bb'.repeat(32), height: H + 2, ours: false };
    second.onchain!.outputs!.push({ txid: 'bb'.repeat(32), vout: 0, what: 'htlc_second_stage_revoked', fromVout: o2.vout, amountSat: 29_000n, notBefore: H + 2 });
    assert.deepEqual(outcomes(second, H + 20).map((x) => x[0]), [two], 'the second stage not yet taken');
    second.onchain!.outputs!.at(-1)!.spentBy = { txid: 'cc'.repeat(32), height: H + 4, ours: true };
    assert.deepEqual(outcomes(second, H + 4 + ONCHAIN_FINAL_DEPTH - 2).map((x) => x[0]), [two]);
    assert.deepEqual(outcomes(second, H + 4 + ONCHAIN_FINAL_DEPTH - 1), [[one, REVOKED], [two, NOT_IN]]);
    // The cheater fulfilled it on chain: the preimage wins.
    const paid = state();
    paid.onchain!.outputs!.find((o) => o.what === 'htlc_revoked')!.spentBy = { txid: 'dd'.repeat(32), height: H + 1, ours: false, preimage: preimage.toString('hex') };
    assert.deepEqual(outcomes(paid, H + 1), [[one, 'preimage']]);
  });

  it('property: witnessPreimage never throws on random or mutated transactions', () => {
    const real = Buffer.from('02000000000101' + 'ab'.repeat(32) + '00000000' + '00' + 'ffffffff' + '01' + '1027000000000000' + '160014' + '11'.repeat(20) + '03' + '00' + '20' + preimage.toString('hex') + '01' + '51' + '00000000', 'hex');
    const hashes = new Set([paymentHash.toString('hex')]);
    assert.deepEqual(witnessPreimage(real, 0, hashes), preimage);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(5), (bytes, input) => {
        witnessPreimage(bytes, input, hashes);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(3), (at, byte, cut) => {
        const m = Buffer.from(real);
        m[at] = byte;
        const r = witnessPreimage(m.subarray(0, m.length - cut), 0, hashes);
        assert.ok(r === undefined || sha256(r).equals(paymentHash));
      }),
      { numRuns: 2000 },
    );
  });
});
