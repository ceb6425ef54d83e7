import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBigSize, encodeBigSize, bigSizeLength } from '../../src/wire/bigsize.js';
import type { WireErrorCode } from '../../src/wire/errors.js';
import { assertWireError, hex, loadVectors } from './helpers.js';

interface BigSizeVectors {
  valid: { name: string; value: string; bytes: string }[];
  invalid: { name: string; bytes: string; code: WireErrorCode }[];
}

const vectors = loadVectors<BigSizeVectors>('bolt1-bigsize.json');

describe('BOLT 1 Appendix A: BigSize decoding', () => {
  for (const v of vectors.valid) {
    it(`decodes ${v.name}`, () => {
      const { value, size } = decodeBigSize(hex(v.bytes));
      assert.equal(value, BigInt(v.value));
      assert.equal(size, v.bytes.length / 2);
    });
  }
  for (const v of vectors.invalid) {
    it(`rejects ${v.name} (${v.code})`, () => {
      assertWireError(() => decodeBigSize(hex(v.bytes)), v.code, /^bigsize: /);
    });
  }
});

describe('BOLT 1 Appendix A: BigSize encoding', () => {
  for (const v of vectors.valid) {
    it(`encodes ${v.name}`, () => {
      assert.equal(encodeBigSize(BigInt(v.value)).toString('hex'), v.bytes);
      assert.equal(bigSizeLength(BigInt(v.value)), v.bytes.length / 2);
      const n = Number(v.value);
      if (Number.isSafeInteger(n)) assert.equal(encodeBigSize(n).toString('hex'), v.bytes);
    });
  }
});

describe('BigSize: offsets and bad input', () => {
  it('decodes at an offset and reports the size consumed', () => {
    const buf = hex('aabbfe00010000cc');
    assert.deepEqual(decodeBigSize(buf, 2), { value: 65536n, size: 5 });
    assert.deepEqual(decodeBigSize(buf, 7), { value: 0xccn, size: 1 });
  });
  it('offset at or past the end is TRUNCATED', () => {
    assertWireError(() => decodeBigSize(hex('00'), 1), 'TRUNCATED');
    assertWireError(() => decodeBigSize(hex('00'), 5), 'TRUNCATED');
  });
  it('truncation counts from the offset', () => {
    assertWireError(() => decodeBigSize(hex('00fd00'), 1), 'TRUNCATED');
  });
  it('a negative or fractional offset is INVALID', () => {
    assertWireError(() => decodeBigSize(hex('00'), -1), 'INVALID');
    assertWireError(() => decodeBigSize(hex('00'), 0.5), 'INVALID');
  });
  it('accepts a plain Uint8Array', () => {
    assert.deepEqual(decodeBigSize(new Uint8Array([0xfd, 0x00, 0xfd])), { value: 253n, size: 3 });
  });
  it('refuses to encode negative, too large or non-integer values', () => {
    assertWireError(() => encodeBigSize(-1), 'INVALID');
    assertWireError(() => encodeBigSize(-1n), 'INVALID');
    assertWireError(() => encodeBigSize(1n << 64n), 'INVALID');
    assertWireError(() => encodeBigSize(1.5), 'INVALID');
    assertWireError(() => encodeBigSize(Number.MAX_SAFE_INTEGER + 1), 'INVALID');
    assertWireError(() => encodeBigSize(Number.NaN), 'INVALID');
  });
});
