/**
 * What the channel layer knows about a revoked commitment, as the watchtower client needs it to build and
 * sign a justice transaction (LND `backupTask` inputs), and its durable encoding: the backup queue stores
 * it until the tower acknowledges the state, so it can be re-signed for another session after a
 * RemoveTower/TerminateSession.
 *
 * The encoding is versioned JSON with hex fields; {@link decodeBreachData} is total (returns a value or
 * throws {@link BreachDataError}).
 */
import { secp } from '../../crypto/secp256k1.js';
import type { BreachSigningInfo } from '../justice/justice-tx.js';
import type { CommitmentType } from '../blob/type.js';
import { MAX_SWEEP_SCRIPT_SIZE } from '../blob/type.js';

/**
 * What the channel layer knows about a revoked commitment: the signing information the justice
 * transaction needs, plus where it pays (the channel's sweep script, ≤ 42 bytes).
 */
export interface BreachData extends BreachSigningInfo {
  sweepScript: Buffer;
}

export class BreachDataError extends Error {
  override name = 'BreachDataError';
}

/** A value for an error message; never throws (String() does, on an object whose toString is not a function). */
function describe(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 40) ?? typeof v;
  } catch {
    return typeof v;
  }
}

const COMMITMENTS: readonly CommitmentType[] = ['legacy', 'anchor', 'taproot', 'taproot-final'];
const MAX_ENCODED = 4096;

export function encodeBreachData(b: BreachData): string {
  return JSON.stringify({
    v: 1,
    commitment: b.commitment,
    breachTxid: b.breachTxid.toString('hex'),
    revocationPubKey: b.revocationPubKey.toString('hex'),
    localDelayPubKey: b.localDelayPubKey.toString('hex'),
    csvDelay: b.csvDelay,
    toLocal: b.toLocal && { index: b.toLocal.index, amountSat: b.toLocal.amountSat.toString(), revocationPrivKey: b.toLocal.revocationPrivKey.toString('hex') },
    toRemote: b.toRemote && {
      index: b.toRemote.index,
      amountSat: b.toRemote.amountSat.toString(),
      pubKey: b.toRemote.pubKey.toString('hex'),
      privKey: b.toRemote.privKey.toString('hex'),
    },
    sweepScript: b.sweepScript.toString('hex'),
  });
}

function hex(v: unknown, what: string, len?: number): Buffer {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v)) throw new BreachDataError(`breach data: ${what} must be hex`);
  const b = Buffer.from(v, 'hex');
  if (len !== undefined && b.length !== len) throw new BreachDataError(`breach data: ${what} must be ${len} bytes`);
  return b;
}

function u32(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new BreachDataError(`breach data: ${what} must be a u32`);
  return v;
}

function sat(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^[0-9]{1,16}$/.test(v)) throw new BreachDataError(`breach data: ${what} must be a decimal amount`);
  const n = BigInt(v);
  if (n > 21_000_000n * 100_000_000n) throw new BreachDataError(`breach data: ${what} out of range`);
  return n;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new BreachDataError(`breach data: ${what} must be an object`);
  return v as Record<string, unknown>;
}

/** Checks a breach data value (keys on the curve, sizes, at least one output). */
export function validateBreachData(b: BreachData): void {
  if (!COMMITMENTS.includes(b.commitment)) throw new BreachDataError(`breach data: unknown commitment type ${describe(b.commitment)}`);
  if (b.breachTxid.length !== 32) throw new BreachDataError('breach data: breachTxid must be 32 bytes');
  if (!secp.isPublicKey(b.revocationPubKey) || b.revocationPubKey.length !== 33) throw new BreachDataError('breach data: revocationPubKey is not a compressed public key');
  if (!secp.isPublicKey(b.localDelayPubKey) || b.localDelayPubKey.length !== 33) throw new BreachDataError('breach data: localDelayPubKey is not a compressed public key');
  u32(b.csvDelay, 'csvDelay');
  if (!b.toLocal && !b.toRemote) throw new BreachDataError('breach data: no output to sweep');
  if (b.toLocal) {
    u32(b.toLocal.index, 'toLocal.index');
    if (!secp.isPrivateKey(b.toLocal.revocationPrivKey)) throw new BreachDataError('breach data: toLocal.revocationPrivKey is not a private key');
  }
  if (b.toRemote) {
    u32(b.toRemote.index, 'toRemote.index');
    if (!secp.isPublicKey(b.toRemote.pubKey) || b.toRemote.pubKey.length !== 33) throw new BreachDataError('breach data: toRemote.pubKey is not a compressed public key');
    if (!secp.isPrivateKey(b.toRemote.privKey)) throw new BreachDataError('breach data: toRemote.privKey is not a private key');
  }
  if (b.sweepScript.length === 0 || b.sweepScript.length > MAX_SWEEP_SCRIPT_SIZE) throw new BreachDataError(`breach data: sweepScript must be 1 to ${MAX_SWEEP_SCRIPT_SIZE} bytes`);
}

export function decodeBreachData(s: string): BreachData {
  if (typeof s !== 'string' || s.length > MAX_ENCODED) throw new BreachDataError('breach data: too large');
  let j: unknown;
  try {
    j = JSON.parse(s);
  } catch {
    throw new BreachDataError('breach data: not JSON');
  }
  const o = obj(j, 'value');
  if (o.v !== 1) throw new BreachDataError('breach data: unknown version');
  const b: BreachData = {
    commitment: o.commitment as CommitmentType,
    breachTxid: hex(o.breachTxid, 'breachTxid', 32),
    revocationPubKey: hex(o.revocationPubKey, 'revocationPubKey', 33),
    localDelayPubKey: hex(o.localDelayPubKey, 'localDelayPubKey', 33),
    csvDelay: u32(o.csvDelay, 'csvDelay'),
    sweepScript: hex(o.sweepScript, 'sweepScript'),
  };
  if (o.toLocal !== undefined) {
    const l = obj(o.toLocal, 'toLocal');
    b.toLocal = { index: u32(l.index, 'toLocal.index'), amountSat: sat(l.amountSat, 'toLocal.amountSat'), revocationPrivKey: hex(l.revocationPrivKey, 'toLocal.revocationPrivKey', 32) };
  }
  if (o.toRemote !== undefined) {
    const r = obj(o.toRemote, 'toRemote');
    b.toRemote = {
      index: u32(r.index, 'toRemote.index'),
      amountSat: sat(r.amountSat, 'toRemote.amountSat'),
      pubKey: hex(r.pubKey, 'toRemote.pubKey', 33),
      privKey: hex(r.privKey, 'toRemote.privKey', 32),
    };
  }
  validateBreachData(b);
  return b;
}
