/**
 * wtwire messages 600–607 (LND `watchtower/wtwire/*.go`; spec §1.3). A message on the wire is
 * `type (u16 BE) ‖ payload`, one per brontide message. Decoders ignore bytes after the last field, as
 * LND's do; the per-message maximum payload applies to the encoded fields (LND checks it when writing;
 * we check it on both sides, see `maxPayloadLength`).
 */
import { CHAIN_HASH } from '../../wire/messages.js';
import { compactSizeLength, Reader, Writer } from './codec.js';
import { WtWireError } from './errors.js';
import { FEATURE_NAMES, readFeatures, unknownRequiredFeatures, writeFeatures } from './features.js';

export const WtMessageType = {
  Init: 600,
  Error: 601,
  CreateSession: 602,
  CreateSessionReply: 603,
  StateUpdate: 604,
  StateUpdateReply: 605,
  DeleteSession: 606,
  DeleteSessionReply: 607,
} as const;
export type WtMessageType = (typeof WtMessageType)[keyof typeof WtMessageType];

/** Maximum payload (bytes after the type) of any message (`MaxMessagePayload`). */
export const MAX_MESSAGE_PAYLOAD = 65535;

const MAX_PAYLOAD: Record<WtMessageType, number> = {
  600: MAX_MESSAGE_PAYLOAD,
  601: MAX_MESSAGE_PAYLOAD,
  602: 20,
  603: 1029, // LND: 2 + 3 + 1024, forgetting last_applied; effective data ≤ 1022
  604: MAX_MESSAGE_PAYLOAD,
  605: 4,
  606: 0,
  607: 2,
};

/** LND's `MaxPayloadLength` of a message type. */
export function maxPayloadLength(type: WtMessageType): number {
  return MAX_PAYLOAD[type];
}

export interface WtInit {
  type: 600;
  /** Set feature bits, ascending. */
  features: number[];
  /** Genesis block hash in internal byte order. */
  chainHash: Buffer;
}
export interface WtError {
  type: 601;
  code: number;
  data: Buffer;
}
export interface WtCreateSession {
  type: 602;
  blobType: number;
  maxUpdates: number;
  rewardBase: number;
  /** Millionths of the swept amount. */
  rewardRate: number;
  sweepFeeRateSatPerKw: bigint;
}
export interface WtCreateSessionReply {
  type: 603;
  code: number;
  lastApplied: number;
  /** Reward pkScript (OK with reward flag, or AlreadyExists), else empty. */
  data: Buffer;
}
export interface WtStateUpdate {
  type: 604;
  seqNum: number;
  lastApplied: number;
  /** 1 = the client closes after the reply; any u8 is carried. */
  isComplete: number;
  hint: Buffer;
  encryptedBlob: Buffer;
}
export interface WtStateUpdateReply {
  type: 605;
  code: number;
  lastApplied: number;
}
export interface WtDeleteSession {
  type: 606;
}
export interface WtDeleteSessionReply {
  type: 607;
  code: number;
}

export type WtMessage =
  | WtInit
  | WtError
  | WtCreateSession
  | WtCreateSessionReply
  | WtStateUpdate
  | WtStateUpdateReply
  | WtDeleteSession
  | WtDeleteSessionReply;

const NAMES: Record<WtMessageType, string> = {
  600: 'init',
  601: 'error',
  602: 'create_session',
  603: 'create_session_reply',
  604: 'state_update',
  605: 'state_update_reply',
  606: 'delete_session',
  607: 'delete_session_reply',
};

export function isWtMessageType(t: number): t is WtMessageType {
  return Number.isInteger(t) && t >= 600 && t <= 607;
}

export function messageName(t: number): string {
  return isWtMessageType(t) ? NAMES[t] : `unknown(${t})`;
}

function encodePayload(m: WtMessage, w: Writer): void {
  switch (m.type) {
    case 600:
      writeFeatures(w, m.features);
      w.fixed(m.chainHash, 32, 'chain_hash');
      return;
    case 601:
      w.u16(m.code, 'code').varBytes(m.data, 'data');
      return;
    case 602:
      w.u16(m.blobType, 'blob_type')
        .u16(m.maxUpdates, 'max_updates')
        .u32(m.rewardBase, 'reward_base')
        .u32(m.rewardRate, 'reward_rate')
        .u64(m.sweepFeeRateSatPerKw, 'sweep_fee_rate');
      return;
    case 603:
      w.u16(m.code, 'code').u16(m.lastApplied, 'last_applied').varBytes(m.data, 'data');
      return;
    case 604:
      w.u16(m.seqNum, 'seq_num')
        .u16(m.lastApplied, 'last_applied')
        .u8(m.isComplete, 'is_complete')
        .fixed(m.hint, 16, 'hint')
        .varBytes(m.encryptedBlob, 'encrypted_blob');
      return;
    case 605:
      w.u16(m.code, 'code').u16(m.lastApplied, 'last_applied');
      return;
    case 606:
      return;
    case 607:
      w.u16(m.code, 'code');
      return;
    default:
      throw new WtWireError('INVALID', `unknown message type ${(m as { type: unknown }).type}`);
  }
}

