/**
 * What the lookout needs of the tower database: the hint look-up over the updates clients uploaded,
 * its scan tip, and the punishments it publishes (migration 0002 of `store/tower.ts`, which implements
 * this interface). Every write resolves only once it is durably committed.
 */
import type { Policy } from '../policy.js';

/** A stored update whose hint matched, with what the lookout needs of its session. */
export interface HintMatch {
  sessionId: Buffer;
  seqNum: number;
  /** 16 bytes: `SHA256(breach txid)[0:16]`. */
  hint: Buffer;
  encryptedBlob: Buffer;
  policy: Policy;
  rewardScript: Buffer;
}

/** How a punishment ended: its justice transaction was mined, or another transaction spent a breach output. */
export type PunishmentOutcome = 'confirmed' | 'conflicted';

/** A justice transaction the lookout built and publishes (one per justice txid). */
export interface PunishmentRecord {
  /** Justice txid, display (RPC) order hex: the key. */
  justiceTxid: string;
  /** The signed justice transaction. */
  justiceTx: Buffer;
  /** Breach txid, display order hex. */
  breachTxid: string;
  /** The session and update whose blob produced it. */
  sessionId: Buffer;
  seqNum: number;
  blobType: number;
  /** Where the breach was first seen. */
  breachHeight: number;
  breachBlockHash: string;
  totalSat: bigint;
  sweepSat: bigint;
  rewardSat: bigint;
  feeSat: bigint;
  createdAt: number;
  publishAttempts: number;
  lastPublishedAt: number | null;
  /** The backend's last refusal, null after a successful publish. */
  lastError: string | null;
  /** null while pending (re-published on every block). */
  outcome: PunishmentOutcome | null;
  resolvedHeight: number | null;
  resolvedBlockHash: string | null;
  /** The transaction that resolved it (the justice tx itself, or the conflicting spend). */
  resolvedByTxid: string | null;
}

export interface PunishmentCounts {
  total: number;
  pending: number;
  confirmed: number;
  conflicted: number;
}

export interface LookoutStore {
  /** Every stored update under any of these 16-byte hints (one query per block; order unspecified). */
  findByHints(hints: readonly Buffer[]): Promise<HintMatch[]>;
  /** The last block the lookout fully handled, or null before its first start. */
  loadLookoutTip(): Promise<{ height: number; hash: string } | null>;
  saveLookoutTip(tip: { height: number; hash: string }): Promise<void>;
  /** Stores a new punishment; false (and nothing written) if one with this justice txid exists. */
  insertPunishment(p: PunishmentRecord): Promise<boolean>;
  getPunishment(justiceTxid: string): Promise<PunishmentRecord | undefined>;
  /** Newest first; `pending` keeps only those without an outcome. */
  listPunishments(opts?: { pending?: boolean; limit?: number }): Promise<PunishmentRecord[]>;
  /** Records a publish attempt (`error` null when the backend accepted it). */
  notePublishAttempt(justiceTxid: string, at: number, error: string | null): Promise<void>;
  resolvePunishment(justiceTxid: string, r: { outcome: PunishmentOutcome; height: number; blockHash: string; byTxid: string }): Promise<void>;
  /** A block left the main chain: punishments it resolved are pending again. Returns how many. */
  unresolvePunishments(blockHash: string): Promise<number>;
  punishmentCounts(): Promise<PunishmentCounts>;
}
