/** Sizes, dust thresholds and BIP 69 order (src/bitcoin/weight.ts, bip69.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompactSize } from '@scure/btc-signer';
import { compareInputs, compareOutputs } from '../../src/bitcoin/bip69.js';
import { compactSizeLength, dustThreshold, isWitnessProgram, outputSize } from '../../src/bitcoin/weight.js';

const script = (hexStr: string, n: number): Buffer => Buffer.concat([Buffer.from(hexStr, 'hex'), Buffer.alloc(n)]);

describe('sizes and dust', () => {
  it('compactSizeLength is the length of @scure/btc-signer CompactSize', () => {
    const n = fc.oneof(fc.integer({ min: 0, max: 0x1_0001 }), fc.constantFrom(0xfc, 0xfd, 0xffff, 0x1_0000, 0xffffffff, 0x1_0000_0000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
    fc.assert(fc.property(n, (v) => assert.equal(compactSizeLength(v), CompactSize.encode(BigInt(v)).length)));
  });
  it('output sizes and Bitcoin Core dust thresholds of the standard scripts', () => {
    assert.equal(outputSize(script('0014', 20)), 31);
    assert.equal(outputSize(script('0020', 32)), 43);
    assert.equal(dustThreshold(script('0014', 20)), 294n);
    assert.equal(dustThreshold(script('0020', 32)), 330n);
    assert.equal(dustThreshold(script('5120', 32)), 330n);
    assert.equal(dustThreshold(script('a914', 21)), 540n);
    assert.equal(dustThreshold(script('76a914', 22)), 546n);
  });
  it('witness programs: version opcode and one push of 2 to 40 bytes', () => {
    assert.ok(isWitnessProgram(script('5102', 2)));
    assert.ok(isWitnessProgram(script('6028', 40)));
    assert.ok(!isWitnessProgram(script('0001', 1)));
    assert.ok(!isWitnessProgram(script('0029', 41)));
    assert.ok(!isWitnessProgram(script('4f20', 32)));
  });
});

describe('BIP 69', () => {
  it('inputs by txid as displayed (reversed internal bytes), then index', () => {
    const a = { txid: Buffer.from('ff'.repeat(31) + '00', 'hex'), index: 5 };
    const b = { txid: Buffer.from('00'.repeat(31) + '01', 'hex'), index: 0 };
    assert.ok(compareInputs(a, b) < 0);
    assert.ok(compareInputs({ ...a, index: 1 }, a) < 0);
    assert.equal(compareInputs(a, { ...a }), 0);
  });
  it('outputs by amount, then script bytes, shorter prefix first', () => {
    const sorted = [
      { amountSat: 1n, script: Buffer.from('ff', 'hex') },
      { amountSat: 2n, script: Buffer.from('00', 'hex') },
      { amountSat: 2n, script: Buffer.from('0000', 'hex') },
      { amountSat: 2n, script: Buffer.from('01', 'hex') },
    ];
    assert.deepEqual([...sorted].reverse().sort(compareOutputs), sorted);
  });
});
