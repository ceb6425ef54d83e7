/**
 * The outcome writes of HTLCs we offered, per channel, that the channel's next state write waits for.
 * A fulfil is told to its owner (the payment sender, the switch) as it arrives; the channel saves the
 * state without the HTLC only later. A restart reads an HTLC gone from its channel with no recorded
 * outcome as failed, so the preimage's record must be committed first — which the store alone does not
 * promise (PostgreSQL's pool commits writes issued without waiting in either order).
 */
export class OutcomeWrites {
  readonly #pending = new Map<string, Set<Promise<void>>>();

  /** Tracks `written` (none: nothing to wait for) until it settles. */
  track(channelId: string, written: void | Promise<void>): void {
    if (!written) return;
    const set = this.#pending.get(channelId) ?? new Set<Promise<void>>();
    this.#pending.set(channelId, set);
    const drop = (): void => {
      set.delete(written);
      if (set.size === 0 && this.#pending.get(channelId) === set) this.#pending.delete(channelId);
    };
    set.add(written);
    written.then(drop, drop);
  }

  /** How many of the channel's outcome writes are in flight. */
  pending(channelId: string): number {
    return this.#pending.get(channelId)?.size ?? 0;
  }

  /**
   * Resolves once the channel's outcome writes in flight have settled; rejects if one failed (the state
   * write must not happen: the saved state keeps the HTLC, so a restart hears the fulfil again).
   */
  async written(channelId: string): Promise<void> {
    const pending = this.#pending.get(channelId);
    if (!pending || pending.size === 0) return;
    const results = await Promise.allSettled([...pending]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw new Error(`channel ${channelId}: an HTLC outcome was not recorded, state not written: ${(failed.reason as Error)?.message ?? String(failed.reason)}`);
  }
}
