import type { CoreErrorKind } from '../../node/core/errors.js';

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
  FUND_MAX_EXCEEDED: 300,
  FUND_CANNOT_AFFORD: 301,
  FUND_OUTPUT_IS_DUST: 302,
  FUNDING_UNKNOWN_PEER: 306,
  /** waitblockheight (and CLN's other wait commands) reached its timeout. */
  WAIT_TIMEOUT: 2000,
} as const;

/** The node core's failure kinds as lightningd's codes: the one place they are chosen. */
export const CORE_CODES: Record<CoreErrorKind, number> = {
  INVALID: RpcCode.INVALID_PARAMS,
  BAD_HOST: RpcCode.LIGHTNINGD,
  UNKNOWN_PEER: RpcCode.INVALID_PARAMS,
  NOT_CONNECTED: RpcCode.LIGHTNINGD,
  CHANNEL_BLOCKS: RpcCode.LIGHTNINGD,
  NO_ADDRESS: RpcCode.CONNECT_NO_KNOWN_ADDRESS,
  ALL_FAILED: RpcCode.CONNECT_ALL_ADDRESSES_FAILED,
  DISCONNECTED_DURING: RpcCode.CONNECT_DISCONNECTED_DURING,
  PING_PENDING: RpcCode.LIGHTNINGD,
  PING_FAILED: RpcCode.LIGHTNINGD,
  SHUTTING_DOWN: RpcCode.LIGHTNINGD_SHUTDOWN,
  NOT_ACTIVE: RpcCode.LIGHTNINGD,
  FUNDING_UNKNOWN_PEER: RpcCode.FUNDING_UNKNOWN_PEER,
  FUNDING_MAX_EXCEEDED: RpcCode.FUND_MAX_EXCEEDED,
  CANNOT_AFFORD: RpcCode.FUND_CANNOT_AFFORD,
  OUTPUT_IS_DUST: RpcCode.FUND_OUTPUT_IS_DUST,
  FAILED: RpcCode.LIGHTNINGD,
};

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
