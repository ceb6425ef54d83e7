/** Property tests of everything the client parses: tower URIs and addresses, stored breach data. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  BreachDataError,
  decodeBreachData,
  encodeBreachData,
  formatAddr,
  parseHostPort,
  parseTowerUri,
  TowerUriError,
} from '../../../src/watchtower/client/index.js';
import { deriveRevocationPrivkey as revocationPrivKey } from '../../../src/bitcoin/keys.js';
import { secp } from '../../../src/crypto/secp256k1.js';
import { sha256 } from '../../../src/crypto/hash.js';
import { breachFor } from './helpers.js';

test('parseTowerUri / parseHostPort are total: a value or a TowerUriError', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('@', '[::1]:', '02@x', 'a:99999', '[zz]:1')), (s) => {
      for (const f of [() => parseTowerUri(s), () => parseTowerUri(s, true), () => parseHostPort(s)]) {
        try {
          f();
        } catch (e) {
          assert.ok(e instanceof TowerUriError, String(e));
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test('host:port round-trips; default port 9911', () => {
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()), fc.integer({ min: 1, max: 65535 }), (host, port) => {
      const a = parseHostPort(formatAddr({ host, port }));
      assert.deepEqual(a, { host, port });
    }),
  );
  assert.deepEqual(parseHostPort('tower.example'), { host: 'tower.example', port: 9911 });
  assert.deepEqual(parseHostPort('[::1]'), { host: '::1', port: 9911 });
  const pk = breachFor(1, 1).revocationPubKey.toString('hex');
  assert.deepEqual(parseTowerUri(`${pk}@127.0.0.1:1234`).address, { host: '127.0.0.1', port: 1234 });
  assert.throws(() => parseTowerUri(pk), TowerUriError);
  assert.deepEqual(parseTowerUri(pk, true).pubkey.toString('hex'), pk);
  assert.throws(() => parseHostPort('abc.onion:9911'), /onion/);
});

test('breach data round-trips and its decoder is total', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom('legacy', 'anchor', 'taproot', 'taproot-final'), (chan, h, ct) => {
      const b = breachFor(chan, h, ct as 'legacy');
      assert.deepEqual(decodeBreachData(encodeBreachData(b)), b);
    }),
    { numRuns: 50 },
  );
  const good = JSON.parse(encodeBreachData(breachFor(1, 1))) as Record<string, unknown>;
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.record({ key: fc.constantFrom(...Object.keys(good)), value: fc.jsonValue() }).map(({ key, value }) => JSON.stringify({ ...good, [key]: value })),
      ),
      (s) => {
        try {
          decodeBreachData(s);
        } catch (e) {
          assert.ok(e instanceof BreachDataError, String(e));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

test('revocation private key matches BOLT 3 revocation pubkey derivation', () => {
  // revocationpubkey = basepoint × SHA256(basepoint ‖ point) + point × SHA256(point ‖ basepoint)
  const base = Buffer.alloc(32, 1);
  const per = Buffer.alloc(32, 2);
  const k = revocationPrivKey(base, per);
  assert.ok(secp.isPrivateKey(k));
  const B = secp.publicKey(base);
  const P = secp.publicKey(per);
  const expected = secp.pointAdd(secp.pointMultiply(B, sha256(B, P)), secp.pointMultiply(P, sha256(P, B)));
  assert.deepEqual(secp.publicKey(k), expected);
});