/** Encode `type ‖ payload`; throws INVALID for bad field values and TOO_LARGE over the type's maximum. */
export function encodeMessage(m: WtMessage): Buffer {
  const name = messageName(m.type);
  const w = new Writer();
  try {
    w.u16(m.type, 'type');
    encodePayload(m, w);
  } catch (e) {
    throw e instanceof WtWireError ? e.withContext(`wtwire: ${name}`) : e;
  }
  const payload = w.length - 2;
  const max = isWtMessageType(m.type) ? MAX_PAYLOAD[m.type] : 0;
  if (payload > max) throw new WtWireError('TOO_LARGE', `wtwire: ${name}: payload ${payload} exceeds ${max}`);
  return w.finish();
}

function decodePayload(type: WtMessageType, r: Reader): WtMessage {
  switch (type) {
    case 600: {
      const features = readFeatures(r);
      return { type, features, chainHash: r.bytes(32, 'chain_hash') };
    }
    case 601:
      return { type, code: r.u16('code'), data: r.varBytes('data') };
    case 602:
      return {
        type,
        blobType: r.u16('blob_type'),
        maxUpdates: r.u16('max_updates'),
        rewardBase: r.u32('reward_base'),
        rewardRate: r.u32('reward_rate'),
        sweepFeeRateSatPerKw: r.u64('sweep_fee_rate'),
      };
    case 603:
      return { type, code: r.u16('code'), lastApplied: r.u16('last_applied'), data: r.varBytes('data') };
    case 604:
      return {
        type,
        seqNum: r.u16('seq_num'),
        lastApplied: r.u16('last_applied'),
        isComplete: r.u8('is_complete'),
        hint: r.bytes(16, 'hint'),
        encryptedBlob: r.varBytes('encrypted_blob'),
      };
    case 605:
      return { type, code: r.u16('code'), lastApplied: r.u16('last_applied') };
    case 606:
      return { type };
    case 607:
      return { type, code: r.u16('code') };
  }
}

/**
 * Decode one wtwire message (`type ‖ payload`). Total: returns a message or throws {@link WtWireError}
 * (TRUNCATED, NON_CANONICAL, TOO_LARGE, UNKNOWN_MESSAGE). Bytes after the last field are ignored.
 */
export function decodeMessage(bytes: Uint8Array): WtMessage {
  if (bytes.length < 2) throw new WtWireError('TRUNCATED', 'wtwire: message shorter than its type');
  if (bytes.length - 2 > MAX_MESSAGE_PAYLOAD) {
    throw new WtWireError('TOO_LARGE', `wtwire: payload ${bytes.length - 2} exceeds ${MAX_MESSAGE_PAYLOAD}`);
  }
  const t = (bytes[0]! << 8) | bytes[1]!;
  if (!isWtMessageType(t)) throw new WtWireError('UNKNOWN_MESSAGE', `wtwire: unknown message type ${t}`);
  const r = new Reader(bytes, 2);
  let m: WtMessage;
  try {
    m = decodePayload(t, r);
  } catch (e) {
    throw e instanceof WtWireError ? e.withContext(`wtwire: ${NAMES[t]}`) : e;
  }
  const used = r.pos - 2;
  if (used > MAX_PAYLOAD[t]) throw new WtWireError('TOO_LARGE', `wtwire: ${NAMES[t]}: payload ${used} exceeds ${MAX_PAYLOAD[t]}`);
  return m;
}

/** Encoded payload size of a message, without encoding it. */
export function payloadLength(m: WtMessage): number {
  switch (m.type) {
    case 600: {
      let max = -1;
      for (const b of m.features) if (b > max) max = b;
      return 2 + (max < 0 ? 0 : (max >> 3) + 1) + 32;
    }
    case 601:
      return 2 + compactSizeLength(m.data.length) + m.data.length;
    case 602:
      return 20;
    case 603:
      return 4 + compactSizeLength(m.data.length) + m.data.length;
    case 604:
      return 21 + compactSizeLength(m.encryptedBlob.length) + m.encryptedBlob.length;
    case 605:
      return 4;
    case 606:
      return 0;
    case 607:
      return 2;
  }
}

/**
 * LND's `Init.CheckRemoteInit`, run by both sides on the peer's Init: (1) the chain hash must equal ours
 * (UNKNOWN_CHAIN_HASH); (2) no required (even) bit outside the known-name table (UNKNOWN_REQUIRED_FEATURES).
 * Optional bits are never required to be present; an empty vector is accepted.
 */
export function checkRemoteInit(remote: WtInit, ourChainHash: Uint8Array, known: ReadonlyMap<number, string> = FEATURE_NAMES): void {
  if (!Buffer.from(ourChainHash).equals(remote.chainHash)) {
    throw new WtWireError('UNKNOWN_CHAIN_HASH', `wtwire: init: remote chain hash ${Buffer.from(remote.chainHash).toString('hex')} is not ours`);
  }
  const unknown = unknownRequiredFeatures(remote.features, known);
  if (unknown.length > 0) {
    throw new WtWireError('UNKNOWN_REQUIRED_FEATURES', `wtwire: init: remote requires unknown feature bits ${unknown.join(',')}`);
  }
}

/**
 * Genesis block hashes in internal byte order (the wtwire `chain_hash`), by lightningd network name: the
 * same values BOLT 1's `networks` TLV carries.
 */
export const CHAIN_HASHES = CHAIN_HASH;
