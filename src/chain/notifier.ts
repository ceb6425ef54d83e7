/**
 * The node's one chain notifier: it polls the backend, fetches each block once, and delivers every block,
 * in order, to every consumer (wallet, channels, lookout, watchtower client) from where that consumer
 * left off. Each consumer keeps its own tip in its own {@link TipStore}; a consumer behind the others is
 * caught up block by block while those at the tip wait, so consumers at different tips still share each
 * fetch (lock-step from the lowest tip). The notifier is the seam where another backend (Esplora) plugs in:
 * it needs only a {@link ChainSource}.
 *
 * Delivery: for each subscription, the notifier checks that the next block's prev-hash is the tip, hands
 * it to the listener, and only then saves the new tip — so every block is delivered at least once even
 * across crashes (a consumer must tolerate a re-delivery of the block it was processing when it died).
 *
 * Reorgs: before extending, each tip is checked against the main-chain block at its height; a stale tip
 * is disconnected (listener.disconnect, then the tip becomes its parent, saved) down to the fork point,
 * then the new branch is connected. A block's parent comes from the blocks this notifier has seen or,
 * after a restart, from the backend (`getblockheader` works for stale blocks on bitcoind and btcd).
 *
 * Nothing escapes: backend errors, bad blocks and listener failures are reported to the subscription's
 * `onError` and the logger, and that subscription retries from the same tip at a later poll, with its own
 * backoff; the others carry on. No block is skipped.
 */
import { ChainError, isChainError } from './errors.js';
import { parseBlock, parseBlockHeader, type Block } from './block.js';
import type { BlockTip, ChainSource } from './chain-source.js';
import type { ChainLogger } from './bitcoind-rpc.js';

/** Where a consumer keeps its tip (the lookout puts it in its database). */
export interface TipStore {
  load(): Promise<BlockTip | null>;
  save(tip: BlockTip): Promise<void>;
}

/** A TipStore in memory, for unit tests (and for consumers that start from the chain tip every time). */
export class MemoryTipStore implements TipStore {
  tip: BlockTip | null;
  saves = 0;
  constructor(initial: BlockTip | null = null) {
    this.tip = initial ? { ...initial } : null;
  }
  async load(): Promise<BlockTip | null> {
    return this.tip ? { ...this.tip } : null;
  }
  async save(tip: BlockTip): Promise<void> {
    this.tip = { ...tip };
    this.saves++;
  }
}

export interface ConnectedBlock {
  height: number;
  hash: string;
  block: Block;
  /** The serialized block. */
  raw: Uint8Array;
}

export interface BlockListener {
  /** A block extends the chain; `height` is the previous tip + 1. */
  connect(b: ConnectedBlock): Promise<void> | void;
  /** The tip block `tip` is no longer on the main chain; after this the tip is its parent. */
  disconnect(tip: BlockTip): Promise<void> | void;
}

export interface ChainNotifierOptions {
  /** Poll period, ms. Default 2000. */
  pollIntervalMs?: number;
  /** Longest wait between a failing subscription's retries (backoff doubles from pollIntervalMs). Default 60 000. */
  maxBackoffMs?: number;
  /** Refuse to unwind more than this many blocks in one pass (wrong network, corrupt store). Default 1000. */
  maxReorgDepth?: number;
  /** A pass that connects blocks for longer than this reports its progress at info level, this often. Default 10 000 ms. */
  progressIntervalMs?: number;
  logger?: ChainLogger;
}

export interface SubscriptionOptions {
  /** Names the consumer in the log. */
  name?: string;
  /**
   * Only when the store has no tip: the first height to deliver (0 = from genesis), or a function of the
   * backend's best height giving it (a rescan of the last N blocks). Default: none — the subscription
   * adopts the current best block as its tip and is told of the blocks after it.
   */
  startHeight?: number | ((bestHeight: number) => number);
  /** Apply `startHeight` over a stored tip above it too (a rescan): delivery restarts there. Default false. */
  rewind?: boolean;
  /**
   * Told of every failed poll of this subscription (the notifier itself carries on). `quiet`: not the first
   * failure of a streak, or the backend merely unreachable (its client warned once) — log it at debug.
   */
  onError?: (err: Error, info: { failures: number; quiet: boolean }) => void;
}

