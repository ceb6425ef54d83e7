/**
 * Property tests of what the store parses from outside: `--wallet` / `--watchtower.wallet` values and
 * PostgreSQL's int8 text. Random and mutated input: no crash other than a plain Error, no hang, no
 * password in a message, and int8 read back exactly.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { resolveStoreLocation } from '../../src/store/location.js';
import { parseInt8 } from '../../src/store/postgres.js';

const SECRET = 'Sup3rS3cret';

it('resolveStoreLocation: any string gives a canonical location or a one-line Error that never shows the password', () => {
  const urls = fc.oneof(
    fc.string(),
    fc.string().map((s) => `postgres://u:${SECRET}@${s}`),
    fc.tuple(fc.constantFrom('postgres://', 'postgresql://', 'sqlite3://', 'mysql://', ''), fc.string(), fc.string()).map(([a, b, c]) => `${a}u:${SECRET}@${b}/${c}`),
    fc.string().map((s) => `sqlite3://${s}`),
  );
  fc.assert(
    fc.property(urls, (v) => {
      try {
        const r = resolveStoreLocation(v, '/data', 'anode.sqlite3');
        assert.ok(r.startsWith('postgres') || r.startsWith('sqlite3:///'), r);
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.ok(!err.message.includes('\n'));
        if (!v.startsWith('sqlite3://') && v.includes(`:${SECRET}@`)) assert.ok(!err.message.includes(SECRET), err.message);
      }
    }),
    { numRuns: 2000 },
  );
});

it('parseInt8: every 64-bit integer reads back exactly (a number while exact, else a bigint)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
      const v = parseInt8(n.toString());
      assert.equal(BigInt(v), n);
      assert.equal(typeof v, Number.isSafeInteger(Number(n)) && BigInt(Number(n)) === n ? 'number' : 'bigint');
    }),
    { numRuns: 5000 },
  );
});
