import * as tiny from 'tiny-secp256k1';
import { sha256 } from './hash.js';

/**
 * The elliptic-curve operations anode needs, behind one small interface so the backend can change
 * (tiny-secp256k1, i.e. libsecp256k1 in WASM, today; a native binding if profiling asks for it).
 * All keys are 33-byte compressed points; private keys and scalars are 32 bytes.
 */
export interface Secp256k1 {
  isPrivateKey(key: Uint8Array): boolean;
  /** True for a valid compressed (33-byte) point. */
  isPublicKey(point: Uint8Array): boolean;
  publicKey(privateKey: Uint8Array): Buffer;
  /** BOLT 8 ECDH: SHA-256 of the compressed point privateKey·publicKey. Throws on an invalid point. */
  ecdh(privateKey: Uint8Array, publicKey: Uint8Array): Buffer;
  /** RFC 6979 ECDSA, low-S, 64-byte compact signature. */
  sign(digest: Uint8Array, privateKey: Uint8Array): Buffer;
  verify(digest: Uint8Array, publicKey: Uint8Array, signature: Uint8Array): boolean;
  privateAdd(privateKey: Uint8Array, tweak: Uint8Array): Buffer;
  pointAdd(a: Uint8Array, b: Uint8Array): Buffer;
  pointMultiply(point: Uint8Array, scalar: Uint8Array): Buffer;
  /** True for a valid 32-byte x-only (BIP 340) point. */
  isXOnlyPoint(point: Uint8Array): boolean;
  /** The 32-byte x-only public key of a private key. */
  xOnlyPublicKey(privateKey: Uint8Array): Buffer;
  /** BIP 340 Schnorr signature (64 bytes) of a 32-byte message; `auxRand` defaults to 32 zero bytes. */
  signSchnorr(message: Uint8Array, privateKey: Uint8Array, auxRand?: Uint8Array): Buffer;
  /** BIP 340 verification against a 32-byte x-only key; false (never a throw) for malformed input. */
  verifySchnorr(message: Uint8Array, xOnlyPublicKey: Uint8Array, signature: Uint8Array): boolean;
  /** x-only point + tweak·G (BIP 341 taproot tweak): the x-only result and the parity of its y (0 even, 1 odd). */
  xOnlyPointAddTweak(xOnlyPoint: Uint8Array, tweak: Uint8Array): { parity: 0 | 1; xOnly: Buffer };
}

export class Secp256k1Error extends Error {
  readonly code = 'SECP256K1';
}

function must(p: Uint8Array | null, what: string): Buffer {
  if (p === null) throw new Secp256k1Error(`secp256k1: ${what} gave the point at infinity or an invalid result`);
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

export const tinySecp256k1: Secp256k1 = {
  isPrivateKey: (key) => key.length === 32 && tiny.isPrivate(key),
  isPublicKey: (point) => point.length === 33 && tiny.isPoint(point),
  publicKey(privateKey) {
    if (!(privateKey.length === 32 && tiny.isPrivate(privateKey))) throw new Secp256k1Error('secp256k1: invalid private key');
    return must(tiny.pointFromScalar(privateKey, true), 'publicKey');
  },
  ecdh(privateKey, publicKey) {
    // pointMultiply parses (and so validates) the point itself; a separate isPoint would double the cost.
    let p: Uint8Array | null;
    try {
      p = publicKey.length === 33 ? tiny.pointMultiply(publicKey, privateKey, true) : null;
    } catch {
      p = null;
    }
    if (p === null) throw new Secp256k1Error('secp256k1: ecdh with an invalid public key');
    return sha256(p);
  },
  sign: (digest, privateKey) => Buffer.from(tiny.sign(digest, privateKey)),
  verify: (digest, publicKey, signature) => tiny.isPoint(publicKey) && tiny.verify(digest, publicKey, signature),
  privateAdd: (privateKey, tweak) => must(tiny.privateAdd(privateKey, tweak), 'privateAdd'),
  pointAdd: (a, b) => must(tiny.pointAdd(a, b, true), 'pointAdd'),
  pointMultiply: (point, scalar) => must(tiny.pointMultiply(point, scalar, true), 'pointMultiply'),
  isXOnlyPoint: (point) => point.length === 32 && tiny.isXOnlyPoint(point),
  xOnlyPublicKey(privateKey) {
    if (!(privateKey.length === 32 && tiny.isPrivate(privateKey))) throw new Secp256k1Error('secp256k1: invalid private key');
    return Buffer.from(tiny.xOnlyPointFromScalar(privateKey));
  },
  signSchnorr(message, privateKey, auxRand) {
    if (!(privateKey.length === 32 && tiny.isPrivate(privateKey))) throw new Secp256k1Error('secp256k1: invalid private key');
    return Buffer.from(tiny.signSchnorr(message, privateKey, auxRand ?? ZERO32));
  },
  verifySchnorr(message, xOnlyPublicKey, signature) {
    if (message.length !== 32 || signature.length !== 64 || !(xOnlyPublicKey.length === 32 && tiny.isXOnlyPoint(xOnlyPublicKey))) return false;
    try {
      return tiny.verifySchnorr(message, xOnlyPublicKey, signature);
    } catch {
      return false;
    }
  },
  xOnlyPointAddTweak(xOnlyPoint, tweak) {
    let r: ReturnType<typeof tiny.xOnlyPointAddTweak> = null;
    try {
      r = xOnlyPoint.length === 32 && tweak.length === 32 ? tiny.xOnlyPointAddTweak(xOnlyPoint, tweak) : null;
    } catch {
      r = null;
    }
    if (r === null) throw new Secp256k1Error('secp256k1: xOnlyPointAddTweak with an invalid point or tweak');
    return { parity: r.parity, xOnly: Buffer.from(r.xOnlyPubkey) };
  },
};

const ZERO32 = new Uint8Array(32);

/** The backend in use. */
export const secp: Secp256k1 = tinySecp256k1;
