import type { TransportErrorCode } from '../transport/errors.js';

export type PeerErrorCode =
  | 'NOT_CONNECTED'
  | 'PING_PENDING'
  | 'INVALID'
  | 'CONNECT_FAILED'
  | 'HANDSHAKE_FAILED'
  | 'INIT_FAILED'
  | 'DISCONNECTED'
  | 'SHUTTING_DOWN';

/** Failures of the peer layer that an API shell maps to its own error codes. */
export class PeerError extends Error {
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    /** For HANDSHAKE_FAILED: the transport's own code (CLOSED when the other side hung up). */
    readonly transportCode?: TransportErrorCode,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}
