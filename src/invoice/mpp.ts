/**
 * The receiver's HTLC set for one payment hash (BOLT 4, "basic multi-part payments"): a pure
 * accumulator the HTLC intake feeds. It holds no timers and does no I/O; the intake calls
 * {@link MppSet.add} for each part and {@link MppSet.tick} from its own timer, and acts on the decision:
 *
 * - `wait`: keep the HTLC pending;
 * - `settle`: the parts reach `total_msat` — commit the payment (`InvoiceBook.markPaid`), then fulfil
 *   every listed part with the preimage it returns;
 * - `fail`: fail every listed part with `failureCode` (BOLT 4's `mpp_timeout` after the timeout,
 *   `incorrect_or_unknown_payment_details` when the parts disagree on `total_msat` or it is below the
 *   invoice's amount).
 *
 * BOLT 4 rules kept here: every part of a set carries the same `total_msat`; the set is fulfilled only
 * once the sum of its parts reaches `total_msat` (an overpayment is fine); a set still short after a
 * reasonable time (60 s) is failed whole with `mpp_timeout`; `total_msat` below the invoice's amount, or
 * above twice it, fails.
 */
import { FailureCode } from '../onion/failure.js';

/** BOLT 4's "reasonable timeout" for an incomplete set. */
export const MPP_TIMEOUT_MS = 60_000;

export interface MppPart<K> {
  /** What identifies the HTLC to the intake (channel and HTLC id, say). */
  key: K;
  amountMsat: bigint;
  /** The onion's `payment_data.total_msat`. */
  totalMsat: bigint;
}

export type MppDecision<K> =
  | { action: 'wait' }
  | { action: 'settle'; parts: K[]; receivedMsat: bigint }
  | { action: 'fail'; parts: K[]; failureCode: number };

export class MppSet<K> {
  readonly #parts: MppPart<K>[] = [];
  #total: bigint | undefined;
  #startedAt: number | undefined;
  #closed = false;

  /**
   * @param invoiceAmountMsat the invoice's amount (undefined for an invoice of any amount)
   * @param timeoutMs how long an incomplete set is held, from its first part
   */
  constructor(
    readonly invoiceAmountMsat: bigint | undefined,
    readonly timeoutMs: number = MPP_TIMEOUT_MS,
  ) {}

  /** Sum of the parts held now. */
  get receivedMsat(): bigint {
    return this.#parts.reduce((s, p) => s + p.amountMsat, 0n);
  }

  get size(): number {
    return this.#parts.length;
  }

  /** Settled or failed already: every later part fails on its own. */
  get closed(): boolean {
    return this.#closed;
  }

  add(part: MppPart<K>, nowMs: number): MppDecision<K> {
    const unknown = FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS;
    if (this.#closed) return { action: 'fail', parts: [part.key], failureCode: unknown };
    if (part.amountMsat <= 0n || part.totalMsat <= 0n) return { action: 'fail', parts: [part.key], failureCode: unknown };
    if (this.#total === undefined) {
      const inv = this.invoiceAmountMsat;
      if (inv !== undefined && (part.totalMsat < inv || part.totalMsat > 2n * inv)) {
        return { action: 'fail', parts: [part.key], failureCode: unknown };
      }
      this.#total = part.totalMsat;
      this.#startedAt = nowMs;
    } else if (part.totalMsat !== this.#total) {
      return this.#close({ action: 'fail', parts: [...this.#parts.map((p) => p.key), part.key], failureCode: unknown });
    }
    this.#parts.push(part);
    const received = this.receivedMsat;
    if (received >= this.#total) return this.#close({ action: 'settle', parts: this.#parts.map((p) => p.key), receivedMsat: received });
    return this.tick(nowMs);
  }

  /** Fails the whole set with `mpp_timeout` once it has waited `timeoutMs`; otherwise `wait`. */
  tick(nowMs: number): MppDecision<K> {
    if (this.#closed || this.#startedAt === undefined || nowMs - this.#startedAt < this.timeoutMs) return { action: 'wait' };
    return this.#close({ action: 'fail', parts: this.#parts.map((p) => p.key), failureCode: FailureCode.MPP_TIMEOUT });
  }

  /** When `tick` will fail the set (ms), or undefined before the first part and after closing. */
  deadline(): number | undefined {
    return this.#closed || this.#startedAt === undefined ? undefined : this.#startedAt + this.timeoutMs;
  }

  #close(d: MppDecision<K>): MppDecision<K> {
    this.#closed = true;
    return d;
  }
}
