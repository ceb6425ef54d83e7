/** Typed errors of the justice transaction (`justice: fee exceeds inputs`). Names follow LND's. */
export type JusticeErrorCode =
  /** `fee > total` (LND `ErrFeeExceedsInputs`). */
  | 'FEE_EXCEEDS_INPUTS'
  /** `reward + fee > total` (LND `ErrRewardExceedsInputs`). */
  | 'REWARD_EXCEEDS_INPUTS'
  /** The sweep output would be below the dust limit (LND `ErrCreatesDust`). */
  | 'CREATES_DUST'
  /** A sweep (or reward) script the weight estimate does not know (LND `ErrUnknownSweepAddrType`). */
  | 'UNKNOWN_SWEEP_ADDR_TYPE'
  /** A script size with no dust limit (LND panics in `DustLimitForSize`). */
  | 'UNKNOWN_SCRIPT_SIZE'
  /** A breach output the kit describes is not on the breach transaction (LND `ErrOutputNotFound`). */
  | 'OUTPUT_NOT_FOUND'
  /** A key in the kit is not a valid point. */
  | 'INVALID_KEY'
  /** A signature in the kit is malformed (r or s zero or ≥ n). */
  | 'INVALID_SIGNATURE'
  /** A signature does not verify against the rebuilt transaction. */
  | 'SIGNATURE_MISMATCH'
  /** Anything else structurally wrong (bad arguments, an insane transaction). */
  | 'INVALID';

export class JusticeError extends Error {
  readonly code: JusticeErrorCode;

  constructor(code: JusticeErrorCode, message: string) {
    super(message);
    this.name = 'JusticeError';
    this.code = code;
  }
}
