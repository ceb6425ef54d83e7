import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { coinTypeFor, KeyChain, KeyFamily } from '../../src/crypto/keychain.js';

const N = noble.Point.CURVE().n;
const toBig = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const toBytes = (n: bigint): Uint8Array => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

/** BIP32 private derivation written out from the BIP text with noble as the EC oracle (test-only). */
function oracleDerive(seed: Uint8Array, path: number[]): Uint8Array {
  let I = hmac(sha512, Buffer.from('Bitcoin seed'), seed);
  let k: Uint8Array = I.slice(0, 32);
  let c: Uint8Array = I.slice(32);
  for (const index of path) {
    const data = new Uint8Array(37);
    if (index >= 0x80000000) data.set(k, 1);
    else data.set(noble.getPublicKey(k, true), 0);
    new DataView(data.buffer).setUint32(33, index);
    I = hmac(sha512, c, data);
    k = toBytes((toBig(I.slice(0, 32)) + toBig(k)) % N);
    c = I.slice(32);
  }
  return k;
}
const H = 0x80000000;

describe('KeyChain (BIP32 with LND key families)', () => {
  const seed = Buffer.alloc(32, 0x5a);

  it('derives m/1017\'/coin\'/family\'/0/index exactly as an independent BIP32 implementation', () => {
    const chain = new KeyChain(seed, 'regtest');
    for (const [family, index] of [
      [KeyFamily.NODE_KEY, 0],
      [KeyFamily.TOWER_ID, 0],
      [KeyFamily.TOWER_SESSION, 1],
      [KeyFamily.TOWER_SESSION, 1001],
      [KeyFamily.MULTI_SIG, 0x7fffffff],
    ] as const) {
      const got = chain.derive(family, index);
      const want = oracleDerive(seed, [1017 + H, 1 + H, family + H, 0, index]);
      assert.equal(got.privateKey.toString('hex'), Buffer.from(want).toString('hex'), `family ${family} index ${index}`);
      assert.equal(got.publicKey.toString('hex'), Buffer.from(noble.getPublicKey(want, true)).toString('hex'));
      assert.equal(got.path, `m/1017'/1'/${family}'/0/${index}`);
    }
  });

  it('uses coin type 0 on bitcoin and 1 on every test network (as LND)', () => {
    assert.equal(coinTypeFor('bitcoin'), 0);
    for (const n of ['testnet', 'testnet4', 'signet', 'regtest']) assert.equal(coinTypeFor(n), 1);
    const main = new KeyChain(seed, 'bitcoin').nodeKey();
    assert.equal(main.privateKey.toString('hex'), Buffer.from(oracleDerive(seed, [1017 + H, 0 + H, 6 + H, 0, 0])).toString('hex'));
    assert.notDeepEqual(main.publicKey, new KeyChain(seed, 'regtest').nodeKey().publicKey);
  });

  it('is deterministic, and the node key and tower key differ', () => {
    const a = new KeyChain(seed, 'regtest');
    const b = new KeyChain(Buffer.from(seed), 'regtest');
    assert.deepEqual(a.nodeKey(), b.nodeKey());
    assert.notDeepEqual(a.nodeKey().publicKey, a.towerKey().publicKey);
    assert.equal(a.towerKey().path, "m/1017'/1'/9'/0/0");
  });

  it('rejects out-of-range indexes and bad seeds', () => {
    const chain = new KeyChain(seed, 'regtest');
    assert.throws(() => chain.derive(6, -1), /out of range/);
    assert.throws(() => chain.derive(6, 0x80000000), /out of range/);
    assert.throws(() => chain.derive(6, 1.5), /out of range/);
    assert.throws(() => new KeyChain(Buffer.alloc(8), 'regtest'), /seed must be 16 to 64 bytes/);
  });
});