export interface SyncResult {
  connected: number;
  disconnected: number;
  tip: BlockTip | null;
}

/** One consumer's handle on the notifier. */
export interface Subscription {
  /** The last block delivered (or adopted), null before the first successful pass. */
  readonly tip: BlockTip | null;
  /**
   * One catch-up pass now: brings this tip to the backend's best block (other subscriptions come along,
   * sharing the fetches). Shares a pass in progress that includes it. Rejects with this subscription's
   * failure; the tip stays at the last block fully handled, so the next pass resumes there.
   */
  syncOnce(): Promise<SyncResult>;
  /** Unsubscribes and waits for a delivery in progress to this consumer to finish (its tip saved). */
  stop(): Promise<void>;
}

const ZERO_HASH = '0'.repeat(64);
/** Parents remembered by block hash, for unwinding reorgs without asking the backend. */
const KNOWN_PARENTS = 2000;
/** Blocks kept after delivery, so a pass that must re-verify a tip does not fetch the same block again. */
const CACHED_BLOCKS = 4;

type Outcome = { result: SyncResult } | { error: Error };

interface Pass {
  members: Set<Consumer>;
  done: Promise<Map<Consumer, Outcome>>;
}

/** What a subscription asks of its notifier. */
interface Hooks {
  sync(c: Consumer): Promise<SyncResult>;
  remove(c: Consumer): void;
}

class Consumer implements Subscription {
  current: BlockTip | null = null;
  loaded = false;
  stopped = false;
  failures = 0;
  /** Polls this subscription sits out while failing (its backoff). */
  skip = 0;
  /** The delivery in progress (listener call and tip save), for stop(). */
  busy: Promise<unknown> = Promise.resolve();

  constructor(
    readonly hooks: Hooks,
    readonly store: TipStore,
    readonly listener: BlockListener,
    readonly opts: SubscriptionOptions,
    /** A private notifier this subscription stops with itself. */
    readonly owned: ChainNotifier | undefined,
  ) {
    const s = opts.startHeight;
    if (typeof s === 'number' && (!Number.isSafeInteger(s) || s < 0)) throw new ChainError('INVALID_ARGUMENT', `chain: notifier: invalid startHeight ${s}`);
  }

  get tip(): BlockTip | null {
    return this.current ? { ...this.current } : null;
  }

  syncOnce(): Promise<SyncResult> {
    if (this.stopped) return Promise.reject(new ChainError('INVALID_ARGUMENT', `chain: notifier: ${this.opts.name ?? 'subscription'} is stopped`));
    return this.hooks.sync(this);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.hooks.remove(this);
    await this.busy;
    await this.owned?.stop();
  }

  /** Runs one delivery step so that stop() can wait for it. */
  run(step: () => Promise<void>): Promise<void> {
    const p = step();
    this.busy = p.catch(() => undefined);
    return p;
  }
}

export class ChainNotifier {
  readonly #source: ChainSource;
  readonly #pollIntervalMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxReorgDepth: number;
  readonly #logger: ChainLogger | undefined;
  readonly #progressIntervalMs: number;
  /** "connected at height N" is out. */
  #announced = false;
  readonly #consumers = new Set<Consumer>();
  /** block hash → its parent's hash. */
  readonly #parents = new Map<string, string>();
  readonly #blocks = new Map<string, { block: Block; raw: Uint8Array }>();
  readonly #hooks: Hooks = { sync: (c) => this.#syncConsumer(c), remove: (c) => void this.#consumers.delete(c) };
  #pass: Pass | null = null;
  #timer: NodeJS.Timeout | null = null;
  #started = false;

  constructor(source: ChainSource, opts: ChainNotifierOptions = {}) {
    this.#source = source;
    this.#pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 60_000;
    this.#maxReorgDepth = opts.maxReorgDepth ?? 1000;
    this.#logger = opts.logger;
    this.#progressIntervalMs = opts.progressIntervalMs ?? 10_000;
  }

  #info(obj: object, msg: string): void {
    (this.#logger?.info ?? this.#logger?.warn)?.call(this.#logger, obj, msg);
  }

  /** Adds a consumer; it is told of blocks from the next pass on. */
  subscribe(store: TipStore, listener: BlockListener, opts: SubscriptionOptions = {}): Subscription {
    return this.#subscribe(store, listener, opts, undefined);
  }

