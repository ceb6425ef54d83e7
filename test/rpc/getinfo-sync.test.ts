/**
 * getinfo's two sync warnings over a stand-in backend (btcd regtest is never in initial block download):
 * lightningd shows `warning_bitcoind_sync` while the backend itself catches up (its getblockchaininfo),
 * else `warning_lightningd_sync` while the node has not processed the backend's best block; never both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rpcCall, startRpcNode, type RpcNode } from './harness.js';

describe('getinfo sync warnings', () => {
  let n: RpcNode;
  let info: Record<string, unknown> | Error = { headers: 120, blocks: 120, initialblockdownload: false };
  before(async () => {
    n = await startRpcNode();
    // No channel manager here: the node has processed no block, so it is behind a backend that answers.
    (n.core as { chain?: unknown }).chain = {
      getBestBlockHash: async () => 'ab'.repeat(32),
      getBlockCount: async () => 120,
      estimateFeeSatPerKw: async () => null,
      call: async (method: string) => {
        assert.equal(method, 'getblockchaininfo');
        if (info instanceof Error) throw info;
        return info;
      },
    };
  });
  after(() => n.close());

  const warnings = async (): Promise<unknown[]> => {
    const r = (await rpcCall(n.path, 'getinfo')).result!;
    return [r.warning_bitcoind_sync, r.warning_lightningd_sync];
  };

  it('the backend synced, the node behind: warning_lightningd_sync', async () => {
    info = { headers: 120, blocks: 120, initialblockdownload: false };
    assert.deepEqual(await warnings(), [undefined, 'Still loading latest blocks from bitcoind.']);
  });

  it('the backend behind the network (more headers than blocks, or in IBD): only warning_bitcoind_sync', async () => {
    info = { headers: 130, blocks: 120 };
    assert.deepEqual(await warnings(), ['Bitcoind is not up-to-date with network.', undefined]);
    info = { headers: 120, blocks: 120, initialblockdownload: true };
    assert.deepEqual(await warnings(), ['Bitcoind is not up-to-date with network.', undefined]);
  });

  it('getblockchaininfo failing: no bitcoind warning is made up', async () => {
    info = new Error('down');
    assert.deepEqual(await warnings(), [undefined, 'Still loading latest blocks from bitcoind.']);
  });
});
