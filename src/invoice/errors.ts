/**
 * The one error class of `src/invoice/`: `decodeInvoice` returns an invoice or throws an
 * {@link InvoiceError} (`bolt11: …`) whose code says which BOLT 11 rule failed.
 */
export type InvoiceErrorCode =
  /** Not bech32 (bad checksum, mixed case, no separator, bad characters). */
  | 'BECH32'
  /** The human-readable part is not `ln` + a known currency + an optional amount. */
  | 'PREFIX'
  /** A malformed amount or multiplier, sub-millisatoshi precision, or zero. */
  | 'AMOUNT'
  /** The data part ends inside the timestamp, a field or the signature. */
  | 'TRUNCATED'
  /** A field whose length or content is invalid (`p`, `h`, `s`, `n` not 52/52/52/53 words, bad UTF-8, …). */
  | 'INVALID_FIELD'
  /** A required field is absent (`p`, `s`) or present twice (`p`). */
  | 'MISSING_FIELD'
  | 'DUPLICATE_FIELD'
  /** An unknown even feature bit, or a feature without the feature it depends on. */
  | 'FEATURES'
  /** A signature that does not recover, does not match `n`, or is high-S against `n`. */
  | 'SIGNATURE'
  /** Encoding: an unusable argument. */
  | 'INVALID_ARGUMENT';

export class InvoiceError extends Error {
  readonly code: InvoiceErrorCode;

  constructor(code: InvoiceErrorCode, message: string) {
    super(message);
    this.name = 'InvoiceError';
    this.code = code;
  }
}
