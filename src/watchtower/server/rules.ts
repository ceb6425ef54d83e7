/**
 * The tower's decisions, as pure functions (LND `watchtower/wtdb/session_info.go`, `tower_db.go`,
 * `wtserver/create_session.go`; spec §1.5, §1.7, §1.8). Every store implementation applies them inside
 * its write transaction, so the check and the write see the same state.
 */
import { blobSize, isSupportedBlobType } from '../blob/type.js';
import { validatePolicy, type Policy } from '../policy.js';
import { WtErrorCode } from '../wire/codes.js';

/** What the tower keeps per session (LND `SessionInfo`). */
export interface TowerSession {
  /** The client's 33-byte session key: its brontide static key. */
  id: Buffer;
  policy: Policy;
  /** Highest sequence number accepted. */
  lastApplied: number;
  /** Highest `last_applied` the client echoed. */
  clientLastApplied: number;
  /** Reward pkScript handed out at creation (empty for altruist sessions). */
  rewardScript: Buffer;
  /** Unix time, milliseconds. */
  createdAt: number;
}

export interface StateUpdateInput {
  seqNum: number;
  /** The client's echo of the tower's last_applied. */
  lastApplied: number;
  hint: Buffer;
  encryptedBlob: Buffer;
}

export type StateUpdateVerdict =
  /** Store the update; the session moves to `lastApplied = seqNum`, `clientLastApplied = echo`. */
  | { code: 0; lastApplied: number; clientLastApplied: number }
  /** Refuse; `lastApplied` is the session's current value (0 without a session), as LND's tests expect. */
  | { code: number; lastApplied: number };

/**
 * LND's `InsertStateUpdate` checks, in LND's order: (1) session exists → 50; (2) blob size for the
 * session's blob type → 40; (3) `seq ≤ echo` → 50; (4) `echo < ClientLastApplied` → 70;
 * (5) `seq > MaxUpdates` → 71; (6) `seq ∉ {LastApplied, LastApplied+1}` → 72; else accept. Rule 6 accepts
 * `seq == LastApplied`: a client re-sending the update whose ack it never received.
 */
export function checkStateUpdate(session: TowerSession | undefined, u: StateUpdateInput): StateUpdateVerdict {
  if (!session) return { code: WtErrorCode.PermanentFailure, lastApplied: 0 };
  const la = session.lastApplied;
  if (u.encryptedBlob.length !== blobSize(session.policy.blobType)) return { code: WtErrorCode.TemporaryFailure, lastApplied: la };
  if (u.seqNum <= u.lastApplied) return { code: WtErrorCode.PermanentFailure, lastApplied: la };
  if (u.lastApplied < session.clientLastApplied) return { code: WtErrorCode.StateUpdateClientBehind, lastApplied: la };
  if (u.seqNum > session.policy.maxUpdates) return { code: WtErrorCode.StateUpdateMaxUpdatesExceeded, lastApplied: la };
  if (u.seqNum !== la && u.seqNum !== la + 1) return { code: WtErrorCode.StateUpdateSeqNumOutOfOrder, lastApplied: la };
  return { code: WtErrorCode.OK, lastApplied: u.seqNum, clientLastApplied: u.lastApplied };
}

export type CreateSessionVerdict =
  /** Answer now with this code (and, for AlreadyExists, the stored last_applied and reward script). */
  | { kind: 'reply'; code: number; lastApplied: number; data: Buffer }
  /** Store (or re-store, while LastApplied is 0) the session, then answer OK. */
  | { kind: 'create'; needsRewardScript: boolean };

/**
 * LND's `handleCreateSession` order: an existing session with `LastApplied > 0` → 60 with its
 * last_applied and reward script (with `LastApplied == 0` the request is processed again, policy may
 * change); unsupported blob type → 64; reward type while rewards are disabled → 64; `Policy.Validate`
 * failure → 40; else create.
 */
export function checkCreateSession(existing: TowerSession | undefined, policy: Policy, rewardsEnabled: boolean): CreateSessionVerdict {
  if (existing && existing.lastApplied > 0) {
    return { kind: 'reply', code: WtErrorCode.CreateSessionAlreadyExists, lastApplied: existing.lastApplied, data: existing.rewardScript };
  }
  const reply = (code: number): CreateSessionVerdict => ({ kind: 'reply', code, lastApplied: 0, data: Buffer.alloc(0) });
  if (!isSupportedBlobType(policy.blobType)) return reply(WtErrorCode.CreateSessionRejectBlobType);
  const reward = (policy.blobType & 0x01) === 0x01;
  if (reward && !rewardsEnabled) return reply(WtErrorCode.CreateSessionRejectBlobType);
  try {
    validatePolicy(policy);
  } catch {
    return reply(WtErrorCode.TemporaryFailure);
  }
  return { kind: 'create', needsRewardScript: reward };
}
