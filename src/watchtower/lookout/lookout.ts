/**
 * The tower's lookout (LND `watchtower/lookout`; spec §3.8): watches every block and punishes breaches.
 *
 * The node's {@link ChainNotifier} delivers every block in order from the tip persisted in the tower database (a
 * {@link TowerTipStore}); the tip is saved after **every** block, once that block is fully handled, so
 * blocks mined while the tower was down are scanned at the next start (LND saves it only after blocks
 * with matches and so skips them). Reorgs come as `disconnect` calls for stale blocks, then the new branch.
 *
 * For each block:
 * 1. one batched hint look-up (`findByHints`) for every transaction's `SHA256(txid)[0:16]`;
 * 2. for each match: decrypt with `SHA256(txid‖txid)`, rebuild the justice transaction, check it spends
 *    the breach outputs and that every signature verifies ({@link makeJusticeTx}); a blob that fails is
 *    logged and skipped;
 * 3. record the punishment (durably, keyed by justice txid, so a re-delivered or re-mined breach is
 *    punished once) and publish it with `sendrawtransaction`;
 * 4. punishments whose justice transaction is in the block become `confirmed`; those whose breach outputs
 *    another transaction spent become `conflicted`; every other pending one is published again.
 * A disconnected block makes the punishments it resolved pending again.
 *
 * Backend and database failures make the watcher retry the same block later (with backoff); nothing a
 * block, a blob or the backend contains can crash the tower.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { parseTransaction, type Block } from '../../chain/block.js';
import { ChainNotifier, type ConnectedBlock, type Subscription, type SyncResult, type TipStore } from '../../chain/notifier.js';
import type { BlockTip, ChainSource } from '../../chain/chain-source.js';
import { isChainError } from '../../chain/errors.js';
import { breachHint } from '../blob/derivation.js';
import { breachTxOf, makeJusticeTx } from './justice.js';
import type { HintMatch, LookoutStore, PunishmentCounts, PunishmentRecord } from './store.js';

/** The lookout's tip in the tower database, for the chain notifier. */
export class TowerTipStore implements TipStore {
  constructor(private readonly store: LookoutStore) {}
  load(): Promise<BlockTip | null> {
    return this.store.loadLookoutTip();
  }
  save(tip: BlockTip): Promise<void> {
    return this.store.saveLookoutTip(tip);
  }
}

export interface LookoutOptions {
  chain: ChainSource;
  store: LookoutStore;
  log: Logger;
  /** The node's chain notifier. Default: a private one over `chain`. */
  notifier?: ChainNotifier;
  /** Block-count poll period of a private notifier, ms (default 2000). */
  pollIntervalMs?: number;
  /** Longest wait between polls while the backend fails, private notifier, ms (default 60 000). */
  maxBackoffMs?: number;
  /**
   * Only on the very first start (no tip in the database): the first height to scan. Default: the
   * current best block is adopted and scanning starts after it (as LND does).
   */
  startHeight?: number;
  now?: () => number;
}

/** A punishment as the API shows it. */
export interface PunishmentSummary {
  justiceTxid: string;
  breachTxid: string;
  sessionId: string;
  seqNum: number;
  blobType: number;
  breachHeight: number;
  sweepSat: string;
  rewardSat: string;
  feeSat: string;
  publishAttempts: number;
  lastError: string | null;
  state: 'pending' | 'confirmed' | 'conflicted';
  resolvedHeight: number | null;
}

export interface LookoutStatus {
  active: boolean;
  /** The last block fully scanned. */
  tip: BlockTip | null;
  /** Since this start. */
  blocksScanned: number;
  matches: number;
  skippedBlobs: number;
  punishments: PunishmentCounts;
  /** Newest first. */
  recent: PunishmentSummary[];
}

/** Why a matched blob was not used (event `skip`). */
export interface SkippedBlob {
  breachTxid: string;
  sessionId: Buffer;
  seqNum: number;
  stage: 'decrypt' | 'build' | 'verify';
  code: string;
  message: string;
}

interface Pending {
  record: PunishmentRecord;
  /** `txid:vout` (display order) of the breach outputs it spends. */
  spends: string[];
}

function pendingOf(record: PunishmentRecord): Pending {
  return { record, spends: parseTransaction(record.justiceTx).inputs.map((i) => `${i.txid}:${i.vout}`) };
}

export function summarize(p: PunishmentRecord): PunishmentSummary {
  return {
    justiceTxid: p.justiceTxid,
    breachTxid: p.breachTxid,
    sessionId: p.sessionId.toString('hex'),
    seqNum: p.seqNum,
    blobType: p.blobType,
    breachHeight: p.breachHeight,
    sweepSat: p.sweepSat.toString(),
    rewardSat: p.rewardSat.toString(),
    feeSat: p.feeSat.toString(),
    publishAttempts: p.publishAttempts,
    lastError: p.lastError,
    state: p.outcome ?? 'pending',
    resolvedHeight: p.resolvedHeight,
  };
}

