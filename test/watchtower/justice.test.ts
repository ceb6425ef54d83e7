/**
 * The justice transaction: LND's weight constants and amounts (TestBackupTask, §6.1, as data in
 * test/vectors/watchtower-backup-task.json), and for every blob type a breach-shaped transaction signed
 * with real keys, whose justice transaction the client signs and the tower rebuilds bit for bit from the
 * encrypted kit; signatures are checked independently with @scure/btc-signer sighashes and @noble/curves.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as btc from '@scure/btc-signer';
import { schnorr, secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { secp } from '../../src/crypto/secp256k1.js';
import {
  BlobFlag,
  breachHint,
  breachKey,
  decryptJusticeKit,
  encryptJusticeKit,
  type CommitmentType,
  type JusticeKit,
} from '../../src/watchtower/blob/index.js';
import {
  buildJusticeTx,
  clientJusticeAmounts,
  computeRewardAmount,
  dustLimitForSize,
  feeForWeight,
  JusticeError,
  justiceTxid,
  justiceTxWeight,
  parseBreachTx,
  serializeJusticeTx,
  signJusticeTx,
  verifyJusticeTx,
  WITNESS_SIZE,
  type BreachSigningInfo,
  type BreachTx,
  type JusticeTx,
} from '../../src/watchtower/justice/index.js';
import { toLocalScript, toRemoteConfirmedScript } from '../../src/bitcoin/bolt3-scripts.js';
import { p2wpkh, p2wsh } from '../../src/bitcoin/script.js';
import { TAPROOT_NUMS_X, taprootDelayScript, taprootRevokeScript, taprootToRemoteScript } from '../../src/bitcoin/taproot.js';
import type { TxPolicy } from '../../src/watchtower/policy.js';
import { assertCode, hex, readVector } from './helpers.js';

interface BackupTaskVectors {
  sweepScript: string;
  rewardScript: string;
  keys: { revocation: string; toLocal: string; toRemote: string };
  csvDelay: number;
  cases: {
    name: string;
    commitment: string;
    blobType: number;
    toLocalSat: number | null;
    toRemoteSat: number | null;
    sweepFeeRateSatPerKw: number;
    rewardBase: number;
    rewardRate: number;
    expect: { sweepSat?: number; rewardSat?: number; error?: string };
  }[];
}
const BT = readVector<BackupTaskVectors>('watchtower-backup-task.json');

describe('weight estimate (§3.7)', () => {
  it('witness sizes, LND quirks included', () => {
    assert.deepEqual(WITNESS_SIZE, {
      legacy: { toLocal: 156, toRemote: 109 },
      anchor: { toLocal: 157, toRemote: 113 },
      taproot: { toLocal: 202, toRemote: 139 },
      'taproot-final': { toLocal: 202, toRemote: 138 },
    });
  });
  it('the worked example: legacy, both inputs, P2WPKH sweep = 759 WU', () => {
    assert.equal(justiceTxWeight({ commitment: 'legacy', toLocal: true, toRemote: true, outputSizes: [31] }), 759);
    assert.equal(feeForWeight(1000n, 759), 759n);
  });
  it('fees round down, rewards round up', () => {
    assert.equal(feeForWeight(2500n, 759), 1897n);
    assert.equal(computeRewardAmount(300000n, 0, 10000), 3000n);
    assert.equal(computeRewardAmount(100001n, 0, 10000), 1001n);
    assert.equal(computeRewardAmount(100n, 1000, 10000), 1000n);
    assert.equal(computeRewardAmount(1100n, 100, 1), 101n);
  });
  it('dust limits by script size', () => {
    assert.deepEqual([22, 34, 23, 25, 42].map(dustLimitForSize), [294n, 330n, 540n, 546n, 354n]);
    assertCode(() => dustLimitForSize(33), JusticeError, 'UNKNOWN_SCRIPT_SIZE');
  });
});

describe('TestBackupTask (§6.1) as data', () => {
  for (const c of BT.cases) {
    it(c.name, () => {
      const policy = { blobType: c.blobType, rewardBase: c.rewardBase, rewardRate: c.rewardRate, sweepFeeRateSatPerKw: BigInt(c.sweepFeeRateSatPerKw) };
      const args = {
        policy,
        ...(c.toLocalSat !== null ? { toLocalSat: BigInt(c.toLocalSat) } : {}),
        ...(c.toRemoteSat !== null ? { toRemoteSat: BigInt(c.toRemoteSat) } : {}),
        sweepScript: hex(BT.sweepScript),
        rewardScript: hex(BT.rewardScript),
      };
      if (c.expect.error) {
        assertCode(() => clientJusticeAmounts(args), JusticeError, c.expect.error);
        return;
      }
      const r = clientJusticeAmounts(args);
      assert.equal(r.sweepSat, BigInt(c.expect.sweepSat!));
      assert.equal(r.rewardSat, BigInt(c.expect.rewardSat!));
      const total = BigInt(c.toLocalSat ?? 0) + BigInt(c.toRemoteSat ?? 0);
      assert.equal(r.sweepSat + r.rewardSat + r.feeSat, total);
      assert.equal(r.feeSat, (BigInt(c.sweepFeeRateSatPerKw) * BigInt(r.weight)) / 1000n);
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// Breach-shaped transactions with real keys

const keys = {
  revPriv: hex(BT.keys.revocation),
  delayPriv: hex(BT.keys.toLocal),
  remotePriv: hex(BT.keys.toRemote),
};
const revPub = secp.publicKey(keys.revPriv);
const delayPub = secp.publicKey(keys.delayPriv);
const remotePub = secp.publicKey(keys.remotePriv);
const CSV = BT.csvDelay;
const SWEEP = hex(BT.sweepScript);
const ANCHOR_SCRIPT = p2wsh(Buffer.from([0x51])); // stand-in anchor output

/** Commitment output scripts built with @scure/btc-signer where it can (P2TR trees), ours for BOLT 3. */
function breachScripts(c: CommitmentType): { toLocal: Buffer; toRemote: Buffer } {
  if (c === 'legacy') return { toLocal: p2wsh(toLocalScript(revPub, delayPub, CSV)), toRemote: p2wpkh(remotePub) };
  if (c === 'anchor') return { toLocal: p2wsh(toLocalScript(revPub, delayPub, CSV)), toRemote: p2wsh(toRemoteConfirmedScript(remotePub)) };
  const flavour = c === 'taproot' ? 'staging' : 'final';
  const dx = delayPub.subarray(1);
  const toLocal = btc.p2tr(TAPROOT_NUMS_X, [{ script: taprootRevokeScript(dx, revPub.subarray(1)) }, { script: taprootDelayScript(dx, CSV, flavour) }], undefined, true).script;
  const toRemote = btc.p2tr(TAPROOT_NUMS_X, { script: taprootToRemoteScript(remotePub.subarray(1), flavour) }, undefined, true).script;
  return { toLocal: Buffer.from(toLocal), toRemote: Buffer.from(toRemote) };
}

