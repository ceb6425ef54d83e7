/**
 * One client type of the watchtower client (LND keeps one client per commitment type, §2.3): its
 * policy, its sessions and a serial worker that negotiates a session whenever none is usable, binds
 * committed updates to it and streams them to the tower. Everything it knows is in the database; the
 * worker keeps nothing a restart would miss.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PolicyType } from './api.js';
import type { StaticKey } from '../../transport/noise.js';
import { TOWER_ACTIVE, WtClientStoreError, type CommittedUpdate, type SessionRow, type TowerRow, type WtClientRepository } from '../../store/wtclient.js';
import { breachHint, breachKey } from '../blob/derivation.js';
import { encryptJusticeKit } from '../blob/blob.js';
import { blobTypeFor, type CommitmentType } from '../blob/type.js';
import { JusticeError } from '../justice/errors.js';
import { signJusticeTx } from '../justice/justice-tx.js';
import { policyFeatureBits, txPolicyEqual, type Policy } from '../policy.js';
import { WtErrorCode, errorCodeName } from '../wire/codes.js';
import { CLIENT_BASE_FEATURES } from '../wire/features.js';
import { parseHostPort } from './address.js';
import { Backoff, type BackoffConfig } from './backoff.js';
import { decodeBreachData } from './breach.js';
import { TowerConn } from './conn.js';
import { WtClientError } from './errors.js';

/** What a client type uses of the client that owns it: the shared towers, keys, database and clock. */
export interface TypeClientHost {
  readonly store: WtClientRepository;
  readonly log: Logger;
  readonly chainHash: Buffer;
  readonly backoffConfig: BackoffConfig;
  readonly timeoutMs: number;
  readonly batchSize: number;
  readonly now: () => number;
  /** `towerId|host:port` → negotiations using it (LND's address lock). */
  readonly addressesInUse: Map<string, number>;
  sessionKey(index: number): StaticKey;
  towerBackoff(towerId: number): Backoff;
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

export interface Stream {
  conn: TowerConn | undefined;
  /** The socket while dialling (before `conn` exists), so an abort cuts the dial short too. */
  socket: Socket | undefined;
  aborted: boolean;
}

/** What a negotiation pass over the towers came to. */
type Negotiated =
  | { kind: 'session'; session: SessionRow }
  /** At least one tower was asked and none gave a session: the negotiation backs off. */
  | { kind: 'failed' }
  /** No tower could be asked: none active (wait for AddTower), or all backing off until `retryAt`. */
  | { kind: 'none'; retryAt: number | undefined };

/** Counters as LND keeps them: in memory, reset on restart (§5.2). */
interface Counters {
  received: number;
  accepted: number;
  failed: number;
  acquired: number;
  exhausted: number;
}

/** One client type: its policy, its sessions, a serial worker. */
export class TypeClient {
  readonly blobType: number;
  readonly policy: Policy;
  readonly counters: Counters = { received: 0, accepted: 0, failed: 0, acquired: 0, exhausted: 0 };
  /** Session id hex → the stream using it. */
  readonly streams = new Map<string, Stream>();
  #wake: (() => void) | undefined;
  #dirty = true;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #negotiation: Backoff;
  /** The negotiation in flight (at most one per client type), cut by stop(). */
  readonly #negotiating: Stream = { conn: undefined, socket: undefined, aborted: false };

  constructor(
    readonly commitment: CommitmentType,
    readonly policyType: PolicyType,
    policy: Omit<Policy, 'blobType'>,
    private readonly mgr: TypeClientHost,
  ) {
    this.blobType = blobTypeFor(commitment);
    this.policy = { ...policy, blobType: this.blobType };
    this.#negotiation = new Backoff(mgr.backoffConfig);
  }

  get log(): Logger {
    return this.mgr.log;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const s of this.streams.values()) this.abort(s);
    this.abort(this.#negotiating);
    this.wake();
    await this.#loop;
  }

  wake(): void {
    this.#dirty = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  abort(s: Stream): void {
    s.aborted = true;
    s.conn?.close();
    s.socket?.destroy();
  }

  /** An operator added (or re-added) a tower: negotiation is tried again at once. */
  resetNegotiation(): void {
    this.#negotiation.succeed();
  }

  /** Stops any stream on these sessions (the management operation then changes the database). */
  abortSessions(ids: Iterable<Buffer>): void {
    for (const id of ids) {
      const s = this.streams.get(hex(id));
      if (s) this.abort(s);
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      this.#dirty = false;
      let retryAt: number | undefined;
      try {
        retryAt = await this.#round();
      } catch (err) {
        this.log.warn({ client: this.commitment, err: (err as Error).message }, 'wtclient: round failed');
        retryAt = this.mgr.now() + this.mgr.backoffConfig.minMs;
      }
      if (this.#stopped) break;
      if (this.#dirty) continue;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (retryAt !== undefined) {
          this.#timer = setTimeout(() => this.wake(), Math.max(0, retryAt - this.mgr.now()));
        }
      });
      clearTimeout(this.#timer);
    }
  }

