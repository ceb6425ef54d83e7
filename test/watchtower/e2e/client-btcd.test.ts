/**
 * The watchtower client and anode's own tower, end to end on btcd regtest, for every commitment type
 * (issue 6, "Tests that must exist"): a WatchtowerClient (real SQLite store, KeyChain from a fixed seed)
 * adds the real tower (WatchtowerServer + Lookout over btcd); a revoked state — a real, funded,
 * commitment-shaped breach — goes in through `backupState` as the channel layer would hand it over; the
 * client negotiates a session, builds and signs the justice kit itself with its own sweep script, and
 * the tower acks it. Then the breach is broadcast and mined, and the tower's justice transaction
 * confirms on btcd (full script validation) paying the client's sweep address exactly §3.7's amount —
 * and that output really is the client's: a spend signed with the sweep key is accepted by btcd.
 *
 * The sweep scripts are the seed's BIP84 (P2WPKH, legacy/anchor) and BIP86 (P2TR, taproot) receive
 * addresses: what a wallet on the same seed would hand out (LND sweeps to a wallet address).
 *
 * Without btcd these tests skip loudly; with ANODE_REQUIRE_INTEROP=1 they fail.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as btc from '@scure/btc-signer';
import { BIP32Factory } from 'bip32';
import * as tiny from 'tiny-secp256k1';
import { parseTransaction } from '../../../src/chain/block.js';
import { KeyChain, KeyFamily } from '../../../src/crypto/keychain.js';
import { openStore, type Store } from '../../../src/store/database.js';
import { breachHint, breachKey, decryptJusticeKit, type CommitmentType } from '../../../src/watchtower/blob/index.js';
import { createWatchtowerClient, type BreachData, type WatchtowerClient } from '../../../src/watchtower/client/index.js';
import type { PunishmentRecord } from '../../../src/watchtower/lookout/store.js';
import { REGTEST_NETWORK, useBtcd } from '../../harness/btcd.js';
import { until } from '../../harness/wait.js';
import { testLogger } from '../../harness/daemon.js';
import { BLOB_TYPE, expectedSweep, makeBreach, startTower, type Breach, type Tower } from '../lookout/harness.js';
import { CHAIN, TOWER_KEY } from '../server/client.js';
import { failOnUnhandledRejections } from '../../harness/guards.js';
import { backendName, backendSkip, backendSuffix, storeLocation } from '../../harness/backend.js';

const SEED = Buffer.alloc(32, 0x5e);
const TYPES: CommitmentType[] = ['legacy', 'anchor', 'taproot', 'taproot-final'];
const WITH_SESSIONS = { includeSessions: true, excludeExhaustedSessions: false };

failOnUnhandledRejections();

// ---- the client's sweep keys ------------------------------------------------------------------------

const bip32 = BIP32Factory(tiny);

interface SweepKey {
  privateKey: Buffer;
  /** The output script the client puts into its justice kits. */
  script: Buffer;
  /** For P2TR key-path spends (BIP86: no script tree). */
  xOnly?: Buffer;
  address: string;
}

/** The seed's first BIP84 (P2WPKH) or BIP86 (P2TR) regtest receive address, per commitment type. */
function sweepKeyFor(c: CommitmentType, index: number): SweepKey {
  const taproot = c === 'taproot' || c === 'taproot-final';
  const node = bip32.fromSeed(SEED).derivePath(`m/${taproot ? 86 : 84}'/1'/0'/0/${index}`);
  const privateKey = Buffer.from(node.privateKey!);
  const pub = Buffer.from(node.publicKey);
  if (taproot) {
    const xOnly = pub.subarray(1);
    const p = btc.p2tr(xOnly, undefined, REGTEST_NETWORK);
    return { privateKey, script: Buffer.from(p.script), xOnly, address: p.address! };
  }
  const p = btc.p2wpkh(pub, REGTEST_NETWORK);
  return { privateKey, script: Buffer.from(p.script), address: p.address! };
}

