/** Signature encodings (src/bitcoin/signature.ts): compact ↔ DER as btcec writes them, witness signatures, BIP 340 range checks. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 as noble } from '@noble/curves/secp256k1.js';
import { BitcoinError } from '../../src/bitcoin/errors.js';
import { checkSchnorrSig, compactToDer, derToCompact, normalizeCompactSig, witnessSignature } from '../../src/bitcoin/signature.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { assertCode } from '../watchtower/helpers.js';

describe('signatures: compact ↔ DER as btcec serialises them', () => {
  it('low-S normalisation and minimal DER, equal to noble', () => {
    for (let i = 0; i < 50; i++) {
      const k = noble.utils.randomSecretKey();
      const d = noble.utils.randomSecretKey();
      const sig = secp.sign(d, k);
      const der = compactToDer(sig);
      assert.deepEqual(der, Buffer.from(noble.Signature.fromBytes(sig, 'compact').toBytes('der')));
      assert.deepEqual(derToCompact(der), sig);
      // high-S input is normalised
      const s = BigInt('0x' + sig.subarray(32).toString('hex'));
      const high = Buffer.concat([sig.subarray(0, 32), Buffer.from((noble.Point.CURVE().n - s).toString(16).padStart(64, '0'), 'hex')]);
      assert.deepEqual(compactToDer(high), der);
    }
  });
  it('r or s zero or ≥ n is INVALID_SIGNATURE', () => {
    assertCode(() => compactToDer(Buffer.alloc(64)), BitcoinError, 'INVALID_SIGNATURE');
    assertCode(() => compactToDer(Buffer.alloc(64, 0xff)), BitcoinError, 'INVALID_SIGNATURE');
    assertCode(() => compactToDer(Buffer.concat([Buffer.alloc(32, 1), Buffer.alloc(32)])), BitcoinError, 'INVALID_SIGNATURE');
  });
  it('witness signatures carry their sighash byte', () => {
    assert.equal(witnessSignature(Buffer.alloc(64, 1), 0x83).at(-1), 0x83);
    assertCode(() => witnessSignature(Buffer.alloc(63), 1), BitcoinError, 'INVALID_SIGNATURE');
  });
  it('normalizeCompactSig keeps low-S signatures and flips high-S ones', () => {
    const sig = secp.sign(Buffer.alloc(32, 7), Buffer.alloc(32, 9));
    assert.deepEqual(normalizeCompactSig(sig), sig);
    const s = BigInt('0x' + sig.subarray(32).toString('hex'));
    const high = Buffer.concat([sig.subarray(0, 32), Buffer.from((noble.Point.CURVE().n - s).toString(16).padStart(64, '0'), 'hex')]);
    assert.deepEqual(normalizeCompactSig(high), sig);
  });
  it('malformed DER is INVALID_SIGNATURE', () => {
    assertCode(() => derToCompact(Buffer.from('3006020101020100', 'hex')), BitcoinError, 'INVALID_SIGNATURE');
    assertCode(() => derToCompact(Buffer.alloc(8)), BitcoinError, 'INVALID_SIGNATURE');
  });
});

describe('BIP 340 signatures: r a field element, s below n', () => {
  it('accepts a real signature and rejects r ≥ p, s ≥ n and a wrong length', () => {
    const sig = secp.signSchnorr(Buffer.alloc(32, 1), Buffer.alloc(32, 2));
    assert.deepEqual(checkSchnorrSig(sig), sig);
    const p = Buffer.from('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f', 'hex');
    const n = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex');
    assertCode(() => checkSchnorrSig(Buffer.concat([p, sig.subarray(32)])), BitcoinError, 'INVALID_SIGNATURE');
    assertCode(() => checkSchnorrSig(Buffer.concat([sig.subarray(0, 32), n])), BitcoinError, 'INVALID_SIGNATURE');
    assertCode(() => checkSchnorrSig(sig.subarray(1)), BitcoinError, 'INVALID_SIGNATURE');
  });
});
