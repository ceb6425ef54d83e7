/**
 * Typed errors of the chain layer.
 *
 * Everything in `src/chain/` either returns a value or rejects with a {@link ChainError}; callers switch on
 * `code` and log `message`, which is prefixed with its context (`chain: getblock: …`). `transient` says
 * whether retrying the same call later can succeed (backend down, busy, warming up); the RPC client has
 * already retried those with backoff before it gives up.
 */

export type ChainErrorCode =
  /** TCP connect failed, the connection dropped, or the backend never answered in time. */
  | 'UNREACHABLE'
  /** The request timed out (the backend accepted the connection but did not answer). */
  | 'TIMEOUT'
  /** HTTP 401/403: wrong `--bitcoin-rpcuser` / `--bitcoin-rpcpassword`. */
  | 'AUTH'
  /** Backend busy (HTTP 503) or warming up (RPC -28); transient. */
  | 'BUSY'
  /** The backend answered with a JSON-RPC error that is not one of the more specific codes. */
  | 'RPC'
  /** The method does not exist on this backend (JSON-RPC -32601). */
  | 'METHOD_NOT_FOUND'
  /** A block or transaction that the backend does not know (RPC -5 / -8 for heights out of range). */
  | 'NOT_FOUND'
  /** `sendrawtransaction` refused the transaction; `message` carries the node's own words. */
  | 'TX_REJECTED'
  /** The HTTP response or JSON-RPC envelope was malformed, or a result had the wrong shape. */
  | 'BAD_RESPONSE'
  /** Block or header bytes that do not parse. */
  | 'BAD_BLOCK'
  /** Invalid configuration or arguments given by our own caller. */
  | 'INVALID_ARGUMENT';

export class ChainError extends Error {
  readonly code: ChainErrorCode;
  /** The backend's JSON-RPC error code, when there was one (e.g. -26 for a rejected transaction). */
  readonly rpcCode: number | undefined;
  /** The backend's JSON-RPC error message verbatim, when there was one. */
  readonly rpcMessage: string | undefined;
  /** Retrying later may succeed. */
  readonly transient: boolean;

  constructor(
    code: ChainErrorCode,
    message: string,
    opts: { rpcCode?: number; rpcMessage?: string; transient?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ChainError';
    this.code = code;
    this.rpcCode = opts.rpcCode;
    this.rpcMessage = opts.rpcMessage;
    this.transient = opts.transient ?? (code === 'UNREACHABLE' || code === 'TIMEOUT' || code === 'BUSY');
  }

  /** The same error with a further context prefix. */
  withContext(context: string): ChainError {
    return new ChainError(this.code, `${context}: ${this.message}`, {
      rpcCode: this.rpcCode,
      rpcMessage: this.rpcMessage,
      transient: this.transient,
      cause: this.cause,
    });
  }
}

export function isChainError(e: unknown, code?: ChainErrorCode): e is ChainError {
  return e instanceof ChainError && (code === undefined || e.code === code);
}
