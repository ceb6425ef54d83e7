/**
 * The daemon's own watchtower punishes a breach on a real btcd regtest chain: `anode --watchtower.active`
 * pointed at btcd with the lightningd --bitcoin-rpc* options, a justice kit uploaded over wtwire to the
 * tower key (family 9 of the daemon's seed), the breach mined, and btcd mining the justice transaction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTransaction } from '../../src/chain/block.js';
import { useBtcd } from '../harness/btcd.js';
import { BLOB_TYPE, expectedSweep, justiceKitFor, makeBreach, Victim } from '../watchtower/lookout/harness.js';
import { sleep, until } from '../harness/wait.js';
import { cliJson, startDaemon } from '../harness/daemon.js';

const btcd = useBtcd('daemon watchtower punishment against btcd');

describe('anode --watchtower.active with btcd', { skip: btcd.skip, timeout: 90_000 }, () => {
  it('punishes a breach: btcd mines the justice transaction, which pays the spec amount', async () => {
    const d = await startDaemon(['--watchtower.active', '--watchtower.listen=127.0.0.1:0', ...btcd.node.anodeArgs]);
    try {
      const { pubkey, listeners } = await cliJson<{ pubkey: string; listeners: string[] }>(d.dir, 'tower', 'info');
      const port = Number(listeners[0]!.split(':').at(-1));

      const victim = await Victim.create(port, BLOB_TYPE.anchor, Buffer.from(pubkey, 'hex'));
      const breach = await makeBreach(btcd.node, 'anchor', 600_000n, 390_000n);
      const { hint, blob } = justiceKitFor(breach, BLOB_TYPE.anchor);
      await victim.upload(hint, blob);

      // Let the lookout adopt the current tip before the breach is mined.
      await sleep(2500);
      const from = (await btcd.node.getBlockCount()) + 1;
      await btcd.node.sendRawTransaction(breach.hex);
      await btcd.node.generate(1);
      // The tower publishes the justice transaction: it appears in btcd's mempool spending the breach.
      let justiceTxid: string | undefined;
      await until(async () => {
        for (const txid of await btcd.node.getRawMempool()) {
          const tx = parseTransaction(await btcd.node.getRawTransaction(txid));
          if (tx.inputs.some((i) => i.txid === breach.txid)) justiceTxid = txid;
        }
        return justiceTxid !== undefined;
      }, { what: 'justice transaction in the mempool', timeoutMs: 30_000 });
      await btcd.node.generate(1);
      const block = await btcd.node.getBlock(await btcd.node.getBlockHash(from + 1));
      const jt = block.transactions.find((t) => t.txid === justiceTxid);
      assert.ok(jt, 'btcd mined the justice transaction (full script validation)');
      assert.deepEqual(jt.inputs.map((i) => `${i.txid}:${i.vout}`).sort(), [breach.toLocal!, breach.toRemote!].map((o) => `${breach.txid}:${o.vout}`).sort());
      assert.equal(jt.outputs[0]!.valueSat, expectedSweep('anchor', 600_000n, 390_000n, breach.sweepScript));
    } finally {
      assert.equal(await d.stop(), 0, d.output().slice(-2000));
    }
  });
});
