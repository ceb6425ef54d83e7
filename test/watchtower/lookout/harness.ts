/**
 * Lookout test harness: a tower (WatchtowerServer + tower database + Lookout over a real btcd), a
 * victim that uploads justice kits through a real wtwire session, and a breacher that funds a 2-of-2
 * output and signs commitment-shaped breach transactions spending it.
 *
 * The breach outputs are built independently of the code under test where possible (@scure/btc-signer's
 * p2wsh/p2tr/p2ms); the expected sweep amount is §3.7's formula with the spec's constants written out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as btc from '@scure/btc-signer';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { BitcoindRpcClient } from '../../../src/chain/bitcoind-rpc.js';
import { secp } from '../../../src/crypto/secp256k1.js';
import type { StaticKey } from '../../../src/transport/noise.js';
import { breachHint, breachKey, encryptJusticeKit, type CommitmentType } from '../../../src/watchtower/blob/index.js';
import { signJusticeTx, type BreachSigningInfo } from '../../../src/watchtower/justice/index.js';
import { toLocalScript, toRemoteConfirmedScript } from '../../../src/bitcoin/bolt3-scripts.js';
import { TAPROOT_NUMS_X, taprootDelayScript, taprootRevokeScript, taprootToRemoteScript } from '../../../src/bitcoin/taproot.js';
import { Lookout } from '../../../src/watchtower/lookout/index.js';
import { openTowerDatabase, type TowerDatabase } from '../../../src/store/tower.js';
import { WatchtowerServer } from '../../../src/watchtower/server/server.js';
import type { WtMessage } from '../../../src/watchtower/wire/index.js';
import type { BtcdNode, Utxo } from '../../harness/btcd.js';
import { testLogger } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { CHAIN, createSession, randomKey, TOWER_KEY, WtClient } from '../server/client.js';

export const SWEEP_FEE_RATE = 2500n;
export const BLOB_TYPE: Record<CommitmentType, number> = { legacy: 0x0002, anchor: 0x0006, taproot: 0x000a, 'taproot-final': 0x001a };

/** §3.7 witness sizes (WU), written out from the spec rather than imported. */
const WITNESS: Record<CommitmentType, { toLocal: number; toRemote: number }> = {
  legacy: { toLocal: 156, toRemote: 109 },
  anchor: { toLocal: 157, toRemote: 113 },
  taproot: { toLocal: 202, toRemote: 139 },
  'taproot-final': { toLocal: 202, toRemote: 138 },
};

/** §3.7: weight = 4 × (8 + 1 + 41·nIn + 1 + sweepOutputSize) + 2 + Σ witness; fee = ⌊rate × weight / 1000⌋; sweep = total − fee. */
export function expectedSweep(c: CommitmentType, toLocalSat: bigint, toRemoteSat: bigint | null, sweepScript: Uint8Array): bigint {
  const outSize = sweepScript.length === 22 ? 31 : sweepScript.length === 34 ? 43 : NaN;
  // The tower always counts to_local; to_remote only when present.
  const nIn = toRemoteSat === null ? 1 : 2;
  const weight = 4 * (8 + 1 + 41 * nIn + 1 + outSize) + 2 + WITNESS[c].toLocal + (toRemoteSat === null ? 0 : WITNESS[c].toRemote);
  const fee = (SWEEP_FEE_RATE * BigInt(weight)) / 1000n;
  return toLocalSat + (toRemoteSat ?? 0n) - fee;
}

function randomPriv(): Buffer {
  return Buffer.from(noble.utils.randomSecretKey());
}

// ---- tower ------------------------------------------------------------------------------------------

