/**
 * The regtest lab as a newcomer runs it (`npm run regtest`, here `node scripts/regtest.mjs --dir=…` on
 * the built tree): btcd with TLS, segwit active, two funded anode nodes. Driven with the commands it
 * prints: alice connects to bob and opens a channel, blocks are mined over btcd's TLS RPC with its
 * certificate (anode's client, as `--bitcoin-rpccert` uses it), both see CHANNELD_NORMAL; then SIGTERM
 * (what Ctrl-C does) stops it cleanly: exit 0, no node or btcd left running.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BitcoindRpcClient } from '../../src/chain/bitcoind-rpc.js';
import { repoRoot } from '../helpers.js';
import { btcdGate } from '../harness/btcd.js';
import { cliJson, tempDir } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

const gate = btcdGate('the regtest lab');

interface Ready {
  dir: string;
  btcd: { pid: number; rpcPort: number; user: string; password: string; cert: string };
  nodes: { name: string; dir: string; id: string; port: number; pid: number }[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run regtest', { skip: gate.skip, timeout: 300_000 }, () => {
  it('starts btcd and two funded nodes that open a channel, and stops cleanly on SIGTERM', async () => {
    gate.require();
    const dir = tempDir('anode-lab-');
    const lab = spawn(process.execPath, [join(repoRoot, 'scripts', 'regtest.mjs'), `--dir=${dir}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    lab.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => lab.once('exit', r));
    let ready: Ready | undefined;
    try {
      ready = await new Promise<Ready>((resolve, reject) => {
        lab.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /^lab: ready (.*)$/m.exec(out);
          if (m) resolve(JSON.parse(m[1]!) as Ready);
        });
        void exited.then((code) => reject(new Error(`the lab exited ${code} before it was ready:\n${out}`)));
      });
      const [alice, bob] = ready.nodes;
      assert.ok(alice && bob);
      // What it prints is what a user types.
      assert.match(out, new RegExp(`anode-cli(\\.js)? --anode-dir=${alice.dir} getinfo`));
      assert.match(out, /segwit active/);
      for (const n of ready.nodes) assert.equal((await cliJson<{ id: string }>(n.dir, 'getinfo')).id, n.id);

      await cliJson(alice.dir, 'connect', `${bob.id}@127.0.0.1:${bob.port}`);
      const funded = await cliJson<{ txid: string }>(alice.dir, 'fundchannel', bob.id, '1000000');
      assert.match(funded.txid, /^[0-9a-f]{64}$/);
      const btcd = new BitcoindRpcClient({ port: ready.btcd.rpcPort, user: ready.btcd.user, password: ready.btcd.password, tlsCert: readFileSync(ready.btcd.cert) });
      try {
        await btcd.call('generate', [3]);
      } finally {
        btcd.close();
      }
      for (const n of [alice, bob]) {
        await until(async () => (await cliJson<{ channels: { state: string }[] }>(n.dir, 'listpeerchannels')).channels[0]?.state === 'CHANNELD_NORMAL', {
          what: `${n.name}'s channel to reach CHANNELD_NORMAL`,
          timeoutMs: 60_000,
        });
      }
    } finally {
      lab.kill('SIGTERM');
    }
    assert.equal(await exited, 0, `the lab stops cleanly:\n${out}`);
    assert.match(out, /regtest: stopped/);
    for (const pid of [ready.btcd.pid, ...ready.nodes.map((n) => n.pid)]) assert.equal(alive(pid), false, `process ${pid} is gone`);
  });
});
