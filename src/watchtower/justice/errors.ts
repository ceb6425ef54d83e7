/** Typed errors of the justice transaction (`justice: fee exceeds inputs`). Names follow LND's. */
import { BitcoinError } from '../../bitcoin/errors.js';

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

/**
 * Runs `f` on data from a kit or a breach: a bitcoin-layer error (a key off the curve, a malformed
 * signature) becomes a JusticeError of the same code, so the tower and the client see one error type
 * for everything a kit can get wrong.
 */
export function onKitData<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BitcoinError) throw new JusticeError(e.code, `justice: ${e.message}`);
    throw e;
  }
}
