/**
 * wtwire reply codes (LND `watchtower/wtwire/error_code.go` and the `*_reply.go` files), with LND's names.
 */
export const WtErrorCode = {
  OK: 0,
  TemporaryFailure: 40,
  PermanentFailure: 50,
  CreateSessionAlreadyExists: 60,
  CreateSessionRejectMaxUpdates: 61,
  CreateSessionRejectRewardRate: 62,
  CreateSessionRejectSweepFeeRate: 63,
  CreateSessionRejectBlobType: 64,
  StateUpdateClientBehind: 70,
  StateUpdateMaxUpdatesExceeded: 71,
  StateUpdateSeqNumOutOfOrder: 72,
  DeleteSessionNotFound: 80,
} as const;
export type WtErrorCode = number;

const NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'CodeOK'],
  [40, 'CodeTemporaryFailure'],
  [50, 'CodePermanentFailure'],
  [60, 'CreateSessionCodeAlreadyExists'],
  [61, 'CreateSessionCodeRejectMaxUpdates'],
  [62, 'CreateSessionCodeRejectRewardRate'],
  [63, 'CreateSessionCodeRejectSweepFeeRate'],
  [64, 'CreateSessionCodeRejectBlobType'],
  [70, 'StateUpdateCodeClientBehind'],
  [71, 'StateUpdateCodeMaxUpdatesExceeded'],
  [72, 'StateUpdateCodeSeqNumOutOfOrder'],
  [80, 'DeleteSessionCodeNotFound'],
]);

/** LND's `ErrorCode.String()`: the constant's name, or `UnknownErrorCode: <n>`. */
export function errorCodeName(code: number): string {
  return NAMES.get(code) ?? `UnknownErrorCode: ${code}`;
}
