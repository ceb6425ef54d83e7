/**
 * The daemon's wallet against a real btcd: newaddr through anode-cli, coins sent there and mined show
 * up in listfunds, and withdraw pays out through the backend.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { BtcdNode, btcdGate, stopAllBtcd } from '../btcd/harness.js';
import { repoRoot } from '../helpers.js';

const gate = btcdGate('daemon wallet against btcd');
const BIN = join(repoRoot, 'dist', 'src', 'bin', 'anode.js');
const CLI = join(repoRoot, 'dist', 'src', 'bin', 'anode-cli.js');
let btcd: BtcdNode;
const dirs: string[] = [];
before(async () => {
  if (gate.skip) return;
  gate.require();
  btcd = await BtcdNode.start();
});
after(async () => {
  await stopAllBtcd();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
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
    const dir = mkdtempSync(join(tmpdir(), 'anode-wallet-'));
    dirs.push(dir);
    const child = spawn(process.execPath, [BIN, `--anode-dir=${dir}`, '--addr=127.0.0.1:0', '--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0', ...btcd.anodeArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const cli = (...args: string[]): Record<string, unknown> => {
      const r = spawnSync(process.execPath, [CLI, `--anode-dir=${dir}`, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    try {
      await until(() => out.includes('"nodeId"'), 'daemon started');
      const { bech32 } = cli('newaddr') as { bech32: string };
      assert.match(bech32, /^bcrt1q/);
      await btcd.fund(addressToScript(bech32, btcNetwork('regtest')), 250_000n);
      await until(() => ((cli('listfunds').outputs as { status: string }[]) ?? []).some((o) => o.status === 'confirmed'), 'funds confirmed in listfunds');
      const outputs = cli('listfunds').outputs as { amount_msat: number; address: string; status: string }[];
      assert.deepEqual(outputs.map((o) => [o.address, o.amount_msat, o.status]), [[bech32, 250_000_000, 'confirmed']]);

      const dest = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
      const w = cli('withdraw', dest, '100000') as { txid: string };
      assert.ok((await btcd.getRawMempool()).includes(w.txid), 'the withdrawal is in btcd’s mempool');
      await btcd.generate(1);
      await until(() => (cli('listfunds').outputs as { status: string; amount_msat: number }[]).every((o) => o.status === 'confirmed' && o.amount_msat < 250_000_000), 'change confirmed');
    } finally {
      child.kill('SIGTERM');
      assert.equal(await exited, 0, out.slice(-2000));
    }
  });
});
