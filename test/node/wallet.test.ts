/**
 * The daemon's wallet against a real btcd: newaddr through anode-cli, coins sent there and mined show
 * up in listfunds, and withdraw pays out through the backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { BtcdNode, btcdGate, stopAllBtcd } from '../harness/btcd.js';
import { cliJson, startDaemon } from '../harness/daemon.js';

const gate = btcdGate('daemon wallet against btcd');
let btcd: BtcdNode;
before(async () => {
  if (gate.skip) return;
  gate.require();
  btcd = await BtcdNode.start();
});
after(async () => {
  await stopAllBtcd();
});

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('anode wallet with btcd', { skip: gate.skip, timeout: 90_000 }, () => {
  it('newaddr, funds seen in listfunds after mining, withdraw mined', async () => {
    const d = await startDaemon(btcd.anodeArgs);
    const cli = (...args: string[]): Promise<Record<string, unknown>> => cliJson(d.dir, ...args);
    try {
      const { bech32 } = (await cli('newaddr')) as { bech32: string };
      assert.match(bech32, /^bcrt1q/);
      await btcd.fund(addressToScript(bech32, btcNetwork('regtest')), 250_000n);
      await until(async () => (((await cli('listfunds')).outputs as { status: string }[]) ?? []).some((o) => o.status === 'confirmed'), 'funds confirmed in listfunds');
      const outputs = (await cli('listfunds')).outputs as { amount_msat: number; address: string; status: string }[];
      assert.deepEqual(outputs.map((o) => [o.address, o.amount_msat, o.status]), [[bech32, 250_000_000, 'confirmed']]);

      const dest = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
      const w = (await cli('withdraw', dest, '100000')) as { txid: string };
      assert.ok((await btcd.getRawMempool()).includes(w.txid), 'the withdrawal is in btcd’s mempool');
      await btcd.generate(1);
      await until(async () => ((await cli('listfunds')).outputs as { status: string; amount_msat: number }[]).every((o) => o.status === 'confirmed' && o.amount_msat < 250_000_000), 'change confirmed');
    } finally {
      assert.equal(await d.stop(), 0, d.output().slice(-2000));
    }
  });
});
