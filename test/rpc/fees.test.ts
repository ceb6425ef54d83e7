/**
 * feerates' figures over a backend with estimates (btcd regtest has none, so the end-to-end test sees
 * only the warning): each use at the target anode uses for it, both styles, the acceptable range from
 * --max-fee-multiplier, and onchain_fee_estimates from the transaction weights of BOLT 3 and the wallet.
 * The backend is a stand-in answering estimateFeeSatPerKw from a table.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FeeEstimate } from '../../src/chain/chain-source.js';
import { rpcCall, startRpcNode, type RpcNode } from './harness.js';

/** sat per 1000 weight by confirmation target. */
const TABLE: Record<number, number> = { 2: 15000, 6: 11000, 12: 7500, 100: 3750 };

describe('feerates over a backend with estimates', () => {
  let n: RpcNode;
  before(async () => {
    n = await startRpcNode();
    (n.core as { chain?: unknown }).chain = {
      getBestBlockHash: async () => '00'.repeat(32),
      getBlockCount: async () => 0,
      estimateFeeSatPerKw: async (blocks: number): Promise<FeeEstimate | null> =>
        TABLE[blocks] === undefined ? null : { feeRateSatPerKw: TABLE[blocks]!, blocks, source: 'estimatesmartfee' },
    };
  });
  after(() => n.close());

  it('perkw: each use at its target, the range, the floor, the estimates; perkb is four times as much', async () => {
    const kw = (await rpcCall(n.path, 'feerates', ['perkw'])).result!;
    assert.equal(kw.warning_missing_feerates, undefined);
    assert.deepEqual(kw.perkw, {
      opening: 7500,
      mutual_close: 7500,
      unilateral_close: 11000,
      unilateral_anchor_close: 7500,
      penalty: 15000,
      splice: 7500,
      min_acceptable: 253,
      // the 6-block estimate × the default --max-fee-multiplier (10)
      max_acceptable: 110000,
      floor: 253,
      estimates: [2, 6, 12, 100].map((b) => ({ blockcount: b, feerate: TABLE[b], smoothed_feerate: TABLE[b] })),
    });
    const kb = (await rpcCall(n.path, 'feerates', { style: 'perkb' })).result!;
    const four = (o: Record<string, unknown>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v.map((e: Record<string, number>) => ({ ...e, feerate: e.feerate! * 4, smoothed_feerate: e.smoothed_feerate! * 4 })) : (v as number) * 4]));
    assert.deepEqual(kb.perkb, four(kw.perkw as Record<string, unknown>));
    assert.deepEqual(kb.onchain_fee_estimates, kw.onchain_fee_estimates);
  });

  it('onchain_fee_estimates: the weights anode builds each transaction with, at the rate it would use', async () => {
    const e = (await rpcCall(n.path, 'feerates', ['perkw'])).result!.onchain_fee_estimates as Record<string, number>;
    // Funding: 10 bytes of version/counts/locktime (×4) + marker/flag 2, a P2WPKH input (41×4 + 109
    // witness), the P2WSH output (43×4), P2WPKH change (31×4) = 611 weight, fee rounded up.
    assert.equal(e.opening_channel_satoshis, Math.ceil((611 * 7500) / 1000));
    // Closing to two P2WPKH outputs: 113 bytes ×4 + 224 witness = 676 weight.
    assert.equal(e.mutual_close_satoshis, Math.floor((676 * 7500) / 1000));
    // BOLT 3: commitment 1124 (anchors) / 724 weight, HTLC-timeout 663, HTLC-success 703.
    assert.equal(e.unilateral_close_satoshis, Math.floor((1124 * 7500) / 1000));
    assert.equal(e.unilateral_close_nonanchor_satoshis, Math.floor((724 * 11000) / 1000));
    assert.equal(e.htlc_timeout_satoshis, Math.floor((663 * 11000) / 1000));
    assert.equal(e.htlc_success_satoshis, Math.floor((703 * 11000) / 1000));
  });

  it('a target the backend has no estimate for: left out, with the warning, and no transaction costs', async () => {
    const saved = TABLE[12];
    delete TABLE[12];
    try {
      const r = (await rpcCall(n.path, 'feerates', ['perkw'])).result!;
      assert.equal(r.warning_missing_feerates, 'Some fee estimates unavailable: bitcoind startup?');
      const kw = r.perkw as Record<string, unknown>;
      for (const use of ['opening', 'mutual_close', 'unilateral_anchor_close', 'splice']) assert.equal(kw[use], undefined, use);
      assert.equal(kw.unilateral_close, 11000);
      assert.equal(r.onchain_fee_estimates, undefined);
    } finally {
      TABLE[12] = saved!;
    }
  });
});
