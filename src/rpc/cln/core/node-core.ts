import type { PeerManager } from '../../../peer/manager.js';
import type { ChannelRepository } from '../../../store/channels.js';
import type { PeerRepository } from '../../../store/peers.js';

/**
 * What the API shells (CLN JSON-RPC today, gRPC/REST later) may use of the node: a narrow view, so a
 * method is a thin translation of its protocol onto the small domain functions in this folder.
 */
export interface RpcNodeCore {
  readonly nodeId: Buffer;
  readonly peers: PeerManager;
  /** Peers we have talked to (persisted init features, last addresses). */
  readonly peerStore: PeerRepository;
  readonly channels: ChannelRepository;
  readonly config: RpcNodeConfig;
  /** The node's watchtower, when `--watchtower.active`. */
  readonly tower?: { info(): { pubkey: Buffer; listeners: string[]; uris: string[] } };
  /** The watchtower client, when `--wtclient.active` (the same core the LND shells use). */
  readonly wtclient?: import('../../../watchtower/client/api.js').WtClientCore;
  /** The on-chain wallet (`newaddr`, `listfunds`, `withdraw`), when the node has a chain backend. */
  readonly wallet?: import('../../../wallet/wallet.js').WalletCore;
  /** Channels (fundchannel, listpeerchannels, close), when the node has a chain backend. */
  readonly channelManager?: import('../../../channel/manager.js').ChannelManager;
  /** Clean shutdown of the whole node (the `stop` command). */
  stop(): Promise<void>;
}

export interface RpcNodeConfig {
  network: string;
  /** `<anode-dir>/<network>`: getinfo's `lightning-dir`. */
  dataDir: string;
  /** Configured alias; a default is derived from the node id when absent. */
  alias?: string;
  /** Configured colour, 6 hex digits; default: the node id's first 3 bytes. */
  rgb?: string;
  /** Port `connect` uses when none is given. */
  defaultPort: number;
  /** Reported as getinfo's `version`. */
  version: string;
}

export type CoreErrorKind =
  | 'INVALID'
  | 'BAD_HOST'
  | 'UNKNOWN_PEER'
  | 'NOT_CONNECTED'
  | 'CHANNEL_BLOCKS'
  | 'NO_ADDRESS'
  | 'ALL_FAILED'
  | 'DISCONNECTED_DURING'
  | 'PING_PENDING'
  | 'PING_FAILED'
  | 'SHUTTING_DOWN'
  | 'NOT_ACTIVE';

/** A refusal or failure of a core operation; each shell maps the kind to its own error code. */
export class CoreError extends Error {
  override name = 'CoreError';
  constructor(
    readonly kind: CoreErrorKind,
    message: string,
  ) {
    super(message);
  }
}
