/**
 * The watchtower client as the API shells see it (as LND's wtclientrpc knows only its ClientManager
 * interface): CLN JSON-RPC, LND gRPC/REST and anode-cli all drive the client through
 * {@link WtClientCore}, which {@link WatchtowerClient} implements.
 */

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
  /**
   * `active` (takes backups), `exhausted` (every slot used and acknowledged) or `terminal` (terminated,
   * or its tower removed): neither of the last two takes backups again. Both are deleted at their tower
   * once no open channel has backups in them, {@link WtSession.deleteHeight} on.
   */
  status: WtSessionStatus;
  /** The height from which the session is deleted at its tower (and here), once it is scheduled. */
  deleteHeight?: number;
}

export type WtSessionStatus = 'active' | 'exhausted' | 'terminal';

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
 * The client's management surface. Keys arrive parsed (33-byte compressed) and addresses resolved;
 * errors thrown carry LND's texts (`tower not found`, `client session not found`, `session has
 * un-acked updates`, `address in use`, …), which every shell passes on unchanged.
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
