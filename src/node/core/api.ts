import type { ChainSource } from '../../chain/chain-source.js';
import type { ChannelManager } from '../../channel/manager.js';
import type { HtlcIntake } from '../../payment/intake.js';
import type { InvoiceBook } from '../../invoice/book.js';
import type { PaymentSender } from '../../payment/send.js';
import type { ForwardRepository } from '../../store/forwards.js';
import type { PeerManager } from '../../peer/manager.js';
import type { ChannelRepository } from '../../store/channels.js';
import type { PeerRepository } from '../../store/peers.js';
import type { WalletCore } from '../../wallet/wallet.js';
import type { WtClientCore } from '../../watchtower/client/api.js';
import type { TowerInfo } from '../../watchtower/server/server.js';
import type { LogBook } from '../log-book.js';
import { CoreError } from './errors.js';
import type { RpcObserver, SettingsCore } from './settings.js';
import type { ChannelGraph } from '../../gossip/graph.js';
import type { PolicyCore } from './policy.js';

/**
 * What every API shell (CLN JSON-RPC, LND gRPC/REST, and anode-cli through JSON-RPC) may use of the
 * node: a narrow view, so a method is a thin translation of its protocol onto the small domain
 * functions in this folder, and two shells asked the same question give the same answer.
 */
export interface NodeCore {
  readonly nodeId: Buffer;
  readonly peers: PeerManager;
  /** Peers we have talked to (persisted init features, last addresses). */
  readonly peerStore: PeerRepository;
  readonly channels: ChannelRepository;
  readonly config: NodeCoreConfig;
  /** The node's watchtower, when `--watchtower.active`; absent: `watchtower not active`. */
  readonly tower?: TowerCore;
  /** The watchtower client, when `--wtclient.active`; absent: `watchtower client not active`. */
  readonly watchtowerClient?: WtClientCore;
  /** The on-chain wallet (`newaddr`, `listfunds`, `withdraw`), when the node has a chain backend. */
  readonly wallet?: WalletCore;
  /** Channels (fundchannel, listpeerchannels, close), when the node has a chain backend. */
  readonly channelManager?: ChannelManager;
  /** The HTLC intake (dev-failhtlc's encrypted failures), when the node has channels. */
  readonly htlcs?: HtlcIntake;
  /** The invoice book (invoice, listinvoices, AddInvoice, …; the HTLC intake's lookups). */
  readonly invoices?: InvoiceBook;
  /** Payments we send (pay, keysend, sendpay, SendPaymentV2), when the node has channels. */
  readonly payments?: PaymentSender;
  /** The switch's forwards (listforwards, ForwardingHistory), when the node has channels. */
  readonly forwards?: ForwardRepository;
  /** The channel graph from gossip (listchannels, listnodes), when the node has a chain backend. */
  readonly graph?: ChannelGraph;
  /** The funding outpoint (`txid:vout`) → scid of every channel in the graph (LND's chan_point), when gossip runs. */
  graphOutpoints?(): ReadonlyMap<string, bigint>;
  /** The channel_update payloads peers sent for `scid`, a channel the graph does not have (their side of our private channels: invoice route hints). */
  privateChannelUpdates?(scid: bigint): readonly Buffer[];
  /** Our forwarding policy per channel (setchannel, UpdateChannelPolicy, FeeReport), when the node has channels. */
  readonly policy?: PolicyCore;
  /** The chain backend, asked for its best block (sync status), fee estimates and broadcasts, when the node has one. */
  readonly chain?: Pick<ChainSource, 'getBestBlockHash' | 'getBlockCount' | 'estimateFeeSatPerKw'> & Partial<Pick<ChainSource, 'sendRawTransaction' | 'getRawBlockHeader'>> & {
    /** A raw JSON-RPC call to the backend (bitcoind/btcd), when it speaks JSON-RPC (getinfo's getblockchaininfo). */
    call?(method: string, params?: readonly unknown[], opts?: { retry?: boolean }): Promise<unknown>;
  };
  /** The node's recent log entries (getlog, listpeers' log), when it logs through createLogger. */
  readonly logBook?: LogBook;
  /** The options as set, and the ones that change while running (listconfigs, setconfig). */
  readonly settings?: SettingsCore;
  /** Told of every API call of every shell (metrics), when metrics are on. */
  readonly rpcObserver?: RpcObserver;
  /** The node's log level (LND's DebugLevel), when the shell may read and change it. */
  readonly logLevel?: { get(): string; set(level: string): void };
  /** Clean shutdown of the whole node (the `stop` command). */
  stop(): Promise<void>;
}

/** The tower, as `tower-getinfo` and watchtowerrpc see it. */
export interface TowerCore {
  info(): TowerInfo;
}

export interface NodeCoreConfig {
  /** anode's network name: bitcoin, testnet, testnet4, signet, regtest. */
  network: string;
  /** `<anode-dir>/<network>`: getinfo's `lightning-dir`. */
  dataDir: string;
  /** Configured alias; a default is derived from the node id when absent. */
  alias?: string;
  /** Configured colour, 6 hex digits; default: the node id's first 3 bytes. */
  rgb?: string;
  /** Port `connect` uses when none is given. */
  defaultPort: number;
  /** `v<semver>-anode`: CLN's getinfo shows it as is, LND's GetInfo without the `v`. */
  version: string;
}

/** The node's watchtower client, or LND's refusal (wtclientrpc ErrWtclientNotActive) when it is off. */
export function watchtowerClient(core: NodeCore): WtClientCore {
  if (!core.watchtowerClient) throw new CoreError('NOT_ACTIVE', 'watchtower client not active');
  return core.watchtowerClient;
}

/** The node's tower, or LND's refusal (watchtowerrpc ErrTowerNotActive) when it is off. */
export function tower(core: NodeCore): TowerCore {
  if (!core.tower) throw new CoreError('NOT_ACTIVE', 'watchtower not active');
  return core.tower;
}
