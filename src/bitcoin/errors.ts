/**
 * Typed errors of the bitcoin layer (`bitcoin: revocation basepoint is not a valid point`). The codes
 * are a subset of the channel's and the justice code's, so a caller that turns one into its own error
 * keeps the code.
 */
export type BitcoinErrorCode =
  /** A key, point or secret is malformed, or a derivation gives the point at infinity or zero. */
  | 'INVALID_KEY'
  /** A signature is malformed (wrong length, r or s zero or not below the group order). */
  | 'INVALID_SIGNATURE'
  /** Anything else structurally wrong (a script number out of range, a hash of the wrong length). */
  | 'INVALID';

export class BitcoinError extends Error {
  override name = 'BitcoinError';
  constructor(readonly code: BitcoinErrorCode, message: string) {
    super(message);
  }
}
