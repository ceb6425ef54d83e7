/**
 * The CLN commands whose figures come from the chain and the node itself, against anode daemons on btcd
 * regtest, driven over the JSON-RPC socket as lightning-cli would: getinfo's blockheight and sync
 * warnings move with the chain; waitblockheight waits for a mined block and times out with 2000;
 * feerates are the backend's own estimates; listtransactions shows a deposit and a withdrawal as btcd
 * has them; getlog and listpeers' log read the node's log book; listconfigs tells where each option came
 * from and setconfig changes the printed log level live and in the config file. Every result is checked
 * against its schema by the harness client.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useBtcd } from '../harness/btcd.js';
import { chainArgs, startDaemon, type Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { RawClient } from './harness.js';

const btcd = useBtcd('CLN chain commands');

interface Node {
  d: Daemon;
  rpc: RawClient;
  id: string;
}

async function start(extra: string[] = []): Promise<Node> {
  const d = await startDaemon([...chainArgs(btcd.node), ...extra]);
  const rpc = await RawClient.open(join(d.dir, 'regtest', 'lightning-rpc'));
  return { d, rpc, id: d.line.nodeId as string };
}

async function result(n: Node, method: string, params: unknown = {}): Promise<Record<string, unknown>> {
  const r = await n.rpc.call(method, params);
  assert.ok(r.result, `${method}: ${r.text}`);
  return r.result;
}

describe('CLN chain commands on btcd regtest', { skip: btcd.skip, timeout: 180_000 }, () => {
  let a: Node;
  let slow: Node;
  before(async () => {
    if (btcd.skip) return;
    a = await start();
    // Polls the backend every 10 minutes: it stays at the height it found at start.
    slow = await start(['--dev-chain-poll=600000']);
  });
  after(async () => {
    for (const n of [a, slow]) {
      n?.rpc.close();
      await n?.d.stop();
    }
  });

  it('getinfo: blockheight follows the mined chain; the sync warning exactly while the node is behind', async () => {
    const height = await btcd.node.getBlockCount();
    await until(async () => (await result(a, 'getinfo')).blockheight === height, { what: 'a at the tip', timeoutMs: 20_000 });
    await until(async () => (await result(slow, 'getinfo')).blockheight === height, { what: 'slow at the tip', timeoutMs: 20_000 });
    let info = await result(a, 'getinfo');
    assert.equal(info.warning_lightningd_sync, undefined);
    assert.equal(info.warning_bitcoind_sync, undefined);
    await btcd.node.generate(2);
    await until(async () => (await result(a, 'getinfo')).blockheight === height + 2, { what: 'a two blocks on', timeoutMs: 20_000 });
    info = await result(slow, 'getinfo');
    assert.equal(info.blockheight, height, 'slow has not polled');
    assert.equal(info.warning_lightningd_sync, 'Still loading latest blocks from bitcoind.');
    assert.equal(info.warning_bitcoind_sync, undefined, 'btcd itself is synced');
  });

  it('waitblockheight: returns at once for a past height, waits for a mined block, times out with 2000', async () => {
    const height = await btcd.node.getBlockCount();
    await until(async () => (await result(a, 'getinfo')).blockheight === height, { what: 'a at the tip', timeoutMs: 20_000 });
    assert.deepEqual(await result(a, 'waitblockheight', [height - 5]), { blockheight: height });
    const waiting = a.rpc.call('waitblockheight', { blockheight: height + 1, timeout: 60 });
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(done, false, 'still waiting before the block');
    await btcd.node.generate(1);
    assert.deepEqual((await waiting).result, { blockheight: height + 1 });
    const t0 = Date.now();
    const late = await a.rpc.call('waitblockheight', [height + 100, 1]);
    assert.deepEqual(late.error, { code: 2000, message: 'Timed out.' });
    assert.ok(Date.now() - t0 >= 900, 'waited for the timeout');
  });

  it("feerates: the backend's own estimates in both styles (or the warning when it has none)", async () => {
    const perkw = await result(a, 'feerates', ['perkw']);
    const perkb = await result(a, 'feerates', { style: 'perkb' });
    const kw = perkw.perkw as Record<string, unknown> & { estimates: { blockcount: number; feerate: number }[] };
    const kb = perkb.perkb as Record<string, unknown>;
    assert.equal(kw.floor, 253);
    assert.equal(kb.floor, 253 * 4);
    // btcd's estimatefee (BTC/kB) for each target, as anode converts it (sat per 1000 weight, floor 253).
    for (const blocks of [2, 6, 12, 100]) {
      const est = await btcd.node.rpc<number>('estimatefee', [Math.min(blocks, 25)]).catch(() => null);
      const listed = kw.estimates.find((e) => e.blockcount === blocks);
      if (est === null || est <= 0) assert.equal(listed, undefined, `no estimate for ${blocks} blocks`);
      else assert.equal(listed?.feerate, Math.max(253, Math.floor((est * 1e8) / 4)), `${blocks}-block estimate`);
    }
    if (kw.estimates.length < 4) {
      assert.equal(perkw.warning_missing_feerates, 'Some fee estimates unavailable: bitcoind startup?');
      assert.equal(perkw.onchain_fee_estimates, undefined);
    }
    for (const k of ['min_acceptable', 'max_acceptable', 'floor']) assert.equal(kb[k], Math.min(0xffffffff, (kw[k] as number) * 4), k);
  });

  it('listtransactions: a deposit and a withdrawal, as btcd has them', async () => {
    const { bech32 } = await result(a, 'newaddr');
    const script = addressToScript(bech32 as string, btcNetwork('regtest'));
    const utxo = await btcd.node.fund(script, 500_000n);
    await until(async () => ((await result(a, 'listfunds')).outputs as { status: string }[]).some((o) => o.status === 'confirmed'), { what: 'deposit seen', timeoutMs: 20_000 });
    type Tx = { hash: string; rawtx: string; blockheight: number; txindex: number; outputs: { amount_msat: number; scriptPubKey: string }[] };
    let txs = (await result(a, 'listtransactions')).transactions as Tx[];
    const deposit = txs.find((t) => t.hash === utxo.txid);
    assert.ok(deposit, `deposit ${utxo.txid} listed: ${JSON.stringify(txs.map((t) => t.hash))}`);
    assert.equal(deposit.rawtx, Buffer.from(await btcd.node.getRawTransaction(utxo.txid)).toString('hex'));
    const block = await btcd.node.getBlock(await btcd.node.getBlockHash(deposit.blockheight));
    assert.equal(block.transactions[deposit.txindex]!.txid, utxo.txid, 'blockheight and txindex locate it');
    assert.ok(deposit.outputs.some((o) => o.amount_msat === 500_000_000 && o.scriptPubKey === Buffer.from(script).toString('hex')));

    const w = await result(a, 'withdraw', { destination: 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', satoshi: 100_000 });
    txs = (await result(a, 'listtransactions')).transactions as Tx[];
    assert.deepEqual(txs.filter((t) => t.hash === w.txid).map((t) => [t.blockheight, t.txindex, t.rawtx]), [[0, 0, w.tx]], 'unconfirmed withdrawal');
    await btcd.node.generate(1);
    await until(async () => ((await result(a, 'listtransactions')).transactions as Tx[]).some((t) => t.hash === w.txid && t.blockheight > 0), {
      what: 'withdrawal confirmed',
      timeoutMs: 20_000,
    });
  });

  it("getlog and listpeers' log: the node's own entries, per peer with the peer's id", async () => {
    await result(a, 'connect', [slow.id, '127.0.0.1', Number(String((slow.d.line.listening as string[])[0]).split(':').at(-1))]);
    const book = await result(a, 'getlog', ['debug']);
    const entries = book.log as { type: string; source?: string; node_id?: string; log?: string }[];
    assert.match(book.created_at as string, /^\d+\.\d{9}$/);
    assert.ok((book.bytes_used as number) > 0 && (book.bytes_used as number) <= (book.bytes_max as number));
    assert.ok(entries.some((e) => e.type === 'DEBUG'), 'debug entries are kept although info is printed');
    assert.ok(entries.some((e) => e.type === 'INFO' && /anode started/.test(e.log ?? '')));
    const info = (await result(a, 'getlog')).log as { type: string }[];
    assert.ok(!info.some((e) => e.type === 'DEBUG'), 'getlog defaults to info');
    type Item = { type: string; node_id?: string; log?: string };
    const peerLog = async (level: string): Promise<Item[]> => ((await result(a, 'listpeers', [slow.id, level])).peers as { log: Item[] }[])[0]!.log;
    await until(async () => (await peerLog('debug')).some((e) => e.type === 'INFO' && e.node_id === slow.id && /peer connected/.test(e.log ?? '')), {
      what: "'peer connected' in the peer's log",
      timeoutMs: 10_000,
    });
    const debug = await peerLog('debug');
    assert.ok(debug.every((e) => e.type === 'SKIPPED' || e.node_id === slow.id), 'only entries about this peer');
    assert.ok(debug.some((e) => e.type === 'SKIPPED'), "the node's other entries are skipped");
    assert.ok((await peerLog('unusual')).every((e) => e.type === 'SKIPPED' || e.type === 'UNUSUAL' || e.type === 'BROKEN'), 'the level filters');
    const [plain] = (await result(a, 'listpeers', [slow.id])).peers as Record<string, unknown>[];
    assert.equal(plain!.log, undefined, 'no log without a level');
  });

  it('listconfigs shows values and sources; setconfig log-level changes the printed level now and in the config file', async () => {
    const all = (await result(a, 'listconfigs')).configs as Record<string, Record<string, unknown>>;
    assert.deepEqual(all['dev-chain-poll'], { value_int: 100, source: 'cmdline' });
    assert.deepEqual(all['log-level'], { value_str: 'info', source: 'default', dynamic: true });
    assert.deepEqual(all['developer'], { set: false, source: 'default' });
    assert.deepEqual(all['addr'], { values_str: ['127.0.0.1:0'], sources: ['cmdline'] });
    const one = await a.rpc.call('listconfigs', ['nosuch']);
    assert.equal(one.error?.code, -32602);
    assert.match(one.error!.message, /^config: Unknown config option/);
    const notDynamic = await a.rpc.call('setconfig', ['alias', 'X']);
    assert.equal(notDynamic.error?.code, -32602);
    assert.match(notDynamic.error!.message, /^config: Not a dynamic config option/);
    assert.deepEqual((await a.rpc.call('setconfig', ['log-level'])).error, { code: -32602, message: 'log-level requires a value' });

    const before = a.d.output().split('\n').filter((l) => l.includes('"level":20')).length;
    assert.equal(before, 0, 'no debug lines printed at info');
    const file = join(a.d.dir, 'regtest', 'config');
    const set = await result(a, 'setconfig', { config: 'log-level', val: 'debug' });
    assert.deepEqual(set, { config: { config: 'log-level', value_str: 'debug', source: `${file}:2`, dynamic: true } });
    assert.match(readFileSync(file, 'utf8'), /^# Inserted by setconfig .*\nlog-level=debug\n$/);
    // Dropping a peer logs at debug ('closing connection').
    await result(a, 'disconnect', [slow.id]);
    await until(() => a.d.output().includes('"level":20'), { what: 'debug lines printed', timeoutMs: 10_000 });
    const again = await result(a, 'setconfig', ['log-level', 'info']);
    assert.equal((again.config as { source: string }).source, `${file}:2`, 'the line setconfig wrote is replaced');
    assert.match(readFileSync(file, 'utf8'), /^# Inserted by setconfig .*\nlog-level=info\n$/);
    const transient = await result(a, 'setconfig', { config: 'log-level', val: 'warn', transient: true });
    assert.equal((transient.config as { source: string }).source, 'setconfig transient');
    assert.match(readFileSync(file, 'utf8'), /\nlog-level=info\n$/, 'transient: the file is unchanged');
  });

  it('check knows the new commands: their parameters are verified, nothing runs', async () => {
    const height = (await result(a, 'getinfo')).blockheight as number;
    assert.deepEqual(await result(a, 'check', ['waitblockheight', height + 1000, 1]), { command_to_check: 'waitblockheight' });
    assert.deepEqual(await result(a, 'check', { command_to_check: 'feerates', style: 'perkb' }), { command_to_check: 'feerates' });
    for (const c of ['listtransactions', 'getlog', 'listconfigs']) assert.deepEqual(await result(a, 'check', [c]), { command_to_check: c });
    assert.equal((await a.rpc.call('check', ['waitblockheight'])).error?.message, 'missing required parameter: blockheight');
    assert.match((await a.rpc.call('check', ['feerates', 'perkx'])).error!.message, /^style: /);
    assert.match((await a.rpc.call('check', ['setconfig', 'alias', 'x'])).error!.message, /^config: Not a dynamic config option/);
    assert.equal((await a.rpc.call('check', ['setconfig', 'log-level'])).error?.message, 'log-level requires a value');
    const before = readFileSync(join(a.d.dir, 'regtest', 'config'), 'utf8');
    assert.deepEqual(await result(a, 'check', ['setconfig', 'log-level', 'trace']), { command_to_check: 'setconfig' });
    assert.equal(readFileSync(join(a.d.dir, 'regtest', 'config'), 'utf8'), before, 'check changed nothing');
  });
});
