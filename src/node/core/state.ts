import type { NodeCore } from './api.js';
import { chainStatus } from './chain.js';

/**
 * The node's readiness as tools that wait for it ask (LND's lnrpc.State): the API answers from the
 * moment it listens (everything else is started by then), and the node is fully up once the wallet and
 * the channels have caught up with the backend's best block. Once up, it stays up: a backend that
 * falls behind later is GetInfo's `synced_to_chain`, not a restart.
 */
export type NodeState = 'RPC_ACTIVE' | 'SERVER_ACTIVE';

const reachedUp = new WeakSet<NodeCore>();

export async function nodeState(core: NodeCore): Promise<NodeState> {
  if (reachedUp.has(core)) return 'SERVER_ACTIVE';
  const s = await chainStatus(core);
  if (s.syncedToChain && s.walletSynced) {
    reachedUp.add(core);
    return 'SERVER_ACTIVE';
  }
  return 'RPC_ACTIVE';
}

/**
 * Calls `onState` with the state now and on each change (checked every `intervalMs`) until the returned
 * stop; ends by itself once SERVER_ACTIVE has been reported, as nothing changes after.
 */
export function watchNodeState(core: NodeCore, onState: (s: NodeState) => void, intervalMs = 500): () => void {
  let last: NodeState | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    const s = await nodeState(core).catch(() => last ?? 'RPC_ACTIVE');
    if (stopped) return;
    if (s !== last) {
      last = s;
      onState(s);
    }
    if (s !== 'SERVER_ACTIVE') timer = setTimeout(() => void tick(), intervalMs);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
