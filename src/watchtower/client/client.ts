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
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PolicyType, TowerAddress, WtClientCore, WtListOptions, WtPolicy, WtSession, WtSessionInfo, WtStats, WtTower } from './api.js';
import { KeyFamily } from '../../crypto/keychain.js';
import type { StaticKey } from '../../transport/noise.js';
import {
  isExhausted,
  SESSION_TERMINAL,
  TOWER_ACTIVE,
  TOWER_INACTIVE,
  WtClientStoreError,
  type CommittedUpdate,
  type SessionRow,
  type TowerRow,
  type WtClientRepository,
} from '../../store/wtclient.js';
import { breachHint, breachKey } from '../blob/derivation.js';
import { encryptJusticeKit } from '../blob/blob.js';
import { blobTypeFor, type CommitmentType } from '../blob/type.js';
import { JusticeError } from '../justice/errors.js';
import { signJusticeTx } from '../justice/justice-tx.js';
import { MIN_SWEEP_FEE_RATE_SAT_PER_KW, policyFeatureBits, sweepSatPerVbyte, txPolicyEqual, validatePolicy, type Policy } from '../policy.js';
import { WtErrorCode, errorCodeName } from '../wire/codes.js';
import { CLIENT_BASE_FEATURES } from '../wire/features.js';
import { formatAddr, parseHostPort, type TowerAddr } from './address.js';
import { Backoff, DEFAULT_BACKOFF, type BackoffConfig } from './backoff.js';
import { decodeBreachData, encodeBreachData, validateBreachData, type BreachData } from './breach.js';
import { TowerConn } from './conn.js';

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

export class WtClientError extends Error {
  override name = 'WtClientError';
}

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

interface Stream {
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
class TypeClient {
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
    private readonly mgr: WatchtowerClient,
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

interface DeletionItem {
  id: Buffer;
  deleteHeight: number;
}

/** The client manager: implements the RPC core and the channel layer's `backupState`. */
export class WatchtowerClient implements WtClientCore {
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
    const sweepFeeRateSatPerKw = BigInt(satPerVbyte) * 250n;
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
    return { id: s.id, numBackups: s.numAcked, numPendingBackups: s.numCommitted, maxBackups: s.maxUpdates, sweepSatPerVbyte: sweepSatPerVbyte(s) };
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
