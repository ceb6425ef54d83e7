/**
 * BOLT 3 scripts not already in the watchtower code: the 2-of-2 funding script, offered and received
 * HTLC scripts (with and without `option_anchors`), and the anchor script. The to_local script, the
 * anchors to_remote script, P2WSH/P2WPKH and HASH160 are the watchtower's (`watchtower/justice/scripts.ts`).
 */
import { hash as nodeHash } from 'node:crypto';
import { secp } from '../crypto/secp256k1.js';
import { hash160, p2wpkh, p2wsh, toLocalScript, toRemoteConfirmedScript } from '../watchtower/justice/scripts.js';
import { ChannelError } from './errors.js';

export { hash160, p2wpkh, p2wsh, toLocalScript, toRemoteConfirmedScript };

const OP_0 = 0x00;
const OP_2 = 0x52;
const OP_16 = 0x60;
const OP_IF = 0x63;
const OP_NOTIF = 0x64;
const OP_ELSE = 0x67;
const OP_ENDIF = 0x68;
const OP_IFDUP = 0x73;
const OP_DROP = 0x75;
const OP_DUP = 0x76;
const OP_SWAP = 0x7c;
const OP_SIZE = 0x82;
const OP_EQUAL = 0x87;
const OP_EQUALVERIFY = 0x88;
const OP_HASH160 = 0xa9;
const OP_CHECKSIG = 0xac;
const OP_CHECKMULTISIG = 0xae;
const OP_CHECKLOCKTIMEVERIFY = 0xb1;
const OP_CHECKSEQUENCEVERIFY = 0xb2;
const OP_1 = 0x51;

function push(data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([data.length]), data]);
}

function key(k: Uint8Array, what: string): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== 33 || !secp.isPublicKey(k)) throw new ChannelError('INVALID_KEY', `channel: ${what} is not a valid 33-byte public key`);
  return k;
}

/** Minimal CScriptNum push of a non-negative integer (`cltv_expiry`, `to_self_delay`). */
export function pushScriptNum(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new ChannelError('INVALID_AMOUNT', `channel: bad script number ${n}`);
  if (n === 0) return Buffer.from([OP_0]);
  if (n <= 16) return Buffer.from([0x50 + n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.push(v & 0xff);
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  return push(Buffer.from(bytes));
}

export function ripemd160(data: Uint8Array): Buffer {
  return nodeHash('ripemd160', data, 'buffer');
}

/** `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys sorted lexicographically (compressed form). */
export function fundingScript(fundingPubkeyA: Uint8Array, fundingPubkeyB: Uint8Array): Buffer {
  const a = key(fundingPubkeyA, 'funding pubkey');
  const b = key(fundingPubkeyB, 'funding pubkey');
  const [k1, k2] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  return Buffer.concat([Buffer.from([OP_2]), push(k1), push(k2), Buffer.from([OP_2, OP_CHECKMULTISIG])]);
}

export interface HtlcScriptKeys {
  revocationPubkey: Uint8Array;
  localHtlcPubkey: Uint8Array;
  remoteHtlcPubkey: Uint8Array;
}

function paymentHash160(paymentHash: Uint8Array): Buffer {
  if (!(paymentHash instanceof Uint8Array) || paymentHash.length !== 32) throw new ChannelError('INVALID', 'channel: payment hash must be 32 bytes');
  return ripemd160(paymentHash);
}

/** Offered HTLC output script (the owner's HTLC to the other side); `anchors` adds `1 OP_CSV OP_DROP`. */
export function offeredHtlcScript(keys: HtlcScriptKeys, paymentHash: Uint8Array, anchors: boolean): Buffer {
  return Buffer.concat([
    Buffer.from([OP_DUP, OP_HASH160]),
    push(hash160(key(keys.revocationPubkey, 'revocation pubkey'))),
    Buffer.from([OP_EQUAL, OP_IF, OP_CHECKSIG, OP_ELSE]),
    push(key(keys.remoteHtlcPubkey, 'remote htlc pubkey')),
    Buffer.from([OP_SWAP, OP_SIZE, 0x01, 0x20, OP_EQUAL, OP_NOTIF, OP_DROP, OP_2, OP_SWAP]),
    push(key(keys.localHtlcPubkey, 'local htlc pubkey')),
    Buffer.from([OP_2, OP_CHECKMULTISIG, OP_ELSE, OP_HASH160]),
    push(paymentHash160(paymentHash)),
    Buffer.from([OP_EQUALVERIFY, OP_CHECKSIG, OP_ENDIF]),
    anchors ? Buffer.from([OP_1, OP_CHECKSEQUENCEVERIFY, OP_DROP]) : Buffer.alloc(0),
    Buffer.from([OP_ENDIF]),
  ]);
}

/** Received HTLC output script (the other side's HTLC to the owner); `anchors` adds `1 OP_CSV OP_DROP`. */
export function receivedHtlcScript(keys: HtlcScriptKeys, paymentHash: Uint8Array, cltvExpiry: number, anchors: boolean): Buffer {
  return Buffer.concat([
    Buffer.from([OP_DUP, OP_HASH160]),
    push(hash160(key(keys.revocationPubkey, 'revocation pubkey'))),
    Buffer.from([OP_EQUAL, OP_IF, OP_CHECKSIG, OP_ELSE]),
    push(key(keys.remoteHtlcPubkey, 'remote htlc pubkey')),
    Buffer.from([OP_SWAP, OP_SIZE, 0x01, 0x20, OP_EQUAL, OP_IF, OP_HASH160]),
    push(paymentHash160(paymentHash)),
    Buffer.from([OP_EQUALVERIFY, OP_2, OP_SWAP]),
    push(key(keys.localHtlcPubkey, 'local htlc pubkey')),
    Buffer.from([OP_2, OP_CHECKMULTISIG, OP_ELSE, OP_DROP]),
    pushScriptNum(cltvExpiry),
    Buffer.from([OP_CHECKLOCKTIMEVERIFY, OP_DROP, OP_CHECKSIG, OP_ENDIF]),
    anchors ? Buffer.from([OP_1, OP_CHECKSEQUENCEVERIFY, OP_DROP]) : Buffer.alloc(0),
    Buffer.from([OP_ENDIF]),
  ]);
}

/** `<funding_pubkey> OP_CHECKSIG OP_IFDUP OP_NOTIF OP_16 OP_CSV OP_ENDIF`. */
export function anchorScript(fundingPubkey: Uint8Array): Buffer {
  return Buffer.concat([
    push(key(fundingPubkey, 'anchor funding pubkey')),
    Buffer.from([OP_CHECKSIG, OP_IFDUP, OP_NOTIF, OP_16, OP_CHECKSEQUENCEVERIFY, OP_ENDIF]),
  ]);
}
