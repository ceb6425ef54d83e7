import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIP32Factory } from 'bip32';
import fc from 'fast-check';
import * as tiny from 'tiny-secp256k1';
import { Bip32Node } from '../../src/crypto/bip32.js';
import { secpBackend } from '../../src/crypto/secp256k1.js';

/**
 * src/crypto/bip32.ts against the BIP32 test vectors and, on random seeds and paths, against the `bip32`
 * package over tiny-secp256k1 (what the keychain and the wallet used before): the same keys, chain codes,
 * fingerprints and extended keys, on the backend in use (`secpBackend`).
 */
const reference = BIP32Factory(tiny);
const H = 0x80000000;
const TEST_VERSIONS = { messagePrefix: '\x18Bitcoin Signed Message:\n', bech32: 'tb', bip32: { public: 0x043587cf, private: 0x04358394 }, pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };

describe(`BIP32 (${secpBackend.name})`, () => {
  it('BIP32 test vector 1: extended keys of m, m/0H and m/0H/1', () => {
    const m = Bip32Node.fromSeed(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    assert.equal(m.neutered().toBase58(), 'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8');
    assert.equal(m.toBase58(), 'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi');
    assert.equal(m.derivePath("m/0'").neutered().toBase58(), 'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw');
    assert.equal(m.derive(0 + H).derive(1).neutered().toBase58(), 'xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ');
  });

  it('the same keys as the bip32 package on random seeds and paths (xpub and tpub)', () => {
    const index = fc.oneof(fc.integer({ min: 0, max: H - 1 }), fc.integer({ min: H, max: 0xffffffff }));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), fc.array(index, { maxLength: 5 }), fc.boolean(), (seed, path, test) => {
        const net = test ? TEST_VERSIONS : undefined;
        let ours = Bip32Node.fromSeed(seed, net);
        let theirs = reference.fromSeed(Buffer.from(seed), net as never);
        for (const i of path) {
          ours = ours.derive(i);
          theirs = theirs.derive(i);
          assert.deepEqual(ours.privateKey, Buffer.from(theirs.privateKey!));
          assert.deepEqual(ours.publicKey, Buffer.from(theirs.publicKey));
          assert.deepEqual(ours.chainCode, Buffer.from(theirs.chainCode));
        }
        assert.deepEqual(ours.fingerprint, Buffer.from(theirs.fingerprint));
        assert.equal(ours.toBase58(), theirs.toBase58());
        assert.equal(ours.neutered().toBase58(), theirs.neutered().toBase58());
        const text = `m${path.map((i) => (i >= H ? `/${i - H}'` : `/${i}`)).join('')}`;
        assert.deepEqual(Bip32Node.fromSeed(seed, net).derivePath(text).publicKey, ours.publicKey);
      }),
      { numRuns: 200 },
    );
  });

  it('a neutered node derives the same public children as the private one; hardened children need the private key', () => {
    const m = Bip32Node.fromSeed(Buffer.alloc(32, 7)).derivePath("m/84'/0'/0'");
    const pub = m.neutered();
    assert.equal(pub.privateKey, undefined);
    assert.deepEqual(pub.derive(0).derive(5).publicKey, m.derive(0).derive(5).publicKey);
    assert.throws(() => pub.derive(H), /hardened child needs the private key/);
  });

  it('rejects bad seeds, indexes and paths', () => {
    assert.throws(() => Bip32Node.fromSeed(Buffer.alloc(15)), /16 to 64 bytes/);
    assert.throws(() => Bip32Node.fromSeed(Buffer.alloc(65)), /16 to 64 bytes/);
    const m = Bip32Node.fromSeed(Buffer.alloc(16, 1));
    for (const i of [-1, 1.5, 2 ** 32]) assert.throws(() => m.derive(i), /out of range/);
    for (const p of ['84/0', "m/x'", `m/${H}`, 'm//1']) assert.throws(() => m.derivePath(p), /path/);
    assert.throws(() => m.derive(1).derivePath('m/1'), /master/);
  });
});
