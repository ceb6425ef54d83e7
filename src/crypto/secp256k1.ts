import { createRequire } from 'node:module';
import type * as Tiny from 'tiny-secp256k1';
import { sha256 } from './hash.js';

/**
 * The elliptic-curve operations anode needs, behind one small interface so the backend can change:
 * libsecp256k1 through its N-API addon (npm `secp256k1`) when it loads, tiny-secp256k1 (libsecp256k1
 * in WebAssembly) otherwise. All keys are 33-byte compressed points; private keys and scalars are 32 bytes.
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

/** tiny-secp256k1 (its WebAssembly compiled) on first use: the fallback backend and BIP 340, never at start with the addon (RSS at rest). */
let tinyLoaded: typeof Tiny | undefined;
const tiny = new Proxy({} as typeof Tiny, { get: (_, k) => (tinyLoaded ??= createRequire(import.meta.url)('tiny-secp256k1') as typeof Tiny)[k as keyof typeof Tiny] });

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

/** What we use of the `secp256k1` addon's API (secp256k1/bindings.js: the native addon, never its JS fallback). */
interface Addon {
  privateKeyVerify(key: Uint8Array): boolean;
  privateKeyTweakAdd(key: Uint8Array, tweak: Uint8Array): Uint8Array;
  publicKeyVerify(point: Uint8Array): boolean;
  publicKeyCreate(key: Uint8Array, compressed: boolean, out: Uint8Array): Uint8Array;
  publicKeyCombine(points: Uint8Array[], compressed: boolean, out: Uint8Array): Uint8Array;
  publicKeyTweakMul(point: Uint8Array, tweak: Uint8Array, compressed: boolean, out: Uint8Array): Uint8Array;
  signatureNormalize(sig: Uint8Array): Uint8Array;
  ecdsaSign(digest: Uint8Array, key: Uint8Array, opts: object, out: Uint8Array): { signature: Uint8Array };
  ecdsaVerify(sig: Uint8Array, digest: Uint8Array, point: Uint8Array): boolean;
  ecdh(point: Uint8Array, key: Uint8Array, opts: object, out: Uint8Array): Uint8Array;
}

/** Runs an addon call, turning its untyped errors into Secp256k1Error. */
function native<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new Secp256k1Error(`secp256k1: ${what}: ${(err as Error).message}`);
  }
}

/**
 * libsecp256k1 through the N-API addon: ECDH, ECDSA, tweaks and point checks. Its vendored library has no
 * BIP 340 module, so the x-only and Schnorr operations stay with tiny-secp256k1 (the same libsecp256k1 code).
 * Error behaviour matches tinySecp256k1: Secp256k1Error where tiny gives null, and verify throws (as tiny
 * does) only for a signature whose r or s is not below the curve order.
 */
export function nativeSecp256k1(addon: Addon): Secp256k1 {
  return {
    isPrivateKey: (key) => key.length === 32 && addon.privateKeyVerify(key),
    isPublicKey: (point) => point.length === 33 && addon.publicKeyVerify(point),
    publicKey(privateKey) {
      if (!(privateKey.length === 32 && addon.privateKeyVerify(privateKey))) throw new Secp256k1Error('secp256k1: invalid private key');
      return native('publicKey', () => addon.publicKeyCreate(privateKey, true, Buffer.allocUnsafe(33))) as Buffer;
    },
    ecdh(privateKey, publicKey) {
      // The addon's default hash is SHA-256 of the compressed shared point: BOLT 8's ECDH exactly.
      if (publicKey.length !== 33 || privateKey.length !== 32) throw new Secp256k1Error('secp256k1: ecdh with an invalid public key');
      return native('ecdh with an invalid public key', () => addon.ecdh(publicKey, privateKey, {}, Buffer.allocUnsafe(32))) as Buffer;
    },
    sign: (digest, privateKey) => native('sign', () => addon.ecdsaSign(digest, privateKey, {}, Buffer.allocUnsafe(64)).signature) as Buffer,
    verify(digest, publicKey, signature) {
      if (!(publicKey.length === 33 && addon.publicKeyVerify(publicKey))) return false;
      // tiny-secp256k1 verifies high-S signatures too (it normalizes first); libsecp256k1 does not.
      const sig = native('verify: invalid signature', () => addon.signatureNormalize(Buffer.from(signature)));
      return native('verify', () => addon.ecdsaVerify(sig, digest, publicKey));
    },
    privateAdd(privateKey, tweak) {
      if (!(privateKey.length === 32 && addon.privateKeyVerify(privateKey))) throw new Secp256k1Error('secp256k1: privateAdd of an invalid private key');
      // The addon tweaks its argument in place.
      return native('privateAdd', () => addon.privateKeyTweakAdd(Buffer.from(privateKey), tweak)) as Buffer;
    },
    pointAdd: (a, b) => native('pointAdd', () => addon.publicKeyCombine([a, b], true, Buffer.allocUnsafe(33))) as Buffer,
    pointMultiply: (point, scalar) => native('pointMultiply', () => addon.publicKeyTweakMul(point, scalar, true, Buffer.allocUnsafe(33))) as Buffer,
    isXOnlyPoint: tinySecp256k1.isXOnlyPoint,
    xOnlyPublicKey: tinySecp256k1.xOnlyPublicKey,
    signSchnorr: tinySecp256k1.signSchnorr,
    verifySchnorr: tinySecp256k1.verifySchnorr,
    xOnlyPointAddTweak: tinySecp256k1.xOnlyPointAddTweak,
  };
}

/** Loads the native addon, or says why it could not. */
export function loadNativeSecp256k1(): { ec: Secp256k1 } | { error: string } {
  try {
    const addon = createRequire(import.meta.url)('secp256k1/bindings.js') as Addon;
    return { ec: nativeSecp256k1(addon) };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  }
}

export type Secp256k1BackendName = 'libsecp256k1 (native addon)' | 'tiny-secp256k1 (wasm)';

/**
 * Which backend is in use and why: the native addon unless it cannot load or `ANODE_SECP256K1=tiny`
 * asks for the WebAssembly one (for differential tests and benchmarks).
 */
export const secpBackend: { name: Secp256k1BackendName; reason: string } = { name: 'tiny-secp256k1 (wasm)', reason: '' };

function selectBackend(): Secp256k1 {
  const wanted = process.env.ANODE_SECP256K1;
  if (wanted === 'tiny') {
    secpBackend.reason = 'ANODE_SECP256K1=tiny';
    return tinySecp256k1;
  }
  const loaded = loadNativeSecp256k1();
  if ('error' in loaded) {
    secpBackend.reason = `native addon did not load: ${loaded.error}`;
    return tinySecp256k1;
  }
  secpBackend.name = 'libsecp256k1 (native addon)';
  secpBackend.reason = wanted === undefined || wanted === 'native' ? 'default' : `ANODE_SECP256K1=${wanted} is not tiny or native`;
  return loaded.ec;
}

/** The backend in use. */
export const secp: Secp256k1 = selectBackend();
