/**
 * The wallet against a real btcd regtest node, through anode's JSON-RPC methods: newaddr, funding from
 * the harness, listfunds, withdraw (with change, and `all`), a reorg by invalidateblock, the gap window,
 * and a restart resuming from the persisted scan tip.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Transaction } from '@scure/btc-signer';
import { BitcoindRpcClient } from '../../src/chain/bitcoind-rpc.js';
import { parseTransaction } from '../../src/chain/block.js';
import { openSqliteStore, type Store } from '../../src/store/database.js';
import { addressToScript, btcNetwork } from '../../src/wallet/keys.js';
import { createWallet, type Wallet } from '../../src/wallet/wallet.js';
import { newP2wpkhKey, useBtcd } from '../harness/btcd.js';
import { tempDir } from '../harness/daemon.js';
import { rpcCall, startRpcNode, type RpcNode } from '../rpc/harness.js';

const btcd = useBtcd('wallet tests on btcd');
const SEED = Buffer.alloc(32, 0x5a);
const NET = btcNetwork('regtest');

interface Output {
  txid: string;
  output: number;
  amount_msat: number;
  scriptpubkey: string;
  address?: string;
  status: string;
  blockheight?: number;
  reserved: boolean;
}

describe('wallet on btcd regtest', { skip: btcd.skip }, () => {
  let chain: BitcoindRpcClient;
  let dir: string;
  let store: Store;
  let wallet: Wallet;
  let rpc: RpcNode;

  const open = async (): Promise<void> => {
    store = await openSqliteStore(join(dir, 'anode.sqlite3'));
    wallet = createWallet({ seed: SEED, network: 'regtest', chain, store: store.wallet, pollIntervalMs: 3_600_000 });
    await wallet.start();
    Object.assign(rpc.core, { wallet });
  };
  const close = async (): Promise<void> => {
    await wallet.stop();
    await store.close();
  };
  const call = async (method: string, params: unknown = {}): Promise<Record<string, unknown>> => {
    const r = await rpcCall(rpc.path, method, params);
    assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
    return r.result!;
  };
  const funds = async (spent = false): Promise<Output[]> => (await call('listfunds', spent ? { spent: true } : {})).outputs as Output[];

  before(async () => {
    chain = new BitcoindRpcClient({ ...btcd.node.rpcOptions, retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 500 } });
    dir = tempDir('anode-wallet-');
    rpc = await startRpcNode();
    await open();
    await wallet.sync();
  });
  after(async () => {
    await close().catch(() => undefined);
    await rpc?.close();
    chain?.close();
  });

  let p2wpkhAddr: string;
  let p2trAddr: string;

  it('newaddr, fund from btcd, mine: listfunds shows both outputs confirmed with their amounts', async () => {
    p2wpkhAddr = (await call('newaddr')).bech32 as string;
    p2trAddr = (await call('newaddr', { addresstype: 'p2tr' })).p2tr as string;
    const both = await call('newaddr', ['all']);
    assert.match(p2wpkhAddr, /^bcrt1q/);
    assert.match(p2trAddr, /^bcrt1p/);
    assert.match(both.bech32 as string, /^bcrt1q/);
    assert.notEqual(both.bech32, p2wpkhAddr, 'a fresh index each time');
    const a = await btcd.node.fund(addressToScript(p2wpkhAddr, NET), 1_000_000n);
    const b = await btcd.node.fund(addressToScript(p2trAddr, NET), 500_000n);
    await wallet.sync();
    const height = await btcd.node.getBlockCount();
    const outs = await funds();
    assert.equal(outs.length, 2);
    const oa = outs.find((o) => o.txid === a.txid)!;
    const ob = outs.find((o) => o.txid === b.txid)!;
    assert.deepEqual(
      { output: oa.output, amount_msat: oa.amount_msat, address: oa.address, status: oa.status, blockheight: oa.blockheight, reserved: oa.reserved },
      { output: 0, amount_msat: 1_000_000_000, address: p2wpkhAddr, status: 'confirmed', blockheight: height - 1, reserved: false },
    );
    assert.equal(oa.scriptpubkey, Buffer.from(a.script).toString('hex'));
    assert.deepEqual([ob.amount_msat, ob.address, ob.status, ob.blockheight], [500_000_000, p2trAddr, 'confirmed', height]);
  });

  it('withdraw to an external address: accepted, change unconfirmed then confirmed, inputs spent', async () => {
    const ext = newP2wpkhKey();
    const r = await call('withdraw', { destination: ext.address, satoshi: 300_000, feerate: '1000perkw' });
    assert.match(r.txid as string, /^[0-9a-f]{64}$/);
    assert.deepEqual(await btcd.node.getRawMempool(), [r.txid]);
    const tx = parseTransaction(Buffer.from(r.tx as string, 'hex'));
    assert.equal(tx.txid, r.txid);
    const psbt = Transaction.fromPSBT(Buffer.from(r.psbt as string, 'base64'));
    assert.equal(psbt.id, r.txid);
    assert.equal(tx.outputs[0]!.valueSat, 300_000n);
    assert.equal(Buffer.from(tx.outputs[0]!.script).toString("hex"), Buffer.from(ext.script).toString("hex"));
    assert.equal(tx.outputs.length, 2, 'change output');
    const inSum = 1_000_000n; // largest first: the P2WPKH coin
    const fee = inSum - tx.outputs.reduce((a, o) => a + o.valueSat, 0n);
    const weight = Transaction.fromRaw(tx.raw).weight;
    assert.ok(fee >= BigInt(weight) && fee <= BigInt(weight) + 4n, `fee ${fee} ≈ 1000 perkw × ${weight} wu`);

    let outs = await funds();
    const spentInput = outs.find((o) => o.amount_msat === 1_000_000_000)!;
    assert.equal(spentInput.reserved, true, 'the input is reserved while the spend is pending');
    const change = outs.find((o) => o.txid === r.txid)!;
    assert.deepEqual([change.status, change.output, change.amount_msat], ['unconfirmed', 1, Number(tx.outputs[1]!.valueSat) * 1000]);

    await btcd.node.generate(1);
    await wallet.sync();
    outs = await funds();
    assert.equal(outs.length, 2, 'the p2tr coin and the change');
    assert.equal(outs.find((o) => o.txid === r.txid)!.status, 'confirmed');
    assert.ok(!outs.some((o) => o.amount_msat === 1_000_000_000));
    const all = await funds(true);
    assert.equal(all.find((o) => o.amount_msat === 1_000_000_000)!.status, 'spent');
  });

  it('withdraw errors: dust (302), cannot afford (301), bad address (-32602)', async () => {
    const ext = newP2wpkhKey();
    let r = await rpcCall(rpc.path, 'withdraw', { destination: ext.address, satoshi: 100 });
    assert.equal(r.error?.code, 302);
    r = await rpcCall(rpc.path, 'withdraw', { destination: ext.address, satoshi: '10btc' });
    assert.equal(r.error?.code, 301);
    assert.match(r.error!.message, /^Could not afford 1000000000sat using all 2 available UTXOs: \d+sat short$/);
    r = await rpcCall(rpc.path, 'withdraw', { destination: 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', satoshi: 1000 });
    assert.equal(r.error?.code, -32602);
    assert.equal(r.error?.message, 'Could not parse destination address, destination should be a valid address');
  });

  it('a reorg (invalidateblock) removes the output; re-mined, it comes back', async () => {
    const addr = (await call('newaddr')).bech32 as string;
    const u = await btcd.node.fund(addressToScript(addr, NET), 250_000n);
    const raw = await btcd.node.getRawTransaction(u.txid);
    const blockHash = await btcd.node.getBestBlockHash();
    const height = await btcd.node.getBlockCount();
    await wallet.sync();
    assert.equal((await funds()).find((o) => o.txid === u.txid)?.blockheight, height);

    await btcd.node.invalidateBlock(blockHash);
    const r1 = await wallet.sync();
    assert.equal(r1.disconnected, 1);
    assert.equal((await funds()).find((o) => o.txid === u.txid), undefined, 'gone with its block');

    if (!(await btcd.node.getRawMempool()).includes(u.txid)) await btcd.node.sendRawTransaction(raw);
    await btcd.node.generate(2);
    const r2 = await wallet.sync();
    assert.equal(r2.connected, 2);
    const back = (await funds()).find((o) => o.txid === u.txid);
    assert.deepEqual([back?.status, back?.blockheight, back?.amount_msat], ['confirmed', height, 250_000_000]);
  });

  it('gap window: payments to keys not handed out yet, even beyond the first window in one block', async () => {
    const k20 = wallet.keys.derive('p2wpkh', 0, 20); // 4 handed out: the window is 0..23
    const k40 = wallet.keys.derive('p2wpkh', 0, 40);
    const a = await btcd.node.fund(k20.script, 20_000n, { confirm: false });
    const b = await btcd.node.fund(k40.script, 30_000n, { confirm: false });
    await btcd.node.generate(1);
    await wallet.sync();
    const outs = await funds();
    assert.ok(outs.some((o) => o.txid === a.txid && o.address === k20.address));
    assert.ok(outs.some((o) => o.txid === b.txid && o.address === k40.address));
  });

  it('restart resumes from the persisted scan tip', async () => {
    const before = wallet.tip!;
    await close();
    const addr = wallet.keys.derive('p2tr', 0, 3).address;
    const u = await btcd.node.fund(addressToScript(addr, NET), 77_000n);
    await btcd.node.generate(2);
    await open();
    assert.deepEqual(wallet.tip, before, 'scan tip loaded from the database');
    const r = await wallet.sync();
    assert.equal(r.connected, 3, 'only the blocks mined while stopped');
    assert.ok((await funds()).some((o) => o.txid === u.txid && o.status === 'confirmed'));
    assert.equal((await call('newaddr', { addresstype: 'p2tr' })).p2tr, wallet.keys.derive('p2tr', 0, 2).address, 'address index persisted');
  });

  it('fundTransaction (for channel funding): signed, not published, inputs reserved; release gives them back', async () => {
    const fundingScript = Buffer.from('0020' + '42'.repeat(32), 'hex');
    const f = await wallet.fundTransaction({ outputs: [{ script: fundingScript, amountSat: 100_000n }], feeRateSatPerKw: 2500 });
    assert.equal(Buffer.from(parseTransaction(f.raw).outputs[0]!.script).toString('hex'), fundingScript.toString('hex'));
    assert.equal(f.outputAmounts[0], 100_000n);
    assert.ok(f.changeOutnum === 1 && f.changeSat > 0n);
    assert.ok(!(await btcd.node.getRawMempool()).includes(f.txid), 'not published');
    const reserved = (await funds()).filter((o) => o.reserved);
    assert.deepEqual(reserved.map((o) => `${o.txid}:${o.output}`).sort(), f.inputs.map((i) => `${i.txid}:${i.vout}`).sort());
    await wallet.release(f);
    assert.ok(!(await funds()).some((o) => o.reserved));
  });

  it('a reorg of our own withdrawal: change back to unconfirmed, input pending; re-mined, confirmed again', async () => {
    const ext = newP2wpkhKey();
    const r = await call('withdraw', { destination: ext.address, satoshi: 50_000, feerate: 'slow' });
    const [hash] = await btcd.node.generate(1);
    await wallet.sync();
    assert.equal((await funds()).find((o) => o.txid === r.txid)?.status, 'confirmed');
    await btcd.node.invalidateBlock(hash!);
    await wallet.sync();
    const change = (await funds()).find((o) => o.txid === r.txid);
    assert.equal(change?.status, 'unconfirmed', 'our change survives the reorg, unconfirmed');
    const inputs = parseTransaction(Buffer.from(r.tx as string, 'hex')).inputs.map((i) => `${i.txid}:${i.vout}`);
    const listed = await funds();
    for (const i of inputs) assert.equal(listed.find((o) => `${o.txid}:${o.output}` === i)?.reserved, true, 'input back to a pending (reserved) spend');
    if (!(await btcd.node.getRawMempool()).includes(r.txid as string)) await btcd.node.sendRawTransaction(r.tx as string);
    await btcd.node.generate(1);
    await wallet.sync();
    assert.equal((await funds()).find((o) => o.txid === r.txid)?.status, 'confirmed');
    for (const i of inputs) assert.ok(!(await funds()).some((o) => `${o.txid}:${o.output}` === i), 'input spent again');
  });

  it("withdraw all spends P2WPKH and P2TR coins into one output; the wallet is empty once mined", async () => {
    const ext = newP2wpkhKey();
    const total = (await funds()).reduce((a, o) => a + BigInt(o.amount_msat) / 1000n, 0n);
    const r = await call('withdraw', [ext.address, 'all', 'urgent']);
    const tx = parseTransaction(Buffer.from(r.tx as string, 'hex'));
    assert.equal(tx.outputs.length, 1);
    assert.ok(tx.inputs.length >= 5);
    assert.ok(tx.outputs[0]!.valueSat < total && tx.outputs[0]!.valueSat > total - 20_000n);
    await btcd.node.generate(1);
    await wallet.sync();
    assert.deepEqual(await funds(), []);
    const block = await btcd.node.getBlock(await btcd.node.getBestBlockHash());
    assert.ok(block.transactions.some((t) => t.txid === r.txid));
  });
});
