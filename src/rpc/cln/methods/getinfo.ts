import { nodeInfo, type NodeCore } from '../../../node/core/index.js';
import type { MethodDef } from '../method.js';

/**
 * Whether the backend itself is still catching up with the network (lightningd's bcli: its
 * getblockchaininfo says initialblockdownload, or it has more headers than blocks). Unknown (false) when
 * the backend does not answer; asked once, without retries (no warnings for a getinfo).
 */
async function backendBehind(core: NodeCore): Promise<boolean> {
  const r = (await core.chain?.call?.('getblockchaininfo', [], { retry: false }).catch(() => undefined)) as { initialblockdownload?: unknown; headers?: unknown; blocks?: unknown } | undefined;
  if (!r || typeof r !== 'object') return false;
  return r.initialblockdownload === true || (typeof r.headers === 'number' && typeof r.blocks === 'number' && r.headers > r.blocks);
}

export const getinfo: MethodDef = {
  name: 'getinfo',
  async run(_params, { core }) {
    const [i, behind] = await Promise.all([nodeInfo(core), backendBehind(core)]);
    return {
      id: i.id,
      alias: i.alias,
      color: i.color,
      num_peers: i.numPeers,
      num_pending_channels: i.numPendingChannels,
      num_active_channels: i.numActiveChannels,
      num_inactive_channels: i.numInactiveChannels,
      address: i.address,
      ...(i.binding ? { binding: i.binding } : {}),
      version: i.version,
      blockheight: i.blockheight,
      network: i.network,
      fees_collected_msat: i.feesCollectedMsat,
      'lightning-dir': i.lightningDir,
      // lightningd shows one of the two: the backend behind the network, else the node behind the backend.
      ...(behind
        ? { warning_bitcoind_sync: 'Bitcoind is not up-to-date with network.' }
        : i.chain.backendHeight !== undefined && !i.chain.syncedToChain
          ? { warning_lightningd_sync: 'Still loading latest blocks from bitcoind.' }
          : {}),
      our_features: i.ourFeatures,
    };
  },
};
