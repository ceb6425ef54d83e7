/**
 * The lookout's bookkeeping over the in-memory chain (fast, deterministic; the real-chain tests are in
 * btcd.test.ts): the tip is saved after every block, a punishment is re-published on every block until
 * its transaction is mined, a reorg makes it pending again without a second record, a conflicting spend
 * ends it, and a backend that goes away neither crashes the lookout nor makes it skip a block.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as btc from '@scure/btc-signer';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { ChainError } from '../../../src/chain/errors.js';
import { MemoryChainSource } from '../../../src/chain/memory-chain.js';
import { secp } from '../../../src/crypto/secp256k1.js';
import { breachHint, breachKey, encryptJusticeKit } from '../../../src/watchtower/blob/index.js';
import { parseBreachTx, signJusticeTx, type BreachSigningInfo } from '../../../src/watchtower/justice/index.js';
import { toLocalScript } from '../../../src/bitcoin/bolt3-scripts.js';
import { p2wpkh, p2wsh } from '../../../src/bitcoin/script.js';
import { Lookout } from '../../../src/watchtower/lookout/index.js';
import { openTowerStore, type SqliteTowerStore } from '../../../src/store/tower.js';
import { testLogger } from '../../harness/daemon.js';
import { randomKey } from '../server/client.js';
import { sleep, until } from '../../harness/wait.js';

const POLICY = { blobType: 0x0002, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2500n, maxUpdates: 1024 };
const priv = (): Buffer => Buffer.from(noble.utils.randomSecretKey());

/** A legacy commitment-shaped breach (the memory chain does not validate inputs) and its encrypted kit. */
function breach(): { raw: Uint8Array; txid: string; hint: Buffer; blob: Buffer; toLocalVout: number } {
  const [rev, delay, remote] = [priv(), priv(), priv()];
  const outputs = [
    { amount: 200_000n, script: p2wpkh(secp.publicKey(remote)) },
    { amount: 300_000n, script: p2wsh(toLocalScript(secp.publicKey(rev), secp.publicKey(delay), 144)) },
  ];
  const raw = btc.RawTx.encode({
    version: 2,
    segwitFlag: false,
    inputs: [{ txid: priv(), index: 0, finalScriptSig: new Uint8Array(0), sequence: 0x80000000 }],
    outputs,
    witnesses: [],
    lockTime: 0x20000000,
  });
  const txid = parseBreachTx(raw).txid;
  const info: BreachSigningInfo = {
    commitment: 'legacy',
    breachTxid: txid,
    revocationPubKey: secp.publicKey(rev),
    localDelayPubKey: secp.publicKey(delay),
    csvDelay: 144,
    toRemote: { index: 0, amountSat: 200_000n, pubKey: secp.publicKey(remote), privKey: remote },
    toLocal: { index: 1, amountSat: 300_000n, revocationPrivKey: rev },
  };
  const { kit } = signJusticeTx({ policy: POLICY, breach: info, sweepScript: p2wpkh(secp.publicKey(priv())) });
  return { raw, txid: Buffer.from(txid).reverse().toString('hex'), hint: breachHint(txid), blob: encryptJusticeKit(kit, breachKey(txid)), toLocalVout: 1 };
}

let dir: string;
let store: SqliteTowerStore;
let chain: MemoryChainSource;
let lookout: Lookout;
let tipSaves: number[];

async function upload(hint: Buffer, blob: Buffer): Promise<void> {
  const key = randomKey();
  await store.insertSession({ id: key.publicKey, policy: POLICY, lastApplied: 0, clientLastApplied: 0, rewardScript: Buffer.alloc(0), createdAt: Date.now() });
  const v = await store.applyStateUpdate(key.publicKey, { seqNum: 1, lastApplied: 0, hint, encryptedBlob: blob });
  assert.equal(v.code, 0);
}

async function synced(): Promise<void> {
  await until(async () => (await lookout.status()).tip?.hash === chain.hashAt(chain.height), 'lookout synced');
}

function sends(): number {
  return chain.calls.get('sendrawtransaction') ?? 0;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'anode-lookout-unit-'));
  store = await openTowerStore(join(dir, 'tower.sqlite3'));
  const save = store.saveLookoutTip.bind(store);
  tipSaves = [];
  store.saveLookoutTip = async (tip) => {
    tipSaves.push(tip.height);
    return save(tip);
  };
  chain = new MemoryChainSource();
  chain.mine(10);
  lookout = new Lookout({ chain, store, log: testLogger(), pollIntervalMs: 10, maxBackoffMs: 40 });
  await lookout.start();
  await synced();
});