export interface Tower {
  dir: string;
  dbPath: string;
  port: number;
  server: WatchtowerServer;
  store: TowerDatabase;
  lookout: Lookout;
  chain: BitcoindRpcClient;
  /** Stops the lookout and the server and closes the database (files kept). */
  stop(): Promise<void>;
  /** Opens the database again and starts server and lookout (same port). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** `location`: the tower database (default: an SQLite file in a new temp dir). */
export async function startTower(node: BtcdNode, location?: string): Promise<Tower> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-lookout-'));
  const dbPath = join(dir, 'watchtower.sqlite3');
  const log = testLogger();
  let running = false;
  const t: Tower = {
    dir,
    dbPath,
    port: 0,
    server: undefined as unknown as WatchtowerServer,
    store: undefined as unknown as TowerDatabase,
    lookout: undefined as unknown as Lookout,
    chain: undefined as unknown as BitcoindRpcClient,
    async start() {
      t.store = await openTowerDatabase(location ?? dbPath);
      t.server = new WatchtowerServer();
      await t.server.start({ listen: [{ host: '127.0.0.1', port: t.port }], towerKey: TOWER_KEY, chainHash: CHAIN, store: t.store, log });
      t.port = t.server.bound[0]!.port;
      t.chain = new BitcoindRpcClient({ ...node.rpcOptions, retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 200 } });
      t.lookout = new Lookout({ chain: t.chain, store: t.store, log, pollIntervalMs: 50 });
      await t.lookout.start();
      running = true;
    },
    async stop() {
      if (!running) return;
      running = false;
      await t.lookout.stop();
      await t.server.stop();
      t.chain.close();
      await t.store.close();
    },
    async close() {
      await t.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await t.start();
  // The lookout adopts the best block on its first start: wait until it has.
  await until(async () => (await t.lookout.status()).tip !== null, 'lookout tip');
  return t;
}

/** Waits until the lookout has handled the node's best block. */
export async function synced(t: Tower, node: BtcdNode): Promise<void> {
  const best = await node.getBestBlockHash();
  await until(async () => (await t.lookout.status()).tip?.hash === best, `lookout at ${best}`);
}

// ---- victim (watchtower client) ---------------------------------------------------------------------

export class Victim {
  #seq = 0;
  private constructor(
    readonly port: number,
    readonly key: StaticKey,
    readonly blobType: number,
    readonly tower: Buffer | undefined,
  ) {}

  /** A session with the tower at `port` (whose key is the test tower's unless `tower` is given). */
  static async create(port: number, blobType: number, tower?: Buffer): Promise<Victim> {
    const key = randomKey();
    const r = await createSession(port, key, { blobType, sweepFeeRateSatPerKw: SWEEP_FEE_RATE }, tower);
    assert.equal((r as { code: number }).code, 0, 'create_session OK');
    return new Victim(port, key, blobType, tower);
  }

