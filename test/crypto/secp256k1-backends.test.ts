import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadNativeSecp256k1, secp, secpBackend, tinySecp256k1 } from '../../src/crypto/secp256k1.js';

/**
 * The native addon against tiny-secp256k1 on every operation of the interface, with valid, random and
 * mutated input: the same bytes out, or both throw (a node must not accept with one backend what it
 * rejects with the other).
 */
const loaded = loadNativeSecp256k1();
const nat = 'ec' in loaded ? loaded.ec : undefined;
const tiny = tinySecp256k1;

type Outcome = { ok: unknown } | { threw: true };
function run(f: () => unknown): Outcome {
  try {
    return { ok: f() };
  } catch {
    return { threw: true };
  }
}
function same(f: (ec: typeof tiny) => unknown): void {
  assert.deepEqual(run(() => f(nat!)), run(() => f(tiny)));
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));
const privKey = bytes32.filter((k) => tiny.isPrivateKey(k));
/** The curve order n, n - 1 and n + 1: edge scalars. */
const N = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex');
const edgeScalar = fc.constantFrom(Buffer.alloc(32), N, Buffer.from(N).fill(0xff, 31), Buffer.alloc(32, 0xff), Buffer.concat([Buffer.alloc(31), Buffer.from([1])]));
const scalar = fc.oneof(bytes32, privKey, edgeScalar);
/** A valid point, or one with a byte flipped, or random bytes of nearby lengths. */
const point = fc.oneof(
  privKey.map((k) => tiny.publicKey(k)),
  fc.tuple(privKey, fc.nat(32), fc.integer({ min: 1, max: 255 })).map(([k, i, x]) => {
    const p = Buffer.from(tiny.publicKey(k));
    p[i] = p[i]! ^ x;
    return p;
  }),
  fc.uint8Array({ minLength: 31, maxLength: 34 }).map((b) => Buffer.from(b)),
);

describe('secp256k1: native addon and tiny-secp256k1 agree', { skip: nat ? false : `native addon did not load` }, () => {
  it('key and point checks, public keys', () => {
    fc.assert(
      fc.property(scalar, point, (k, p) => {
        same((ec) => ec.isPrivateKey(k));
        same((ec) => ec.isPublicKey(p));
        same((ec) => ec.publicKey(k));
      }),
      { numRuns: 400 },
    );
  });

  it('BOLT 8 ecdh, point multiplication and addition, private key tweaks', () => {
    fc.assert(
      fc.property(scalar, point, point, scalar, (k, p, q, t) => {
        same((ec) => ec.ecdh(k, p));
        same((ec) => ec.pointMultiply(p, t));
        same((ec) => ec.pointAdd(p, q));
        same((ec) => ec.privateAdd(k, t));
      }),
      { numRuns: 300 },
    );
    // The sum of a point and its negation is the point at infinity: both refuse.
    const p = tiny.publicKey(Buffer.alloc(32, 7));
    const neg = Buffer.from(p);
    neg[0] = neg[0] === 2 ? 3 : 2;
    same((ec) => ec.pointAdd(p, neg));
  });

  it('the addon leaves its arguments untouched (privateAdd tweaks a copy)', () => {
    const k = Buffer.alloc(32, 9);
    const before = Buffer.from(k);
    nat!.privateAdd(k, Buffer.alloc(32, 1));
    assert.deepEqual(k, before);
  });

  it('ECDSA: identical RFC 6979 signatures; verify agrees on valid, mutated and high-S signatures', () => {
    fc.assert(
      fc.property(privKey, bytes32, fc.nat(63), fc.integer({ min: 1, max: 255 }), (k, digest, i, x) => {
        const sig = nat!.sign(digest, k);
        assert.deepEqual(sig, tiny.sign(digest, k));
        const pub = tiny.publicKey(k);
        same((ec) => ec.verify(digest, pub, sig));
        const bad = Buffer.from(sig);
        bad[i] = bad[i]! ^ x;
        same((ec) => ec.verify(digest, pub, bad));
        // s' = n - s: the same signature with a high S.
        const high = Buffer.from(sig);
        const s = BigInt('0x' + sig.subarray(32).toString('hex'));
        Buffer.from((BigInt('0x' + N.toString('hex')) - s).toString(16).padStart(64, '0'), 'hex').copy(high, 32);
        same((ec) => ec.verify(digest, pub, high));
        assert.equal(nat!.verify(digest, pub, high), true);
      }),
      { numRuns: 200 },
    );
    same((ec) => ec.verify(Buffer.alloc(32, 1), tiny.publicKey(Buffer.alloc(32, 1)), Buffer.alloc(64, 0xff)));
    same((ec) => ec.sign(Buffer.alloc(32, 1), Buffer.alloc(32)));
  });
});

describe('secp256k1 backend selection', () => {
  it('uses the native addon by default, and tiny-secp256k1 with ANODE_SECP256K1=tiny', () => {
    if (process.env.ANODE_SECP256K1 === undefined) {
      assert.equal(secpBackend.name, 'libsecp256k1 (native addon)');
      assert.notEqual(secp, tiny);
    }
    const url = new URL('../../src/crypto/secp256k1.js', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); console.log(m.secpBackend.name, m.secp === m.tinySecp256k1)`], {
      env: { ...process.env, ANODE_SECP256K1: 'tiny' },
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('.', import.meta.url)),
    });
    assert.equal(r.stdout.trim(), 'tiny-secp256k1 (wasm) true', r.stderr);
  });
});
