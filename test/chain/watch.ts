/**
 * One subscription on its own notifier, with the start/stop/syncOnce/tip surface the chain tests drive
 * (what a single consumer built without the node's notifier gets).
 */
import { ChainNotifier, type BlockListener, type ChainNotifierOptions, type SubscriptionOptions, type SyncResult, type TipStore } from '../../src/chain/notifier.js';
import type { BlockTip, ChainSource } from '../../src/chain/chain-source.js';

export interface Watch {
  readonly tip: BlockTip | null;
  start(): void;
  stop(): Promise<void>;
  syncOnce(): Promise<SyncResult>;
}

export function watch(source: ChainSource, store: TipStore, listener: BlockListener, opts: SubscriptionOptions & ChainNotifierOptions = {}): Watch {
  const notifier = new ChainNotifier(source, opts);
  const sub = notifier.subscribe(store, listener, opts);
  return {
    get tip() {
      return sub.tip;
    },
    start: () => notifier.start(),
    stop: () => notifier.stop(),
    syncOnce: () => sub.syncOnce(),
  };
}
