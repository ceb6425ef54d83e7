import type { PeerManager } from '../../peer/manager.js';

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

export type PolicyType = 'LEGACY' | 'ANCHOR' | 'TAPROOT';

export interface TowerAddress {
  host: string;
  port: number;
}

export interface WtSession {
  /** 33-byte session id (the session key). */
  id: Buffer;
  /** Acked updates, rogue ones included. */
  numBackups: number;
  /** Committed, not yet acked. */
  numPendingBackups: number;
  maxBackups: number;
  sweepSatPerVbyte: number;
}

export interface WtSessionInfo {
  policyType: PolicyType;
  activeSessionCandidate: boolean;
  /** Counted even when sessions are not included. */
  numSessions: number;
  /** Empty unless sessions were asked for. */
  sessions: WtSession[];
}

export interface WtTower {
  pubkey: Buffer;
  /** `host:port`, most recent first. */
  addresses: string[];
  /** One entry per client type (LND: four, two of them TAPROOT). */
  sessionInfo: WtSessionInfo[];
}

export interface WtListOptions {
  includeSessions: boolean;
  excludeExhaustedSessions: boolean;
}

export interface WtStats {
  numBackups: number;
  numPendingBackups: number;
  numFailedBackups: number;
  numSessionsAcquired: number;
  numSessionsExhausted: number;
}

export interface WtPolicy {
  maxUpdates: number;
  sweepSatPerVbyte: number;
}

/**
 * The watchtower client, as wtclientrpc sees LND's ClientManager. Keys arrive parsed (33-byte
 * compressed) and addresses resolved; errors thrown carry LND's texts (`tower not found`,
 * `client session not found`, `session has un-acked updates`, `address in use`, …) and go out as
 * gRPC Unknown.
 */
export interface WtClientCore {
  addTower(pubkey: Buffer, address: TowerAddress): Promise<void>;
  /** Without an address: the whole tower; with one: only that address. */
  removeTower(pubkey: Buffer, address?: TowerAddress): Promise<void>;
  deactivateTower(pubkey: Buffer): Promise<void>;
  terminateSession(sessionId: Buffer): Promise<void>;
  listTowers(opts: WtListOptions): Promise<WtTower[]>;
  getTowerInfo(pubkey: Buffer, opts: WtListOptions): Promise<WtTower>;
  stats(): Promise<WtStats>;
  policy(type: PolicyType): Promise<WtPolicy>;
}

/** The tower, as watchtowerrpc sees it. */
export interface TowerCore {
  getInfo(): Promise<{ pubkey: Buffer; listeners: string[]; uris: string[] }>;
}
