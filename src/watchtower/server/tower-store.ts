/**
 * What the tower server needs of its storage: sessions and their updates. The tower database
 * (`store/tower.ts`) implements it; every write resolves only once it is durably committed, so a reply
 * sent on the strength of a resolved write is never ahead of its commit.
 */
import type { StateUpdateInput, StateUpdateVerdict, TowerSession } from './rules.js';

export type InsertSessionResult = { ok: true } | { ok: false; existing: TowerSession };

export interface TowerStore {
  getSession(id: Buffer): Promise<TowerSession | undefined>;
  /**
   * Stores a new session, or replaces one whose `lastApplied` is still 0 (LND re-processes such a
   * CreateSession). Refuses, returning the stored session, if it already has updates.
   */
  insertSession(session: TowerSession): Promise<InsertSessionResult>;
  /** LND's `InsertStateUpdate`: the checks of `checkStateUpdate`, and on OK the write. */
  applyStateUpdate(sessionId: Buffer, update: StateUpdateInput): Promise<StateUpdateVerdict>;
  /** Removes the session and all its updates; false if there was no such session. */
  deleteSession(id: Buffer): Promise<boolean>;
}