/** A commitment-shaped transaction: one funding input, anchor, to_remote and to_local outputs. */
function makeBreach(c: CommitmentType, toLocalSat: bigint | null, toRemoteSat: bigint | null): { raw: Buffer; info: BreachSigningInfo } {
  const s = breachScripts(c);
  const outputs: { amount: bigint; script: Uint8Array }[] = [{ amount: 330n, script: ANCHOR_SCRIPT }];
  if (toRemoteSat !== null) outputs.push({ amount: toRemoteSat, script: s.toRemote });
  if (toLocalSat !== null) outputs.push({ amount: toLocalSat, script: s.toLocal });
  const raw = Buffer.from(
    btc.RawTx.encode({
      version: 2,
      segwitFlag: false,
      inputs: [{ txid: Buffer.alloc(32, 0xab), index: 1, finalScriptSig: new Uint8Array(0), sequence: 0x80000000 }],
      outputs,
      witnesses: [],
      lockTime: 0x20000000,
    }),
  );
  const txid = parseBreachTx(raw).txid;
  const info: BreachSigningInfo = { commitment: c, breachTxid: txid, revocationPubKey: revPub, localDelayPubKey: delayPub, csvDelay: CSV };
  if (toRemoteSat !== null) info.toRemote = { index: 1, amountSat: toRemoteSat, pubKey: remotePub, privKey: keys.remotePriv };
  if (toLocalSat !== null) info.toLocal = { index: toRemoteSat !== null ? 2 : 1, amountSat: toLocalSat, revocationPrivKey: keys.revPriv };
  return { raw, info };
}

