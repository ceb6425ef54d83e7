/**
 * pyln-client, the Python client Core Lightning ships, drives two anode daemons (test/rpc/pyln_suite.py):
 * getinfo, help, connect, listpeers, ping, disconnect, stop, and the -32602/-1/400/401 error cases with
 * their codes and messages. Each result pyln received is validated here against the method's schema.
 *
 * A second run drives one daemon on btcd regtest (mode "chain"): getinfo's height after mining,
 * waitblockheight, feerates and listtransactions, pyln mining through btcd's JSON-RPC itself.
 *
 * Needs `pip install pyln-client` (python3 on PATH, or ANODE_PYTHON). Without it the suite is skipped
 * with a loud message, unless ANODE_REQUIRE_INTEROP=1 (CI), where it fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { INIT_FEATURES } from '../../src/node/node.js';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { useBtcd } from '../harness/btcd.js';
import { chainArgs } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { fromValue } from '../../src/rpc/cln/json.js';
import { validate } from '../../src/rpc/cln/validator.js';
import { repoRoot } from '../helpers.js';
import { staticKey } from '../harness/daemon.js';
import { rpcCall, schemas, startDaemon } from './harness.js';

const PYTHON = process.env.ANODE_PYTHON ?? 'python3';
const required = process.env.ANODE_REQUIRE_INTEROP === '1';

function pylnMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import pyln.client; print(pyln.client.__version__)'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} cannot import pyln.client (pip install pyln-client): ${r.stderr.trim().split('\n').at(-1)}`;
  return undefined;
}

const missing = pylnMissing();
let skip: string | false = false;
if (missing && !required) {
  skip = `PYLN-CLIENT NOT AVAILABLE — pyln-client tests SKIPPED: ${missing} (set ANODE_REQUIRE_INTEROP=1 to make this fatal)`;
  process.stderr.write(`\n*** ${skip} ***\n\n`);
}

/** Runs pyln_suite.py with `cfg`; returns each result pyln received, every one valid against its schema. */
async function runSuite(cfg: Record<string, unknown>): Promise<{ methods: Set<string>; count: number }> {
  const child = spawn(PYTHON, [join(repoRoot, 'test', 'rpc', 'pyln_suite.py'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  assert.equal(code, 0, `pyln suite failed:\n${err}\n${out.split('\n').slice(-5).join('\n')}`);
  const lines = out.trim().split('\n');
  assert.match(lines.at(-1)!, /^OK \d+ checks$/);
  const results = lines.slice(0, -1).map((l) => JSON.parse(l) as { method: string; result: unknown });
  const methods = new Set<string>();
  for (const { method, result } of results) {
    methods.add(method);
    const issues = validate(schemas.get(method)!.response, fromValue(result).root, 'response');
    assert.deepEqual(issues.map((i) => `${i.path || '.'}: ${i.reason}`), [], `${method} result ${JSON.stringify(result)}`);
  }
  return { methods, count: results.length };
}

describe('pyln-client drives anode', { skip, timeout: 120_000 }, () => {
  it('getinfo, help, connect, listpeers, ping, disconnect, stop: CLN answers, codes and messages; results valid against the schemas', async () => {
    assert.equal(missing, undefined, `pyln-client is required (ANODE_REQUIRE_INTEROP=1): ${missing}`);
    const [l1, l2] = await Promise.all([startDaemon(), startDaemon()]);
    try {
      const cfg = {
        features: INIT_FEATURES.toHex(),
        l1: { rpc: l1.rpcPath, id: l1.nodeId, port: l1.port, db: join(l1.anodeDir, 'regtest', 'anode.sqlite3') },
        l2: { rpc: l2.rpcPath, id: l2.nodeId, port: l2.port },
        unknown: staticKey(0x97).publicKey.toString('hex'),
      };
      const { methods, count } = await runSuite(cfg);
      assert.ok(count >= 20, `${count} results`);
      assert.deepEqual([...methods].sort(), ['check', 'connect', 'disconnect', 'getinfo', 'help', 'listpeers', 'ping', 'stop']);
      assert.equal(await l2.exited, 0, 'stop (sent by pyln) made l2 exit 0');
    } finally {
      await Promise.all([l1.stop(), l2.stop()]);
    }
  });
});

describe('pyln-client drives the invoice commands', { skip, timeout: 120_000 }, () => {
  it('invoice, listinvoices, decodepay, decode, delinvoice, waitanyinvoice: codes, messages, results valid against the schemas', async () => {
    assert.equal(missing, undefined, `pyln-client is required (ANODE_REQUIRE_INTEROP=1): ${missing}`);
    const l1 = await startDaemon();
    try {
      const { methods } = await runSuite({ mode: 'invoices', l1: { rpc: l1.rpcPath, id: l1.nodeId } });
      assert.deepEqual([...methods].sort(), ['decode', 'decodepay', 'delinvoice', 'invoice', 'listinvoices']);
    } finally {
      await l1.stop();
    }
  });
});

const btcd = useBtcd('pyln-client on btcd regtest');

describe('pyln-client drives anode on btcd regtest', { skip: skip || btcd.skip, timeout: 120_000 }, () => {
  it('getinfo height after mining, waitblockheight, feerates, listtransactions', async () => {
    assert.equal(missing, undefined, `pyln-client is required (ANODE_REQUIRE_INTEROP=1): ${missing}`);
    const l1 = await startDaemon(chainArgs(btcd.node));
    try {
      const { bech32 } = (await rpcCall(l1.rpcPath, 'newaddr')).result as { bech32: string };
      const utxo = await btcd.node.fund(addressToScript(bech32, btcNetwork('regtest')), 300_000n);
      let height = 0;
      await until(
        async () => {
          const outs = (await rpcCall(l1.rpcPath, 'listfunds')).result!.outputs as { txid: string; status: string; blockheight?: number }[];
          height = outs.find((o) => o.txid === utxo.txid && o.status === 'confirmed')?.blockheight ?? 0;
          return height > 0;
        },
        { what: 'the deposit confirmed', timeoutMs: 30_000 },
      );
      const { user, password, host, port } = btcd.node.rpcOptions;
      const { methods } = await runSuite({
        mode: 'chain',
        l1: { rpc: l1.rpcPath, id: l1.nodeId },
        btcd: { url: `http://${host}:${port}/`, user, password },
        deposit: { txid: utxo.txid, height, sat: 300_000 },
      });
      assert.deepEqual([...methods].sort(), ['feerates', 'getinfo', 'listtransactions', 'waitblockheight']);
    } finally {
      await l1.stop();
    }
  });
});
