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

/** Where a dial failed, so each API shell words it its own way without reading the message text. */
export interface DialFailure {
  /** The address dialled, `host:port`. */
  address: string;
  /** The stage that failed, in lightningd's words. */
  stage: 'Connection establishment' | 'Cryptographic handshake' | 'Exchanging init messages';
  /** The socket's error code (`ECONNREFUSED`, …); `ETIMEDOUT` for our own connect timeout. */
  errno?: string;
  /** The failure below the stage, without any prefix (the transport's or init's own message). */
  detail: string;
}

/** Failures of the peer layer that an API shell maps to its own error codes. */
export class PeerError extends Error {
  constructor(
    readonly code: PeerErrorCode,
    message: string,
    /** For HANDSHAKE_FAILED: the transport's own code (CLOSED when the other side hung up). */
    readonly transportCode?: TransportErrorCode,
    /** For a failed dial: where and how it failed. */
    readonly dial?: DialFailure,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}
