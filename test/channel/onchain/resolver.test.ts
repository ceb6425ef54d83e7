/**
 * The on-chain resolver on real channel states (two Channel engines in memory): which close a funding
 * spend is, and which outputs are ours to take, at once or after their delay.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { plannedInputs, resolveFundingSpend } from '../../../src/channel/onchain/resolver.js';
import { cloneChannelData, encodeRevocation, type StoredRevocation } from '../../../src/channel/state.js';
import { until } from '../../harness/wait.js';
import { makePair, normalPair, PAIR_WAIT } from '../pair.js';

const HEIGHT = 500;
const noRevocations = { findRevocation: async () => undefined };
const revocationsOf = (rs: StoredRevocation[]) => ({
  findRevocation: async (txid: string) => {
    const r = rs.find((x) => x.commit.txid === txid);
    return r && { channelId: '00', commitNum: Number(r.commit.index), data: encodeRevocation(r) };
  },
});

describe('on-chain resolver', () => {
  test('the agreed closing transaction is a mutual close: nothing to take', async () => {
    const { a } = makePair();
    const d = cloneChannelData(a.channel.data);
    d.closing = { txid: 'cc'.repeat(32) };
    assert.deepEqual(await resolveFundingSpend(d, a.keys, 'cc'.repeat(32), HEIGHT, noRevocations), { kind: 'mutual', outputs: [] });
  });

  test('our commitment: to_local waits for the peer’s delay, then is swept with the delayed key', async () => {
    const { a } = makePair();
    const d = cloneChannelData(a.channel.data);
    const r = await resolveFundingSpend(d, a.keys, d.localCommit.txid, HEIGHT, noRevocations);
    assert.equal(r.kind, 'local');
    assert.deepEqual(r.outputs.map((o) => [o.what, o.notBefore, o.deadline]), [['to_local_delayed', HEIGHT + d.remote.toSelfDelay, undefined]]);
    d.onchain = { spendTxid: d.localCommit.txid, kind: r.kind, height: HEIGHT, sweeps: [], pending: [], outputs: r.outputs };
    const [input] = await plannedInputs(d, a.keys, [r.outputs[0]!], noRevocations);
    assert.equal(input?.kind, 'to_local_delayed');
    assert.equal(input?.txid, d.localCommit.txid);
  });

  test('their current commitment (static_remotekey): our to_remote is swept at once', async () => {
    const { a } = makePair();
    const d = cloneChannelData(a.channel.data);
    const r = await resolveFundingSpend(d, a.keys, d.remoteCommit.txid, HEIGHT, noRevocations);
    assert.equal(r.kind, 'remote');
    assert.deepEqual(r.outputs.map((o) => [o.what, o.notBefore, o.deadline]), [['p2wpkh', HEIGHT, undefined]]);
    d.onchain = { spendTxid: d.remoteCommit.txid, kind: r.kind, height: HEIGHT, sweeps: [], pending: [], outputs: r.outputs };
    assert.deepEqual((await plannedInputs(d, a.keys, [r.outputs[0]!], noRevocations)).map((i) => [i.kind, i.txid]), [['p2wpkh', d.remoteCommit.txid]]);
  });

  test('their current commitment (anchors): our to_remote waits one block (its CSV 1)', async () => {
    const { a } = makePair({ format: 'anchors_zero_fee_htlc_tx' });
    const d = cloneChannelData(a.channel.data);
    const r = await resolveFundingSpend(d, a.keys, d.remoteCommit.txid, HEIGHT, noRevocations);
    assert.equal(r.kind, 'remote');
    assert.deepEqual(r.outputs.map((o) => [o.what, o.notBefore, o.deadline]), [['to_remote_anchors', HEIGHT + 1, undefined]]);
    d.onchain = { spendTxid: d.remoteCommit.txid, kind: r.kind, height: HEIGHT, sweeps: [], pending: [], outputs: r.outputs };
    assert.equal((await plannedInputs(d, a.keys, [r.outputs[0]!], noRevocations))[0]?.kind, 'to_remote_anchors');
  });

  test('a revoked commitment: every output is taken at once with the revocation key', async () => {
    const p = await normalPair();
    const received: bigint[] = [];
    p.b.channel.on('htlcReceived', (h) => received.push(h.id));
    await p.a.channel.addHtlc({ amountMsat: 50_000_000n, paymentHash: createHash('sha256').update(Buffer.alloc(32, 1)).digest(), cltvExpiry: 500 });
    await until(() => received.length === 1, { what: 'HTLC committed', ...PAIR_WAIT });
    await p.b.channel.failHtlc(received[0]!);
    await p.a.channel.idle();
    await p.b.channel.idle();
    // B revoked the commitment holding the HTLC; A punishes its publication.
    const revoked = p.a.revoked.find((r) => r.commit.spec.htlcs.length === 1)!;
    const d = cloneChannelData(p.a.channel.data);
    const r = await resolveFundingSpend(d, p.a.keys, revoked.commit.txid, HEIGHT, revocationsOf(p.a.revoked));
    assert.equal(r.kind, 'revoked');
    assert.equal(r.revokedIndex, revoked.commit.index);
    assert.deepEqual(r.outputs.map((o) => o.what).sort(), ['htlc_revoked', 'p2wpkh', 'to_local_revoked']);
    // Due at once; the revocable ones before the cheater's delay (the one we asked of it) ends.
    assert.ok(r.outputs.every((o) => o.notBefore === HEIGHT));
    assert.deepEqual(r.outputs.map((o) => o.deadline).sort(), [HEIGHT + d.local.toSelfDelay, HEIGHT + d.local.toSelfDelay, undefined]);
    d.onchain = { spendTxid: revoked.commit.txid, kind: r.kind, height: HEIGHT, sweeps: [], pending: [], outputs: r.outputs };
    const inputs = await plannedInputs(d, p.a.keys, r.outputs, revocationsOf(p.a.revoked));
    assert.deepEqual(inputs.map((i) => i.kind).sort(), ['htlc_revoked', 'p2wpkh', 'to_local_revoked']);
    assert.ok(inputs.every((i) => i.txid === revoked.commit.txid));
  });

  test('a spend we do not recognise is recorded as unknown, with nothing to take', async () => {
    const { a } = makePair();
    const r = await resolveFundingSpend(cloneChannelData(a.channel.data), a.keys, 'ee'.repeat(32), HEIGHT, noRevocations);
    assert.deepEqual(r, { kind: 'unknown', outputs: [] });
  });
});