  /** One pass: flush committed updates, then bind and send queued states. Returns when to look again. */
  async #round(): Promise<number | undefined> {
    let retryAt: number | undefined;
    const later = (t: number): void => {
      retryAt = retryAt === undefined ? t : Math.min(retryAt, t);
    };
    const store = this.mgr.store;
    // 1. Updates committed but not acked: only their own session may carry them.
    for (const s of await store.sessionsWithCommitted(this.blobType)) {
      if (this.#stopped) return undefined;
      const bo = this.mgr.towerBackoff(s.towerId);
      if (!bo.ready(this.mgr.now())) {
        later(bo.until);
        continue;
      }
      await this.#stream(s, txPolicyEqual(s, this.policy) ? s.towerId : undefined);
      // A failed stream backs its tower off: look again then (else its committed updates would wait for
      // an unrelated wake-up, forever on an idle node).
      if (!bo.ready(this.mgr.now())) later(bo.until);
    }
    // 2. Queued states: the current candidate session, or a new one. With nothing queued, LND's dispatcher
    //    still keeps one usable session per client type: a tower added (or a start-up, an exhaustion, a
    //    termination) leaving this type without a candidate session gets one negotiated now, in the
    //    background, so the next revoked state does not wait for a CreateSession round trip (§2.3).
    if (this.#stopped) return undefined;
    const pending = await store.countPending(this.blobType);
    const all = await store.candidateSessions(this.policy);
    if (pending === 0) {
      if (all.length === 0) await this.#acquire(later);
      return retryAt;
    }
    const now = this.mgr.now();
    // A session still holding updates its tower did not take (step 1 failed for it) gets no new ones:
    // a tower that rejects forever (LND #10994) then strands only what it already has, and new states
    // go to another session.
    const stuck = new Set((await store.sessionsWithCommitted(this.blobType)).map((s) => s.id.toString('hex')));
    const candidates = all.filter((s) => {
      if (stuck.has(s.id.toString('hex'))) return false;
      const bo = this.mgr.towerBackoff(s.towerId);
      if (bo.ready(now)) return true;
      later(bo.until);
      return false;
    });
    const session: SessionRow | undefined = candidates[0] ?? (await this.#acquire(later));
    if (!session) return retryAt;
    await this.#stream(session, session.towerId);
    // Whatever is left (the session filled up, or its tower failed) is for the next round.
    this.#dirty = true;
    return retryAt;
  }

  /**
   * One negotiation pass under the client's negotiation backoff (10 s doubling to 5 min): the session, or
   * undefined with `later` told when to look again. No active tower is not a failure: AddTower wakes us.
   */
  async #acquire(later: (t: number) => void): Promise<SessionRow | undefined> {
    if (!this.#negotiation.ready(this.mgr.now())) {
      later(this.#negotiation.until);
      return undefined;
    }
    const r = await this.#negotiate();
    if (r.kind === 'session') {
      this.#negotiation.succeed();
      return r.session;
    }
    if (r.kind === 'failed') {
      if (this.#stopped) return undefined;
      this.#negotiation.fail(this.mgr.now());
      later(this.#negotiation.until);
    } else if (r.retryAt !== undefined) {
      later(r.retryAt);
    }
    return undefined;
  }

  /** The towers to ask for a session, in order (tower id ascending), skipping those backing off. */
  async #negotiate(): Promise<Negotiated> {
    const store = this.mgr.store;
    const now = this.mgr.now();
    let tried = false;
    let retryAt: number | undefined;
    for (const tower of await store.listTowers()) {
      if (this.#stopped) break;
      if (tower.status !== TOWER_ACTIVE) continue;
      const bo = this.mgr.towerBackoff(tower.id);
      if (!bo.ready(now)) {
        retryAt = retryAt === undefined ? bo.until : Math.min(retryAt, bo.until);
        continue;
      }
      const r = await this.#negotiateWith(tower);
      if (r === 'gone') continue;
      tried = true;
      if (r) {
        bo.succeed();
        return { kind: 'session', session: r };
      }
      if (!this.#stopped) bo.fail(this.mgr.now());
    }
    return tried ? { kind: 'failed' } : { kind: 'none', retryAt };
  }

  /** A session, undefined (the tower failed or refused), or 'gone' (removed or deactivated meanwhile). */
  async #negotiateWith(tower: TowerRow): Promise<SessionRow | undefined | 'gone'> {
    const store = this.mgr.store;
    let forceNext = false;
    for (let attempt = 0; attempt < 5; attempt++) {
      // Reserved (and committed) before dialling: a crash re-uses the same key, never skips one silently.
      const keyIndex = await store.reserveKeyIndex(tower.id, this.blobType, forceNext);
      const key = this.mgr.sessionKey(keyIndex);
      let answered = false;
      for (const a of tower.addresses) {
        if (this.#stopped) return undefined;
        const lock = `${tower.id}|${a}`;
        this.mgr.addressesInUse.set(lock, (this.mgr.addressesInUse.get(lock) ?? 0) + 1);
        let conn: TowerConn | undefined;
        const neg = this.#negotiating;
        try {
          conn = await TowerConn.open(
            { addr: parseHostPort(a), towerKey: tower.pubkey, sessionKey: key, chainHash: this.mgr.chainHash, features: policyFeatureBits(this.policy), timeoutMs: this.mgr.timeoutMs },
            (sock) => (neg.socket = sock),
          );
          neg.conn = conn;
          if (this.#stopped) return undefined;
          const reply = await conn.request({
            type: 602,
            blobType: this.policy.blobType,
            maxUpdates: this.policy.maxUpdates,
            rewardBase: this.policy.rewardBase,
            rewardRate: this.policy.rewardRate,
            sweepFeeRateSatPerKw: this.policy.sweepFeeRateSatPerKw,
          });
          if (reply.type !== 603) throw new WtClientError(`tower answered create_session with message ${reply.type}`);
          answered = true;
          if (reply.code === WtErrorCode.OK) {
            // The reservation stays until this transaction consumes it: a crash before it re-uses the index.
            let s: SessionRow;
            try {
              s = await store.createSession(
                {
                  id: key.publicKey,
                  towerId: tower.id,
                  keyIndex,
                  blobType: this.policy.blobType,
                  maxUpdates: this.policy.maxUpdates,
                  rewardBase: this.policy.rewardBase,
                  rewardRate: this.policy.rewardRate,
                  sweepFeeRateSatPerKw: this.policy.sweepFeeRateSatPerKw,
                  rewardScript: reply.data,
                },
                this.mgr.now(),
              );
            } catch (err) {
              // Removed or deactivated while we negotiated: no session (the tower's copy is never used).
              const cur = await store.getTower(tower.id);
              if (err instanceof WtClientStoreError && (!cur || cur.status !== TOWER_ACTIVE)) return 'gone';
              throw err;
            }
            this.counters.acquired++;
            this.log.info({ client: this.commitment, tower: hex(tower.pubkey), session: hex(key.publicKey), keyIndex }, 'wtclient: session negotiated');
            return s;
          }
          if (reply.code === WtErrorCode.CreateSessionAlreadyExists) {
            // The key was used before (restored data): LND reserves an index 1000 further and tries again.
            this.log.warn({ client: this.commitment, tower: hex(tower.pubkey), keyIndex }, 'wtclient: session key already used, jumping the key index');
            forceNext = true;
            break;
          }
          this.log.warn({ client: this.commitment, tower: hex(tower.pubkey), code: errorCodeName(reply.code) }, 'wtclient: tower refused the session');
          return undefined;
        } catch (err) {
          if (err instanceof WtClientStoreError) throw err;
          this.log.debug({ client: this.commitment, tower: hex(tower.pubkey), address: a, err: (err as Error).message }, 'wtclient: negotiation failed');
        } finally {
          conn?.close();
          neg.conn = undefined;
          neg.socket = undefined;
          const n = (this.mgr.addressesInUse.get(lock) ?? 1) - 1;
          if (n <= 0) this.mgr.addressesInUse.delete(lock);
          else this.mgr.addressesInUse.set(lock, n);
        }
      }
      if (!answered || !forceNext) return undefined;
    }
    return undefined;
  }

  /** Signs and commits up to `n` queued states to the session; returns what was committed. */
  async #bind(s: SessionRow, free: number): Promise<CommittedUpdate[]> {
    const store = this.mgr.store;
    const n = Math.min(free, this.mgr.batchSize);
    if (n <= 0) return [];
    const rows = await store.pendingBackups(this.blobType, n);
    const items: { backupId: number; hint: Buffer; blob: Buffer }[] = [];
    for (const r of rows) {
      try {
        const b = decodeBreachData(r.breach);
        const { kit } = signJusticeTx({
          policy: { blobType: s.blobType, rewardBase: s.rewardBase, rewardRate: s.rewardRate, sweepFeeRateSatPerKw: s.sweepFeeRateSatPerKw },
          breach: b,
          sweepScript: b.sweepScript,
          rewardScript: s.rewardScript.length > 0 ? s.rewardScript : undefined,
        });
        items.push({ backupId: r.id, hint: breachHint(b.breachTxid), blob: encryptJusticeKit(kit, breachKey(b.breachTxid)) });
      } catch (err) {
        // Dust, fee above the inputs, or data that cannot be signed: LND counts it failed and drops it.
        this.counters.failed++;
        this.log.warn({ client: this.commitment, height: r.commitHeight, err: (err as Error).message, justice: err instanceof JusticeError ? err.code : undefined }, 'wtclient: state cannot be backed up');
        await store.dropBackup(r.id);
      }
    }
    if (items.length === 0) return rows.length > 0 ? this.#bind(s, free) : [];
    const committed = await store.commitUpdates(s.id, items);
    this.counters.accepted += committed.length;
    return committed;
  }

  /**
   * One connection on one session: committed updates first (same seq, hint, ciphertext as before), then,
   * when `bindTower` is set, queued states committed to it as slots allow; `is_complete` on the last.
   */
  async #stream(s: SessionRow, bindTower: number | undefined): Promise<void> {
    const store = this.mgr.store;
    const id = hex(s.id);
    const tower = await store.getTower(s.towerId);
    if (!tower || tower.status !== TOWER_ACTIVE) return;
    const bo = this.mgr.towerBackoff(tower.id);
    const st: Stream = { conn: undefined, socket: undefined, aborted: false };
    this.streams.set(id, st);
    let seqNum = s.seqNum;
    let lastApplied = s.towerLastApplied;
    try {
      const list = await store.committedUpdates(s.id);
      const fill = async (): Promise<void> => {
        if (bindTower === undefined || list.length > 0 || st.aborted || this.#stopped) return;
        const c = await this.#bind(s, s.maxUpdates - seqNum);
        if (c.length > 0) seqNum = c[c.length - 1]!.seqNum;
        list.push(...c);
      };
      // Dial before binding anything new: states are committed only to a session whose tower answers.
      if (list.length === 0 && (bindTower === undefined || (await store.countPending(this.blobType)) === 0)) return;
      const key = this.mgr.sessionKey(s.keyIndex);
      let lastErr: Error | undefined;
      for (const a of tower.addresses) {
        if (st.aborted) return;
        try {
          st.conn = await TowerConn.open(
            { addr: parseHostPort(a), towerKey: tower.pubkey, sessionKey: key, chainHash: this.mgr.chainHash, features: CLIENT_BASE_FEATURES, timeoutMs: this.mgr.timeoutMs },
            (sock) => (st.socket = sock),
          );
          break;
        } catch (err) {
          lastErr = err as Error;
        }
      }
      if (!st.conn) throw lastErr ?? new WtClientError('tower has no address');
      if (st.aborted) return;
      await fill();
      while (list.length > 0 && !st.aborted && !this.#stopped) {
        const u = list.shift()!;
        // More states follow on this connection if some are committed, or queued and bindable here. They are
        // bound only after the tower has taken this one: a refusal then strands nothing new at this session.
        const more = list.length > 0 || (bindTower !== undefined && seqNum < s.maxUpdates && (await store.countPending(this.blobType)) > 0);
        const isComplete = more ? 0 : 1;
        const reply = await st.conn.request({ type: 604, seqNum: u.seqNum, lastApplied, isComplete, hint: u.hint, encryptedBlob: u.blob });
        if (reply.type !== 605) throw new WtClientError(`tower answered state_update with message ${reply.type}`);
        if (reply.code !== WtErrorCode.OK) throw new WtClientError(`tower refused update ${u.seqNum}: ${errorCodeName(reply.code)}`);
        // The database is the authority: an ack for an update re-queued meanwhile is only noted.
        const r = await store.ackUpdate(s.id, u.seqNum, reply.lastApplied);
        lastApplied = reply.lastApplied;
        if (r.kind === 'acked' && r.exhausted) {
          this.counters.exhausted++;
          this.log.info({ client: this.commitment, session: id }, 'wtclient: session exhausted');
        }
        if (list.length === 0 && isComplete === 0) await fill();
      }
      bo.succeed();
    } catch (err) {
      if (st.aborted || this.#stopped) return;
      const d = bo.fail(this.mgr.now());
      this.log.warn({ client: this.commitment, tower: hex(tower.pubkey), session: id, err: (err as Error).message, retryInMs: d }, 'wtclient: backups to tower failed');
    } finally {
      st.conn?.close();
      if (this.streams.get(id) === st) this.streams.delete(id);
    }
  }
}
