import { channelStateGroup } from '../../store/channels.js';
import { addressJson } from './address.js';
import type { NodeCore } from './api.js';
import { chainStatus, type ChainStatus } from './chain.js';
import { countPeers } from './peers.js';

export interface NodeInfo {
  id: string;
  alias: string;
  color: string;
  /** The peer table (CLN's num_peers). */
  numPeers: number;
  /** Peers connected now (LND's num_peers). */
  numConnectedPeers: number;
  numPendingChannels: number;
  numActiveChannels: number;
  numInactiveChannels: number;
  /** Addresses we announce (none yet: no gossip). */
  address: ReturnType<typeof addressJson>[];
  /** Where we listen; undefined when not listening. */
  binding: ReturnType<typeof addressJson>[] | undefined;
  version: string;
  blockheight: number;
  /** The chain position behind `blockheight`: hash, backend height, sync flags. */
  chain: ChainStatus;
  network: string;
  feesCollectedMsat: number;
  lightningDir: string;
  ourFeatures: { init: string; node: string; channel: string; invoice: string };
}

export interface ChannelCounts {
  pending: number;
  active: number;
  inactive: number;
}

/** CLN's channel counts: the stored channels by their state's group (getinfo). */
export async function storedChannelCounts(core: NodeCore): Promise<ChannelCounts> {
  const n: ChannelCounts = { pending: 0, active: 0, inactive: 0 };
  for (const c of await core.channels.list()) n[channelStateGroup(c.state)]++;
  return n;
}

/** The node's identity, peers, channels counted by `countChannels` (once), and chain position. */
export async function nodeInfo(core: NodeCore, countChannels: (core: NodeCore) => Promise<ChannelCounts> = storedChannelCounts): Promise<NodeInfo> {
  const id = core.nodeId.toString('hex');
  const { pending, active, inactive } = await countChannels(core);
  const bound = core.peers.bound;
  const features = core.peers.features.toHex();
  const chain = await chainStatus(core);
  return {
    id,
    alias: core.config.alias ?? defaultAlias(core.nodeId),
    color: core.config.rgb ?? id.slice(0, 6),
    numPeers: await countPeers(core),
    numConnectedPeers: core.peers.list().length,
    numPendingChannels: pending,
    numActiveChannels: active,
    numInactiveChannels: inactive,
    address: [],
    binding: bound.length ? bound.map(addressJson) : undefined,
    version: core.config.version,
    blockheight: chain.blockheight,
    chain,
    network: core.config.network,
    feesCollectedMsat: 0,
    lightningDir: core.config.dataDir,
    ourFeatures: { init: features, node: features, channel: '', invoice: '' },
  };
}

const ADJECTIVES = [
  'AMBER', 'BOLD', 'BRAVE', 'BRISK', 'CALM', 'CLEVER', 'COSMIC', 'CRIMSON', 'DARING', 'EAGER', 'FLUFFY', 'GENTLE', 'GOLDEN',
  'HAPPY', 'HIDDEN', 'JOLLY', 'KEEN', 'LIVELY', 'LUCKY', 'MELLOW', 'MIGHTY', 'NIMBLE', 'NOBLE', 'PLUCKY', 'QUIET', 'RAPID',
  'SILENT', 'SNOWY', 'SPRY', 'SUNNY', 'SWIFT', 'VIVID',
];
const NOUNS = [
  'ANCHOR', 'ARROW', 'BADGER', 'BEACON', 'BRIDGE', 'CANYON', 'COMET', 'CRANE', 'DELTA', 'EMBER', 'FALCON', 'FJORD', 'GLACIER',
  'HARBOR', 'HERON', 'ISLAND', 'LANTERN', 'MAPLE', 'MEADOW', 'NEBULA', 'OTTER', 'PEBBLE', 'PRISM', 'QUARTZ', 'RAVEN', 'RIVER',
  'SPARK', 'SUMMIT', 'THUNDER', 'TIDE', 'VALLEY', 'WILLOW',
];

/** A stable ADJECTIVE+NOUN alias derived from the node id, as lightningd does when none is set. */
export function defaultAlias(nodeId: Buffer): string {
  return `${ADJECTIVES[nodeId[1]! % ADJECTIVES.length]}${NOUNS[nodeId[2]! % NOUNS.length]}`;
}
