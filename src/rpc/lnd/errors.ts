import { CoreError, type CoreErrorKind } from '../../node/core/errors.js';

/** gRPC status codes (the numbers every gRPC implementation and LND's REST gateway use). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * An RPC failure with an explicit gRPC status. LND returns plain Go errors almost everywhere, which
 * grpc-go sends as Unknown (2): a plain `Error` thrown by a handler is sent the same way.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/**
 * The node core's failure kinds as a gRPC status: LND returns plain Go errors for all of them, which
 * grpc-go sends as Unknown, so every kind goes out as Unknown from anode too (one place to change if a
 * kind ever needs its own status).
 */
export function coreStatus(_kind: CoreErrorKind): number {
  return Status.UNKNOWN;
}

/** Status code and message a thrown value goes out with. */
export function toStatus(err: unknown): { code: number; message: string } {
  if (err instanceof RpcError) return { code: err.code, message: err.message };
  if (err instanceof CoreError) return { code: coreStatus(err.kind), message: err.message };
  if (err instanceof Error) return { code: Status.UNKNOWN, message: err.message };
  return { code: Status.UNKNOWN, message: String(err) };
}

/** grpc-gateway v2's runtime.HTTPStatusFromCode. */
export function httpStatusFromCode(code: number): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.CANCELLED:
      return 499;
    case Status.UNKNOWN:
      return 500;
    case Status.INVALID_ARGUMENT:
      return 400;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
      return 409;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.FAILED_PRECONDITION:
      return 400;
    case Status.ABORTED:
      return 409;
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.INTERNAL:
      return 500;
    case Status.UNAVAILABLE:
      return 503;
    case Status.DATA_LOSS:
      return 500;
    default:
      return 500;
  }
}
