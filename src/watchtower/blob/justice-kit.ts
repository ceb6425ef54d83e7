/**
 * Justice-kit plaintexts (LND `watchtower/blob/justice_kit_packet.go`; spec §3.4–§3.5).
 *
 * V0 (legacy 0x0002/0x0003, anchor 0x0006), 274 bytes:
 *   sweep len u8 ‖ sweep script padded to 42 ‖ revocation pk (33) ‖ local delay pk (33) ‖ csv u32 BE ‖
 *   to_local sig r‖s (64) ‖ to_remote pk (33 or zeros) ‖ to_remote sig (64 or zeros)
 * V1 (taproot 0x000a / 0x001a), 300 bytes:
 *   sweep len u8 ‖ sweep script padded to 42 ‖ revocation x-only (32) ‖ local delay x-only (32) ‖
 *   to_local Schnorr sig (64) ‖ delay-leaf TapLeaf hash (32) ‖ to_remote pk compressed (33 or zeros) ‖
 *   to_remote Schnorr sig (64 or zeros)
 *
 * Decoding mirrors LND: no key or signature is validated here (that happens when the justice transaction
 * is rebuilt); to_remote is present iff its 33 bytes start with 0x02 or 0x03, and when absent both
 * to_remote fields decode as zeros; padding after the sweep script is ignored.
 */
import { Reader } from '../../wire/reader.js';
import { BlobError } from './errors.js';
import { MAX_SWEEP_SCRIPT_SIZE, V0_PLAINTEXT_SIZE, V1_PLAINTEXT_SIZE } from './type.js';

export interface JusticeKitV0 {
  version: 0;
  sweepScript: Buffer;
  /** Compressed (33). */
  revocationPubKey: Buffer;
  /** Compressed (33): the breacher's delayed key. */
  localDelayPubKey: Buffer;
  csvDelay: number;
  /** Compact ECDSA r‖s (64), SIGHASH_ALL. */
  toLocalSig: Buffer;
  /** Compressed (33), or 33 zero bytes when there is no to_remote output. */
  toRemotePubKey: Buffer;
  /** Compact ECDSA r‖s (64), or zeros. */
  toRemoteSig: Buffer;
}

export interface JusticeKitV1 {
  version: 1;
  sweepScript: Buffer;
  /** x-only (32). */
  revocationPubKey: Buffer;
  /** x-only (32). */
  localDelayPubKey: Buffer;
  /** BIP 340 (64), SIGHASH_DEFAULT. */
  toLocalSig: Buffer;
  /** TapLeaf hash of the to_local delay leaf (32). */
  delayScriptHash: Buffer;
  /** Compressed (33), or 33 zero bytes. */
  toRemotePubKey: Buffer;
  /** BIP 340 (64), or zeros. */
  toRemoteSig: Buffer;
}

export type JusticeKit = JusticeKitV0 | JusticeKitV1;

export const NO_TO_REMOTE_PUBKEY: Buffer = Buffer.alloc(33);
export const NO_SIG: Buffer = Buffer.alloc(64);

/** LND's `btcec.IsCompressedPubKey`: 33 bytes starting with 0x02 or 0x03 (no curve check). */
export function isCompressedPubKeyFormat(b: Uint8Array): boolean {
  return b.length === 33 && (b[0] === 0x02 || b[0] === 0x03);
}

/** True when the kit carries a to_remote key and signature. */
export function hasToRemote(kit: JusticeKit): boolean {
  return isCompressedPubKeyFormat(kit.toRemotePubKey);
}

export function kitPlaintextSize(kit: JusticeKit): number {
  return kit.version === 0 ? V0_PLAINTEXT_SIZE : V1_PLAINTEXT_SIZE;
}

function put(out: Buffer, at: number, v: Uint8Array, n: number, what: string): number {
  if (!(v instanceof Uint8Array) || v.length !== n) throw new BlobError('INVALID', `blob: v${what}: must be ${n} bytes`);
  out.set(v, at);
  return at + n;
}

