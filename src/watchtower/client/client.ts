/**
 * The watchtower client (LND `watchtower/wtclient`; spec §1.6–§1.7, §2, §4): towers, sessions, the
 * durable backup queue, and LND's management semantics.
 *
 * One {@link TypeClient} per commitment type (§2.3), each with its own policy, sessions and a serial
 * worker; they share the towers and the database. As LND's dispatcher, each keeps one usable session
 * ready: whenever it has none (a tower added, start-up, exhaustion, termination) it negotiates one in the
 * background, without waiting for a backup to need it (key index reserved durably first, backoff as for
 * any negotiation). The database is the only state that matters: the
 * workers keep nothing a restart would miss, so every path (crash, restart, RemoveTower,
 * TerminateSession) resumes from what is committed.
 *
 * A revoked state travels: `backupState` (queued durably, returns) → bound to a session with the next
 * sequence number, its hint and ciphertext committed (before the first send) → sent, identical bytes on
 * every retry → the tower's OK applied with LND's checks in one transaction (state deleted).
 */
import type { Logger } from 'pino';
import type { PolicyType, TowerAddress, WtClientCore, WtListOptions, WtPolicy, WtSession, WtSessionInfo, WtStats, WtTower } from './api.js';
import { KeyFamily } from '../../crypto/keychain.js';
import { perKwFromPerVbyte } from '../../bitcoin/weight.js';
import type { StaticKey } from '../../transport/noise.js';
import {
  isExhausted,
  SESSION_TERMINAL,
  TOWER_ACTIVE,
  TOWER_INACTIVE,
  type SessionRow,
  type TowerRow,
  type WtClientRepository,
} from '../../store/wtclient.js';
import type { CommitmentType } from '../blob/type.js';
import { MIN_SWEEP_FEE_RATE_SAT_PER_KW, sweepSatPerVbyte, txPolicyEqual, validatePolicy } from '../policy.js';
import { WtErrorCode, errorCodeName } from '../wire/codes.js';
import { CLIENT_BASE_FEATURES } from '../wire/features.js';
import { formatAddr, parseHostPort, type TowerAddr } from './address.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffConfig } from './backoff.js';
import { encodeBreachData, validateBreachData, type BreachData } from './breach.js';
import { TowerConn } from './conn.js';
import { WtClientError } from './errors.js';
import { TypeClient, type TypeClientHost } from './type-client.js';

export const ERR_TOWER_NOT_FOUND = 'tower not found';
export const ERR_SESSION_NOT_FOUND = 'client session not found';
export const ERR_UNACKED_UPDATES = 'session has un-acked updates';
export const ERR_ADDRESS_IN_USE = 'address in use';
export const ERR_LAST_ADDRESS = 'cannot remove last tower address';

/** The client types, in LND's order, with the RPC policy type each reports as. */
export const CLIENT_TYPES: readonly { commitment: CommitmentType; policyType: PolicyType }[] = [
  { commitment: 'legacy', policyType: 'LEGACY' },
  { commitment: 'anchor', policyType: 'ANCHOR' },
  { commitment: 'taproot', policyType: 'TAPROOT' },
  { commitment: 'taproot-final', policyType: 'TAPROOT' },
];

export interface SessionKeySource {
  derive(family: number, index: number): { privateKey: Buffer; publicKey: Buffer };
}

export interface WatchtowerClientOptions {
  store: WtClientRepository;
  /** Session keys: family 8 (`KeyChain`). */
  keychain: SessionKeySource;
  /** Genesis hash, internal byte order (the wtwire chain_hash). */
  chainHash: Buffer;
  log: Logger;
  /** `--wtclient.sweep-fee-rate`, sat/vB (default 10 = 2500 sat/kW). */
  sweepFeeRateSatPerVbyte?: number;
  /** `--wtclient.max-updates` (default 1024). */
  maxUpdates?: number;
  /** `--wtclient.session-close-range`, blocks (default 288; 1 = no delay). */
  sessionCloseRange?: number;
  /** Which client types run (default all four). */
  commitmentTypes?: readonly CommitmentType[];
  /** Retry delays per tower and for negotiation (default 10 s doubling to 5 min). */
  backoff?: BackoffConfig;
  /** Read/write/dial deadline per message (default 15 s). */
  timeoutMs?: number;
  /** States signed and committed per transaction (default 64). */
  batchSize?: number;
  now?: () => number;
  /** Uniform in [0, 1): the deletion delay (tests make it deterministic). */
  random?: () => number;
}

export { WtClientError } from './errors.js';

function hex(b: Buffer): string {
  return b.toString('hex');
}

/** A one-slot mutex for management operations. */
class Lock {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.#tail.then(fn, fn);
    this.#tail = r.catch(() => undefined);
    return r;
  }
}


