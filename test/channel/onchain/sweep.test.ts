/**
 * Sweep and penalty transactions (src/channel/sweep.ts) without a chain: the weight estimate against
 * the signed transaction, fees, determinism, the witness of every input kind (and its signature checked
 * against a BIP 143 digest recomputed here), nSequence per kind, the dust and bad-key errors, the
 * outputs penaltyInputs picks from a real BOLT 3 commitment, and a property test that bad amounts and
 * fee rates only ever give a ChannelError. test/channel/sweep-btcd.test.ts proves the witnesses
 * against btcd's script validation.
 */
import { describe, it } from 'node:test';
import { keySet, type KeySet } from '../keyset.js';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Transaction } from '@scure/btc-signer';
import { sha256 } from '../../../src/crypto/hash.js';
import { secp } from '../../../src/crypto/secp256k1.js';
import { anchorScript, offeredHtlcScript, receivedHtlcScript, toLocalScript, toRemoteConfirmedScript } from '../../../src/bitcoin/bolt3-scripts.js';
import { derivePrivkey, deriveRevocationPrivkey, perCommitmentPoint } from '../../../src/bitcoin/keys.js';
import { p2wpkh, p2wpkhScriptCode, p2wsh } from '../../../src/bitcoin/script.js';
import { derToCompact } from '../../../src/bitcoin/signature.js';
import {
  buildCommitmentTx,
  ChannelError,
  commitmentNumberObscurer,
  commitmentTxid,
  deriveCommitmentKeys,
  perCommitmentSecret,
  type CommitmentFormat,
  type CommitmentTx,
} from '../../../src/channel/index.js';
import {
  anchorInput,
  buildSweepTx,
  delayedToLocalInput,
  MAX_WITNESS_SIG_SIZE,
  penaltyInputs,
  sweepDustLimit,
  sweepWeight,
  SWEEP_SEQUENCE,
  toRemoteInput,
  type SweepInput,
  type SweepTx,
} from '../../../src/channel/onchain/sweep.js';

const key = (tag: string): Buffer => sha256(Buffer.from(tag));
const pub = (priv: Uint8Array): Buffer => secp.publicKey(priv);
const txidN = (n: number): string => sha256(Buffer.from([n])).toString('hex');

const REV = key('revocation');
const DELAYED = key('delayed');
const OTHER = key('other');
const PAY = key('payment');
const FUND = key('funding');
const PAYMENT_HASH = sha256(Buffer.from('preimage'));
const DEST = p2wpkh(pub(key('dest')));
const HTLC_KEYS = { revocationPubkey: pub(REV), localHtlcPubkey: pub(key('lh')), remoteHtlcPubkey: pub(key('rh')) };

function inputsOfEveryKind(amount = 100_000n): SweepInput[] {
  return [
    { kind: 'to_local_delayed', txid: txidN(1), vout: 0, amountSat: amount, witnessScript: toLocalScript(pub(REV), pub(DELAYED), 144), privkey: DELAYED, csvDelay: 144 },
    { kind: 'to_local_revoked', txid: txidN(1), vout: 1, amountSat: amount, witnessScript: toLocalScript(pub(REV), pub(DELAYED), 5), revocationPrivkey: REV },
    { kind: 'htlc_revoked', txid: txidN(1), vout: 2, amountSat: amount, witnessScript: offeredHtlcScript(HTLC_KEYS, PAYMENT_HASH, true), revocationPrivkey: REV },
    { kind: 'htlc_revoked', txid: txidN(1), vout: 3, amountSat: amount, witnessScript: receivedHtlcScript(HTLC_KEYS, PAYMENT_HASH, 600_000, false), revocationPrivkey: REV },
    { kind: 'p2wpkh', txid: txidN(2), vout: 0, amountSat: amount, privkey: PAY },
    { kind: 'to_remote_anchors', txid: txidN(2), vout: 1, amountSat: amount, witnessScript: toRemoteConfirmedScript(pub(PAY)), privkey: PAY },
    { kind: 'anchor', txid: txidN(2), vout: 2, amountSat: 330n, witnessScript: anchorScript(pub(FUND)), fundingPrivkey: FUND },
  ];
}