/** What the channel layer hands `backupState`: the breach's signing data plus the channel's sweep script. */
function breachData(b: Breach, sweepScript: Buffer): BreachData {
  const s = b.signing;
  return {
    commitment: s.commitment,
    breachTxid: s.breachTxid,
    revocationPubKey: s.revocationPubKey,
    localDelayPubKey: s.localDelayPubKey,
    csvDelay: s.csvDelay,
    ...(s.toLocal ? { toLocal: { ...s.toLocal } } : {}),
    ...(s.toRemote ? { toRemote: { ...s.toRemote } } : {}),
    sweepScript,
  };
}

// ---- setup -------------------------------------------------------------------------------------------

let tower: Tower;
let store: Store;
let client: WatchtowerClient;
let dir: string;

const btcd = useBtcd('watchtower client end-to-end tests against btcd', {
  setup: async (node) => {
    if (backendSkip()) return;
    tower = await startTower(node, backendName() === 'sqlite' ? undefined : await storeLocation('tower', ''));
    dir = mkdtempSync(join(tmpdir(), 'anode-wtclient-e2e-'));
    store = await openStore(await storeLocation('client', join(dir, 'anode.sqlite3')));
    client = createWatchtowerClient({
      store: store.wtclient,
      keychain: new KeyChain(SEED, 'regtest'),
      chainHash: CHAIN,
      log: testLogger(),
      // Defaults otherwise: 10 sat/vB (= 2500 sat/kW, the harness's SWEEP_FEE_RATE), 1024 updates.
      tuning: { backoff: { minMs: 50, maxMs: 400 }, timeoutMs: 5000 },
    });
    await client.start();
    await client.addTower(TOWER_KEY.publicKey, { host: '127.0.0.1', port: tower.port });
  },
  teardown: async () => {
    await client?.stop();
    await store?.close();
    await tower?.close();
  },
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- helpers -----------------------------------------------------------------------------------------

async function punishmentFor(breachTxid: string): Promise<PunishmentRecord | undefined> {
  return (await tower.store.listPunishments()).find((p) => p.breachTxid === breachTxid);
}

/** The client's session for this commitment type at our tower, as ListTowers reports it. */
async function sessionOf(c: CommitmentType): Promise<{ id: Buffer; numBackups: number; numPendingBackups: number } | undefined> {
  const [t] = await client.listTowers(WITH_SESSIONS);
  assert.ok(t, 'the tower is listed');
  // sessionInfo is per client type in LND's order; taproot and taproot-final both report TAPROOT.
  const info = t.sessionInfo[TYPES.indexOf(c)]!;
  return info.sessions[0];
}

/** Spends the sweep output with the client's sweep key; btcd's mempool acceptance proves it is the client's. */
function spendSweep(key: SweepKey, txid: string, vout: number, amountSat: bigint): string {
  const tx = new btc.Transaction({ version: 2 });
  tx.addInput({
    txid,
    index: vout,
    witnessUtxo: { script: key.script, amount: amountSat },
    ...(key.xOnly ? { tapInternalKey: key.xOnly } : {}),
  });
  tx.addOutput({ script: btc.p2wpkh(Buffer.from(tiny.pointFromScalar(Buffer.alloc(32, 0x11), true)!)).script, amount: amountSat - 1_000n });
  tx.sign(key.privateKey);
  tx.finalize();
  return tx.hex;
}

// ---- tests ---------------------------------------------------------------------------------------------

describe(`watchtower client + anode tower on btcd: every commitment type${backendSuffix()}`, { skip: btcd.skip || backendSkip(), timeout: 600_000 }, () => {
  TYPES.forEach((c, i) => {
    it(`${c} (blob 0x${BLOB_TYPE[c].toString(16).padStart(4, '0')}): backed up, acked, breach mined, justice confirmed paying the client's sweep address exactly §3.7`, async () => {
      const sweep = sweepKeyFor(c, i);
      const channelId = Buffer.alloc(32, 0xc0 + i);
      const toLocalSat = 600_000n + BigInt(i) * 10_000n;
      const toRemoteSat = 390_000n - BigInt(i) * 10_000n;
      const b = await makeBreach(btcd.node, c, toLocalSat, toRemoteSat);

      // 1. The channel layer's hand-over: one revoked state.
      assert.equal(await client.backupState(channelId, 1, breachData(b, sweep.script)), true, 'queued');
      assert.equal(await client.backupState(channelId, 1, breachData(b, sweep.script)), false, 'same height again is a duplicate');

      // 2. Acked by the tower: ListTowers shows it in the session for this type, nothing pending.
      const s = await until(async () => {
        const x = await sessionOf(c);
        return x !== undefined && x.numBackups === 1 && x.numPendingBackups === 0;
      }, `${c} backup acked`).then(() => sessionOf(c));
      assert.ok(s);
      // The tower holds exactly that state, under the client's session (a family-8 key), decryptable with
      // the breach key, carrying the client's sweep script.
      const updates = await tower.store.listUpdates(s.id);
      assert.equal(updates.length, 1);
      assert.deepEqual(updates[0]!.hint, breachHint(b.signing.breachTxid));
      const kit = decryptJusticeKit(updates[0]!.encryptedBlob, breachKey(b.signing.breachTxid), BLOB_TYPE[c]);
      assert.deepEqual(Buffer.from(kit.sweepScript), sweep.script);
      const kc = new KeyChain(SEED, 'regtest');
      assert.ok(
        Array.from({ length: 16 }, (_, k) => kc.derive(KeyFamily.TOWER_SESSION, k + 1).publicKey).some((pk) => pk.equals(s.id)),
        'session id is one of the client’s family-8 session keys',
      );
      assert.equal(await client.store.countPending(), 0, 'client queue drained');

      // 3. The breach: broadcast, mined; the tower publishes; mined again.
      const from = (await btcd.node.getBlockCount()) + 1;
      await btcd.node.sendRawTransaction(b.hex);
      await btcd.node.generate(1);
      await until(async () => ((await punishmentFor(b.txid))?.publishAttempts ?? 0) > 0, `${c} punishment published`);
      const p = (await punishmentFor(b.txid))!;
      assert.equal(p.lastError, null, `published without error (${p.lastError})`);
      assert.equal(p.blobType, BLOB_TYPE[c]);
      await btcd.node.generate(1);
      await until(async () => (await tower.store.getPunishment(p.justiceTxid))?.outcome === 'confirmed', `${c} justice confirmed`);

      // 4. On chain: spends the breach's to_local and to_remote, one output to the client's sweep script,
      //    exactly §3.7's amount.
      const mined = await btcd.node.minedAt(p.justiceTxid, from);
      assert.ok(mined, 'justice transaction mined');
      const jt = parseTransaction(mined.raw);
      assert.deepEqual(
        jt.inputs.map((x) => `${x.txid}:${x.vout}`).sort(),
        [b.toLocal!, b.toRemote!].map((o) => `${b.txid}:${o.vout}`).sort(),
        'spends exactly the breach outputs',
      );
      assert.equal(jt.outputs.length, 1);
      assert.deepEqual(Buffer.from(jt.outputs[0]!.script), sweep.script, `pays the client's sweep address ${sweep.address}`);
      const want = expectedSweep(c, toLocalSat, toRemoteSat, sweep.script);
      assert.equal(jt.outputs[0]!.valueSat, want, 'sweep amount is exactly §3.7');

      // 5. The swept coins are the client's: its sweep key spends them.
      const spend = spendSweep(sweep, p.justiceTxid, 0, want);
      await btcd.node.sendRawTransaction(spend);
      await btcd.node.generate(1);
    });
  });

  it('the figures agree afterwards: one session per type, each with one acked backup; nothing pending or failed', { skip: btcd.skip || backendSkip() }, async () => {
    const [t] = await client.listTowers(WITH_SESSIONS);
    assert.ok(t);
    assert.deepEqual(
      t.sessionInfo.map((x) => [x.policyType, x.numSessions, x.sessions.map((s) => [s.numBackups, s.numPendingBackups, s.sweepSatPerVbyte])]),
      TYPES.map((c, i) => [['LEGACY', 'ANCHOR', 'TAPROOT', 'TAPROOT'][i], 1, [[1, 0, 10]]]),
    );
    const st = await client.stats();
    assert.equal(st.numSessionsAcquired, 4);
    assert.equal(st.numPendingBackups, 0);
    assert.equal(st.numFailedBackups, 0);
    const lookout = await tower.lookout.status();
    assert.deepEqual(lookout.punishments, { total: 4, pending: 0, confirmed: 4, conflicted: 0 });
    assert.equal(lookout.skippedBlobs, 0);
  });
});