afterEach(async () => {
  await lookout.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lookout (memory chain)', () => {
  it('saves the tip after every block; re-publishes each block until the justice tx is mined', async () => {
    assert.deepEqual(tipSaves, [10], 'first start adopts the best block');
    const b = breach();
    await upload(b.hint, b.blob);
    chain.mine(1, [b.raw]); // 11
    await synced();
    const [p] = await store.listPunishments();
    assert.ok(p);
    assert.equal(p.breachTxid, b.txid);
    assert.equal(p.breachHeight, 11);
    assert.equal(sends(), 1);
    chain.mine(3); // 12..14: republished on each
    await synced();
    assert.equal(sends(), 4);
    assert.equal((await store.getPunishment(p.justiceTxid))!.publishAttempts, 4);
    chain.mine(1, [p.justiceTx]); // 15
    await synced();
    assert.equal((await store.getPunishment(p.justiceTxid))!.outcome, 'confirmed');
    chain.mine(2);
    await synced();
    assert.equal(sends(), 4, 'no re-publish once mined');
    assert.deepEqual(tipSaves, [10, 11, 12, 13, 14, 15, 16, 17]);
    const st = await lookout.status();
    assert.deepEqual(st.punishments, { total: 1, pending: 0, confirmed: 1, conflicted: 0 });
    assert.equal(st.blocksScanned, 7);
  });

  it('a reorg of the confirming block makes it pending again; a re-mined breach is punished once', async () => {
    const b = breach();
    await upload(b.hint, b.blob);
    chain.mine(1, [b.raw]); // 11
    await synced();
    const [p] = await store.listPunishments();
    chain.mine(1, [p!.justiceTx]); // 12
    await synced();
    assert.equal((await store.getPunishment(p!.justiceTxid))!.outcome, 'confirmed');
    // Drop 11 and 12; the new 11 holds the breach again.
    chain.reorg(2, 0);
    chain.mine(1, [b.raw]);
    chain.mine(1);
    await synced();
    const again = await store.listPunishments();
    assert.equal(again.length, 1, 'one record');
    assert.equal(again[0]!.outcome, null, 'pending again');
    assert.ok(again[0]!.publishAttempts >= 2, 're-published after the reorg');
    chain.mine(1, [p!.justiceTx]);
    await synced();
    assert.equal((await store.getPunishment(p!.justiceTxid))!.outcome, 'confirmed');
    assert.equal((await store.getPunishment(p!.justiceTxid))!.resolvedHeight, chain.height);
  });

  it('a breach output spent by another transaction ends the punishment (conflicted)', async () => {
    const b = breach();
    await upload(b.hint, b.blob);
    chain.mine(1, [b.raw]);
    await synced();
    const other = btc.RawTx.encode({
      version: 2,
      segwitFlag: false,
      inputs: [{ txid: Buffer.from(b.txid, 'hex'), index: b.toLocalVout, finalScriptSig: new Uint8Array(0), sequence: 0 }],
      outputs: [{ amount: 1000n, script: new Uint8Array([0x51]) }],
      witnesses: [],
      lockTime: 0,
    });
    chain.mine(1, [other]);
    await synced();
    const [p] = await store.listPunishments();
    assert.equal(p!.outcome, 'conflicted');
    const n = sends();
    chain.mine(2);
    await synced();
    assert.equal(sends(), n, 'not published any more');
  });

  it('a blob that does not decrypt is skipped; the backend going away neither crashes nor skips a block', async () => {
    const bad = breach();
    await upload(bad.hint, Buffer.alloc(314, 7));
    const skips: unknown[] = [];
    lookout.on('skip', (s) => skips.push(s));
    chain.down = new ChainError('UNREACHABLE', 'chain: down for the test');
    const good = breach();
    await upload(good.hint, good.blob);
    chain.mine(1, [bad.raw]); // 11
    chain.mine(1, [good.raw]); // 12
    await sleep(150);
    assert.equal((await lookout.status()).tip!.height, 10, 'nothing scanned while down');
    chain.down = null;
    await synced();
    assert.equal(skips.length, 1);
    const ps = await store.listPunishments();
    assert.deepEqual(ps.map((p) => p.breachTxid), [good.txid]);
    assert.deepEqual(tipSaves, [10, 11, 12]);
    assert.ok(lookout.active);
  });

  it('stop and start: resumes from the persisted tip', async () => {
    await lookout.stop();
    chain.mine(5);
    const b = breach();
    await upload(b.hint, b.blob);
    chain.mine(1, [b.raw]); // 16
    lookout = new Lookout({ chain, store, log: testLogger(), pollIntervalMs: 10 });
    await lookout.start();
    await synced();
    assert.deepEqual(tipSaves, [10, 11, 12, 13, 14, 15, 16]);
    assert.equal((await store.listPunishments())[0]!.breachHeight, 16);
  });
});
