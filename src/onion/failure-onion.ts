/**
 * BOLT 4 "Returning Errors": the `reason` of `update_fail_htlc`.
 *
 * The erring node builds `hmac ‖ failure_len ‖ failuremsg ‖ pad_len ‖ pad` (HMAC under its `um` key,
 * `failure_len + pad_len` at least 256) and obfuscates it with its `ammag` stream; every hop on the way
 * back obfuscates it again with its own; the origin strips the layers in route order until one hop's HMAC
 * matches — that hop is the one that failed.
 *
 * ```ts
 * // erring node (we hold the shared secret from peelOnion):
 * const reason = createFailure(sharedSecret, { code: FailureCode.TEMPORARY_NODE_FAILURE });
 * // a hop passing a failure back upstream:
 * const upstreamReason = wrapFailure(sharedSecretOfTheIncomingHtlc, downstreamReason);
 * // the origin:
 * const { hopIndex, failure } = attributeFailure(sharedSecrets, reason);
 * ```
 * Attributable failures (`option_attribution_data`, the extra per-hop HMAC block) are not handled.
 */
import { hmacSha256 } from '../crypto/hash.js';
import { OnionError } from './errors.js';
import { decodeFailureMessage, encodeFailureMessage, type FailureMessage } from './failure.js';
import { cipherStream, deriveKey, macEquals, xorInto } from './keys.js';

const HMAC_SIZE = 32;
/** The smallest `failure_len + pad_len` BOLT 4 allows (and the size it recommends). */
export const FAILURE_PAYLOAD_MIN = 256;

/** The erring node's packet before obfuscation (`hmac ‖ payload`); `padTo` is the target `failure_len + pad_len`. */
export function failurePacket(sharedSecret: Uint8Array, failure: FailureMessage | Uint8Array, padTo = FAILURE_PAYLOAD_MIN): Buffer {
  const msg = failure instanceof Uint8Array ? Buffer.from(failure) : encodeFailureMessage(failure);
  if (!Number.isInteger(padTo) || padTo < FAILURE_PAYLOAD_MIN) {
    throw new OnionError('INVALID_ARGUMENT', `failure: padTo must be an integer of at least ${FAILURE_PAYLOAD_MIN}, got ${padTo}`);
  }
  const padLen = Math.max(padTo - msg.length, 0);
  if (msg.length > 0xffff || padLen > 0xffff) throw new OnionError('INVALID_ARGUMENT', `failure: message of ${msg.length} bytes is too long`);
  const payload = Buffer.alloc(2 + msg.length + 2 + padLen);
  payload.writeUInt16BE(msg.length, 0);
  msg.copy(payload, 2);
  payload.writeUInt16BE(padLen, 2 + msg.length);
  return Buffer.concat([hmacSha256(deriveKey('um', sharedSecret), payload), payload]);
}

/** One layer of obfuscation with the `ammag` stream of `sharedSecret` (its own inverse). */
export function wrapFailure(sharedSecret: Uint8Array, packet: Uint8Array): Buffer {
  const out = Buffer.from(packet);
  xorInto(out, cipherStream(deriveKey('ammag', sharedSecret), out.length));
  return out;
}

/** What the erring node sends back: its packet, obfuscated with its own `ammag` stream. */
export function createFailure(sharedSecret: Uint8Array, failure: FailureMessage | Uint8Array, padTo = FAILURE_PAYLOAD_MIN): Buffer {
  return wrapFailure(sharedSecret, failurePacket(sharedSecret, failure, padTo));
}

export interface AttributedFailure {
  /** Index in the route (0 = first hop) of the node that created the failure. */
  hopIndex: number;
  /** The decoded message, or undefined if its bytes do not decode (`messageBytes` has them). */
  failure: FailureMessage | undefined;
  messageBytes: Buffer;
}

/**
 * The origin's side: which hop of the route (given by the shared secrets `createOnion` returned) created
 * `reason`, and its message. Throws OnionError UNATTRIBUTABLE when no hop's HMAC matches (a hop
 * corrupted it: the payer can only blame the route) or MALFORMED when the matching packet's lengths
 * are inconsistent.
 */
export function attributeFailure(sharedSecrets: readonly Uint8Array[], reason: Uint8Array): AttributedFailure {
  if (reason.length < HMAC_SIZE + 4) throw new OnionError('MALFORMED', `failure: reason of ${reason.length} bytes is too short`);
  let packet: Buffer = Buffer.from(reason);
  for (let i = 0; i < sharedSecrets.length; i++) {
    packet = wrapFailure(sharedSecrets[i]!, packet);
    const payload = packet.subarray(HMAC_SIZE);
    if (!macEquals(hmacSha256(deriveKey('um', sharedSecrets[i]!), payload), packet.subarray(0, HMAC_SIZE))) continue;
    const len = payload.readUInt16BE(0);
    if (2 + len + 2 > payload.length) {
      throw new OnionError('MALFORMED', `failure: failure_len ${len} exceeds the ${payload.length - 4} bytes of hop ${i}'s packet`);
    }
    const messageBytes = Buffer.from(payload.subarray(2, 2 + len));
    let failure: FailureMessage | undefined;
    try {
      failure = decodeFailureMessage(messageBytes);
    } catch (e) {
      if (!(e instanceof OnionError)) throw e;
    }
    return { hopIndex: i, failure, messageBytes };
  }
  throw new OnionError('UNATTRIBUTABLE', `failure: no hop of the ${sharedSecrets.length}-hop route authenticated the failure`);
}