function parse(t: SweepTx): Transaction {
  return Transaction.fromRaw(t.raw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true });
}

function witnessOf(t: SweepTx, i: number): Buffer[] {
  return (parse(t).getInput(i).finalScriptWitness ?? []).map((w) => Buffer.from(w));
}

function prevScript(i: SweepInput): Buffer {
  return i.kind === 'p2wpkh' ? p2wpkh(pub(i.privkey)) : p2wsh(i.witnessScript);
}

/** Checks the signature in witness item 0 of input `at` against a recomputed BIP 143 digest and `pubkey`. */
function checkSig(t: SweepTx, inputs: SweepInput[], at: number, pubkey: Buffer): void {
  const tx = parse(t);
  const i = inputs[at]!;
  const scriptCode = i.kind === 'p2wpkh' ? p2wpkhScriptCode(pubkey) : i.witnessScript;
  const digest = tx.preimageWitnessV0(at, scriptCode, 0x01, i.amountSat);
  const sig = witnessOf(t, at)[0]!;
  assert.equal(sig[sig.length - 1], 0x01, 'SIGHASH_ALL byte');
  assert.ok(sig.length <= MAX_WITNESS_SIG_SIZE);
  assert.ok(secp.verify(digest, pubkey, derToCompact(sig.subarray(0, -1))), `signature of input ${at} verifies`);
  // And its scriptPubKey is what the witness commits to.
  const w = witnessOf(t, at);
  if (i.kind === 'p2wpkh') assert.deepEqual(p2wpkh(w[1]!), prevScript(i));
  else assert.deepEqual(p2wsh(w[w.length - 1]!), prevScript(i));
}

function expectChannelError(fn: () => unknown, code: ChannelError['code']): void {
  assert.throws(fn, (e: unknown) => e instanceof ChannelError && e.code === code, `expected ChannelError ${code}`);
}

