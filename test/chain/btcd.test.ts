/**
 * The chain layer against a real btcd regtest node (test/harness/btcd.ts): RPC round trips, mining,
 * fee estimates, sendrawtransaction of a real signed spend and of invalid ones, a backend that is down
 * and comes up, the chain notifier (every block in order, resume after a restart, survive a btcd
 * restart) and a real reorg made with btcd's `invalidateblock`.
 *
 * Without btcd these tests skip loudly; with ANODE_REQUIRE_INTEROP=1 they fail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BitcoindRpcClient } from '../../src/chain/bitcoind-rpc.js';
import { MemoryTipStore, type ConnectedBlock } from '../../src/chain/notifier.js';
import { watch, type Watch } from './watch.js';
import { merkleRoot, parseBlock, parseBlockHeader, parseTransaction } from '../../src/chain/block.js';
import { ChainError } from '../../src/chain/errors.js';
import type { BlockTip } from '../../src/chain/chain-source.js';
import { BtcdNode, TcpProxy, freePort, newP2wpkhKey, signP2wpkhSpend, useBtcd, SOFT_FORKS_ACTIVE_HEIGHT } from '../harness/btcd.js';
import { sleep, until } from '../harness/wait.js';
import { failOnUnhandledRejections } from '../harness/guards.js';

const REGTEST_GENESIS = '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206';

failOnUnhandledRejections();

/** Every watcher a test starts, stopped in after() even when the test fails (a live timer would hang the run). */
const watchers: Watch[] = [];
function track(w: Watch): Watch {
  watchers.push(w);
  return w;
}
let client: BitcoindRpcClient;

const btcd = useBtcd('chain backend tests against btcd', {
  setup: async (node) => {
    console.error(`btcd: RPC up in ${node.startupMs} ms, soft forks active (height ${SOFT_FORKS_ACTIVE_HEIGHT})`);
    client = new BitcoindRpcClient({ ...node.rpcOptions, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 } });
  },
  teardown: async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    client?.close();
  },
});

/** How long the notifier gets to deliver what was mined (it polls every 50 ms). */
const NOTIFIER_WAIT = { timeoutMs: 15_000, intervalMs: 20 } as const;

