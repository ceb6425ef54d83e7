import { secp } from '../../crypto/secp256k1.js';

const FIELD_PRIME = Buffer.from('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f', 'hex');

/**
 * btcec's ParsePubKey, with its error texts (LND returns them as they are): 33-byte compressed or
 * 65-byte uncompressed/hybrid keys. Returns the compressed key.
 */
export function parsePubKey(b: Uint8Array): Buffer {
  const key = Buffer.from(b);
  if (key.length === 33) {
    const format = key[0]!;
    if (format !== 2 && format !== 3) throw new Error(`invalid public key: unsupported format: ${format.toString(16)}`);
    const x = key.subarray(1);
    if (Buffer.compare(x, FIELD_PRIME) >= 0) throw new Error('invalid public key: x >= field prime');
    if (!secp.isPublicKey(key)) throw new Error(`invalid public key: x coordinate ${x.toString('hex')} is not on the secp256k1 curve`);
    return key;
  }
  if (key.length === 65) {
    const format = key[0]!;
    if (format !== 4 && format !== 6 && format !== 7) throw new Error(`invalid public key: unsupported format: ${format.toString(16)}`);
    const x = key.subarray(1, 33);
    const y = key.subarray(33);
    if (Buffer.compare(x, FIELD_PRIME) >= 0) throw new Error('invalid public key: x >= field prime');
    if (Buffer.compare(y, FIELD_PRIME) >= 0) throw new Error('invalid public key: y >= field prime');
    const odd = (y[31]! & 1) === 1;
    if ((format === 6 && odd) || (format === 7 && !odd)) throw new Error('invalid public key: y oddness does not match specified value of ' + (format === 7));
    const compressed = Buffer.concat([Buffer.from([odd ? 3 : 2]), x]);
    if (!secp.isPublicKey(compressed)) throw new Error(`invalid public key: [${x.toString('hex')},${y.toString('hex')}] not on secp256k1 curve`);
    return compressed;
  }
  throw new Error(`malformed public key: invalid length: ${key.length}`);
}

/** Go's encoding/hex.DecodeString error texts. */
export function goHexDecode(s: string): Buffer {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
    if (!ok) {
      const cp = Buffer.from(s, 'utf8')[Buffer.byteLength(s.slice(0, i), 'utf8')]!;
      const ch = String.fromCharCode(cp);
      throw new Error(`encoding/hex: invalid byte: U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${ch}'`);
    }
  }
  if (s.length % 2 === 1) throw new Error('encoding/hex: odd length hex string');
  return Buffer.from(s, 'hex');
}
