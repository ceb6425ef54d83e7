/**
 * Delivers every block, in order, exactly from where the consumer left off.
 *
 * The watcher polls the backend's block count. From its tip (loaded from a {@link TipStore}) it fetches
 * the next block, checks that the block's prev-hash is the tip, hands it to the listener, and only then
 * saves the new tip — so every block is delivered at least once even across crashes (the consumer must
 * tolerate a re-delivery of the block it was processing when it died).
 *
 * Reorgs: before extending, the watcher checks that the tip is still the main-chain block at its height;
 * if not (or if a fetched block does not build on the tip), it disconnects the tip — listener.disconnect,
 * then the tip becomes its parent, saved — and repeats until it reaches the fork point, then connects the
 * new branch. A tip's parent comes from the headers it delivered (kept in memory) or, after a restart,
 * from the backend (`getblockheader` works for stale blocks on bitcoind and btcd).
 *
 * Nothing escapes: backend errors, bad blocks and listener failures are reported to `onError` and the
 * logger, and the next poll (with backoff) tries again from the same tip. No block is skipped.
 */
import { ChainError, isChainError } from './errors.js';
import { parseBlock, parseBlockHeader, type Block } from './block.js';
import type { BlockTip, ChainSource } from './chain-source.js';
import type { ChainLogger } from './bitcoind-rpc.js';

/** Where the watcher keeps its tip (the lookout puts it in its database). */
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

export interface BlockWatcherOptions {
  /** Poll period, ms. Default 2000. */
  pollIntervalMs?: number;
  /** Longest wait between polls while failing (backoff doubles from pollIntervalMs). Default 60 000. */
  maxBackoffMs?: number;
  /**
   * Only when the store has no tip: the first height to deliver (0 = from genesis). Default: none — the
   * watcher adopts the current best block as its tip and delivers the blocks after it.
   */
  startHeight?: number;
  /** Refuse to unwind more than this many blocks in one go (wrong network, corrupt store). Default 1000. */
  maxReorgDepth?: number;
  logger?: ChainLogger;
  /** Told of every failure of a poll (the watcher itself carries on). */
  onError?: (err: Error) => void;
}

export interface SyncResult {
  connected: number;
  disconnected: number;
  tip: BlockTip | null;
}

const ZERO_HASH = '0'.repeat(64);
const RECENT_HEADERS = 2000;

export class BlockWatcher {
  private readonly source: ChainSource;
  private readonly store: TipStore;
  private readonly listener: BlockListener;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly startHeight: number | undefined;
  private readonly maxReorgDepth: number;
  private readonly logger: ChainLogger | undefined;
  private readonly onError: ((err: Error) => void) | undefined;

  private current: BlockTip | null = null;
  private loaded = false;
  /** height → [hash, prevHash] of blocks we delivered or verified. */
  private readonly recent = new Map<number, [string, string]>();
  private running: Promise<SyncResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private failures = 0;

  constructor(source: ChainSource, store: TipStore, listener: BlockListener, opts: BlockWatcherOptions = {}) {
    this.source = source;
    this.store = store;
    this.listener = listener;
    this.pollIntervalMs = opts.pollIntervalMs ?? 2000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 60_000;
    this.startHeight = opts.startHeight;
    this.maxReorgDepth = opts.maxReorgDepth ?? 1000;
    this.logger = opts.logger;
    this.onError = opts.onError;
    if (this.startHeight !== undefined && (!Number.isSafeInteger(this.startHeight) || this.startHeight < 0))
      throw new ChainError('INVALID_ARGUMENT', `chain: watcher: invalid startHeight ${this.startHeight}`);
  }

  /** The last block delivered (or adopted), null before the first successful poll. */
  get tip(): BlockTip | null {
    return this.current ? { ...this.current } : null;
  }

