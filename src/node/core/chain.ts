import type { NodeCore } from './api.js';

/** Where the node stands on the chain, as getinfo (CLN) and GetInfo (LND) report it. */
export interface ChainStatus {
  /** Height of the best block the channels have processed (0 before the first). */
  blockheight: number;
  /** Its hash; undefined before the first block. */
  blockHash: string | undefined;
  /** The backend's best height, when it answered now. */
  backendHeight: number | undefined;
  /** The channels have processed the backend's best block (false when the backend is unreachable). */
  syncedToChain: boolean;
  /** The wallet has scanned up to the backend's best block (false when the backend is unreachable). */
  walletSynced: boolean;
}

/**
 * The node's chain position against the backend's. The backend is asked each time (one getbestblockhash
 * and one getblockcount): a node that cannot reach its backend must not call itself synced.
 */
export async function chainStatus(core: NodeCore): Promise<ChainStatus> {
  const tip = core.channelManager?.tip ?? null;
  const walletTip = core.wallet?.tip ?? null;
  let backend: { height: number; hash: string } | undefined;
  if (core.chain) {
    try {
      const [hash, height] = await Promise.all([core.chain.getBestBlockHash(), core.chain.getBlockCount()]);
      backend = { hash, height };
    } catch {
      backend = undefined;
    }
  }
  return {
    blockheight: tip?.height ?? 0,
    blockHash: tip?.hash,
    backendHeight: backend?.height,
    syncedToChain: backend !== undefined && tip !== null && tip.hash === backend.hash,
    walletSynced: backend !== undefined && walletTip !== null && walletTip.hash === backend.hash,
  };
}
