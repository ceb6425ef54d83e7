/**
 * The persistent form of the channel state: exact round trip (bigints, buffers, nested logs), and the
 * decoder on random and mutated text either gives a value or a ChannelError — never another exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChannelError } from '../../src/channel/errors.js';
import { decodeChannelData, decodeStored, encodeChannelData, encodeStored } from '../../src/channel/state.js';
import { mutate, mutationsArb } from '../wire/mutations.js';
import { makePair } from './pair.js';

const RUNS = { numRuns: 300 };

function total(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ChannelError)) throw e;
  }
}

describe('stored channel state', () => {
  const data = decodeChannelData(makePair().a.persisted);

  it('round-trips a real channel state exactly', () => {
    assert.deepEqual(decodeChannelData(encodeChannelData(data)), data);
  });

  it('round-trips arbitrary values of the stored shapes', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.bigInt(),
        fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string().filter((k) => k !== '$n' && k !== '$b' && k !== '__proto__'), tie('v'), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).v;
    fc.assert(fc.property(value, (v) => assert.deepEqual(decodeStored(encodeStored(v)), v)), RUNS);
  });

  it('random text and mutated encodings: a value or a ChannelError', () => {
    const text = encodeChannelData(data);
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => total(() => decodeChannelData(s))), RUNS);
    fc.assert(
      fc.property(mutationsArb, fc.boolean(), (ms, nearEnd) => total(() => decodeChannelData(mutate(Buffer.from(text), ms, nearEnd).toString('latin1')))),
      RUNS,
    );
  });
});
