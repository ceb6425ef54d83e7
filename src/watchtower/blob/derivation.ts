/**
 * Breach hint and key (LND `watchtower/blob/derivation.go`), from the breaching commitment's txid in
 * internal byte order (as in an outpoint; the reverse of the display hex).
 */
import { sha256 } from '../../crypto/hash.js';
import { BlobError } from './errors.js';

export const BREACH_HINT_SIZE = 16;
export const BREACH_KEY_SIZE = 32;

function check(txid: Uint8Array, what: string): void {
  if (txid.length !== 32) throw new BlobError('INVALID', `blob: ${what}: txid must be 32 bytes, got ${txid.length}`);
}

/** `SHA256(txid)[0:16]`. */
export function breachHint(txidInternal: Uint8Array): Buffer {
  check(txidInternal, 'breach hint');
  return sha256(txidInternal).subarray(0, BREACH_HINT_SIZE);
}

/** `SHA256(txid ‖ txid)`. */
export function breachKey(txidInternal: Uint8Array): Buffer {
  check(txidInternal, 'breach key');
  return sha256(txidInternal, txidInternal);
}

/** Internal byte order of a txid given as display hex. */
export function txidFromHex(displayHex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(displayHex)) throw new BlobError('INVALID', 'blob: txid hex must be 64 hex digits');
  return Buffer.from(displayHex, 'hex').reverse();
}