describe('buildSweepTx', () => {
  it('signs every input kind with the BOLT 3 witness and nSequence', () => {
    const inputs = inputsOfEveryKind();
    const t = buildSweepTx({ inputs, destScript: DEST, feeratePerKw: 2500 });
    const tx = parse(t);
    assert.equal(tx.version, 2);
    assert.equal(tx.lockTime, 0);
    assert.equal(tx.inputsLength, inputs.length);
    assert.equal(tx.outputsLength, 1);
    assert.deepEqual(Buffer.from(tx.getOutput(0).script!), DEST);
    assert.equal(tx.getOutput(0).amount, t.outputSat);
    assert.equal(tx.id, t.txid);
    assert.equal(t.hex, t.raw.toString('hex'));

    const seqs = inputs.map((_, i) => tx.getInput(i).sequence);
    assert.deepEqual(seqs, [144, SWEEP_SEQUENCE, SWEEP_SEQUENCE, SWEEP_SEQUENCE, SWEEP_SEQUENCE, 1, SWEEP_SEQUENCE]);
    inputs.forEach((i, at) => {
      assert.equal(tx.getInput(at).txid && Buffer.from(tx.getInput(at).txid!).toString('hex'), i.txid);
      assert.equal(tx.getInput(at).index, i.vout);
    });

    const w = inputs.map((_, i) => witnessOf(t, i));
    // to_local after the delay: <sig> <> <script>
    assert.equal(w[0]!.length, 3);
    assert.equal(w[0]![1]!.length, 0);
    assert.deepEqual(w[0]![2], (inputs[0] as { witnessScript: Buffer }).witnessScript);
    checkSig(t, inputs, 0, pub(DELAYED));
    // revoked to_local: <sig> <1> <script>
    assert.equal(w[1]!.length, 3);
    assert.deepEqual(w[1]![1], Buffer.from([1]));
    checkSig(t, inputs, 1, pub(REV));
    // revoked HTLCs: <sig> <revocationpubkey> <script>
    for (const at of [2, 3]) {
      assert.equal(w[at]!.length, 3);
      assert.deepEqual(w[at]![1], pub(REV));
      checkSig(t, inputs, at, pub(REV));
    }
    // P2WPKH: <sig> <pubkey>
    assert.equal(w[4]!.length, 2);
    assert.deepEqual(w[4]![1], pub(PAY));
    checkSig(t, inputs, 4, pub(PAY));
    // anchors to_remote: <sig> <script>
    assert.equal(w[5]!.length, 2);
    checkSig(t, inputs, 5, pub(PAY));
    // anchor: <sig> <script>
    assert.equal(w[6]!.length, 2);
    checkSig(t, inputs, 6, pub(FUND));
  });

  it('pays ceil(estimated weight × feerate / 1000); the real weight is at most the estimate', () => {
    const all = inputsOfEveryKind();
    const dests = [DEST, p2wsh(Buffer.from('x')), Buffer.from('76a914' + '11'.repeat(20) + '88ac', 'hex')];
    for (let mask = 1; mask < 1 << all.length; mask++) {
      const inputs = all.filter((_, i) => mask & (1 << i));
      if (inputs.every((i) => i.kind === 'anchor')) continue; // 330 sat alone is below the dust limit
      for (const feerate of [253n, 1000n, 7777n]) {
        const dest = dests[mask % dests.length]!;
        const t = buildSweepTx({ inputs, destScript: dest, feeratePerKw: feerate });
        const est = sweepWeight(inputs, dest);
        assert.equal(t.estimatedWeight, est);
        assert.equal(t.feeSat, (BigInt(est) * feerate + 999n) / 1000n);
        assert.equal(t.outputSat + t.feeSat, inputs.reduce((s, i) => s + i.amountSat, 0n));
        const tx = parse(t);
        assert.equal(t.weight, tx.weight, 'weight as @scure/btc-signer computes it');
        assert.ok(t.weight <= est, `actual ${t.weight} ≤ estimate ${est}`);
        assert.ok(est - t.weight <= 4 * inputs.length, `estimate ${est} close to actual ${t.weight}`);
      }
    }
  });

  it('is deterministic and honours lockTime', () => {
    const inputs = inputsOfEveryKind();
    const a = buildSweepTx({ inputs, destScript: DEST, feeratePerKw: 3000n, lockTime: 800_000 });
    const b = buildSweepTx({ inputs: inputsOfEveryKind(), destScript: Uint8Array.from(DEST), feeratePerKw: 3000, lockTime: 800_000 });
    assert.deepEqual(a, b);
    assert.equal(parse(a).lockTime, 800_000);
    const c = buildSweepTx({ inputs, destScript: DEST, feeratePerKw: 3000n });
    assert.notEqual(c.txid, a.txid);
  });

  it('accepts a zero fee rate and upper-case txids', () => {
    const [i] = inputsOfEveryKind();
    const t = buildSweepTx({ inputs: [{ ...i!, txid: i!.txid.toUpperCase() }], destScript: DEST, feeratePerKw: 0 });
    assert.equal(t.feeSat, 0n);
    assert.equal(t.outputSat, 100_000n);
    assert.equal(t.txid, buildSweepTx({ inputs: [i!], destScript: DEST, feeratePerKw: 0 }).txid);
  });

  it('refuses an output below the dust limit (INVALID_AMOUNT)', () => {
    assert.equal(sweepDustLimit(DEST), 546n);
    assert.equal(sweepDustLimit(p2wsh(Buffer.from('x'))), 546n);
    assert.ok(sweepDustLimit(Buffer.alloc(100, 0x51)) > 546n);
    const [i] = inputsOfEveryKind();
    const weight = sweepWeight([i!], DEST);
    const fee = BigInt(Math.ceil((weight * 1000) / 1000));
    // Exactly at the limit passes, one sat less fails.
    const ok = buildSweepTx({ inputs: [{ ...i!, amountSat: 546n + fee }], destScript: DEST, feeratePerKw: 1000 });
    assert.equal(ok.outputSat, 546n);
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, amountSat: 545n + fee }], destScript: DEST, feeratePerKw: 1000 }), 'INVALID_AMOUNT');
    // Fee larger than the inputs.
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, amountSat: 1000n }], destScript: DEST, feeratePerKw: 100_000 }), 'INVALID_AMOUNT');
    // An anchor alone cannot pay for itself.
    expectChannelError(() => buildSweepTx({ inputs: [inputsOfEveryKind()[6]!], destScript: DEST, feeratePerKw: 0 }), 'INVALID_AMOUNT');
  });

  it('refuses keys that do not match the script (INVALID) and malformed keys (INVALID_KEY)', () => {
    const all = inputsOfEveryKind();
    const wrong = key('wrong');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[0] as Extract<SweepInput, { kind: 'to_local_delayed' }>), privkey: REV }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[0] as Extract<SweepInput, { kind: 'to_local_delayed' }>), csvDelay: 143 }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[1] as Extract<SweepInput, { kind: 'to_local_revoked' }>), revocationPrivkey: DELAYED }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[2] as Extract<SweepInput, { kind: 'htlc_revoked' }>), revocationPrivkey: wrong }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[5] as Extract<SweepInput, { kind: 'to_remote_anchors' }>), privkey: wrong }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[6] as Extract<SweepInput, { kind: 'anchor' }>), fundingPrivkey: wrong }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    // An HTLC script handed in as a to_local, and the reverse.
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[1] as Extract<SweepInput, { kind: 'to_local_revoked' }>), witnessScript: (all[2] as { witnessScript: Buffer }).witnessScript }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[2] as Extract<SweepInput, { kind: 'htlc_revoked' }>), witnessScript: (all[1] as { witnessScript: Buffer }).witnessScript }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    // Malformed private keys.
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[4] as Extract<SweepInput, { kind: 'p2wpkh' }>), privkey: Buffer.alloc(32) }], destScript: DEST, feeratePerKw: 253 }), 'INVALID_KEY');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...(all[4] as Extract<SweepInput, { kind: 'p2wpkh' }>), privkey: Buffer.alloc(31, 1) }], destScript: DEST, feeratePerKw: 253 }), 'INVALID_KEY');
  });

  it('refuses malformed arguments with INVALID / INVALID_AMOUNT', () => {
    const [i] = inputsOfEveryKind();
    expectChannelError(() => buildSweepTx({ inputs: [], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [i!, i!], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, txid: 'zz' }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, vout: -1 }], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [i!], destScript: new Uint8Array(0), feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [i!], destScript: DEST, feeratePerKw: 253, lockTime: -1 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, kind: 'bogus' } as unknown as SweepInput], destScript: DEST, feeratePerKw: 253 }), 'INVALID');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, amountSat: 0n }], destScript: DEST, feeratePerKw: 253 }), 'INVALID_AMOUNT');
    expectChannelError(() => buildSweepTx({ inputs: [{ ...i!, amountSat: 100 as unknown as bigint }], destScript: DEST, feeratePerKw: 253 }), 'INVALID_AMOUNT');
    expectChannelError(() => buildSweepTx({ inputs: [i!], destScript: DEST, feeratePerKw: -1n }), 'INVALID_AMOUNT');
    expectChannelError(() => buildSweepTx({ inputs: [i!], destScript: DEST, feeratePerKw: 1.5 }), 'INVALID_AMOUNT');
    expectChannelError(() => buildSweepTx({ inputs: [i!], destScript: DEST, feeratePerKw: Number.NaN }), 'INVALID_AMOUNT');
  });

  it('never throws anything but ChannelError on random amounts, fee rates and delays (property)', () => {
    const all = inputsOfEveryKind();
    const amount = fc.oneof(fc.bigInt({ min: -10n, max: 5_000n }), fc.bigInt({ min: -10n, max: 3_000_000_000_000_000n }));
    const feerate = fc.oneof(
      fc.bigInt({ min: -100n, max: 1n << 40n }),
      fc.integer({ min: -100, max: 100_000 }),
      fc.double(),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ which: fc.nat({ max: all.length - 1 }), amountSat: amount, vout: fc.integer({ min: -1, max: 5 }) }), { minLength: 0, maxLength: 4 }),
        feerate,
        fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 0x7fffffff })),
        (picks, f, lockTime) => {
          const inputs = picks.map((p) => ({ ...all[p.which]!, amountSat: p.amountSat, vout: p.vout }) as SweepInput);
          try {
            const t = buildSweepTx({ inputs, destScript: DEST, feeratePerKw: f as bigint | number, ...(lockTime !== undefined ? { lockTime } : {}) });
            assert.ok(t.outputSat >= 546n);
            assert.equal(t.outputSat + t.feeSat, inputs.reduce((s, i) => s + i.amountSat, 0n));
            assert.ok(t.weight <= t.estimatedWeight);
          } catch (e) {
            if (!(e instanceof ChannelError)) throw e;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: any valid sweep serializes as an independent parser reads it (same txid) and every signature verifies against an independent BIP 143 digest', () => {
    const all = inputsOfEveryKind();
    const signer = (i: SweepInput): Buffer => pub(i.kind === 'to_local_revoked' || i.kind === 'htlc_revoked' ? i.revocationPrivkey : i.kind === 'anchor' ? i.fundingPrivkey : (i as { privkey: Buffer }).privkey);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: all.length - 1 }), { minLength: 1, maxLength: all.length }),
        fc.array(fc.bigInt({ min: 100_000n, max: 100_000_000n }), { minLength: all.length, maxLength: all.length }),
        fc.bigInt({ min: 253n, max: 50_000n }),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (picks, amounts, feerate, lockTime) => {
          const inputs = picks.map((k) => ({ ...all[k]!, amountSat: all[k]!.kind === 'anchor' ? 330n : amounts[k]! }) as SweepInput);
          if (inputs.every((i) => i.kind === 'anchor')) return;
          const t = buildSweepTx({ inputs, destScript: DEST, feeratePerKw: feerate, lockTime });
          const tx = parse(t);
          assert.equal(tx.id, t.txid);
          assert.equal(tx.lockTime, lockTime);
          assert.equal(tx.inputsLength, inputs.length);
          inputs.forEach((i, at) => checkSig(t, inputs, at, signer(i)));
        },
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// A real commitment: penaltyInputs and the per-output helpers

