/**
 * Signature encodings: the 64-byte compact `r‖s` Lightning messages and justice kits carry, and the
 * DER-plus-sighash-byte form a witness carries, as btcec's `Signature.Serialize` writes it (r and s in
 * [1, n-1], s normalised to low-S, minimal DER integers) — through @noble/curves' `Signature`; and the
 * range check of a BIP 340 signature.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { BitcoinError } from './errors.js';
import { CURVE_ORDER } from './keys.js';

export const SIGHASH_DEFAULT = 0x00;
export const SIGHASH_ALL = 0x01;
export const SIGHASH_SINGLE_ANYONECANPAY = 0x83;

const FIELD_P = secp256k1.Point.CURVE().p;

type EcdsaSignature = InstanceType<typeof secp256k1.Signature>;

function parseCompact(sig: Uint8Array): EcdsaSignature {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new BitcoinError('INVALID_SIGNATURE', 'bitcoin: signature must be 64 bytes');
  let s: EcdsaSignature;
  try {
    s = secp256k1.Signature.fromBytes(sig, 'compact');
  } catch {
    throw new BitcoinError('INVALID_SIGNATURE', 'bitcoin: signature r or s is zero or not below the group order');
  }
  return s.hasHighS() ? new secp256k1.Signature(s.r, CURVE_ORDER - s.s) : s;
}

/** A compact `r‖s` with s normalised to low-S (throws INVALID_SIGNATURE for r or s outside [1, n-1]). */
export function normalizeCompactSig(sig: Uint8Array): Buffer {
  return Buffer.from(parseCompact(sig).toBytes('compact'));
}

/** DER encoding (without sighash byte) of a compact signature, low-S. */
export function compactToDer(sig: Uint8Array): Buffer {
  return Buffer.from(parseCompact(sig).toBytes('der'));
}

/** Inverse of {@link compactToDer} for strict DER. */
export function derToCompact(der: Uint8Array): Buffer {
  try {
    return Buffer.from(secp256k1.Signature.fromBytes(der, 'der').toBytes('compact'));
  } catch {
    throw new BitcoinError('INVALID_SIGNATURE', 'bitcoin: malformed DER signature');
  }
}

/** DER signature with its sighash byte, as it goes in a witness. */
export function witnessSignature(compactSig: Uint8Array, sighashType: number): Buffer {
  return Buffer.concat([compactToDer(compactSig), Buffer.from([sighashType])]);
}

/** A BIP 340 signature whose r is a field element and s is below the group order (what btcec's parser accepts). */
export function checkSchnorrSig(sig: Uint8Array): Buffer {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new BitcoinError('INVALID_SIGNATURE', 'bitcoin: schnorr signature must be 64 bytes');
  if (bytesToNumberBE(sig.subarray(0, 32)) >= FIELD_P) throw new BitcoinError('INVALID_SIGNATURE', 'bitcoin: schnorr signature r is not a field element');
  if (bytesToNumberBE(sig.subarray(32)) >= CURVE_ORDER) throw new BitcoinError('INVALID_SIGNATURE', 'bitcoin: schnorr signature s overflows the group order');
  return Buffer.from(sig);
}
