import type { PeerManager } from '../../peer/manager.js';
import type { WtClientCore } from '../../watchtower/client/api.js';

/**
 * What the LND-compatible RPC needs from the node: narrow, so the same domain cores serve JSON-RPC,
 * gRPC, REST and the CLI (as LND's sub-servers know only their manager interfaces).
 */
export interface LndRpcCore {
  nodeId: Buffer;
  /** anode's network name: bitcoin, testnet, testnet4, signet, regtest. */
  network: string;
  peers: PeerManager;
  /** Shown as GetInfo.version. */
  version: string;
  alias?: string;
  /** `#rrggbb`. */
  color?: string;
  /** Absent while the watchtower client is off or not built yet: `watchtower client not active`. */
  watchtowerClient?: WtClientCore;
  /** Absent while the tower is off: `watchtower not active`. */
  tower?: TowerCore;
}

/** The tower, as watchtowerrpc sees it. */
export interface TowerCore {
  getInfo(): Promise<{ pubkey: Buffer; listeners: string[]; uris: string[] }>;
}
