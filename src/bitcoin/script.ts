/**
 * Script helpers every BOLT 3 and justice script shares: key and number checks for script elements,
 * HASH160, the segwit output scripts (P2WPKH, P2WSH, through @scure/btc-signer's `OutScript`),
 * the BIP 143 scriptCode of a P2WPKH spend, and the class of an output script.
 */
import { OutScript } from '@scure/btc-signer';
import { ripemd160, sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { BitcoinError } from './errors.js';

export function hash160(data: Uint8Array): Buffer {
  return ripemd160(sha256(data));
}

/** A 33-byte compressed point on the curve, or INVALID_KEY naming `what`. */
export function pubkey(k: Uint8Array, what: string): Uint8Array {
  if (!(k instanceof Uint8Array) || !secp.isPublicKey(k)) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} is not a valid 33-byte public key`);
  return k;
}

/**
 * A key of `length` bytes, checked for its length only: the to_local, to_remote and taproot leaf scripts
 * take keys that were derived here or checked on the curve where they entered (a point check costs
 * more than building the script).
 */
export function keyOfLength(k: Uint8Array, length: 32 | 33, what: string): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== length) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} must be ${length} bytes`);
  return k;
}

/** A 32-byte x-only (BIP 340) point, or INVALID_KEY naming `what`. */
export function xOnlyPubkey(k: Uint8Array, what: string): Uint8Array {
  if (!(k instanceof Uint8Array) || !secp.isXOnlyPoint(k)) throw new BitcoinError('INVALID_KEY', `bitcoin: ${what} is not a valid 32-byte x-only key`);
  return k;
}

/**
 * A script number these scripts push (`to_self_delay`, `cltv_expiry`): a u32. `Script.encode` pushes
 * it as btcd's `AddInt64` does (OP_0, OP_1 … OP_16, else the minimal little-endian CScriptNum).
 */
export function scriptNumber(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new BitcoinError('INVALID', `bitcoin: ${what} ${n} is not a script number in 0 … 2^32 - 1`);
  return n;
}

export function p2wsh(witnessScript: Uint8Array): Buffer {
  return Buffer.from(OutScript.encode({ type: 'wsh', hash: sha256(witnessScript) }));
}

export function p2wpkh(key: Uint8Array): Buffer {
  return Buffer.from(OutScript.encode({ type: 'wpkh', hash: hash160(keyOfLength(key, 33, 'P2WPKH key')) }));
}

/** BIP 143 scriptCode of a P2WPKH spend: the P2PKH script of the key, `OP_DUP OP_HASH160 <h160> OP_EQUALVERIFY OP_CHECKSIG`. */
export function p2wpkhScriptCode(key: Uint8Array): Buffer {
  return Buffer.from(OutScript.encode({ type: 'pkh', hash: hash160(keyOfLength(key, 33, 'P2WPKH key')) }));
}

export type ScriptClass = 'p2wpkh' | 'p2wsh' | 'p2tr' | 'p2pkh' | 'p2sh' | 'other';

/**
 * The class of an output script by its template alone, as btcd's `GetScriptClass` sees it (a P2TR
 * output key is not checked to be on the curve, which `OutScript.decode` would do).
 */
export function scriptClass(s: Uint8Array): ScriptClass {
  if (s.length === 22 && s[0] === 0x00 && s[1] === 20) return 'p2wpkh';
  if (s.length === 34 && s[0] === 0x00 && s[1] === 32) return 'p2wsh';
  if (s.length === 34 && s[0] === 0x51 && s[1] === 32) return 'p2tr';
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 20 && s[23] === 0x88 && s[24] === 0xac) return 'p2pkh';
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 20 && s[22] === 0x87) return 'p2sh';
  return 'other';
}
