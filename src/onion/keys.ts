/**
 * The key material of BOLT 4's Sphinx construction, shared by the forward onion (`sphinx.ts`) and the
 * failure messages that travel back (`failure-onion.ts`): the per-hop shared secrets with their
 * ephemeral-key blinding, the keys derived from a shared secret (`rho`, `mu`, `um`, `ammag`, `pad`),
 * and the ChaCha20 stream they key.
 */
import { createCipheriv, timingSafeEqual } from 'node:crypto';
import { hmacSha256, sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { OnionError } from './errors.js';

/** secp256k1's group order: the blinded session key is a product of scalars modulo it. */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

export type KeyType = 'rho' | 'mu' | 'um' | 'ammag' | 'pad';

const KEY_TYPES: Record<KeyType, Buffer> = {
  rho: Buffer.from('rho'),
  mu: Buffer.from('mu'),
  um: Buffer.from('um'),
  ammag: Buffer.from('ammag'),
  pad: Buffer.from('pad'),
};

/** `HMAC-SHA256(key = keyType as ASCII, message = secret)`. */
export function deriveKey(keyType: KeyType, secret: Uint8Array): Buffer {
  return hmacSha256(KEY_TYPES[keyType], secret);
}

const ZERO_IV = Buffer.alloc(16);

/** `length` bytes of the ChaCha20 stream under `key` (96-bit zero nonce, block counter from 0). */
export function cipherStream(key: Uint8Array, length: number): Buffer {
  return createCipheriv('chacha20', key, ZERO_IV).update(Buffer.alloc(length));
}

/** `target[i] ^= mask[i]` for every byte of `target` (`mask` at least as long). */
export function xorInto(target: Buffer, mask: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i] ^= mask[i]!;
}

/** Constant-time equality of two MACs of the same length. */
export function macEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `sha256(ephemeralPublicKey ‖ sharedSecret)`: the factor that blinds the ephemeral key for the next hop. */
export function blindingFactor(ephemeralPublicKey: Uint8Array, sharedSecret: Uint8Array): Buffer {
  return sha256(ephemeralPublicKey, sharedSecret);
}

const toBigInt = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex')}`);

/** `a·b mod n` of two 32-byte scalars (a key blinded by a factor: Sphinx's session key, route blinding's node key). */
export function multiplyScalars(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.from(((toBigInt(a) * toBigInt(b)) % CURVE_ORDER).toString(16).padStart(64, '0'), 'hex');
}

/**
 * The sender's side: for each hop (its node id), the shared secret, and the ephemeral public key the
 * first hop receives. The session key is blinded hop by hop, so each hop sees a different ephemeral key.
 */
export function senderSecrets(sessionKey: Uint8Array, hopNodeIds: readonly Uint8Array[]): { ephemeralKey: Buffer; sharedSecrets: Buffer[] } {
  if (!secp.isPrivateKey(sessionKey)) throw new OnionError('INVALID_ARGUMENT', 'onion: invalid session key');
  let privBytes: Buffer = Buffer.from(sessionKey);
  const ephemeralKey = secp.publicKey(privBytes);
  let pub = ephemeralKey;
  const sharedSecrets: Buffer[] = [];
  hopNodeIds.forEach((nodeId, i) => {
    let ss: Buffer;
    try {
      ss = secp.ecdh(privBytes, nodeId);
    } catch {
      throw new OnionError('INVALID_ARGUMENT', `onion: hop ${i} node id is not a valid public key`);
    }
    sharedSecrets.push(ss);
    if (i === hopNodeIds.length - 1) return;
    privBytes = multiplyScalars(privBytes, blindingFactor(pub, ss));
    pub = secp.publicKey(privBytes);
  });
  return { ephemeralKey, sharedSecrets };
}