describe('BitcoindRpcClient against btcd', { skip: btcd.skip, timeout: 120_000 }, () => {
  it('block count, hashes, raw blocks and headers round-trip', async () => {
    const count = await client.getBlockCount();
    assert.ok(count >= SOFT_FORKS_ACTIVE_HEIGHT);
    assert.equal(await client.getBlockHash(0), REGTEST_GENESIS);
    const best = await client.getBestBlockHash();
    assert.equal(await client.getBlockHash(count), best);
    const block = parseBlock(await client.getRawBlock(best));
    assert.equal(block.hash, best);
    assert.equal(block.header.prevHash, await client.getBlockHash(count - 1));
    assert.equal(block.header.merkleRoot, merkleRoot(block.transactions.map((t) => t.txid)));
    assert.ok(Buffer.from(block.transactions[0]!.outputs[0]!.script).equals(Buffer.from(btcd.node.miner.script)), 'coinbase pays the miner key');
    const header = parseBlockHeader(await client.getRawBlockHeader(best));
    assert.deepEqual(header, block.header);
    await assert.rejects(client.getBlockHash(count + 1000), (e: unknown) => e instanceof ChainError && e.code === 'NOT_FOUND');
    await assert.rejects(client.getRawBlock('11'.repeat(32)), (e: unknown) => e instanceof ChainError && e.code === 'NOT_FOUND');
    await assert.rejects(client.getRawTransaction('11'.repeat(32)), (e: unknown) => e instanceof ChainError && e.code === 'NOT_FOUND');
  });

  it('mining: generate N moves the tip by N', async () => {
    const before = await client.getBlockCount();
    const hashes = await btcd.node.generate(5);
    assert.equal(await client.getBlockCount(), before + 5);
    for (let i = 0; i < 5; i++) assert.equal(await client.getBlockHash(before + 1 + i), hashes[i]);
  });

  it('fee estimate: null or an integer sat/kw ≥ 253 from estimatefee (btcd has no estimatesmartfee)', async () => {
    const est = await client.estimateFeeSatPerKw(6);
    if (est !== null) {
      assert.equal(est.source, 'estimatefee');
      assert.ok(Number.isSafeInteger(est.feeRateSatPerKw) && est.feeRateSatPerKw >= 253, JSON.stringify(est));
      assert.ok(est.blocks >= 1 && est.blocks <= 25);
    }
    const again = await client.estimateFeeSatPerKw(2);
    assert.ok(again === null || again.source === 'estimatefee');
  });

  it('sendrawtransaction: a real signed P2WPKH spend is accepted, mined, and found; invalid ones fail clearly', async () => {
    const key = newP2wpkhKey();
    const utxo = await btcd.node.fund(key.script, 1_000_000n);
    // The funding tx round-trips through getrawtransaction (txindex).
    assert.equal(parseTransaction(await client.getRawTransaction(utxo.txid)).txid, utxo.txid);

    const dest = newP2wpkhKey();
    const spend = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script: dest.script, amountSat: 990_000n }]);
    assert.equal(await client.sendRawTransaction(spend.raw), spend.txid);
    assert.ok((await btcd.node.getRawMempool()).includes(spend.txid));
    assert.equal(await client.sendRawTransaction(spend.hex), spend.txid, 'a re-send is not an error');
    assert.deepEqual(Buffer.from(await client.getRawTransaction(spend.txid)), Buffer.from(spend.raw));
    const [h] = await btcd.node.generate(1);
    const mined = parseBlock(await client.getRawBlock(h!));
    assert.ok(mined.transactions.some((t) => t.txid === spend.txid));
    assert.equal(await client.sendRawTransaction(spend.hex), spend.txid, 'a re-send after confirmation is not an error');

    // A signature over the wrong amount: btcd's script check fails.
    const utxo2 = await btcd.node.fund(key.script, 500_000n);
    const badSig = signP2wpkhSpend([{ utxo: { ...utxo2, amountSat: utxo2.amountSat + 1n }, privateKey: key.privateKey }], [{ script: dest.script, amountSat: 490_000n }]);
    await assert.rejects(client.sendRawTransaction(badSig.hex), (e: unknown) => {
      assert.ok(e instanceof ChainError, String(e));
      assert.equal(e.code, 'TX_REJECTED');
      assert.ok(e.rpcCode === -25 || e.rpcCode === -26, String(e.rpcCode));
      assert.match(e.message, /^chain: sendrawtransaction: rejected by the node: TX rejected: failed to validate input/);
      return true;
    });
    // Double spend of the already-spent output.
    const dbl = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script: key.script, amountSat: 980_000n }]);
    await assert.rejects(client.sendRawTransaction(dbl.hex), (e: unknown) => e instanceof ChainError && e.code === 'TX_REJECTED' && /TX rejected/.test(e.message));
    // Garbage.
    await assert.rejects(client.sendRawTransaction('00deadbeef'), (e: unknown) => e instanceof ChainError && e.code === 'TX_REJECTED' && e.rpcCode === -22 && /TX decode failed/.test(e.message));
  });

  it('wrong password: AUTH, not retried', async () => {
    const bad = new BitcoindRpcClient({ ...btcd.node.rpcOptions, password: 'wrong' });
    await assert.rejects(bad.getBlockCount(), (e: unknown) => e instanceof ChainError && e.code === 'AUTH' && !e.transient);
    bad.close();
  });

  it('backend down: UNREACHABLE after retries, then recovers when btcd starts', async () => {
    const port = await freePort();
    const down = new BitcoindRpcClient({ port, user: 'late', password: 'pw', retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 50 } });
    const t0 = Date.now();
    await assert.rejects(down.getBlockCount(), (e: unknown) => {
      assert.ok(e instanceof ChainError);
      assert.equal(e.code, 'UNREACHABLE');
      assert.equal(e.transient, true);
      assert.match(e.message, new RegExp(`after 3 attempts: chain: getblockcount: backend 127\\.0\\.0\\.1:${port} unreachable: ECONNREFUSED`));
      return true;
    });
    assert.ok(Date.now() - t0 >= 40, 'backed off between attempts');
    down.close();

    // A call in progress keeps retrying with backoff while btcd starts on that port.
    const patient = new BitcoindRpcClient({ port, user: 'late', password: 'pw', retry: { maxAttempts: 12, initialDelayMs: 100, maxDelayMs: 1000 } });
    const pending = patient.getBlockCount();
    await sleep(300);
    const late = await BtcdNode.start({ rpcPort: port, rpcUser: 'late', rpcPassword: 'pw', activateSoftForks: false });
    assert.equal(await pending, 0);
    patient.close();
    await late.stop();
  });
});

