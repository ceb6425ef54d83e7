/**
 * Group commit for the tower's stores (SQLite and PostgreSQL alike): one transaction, one durable commit,
 * for every write that arrived in the same turn of the event loop.
 */
import type { Kysely, Transaction } from 'kysely';

interface QueuedWrite<S> {
  op: (tx: Transaction<S>) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface GroupCommitStats {
  transactions: number;
  writes: number;
}

/**
 * Collects writes requested during one turn of the event loop and commits them in one transaction
 * (at most `maxBatch` per transaction). Each promise settles after its transaction's COMMIT. If a
 * batch fails, its writes are retried one per transaction, so one bad write cannot fail the others.
 */
export class GroupCommit<S> {
  #queue: QueuedWrite<S>[] = [];
  #scheduled = false;
  #running: Promise<void> | undefined;
  readonly stats: GroupCommitStats = { transactions: 0, writes: 0 };

  constructor(
    private readonly db: Kysely<S>,
    private readonly maxBatch: number,
  ) {}

  run<T>(op: (tx: Transaction<S>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    // setImmediate: after this turn's I/O callbacks, so every request that arrived with them shares the commit.
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#flush().finally(() => {
        this.#running = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    let results: unknown[];
    try {
      results = await this.db.transaction().execute(async (tx) => {
        const out: unknown[] = [];
        for (const w of batch) out.push(await w.op(tx));
        return out;
      });
    } catch {
      // Isolate the culprit: one transaction per write.
      for (const w of batch) {
        try {
          const r = await this.db.transaction().execute((tx) => w.op(tx));
          this.#count(1);
          w.resolve(r);
        } catch (err) {
          w.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      return;
    }
    this.#count(batch.length);
    batch.forEach((w, i) => w.resolve(results[i]));
  }

  #count(writes: number): void {
    this.stats.transactions++;
    this.stats.writes += writes;
  }

  /** Resolves once every write queued so far has settled. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#running || this.#scheduled) {
      if (this.#running) await this.#running;
      else await new Promise((r) => setImmediate(r));
    }
  }
}

