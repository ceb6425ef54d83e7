/**
 * `listpeerchannels` status lines of a channel on chain, as lightningd's onchaind writes them: the kind
 * of close, then the next output to resolve with its countdown (lightningd's arithmetic: a to_self_delay
 * of 5 reads "in 4 blocks" one block after the close), "waiting confirmation" once due, and "All outputs
 * resolved" counting down to 100 blocks after the last resolution. Only what the stored plan says: a
 * commitment we do not know reads as lightningd's error (funds recovered when an output of ours was found
 * on it, lost when none was); the wallet inputs that pay our anchors HTLC transactions' fees are not the
 * channel's outputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { onchainStatus } from '../../src/rpc/cln/methods/onchain-status.js';
import type { ChannelData, OnchainState } from '../../src/channel/state.js';
import { makePair } from '../channel/pair.js';

const SPEND = 'ab'.repeat(32);
const FEE_TX = '99'.repeat(32);

function withOnchain(onchain: OnchainState | undefined): ChannelData {
  const d = structuredClone(makePair().a.channel.data);
  if (onchain) d.onchain = onchain;
  else delete d.onchain;
  return d;
}

describe('on-chain status lines (lightningd wording)', () => {
  test('none before the funding output is spent', () => {
    assert.deepEqual(onchainStatus(withOnchain(undefined), 500), []);
  });

  test('our unilateral close: countdown to the to_local sweep, then waiting for it, then resolved', () => {
    const oc: OnchainState = { spendTxid: SPEND, kind: 'local', height: 100, sweeps: [], pending: [], outputs: [{ vout: 1, what: 'to_local_delayed', amountSat: 500_000n, notBefore: 105 }] };
    const d = withOnchain(oc);
    assert.deepEqual(onchainStatus(d, 100), ['ONCHAIN:Tracking our own unilateral close', `ONCHAIN:2 outputs unresolved: in 4 blocks will spend DELAYED_OUTPUT_TO_US (${SPEND}:1) using OUR_DELAYED_RETURN_TO_WALLET`]);
    assert.equal(onchainStatus(d, 104)[1], `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent DELAYED_OUTPUT_TO_US (${SPEND}:1) using OUR_DELAYED_RETURN_TO_WALLET`);
    oc.outputs![0]!.spentBy = { txid: 'cd'.repeat(32), height: 106, ours: true };
    assert.deepEqual(onchainStatus(d, 110), ['ONCHAIN:Tracking our own unilateral close', 'ONCHAIN:All outputs resolved: waiting 95 more blocks before forgetting channel']);
    assert.equal(onchainStatus(d, 300)[1], 'ONCHAIN:All outputs resolved: waiting 0 more blocks before forgetting channel');
  });

  test('a revoked HTLC output named by who offered it: OUR_HTLC for ours, THEIR_HTLC for the cheater’s and for plans without the record', () => {
    const status = (htlc: { id: bigint; offeredByUs: boolean; cltvExpiry: number } | undefined): string => {
      const out = { vout: 1, what: 'htlc_revoked', amountSat: 30_000n, notBefore: 100, deadline: 244, ...(htlc ? { htlc } : {}) };
      return onchainStatus(withOnchain({ spendTxid: SPEND, kind: 'revoked', height: 100, sweeps: [], pending: [], outputs: [out] }), 100)[1]!;
    };
    assert.equal(status({ id: 3n, offeredByUs: true, cltvExpiry: 600 }), `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent OUR_HTLC (${SPEND}:1) using OUR_PENALTY_TX`);
    assert.equal(status({ id: 3n, offeredByUs: false, cltvExpiry: 600 }), `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent THEIR_HTLC (${SPEND}:1) using OUR_PENALTY_TX`);
    assert.equal(status(undefined), `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent THEIR_HTLC (${SPEND}:1) using OUR_PENALTY_TX`);
  });

  test('the earliest output is named, HTLCs by their lightningd types; outputs resolved 100 deep no longer count', () => {
    const htlcTx = 'ef'.repeat(32);
    const oc: OnchainState = {
      spendTxid: SPEND,
      kind: 'local',
      height: 100,
      sweeps: [],
      pending: [],
      outputs: [
        { vout: 0, what: 'to_local_delayed', amountSat: 500_000n, notBefore: 244 },
        { vout: 2, what: 'htlc_timeout_tx', amountSat: 30_000n, notBefore: 120 },
        { vout: 3, what: 'htlc_success_tx', amountSat: 20_000n, notBefore: 101, deadline: 130, spentBy: { txid: htlcTx, height: 101, ours: true } },
        { txid: htlcTx, vout: 0, what: 'htlc_delayed', fromVout: 3, amountSat: 20_000n, notBefore: 245 },
      ],
    };
    assert.equal(onchainStatus(withOnchain(oc), 110)[1], `ONCHAIN:5 outputs unresolved: in 9 blocks will spend OUR_HTLC (${SPEND}:2) using OUR_HTLC_TIMEOUT_TX`);
    // 200 blocks on: the funding spend and the HTLC-success transaction are irrevocable.
    oc.outputs![1]!.spentBy = { txid: '12'.repeat(32), height: 121, ours: true };
    assert.equal(onchainStatus(withOnchain(oc), 230)[1], `ONCHAIN:2 outputs unresolved: in 13 blocks will spend DELAYED_OUTPUT_TO_US (${SPEND}:0) using OUR_DELAYED_RETURN_TO_WALLET`);
  });

  test('their unilateral, their revoked, and a mutual close', () => {
    const base = { spendTxid: SPEND, height: 100, sweeps: [], pending: [] };
    assert.deepEqual(onchainStatus(withOnchain({ ...base, kind: 'remote', outputs: [{ vout: 4, what: 'htlc_success_remote', amountSat: 10_000n, notBefore: 101, deadline: 150 }] }), 100), [
      'ONCHAIN:Tracking their unilateral close',
      `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent THEIR_HTLC (${SPEND}:4) using THEIR_HTLC_FULFILL_TO_US`,
    ]);
    assert.deepEqual(onchainStatus(withOnchain({ ...base, kind: 'revoked', outputs: [{ vout: 1, what: 'to_local_revoked', amountSat: 10_000n, notBefore: 100, deadline: 244 }] }), 100), [
      'ONCHAIN:Tracking their illegal close: taking all funds',
      `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent DELAYED_CHEAT_OUTPUT_TO_THEM (${SPEND}:1) using OUR_PENALTY_TX`,
    ]);
    assert.deepEqual(onchainStatus(withOnchain({ ...base, kind: 'mutual', outputs: [] }), 100), ['ONCHAIN:Tracking mutual close transaction', 'ONCHAIN:All outputs resolved: waiting 99 more blocks before forgetting channel']);
  });
});

describe('on-chain status lines from the stored plan', () => {
  test('an unknown commitment: funds lost when no output of ours is on it, recovering when one is', () => {
    const base = { spendTxid: SPEND, kind: 'unknown' as const, height: 100, sweeps: [], pending: [] };
    assert.deepEqual(onchainStatus(withOnchain({ ...base, outputs: [] }), 100), ['ONCHAIN:ERROR: FUNDS LOST.  Unknown commitment!', 'ONCHAIN:All outputs resolved: waiting 99 more blocks before forgetting channel']);
    assert.deepEqual(onchainStatus(withOnchain({ ...base, outputs: [{ vout: 0, what: 'p2wpkh', amountSat: 70_000n, notBefore: 100 }] }), 100), [
      'ONCHAIN:ERROR: Unknown commitment, recovering our funds!',
      `ONCHAIN:2 outputs unresolved: waiting confirmation that we spent OUTPUT_TO_US (${SPEND}:0) using OUR_DELAYED_RETURN_TO_WALLET`,
    ]);
  });

  test("the wallet's fee input for our anchors HTLC transactions is not a channel output", () => {
    // Due before the HTLC: it would be named first, and counted, if it were the channel's.
    const outputs = [
      { vout: 2, what: 'htlc_timeout_tx', amountSat: 30_000n, notBefore: 120 },
      { txid: FEE_TX, vout: 1, what: 'fee_input', amountSat: 20_000n, notBefore: 110 },
    ];
    const lines = onchainStatus(withOnchain({ spendTxid: SPEND, kind: 'local', height: 100, sweeps: [], pending: [], outputs }), 105);
    assert.equal(lines[1], `ONCHAIN:2 outputs unresolved: in 14 blocks will spend OUR_HTLC (${SPEND}:2) using OUR_HTLC_TIMEOUT_TX`);
  });
});
