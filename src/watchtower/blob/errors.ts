/** Typed errors of justice kits and blobs (`blob: v0: sweep script longer than 42 bytes`). */
export type BlobErrorCode =
  /** A blob or plaintext of the wrong size for its blob type. */
  | 'BAD_SIZE'
  /** The AEAD tag did not verify (wrong key: a false-positive hint, or a corrupted blob). */
  | 'DECRYPT_FAILED'
  /** A blob type the tower does not support (LND's supported set, §3.1). */
  | 'UNKNOWN_BLOB_TYPE'
  /** Sweep script longer than 42 bytes (LND `ErrSweepAddressToLong`). */
  | 'SWEEP_TOO_LONG'
  /** A field value that cannot be encoded (wrong length, out of range). */
  | 'INVALID';

export class BlobError extends Error {
  readonly code: BlobErrorCode;

  constructor(code: BlobErrorCode, message: string) {
    super(message);
    this.name = 'BlobError';
    this.code = code;
  }
}
