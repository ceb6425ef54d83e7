/** BOLT 3 Appendix D: per-commitment secret generation and compact storage (test/vectors/bolt3-shachain.json), and properties. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hex, readVector } from '../helpers.js';
import {
  ChannelError,
  MAX_SHACHAIN_INDEX,
  perCommitmentSecret,
  perCommitmentSecretFromSeed,
  ShachainStore,
  shachainIndex,
} from '../../src/channel/index.js';

interface ShachainVectors {
  generation: { name: string; seed: string; I: string; output: string }[];
  storage: { name: string; inserts: { I: string; secret: string; output: 'OK' | 'ERROR' }[] }[];
}
const v = readVector<ShachainVectors>('bolt3-shachain.json');

describe('BOLT 3 Appendix D: generation tests', () => {
  for (const t of v.generation) {
    it(t.name, () => {
      assert.equal(perCommitmentSecretFromSeed(hex(t.seed), BigInt(t.I)).toString('hex'), t.output);
    });
  }
  it('commitment number n uses index 2^48 - 1 - n', () => {
    const seed = hex(v.generation[1]!.seed);
    assert.equal(perCommitmentSecret(seed, 0n).toString('hex'), v.generation[1]!.output);
    assert.equal(shachainIndex(0n), MAX_SHACHAIN_INDEX);
    assert.throws(() => perCommitmentSecretFromSeed(seed, MAX_SHACHAIN_INDEX + 1n), (e) => e instanceof ChannelError && e.code === 'INVALID_INDEX');
  });
});

describe('BOLT 3 Appendix D: storage tests', () => {
  for (const t of v.storage) {
    it(t.name, () => {
      const store = new ShachainStore();
      for (const ins of t.inserts) {
        const I = BigInt(ins.I);
        if (ins.output === 'OK') {
          store.insert(I, hex(ins.secret));
          assert.equal(store.get(I).toString('hex'), ins.secret);
        } else {
          const before = store.entries();
          assert.throws(() => store.insert(I, hex(ins.secret)), (e) => e instanceof ChannelError && e.code === 'INVALID_SECRET');
          assert.deepEqual(store.entries(), before, 'a rejected secret leaves the store unchanged');
        }
      }
    });
  }
  it('the correct sequence derives every secret received, and nothing not received', () => {
    const seed = Buffer.alloc(32, 0xff);
    const store = new ShachainStore();
    for (const ins of v.storage[0]!.inserts) store.insert(BigInt(ins.I), hex(ins.secret));
    for (const ins of v.storage[0]!.inserts) assert.equal(store.get(BigInt(ins.I)).toString('hex'), ins.secret);
    assert.equal(store.get(MAX_SHACHAIN_INDEX - 3n).toString('hex'), perCommitmentSecret(seed, 3n).toString('hex'));
    assert.throws(() => store.get(MAX_SHACHAIN_INDEX - 8n), (e) => e instanceof ChannelError && e.code === 'UNKNOWN_SECRET');
    assert.equal(store.size, 1, 'index 2^48 - 8 derives the seven before it');
    const again = ShachainStore.fromEntries(store.entries());
    assert.equal(again.get(MAX_SHACHAIN_INDEX).toString('hex'), v.storage[0]!.inserts[0]!.secret);
  });
});

describe('shachain properties', () => {
  const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));
  it('descending insertion of a correct chain: accepted, at most 49 entries, every secret derivable', () => {
    fc.assert(
      fc.property(seedArb, fc.bigInt({ min: 0n, max: MAX_SHACHAIN_INDEX - 300n }), fc.integer({ min: 1, max: 300 }), (seed, start, count) => {
        const store = new ShachainStore();
        for (let n = start; n < start + BigInt(count); n++) store.insert(shachainIndex(n), perCommitmentSecret(seed, n));
        assert.ok(store.size <= 49);
        for (let n = start; n < start + BigInt(count); n++) assert.ok(store.get(shachainIndex(n)).equals(perCommitmentSecret(seed, n)));
      }),
      { numRuns: 60 },
    );
  });
  it('any order of insertion of a correct chain is accepted and derives every inserted secret', () => {
    fc.assert(
      fc.property(seedArb, fc.uniqueArray(fc.bigInt({ min: 0n, max: 63n }), { minLength: 1, maxLength: 64 }), (seed, numbers) => {
        const store = new ShachainStore();
        for (const n of numbers) store.insert(shachainIndex(n), perCommitmentSecret(seed, n));
        for (const n of numbers) assert.ok(store.get(shachainIndex(n)).equals(perCommitmentSecret(seed, n)));
      }),
      { numRuns: 200 },
    );
  });
  it('a corrupted secret is rejected as soon as a secret that derives it (or that it derives) is known', () => {
    fc.assert(
      fc.property(seedArb, fc.integer({ min: 0, max: 62 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 31 }), (seed, bad, bit, byte) => {
        // Insert 0 … 63 in protocol order with secret `bad` corrupted: that insert or a later one must fail
        // (index 2^48 - 64 derives all 64).
        const store = new ShachainStore();
        let failedAt = -1;
        for (let n = 0; n < 64; n++) {
          const s = perCommitmentSecret(seed, BigInt(n));
          if (n === bad) s[byte]! ^= 1 << (bit & 7);
          try {
            store.insert(shachainIndex(BigInt(n)), s);
          } catch (e) {
            assert.ok(e instanceof ChannelError && e.code === 'INVALID_SECRET');
            failedAt = n;
            break;
          }
        }
        assert.ok(failedAt >= bad, `corruption at ${bad} detected at ${failedAt}`);
      }),
      { numRuns: 200 },
    );
  });
});
