/**
 * The wallet's pure parts: BIP84/BIP86 derivation (the BIPs' own vectors), address parsing, lightningd's
 * amount and feerate parameters, and coin selection invariants, with fast-check properties.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseSatAmount, MAX_SAT } from '../../src/wallet/amount.js';
import { dustThreshold } from '../../src/bitcoin/weight.js';
import { feeForWeight, INPUT_WEIGHT, outputWeight, selectCoins, TX_OVERHEAD_WEIGHT, type Candidate } from '../../src/wallet/coin-select.js';
import { parseFeerate } from '../../src/wallet/feerate.js';
import { addressToScript, btcNetwork, scriptToAddress, WalletError, WalletKeys } from '../../src/wallet/keys.js';

// BIP39 seed of "abandon abandon … about" (no passphrase), the mnemonic of the BIP84 and BIP86 test vectors.
const ABANDON_SEED = Buffer.from(
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4',
  'hex',
);

describe('wallet keys', () => {
  it('BIP84 test vectors (m/84h/0h/0h/0/0, /0/1, /1/0)', () => {
    const k = new WalletKeys(ABANDON_SEED, 'bitcoin');
    assert.equal(k.derive('p2wpkh', 0, 0).address, 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    assert.equal(k.derive('p2wpkh', 0, 1).address, 'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
    assert.equal(k.derive('p2wpkh', 1, 0).address, 'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el');
    assert.equal(k.derive('p2wpkh', 0, 0).path, "m/84'/0'/0'/0/0");
  });

  it('BIP86 test vectors (m/86h/0h/0h/0/0, /0/1, /1/0)', () => {
    const k = new WalletKeys(ABANDON_SEED, 'bitcoin');
    assert.equal(k.derive('p2tr', 0, 0).address, 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
    assert.equal(k.derive('p2tr', 0, 1).address, 'bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh');
    assert.equal(k.derive('p2tr', 1, 0).address, 'bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7');
  });

  it('test networks use coin type 1 and their bech32 prefix', () => {
    const r = new WalletKeys(ABANDON_SEED, 'regtest').derive('p2wpkh', 0, 0);
    assert.equal(r.path, "m/84'/1'/0'/0/0");
    assert.match(r.address, /^bcrt1q/);
    assert.match(new WalletKeys(ABANDON_SEED, 'testnet').derive('p2tr', 0, 0).address, /^tb1p/);
    assert.throws(() => new WalletKeys(ABANDON_SEED, 'liquid'), WalletError);
  });

  it('addressToScript is total and round-trips with scriptToAddress', () => {
    const net = btcNetwork('regtest');
    const k = new WalletKeys(ABANDON_SEED, 'regtest');
    for (const kind of ['p2wpkh', 'p2tr'] as const) {
      const key = k.derive(kind, 0, 3);
      assert.deepEqual(addressToScript(key.address, net), key.script);
      assert.equal(scriptToAddress(key.script, net), key.address);
    }
    assert.throws(() => addressToScript('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu', net), (e: unknown) => e instanceof WalletError && e.code === 'BAD_ADDRESS');
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 120 }), fc.stringMatching(/^bcrt1[qp][02-9ac-hj-np-z]{0,70}$/)), (s) => {
        try {
          const script = addressToScript(s, net);
          assert.ok(script.length > 0);
        } catch (e) {
          assert.ok(e instanceof WalletError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("lightningd's amount and feerate parameters", () => {
  it('satoshi amounts: every form, and total on any input', () => {
    assert.equal(parseSatAmount(1000), 1000n);
    assert.equal(parseSatAmount('1000'), 1000n);
    assert.equal(parseSatAmount('1000sat'), 1000n);
    assert.equal(parseSatAmount('1000000msat'), 1000n);
    assert.equal(parseSatAmount('0.00001000btc'), 1000n);
    assert.equal(parseSatAmount('2btc'), 200_000_000n);
    for (const bad of ['1001msat', '0.1btc', '-1', '1.5sat', '', 'all', 1.5, -1, null, {}, '21000001btc']) assert.throws(() => parseSatAmount(bad), WalletError, String(bad));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 50 }), fc.integer(), fc.double(), fc.bigInt()), (v) => {
        try {
          const s = parseSatAmount(v);
          assert.ok(s >= 0n && s <= MAX_SAT);
        } catch (e) {
          assert.ok(e instanceof WalletError);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_SAT }), (sat) => {
        assert.equal(parseSatAmount(`${sat}sat`), sat);
        assert.equal(parseSatAmount(`${sat}000msat`), sat);
        assert.equal(parseSatAmount(`${sat / 100_000_000n}.${String(sat % 100_000_000n).padStart(8, '0')}btc`), sat);
      }),
    );
  });

  it('feerates: names, perkw, perkb (the default unit), floor 253 perkw', () => {
    assert.deepEqual(parseFeerate('normal'), { kind: 'target', name: 'normal', blocks: 6 });
    assert.deepEqual(parseFeerate('urgent'), { kind: 'target', name: 'urgent', blocks: 2 });
    assert.deepEqual(parseFeerate('1000perkw'), { kind: 'fixed', feeRateSatPerKw: 1000 });
    assert.deepEqual(parseFeerate('4000perkb'), { kind: 'fixed', feeRateSatPerKw: 1000 });
    assert.deepEqual(parseFeerate(4000), { kind: 'fixed', feeRateSatPerKw: 1000 });
    assert.deepEqual(parseFeerate('10perkw'), { kind: 'fixed', feeRateSatPerKw: 253 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double()), (v) => {
        try {
          const f = parseFeerate(v);
          if (f.kind === 'fixed') assert.ok(Number.isSafeInteger(f.feeRateSatPerKw) && f.feeRateSatPerKw >= 253);
        } catch (e) {
          assert.ok(e instanceof WalletError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('coin selection', () => {
  const P2WPKH = Buffer.from('0014' + '11'.repeat(20), 'hex');
  const P2WSH = Buffer.from('0020' + '22'.repeat(32), 'hex');
  const P2PKH = Buffer.from('76a914' + '33'.repeat(20) + '88ac', 'hex');

  it("dust thresholds are Bitcoin Core's", () => {
    assert.equal(dustThreshold(P2WPKH), 294n);
    assert.equal(dustThreshold(P2WSH), 330n);
    assert.equal(dustThreshold(P2PKH), 546n);
  });

  it('balances, pays at least the fee rate, never makes dust, or says it cannot afford', () => {
    const candidate = fc.record({
      txid: fc.stringMatching(/^[0-9a-f]{64}$/),
      vout: fc.nat(10),
      amountSat: fc.bigInt({ min: 1n, max: 10_000_000n }),
      kind: fc.constantFrom('p2wpkh' as const, 'p2tr' as const),
    });
    fc.assert(
      fc.property(
        fc.array(candidate, { maxLength: 12 }),
        fc.array(fc.record({ script: fc.constantFrom(P2WPKH, P2WSH, P2PKH), amountSat: fc.bigInt({ min: 200n, max: 20_000_000n }) }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 253, max: 50_000 }),
        fc.boolean(),
        (cands: Candidate[], outputs, rate, all) => {
          const outs = all ? outputs.slice(0, 1) : outputs;
          try {
            const sel = selectCoins({ candidates: cands, outputs: outs, feeRateSatPerKw: rate, changeScript: P2WPKH, all });
            const inSum = sel.inputs.reduce((a, c) => a + c.amountSat, 0n);
            const outSum = sel.outputAmounts.reduce((a, b) => a + b, 0n) + sel.changeSat;
            assert.equal(inSum, outSum + sel.feeSat, 'inputs = outputs + change + fee');
            const weight =
              TX_OVERHEAD_WEIGHT + sel.inputs.reduce((w, c) => w + INPUT_WEIGHT[c.kind], 0) + outs.reduce((w, o) => w + outputWeight(o.script), 0) + (sel.changeSat > 0n ? outputWeight(P2WPKH) : 0);
            assert.equal(sel.weight, weight);
            assert.ok(sel.feeSat >= feeForWeight(weight, rate), 'fee at least the rate');
            if (sel.changeSat > 0n) assert.ok(sel.changeSat >= dustThreshold(P2WPKH), 'change is not dust');
            else if (!all) assert.ok(sel.feeSat - feeForWeight(weight, rate) < dustThreshold(P2WPKH) + feeForWeight(outputWeight(P2WPKH), rate), 'dropped change was small');
            sel.outputAmounts.forEach((a, i) => assert.ok(a >= dustThreshold(outs[i]!.script)));
            if (!all) sel.outputAmounts.forEach((a, i) => assert.equal(a, outs[i]!.amountSat));
          } catch (e) {
            assert.ok(e instanceof WalletError, String(e));
            if (e.code === 'DUST') assert.ok(outs.some((o) => o.amountSat < dustThreshold(o.script)));
            else {
              assert.equal(e.code, 'CANNOT_AFFORD');
              const total = cands.reduce((a, c) => a + c.amountSat, 0n);
              const target = all ? dustThreshold(outs[0]!.script) : outs.reduce((a, o) => a + o.amountSat, 0n);
              const minFee = feeForWeight(TX_OVERHEAD_WEIGHT + outs.reduce((w, o) => w + outputWeight(o.script), 0) + cands.reduce((w, c) => w + INPUT_WEIGHT[c.kind], 0), rate);
              assert.ok(total < target + minFee, 'really could not afford');
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('prefers large coins and reports the shortfall like lightningd', () => {
    const c = (amountSat: bigint, vout: number): Candidate => ({ txid: 'ab'.repeat(32), vout, amountSat, kind: 'p2wpkh' });
    const sel = selectCoins({ candidates: [c(10_000n, 0), c(1_000_000n, 1), c(50_000n, 2)], outputs: [{ script: P2WSH, amountSat: 500_000n }], feeRateSatPerKw: 1000, changeScript: P2WPKH });
    assert.deepEqual(sel.inputs.map((i) => i.vout), [1]);
    assert.ok(sel.changeSat > 0n);
    assert.throws(
      () => selectCoins({ candidates: [c(10_000n, 0)], outputs: [{ script: P2WSH, amountSat: 500_000n }], feeRateSatPerKw: 1000, changeScript: P2WPKH }),
      /^WalletError: Could not afford 500000sat using all 1 available UTXOs: \d+sat short$/,
    );
  });
});