interface DeletionItem {
  id: Buffer;
  deleteHeight: number;
}

/** The client manager: implements the RPC core and the channel layer's `backupState`. */
export class WatchtowerClient implements WtClientCore, TypeClientHost {
  readonly store: WtClientRepository;
  readonly log: Logger;
  readonly chainHash: Buffer;
  readonly backoffConfig: BackoffConfig;
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly sessionCloseRange: number;
  readonly now: () => number;
  readonly #random: () => number;
  readonly #keychain: SessionKeySource;
  readonly #clients = new Map<CommitmentType, TypeClient>();
  readonly #towerBackoff = new Map<number, Backoff>();
  readonly #keys = new Map<number, StaticKey>();
  /** `towerId|host:port` → negotiations using it (LND's address lock). */
  readonly addressesInUse = new Map<string, number>();
  readonly #lock = new Lock();
  #deletions: DeletionItem[] = [];
  #height = 0;
  #started = false;

  constructor(opts: WatchtowerClientOptions) {
    this.store = opts.store;
    this.log = opts.log;
    this.chainHash = opts.chainHash;
    this.#keychain = opts.keychain;
    this.backoffConfig = opts.backoff ?? DEFAULT_BACKOFF;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.batchSize = opts.batchSize ?? 64;
    this.now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.sessionCloseRange = opts.sessionCloseRange ?? 288;
    if (!Number.isInteger(this.sessionCloseRange) || this.sessionCloseRange < 1) throw new WtClientError('wtclient: session-close-range must be at least 1');
    const satPerVbyte = opts.sweepFeeRateSatPerVbyte ?? 10;
    if (!Number.isInteger(satPerVbyte) || satPerVbyte <= 0) throw new WtClientError('wtclient: sweep-fee-rate must be a positive integer (sat/vB)');
    const sweepFeeRateSatPerKw = BigInt(perKwFromPerVbyte(satPerVbyte));
    if (sweepFeeRateSatPerKw < MIN_SWEEP_FEE_RATE_SAT_PER_KW) throw new WtClientError(`wtclient: sweep-fee-rate ${satPerVbyte} sat/vB is below the minimum of 4 sat/vB`);
    const maxUpdates = opts.maxUpdates ?? 1024;
    if (!Number.isInteger(maxUpdates) || maxUpdates < 1 || maxUpdates > 0xffff) throw new WtClientError('wtclient: max-updates must be 1 to 65535');
    const base = { maxUpdates, rewardBase: 0, rewardRate: 0, sweepFeeRateSatPerKw };
    const types = opts.commitmentTypes ?? CLIENT_TYPES.map((t) => t.commitment);
    for (const t of CLIENT_TYPES) {
      if (!types.includes(t.commitment)) continue;
      const c = new TypeClient(t.commitment, t.policyType, base, this);
      validatePolicy(c.policy);
      this.#clients.set(t.commitment, c);
    }
  }

  sessionKey(index: number): StaticKey {
    let k = this.#keys.get(index);
    if (!k) {
      const kp = this.#keychain.derive(KeyFamily.TOWER_SESSION, index);
      k = { privateKey: kp.privateKey, publicKey: kp.publicKey };
      this.#keys.set(index, k);
    }
    return k;
  }

  towerBackoff(towerId: number): Backoff {
    let b = this.#towerBackoff.get(towerId);
    if (!b) {
      b = new Backoff(this.backoffConfig);
      this.#towerBackoff.set(towerId, b);
    }
    return b;
  }

  /** Loads what start-up needs (nothing per session) and starts the workers. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const c of this.#clients.values()) c.counters.received += await this.store.countPending(c.blobType);
    for (const s of await this.store.closableSessions()) this.#scheduleDeletion(s.id, s.height);
    for (const c of this.#clients.values()) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.stop()));
  }

  #client(commitment: CommitmentType): TypeClient {
    const c = this.#clients.get(commitment);
    if (!c) throw new WtClientError(`wtclient: no client for ${commitment} channels`);
    return c;
  }

  #wakeAll(): void {
    for (const c of this.#clients.values()) c.wake();
  }

  /**
   * Queues a revoked state for backup. Resolves once the state is committed to the database: from then
   * on it survives a crash at any moment and is sent until a tower acks it. Resolves false (nothing
   * written) for a height at or below the channel's highest one already queued.
   */
  async backupState(channelId: Buffer, commitHeight: number, breach: BreachData): Promise<boolean> {
    if (channelId.length !== 32) throw new WtClientError('wtclient: channel id must be 32 bytes');
    if (!Number.isSafeInteger(commitHeight) || commitHeight < 0) throw new WtClientError('wtclient: bad commit height');
    validateBreachData(breach);
    const c = this.#client(breach.commitment);
    const added = await this.store.addBackup(c.blobType, channelId, commitHeight, encodeBreachData(breach), this.now());
    if (added) {
      c.counters.received++;
      c.wake();
    }
    return added;
  }

