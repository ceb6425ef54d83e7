/**
 * Encrypted blobs (LND `blob.Encrypt` / `blob.Decrypt`): `nonce (24, random) ‖ XChaCha20-Poly1305(key,
 * nonce, plaintext, no AD) ‖ tag (16)`, with key = {@link breachKey} of the breaching txid.
 */
import { randomBytes } from 'node:crypto';
import { AeadError } from '../../crypto/aead.js';
import { xchachaOpen, xchachaSeal } from '../../crypto/xchacha.js';
import { BlobError } from './errors.js';
import { decodeJusticeKit, encodeJusticeKit, type JusticeKit } from './justice-kit.js';
import { blobSize, commitmentType, isTaproot, NONCE_SIZE } from './type.js';

const EMPTY = Buffer.alloc(0);

/** Encrypt a kit; `nonce` is for tests only (it must never repeat under one key). */
export function encryptJusticeKit(kit: JusticeKit, key: Uint8Array, nonce?: Uint8Array): Buffer {
  if (key.length !== 32) throw new BlobError('INVALID', 'blob: key must be 32 bytes');
  const n = nonce ?? randomBytes(NONCE_SIZE);
  if (n.length !== NONCE_SIZE) throw new BlobError('INVALID', `blob: nonce must be ${NONCE_SIZE} bytes`);
  const sealed = xchachaSeal(key, n, EMPTY, encodeJusticeKit(kit));
  return Buffer.concat([n, sealed]);
}

/** Kit version (plaintext format) of a supported blob type. */
export function kitVersion(blobType: number): 0 | 1 {
  return isTaproot(commitmentType(blobType)) ? 1 : 0;
}

/**
 * Decrypt and decode a blob of the given blob type. Throws {@link BlobError}: UNKNOWN_BLOB_TYPE,
 * BAD_SIZE (the blob is not exactly 314/340 bytes), DECRYPT_FAILED (wrong key), SWEEP_TOO_LONG.
 */
export function decryptJusticeKit(blob: Uint8Array, key: Uint8Array, blobType: number): JusticeKit {
  const size = blobSize(blobType);
  if (blob.length !== size) throw new BlobError('BAD_SIZE', `blob: must be ${size} bytes for type 0x${blobType.toString(16)}, got ${blob.length}`);
  if (key.length !== 32) throw new BlobError('INVALID', 'blob: key must be 32 bytes');
  let plaintext: Buffer;
  try {
    plaintext = xchachaOpen(key, blob.subarray(0, NONCE_SIZE), EMPTY, blob.subarray(NONCE_SIZE), 'blob');
  } catch (e) {
    if (e instanceof AeadError) throw new BlobError('DECRYPT_FAILED', 'blob: decryption failed');
    throw e;
  }
  return decodeJusticeKit(plaintext, kitVersion(blobType));
}
