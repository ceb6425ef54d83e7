/**
 * `fundchannel` when the backend refuses the funding transaction, as a user meets it: btcd regtest below
 * segwit activation (height < 432) refuses any spend with witness data, and anode's wallet holds only
 * P2WPKH coins (mined straight to its first address). The command must fail with the backend's words, as
 * lightningd's does (`Error broadcasting transaction: …`, code -1), never return a txid; and no channel is
 * left pending, the wallet's coins free again. Both nodes are the daemon binary, driven with anode-cli.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RECEIVE, WalletKeys } from '../../src/wallet/keys.js';
import { useBtcd } from '../harness/btcd.js';
import { chainArgs, cli, cliJson, startDaemon, tempDir } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

const SEED = Buffer.alloc(32, 0x3c);
const minerKey = new WalletKeys(SEED, 'regtest').derive('p2wpkh', RECEIVE, 0).privateKey;
const btcd = useBtcd('fundchannel refused by the backend', { activateSoftForks: false, minerKey });

interface Funds {
  outputs: { status: string; reserved: boolean }[];
}

describe('fundchannel whose funding transaction the backend refuses', { skip: btcd.skip, timeout: 180_000 }, () => {
  it('returns the broadcast error and leaves no channel and no reserved coin', async () => {
    // The funder's seed, with its birthday (genesis): its first address receives every coinbase.
    const dirA = tempDir();
    mkdirSync(join(dirA, 'regtest'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dirA, 'regtest', 'hsm_secret'), SEED, { mode: 0o600 });
    writeFileSync(join(dirA, 'regtest', 'hsm_secret.birthday'), '0\n', { mode: 0o600 });
    await btcd.node.generate(110);
    assert.ok((await btcd.node.getBlockCount()) < 432, 'segwit is not active yet');

    const a = await startDaemon(chainArgs(btcd.node), dirA);
    const b = await startDaemon(chainArgs(btcd.node));
    try {
      await until(async () => (await cliJson<Funds>(a.dir, 'listfunds')).outputs.filter((o) => o.status === 'confirmed').length >= 10, {
        what: 'mature coinbases in the wallet',
        timeoutMs: 60_000,
      });
      const bId = b.line.nodeId as string;
      const bPort = (b.line.listening as string[])[0]!.split(':').pop();
      await cliJson(a.dir, 'connect', `${bId}@127.0.0.1:${bPort}`);

      const r = await cli(a.dir, 'fundchannel', bId, '200000');
      assert.notEqual(r.status, 0, `fundchannel must fail: ${r.out}${r.err}`);
      const text = r.out + r.err;
      assert.match(text, /Error broadcasting transaction: .*rejected by the node/, text);
      assert.match(text, /-1/, 'lightningd’s code for a refused broadcast');
      assert.doesNotMatch(text, /"txid"/);

      const channels = (await cliJson<{ channels: unknown[] }>(a.dir, 'listpeerchannels')).channels;
      assert.deepEqual(channels, [], 'no channel left pending');
      const funds = (await cliJson<Funds>(a.dir, 'listfunds')).outputs;
      assert.ok(funds.length > 0 && funds.every((o) => !o.reserved), 'the coins are free again');
      assert.match(a.output(), /funding transaction refused by the backend; channel forgotten/);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