const side = (tag: string): KeySet => keySet(tag);

const A = side('A');
const B = side('B');

/** A's commitment number `n` (A owns it; B is "remote"). */
function aCommitment(format: CommitmentFormat, n = 7n): { c: CommitmentTx; secret: Buffer } {
  const secret = perCommitmentSecret(A.seed, n);
  const point = perCommitmentPoint(secret);
  const c = buildCommitmentTx({
    format,
    funding: { txid: txidN(9), vout: 0, amountSat: 1_000_000n },
    localFundingPubkey: pub(A.funding),
    remoteFundingPubkey: pub(B.funding),
    keys: deriveCommitmentKeys(A.basepoints, B.basepoints, point, true),
    commitmentNumber: n,
    obscurer: commitmentNumberObscurer(A.basepoints.paymentBasepoint, B.basepoints.paymentBasepoint),
    toSelfDelay: 5,
    dustLimitSat: 546n,
    feeratePerKw: 2500n,
    opener: 'local',
    toLocalMsat: 600_000_000n,
    toRemoteMsat: 300_000_000n,
    htlcs: [
      { direction: 'offered', amountMsat: 40_000_000n, paymentHash: sha256(Buffer.from('p1')), cltvExpiry: 500 },
      { direction: 'received', amountMsat: 50_000_000n, paymentHash: sha256(Buffer.from('p2')), cltvExpiry: 510 },
    ],
  });
  return { c, secret };
}

