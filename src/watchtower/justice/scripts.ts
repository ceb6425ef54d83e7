/**
 * Commitment-output scripts and spend paths the justice transaction needs (LND `input/script_utils.go`,
 * BOLT 3, and LND's simple-taproot scripts; spec §3.6).
 */
import { hash as nodeHash } from 'node:crypto';
import { sha256 } from '../../crypto/hash.js';
import { secp } from '../../crypto/secp256k1.js';
import { JusticeError } from './errors.js';

export const OP = {
  OP_0: 0x00,
  OP_1: 0x51,
  OP_IF: 0x63,
  OP_ELSE: 0x67,
  OP_ENDIF: 0x68,
  OP_DROP: 0x75,
  OP_DUP: 0x76,
  OP_EQUALVERIFY: 0x88,
  OP_HASH160: 0xa9,
  OP_CHECKSIG: 0xac,
  OP_CHECKSIGVERIFY: 0xad,
  OP_CHECKSEQUENCEVERIFY: 0xb2,
} as const;

/** LND's taproot NUMS point (`input.TaprootNUMSKey`), compressed, and its x-only form. */
export const TAPROOT_NUMS_KEY = Buffer.from('02dca094751109d0bd055d03565874e8276dd53e926b44e3bd1bb6bf4bc130a279', 'hex');
export const TAPROOT_NUMS_X = TAPROOT_NUMS_KEY.subarray(1);
export const TAPSCRIPT_LEAF_VERSION = 0xc0;

export function hash160(data: Uint8Array): Buffer {
  return nodeHash('ripemd160', sha256(data), 'buffer');
}

/** BIP 340 tagged hash. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Buffer {
  const t = sha256(Buffer.from(tag, 'utf8'));
  return sha256(t, t, ...parts);
}

/** A data push (≤ 75 bytes, which is all these scripts need). */
function push(data: Uint8Array): Buffer {
  if (data.length > 75) throw new JusticeError('INVALID', 'justice: push longer than 75 bytes');
  return Buffer.concat([Buffer.from([data.length]), data]);
}

/** btcd `ScriptBuilder.AddInt64`: OP_0, OP_1..OP_16, else the minimal script-number push. */
export function pushInt(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new JusticeError('INVALID', `justice: bad script number ${n}`);
  if (n === 0) return Buffer.from([OP.OP_0]);
  if (n <= 16) return Buffer.from([0x50 + n]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.push(v & 0xff);
    v = Math.floor(v / 256);
  }
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  return push(Buffer.from(bytes));
}

function op(...codes: number[]): Buffer {
  return Buffer.from(codes);
}

function need(key: Uint8Array, n: 32 | 33, what: string): void {
  if (key.length !== n) throw new JusticeError('INVALID_KEY', `justice: ${what} must be ${n} bytes`);
}

/** BOLT 3 to_local: `OP_IF <rev> OP_ELSE <csv> OP_CSV OP_DROP <delay> OP_ENDIF OP_CHECKSIG`. */
export function toLocalScript(revocationPubKey: Uint8Array, localDelayPubKey: Uint8Array, csvDelay: number): Buffer {
  need(revocationPubKey, 33, 'revocation pubkey');
  need(localDelayPubKey, 33, 'local delay pubkey');
  return Buffer.concat([
    op(OP.OP_IF),
    push(revocationPubKey),
    op(OP.OP_ELSE),
    pushInt(csvDelay),
    op(OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP),
    push(localDelayPubKey),
    op(OP.OP_ENDIF, OP.OP_CHECKSIG),
  ]);
}

/** Anchor to_remote: `<pk> OP_CHECKSIGVERIFY OP_1 OP_CSV`. */
export function toRemoteConfirmedScript(pubKey: Uint8Array): Buffer {
  need(pubKey, 33, 'to_remote pubkey');
  return Buffer.concat([push(pubKey), op(OP.OP_CHECKSIGVERIFY, OP.OP_1, OP.OP_CHECKSEQUENCEVERIFY)]);
}

export function p2wsh(witnessScript: Uint8Array): Buffer {
  return Buffer.concat([op(OP.OP_0, 32), sha256(witnessScript)]);
}

export function p2wpkh(pubKey: Uint8Array): Buffer {
  need(pubKey, 33, 'pubkey');
  return Buffer.concat([op(OP.OP_0, 20), hash160(pubKey)]);
}

/** BIP 143 scriptCode of a P2WPKH spend: `OP_DUP OP_HASH160 <h160> OP_EQUALVERIFY OP_CHECKSIG`. */
export function p2wpkhScriptCode(pubKey: Uint8Array): Buffer {
  return Buffer.concat([op(OP.OP_DUP, OP.OP_HASH160, 20), hash160(pubKey), op(OP.OP_EQUALVERIFY, OP.OP_CHECKSIG)]);
}

export function p2tr(outputKeyX: Uint8Array): Buffer {
  need(outputKeyX, 32, 'taproot output key');
  return Buffer.concat([op(OP.OP_1, 32), outputKeyX]);
}

// ---------------------------------------------------------------------------------------------------
// Simple taproot channels

export type TaprootFlavour = 'staging' | 'final';

/** to_local delay leaf: staging `<delay> OP_CHECKSIG <csv> OP_CSV OP_DROP`; final `<delay> OP_CHECKSIGVERIFY <csv> OP_CSV`. */
export function taprootDelayScript(localDelayX: Uint8Array, csvDelay: number, flavour: TaprootFlavour): Buffer {
  need(localDelayX, 32, 'local delay x-only key');
  return flavour === 'staging'
    ? Buffer.concat([push(localDelayX), op(OP.OP_CHECKSIG), pushInt(csvDelay), op(OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP)])
    : Buffer.concat([push(localDelayX), op(OP.OP_CHECKSIGVERIFY), pushInt(csvDelay), op(OP.OP_CHECKSEQUENCEVERIFY)]);
}

