/** Typed errors of the BOLT 3 layer (`channel: shachain secret for index … does not derive …`). */
export type ChannelErrorCode =
  /** A key, point or secret is malformed or gives the point at infinity. */
  | 'INVALID_KEY'
  /** A per-commitment secret does not derive a secret stored earlier (BOLT 3 shachain check). */
  | 'INVALID_SECRET'
  /** A shachain index or commitment number outside 0 … 2^48 - 1. */
  | 'INVALID_INDEX'
  /** The secret of an index that has not been received (or derived) yet. */
  | 'UNKNOWN_SECRET'
  /** An amount, fee rate, delay or expiry out of range (negative, too large, not an integer). */
  | 'INVALID_AMOUNT'
  /** The peer named is not connected (or not known). */
  | 'UNKNOWN_PEER'
  /** The wallet cannot fund what was asked (its `CANNOT_AFFORD`, kept through the opening flow). */
  | 'CANNOT_AFFORD'
  /** Anything else structurally wrong (bad arguments, a signature that is not 64 bytes, …). */
  | 'INVALID';

export class ChannelError extends Error {
  readonly code: ChannelErrorCode;

  constructor(code: ChannelErrorCode, message: string) {
    super(message);
    this.name = 'ChannelError';
    this.code = code;
  }
}

/** The peer broke BOLT 2: the channel fails with this message as the `error` text. */
export class ChannelProtocolError extends ChannelError {
  constructor(message: string) {
    super('INVALID', message);
    this.name = 'ChannelProtocolError';
  }
}