export function encodeJusticeKit(kit: JusticeKit): Buffer {
  if (!(kit.sweepScript instanceof Uint8Array)) throw new BlobError('INVALID', 'blob: sweep script must be bytes');
  if (kit.sweepScript.length > MAX_SWEEP_SCRIPT_SIZE) {
    throw new BlobError('SWEEP_TOO_LONG', `blob: sweep script of ${kit.sweepScript.length} bytes exceeds ${MAX_SWEEP_SCRIPT_SIZE}`);
  }
  const out = Buffer.alloc(kitPlaintextSize(kit));
  out[0] = kit.sweepScript.length;
  out.set(kit.sweepScript, 1);
  let at = 43;
  if (kit.version === 0) {
    at = put(out, at, kit.revocationPubKey, 33, '0: revocation pubkey');
    at = put(out, at, kit.localDelayPubKey, 33, '0: local delay pubkey');
    if (!Number.isInteger(kit.csvDelay) || kit.csvDelay < 0 || kit.csvDelay > 0xffffffff) {
      throw new BlobError('INVALID', `blob: v0: csv delay ${kit.csvDelay} is not a u32`);
    }
    out.writeUInt32BE(kit.csvDelay, at);
    at += 4;
    at = put(out, at, kit.toLocalSig, 64, '0: to_local sig');
  } else if (kit.version === 1) {
    at = put(out, at, kit.revocationPubKey, 32, '1: revocation pubkey');
    at = put(out, at, kit.localDelayPubKey, 32, '1: local delay pubkey');
    at = put(out, at, kit.toLocalSig, 64, '1: to_local sig');
    at = put(out, at, kit.delayScriptHash, 32, '1: delay script hash');
  } else {
    throw new BlobError('INVALID', `blob: unknown kit version ${(kit as { version: unknown }).version}`);
  }
  at = put(out, at, kit.toRemotePubKey, 33, `${kit.version}: to_remote pubkey`);
  put(out, at, kit.toRemoteSig, 64, `${kit.version}: to_remote sig`);
  return out;
}

/**
 * A reader over a plaintext after its sweep script and padding. The size is checked first, so no later
 * fixed-offset read can run short.
 */
function readSweep(p: Uint8Array, size: number, v: 0 | 1): { r: Reader; sweepScript: Buffer } {
  if (p.length !== size) throw new BlobError('BAD_SIZE', `blob: v${v}: plaintext must be ${size} bytes, got ${p.length}`);
  const r = new Reader(p, `blob: v${v}`);
  const len = r.u8('sweep script length');
  if (len > MAX_SWEEP_SCRIPT_SIZE) throw new BlobError('SWEEP_TOO_LONG', `blob: v${v}: sweep script length ${len} exceeds ${MAX_SWEEP_SCRIPT_SIZE}`);
  const sweepScript = r.bytes(len, 'sweep script');
  r.skip(MAX_SWEEP_SCRIPT_SIZE - len, 'sweep script padding');
  return { r, sweepScript };
}

function toRemote(r: Reader): { toRemotePubKey: Buffer; toRemoteSig: Buffer } {
  const pk = r.bytes(33, 'to_remote pubkey');
  const sig = r.bytes(64, 'to_remote sig');
  if (!isCompressedPubKeyFormat(pk)) return { toRemotePubKey: Buffer.alloc(33), toRemoteSig: Buffer.alloc(64) };
  return { toRemotePubKey: pk, toRemoteSig: sig };
}

export function decodeJusticeKitV0(p: Uint8Array): JusticeKitV0 {
  const { r, sweepScript } = readSweep(p, V0_PLAINTEXT_SIZE, 0);
  return {
    version: 0,
    sweepScript,
    revocationPubKey: r.bytes(33, 'revocation pubkey'),
    localDelayPubKey: r.bytes(33, 'local delay pubkey'),
    csvDelay: r.u32('csv delay'),
    toLocalSig: r.bytes(64, 'to_local sig'),
    ...toRemote(r),
  };
}

export function decodeJusticeKitV1(p: Uint8Array): JusticeKitV1 {
  const { r, sweepScript } = readSweep(p, V1_PLAINTEXT_SIZE, 1);
  return {
    version: 1,
    sweepScript,
    revocationPubKey: r.bytes(32, 'revocation pubkey'),
    localDelayPubKey: r.bytes(32, 'local delay pubkey'),
    toLocalSig: r.bytes(64, 'to_local sig'),
    delayScriptHash: r.bytes(32, 'delay script hash'),
    ...toRemote(r),
  };
}

/** Decode a plaintext of the given version (0 or 1). */
export function decodeJusticeKit(p: Uint8Array, version: 0 | 1): JusticeKit {
  return version === 0 ? decodeJusticeKitV0(p) : decodeJusticeKitV1(p);
}
