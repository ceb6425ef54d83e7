export type TransportErrorCode =
  | 'BAD_VERSION'
  | 'BAD_KEY'
  | 'BAD_MAC'
  | 'TRUNCATED'
  | 'TOO_LARGE'
  | 'STATE'
  | 'TIMEOUT'
  | 'BUFFER_FULL'
  | 'CLOSED';

/** Every failure of the BOLT 8 layer, with a code a caller can switch on. */
export class TransportError extends Error {
  constructor(
    readonly code: TransportErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