/**
 * Events: `block` (BlockTip, after a block is fully handled), `disconnect` (BlockTip), `punish`
 * (PunishmentRecord, a new justice transaction recorded and published), `resolved` (PunishmentRecord),
 * `skip` ({@link SkippedBlob}), `error` is never emitted (failures go to the log).
 */
export class Lookout extends EventEmitter {
  readonly #chain: ChainSource;
  readonly #store: LookoutStore;
  readonly #log: Logger;
  readonly #opts: LookoutOptions;
  readonly #now: () => number;
  #watcher: Subscription | undefined;
  #active = false;
  /** justice txid → pending punishment. */
  #pending = new Map<string, Pending>();
  #stats = { blocksScanned: 0, matches: 0, skippedBlobs: 0 };

  constructor(opts: LookoutOptions) {
    super();
    this.#chain = opts.chain;
    this.#store = opts.store;
    this.#log = opts.log.child({ component: 'lookout' });
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Loads pending punishments and follows the chain (a private notifier polls at once). Idempotent. */
  async start(): Promise<void> {
    if (this.#active) return;
    await this.#reloadPending();
    this.#watcher = ChainNotifier.follow(
      this.#chain,
      this.#opts.notifier,
      new TowerTipStore(this.#store),
      { connect: (b) => this.#connect(b), disconnect: (t) => this.#disconnect(t) },
      {
        name: 'lookout',
        logger: this.#log,
        ...(this.#opts.pollIntervalMs !== undefined ? { pollIntervalMs: this.#opts.pollIntervalMs } : {}),
        ...(this.#opts.maxBackoffMs !== undefined ? { maxBackoffMs: this.#opts.maxBackoffMs } : {}),
        ...(this.#opts.startHeight !== undefined ? { startHeight: this.#opts.startHeight } : {}),
        onError: (e, { quiet }) => (quiet ? this.#log.debug : this.#log.warn).call(this.#log, { err: e.message }, 'lookout: block scan failed; retrying from the same block'),
      },
    );
    this.#active = true;
    this.#stats = { blocksScanned: 0, matches: 0, skippedBlobs: 0 };
    this.#log.info({ pending: this.#pending.size }, 'lookout: started');
  }

  /** Stops polling and waits for the block in progress to be fully handled (its tip saved). */
  async stop(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    await this.#watcher?.stop();
    this.#log.info({ tip: this.#watcher?.tip }, 'lookout: stopped');
  }

  /** One catch-up pass now (shares a pass in progress); for tests and for an API "rescan now". */
  syncOnce(): Promise<SyncResult> {
    if (!this.#watcher) return Promise.reject(new Error('lookout: not started'));
    return this.#watcher.syncOnce();
  }

  async status(opts: { limit?: number } = {}): Promise<LookoutStatus> {
    const tip = this.#watcher?.tip ?? (await this.#store.loadLookoutTip());
    const [punishments, recent] = await Promise.all([this.#store.punishmentCounts(), this.#store.listPunishments({ limit: opts.limit ?? 50 })]);
    return { active: this.#active, tip, ...this.#stats, punishments, recent: recent.map(summarize) };
  }

  async #reloadPending(): Promise<void> {
    const rows = await this.#store.listPunishments({ pending: true });
    this.#pending = new Map(rows.map((r) => [r.justiceTxid, pendingOf(r)]));
  }

  // ---- block handling ----

  async #connect(b: ConnectedBlock): Promise<void> {
    const fresh = await this.#scan(b);
    await this.#resolve(b.block, b.height);
    for (const p of [...this.#pending.values()]) {
      if (fresh.has(p.record.justiceTxid)) continue;
      await this.#publish(p.record, 'republish');
    }
    this.#stats.blocksScanned++;
    this.emit('block', { height: b.height, hash: b.hash });
  }

  async #disconnect(tip: BlockTip): Promise<void> {
    const n = await this.#store.unresolvePunishments(tip.hash);
    if (n > 0) {
      this.#log.warn({ height: tip.height, hash: tip.hash, punishments: n }, 'lookout: block with resolved punishments left the chain; publishing them again');
      await this.#reloadPending();
    }
    this.emit('disconnect', tip);
  }

  /** Finds breaches in the block, records and publishes their justice transactions. Returns new justice txids. */
  async #scan(b: ConnectedBlock): Promise<Set<string>> {
    const fresh = new Set<string>();
    const byHint = new Map<string, number[]>();
    const hints: Buffer[] = [];
    b.block.transactions.forEach((tx, i) => {
      const hint = breachHint(Buffer.from(tx.txid, 'hex').reverse());
      const k = hint.toString('hex');
      const list = byHint.get(k);
      if (list) list.push(i);
      else {
        byHint.set(k, [i]);
        hints.push(hint);
      }
    });
    const matches: HintMatch[] = hints.length ? await this.#store.findByHints(hints) : [];
    for (const m of matches) {
      for (const i of byHint.get(m.hint.toString('hex')) ?? []) {
        const tx = b.block.transactions[i]!;
        this.#stats.matches++;
        const breach = breachTxOf(tx);
        const r = makeJusticeTx(breach, m);
        if (!r.ok) {
          this.#stats.skippedBlobs++;
          const skipped: SkippedBlob = { breachTxid: tx.txid, sessionId: m.sessionId, seqNum: m.seqNum, stage: r.stage, code: r.code, message: r.message };
          this.#log.warn(
            { txid: tx.txid, height: b.height, session: m.sessionId.toString('hex'), seq: m.seqNum, stage: r.stage, code: r.code, err: r.message },
            'lookout: hint matched but the blob gives no valid justice transaction; skipped',
          );
          this.emit('skip', skipped);
          continue;
        }
        const record: PunishmentRecord = {
          justiceTxid: r.txid,
          justiceTx: r.raw,
          breachTxid: tx.txid,
          sessionId: m.sessionId,
          seqNum: m.seqNum,
          blobType: m.policy.blobType,
          breachHeight: b.height,
          breachBlockHash: b.hash,
          totalSat: r.tx.totalSat,
          sweepSat: r.tx.sweepSat,
          rewardSat: r.tx.rewardSat,
          feeSat: r.tx.feeSat,
          createdAt: this.#now(),
          publishAttempts: 0,
          lastPublishedAt: null,
          lastError: null,
          outcome: null,
          resolvedHeight: null,
          resolvedBlockHash: null,
          resolvedByTxid: null,
        };
        const inserted = await this.#store.insertPunishment(record);
        if (!inserted) {
          // Seen before (a re-delivered block, or the breach re-mined after a reorg): punished once;
          // if still pending it is published again below.
          this.#log.info({ breach: tx.txid, justice: r.txid, height: b.height }, 'lookout: breach already being punished');
          continue;
        }
        this.#log.warn(
          { breach: tx.txid, height: b.height, justice: r.txid, session: m.sessionId.toString('hex'), seq: m.seqNum, sweepSat: r.tx.sweepSat.toString(), feeSat: r.tx.feeSat.toString() },
          'lookout: breach detected; publishing justice transaction',
        );
        this.#pending.set(record.justiceTxid, pendingOf(record));
        fresh.add(record.justiceTxid);
        await this.#publish(record, 'publish');
        this.emit('punish', record);
      }
    }
    return fresh;
  }

  /** Marks pending punishments confirmed (their tx is in the block) or conflicted (a breach output spent by another tx). */
  async #resolve(block: Block, height: number): Promise<void> {
    if (this.#pending.size === 0) return;
    const spenders = new Map<string, string>();
    for (const p of this.#pending.values()) for (const s of p.spends) spenders.set(s, p.record.justiceTxid);
    for (const tx of block.transactions) {
      let hit: { id: string; outcome: 'confirmed' | 'conflicted' } | undefined;
      if (this.#pending.has(tx.txid)) hit = { id: tx.txid, outcome: 'confirmed' };
      else {
        for (const i of tx.inputs) {
          const id = spenders.get(`${i.txid}:${i.vout}`);
          if (id && this.#pending.has(id)) {
            hit = { id, outcome: 'conflicted' };
            break;
          }
        }
      }
      if (!hit) continue;
      // A conflicting tx may spend outputs of several pending punishments (e.g. two sessions' justice txs).
      const ids = hit.outcome === 'confirmed' ? [hit.id] : [...new Set(tx.inputs.map((i) => spenders.get(`${i.txid}:${i.vout}`)).filter((x): x is string => !!x && this.#pending.has(x)))];
      for (const id of ids) {
        const p = this.#pending.get(id)!;
        await this.#store.resolvePunishment(id, { outcome: hit.outcome, height, blockHash: block.hash, byTxid: tx.txid });
        this.#pending.delete(id);
        const rec: PunishmentRecord = { ...p.record, outcome: hit.outcome, resolvedHeight: height, resolvedBlockHash: block.hash, resolvedByTxid: tx.txid };
        if (hit.outcome === 'confirmed') this.#log.info({ justice: id, height }, 'lookout: justice transaction confirmed');
        else this.#log.warn({ justice: id, height, spender: tx.txid }, 'lookout: breach output spent by another transaction; giving up this justice transaction');
        this.emit('resolved', rec);
      }
    }
  }

  /** sendrawtransaction; failures are recorded and logged, never thrown (the next block retries). */
  async #publish(record: PunishmentRecord, what: 'publish' | 'republish'): Promise<void> {
    let error: string | null = null;
    try {
      await this.#chain.sendRawTransaction(record.justiceTx);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
      const level = isChainError(e, 'TX_REJECTED') && what === 'republish' ? 'info' : 'warn';
      this.#log[level]({ justice: record.justiceTxid, err: error }, `lookout: ${what} of justice transaction failed; retrying at the next block`);
    }
    await this.#store.notePublishAttempt(record.justiceTxid, this.#now(), error);
    const p = this.#pending.get(record.justiceTxid);
    if (p) {
      p.record.publishAttempts++;
      p.record.lastPublishedAt = this.#now();
      p.record.lastError = error;
    }
  }
}