  #subscribe(store: TipStore, listener: BlockListener, opts: SubscriptionOptions, owned: ChainNotifier | undefined): Consumer {
    const c = new Consumer(this.#hooks, store, listener, opts, owned);
    this.#consumers.add(c);
    return c;
  }

  /**
   * A consumer's subscription: to the node's notifier when it has one, else (a component built on its
   * own, as unit tests do) to a private notifier over `source`, started now and stopped with the
   * subscription.
   */
  static follow(
    source: ChainSource,
    notifier: ChainNotifier | undefined,
    store: TipStore,
    listener: BlockListener,
    opts: SubscriptionOptions & ChainNotifierOptions = {},
  ): Subscription {
    if (notifier) return notifier.subscribe(store, listener, opts);
    const own = new ChainNotifier(source, opts);
    const sub = own.#subscribe(store, listener, opts, own);
    own.start();
    return sub;
  }

  /** Starts polling (the first poll runs now). Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops polling and waits for a pass in progress to finish. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass?.done;
  }

  #schedule(ms: number): void {
    if (!this.#started) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#poll();
    }, ms);
  }

  async #poll(): Promise<void> {
    const due: Consumer[] = [];
    for (const c of this.#consumers) {
      if (c.skip > 0) c.skip--;
      else due.push(c);
    }
    if (this.#pass) await this.#pass.done;
    else if (due.length) {
      const outcomes = await this.#begin(due).done;
      for (const [c, o] of outcomes) this.#account(c, o);
    }
    this.#schedule(this.#pollIntervalMs);
  }

  /** Backoff and reporting for a polled subscription. */
  #account(c: Consumer, o: Outcome): void {
    if ('result' in o) {
      c.failures = 0;
      return;
    }
    c.failures++;
    const polls = Math.max(1, Math.floor(Math.min(this.#pollIntervalMs * 2 ** Math.min(c.failures, 20), this.#maxBackoffMs) / this.#pollIntervalMs));
    c.skip = polls - 1;
    const delay = polls * this.#pollIntervalMs;
    // The first failure of a streak is a WARN, unless the backend is merely away (its client said so once);
    // the back-off retries after it are quiet.
    const loud = c.failures === 1 && !(isChainError(o.error) && o.error.transient);
    (loud ? this.#logger?.warn : this.#logger?.debug)?.call(this.#logger, { consumer: c.opts.name, err: o.error.message, failures: c.failures, retryInMs: delay }, 'chain notifier: poll failed');
    try {
      c.opts.onError?.(o.error, { failures: c.failures, quiet: !loud });
    } catch {
      /* a throwing error callback must not stop the notifier */
    }
  }

  /** A subscription's syncOnce(): joins the pass in progress if it includes it, else runs one. */
  async #syncConsumer(c: Consumer): Promise<SyncResult> {
    for (;;) {
      const p = this.#pass;
      if (!p) {
        const others = [...this.#consumers].filter((o) => o !== c && o.skip === 0);
        this.#begin([c, ...others]);
        continue;
      }
      const outcomes = await p.done;
      if (!p.members.has(c)) continue;
      const o = outcomes.get(c)!;
      if ('error' in o) throw o.error;
      return o.result;
    }
  }

  #begin(members: Consumer[]): Pass {
    const pass: Pass = {
      members: new Set(members),
      done: this.#run(members).finally(() => {
        if (this.#pass === pass) this.#pass = null;
      }),
    };
    this.#pass = pass;
    return pass;
  }

  /** One catch-up pass for `members`; never rejects (each member's failure is its outcome). */
  async #run(members: Consumer[]): Promise<Map<Consumer, Outcome>> {
    const results = new Map(members.map((c): [Consumer, SyncResult] => [c, { connected: 0, disconnected: 0, tip: null }]));
    const failed = new Map<Consumer, Error>();
    const live = (): Consumer[] => members.filter((c) => !failed.has(c) && !c.stopped);
    const fail = (c: Consumer, e: unknown): void => void failed.set(c, e instanceof Error ? e : new Error(String(e)));
    try {
      let rounds = 0;
      for (;;) {
        const connected = Math.max(0, ...[...results.values()].map((r) => r.connected));
        if (++rounds > 20 + this.#maxReorgDepth + connected)
          throw new ChainError('BAD_RESPONSE', `chain: notifier: backend keeps changing its chain; giving up this poll`);
        const count = await this.#source.getBlockCount();
        if (!this.#announced) {
          this.#announced = true;
          this.#info({ height: count }, `chain backend connected at height ${count}`);
        }
        // Main-chain hashes by height, valid for this round only (a reorg is caught by the prev-hash check).
        const hashes = new Map<number, Promise<string>>();
        const hashAt = (h: number): Promise<string> => {
          let p = hashes.get(h);
          if (!p) {
            p = this.#source.getBlockHash(h);
            hashes.set(h, p);
          }
          return p;
        };
        for (const c of live()) {
          try {
            await this.#settle(c, count, hashAt, results.get(c)!);
          } catch (e) {
            fail(c, e);
          }
        }
        if (!(await this.#extend(live(), count, hashAt, results, fail))) continue;
        // Blocks may have arrived while we were connecting; one more round checks (and is cheap).
        if ((await this.#source.getBlockCount()) === count) break;
      }
    } catch (e) {
      for (const c of live()) fail(c, e);
    }
    return new Map(
      members.map((c): [Consumer, Outcome] => {
        const error = failed.get(c);
        return [c, error ? { error } : { result: { ...results.get(c)!, tip: c.tip } }];
      }),
    );
  }

  /** Loads the consumer's tip and unwinds it to the main chain. */
  async #settle(c: Consumer, count: number, hashAt: (h: number) => Promise<string>, result: SyncResult): Promise<void> {
    if (!c.loaded && !(await this.#load(c, count, hashAt))) return;
    for (;;) {
      const tip = c.current!;
      if (tip.height < 0) return;
      let onChain: string | null = null;
      if (tip.height <= count) {
        try {
          onChain = await hashAt(tip.height);
        } catch (e) {
          if (!isChainError(e, 'NOT_FOUND')) throw e;
        }
      }
      if (onChain === tip.hash) return;
      if (result.disconnected >= this.#maxReorgDepth)
        throw new ChainError('BAD_RESPONSE', `chain: notifier: reorg deeper than ${this.#maxReorgDepth} blocks at height ${tip.height}; refusing to unwind further`);
      await this.#disconnect(c, tip);
      result.disconnected++;
    }
  }

  /** False while the chain has not reached the subscription's startHeight. */
  async #load(c: Consumer, count: number, hashAt: (h: number) => Promise<string>): Promise<boolean> {
    const stored = await c.store.load();
    const s = c.opts.startHeight;
    const start = typeof s === 'function' ? Math.max(0, Math.min(count, s(count))) : s;
    if (stored && c.opts.rewind && start !== undefined && stored.height >= start) {
      c.current = start === 0 ? { height: -1, hash: ZERO_HASH } : { height: start - 1, hash: await hashAt(start - 1) };
      this.#info({ consumer: c.opts.name, from: start, was: stored.height }, `${c.opts.name ?? 'subscription'}: rescanning from height ${start}`);
      await c.store.save(c.current);
    } else if (stored) {
      if (!Number.isSafeInteger(stored.height) || stored.height < -1 || typeof stored.hash !== 'string')
        throw new ChainError('INVALID_ARGUMENT', `chain: notifier: stored tip is invalid: ${JSON.stringify(stored)}`);
      c.current = { height: stored.height, hash: stored.hash.toLowerCase() };
    } else if (start === 0) {
      c.current = { height: -1, hash: ZERO_HASH };
    } else {
      const height = start === undefined ? count : start - 1;
      if (count < height) return false; // wait until the chain gets there
      c.current = { height, hash: await hashAt(height) };
      await c.store.save(c.current);
    }
    c.loaded = true;
    return true;
  }

  async #disconnect(c: Consumer, tip: BlockTip): Promise<void> {
    let prevHash = this.#parents.get(tip.hash);
    if (prevHash === undefined) {
      const header = parseBlockHeader(await this.#source.getRawBlockHeader(tip.hash));
      if (header.hash !== tip.hash) throw new ChainError('BAD_RESPONSE', `chain: notifier: header of ${tip.hash} hashes to ${header.hash}`);
      prevHash = header.prevHash;
      this.#remember(tip.hash, prevHash);
    }
    const parent = { height: tip.height - 1, hash: prevHash };
    this.#logger?.warn({ consumer: c.opts.name, height: tip.height, hash: tip.hash }, 'chain notifier: disconnecting block (reorg)');
    await c.run(async () => {
      await c.listener.disconnect({ ...tip });
      await c.store.save(parent);
      c.current = parent;
    });
  }

  /**
   * Connects blocks up to `count`, lowest tip first: each block is fetched once and handed to every
   * consumer whose tip is its parent. False when the chain changed under us (re-verify the tips).
   */
  async #extend(
    consumers: Consumer[],
    count: number,
    hashAt: (h: number) => Promise<string>,
    results: Map<Consumer, SyncResult>,
    fail: (c: Consumer, e: unknown) => void,
  ): Promise<boolean> {
    const failed = new Set<Consumer>();
    const progress = { began: Date.now(), last: Date.now(), first: -1, reported: false };
    for (;;) {
      const behind = consumers.filter((c) => !failed.has(c) && !c.stopped && c.current && c.current.height < count);
      if (!behind.length) {
        if (progress.reported) this.#info({ height: count, blocks: count - progress.first + 1, seconds: Math.round((Date.now() - progress.began) / 1000) }, `scan complete at height ${count}`);
        return true;
      }
      const height = Math.min(...behind.map((c) => c.current!.height)) + 1;
      if (progress.first < 0) progress.first = height;
      this.#reportProgress(progress, height, count);
      const due = behind.filter((c) => c.current!.height === height - 1);
      let hash: string;
      let fetched: { block: Block; raw: Uint8Array };
      try {
        hash = await hashAt(height);
        fetched = await this.#fetch(hash, height);
      } catch (e) {
        if (isChainError(e, 'NOT_FOUND')) return false; // the chain got shorter under us
        for (const c of due) {
          fail(c, e);
          failed.add(c);
        }
        continue;
      }
      const { block, raw } = fetched;
      // A reorg happened between our calls: re-verify the tips.
      if (due.some((c) => block.header.prevHash !== c.current!.hash)) return false;
      await Promise.all(
        due.map(async (c) => {
          if (c.stopped) return;
          try {
            await c.run(async () => {
              await c.listener.connect({ height, hash, block, raw });
              const next: BlockTip = { height, hash };
              await c.store.save(next);
              c.current = next;
            });
            results.get(c)!.connected++;
          } catch (e) {
            fail(c, e);
            failed.add(c);
          }
        }),
      );
    }
  }

  /** On a long pass, every progressIntervalMs: blocks done of the pass's total, and the rate. */
  #reportProgress(p: { began: number; last: number; first: number; reported: boolean }, height: number, count: number): void {
    const now = Date.now();
    const done = height - p.first;
    if (done === 0 || now - p.last < this.#progressIntervalMs) return;
    p.last = now;
    p.reported = true;
    const total = count - p.first + 1;
    const rate = done / Math.max(0.001, (now - p.began) / 1000);
    this.#info({ done, total, height, tip: count, blocksPerSecond: Number(rate.toFixed(1)) }, `scanning blocks: ${done}/${total} (${rate.toFixed(1)} blocks/s), at height ${height - 1} of ${count}`);
  }

  /** The block `hash` (expected at `height`), from the backend unless just fetched. */
  async #fetch(hash: string, height: number): Promise<{ block: Block; raw: Uint8Array }> {
    const cached = this.#blocks.get(hash);
    if (cached) return cached;
    const raw = await this.#source.getRawBlock(hash);
    const block = parseBlock(raw);
    if (block.hash !== hash) throw new ChainError('BAD_RESPONSE', `chain: notifier: block at height ${height} hashes to ${block.hash}, expected ${hash}`);
    this.#remember(hash, block.header.prevHash);
    this.#blocks.set(hash, { block, raw });
    if (this.#blocks.size > CACHED_BLOCKS) this.#blocks.delete(this.#blocks.keys().next().value!);
    return { block, raw };
  }

  #remember(hash: string, prevHash: string): void {
    this.#parents.set(hash, prevHash);
    if (this.#parents.size > KNOWN_PARENTS) this.#parents.delete(this.#parents.keys().next().value!);
  }
}

