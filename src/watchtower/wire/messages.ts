/**
 * wtwire messages 600–607 (LND `watchtower/wtwire/*.go`; spec §1.3), a table of the shared codec engine.
 * A message on the wire is `type (u16 BE) ‖ payload`, one per brontide message. Decoders ignore bytes
 * after the last field, as LND's do; the per-message maximum payload applies to the encoded fields (LND
 * checks it when writing; we check it on both sides, see `maxPayloadLength`). The engine's WireErrors
 * become {@link WtWireError}s here, prefixed `wtwire: `.
 */
import { field, fixed, message, MessageTable, u16, u32, u64, u8, type MessageOf, type MessageOfTable } from '../../wire/codec.js';
import { WireError } from '../../wire/errors.js';
import { CHAIN_HASH } from '../../wire/messages.js';
import { Reader } from '../../wire/reader.js';
import { featureVector, varBytes } from './codec.js';
import { WtWireError } from './errors.js';
import { FEATURE_NAMES, unknownRequiredFeatures } from './features.js';

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

const INIT = message({
  type: WtMessageType.Init,
  name: 'init',
  fields: [
    /** Set feature bits, ascending. */
    field('features', featureVector),
    /** Genesis block hash in internal byte order. */
    field('chainHash', fixed(32)),
  ],
});
const ERROR = message({ type: WtMessageType.Error, name: 'error', fields: [field('code', u16), field('data', varBytes)] });
const CREATE_SESSION = message({
  type: WtMessageType.CreateSession,
  name: 'create_session',
  fields: [
    field('blobType', u16),
    field('maxUpdates', u16),
    field('rewardBase', u32),
    /** Millionths of the swept amount. */
    field('rewardRate', u32),
    field('sweepFeeRateSatPerKw', u64, 'sweep_fee_rate'),
  ],
  maxPayload: 20,
});
const CREATE_SESSION_REPLY = message({
  type: WtMessageType.CreateSessionReply,
  name: 'create_session_reply',
  /** `data`: the reward pkScript (OK with reward flag, or AlreadyExists), else empty. */
  fields: [field('code', u16), field('lastApplied', u16), field('data', varBytes)],
  maxPayload: 1029, // LND: 2 + 3 + 1024, forgetting last_applied; effective data ≤ 1022
});
const STATE_UPDATE = message({
  type: WtMessageType.StateUpdate,
  name: 'state_update',
  fields: [
    field('seqNum', u16),
    field('lastApplied', u16),
    /** 1 = the client closes after the reply; any u8 is carried. */
    field('isComplete', u8),
    field('hint', fixed(16)),
    field('encryptedBlob', varBytes),
  ],
});
const STATE_UPDATE_REPLY = message({
  type: WtMessageType.StateUpdateReply,
  name: 'state_update_reply',
  fields: [field('code', u16), field('lastApplied', u16)],
  maxPayload: 4,
});
const DELETE_SESSION = message({ type: WtMessageType.DeleteSession, name: 'delete_session', fields: [], maxPayload: 0 });
const DELETE_SESSION_REPLY = message({
  type: WtMessageType.DeleteSessionReply,
  name: 'delete_session_reply',
  fields: [field('code', u16)],
  maxPayload: 2,
});

const TABLE = new MessageTable(
  [INIT, ERROR, CREATE_SESSION, CREATE_SESSION_REPLY, STATE_UPDATE, STATE_UPDATE_REPLY, DELETE_SESSION, DELETE_SESSION_REPLY],
  MAX_MESSAGE_PAYLOAD,
);

export type WtInit = MessageOf<typeof INIT>;
export type WtError = MessageOf<typeof ERROR>;
export type WtCreateSession = MessageOf<typeof CREATE_SESSION>;
export type WtCreateSessionReply = MessageOf<typeof CREATE_SESSION_REPLY>;
export type WtStateUpdate = MessageOf<typeof STATE_UPDATE>;
export type WtStateUpdateReply = MessageOf<typeof STATE_UPDATE_REPLY>;
export type WtDeleteSession = MessageOf<typeof DELETE_SESSION>;
export type WtDeleteSessionReply = MessageOf<typeof DELETE_SESSION_REPLY>;

/** Every wtwire message, a union keyed by `type`. */
export type WtMessage = MessageOfTable<typeof TABLE>;

/** LND's `MaxPayloadLength` of a message type. */
export function maxPayloadLength(type: WtMessageType): number {
  return TABLE.spec(type)?.maxPayload ?? MAX_MESSAGE_PAYLOAD;
}

export function isWtMessageType(t: number): t is WtMessageType {
  return TABLE.has(t);
}

export function messageName(t: number): string {
  return TABLE.name(t) ?? `unknown(${t})`;
}

/** The engine's WireError as a WtWireError (its codes are a subset), prefixed `wtwire: `. */
function wtError(e: unknown, context: string): unknown {
  if (e instanceof WtWireError) return e.withContext(context);
  if (!(e instanceof WireError)) return e;
  const code = e.code === 'TRUNCATED' || e.code === 'NON_CANONICAL' || e.code === 'TOO_LARGE' ? e.code : 'INVALID';
  return new WtWireError(code, `wtwire: ${e.message}`);
}

/** Encode `type ‖ payload`; throws INVALID for bad field values and TOO_LARGE over the type's maximum. */
export function encodeMessage(m: WtMessage): Buffer {
  try {
    return TABLE.encodeMessage(m);
  } catch (e) {
    throw wtError(e, `wtwire: ${messageName(m.type)}`);
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
  const r = new Reader(bytes);
  const t = r.u16('type');
  let m: WtMessage | undefined;
  try {
    m = TABLE.decode(t, r.rest());
  } catch (e) {
    throw wtError(e, `wtwire: ${messageName(t)}`);
  }
  if (m === undefined) throw new WtWireError('UNKNOWN_MESSAGE', `wtwire: unknown message type ${t}`);
  return m;
}

/** Encoded payload size of a message: the bytes {@link encodeMessage} writes after the type. */
export function payloadLength(m: WtMessage): number {
  return encodeMessage(m).length - 2;
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