  /** One StateUpdate over a fresh wtwire connection; asserts OK. */
  async upload(hint: Buffer, encryptedBlob: Buffer): Promise<void> {
    const c = await WtClient.open(this.port, this.key, [0], this.tower);
    const seq = ++this.#seq;
    const m: WtMessage = { type: 604, seqNum: seq, lastApplied: seq - 1, isComplete: 1, hint, encryptedBlob };
    const r = await c.request(m);
    c.close();
    assert.deepEqual(r, { type: 605, code: 0, lastApplied: seq }, 'state_update OK');
  }
}

// ---- breacher ---------------------------------------------------------------------------------------

export interface Breach {
  commitment: CommitmentType;
  raw: Uint8Array;
  hex: string;
  /** Display order. */
  txid: string;
  toLocal: { vout: number; amountSat: bigint; script: Buffer } | null;
  toRemote: { vout: number; amountSat: bigint; script: Buffer } | null;
  signing: BreachSigningInfo;
  sweepScript: Buffer;
}

export const CSV_DELAY = 144;

/**
 * Funds a 2-of-2 P2WSH (confirmed), then signs a commitment-shaped transaction spending it (version 2,
 * locktime 0x20…, sequence 0x80…): anchors for anchor/taproot types, to_remote and to_local as asked.
 * Not broadcast.
 */
export async function makeBreach(node: BtcdNode, c: CommitmentType, toLocalSat: bigint | null, toRemoteSat: bigint | null): Promise<Breach> {
  const [fa, fb] = [randomPriv(), randomPriv()];
  const ms = btc.p2ms(2, [secp.publicKey(fa), secp.publicKey(fb)]);
  const wsh = btc.p2wsh(ms);
  const fundingSat = 1_000_000n;
  const funding: Utxo = await node.fund(wsh.script, fundingSat);

  const revPriv = randomPriv();
  const delayPriv = randomPriv();
  const remotePriv = randomPriv();
  const revPub = secp.publicKey(revPriv);
  const delayPub = secp.publicKey(delayPriv);
  const remotePub = secp.publicKey(remotePriv);
  let toLocalScriptPk: Buffer;
  let toRemoteScriptPk: Buffer;
  if (c === 'legacy' || c === 'anchor') {
    toLocalScriptPk = Buffer.from(btc.p2wsh({ type: 'unknown', script: toLocalScript(revPub, delayPub, CSV_DELAY) } as never).script);
    toRemoteScriptPk =
      c === 'legacy'
        ? Buffer.from(btc.p2wpkh(remotePub).script)
        : Buffer.from(btc.p2wsh({ type: 'unknown', script: toRemoteConfirmedScript(remotePub) } as never).script);
  } else {
    const flavour = c === 'taproot' ? 'staging' : 'final';
    const dx = delayPub.subarray(1);
    toLocalScriptPk = Buffer.from(
      btc.p2tr(TAPROOT_NUMS_X, [{ script: taprootRevokeScript(dx, revPub.subarray(1)) }, { script: taprootDelayScript(dx, CSV_DELAY, flavour) }], undefined, true).script,
    );
    toRemoteScriptPk = Buffer.from(btc.p2tr(TAPROOT_NUMS_X, { script: taprootToRemoteScript(remotePub.subarray(1), flavour) }, undefined, true).script);
  }

  const tx = new btc.Transaction({ version: 2, lockTime: 0x20001234, allowUnknownOutputs: true });
  tx.addInput({ txid: funding.txid, index: funding.vout, witnessUtxo: { script: wsh.script, amount: fundingSat }, witnessScript: wsh.witnessScript, sequence: 0x80005678 });
  const outs: { script: Buffer; amountSat: bigint; role: 'anchor' | 'to_local' | 'to_remote' }[] = [];
  if (c !== 'legacy') {
    const anchor = Buffer.from(btc.p2wsh({ type: 'unknown', script: Buffer.from([0x51]) } as never).script);
    outs.push({ script: anchor, amountSat: 330n, role: 'anchor' }, { script: anchor, amountSat: 330n, role: 'anchor' });
  }
  if (toRemoteSat !== null) outs.push({ script: toRemoteScriptPk, amountSat: toRemoteSat, role: 'to_remote' });
  if (toLocalSat !== null) outs.push({ script: toLocalScriptPk, amountSat: toLocalSat, role: 'to_local' });
  // BIP-69 output order, as commitments have.
  outs.sort((a, b) => (a.amountSat === b.amountSat ? Buffer.compare(a.script, b.script) : a.amountSat < b.amountSat ? -1 : 1));
  for (const o of outs) tx.addOutput({ script: o.script, amount: o.amountSat });
  tx.sign(fa);
  tx.sign(fb);
  tx.finalize();
  const raw = tx.extract();
  const txid = tx.id;
  const li = outs.findIndex((o) => o.role === 'to_local');
  const ri = outs.findIndex((o) => o.role === 'to_remote');
  const signing: BreachSigningInfo = {
    commitment: c,
    breachTxid: Buffer.from(txid, 'hex').reverse(),
    revocationPubKey: revPub,
    localDelayPubKey: delayPub,
    csvDelay: CSV_DELAY,
  };
  if (li >= 0) signing.toLocal = { index: li, amountSat: toLocalSat!, revocationPrivKey: revPriv };
  if (ri >= 0) signing.toRemote = { index: ri, amountSat: toRemoteSat!, pubKey: remotePub, privKey: remotePriv };
  const sweepScript =
    c === 'legacy' || c === 'anchor'
      ? Buffer.from(btc.p2wpkh(secp.publicKey(randomPriv())).script)
      : Buffer.from(btc.p2tr(secp.publicKey(randomPriv()).subarray(1)).script);
  return {
    commitment: c,
    raw,
    hex: tx.hex,
    txid,
    toLocal: li >= 0 ? { vout: li, amountSat: toLocalSat!, script: toLocalScriptPk } : null,
    toRemote: ri >= 0 ? { vout: ri, amountSat: toRemoteSat!, script: toRemoteScriptPk } : null,
    signing,
    sweepScript,
  };
}

/** The victim's side: sign the justice transaction for the breach, encrypt the kit; hint and blob to upload. */
export function justiceKitFor(b: Breach, blobType: number): { hint: Buffer; blob: Buffer } {
  const { kit } = signJusticeTx({
    policy: { blobType, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: SWEEP_FEE_RATE },
    breach: b.signing,
    sweepScript: b.sweepScript,
  });
  const txid = b.signing.breachTxid;
  return { hint: breachHint(txid), blob: encryptJusticeKit(kit, breachKey(txid)) };
}
