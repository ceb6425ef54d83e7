/**
 * Typed errors of the wtwire codec. Every decoder in `src/watchtower/wire/` returns a value or throws a
 * {@link WtWireError}; callers switch on `code` and log `message`, which is prefixed with its context
 * (`wtwire: state_update: encrypted_blob: compactsize: not canonical`).
 */
export type WtWireErrorCode =
  /** The input ended before a field was complete. */
  | 'TRUNCATED'
  /** A CompactSize length that is not minimally encoded. */
  | 'NON_CANONICAL'
  /** Larger than allowed: a var-bytes length over 66000, a payload over the message's maximum. */
  | 'TOO_LARGE'
  /** A message type outside 600–607. */
  | 'UNKNOWN_MESSAGE'
  /** Init: the remote chain hash is not ours (LND `ErrUnknownChainHash`). */
  | 'UNKNOWN_CHAIN_HASH'
  /** Init: the remote requires a feature bit we do not know (LND `ErrUnknownRequiredFeatures`). */
  | 'UNKNOWN_REQUIRED_FEATURES'
  /** A value that cannot be encoded (out of range, wrong length). */
  | 'INVALID';

export class WtWireError extends Error {
  readonly code: WtWireErrorCode;

  constructor(code: WtWireErrorCode, message: string) {
    super(message);
    this.name = 'WtWireError';
    this.code = code;
  }

  withContext(context: string): WtWireError {
    return new WtWireError(this.code, `${context}: ${this.message}`);
  }
}