describe('ChainNotifier against btcd', { skip: btcd.skip, timeout: 120_000 }, () => {
  it('delivers every mined block in order, resumes from the persisted tip, survives a backend outage', async () => {
    const store = new MemoryTipStore();
    const got: ConnectedBlock[] = [];
    const errors: Error[] = [];
    const listener = { connect: (b: ConnectedBlock) => void got.push(b), disconnect: () => assert.fail('no reorg expected') };
    const start = (await client.getBlockCount()) + 1;
    const w = track(watch(client, store, listener, { startHeight: start, pollIntervalMs: 50, maxBackoffMs: 300, onError: (e) => errors.push(e) }));
    w.start();
    const key = newP2wpkhKey();
    const mined: string[] = [];
    for (let i = 0; i < 4; i++) mined.push(...(await btcd.node.generate(1 + i)));
    const funding = await btcd.node.fund(key.script, 100_000n); // mines a block holding a real transaction
    mined.push(await btcd.node.getBestBlockHash());
    await until(() => got.length === mined.length, { what: `${mined.length} blocks`, ...NOTIFIER_WAIT });
    assert.deepEqual(got.map((b) => b.hash), mined);
    assert.deepEqual(got.map((b) => b.height), mined.map((_, i) => start + i));
    assert.ok(got[got.length - 1]!.block.transactions.some((t) => t.txid === funding.txid), 'transactions delivered with the block');
    await w.stop();

    // Blocks mined while the consumer is down are delivered on restart, from the persisted tip.
    const whileDown = await btcd.node.generate(7);
    const got2: string[] = [];
    const w2 = track(watch(client, store, { connect: (b) => void got2.push(b.hash), disconnect: () => assert.fail('no reorg') }, { pollIntervalMs: 50, maxBackoffMs: 300, onError: (e) => errors.push(e) }));
    await w2.syncOnce();
    assert.deepEqual(got2, whileDown);

    // The backend goes away and comes back (a proxy in front of btcd's RPC: btcd wipes its regtest chain
    // on restart). The watcher reports typed errors, keeps polling with backoff, and catches up.
    const proxy = await TcpProxy.start(btcd.node.rpcPort);
    const viaProxy = new BitcoindRpcClient({ ...btcd.node.rpcOptions, port: proxy.port, retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 } });
    const got3: string[] = [];
    const w3 = track(watch(viaProxy, store, { connect: (b) => void got3.push(b.hash), disconnect: () => assert.fail('no reorg') }, { pollIntervalMs: 50, maxBackoffMs: 300, onError: (e) => errors.push(e) }));
    w3.start();
    await proxy.cut();
    const errorsBefore = errors.length;
    const duringOutage = await btcd.node.generate(2);
    await until(() => errors.length > errorsBefore + 1, { what: 'errors while the backend is down', ...NOTIFIER_WAIT });
    assert.ok(errors.slice(errorsBefore).every((e) => e instanceof ChainError && e.code === 'UNREACHABLE'), errors.map((e) => e.message).join('\n'));
    await proxy.restore();
    const afterOutage = await btcd.node.generate(3);
    await until(() => got3.length === 5, { what: 'blocks after the outage', ...NOTIFIER_WAIT });
    assert.deepEqual(got3, [...duringOutage, ...afterOutage]);
    await w3.stop();
    viaProxy.close();
    await proxy.close();
    assert.deepEqual(store.tip, { height: await client.getBlockCount(), hash: await client.getBestBlockHash() });
  });

  it('reorg via invalidateblock: disconnects to the fork point, then connects the new branch (live and after a restart)', async () => {
    const store = new MemoryTipStore();
    const events: string[] = [];
    const chainSeen: string[] = [];
    const listener = {
      connect: (b: ConnectedBlock) => {
        if (chainSeen.length) assert.equal(b.block.header.prevHash, chainSeen[chainSeen.length - 1]);
        chainSeen.push(b.hash);
        events.push(`+${b.height}`);
      },
      disconnect: (t: BlockTip) => {
        assert.equal(t.hash, chainSeen.pop());
        events.push(`-${t.height}`);
      },
    };
    const base = await client.getBlockCount();
    const w = track(watch(client, store, listener, { startHeight: base + 1, pollIntervalMs: 50 }));
    const old = await btcd.node.generate(5); // base+1 … base+5
    await w.syncOnce();
    events.length = 0;

    // Invalidate base+3: btcd's chain goes back to base+2; then mine 4 (a longer branch; include a tx so no block repeats).
    await btcd.node.invalidateBlock(old[2]!);
    assert.equal(await client.getBlockCount(), base + 2);
    const key = newP2wpkhKey();
    await btcd.node.fund(key.script, 50_000n, { confirm: false });
    const branch = await btcd.node.generate(4);
    assert.notEqual(branch[0], old[2]);
    const r = await w.syncOnce();
    assert.deepEqual(events, [`-${base + 5}`, `-${base + 4}`, `-${base + 3}`, `+${base + 3}`, `+${base + 4}`, `+${base + 5}`, `+${base + 6}`]);
    assert.equal(r.disconnected, 3);
    assert.equal(r.connected, 4);
    assert.deepEqual(store.tip, { height: base + 6, hash: branch[3] });

    // A reorg that happens while the consumer is down: a fresh watcher knows only the persisted tip and
    // asks btcd for the stale blocks' parents.
    await btcd.node.invalidateBlock(branch[2]!); // back to base+4
    const branch2 = await btcd.node.fund(key.script, 40_000n, { confirm: false }).then(() => btcd.node.generate(3)); // base+5 … base+7
    events.length = 0;
    const w2 = track(watch(client, store, listener, { pollIntervalMs: 50 }));
    await w2.syncOnce();
    assert.deepEqual(events, [`-${base + 6}`, `-${base + 5}`, `+${base + 5}`, `+${base + 6}`, `+${base + 7}`]);
    assert.deepEqual(store.tip, { height: base + 7, hash: branch2[2] });
    for (let h = base + 1; h <= base + 7; h++) assert.equal(chainSeen[h - base - 1], await client.getBlockHash(h));
  });
});