/** Check every signature of a serialised justice tx independently: btc-signer sighash, noble verify. */
function independentlyVerify(raw: Buffer, prevouts: { script: Buffer; amount: bigint }[], c: CommitmentType, kit: JusticeKit): void {
  const tx = btc.Transaction.fromRaw(raw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
  assert.equal(tx.version, 2);
  assert.equal(tx.lockTime, 0);
  for (let i = 0; i < tx.inputsLength; i++) {
    const w = tx.getInput(i).finalScriptWitness!.map((x) => Buffer.from(x));
    const prev = prevouts[i]!;
    if (c === 'legacy' || c === 'anchor') {
      const sigDer = w[0]!.subarray(0, -1);
      assert.equal(w[0]![w[0]!.length - 1], 0x01, 'SIGHASH_ALL');
      let scriptCode: Buffer;
      let pub: Buffer;
      if (w.length === 3) {
        // to_local revocation path: [sig, 0x01, script]
        assert.deepEqual(w[1], Buffer.from([1]));
        scriptCode = w[2]!;
        assert.deepEqual(p2wsh(scriptCode), prev.script);
        pub = revPub;
      } else if (c === 'legacy') {
        pub = w[1]!;
        assert.deepEqual(p2wpkh(pub), prev.script);
        scriptCode = Buffer.from(btc.OutScript.encode({ type: 'pkh', hash: prev.script.subarray(2) }));
      } else {
        scriptCode = w[1]!;
        assert.deepEqual(p2wsh(scriptCode), prev.script);
        pub = remotePub;
      }
      const digest = tx.preimageWitnessV0(i, scriptCode, btc.SigHash.ALL, prev.amount);
      assert.ok(noble.verify(sigDer, digest, pub, { prehash: false, format: 'der' }), `input ${i} ECDSA`);
    } else {
      assert.equal(w.length, 3);
      assert.equal(w[0]!.length, 64, 'SIGHASH_DEFAULT: no sighash byte');
      const leaf = w[1]!;
      const pub = leaf.subarray(1, 33);
      const control = w[2]!;
      assert.equal(control[0]! & 0xfe, 0xc0);
      assert.deepEqual(control.subarray(1, 33), TAPROOT_NUMS_X);
      const digest = tx.preimageWitnessV1(i, prevouts.map((p) => p.script), btc.SigHash.DEFAULT, prevouts.map((p) => p.amount), undefined, leaf, 0xc0);
      const signer = control.length === 65 ? revPub.subarray(1) : remotePub.subarray(1);
      if (control.length === 65) assert.deepEqual(leaf.subarray(35, 67), signer);
      else assert.deepEqual(pub, signer);
      assert.ok(schnorr.verify(w[0]!, digest, signer), `input ${i} Schnorr`);
    }
  }
  void kit;
}

function prevoutsOf(jt: JusticeTx): { script: Buffer; amount: bigint }[] {
  return jt.inputs.map((i) => ({ script: i.prevOut.script, amount: i.prevOut.amountSat }));
}

const TYPES: [CommitmentType, number][] = [
  ['legacy', 0x02],
  ['anchor', 0x06],
  ['taproot', 0x0a],
  ['taproot-final', 0x1a],
];

for (const [c, blobType] of TYPES) {
  describe(`justice transaction: ${c} (blob 0x${blobType.toString(16).padStart(4, '0')})`, () => {
    const policy: TxPolicy = { blobType, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 2000n };

    it('client signs; tower rebuilds it bit for bit from the encrypted kit; signatures verify', () => {
      const { raw, info } = makeBreach(c, 200000n, 100000n);
      const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP });
      verifyJusticeTx(signed.tx);
      const clientRaw = serializeJusticeTx(signed.tx);

      // Blob round trip through the breach hint/key of the breach txid.
      const breach = parseBreachTx(raw);
      assert.equal(breachHint(breach.txid).length, 16);
      const blob = encryptJusticeKit(signed.kit, breachKey(breach.txid));
      const kit = decryptJusticeKit(blob, breachKey(breach.txid), blobType);
      assert.deepEqual(kit, signed.kit);

      const tower = buildJusticeTx({ breach, kit, policy });
      verifyJusticeTx(tower);
      assert.equal(serializeJusticeTx(tower).toString('hex'), clientRaw.toString('hex'));
      assert.deepEqual(justiceTxid(tower), justiceTxid(signed.tx));

      // Shape: version 2, locktime 0, BIP-69 inputs, sequences, one sweep output paying the formula.
      assert.deepEqual(tower.inputs.map((i) => i.index), [1, 2]);
      assert.deepEqual(tower.inputs.map((i) => i.sequence), c === 'legacy' ? [0, 0] : [1, 0]);
      assert.deepEqual(tower.inputs.map((i) => i.role), ['to_remote', 'to_local']);
      const w = WITNESS_SIZE[c];
      const weight = (8 + 1 + 82 + 1 + 31) * 4 + 2 + w.toLocal + w.toRemote;
      assert.equal(tower.weightEstimate, weight);
      assert.deepEqual(tower.outputs, [{ script: SWEEP, amountSat: 300000n - (2000n * BigInt(weight)) / 1000n }]);
      independentlyVerify(clientRaw, prevoutsOf(tower), c, kit);
      // LND's estimate assumes 73-byte signatures: the real weight is at most a few WU below it
      // (one above for legacy, whose to_local estimate is one short).
      const real = btc.Transaction.fromRaw(clientRaw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true }).weight;
      assert.ok(real <= weight + 1 && weight - real <= 8, `real ${real} vs estimate ${weight}`);
    });

    it('only to_local', () => {
      const { raw, info } = makeBreach(c, 150000n, null);
      const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP });
      const tower = buildJusticeTx({ breach: parseBreachTx(raw), kit: signed.kit, policy });
      verifyJusticeTx(tower);
      assert.equal(tower.inputs.length, 1);
      assert.equal(serializeJusticeTx(tower).toString('hex'), serializeJusticeTx(signed.tx).toString('hex'));
      independentlyVerify(serializeJusticeTx(tower), prevoutsOf(tower), c, signed.kit);
    });

    it('only to_remote: the client signs; the tower fails as LND does (zero ECDSA sig, or no to_local output)', () => {
      const { raw, info } = makeBreach(c, null, 150000n);
      const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP });
      verifyJusticeTx(signed.tx);
      independentlyVerify(serializeJusticeTx(signed.tx), prevoutsOf(signed.tx), c, signed.kit);
      // LND parses the (all-zero) to_local ECDSA signature before looking for the output; a zero
      // Schnorr signature parses, so taproot kits fail on the missing output instead.
      const code = c === 'legacy' || c === 'anchor' ? 'INVALID_SIGNATURE' : 'OUTPUT_NOT_FOUND';
      assertCode(() => buildJusticeTx({ breach: parseBreachTx(raw), kit: signed.kit, policy }), JusticeError, code);
    });

    it('a tampered signature or a different fee rate fails verification', () => {
      const { raw, info } = makeBreach(c, 200000n, 100000n);
      const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP });
      const breach = parseBreachTx(raw);
      const other = buildJusticeTx({ breach, kit: signed.kit, policy: { ...policy, sweepFeeRateSatPerKw: 3000n } });
      assertCode(() => verifyJusticeTx(other), JusticeError, 'SIGNATURE_MISMATCH');
      const bad = structuredClone(signed.kit);
      bad.toRemoteSig = Buffer.from(bad.toRemoteSig);
      bad.toRemoteSig[5]! ^= 1;
      let threw = false;
      try {
        verifyJusticeTx(buildJusticeTx({ breach, kit: bad, policy }));
      } catch (e) {
        threw = true;
        assert.ok(e instanceof JusticeError && ['SIGNATURE_MISMATCH', 'INVALID_SIGNATURE'].includes(e.code));
      }
      assert.ok(threw);
    });

    it('a kit for another breach does not match any output', () => {
      const a = makeBreach(c, 200000n, 100000n);
      const signed = signJusticeTx({ policy, breach: a.info, sweepScript: SWEEP });
      const kit = { ...signed.kit, csvDelay: 145 } as JusticeKit;
      if (kit.version === 1) kit.delayScriptHash = Buffer.alloc(32, 9);
      assertCode(() => buildJusticeTx({ breach: parseBreachTx(a.raw), kit, policy }), JusticeError, 'OUTPUT_NOT_FOUND');
    });
  });
}

