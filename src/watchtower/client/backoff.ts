/** Retry delays: `min`, doubling up to `max` (LND's client: 10 s to 5 min), reset on success. */
export interface BackoffConfig {
  minMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffConfig = { minMs: 10_000, maxMs: 5 * 60_000 };

export class Backoff {
  #next: number;
  /** Time before which no attempt is made (ms, the clock of `now`). */
  until = 0;
  failures = 0;

  constructor(private readonly cfg: BackoffConfig) {
    this.#next = cfg.minMs;
  }

  /** Records a failure at `now`; returns the delay chosen. */
  fail(now: number): number {
    const d = this.#next;
    this.until = now + d;
    this.failures++;
    this.#next = Math.min(this.cfg.maxMs, d * 2);
    return d;
  }

  succeed(): void {
    this.#next = this.cfg.minMs;
    this.until = 0;
    this.failures = 0;
  }

  ready(now: number): boolean {
    return now >= this.until;
  }
}
