/**
 * The daemon's wallet against a real btcd: newaddr through anode-cli, coins sent there and mined show
 * up in listfunds, and withdraw pays out through the backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { useBtcd } from '../harness/btcd.js';
import { cliJson, startDaemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

const btcd = useBtcd('daemon wallet against btcd');

describe('anode wallet with btcd', { skip: btcd.skip, timeout: 90_000 }, () => {
  it('newaddr, funds seen in listfunds after mining, withdraw mined', async () => {
    const d = await startDaemon(btcd.node.anodeArgs);
    const cli = (...args: string[]): Promise<Record<string, unknown>> => cliJson(d.dir, ...args);
    try {
      const { bech32 } = (await cli('newaddr')) as { bech32: string };
      assert.match(bech32, /^bcrt1q/);
      await btcd.node.fund(addressToScript(bech32, btcNetwork('regtest')), 250_000n);
      await until(async () => (((await cli('listfunds')).outputs as { status: string }[]) ?? []).some((o) => o.status === 'confirmed'), { what: 'funds confirmed in listfunds', intervalMs: 100 });
      const outputs = (await cli('listfunds')).outputs as { amount_msat: number; address: string; status: string }[];
      assert.deepEqual(outputs.map((o) => [o.address, o.amount_msat, o.status]), [[bech32, 250_000_000, 'confirmed']]);

      const dest = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
      const w = (await cli('withdraw', dest, '100000')) as { txid: string };
      assert.ok((await btcd.node.getRawMempool()).includes(w.txid), 'the withdrawal is in btcd’s mempool');
      await btcd.node.generate(1);
      await until(async () => ((await cli('listfunds')).outputs as { status: string; amount_msat: number }[]).every((o) => o.status === 'confirmed' && o.amount_msat < 250_000_000), { what: 'change confirmed', intervalMs: 100 });
    } finally {
      assert.equal(await d.stop(), 0, d.output().slice(-2000));
    }
  });
});