  /** Starts polling (the first poll runs now). Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops polling and waits for a poll in progress to finish. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.poll();
    }, ms);
  }

  private poll(): void {
    this.syncOnce().then(
      () => {
        this.failures = 0;
        this.schedule(this.pollIntervalMs);
      },
      (err: unknown) => {
        this.failures++;
        const e = err instanceof Error ? err : new Error(String(err));
        const delay = Math.min(this.pollIntervalMs * 2 ** Math.min(this.failures, 20), this.maxBackoffMs);
        this.logger?.warn({ err: e.message, failures: this.failures, retryInMs: delay }, 'block watcher: poll failed');
        try {
          this.onError?.(e);
        } catch {
          /* a throwing error callback must not stop the watcher */
        }
        this.schedule(delay);
      },
    );
  }

  /**
   * One catch-up pass: brings the tip to the backend's best block (disconnecting stale blocks first).
   * Concurrent calls share the pass in progress. Rejects on failure; the tip stays at the last block
   * fully handled, so the next call resumes there.
   */
  syncOnce(): Promise<SyncResult> {
    if (this.running) return this.running;
    const p = this.sync().finally(() => {
      this.running = null;
    });
    this.running = p;
    return p;
  }

  private async loadTip(): Promise<BlockTip | null> {
    if (this.loaded) return this.current;
    const stored = await this.store.load();
    if (stored) {
      if (!Number.isSafeInteger(stored.height) || stored.height < -1 || typeof stored.hash !== 'string')
        throw new ChainError('INVALID_ARGUMENT', `chain: watcher: stored tip is invalid: ${JSON.stringify(stored)}`);
      this.current = { height: stored.height, hash: stored.hash.toLowerCase() };
    } else if (this.startHeight === undefined) {
      const count = await this.source.getBlockCount();
      const hash = await this.source.getBlockHash(count);
      this.current = { height: count, hash };
      await this.store.save(this.current);
    } else if (this.startHeight === 0) {
      this.current = { height: -1, hash: ZERO_HASH };
    } else {
      const count = await this.source.getBlockCount();
      if (count < this.startHeight - 1) return null; // wait until the chain gets there
      this.current = { height: this.startHeight - 1, hash: await this.source.getBlockHash(this.startHeight - 1) };
      await this.store.save(this.current);
    }
    this.loaded = true;
    return this.current;
  }

  private async sync(): Promise<SyncResult> {
    const result: SyncResult = { connected: 0, disconnected: 0, tip: null };
    const loaded = await this.loadTip();
    if (!loaded) return result;
    let tip: BlockTip = loaded;
    let stalls = 0;
    for (;;) {
      if (++stalls > 20 + this.maxReorgDepth + result.connected)
        throw new ChainError('BAD_RESPONSE', `chain: watcher: backend keeps changing its chain at height ${tip.height}; giving up this poll`);
      const count = await this.source.getBlockCount();
      // Is the tip still on the main chain?
      if (tip.height >= 0) {
        let onChain: string | null = null;
        if (tip.height <= count) {
          try {
            onChain = await this.source.getBlockHash(tip.height);
          } catch (e) {
            if (!isChainError(e, 'NOT_FOUND')) throw e;
          }
        }
        if (onChain !== tip.hash) {
          if (result.disconnected >= this.maxReorgDepth)
            throw new ChainError('BAD_RESPONSE', `chain: watcher: reorg deeper than ${this.maxReorgDepth} blocks at height ${tip.height}; refusing to unwind further`);
          tip = await this.disconnectTip(tip);
          result.disconnected++;
          continue;
        }
      }
      if (tip.height >= count) break;
      let extended = true;
      while (tip.height < count) {
        const height: number = tip.height + 1;
        let hash: string;
        try {
          hash = await this.source.getBlockHash(height);
        } catch (e) {
          if (isChainError(e, 'NOT_FOUND')) {
            extended = false; // the chain got shorter under us
            break;
          }
          throw e;
        }
        const raw = await this.source.getRawBlock(hash);
        const block = parseBlock(raw);
        if (block.hash !== hash)
          throw new ChainError('BAD_RESPONSE', `chain: watcher: block at height ${height} hashes to ${block.hash}, expected ${hash}`);
        if (block.header.prevHash !== tip.hash) {
          extended = false; // a reorg happened between our calls: re-verify the tip
          break;
        }
        await this.listener.connect({ height, hash, block, raw });
        const next: BlockTip = { height, hash };
        await this.store.save(next);
        this.current = next;
        this.remember(height, hash, block.header.prevHash);
        tip = next;
        result.connected++;
      }
      if (extended) {
        // Blocks may have arrived while we were connecting; one more round checks (and is cheap).
        const again = await this.source.getBlockCount();
        if (again === tip.height) break;
      }
    }
    result.tip = { ...tip };
    return result;
  }

  private remember(height: number, hash: string, prevHash: string): void {
    this.recent.set(height, [hash, prevHash]);
    this.recent.delete(height - RECENT_HEADERS);
  }

  private async disconnectTip(tip: BlockTip): Promise<BlockTip> {
    let prevHash: string;
    const known = this.recent.get(tip.height);
    if (known && known[0] === tip.hash) prevHash = known[1];
    else {
      const header = parseBlockHeader(await this.source.getRawBlockHeader(tip.hash));
      if (header.hash !== tip.hash)
        throw new ChainError('BAD_RESPONSE', `chain: watcher: header of ${tip.hash} hashes to ${header.hash}`);
      prevHash = header.prevHash;
    }
    this.logger?.warn({ height: tip.height, hash: tip.hash }, 'block watcher: disconnecting block (reorg)');
    await this.listener.disconnect({ ...tip });
    const parent = { height: tip.height - 1, hash: prevHash };
    await this.store.save(parent);
    this.current = parent;
    this.recent.delete(tip.height);
    return parent;
  }
}