describe('justice transaction: reward sessions (blob 0x0003)', () => {
  const policy: TxPolicy = { blobType: 0x03, rewardBase: 1000, rewardRate: 900000, sweepFeeRateSatPerKw: 2000n };
  it('P2WPKH reward script: client and tower agree, two outputs in BIP-69 order', () => {
    const reward = p2wpkh(secp.publicKey(Buffer.alloc(32, 5)));
    const { raw, info } = makeBreach('legacy', 200000n, 100000n);
    const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP, rewardScript: reward });
    const tower = buildJusticeTx({ breach: parseBreachTx(raw), kit: signed.kit, policy, rewardScript: reward });
    verifyJusticeTx(tower);
    assert.equal(serializeJusticeTx(tower).toString('hex'), serializeJusticeTx(signed.tx).toString('hex'));
    assert.equal(tower.rewardSat, 1000n + ((300000n - 1000n) * 900000n + 999999n) / 1000000n);
    assert.equal(tower.outputs.length, 2);
    assert.ok(tower.outputs[0]!.amountSat <= tower.outputs[1]!.amountSat);
    assert.ok(BlobFlag.Reward & policy.blobType);
  });
  it('P2TR reward script: LND’s client/tower weight mismatch is reproduced (signatures do not verify)', () => {
    const reward = hex(BT.rewardScript);
    const { raw, info } = makeBreach('legacy', 200000n, 100000n);
    const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP, rewardScript: reward });
    verifyJusticeTx(signed.tx);
    const tower = buildJusticeTx({ breach: parseBreachTx(raw), kit: signed.kit, policy, rewardScript: reward });
    assert.equal(signed.tx.weightEstimate - tower.weightEstimate, 4 * (43 - 31));
    assertCode(() => verifyJusticeTx(tower), JusticeError, 'SIGNATURE_MISMATCH');
  });
});

