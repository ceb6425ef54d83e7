/**
 * `listpeerchannels` on-chain status lines say only what the stored plan says: a commitment we do not
 * know reads as lightningd's error (funds recovered when an output of ours was found on it, lost when
 * none was), not as their unilateral close; the wallet inputs that pay our anchors HTLC transactions'
 * fees are neither counted nor named as the channel's outputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChannelData, OnchainState } from '../../src/channel/state.js';
import { onchainStatus } from '../../src/rpc/cln/methods/onchain-status.js';
import { makePair } from '../channel/pair.js';

const SPEND = 'ab'.repeat(32);
const FEE_TX = '99'.repeat(32);

function withOnchain(onchain: OnchainState): ChannelData {
  const d = structuredClone(makePair().a.channel.data);
  d.onchain = onchain;
  return d;
}

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
    const oc: OnchainState = {
      spendTxid: SPEND,
      kind: 'local',
      height: 100,
      sweeps: [],
      pending: [],
      outputs: [
        { vout: 0, what: 'to_local_delayed', amountSat: 500_000n, notBefore: 244 },
        { vout: 2, what: 'htlc_timeout_tx', amountSat: 30_000n, notBefore: 120 },
        // Due before either: named first if it counted.
        { txid: FEE_TX, vout: 1, what: 'fee_input', amountSat: 20_000n, notBefore: 110 },
      ],
    };
    assert.equal(onchainStatus(withOnchain(oc), 105)[1], `ONCHAIN:3 outputs unresolved: in 14 blocks will spend OUR_HTLC (${SPEND}:2) using OUR_HTLC_TIMEOUT_TX`);
  });
});
