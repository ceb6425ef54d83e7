/**
 * The lookout runs in one tower process at a time. Several tower processes may share one database
 * (`--watchtower.wallet=postgres://…`); each asks for the lookout lock, the holder runs the lookout,
 * the others ask again every `retryMs` and take over once the holder dies (the database frees its lock
 * with its connection). A lost lock (connection broken) stops this process's lookout until it wins the
 * lock again. On SQLite the lock is always granted at once.
 */
import type { Logger } from 'pino';

export interface LookoutLockSource {
  acquireLookoutLock(): Promise<{ release(): Promise<void>; readonly lost: Promise<void> } | null>;
}

export class LookoutLease {
  #timer: NodeJS.Timeout | undefined;
  #lock: { release(): Promise<void> } | undefined;
  #stopped = false;
  #busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LookoutLockSource,
    private readonly lookout: { start(): Promise<void>; stop(): Promise<void> },
    private readonly log: Logger,
    private readonly retryMs = 2000,
  ) {}

  /** Whether this process runs the lookout now. */
  get held(): boolean {
    return this.#lock !== undefined;
  }

  /** Tries once now (the lookout is running when this resolves, if the lock was free), then keeps trying. */
  start(): Promise<void> {
    return this.#serial(() => this.#attempt());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#serial(async () => {
      if (!this.#lock) return;
      await this.lookout.stop();
      await this.#lock.release();
      this.#lock = undefined;
    });
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    this.#busy = this.#busy.then(fn, fn);
    return this.#busy;
  }

  async #attempt(): Promise<void> {
    if (this.#stopped || this.#lock) return;
    let lock: Awaited<ReturnType<LookoutLockSource['acquireLookoutLock']>> = null;
    try {
      lock = await this.store.acquireLookoutLock();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lookout: cannot ask for the lookout lock; retrying');
    }
    if (!lock) {
      this.#retry();
      return;
    }
    this.#lock = lock;
    void lock.lost.then(() => this.#serial(() => this.#lost(lock)));
    this.log.info('lookout: this process holds the lookout lock');
    await this.lookout.start();
  }

  async #lost(lock: { release(): Promise<void> }): Promise<void> {
    if (this.#lock !== lock || this.#stopped) return;
    this.log.warn('lookout: lost the lookout lock (database connection broken); stopping until it is won again');
    this.#lock = undefined;
    await this.lookout.stop();
    this.#retry();
  }

  #retry(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#serial(() => this.#attempt()), this.retryMs);
    this.#timer.unref();
  }
}