/** to_local revoke leaf (both flavours): `<delay> OP_DROP <rev> OP_CHECKSIG`. */
export function taprootRevokeScript(localDelayX: Uint8Array, revocationX: Uint8Array): Buffer {
  need(localDelayX, 32, 'local delay x-only key');
  need(revocationX, 32, 'revocation x-only key');
  return Buffer.concat([push(localDelayX), op(OP.OP_DROP), push(revocationX), op(OP.OP_CHECKSIG)]);
}

/** to_remote leaf: staging `<pk> OP_CHECKSIG OP_1 OP_CSV OP_DROP`; final `<pk> OP_CHECKSIGVERIFY OP_1 OP_CSV`. */
export function taprootToRemoteScript(toRemoteX: Uint8Array, flavour: TaprootFlavour): Buffer {
  need(toRemoteX, 32, 'to_remote x-only key');
  return flavour === 'staging'
    ? Buffer.concat([push(toRemoteX), op(OP.OP_CHECKSIG, OP.OP_1, OP.OP_CHECKSEQUENCEVERIFY, OP.OP_DROP)])
    : Buffer.concat([push(toRemoteX), op(OP.OP_CHECKSIGVERIFY, OP.OP_1, OP.OP_CHECKSEQUENCEVERIFY)]);
}

/** TapLeaf hash (leaf version 0xc0; scripts here are < 253 bytes so the CompactSize is one byte). */
export function tapLeafHash(script: Uint8Array): Buffer {
  if (script.length >= 0xfd) throw new JusticeError('INVALID', 'justice: tap leaf script too long');
  return taggedHash('TapLeaf', Buffer.from([TAPSCRIPT_LEAF_VERSION, script.length]), script);
}

export function tapBranchHash(a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.compare(a, b) <= 0 ? taggedHash('TapBranch', a, b) : taggedHash('TapBranch', b, a);
}

/** BIP 341 output key of `internalX` committed to `merkleRoot`: the P2TR script and the y parity. */
export function taprootOutput(internalX: Uint8Array, merkleRoot: Uint8Array): { pkScript: Buffer; outputKeyX: Buffer; parity: 0 | 1 } {
  const tweak = taggedHash('TapTweak', internalX, merkleRoot);
  let r: { parity: 0 | 1; xOnly: Buffer };
  try {
    r = secp.xOnlyPointAddTweak(internalX, tweak);
  } catch {
    throw new JusticeError('INVALID_KEY', 'justice: taproot tweak failed');
  }
  return { pkScript: p2tr(r.xOnly), outputKeyX: r.xOnly, parity: r.parity };
}

/** x-only form of a compressed key (checks the curve). */
export function xOnly(pubKey33: Uint8Array, what: string): Buffer {
  if (!secp.isPublicKey(pubKey33)) throw new JusticeError('INVALID_KEY', `justice: ${what} is not a valid public key`);
  return Buffer.from(pubKey33.subarray(1));
}

/** The to_local taproot output and its revoke-path spend data, from the kit's fields. */
export function taprootToLocal(
  revocationX: Uint8Array,
  localDelayX: Uint8Array,
  delayLeafHash: Uint8Array,
): { pkScript: Buffer; revokeScript: Buffer; controlBlock: Buffer; revokeLeafHash: Buffer } {
  const revokeScript = taprootRevokeScript(localDelayX, revocationX);
  const revokeLeafHash = tapLeafHash(revokeScript);
  const root = tapBranchHash(revokeLeafHash, delayLeafHash);
  const out = taprootOutput(TAPROOT_NUMS_X, root);
  const controlBlock = Buffer.concat([Buffer.from([TAPSCRIPT_LEAF_VERSION | out.parity]), TAPROOT_NUMS_X, delayLeafHash]);
  return { pkScript: out.pkScript, revokeScript, controlBlock, revokeLeafHash };
}

/** The to_remote taproot output (single leaf under NUMS) and its spend data. */
export function taprootToRemote(
  toRemoteX: Uint8Array,
  flavour: TaprootFlavour,
): { pkScript: Buffer; leafScript: Buffer; controlBlock: Buffer; leafHash: Buffer } {
  const leafScript = taprootToRemoteScript(toRemoteX, flavour);
  const leafHash = tapLeafHash(leafScript);
  const out = taprootOutput(TAPROOT_NUMS_X, leafHash);
  const controlBlock = Buffer.concat([Buffer.from([TAPSCRIPT_LEAF_VERSION | out.parity]), TAPROOT_NUMS_X]);
  return { pkScript: out.pkScript, leafScript, controlBlock, leafHash };
}

// ---------------------------------------------------------------------------------------------------
// Script classes

export type ScriptClass = 'p2wpkh' | 'p2wsh' | 'p2tr' | 'p2pkh' | 'p2sh' | 'other';

export function scriptClass(s: Uint8Array): ScriptClass {
  if (s.length === 22 && s[0] === 0x00 && s[1] === 20) return 'p2wpkh';
  if (s.length === 34 && s[0] === 0x00 && s[1] === 32) return 'p2wsh';
  if (s.length === 34 && s[0] === 0x51 && s[1] === 32) return 'p2tr';
  if (s.length === 25 && s[0] === 0x76 && s[1] === 0xa9 && s[2] === 20 && s[23] === 0x88 && s[24] === 0xac) return 'p2pkh';
  if (s.length === 23 && s[0] === 0xa9 && s[1] === 20 && s[22] === 0x87) return 'p2sh';
  return 'other';
}
