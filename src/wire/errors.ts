/**
 * Typed errors of the BOLT 1 / BOLT 9 codec.
 *
 * Every decoder in `src/wire/` either returns a value or throws a {@link WireError}; callers switch on
 * `code` (to decide between closing the connection, sending a warning, …) and log `message`, which is
 * prefixed with the context it came from (`bigsize: not canonical`, `init: features truncated`).
 */

export type WireErrorCode =
  /** The input ended before a field was complete. */
  | 'TRUNCATED'
  /** A BigSize or truncated integer was not minimally encoded. */
  | 'NON_CANONICAL'
  /** TLV types not strictly increasing (includes duplicates). */
  | 'TLV_ORDER'
  /** An even TLV type that the reader does not know. */
  | 'TLV_UNKNOWN_EVEN'
  /** A known TLV record whose length does not fit its encoding. */
  | 'TLV_LENGTH'
  /** An even message type the reader does not know (raised by callers, see `isEvenType`). */
  | 'UNKNOWN_EVEN_MESSAGE'
  /** Structurally decodable but semantically invalid, or an unencodable value. */
  | 'INVALID'
  /** Larger than the protocol allows (65535-byte messages, feature bit numbers). */
  | 'TOO_LARGE';

export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }

  /** The same error with a further context prefix: `init: ` + `tlv: bigsize: not canonical`. */
  withContext(context: string): WireError {
    return new WireError(this.code, `${context}: ${this.message}`);
  }
}