describe('tower-side sweep script rules', () => {
  it('sweep sized by length: P2TR (34) accepted, P2PKH (25) refused', () => {
    const policy: TxPolicy = { blobType: 0x02, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 1000n };
    const { raw, info } = makeBreach('legacy', 200000n, 100000n);
    const p2trSweep = Buffer.concat([Buffer.from([0x51, 32]), Buffer.alloc(32, 3)]);
    const signed = signJusticeTx({ policy, breach: info, sweepScript: p2trSweep });
    const tower = buildJusticeTx({ breach: parseBreachTx(raw), kit: signed.kit, policy });
    verifyJusticeTx(tower);
    const p2pkh = Buffer.from(btc.OutScript.encode({ type: 'pkh', hash: Buffer.alloc(20, 1) }));
    assertCode(() => signJusticeTx({ policy, breach: info, sweepScript: p2pkh }), JusticeError, 'UNKNOWN_SWEEP_ADDR_TYPE');
    assertCode(() => buildJusticeTx({ breach: parseBreachTx(raw), kit: { ...signed.kit, sweepScript: p2pkh }, policy }), JusticeError, 'UNKNOWN_SWEEP_ADDR_TYPE');
  });
  it('invalid keys in a kit are INVALID_KEY', () => {
    const policy: TxPolicy = { blobType: 0x02, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw: 1000n };
    const { raw, info } = makeBreach('legacy', 200000n, 100000n);
    const signed = signJusticeTx({ policy, breach: info, sweepScript: SWEEP });
    const kit = { ...signed.kit, revocationPubKey: Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 0xff)]) };
    assertCode(() => buildJusticeTx({ breach: parseBreachTx(raw), kit, policy }), JusticeError, 'INVALID_KEY');
  });
});
