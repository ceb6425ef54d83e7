/**
 * Waiting in tests: the one polling loop (`until`), a pause (`sleep`), an event with a deadline
 * (`nextEvent`) and a promise with a deadline (`withTimeout`). Every timeout error names what was
 * awaited, so a hung test says which condition never held.
 */
import type { EventEmitter } from 'node:events';

export interface WaitOptions {
  /** What is awaited, for the timeout error ("B knows the channel"). */
  what: string;
  /** Default 20 000 ms. */
  timeoutMs?: number;
  /** Pause between two checks; default 25 ms. */
  intervalMs?: number;
}

type Falsy = false | undefined | null;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Checks `predicate` now and every `intervalMs` until it returns something other than false, undefined
 * or null, and resolves with that (so a lookup can be awaited and used at once); rejects after
 * `timeoutMs`. A string stands for `{ what }`.
 */
export async function until<T>(predicate: () => T | Promise<T>, opts: WaitOptions | string): Promise<Exclude<T, Falsy>> {
  const { what, timeoutMs = 20_000, intervalMs = 25 } = typeof opts === 'string' ? { what: opts } : opts;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v !== false && v !== undefined && v !== null) return v as Exclude<T, Falsy>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Settles as `p` does, or rejects once `timeoutMs` passed first. */
export async function withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The arguments of the next `event` on `emitter` that `accept` takes (every one by default), or a
 * rejection after `timeoutMs` (default 10 000 ms). The listener is removed either way.
 */
export function nextEvent<A extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  opts: { what?: string; timeoutMs?: number; accept?: (...args: A) => boolean } = {},
): Promise<A> {
  let listener: ((...args: A) => void) | undefined;
  const seen = new Promise<A>((resolve) => {
    listener = (...args: A): void => {
      if (opts.accept && !opts.accept(...args)) return;
      resolve(args);
    };
    emitter.on(event, listener as (...args: unknown[]) => void);
  });
  return withTimeout(seen, opts.timeoutMs ?? 10_000, opts.what ?? `event '${event}'`).finally(() =>
    emitter.off(event, listener as (...args: unknown[]) => void),
  );
}