  // ---- Management (§2.6) ----------------------------------------------------------------------------

  addTower(pubkey: Buffer, address: TowerAddress): Promise<void> {
    return this.#lock.run(async () => {
      await this.store.addTower(pubkey, formatAddr(address as TowerAddr), this.now());
      const t = await this.store.getTowerByPubkey(pubkey);
      if (t) this.towerBackoff(t.id).succeed();
      // Each client type lacking a usable session negotiates one now, in the background (§2.3).
      for (const c of this.#clients.values()) c.resetNegotiation();
      this.#wakeAll();
    });
  }

  removeTower(pubkey: Buffer, address?: TowerAddress): Promise<void> {
    return this.#lock.run(async () => {
      const t = await this.store.getTowerByPubkey(pubkey);
      if (!t) throw new WtClientError(ERR_TOWER_NOT_FOUND);
      if (address) {
        const a = formatAddr(address as TowerAddr);
        if (this.addressesInUse.has(`${t.id}|${a}`)) throw new WtClientError(ERR_ADDRESS_IN_USE);
        try {
          await this.store.removeTowerAddress(t.id, a);
        } catch (err) {
          throw new WtClientError((err as Error).message);
        }
        return;
      }
      const sessions = await this.store.listSessions({ towerId: t.id });
      for (const c of this.#clients.values()) c.abortSessions(sessions.map((s) => s.id));
      const n = await this.store.removeTower(t.id);
      this.#towerBackoff.delete(t.id);
      for (const c of this.#clients.values()) {
        c.counters.received += sessions.filter((s) => s.blobType === c.blobType).reduce((a, s) => a + s.numCommitted, 0);
      }
      this.log.info({ tower: hex(pubkey), requeued: n }, 'wtclient: tower removed');
      this.#wakeAll();
    });
  }

  deactivateTower(pubkey: Buffer): Promise<void> {
    return this.#lock.run(async () => {
      const t = await this.store.getTowerByPubkey(pubkey);
      if (!t) throw new WtClientError(ERR_TOWER_NOT_FOUND);
      const sessions = await this.store.listSessions({ towerId: t.id });
      for (const c of this.#clients.values()) c.abortSessions(sessions.map((s) => s.id));
      await this.store.setTowerStatus(t.id, TOWER_INACTIVE);
      this.#wakeAll();
    });
  }

  terminateSession(sessionId: Buffer): Promise<void> {
    return this.#lock.run(async () => {
      const s = await this.store.getSession(sessionId);
      if (!s) throw new WtClientError(ERR_SESSION_NOT_FOUND);
      if (s.status === SESSION_TERMINAL) return;
      const t = await this.store.getTower(s.towerId);
      // LND: the committed updates are re-queued by the session's running queue; a session whose tower is
      // not active has no running queue, and termination is refused while it holds un-acked updates.
      const requeue = t?.status === TOWER_ACTIVE;
      for (const c of this.#clients.values()) c.abortSessions([sessionId]);
      try {
        await this.store.terminateSession(sessionId, requeue);
      } catch (err) {
        throw new WtClientError((err as Error).message);
      }
      const c = [...this.#clients.values()].find((x) => x.blobType === s.blobType);
      if (c && requeue) c.counters.received += s.numCommitted;
      this.log.info({ session: hex(sessionId), requeued: requeue ? s.numCommitted : 0 }, 'wtclient: session terminated');
      this.#wakeAll();
    });
  }

  async listTowers(opts: WtListOptions): Promise<WtTower[]> {
    const towers = await this.store.listTowers();
    const sessions = await this.store.listSessions();
    return towers.map((t) => this.#marshal(t, sessions.filter((s) => s.towerId === t.id), opts));
  }

  async getTowerInfo(pubkey: Buffer, opts: WtListOptions): Promise<WtTower> {
    const t = await this.store.getTowerByPubkey(pubkey);
    if (!t) throw new WtClientError(ERR_TOWER_NOT_FOUND);
    return this.#marshal(t, await this.store.listSessions({ towerId: t.id }), opts);
  }

  #marshal(t: TowerRow, sessions: SessionRow[], opts: WtListOptions): WtTower {
    const sessionInfo: WtSessionInfo[] = [];
    for (const c of this.#clients.values()) {
      const mine = sessions.filter((s) => txPolicyEqual(s, c.policy) && !(opts.excludeExhaustedSessions && isExhausted(s)));
      sessionInfo.push({
        policyType: c.policyType,
        activeSessionCandidate: t.status === TOWER_ACTIVE,
        numSessions: mine.length,
        sessions: opts.includeSessions ? mine.map((s) => this.#session(s)) : [],
      });
    }
    return { pubkey: t.pubkey, addresses: t.addresses, sessionInfo };
  }

  #session(s: SessionRow): WtSession {
    const status = s.status === SESSION_TERMINAL ? 'terminal' : isExhausted(s) ? 'exhausted' : 'active';
    const deleteHeight = this.#deletions.find((d) => d.id.equals(s.id))?.deleteHeight;
    return { id: s.id, numBackups: s.numAcked, numPendingBackups: s.numCommitted, maxBackups: s.maxUpdates, sweepSatPerVbyte: sweepSatPerVbyte(s), status, ...(deleteHeight !== undefined ? { deleteHeight } : {}) };
  }

  async stats(): Promise<WtStats> {
    const out: WtStats = { numBackups: 0, numPendingBackups: 0, numFailedBackups: 0, numSessionsAcquired: 0, numSessionsExhausted: 0 };
    for (const c of this.#clients.values()) {
      out.numBackups += c.counters.accepted;
      out.numPendingBackups += Math.max(0, c.counters.received - c.counters.accepted - c.counters.failed);
      out.numFailedBackups += c.counters.failed;
      out.numSessionsAcquired += c.counters.acquired;
      out.numSessionsExhausted += c.counters.exhausted;
    }
    return out;
  }

  async policy(type: PolicyType): Promise<WtPolicy> {
    const commitment = ({ LEGACY: 'legacy', ANCHOR: 'anchor', TAPROOT: 'taproot' } as const)[type];
    const c = commitment && this.#clients.get(commitment);
    if (!c) throw new WtClientError(`unknown policy type: ${String(type)}`);
    return { maxUpdates: c.policy.maxUpdates, sweepSatPerVbyte: sweepSatPerVbyte(c.policy) };
  }

  // ---- Session clean-up (§2.5) -----------------------------------------------------------------------

  /** The channel closed at `height`: sessions it leaves closable are scheduled for deletion. */
  async markChannelClosed(channelId: Buffer, height: number): Promise<void> {
    for (const id of await this.store.markChannelClosed(channelId, height)) this.#scheduleDeletion(id, height);
  }

  #scheduleDeletion(id: Buffer, closeHeight: number): void {
    if (this.#deletions.some((d) => d.id.equals(id))) return;
    const delay = Math.floor(this.#random() * this.sessionCloseRange);
    this.#deletions.push({ id, deleteHeight: closeHeight + Math.min(delay, this.sessionCloseRange - 1) });
  }

  /** A new block: sessions due for deletion are deleted at their tower, then locally. */
  async blockConnected(height: number): Promise<void> {
    this.#height = height;
    for (const id of await this.store.markClosableSessions(height)) this.#scheduleDeletion(id, height);
    const due = this.#deletions.filter((d) => d.deleteHeight <= height);
    this.#deletions = this.#deletions.filter((d) => d.deleteHeight > height);
    for (const d of due) await this.#deleteSession(d.id);
  }

  get height(): number {
    return this.#height;
  }

  async #deleteSession(id: Buffer): Promise<void> {
    const s = await this.store.getSession(id);
    if (!s) return;
    const t = await this.store.getTower(s.towerId);
    if (!t) return;
    for (const c of this.#clients.values()) c.abortSessions([id]);
    const key = this.sessionKey(s.keyIndex);
    for (const a of t.addresses) {
      let conn: TowerConn | undefined;
      try {
        conn = await TowerConn.open({ addr: parseHostPort(a), towerKey: t.pubkey, sessionKey: key, chainHash: this.chainHash, features: CLIENT_BASE_FEATURES, timeoutMs: this.timeoutMs });
        const r = await conn.request({ type: 606 });
        if (r.type !== 607) throw new WtClientError(`tower answered delete_session with message ${r.type}`);
        if (r.code !== WtErrorCode.OK && r.code !== WtErrorCode.DeleteSessionNotFound) throw new WtClientError(`tower refused deletion: ${errorCodeName(r.code)}`);
        await this.store.deleteSession(id);
        this.log.info({ session: hex(id), tower: hex(t.pubkey) }, 'wtclient: session deleted');
        return;
      } catch (err) {
        this.log.debug({ session: hex(id), address: a, err: (err as Error).message }, 'wtclient: session deletion failed');
      } finally {
        conn?.close();
      }
    }
    // LND: dropped until the next restart.
    this.log.warn({ session: hex(id) }, 'wtclient: could not delete session at its tower; retrying after restart');
  }

  /** Sessions scheduled for deletion (tests, diagnostics). */
  get pendingDeletions(): readonly { id: Buffer; deleteHeight: number }[] {
    return this.#deletions;
  }
}