describe('penaltyInputs and friends', () => {
  for (const format of ['static_remotekey', 'anchors_zero_fee_htlc_tx'] as const) {
    it(`${format}: takes to_local, both HTLCs and to_remote of a revoked commitment, skips anchors`, () => {
      const { c, secret } = aCommitment(format);
      const txid = commitmentTxid(c);
      const revocationPrivkey = deriveRevocationPrivkey(B.revocation, secret);
      const ins = penaltyInputs({ commitment: c, txid, revocationPrivkey, toRemotePrivkey: B.payment });
      const kinds = ins.map((i) => `${c.outputs[i.vout]!.kind}:${i.kind}`).sort();
      assert.deepEqual(kinds, [
        'offered_htlc:htlc_revoked',
        'received_htlc:htlc_revoked',
        'to_local:to_local_revoked',
        format === 'static_remotekey' ? 'to_remote:p2wpkh' : 'to_remote:to_remote_anchors',
      ]);
      for (const i of ins) {
        assert.equal(i.txid, txid);
        assert.equal(i.amountSat, c.outputs[i.vout]!.amountSat);
        assert.deepEqual(prevScript(i), c.outputs[i.vout]!.script);
      }
      // Without the to_remote key: only the revocation paths.
      assert.equal(penaltyInputs({ commitment: c, txid, revocationPrivkey }).length, 3);
      const t = buildSweepTx({ inputs: ins, destScript: DEST, feeratePerKw: 2000n });
      const nonAnchors = c.outputs.filter((o) => !o.kind.endsWith('_anchor')).reduce((s, o) => s + o.amountSat, 0n);
      assert.equal(t.outputSat + t.feeSat, nonAnchors);
    });

    it(`${format}: refuses a wrong revocation key, a wrong to_remote key and a wrong txid`, () => {
      const { c, secret } = aCommitment(format);
      const txid = commitmentTxid(c);
      const revocationPrivkey = deriveRevocationPrivkey(B.revocation, secret);
      expectChannelError(() => penaltyInputs({ commitment: c, txid, revocationPrivkey: B.revocation }), 'INVALID');
      expectChannelError(() => penaltyInputs({ commitment: c, txid, revocationPrivkey, toRemotePrivkey: A.payment }), 'INVALID');
      expectChannelError(() => penaltyInputs({ commitment: c, txid: txidN(3), revocationPrivkey }), 'INVALID');
      // The revocation key of another commitment number does not fit either.
      const other = deriveRevocationPrivkey(B.revocation, perCommitmentSecret(A.seed, 8n));
      expectChannelError(() => penaltyInputs({ commitment: c, txid, revocationPrivkey: other }), 'INVALID');
    });

    it(`${format}: the owner's delayed to_local, the other side's to_remote and the anchors`, () => {
      const { c, secret } = aCommitment(format);
      const txid = commitmentTxid(c);
      const point = perCommitmentPoint(secret);
      const local = delayedToLocalInput({ commitment: c, txid, delayedPrivkey: derivePrivkey(A.delayed, point) });
      assert.ok(local && local.kind === 'to_local_delayed');
      assert.equal(local.csvDelay, 5);
      assert.equal(c.outputs[local.vout]!.kind, 'to_local');
      expectChannelError(() => delayedToLocalInput({ commitment: c, txid, delayedPrivkey: A.delayed }), 'INVALID');
      const remote = toRemoteInput({ commitment: c, txid, privkey: B.payment });
      assert.ok(remote);
      assert.equal(remote.kind, format === 'static_remotekey' ? 'p2wpkh' : 'to_remote_anchors');
      const la = anchorInput({ commitment: c, txid, which: 'to_local_anchor', fundingPrivkey: A.funding });
      const ra = anchorInput({ commitment: c, txid, which: 'to_remote_anchor', fundingPrivkey: B.funding });
      if (format === 'static_remotekey') {
        assert.equal(la, null);
        assert.equal(ra, null);
      } else {
        assert.ok(la && ra);
        expectChannelError(() => anchorInput({ commitment: c, txid, which: 'to_local_anchor', fundingPrivkey: B.funding }), 'INVALID');
        const t = buildSweepTx({ inputs: [local, la], destScript: DEST, feeratePerKw: 253 });
        assert.equal(t.outputSat + t.feeSat, c.outputs[local.vout]!.amountSat + 330n);
      }
    });
  }
});
