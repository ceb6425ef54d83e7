/**
 * `pay`'s fee budget as CLN computes it: `maxfee` when given, else `maxfeepercent` (default 0.5 %) of
 * the amount, but never below `exemptfee` (default 5000 msat); over the real JSON-RPC server, `pay`'s
 * and `getroute`'s parameters as CLN takes them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { feeBudget } from '../../src/payment/pay.js';
import { rpcCall, startRpcNode, type RpcNode } from '../rpc/harness.js';

describe('pay limits', () => {
  it('fee budget: maxfeepercent of the amount, never below exemptfee; maxfee replaces both', () => {
    assert.equal(feeBudget(10_000_000n, {}), 50_000n, '0.5 % of 10,000 sat');
    assert.equal(feeBudget(100_000n, {}), 5000n, 'exemptfee for a tiny payment');
    assert.equal(feeBudget(10_000_000n, { maxFeePercent: 1.25 }), 125_000n);
    assert.equal(feeBudget(10_000_000n, { maxFeePercent: 0.001, exemptFeeMsat: 7n }), 100n);
    assert.equal(feeBudget(10_000_000n, { maxFeeMsat: 3n, maxFeePercent: 50 }), 3n);
  });
});

describe('CLN pay and getroute parameters', () => {
  let n: RpcNode;
  before(async () => {
    n = await startRpcNode();
  });
  after(async () => {
    await n.close();
  });

  it('pay refuses maxfee together with maxfeepercent or exemptfee, as CLN', async () => {
    for (const extra of [{ maxfeepercent: 1 }, { exemptfee: 1000 }]) {
      const r = await rpcCall(n.path, 'pay', { bolt11: 'lnbcrt1', maxfee: 1000, ...extra });
      assert.deepEqual([r.error?.code, r.error?.message], [-32602, 'If you specify maxfee, cannot specify maxfeepercent or exemptfee.']);
    }
  });

  it('pay and getroute take CLN’s positional order; exclude entries are checked', async () => {
    const usage = async (command: string) => ((await rpcCall(n.path, 'help', { command })).result!.help as { command: string }[])[0]!.command;
    assert.equal(await usage('pay'), 'pay bolt11 [amount_msat] [label] [riskfactor] [maxfeepercent] [retry_for] [maxdelay] [exemptfee] [exclude] [maxfee]');
    assert.equal(await usage('getroute'), 'getroute id amount_msat riskfactor [cltv] [fromid] [fuzzpercent] [exclude] [maxhops]');
    const bad = await rpcCall(n.path, 'getroute', { id: '02' + '11'.repeat(32), amount_msat: 1000, riskfactor: 1, exclude: ['nonsense'] });
    assert.equal(bad.error?.code, -32602);
  });
});
