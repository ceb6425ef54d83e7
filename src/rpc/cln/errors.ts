/** Core Lightning's JSON-RPC error codes (common/jsonrpc_errors.h) that anode uses. */
export const RpcCode = {
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  /** Generic failure ("Peer not connected", "Peer has (at least one) channel in state …"). */
  LIGHTNINGD: -1,
  /** The daemon is shutting down while the request was pending. */
  LIGHTNINGD_SHUTDOWN: -5,
  CONNECT_NO_KNOWN_ADDRESS: 400,
  CONNECT_ALL_ADDRESSES_FAILED: 401,
  CONNECT_DISCONNECTED_DURING: 402,
} as const;

/** A failure to report to the client as `{"code", "message"[, "data"]}`. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    readonly code: number,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const invalidParams = (message: string): RpcError => new RpcError(RpcCode.INVALID_PARAMS, message);
