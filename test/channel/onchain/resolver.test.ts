/**
 * The on-chain resolver on real channel states (two Channel engines in memory): which close a funding
 * spend is, and which outputs are ours to take, at once or after their delay.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { pendingInput, resolveFundingSpend } from '../../../src/channel/onchain/resolver.js';
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
    assert.deepEqual(await resolveFundingSpend(d, a.keys, 'cc'.repeat(32), HEIGHT, noRevocations), { kind: 'mutual', inputs: [], pending: [] });
  });

  test('our commitment: to_local waits for the peer’s delay, then is swept with the delayed key', async () => {
    const { a } = makePair();
    const d = cloneChannelData(a.channel.data);
    const r = await resolveFundingSpend(d, a.keys, d.localCommit.txid, HEIGHT, noRevocations);
    assert.deepEqual(r, { kind: 'local', inputs: [], pending: [{ what: 'to_local', notBefore: HEIGHT + d.remote.toSelfDelay }] });
    d.onchain = { spendTxid: d.localCommit.txid, kind: r.kind, height: HEIGHT, sweeps: [], pending: r.pending };
    const input = pendingInput(d, a.keys, r.pending[0]!);
    assert.equal(input?.kind, 'to_local_delayed');
    assert.equal(input?.txid, d.localCommit.txid);
  });

  test('their current commitment (static_remotekey): our to_remote is swept at once', async () => {
    const { a } = makePair();
    const d = cloneChannelData(a.channel.data);
    const r = await resolveFundingSpend(d, a.keys, d.remoteCommit.txid, HEIGHT, noRevocations);
    assert.equal(r.kind, 'remote');
    assert.deepEqual(r.pending, []);
    assert.deepEqual(r.inputs.map((i) => [i.kind, i.txid]), [['p2wpkh', d.remoteCommit.txid]]);
  });

  test('their current commitment (anchors): our to_remote waits one block (its CSV 1)', async () => {
    const { a } = makePair({ format: 'anchors_zero_fee_htlc_tx' });
    const d = cloneChannelData(a.channel.data);
    const r = await resolveFundingSpend(d, a.keys, d.remoteCommit.txid, HEIGHT, noRevocations);
    assert.deepEqual(r, { kind: 'remote', inputs: [], pending: [{ what: 'to_remote', notBefore: HEIGHT + 1 }] });
    d.onchain = { spendTxid: d.remoteCommit.txid, kind: r.kind, height: HEIGHT, sweeps: [], pending: r.pending };
    assert.equal(pendingInput(d, a.keys, r.pending[0]!)?.kind, 'to_remote_anchors');
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
    assert.deepEqual(r.pending, []);
    assert.deepEqual(r.inputs.map((i) => i.kind).sort(), ['htlc_revoked', 'p2wpkh', 'to_local_revoked']);
    assert.ok(r.inputs.every((i) => i.txid === revoked.commit.txid));
  });

  test('a spend we do not recognise is recorded as unknown, with nothing to take', async () => {
    const { a } = makePair();
    const r = await resolveFundingSpend(cloneChannelData(a.channel.data), a.keys, 'ee'.repeat(32), HEIGHT, noRevocations);
    assert.deepEqual(r, { kind: 'unknown', inputs: [], pending: [] });
  });
});
