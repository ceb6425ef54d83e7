/**
 * The one error class of `src/onion/`: every decoder in this folder returns a value or throws an
 * {@link OnionError}, whose message starts with its context (`onion: …`, `failure: …`).
 *
 * A bad onion received from a peer is not an exception: `peelOnion` returns it as a result the channel
 * layer acts on (BADONION → `update_fail_malformed_htlc`, bad payload → `invalid_onion_payload`).
 */
import { WireError } from '../wire/errors.js';

export type OnionErrorCode =
  /** A caller passed something unusable (a bad key, a route too long for 1300 bytes, …). */
  | 'INVALID_ARGUMENT'
  /** Bytes that do not decode (a failure message, a hop payload). */
  | 'MALFORMED'
  /** A returned failure packet whose HMAC matches no hop of the route. */
  | 'UNATTRIBUTABLE';

export class OnionError extends Error {
  readonly code: OnionErrorCode;

  constructor(code: OnionErrorCode, message: string) {
    super(message);
    this.name = 'OnionError';
    this.code = code;
  }
}

/** `fn`'s value; a WireError it throws becomes an OnionError `code` prefixed with `context` (the wire engine's errors as this folder's). */
export function wireAsOnion<T>(code: OnionErrorCode, context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WireError) throw new OnionError(code, `${context}: ${e.message}`);
    throw e;
  }
}
