import { nodeInfo } from '../../../node/core/index.js';
import type { MethodDef } from '../method.js';

export const getinfo: MethodDef = {
  name: 'getinfo',
  async run(_params, { core }) {
    const i = await nodeInfo(core);
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
      our_features: i.ourFeatures,
    };
  },
};
