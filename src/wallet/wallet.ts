/**
 * The on-chain wallet: BIP84/BIP86 keys from the node seed, outputs found by scanning every block from the
 * chain backend (a {@link ChainNotifier} subscription whose tip is the wallet's persisted scan tip), coin selection,
 * signing and publishing. The channel code funds channels with {@link Wallet.fundTransaction} then
 * {@link Wallet.broadcast} (or {@link Wallet.release} when the open fails); the JSON-RPC methods
 * `newaddr`, `listfunds` and `withdraw` use the {@link WalletCore} view.
 *
 * Gap handling: every key chain (receive/change × p2wpkh/p2tr) is watched up to `gapLimit` keys beyond both
 * the last address handed out and the highest index seen paid on chain; a block that pays a key near the
 * edge extends the window and is scanned again, so no payment to a derived address is missed.
 */
import { Transaction } from '@scure/btc-signer';
import { walletTransactions, type WalletTransaction } from './transactions.js';
import { ChainNotifier, type BlockListener, type ConnectedBlock, type Subscription, type SyncResult, type TipStore } from '../chain/notifier.js';
import type { BlockTip, ChainSource } from '../chain/chain-source.js';
import type { ChainLogger } from '../chain/bitcoind-rpc.js';
import type { NewUtxo, UtxoRecord, WalletRepository } from '../store/wallet.js';
import { dustThreshold } from '../bitcoin/weight.js';
import { selectCoins, type Candidate } from './coin-select.js';
import { parseFeerate, type FeerateSpec } from './feerate.js';
import { CHANGE, RECEIVE, WalletError, WalletKeys, addressToScript, scriptToAddress, type Branch, type KeyKind, type WalletKey } from './keys.js';

/** Coinbase outputs are spendable after this many confirmations. */
export const COINBASE_MATURITY = 100;
/** lightningd reserves the inputs of a transaction it builds for 72 blocks. */
export const RESERVE_BLOCKS = 72;
export const DEFAULT_GAP_LIMIT = 20;
const FINAL_SEQUENCE_RBF = 0xfffffffd;
const CHAINS: readonly [KeyKind, Branch][] = [
  ['p2wpkh', RECEIVE],
  ['p2wpkh', CHANGE],
  ['p2tr', RECEIVE],
  ['p2tr', CHANGE],
];

export interface WalletLogger extends ChainLogger {
  info?(obj: object, msg?: string): void;
}

export interface WalletOptions {
  /** The node seed (`hsm_secret`). */
  seed: Uint8Array;
  /** lightningd's network name: bitcoin, testnet, testnet4, signet, regtest. */
  network: string;
  chain: ChainSource;
  /** `store.wallet` of the node's Store. */
  store: WalletRepository;
  logger?: WalletLogger;
  /** The node's chain notifier. Default: a private one over `chain`. */
  notifier?: ChainNotifier;
  /** Block poll period of a private notifier, ms. Default 2000. */
  pollIntervalMs?: number;
  /**
   * Only when the wallet has no scan tip yet (first start): the first height to scan (the seed's birthday
   * or `--rescan`), or a function of the best height giving it. Default: start at the backend's best block.
   */
  startHeight?: number | ((bestHeight: number) => number);
  /** `--rescan`: apply `startHeight` over an existing scan tip above it too (the wallet scans those blocks again). */
  rescan?: boolean;
  /** Told once of the first scan tip of a wallet that had none (the node records it as the seed's birthday). */
  onFirstTip?: (tip: BlockTip) => void;
  /** Default 20. */
  gapLimit?: number;
  /** Used when the backend has no fee estimate (regtest). Default 1000 sat/kw on regtest, none elsewhere. */
  fallbackFeeRateSatPerKw?: number;
  onError?: (err: Error) => void;
}

export type FundsStatus = 'unconfirmed' | 'confirmed' | 'spent' | 'immature';

/** One output as `listfunds` reports it. */
export interface FundsOutput {
  txid: string;
  output: number;
  amountSat: bigint;
  script: Uint8Array;
  address?: string;
  status: FundsStatus;
  blockheight?: number;
  reserved: boolean;
  reservedToBlock?: number;
}

export interface FundRequest {
  /** Outputs to create, in this order; `amountSat: 'all'` (only with one output) sweeps every usable coin. */
  outputs: { script: Uint8Array; amountSat: bigint | 'all' }[];
  feeRateSatPerKw: number;
  /** Minimum confirmations of the inputs. Default 1. */
  minconf?: number;
  /** Spend exactly these outputs of the wallet. */
  utxos?: { txid: string; vout: number }[];
  /** nLockTime; default the scan tip height (anti fee sniping). */
  lockTime?: number;
}

export interface FundedTransaction {
  txid: string;
  /** Signed, serialized with witnesses. */
  raw: Uint8Array;
  hex: string;
  /** The finalized PSBT (v0). */
  psbt: Uint8Array;
  inputs: { txid: string; vout: number; amountSat: bigint }[];
  /** Amounts of the requested outputs, same order and index (vout = position). */
  outputAmounts: bigint[];
  /** vout of the change output, or null. */
  changeOutnum: number | null;
  changeSat: bigint;
  feeSat: bigint;
  weight: number;
  /** Inputs are reserved until this height. */
  reservedTill: number;
  /** For broadcast(): the change key. */
  change: NewUtxo | null;
}

export interface WithdrawRequest {
  destination: string;
  amountSat: bigint | 'all';
  /** lightningd's feerate parameter (name, number, `…perkw`, `…perkb`); default `normal`. */
  feerate?: unknown;
  minconf?: number;
  utxos?: { txid: string; vout: number }[];
}

/** What the RPC shells use. */
export interface WalletCore {
  newAddress(kind: KeyKind): Promise<{ address: string; kind: KeyKind; index: number }>;
  listFunds(opts?: { spent?: boolean }): Promise<FundsOutput[]>;
  /** Every transaction that paid, spent from or was published by the wallet (listtransactions). */
  listTransactions(): Promise<WalletTransaction[]>;
  withdraw(req: WithdrawRequest): Promise<{ txid: string; hex: string; psbt: Uint8Array }>;
  /** The best block the wallet has scanned (null before the first). */
  readonly tip: BlockTip | null;
}

interface Owned {
  kind: KeyKind;
  branch: Branch;
  index: number;
}

export class Wallet implements WalletCore {
  readonly keys: WalletKeys;
  readonly #opts: WalletOptions;
  readonly #repo: WalletRepository;
  readonly #chain: ChainSource;
  readonly #gap: number;
  readonly #fallback: number | undefined;
  /** script hex → key. */
  readonly #scripts = new Map<string, Owned>();
  /** `kind:branch` → number of keys derived and watched. */
  readonly #derived = new Map<string, number>();
  /** `kind:branch` → next index to hand out (persisted). */
  readonly #next = new Map<string, number>();
  /** `kind:branch` → highest index seen on chain. */
  readonly #used = new Map<string, number>();
  /** `txid:vout` of our outputs not spent in a block. */
  #unspent = new Set<string>();
  /** Our published transactions awaiting a block. */
  #pending = new Set<string>();
  #tip: BlockTip | null = null;
  #watcher: Subscription | null = null;
  #lock: Promise<unknown> = Promise.resolve();
  #started = false;

  constructor(opts: WalletOptions) {
    this.#opts = opts;
    this.keys = new WalletKeys(opts.seed, opts.network);
    this.#repo = opts.store;
    this.#chain = opts.chain;
    this.#gap = opts.gapLimit ?? DEFAULT_GAP_LIMIT;
    this.#fallback = opts.fallbackFeeRateSatPerKw ?? (opts.network === 'regtest' ? 1000 : undefined);
    if (!Number.isSafeInteger(this.#gap) || this.#gap < 1 || this.#gap > 10_000) throw new WalletError('INVALID', `wallet: invalid gap limit ${this.#gap}`);
  }

  /** The last block scanned (null before the first scan). */
  get tip(): BlockTip | null {
    return this.#tip ? { ...this.#tip } : null;
  }

  /** Loads the wallet's state, republishes our unconfirmed transactions and starts scanning blocks. */
  async start(): Promise<void> {
    if (this.#started) return;
    await this.#load();
    let first = this.#tip === null;
    const store: TipStore = {
      load: () => this.#repo.getScanTip(),
      save: async (tip) => {
        this.#tip = { ...tip };
        await this.#repo.setScanTip(tip);
        if (first) {
          first = false;
          this.#opts.onFirstTip?.({ ...tip });
        }
      },
    };
    const listener: BlockListener = {
      connect: (b) => this.#connect(b),
      disconnect: (t) => this.#disconnect(t),
    };
    this.#started = true;
    await this.#rebroadcast();
    this.#watcher = ChainNotifier.follow(this.#chain, this.#opts.notifier, store, listener, {
      name: 'wallet',
      ...(this.#opts.pollIntervalMs !== undefined ? { pollIntervalMs: this.#opts.pollIntervalMs } : {}),
      ...(this.#opts.startHeight !== undefined ? { startHeight: this.#opts.startHeight, rewind: this.#opts.rescan === true } : {}),
      ...(this.#opts.logger ? { logger: this.#opts.logger } : {}),
      ...(this.#opts.onError ? { onError: this.#opts.onError } : {}),
    });
  }

  async stop(): Promise<void> {
    this.#started = false;
    await this.#watcher?.stop();
    await this.#lock.catch(() => undefined);
  }

  /** One scan pass up to the backend's best block (tests, and callers that need fresh balances). */
  async sync(): Promise<SyncResult> {
    if (!this.#watcher) throw new WalletError('NOT_STARTED', 'wallet: not started');
    const r = await this.#watcher.syncOnce();
    return r;
  }

  async #load(): Promise<void> {
    const used = await this.#repo.maxUsedIndexes();
    for (const [kind, branch] of CHAINS) {
      const id = `${kind}:${branch}`;
      this.#next.set(id, Number((await this.#repo.getMeta(`next:${id}`)) ?? 0));
      const u = used.get(id);
      if (u !== undefined) this.#used.set(id, u);
      this.#extend(kind, branch);
    }
    await this.#reloadUnspent();
    this.#pending = new Set((await this.#repo.unconfirmedTxs()).map((t) => t.txid));
    this.#tip = await this.#repo.getScanTip();
  }

  async #reloadUnspent(): Promise<void> {
    this.#unspent = new Set((await this.#repo.listUtxos()).map((u) => `${u.txid}:${u.vout}`));
  }

  /** Derives keys up to the gap window; true when new keys were added. */
  #extend(kind: KeyKind, branch: Branch): boolean {
    const id = `${kind}:${branch}`;
    const want = Math.max(this.#next.get(id) ?? 0, (this.#used.get(id) ?? -1) + 1) + this.#gap;
    let have = this.#derived.get(id) ?? 0;
    if (have >= want) return false;
    for (; have < want; have++) {
      const k = this.keys.derive(kind, branch, have);
      this.#scripts.set(Buffer.from(k.script).toString('hex'), { kind, branch, index: have });
    }
    this.#derived.set(id, have);
    return true;
  }

  async #rebroadcast(): Promise<void> {
    for (const t of await this.#repo.unconfirmedTxs()) {
      try {
        await this.#chain.sendRawTransaction(t.raw);
      } catch (err) {
        this.#opts.logger?.debug({ txid: t.txid, err: (err as Error).message }, 'wallet: republishing failed');
      }
    }
  }

  #scan(b: ConnectedBlock): { created: (NewUtxo & Owned)[]; spent: { txid: string; vout: number; spentTxid: string }[]; ours: string[] } {
    const created: (NewUtxo & Owned)[] = [];
    const spent: { txid: string; vout: number; spentTxid: string }[] = [];
    const ours: string[] = [];
    const fresh = new Set<string>();
    b.block.transactions.forEach((tx, i) => {
      if (i > 0) {
        for (const input of tx.inputs) {
          const key = `${input.txid}:${input.vout}`;
          if (this.#unspent.has(key) || fresh.has(key)) spent.push({ txid: input.txid, vout: input.vout, spentTxid: tx.txid });
        }
      }
      if (this.#pending.has(tx.txid)) ours.push(tx.txid);
      tx.outputs.forEach((o, vout) => {
        const owned = this.#scripts.get(Buffer.from(o.script).toString('hex'));
        if (!owned) return;
        fresh.add(`${tx.txid}:${vout}`);
        created.push({
          ...owned,
          txid: tx.txid,
          vout,
          amountSat: o.valueSat,
          script: o.script,
          keyKind: owned.kind,
          keyBranch: owned.branch,
          keyIndex: owned.index,
          coinbase: i === 0,
        });
      });
    });
    return { created, spent, ours };
  }

  async #connect(b: ConnectedBlock): Promise<void> {
    let scan = this.#scan(b);
    // A payment near the edge of a key window widens it; scan the block again with the new keys.
    for (;;) {
      let grew = false;
      for (const c of scan.created) {
        const id = `${c.kind}:${c.branch}`;
        if (c.index > (this.#used.get(id) ?? -1)) this.#used.set(id, c.index);
        if (this.#extend(c.kind, c.branch)) grew = true;
      }
      if (!grew) break;
      scan = this.#scan(b);
    }
    await this.#repo.connectBlock({ height: b.height, hash: b.hash, created: scan.created, spent: scan.spent, ourTxids: scan.ours });
    for (const c of scan.created) this.#unspent.add(`${c.txid}:${c.vout}`);
    for (const s of scan.spent) this.#unspent.delete(`${s.txid}:${s.vout}`);
    for (const t of scan.ours) this.#pending.delete(t);
    this.#tip = { height: b.height, hash: b.hash };
    if (scan.created.length || scan.spent.length)
      this.#opts.logger?.debug({ height: b.height, received: scan.created.length, spent: scan.spent.length }, 'wallet: block affects the wallet');
  }

  async #disconnect(tip: BlockTip): Promise<void> {
    await this.#repo.disconnectBlock(tip);
    await this.#reloadUnspent();
    this.#pending = new Set((await this.#repo.unconfirmedTxs()).map((t) => t.txid));
    this.#tip = { height: tip.height - 1, hash: '' };
  }

  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Each account (LND's ListAccounts): its key and path, and how many keys each branch has handed out. */
  accounts(): { kind: KeyKind; extendedPublicKey: string; path: string; masterFingerprint: Buffer; external: number; internal: number }[] {
    return (['p2wpkh', 'p2tr'] as const).map((kind) => ({
      kind,
      ...this.keys.account(kind),
      external: this.#next.get(`${kind}:${RECEIVE}`) ?? 0,
      internal: this.#next.get(`${kind}:${CHANGE}`) ?? 0,
    }));
  }

  /** A fresh receive address (`p2wpkh` is CLN's `bech32`); its index is persisted before it is returned. */
  newAddress(kind: KeyKind): Promise<{ address: string; kind: KeyKind; index: number }> {
    return this.#serialize(async () => {
      const k = await this.#nextKey(kind, RECEIVE);
      return { address: k.address, kind, index: k.index };
    });
  }

  async #nextKey(kind: KeyKind, branch: Branch): Promise<WalletKey> {
    const id = `${kind}:${branch}`;
    const index = this.#next.get(id) ?? 0;
    await this.#repo.setMeta(`next:${id}`, String(index + 1));
    this.#next.set(id, index + 1);
    this.#extend(kind, branch);
    return this.keys.derive(kind, branch, index);
  }

  #status(u: UtxoRecord): FundsStatus {
    if (u.spentHeight !== null) return 'spent';
    if (u.blockHeight === null) return 'unconfirmed';
    if (u.coinbase && this.#confirmations(u) < COINBASE_MATURITY) return 'immature';
    return 'confirmed';
  }

  #confirmations(u: UtxoRecord): number {
    if (u.blockHeight === null || !this.#tip) return 0;
    return Math.max(0, this.#tip.height - u.blockHeight + 1);
  }

  #reserved(u: UtxoRecord): boolean {
    return u.reservedTill !== null && u.reservedTill >= (this.#tip?.height ?? 0);
  }

  listTransactions(): Promise<WalletTransaction[]> {
    return walletTransactions(this.#repo, this.#chain);
  }

  /** Outputs of the wallet, as `listfunds` shows them (spent ones only with `spent`). */
  async listFunds(opts: { spent?: boolean } = {}): Promise<FundsOutput[]> {
    const rows = await this.#repo.listUtxos({ includeSpent: opts.spent === true });
    return rows.map((u) => {
      const status = this.#status(u);
      const reserved = status !== 'spent' && this.#reserved(u);
      const address = scriptToAddress(u.script, this.keys.network);
      return {
        txid: u.txid,
        output: u.vout,
        amountSat: u.amountSat,
        script: u.script,
        ...(address ? { address } : {}),
        status,
        ...(u.blockHeight !== null ? { blockheight: u.blockHeight } : {}),
        reserved,
        ...(reserved ? { reservedToBlock: u.reservedTill! } : {}),
      };
    });
  }

  /** Sum of confirmed, mature, unreserved outputs. */
  async balanceSat(): Promise<bigint> {
    return (await this.#spendable(1)).reduce((a, u) => a + u.amountSat, 0n);
  }

  async #spendable(minconf: number): Promise<(Candidate & { record: UtxoRecord })[]> {
    const rows = await this.#repo.listUtxos();
    return rows
      .filter((u) => {
        const status = this.#status(u);
        if (status === 'immature' || status === 'spent' || this.#reserved(u)) return false;
        if (minconf > 0 && (status !== 'confirmed' || this.#confirmations(u) < minconf)) return false;
        return u.keyKind === 'p2wpkh' || u.keyKind === 'p2tr';
      })
      .map((u) => ({ txid: u.txid, vout: u.vout, amountSat: u.amountSat, kind: u.keyKind as KeyKind, record: u }));
  }

  /**
   * The backend's estimate for lightningd's `feerate` parameter (default `normal`), sat per kw, or null
   * when the backend has none — never the fallback: for decisions that must not act on a guess
   * (following the market with update_fee, limiting a peer's).
   */
  async estimateFeerate(feerate: unknown = 'normal'): Promise<number | null> {
    const spec = feerateSpec(feerate);
    if (spec.kind === 'fixed') return spec.feeRateSatPerKw;
    const est = await this.#chain.estimateFeeSatPerKw(spec.blocks).catch(() => null);
    return est ? est.feeRateSatPerKw : null;
  }

  /** A fee rate for lightningd's `feerate` parameter (default `normal`), sat per kw: the backend's estimate, else the fallback. */
  async resolveFeerate(feerate: unknown = 'normal'): Promise<number> {
    const est = await this.estimateFeerate(feerate);
    if (est !== null) return est;
    if (this.#fallback !== undefined) return this.#fallback;
    throw new WalletError('NO_FEERATE', 'Cannot estimate fees');
  }

  /**
   * Selects inputs for `outputs` at the fee rate, adds change back to the wallet (a fresh P2WPKH change
   * address) unless it would be dust, signs every input, and reserves the inputs for 72 blocks. Nothing
   * is published: call {@link broadcast}, or {@link release} to give the inputs back.
   */
  fundTransaction(req: FundRequest): Promise<FundedTransaction> {
    return this.#serialize(() => this.#fund(req));
  }

  async #fund(req: FundRequest): Promise<FundedTransaction> {
    const minconf = req.minconf ?? 1;
    if (!Number.isSafeInteger(minconf) || minconf < 0) throw new WalletError('INVALID', `wallet: invalid minconf ${minconf}`);
    if (req.outputs.length === 0) throw new WalletError('INVALID', 'wallet: no outputs');
    const all = req.outputs.some((o) => o.amountSat === 'all');
    if (all && req.outputs.length !== 1) throw new WalletError('INVALID', "wallet: 'all' needs a single output");
    let candidates: (Candidate & { record: UtxoRecord })[];
    if (req.utxos) {
      const rows = await this.#repo.listUtxos();
      const usable = await this.#spendable(0);
      candidates = req.utxos.map((o) => {
        const c = usable.find((u) => u.txid === o.txid && u.vout === o.vout);
        if (!c) {
          const known = rows.find((u) => u.txid === o.txid && u.vout === o.vout);
          throw new WalletError('UNKNOWN_UTXO', known ? `UTXO ${o.txid}:${o.vout} already reserved or not spendable` : `Unknown UTXO ${o.txid}:${o.vout}`);
        }
        return c;
      });
    } else {
      candidates = await this.#spendable(minconf);
    }
    // The change key is only consumed when a change output is made.
    const changePreview = this.keys.derive('p2wpkh', CHANGE, this.#next.get(`p2wpkh:${CHANGE}`) ?? 0);
    const sel = selectCoins({
      candidates,
      outputs: req.outputs.map((o) => ({ script: o.script, amountSat: o.amountSat === 'all' ? 0n : o.amountSat })),
      feeRateSatPerKw: req.feeRateSatPerKw,
      changeScript: changePreview.script,
      all,
      useAll: req.utxos !== undefined,
    });
    const changeKey = sel.changeSat > 0n ? await this.#nextKey('p2wpkh', CHANGE) : null;
    const tipHeight = this.#tip?.height ?? (await this.#chain.getBlockCount());
    const lockTime = req.lockTime ?? Math.max(0, tipHeight);
    const tx = new Transaction({ allowUnknownOutputs: true, version: 2, lockTime });
    for (const c of sel.inputs) {
      const k = this.keys.derive(c.kind, c.record.keyBranch as Branch, c.record.keyIndex);
      tx.addInput({
        txid: c.txid,
        index: c.vout,
        sequence: FINAL_SEQUENCE_RBF,
        witnessUtxo: { script: k.script, amount: c.amountSat },
        ...(c.kind === 'p2tr' ? { tapInternalKey: k.publicKey.subarray(1) } : {}),
      });
    }
    req.outputs.forEach((o, i) => tx.addOutput({ script: o.script, amount: sel.outputAmounts[i]! }));
    let changeOutnum: number | null = null;
    let change: NewUtxo | null = null;
    if (changeKey) {
      changeOutnum = tx.addOutput({ script: changeKey.script, amount: sel.changeSat });
      change = { txid: '', vout: changeOutnum, amountSat: sel.changeSat, script: changeKey.script, keyKind: 'p2wpkh', keyBranch: CHANGE, keyIndex: changeKey.index, coinbase: false };
    }
    sel.inputs.forEach((c, i) => {
      const k = this.keys.derive(c.kind, c.record.keyBranch as Branch, c.record.keyIndex);
      if (!tx.signIdx(k.privateKey, i)) throw new WalletError('INVALID', `wallet: could not sign input ${i}`);
    });
    tx.finalize();
    const raw = tx.extract();
    const txid = tx.id;
    if (change) change.txid = txid;
    const reservedTill = tipHeight + RESERVE_BLOCKS;
    await this.#repo.reserve(sel.inputs, reservedTill);
    return {
      txid,
      raw,
      hex: tx.hex,
      psbt: tx.toPSBT(0),
      inputs: sel.inputs.map((c) => ({ txid: c.txid, vout: c.vout, amountSat: c.amountSat })),
      outputAmounts: sel.outputAmounts,
      changeOutnum,
      changeSat: sel.changeSat,
      feeSat: sel.feeSat,
      weight: tx.weight,
      reservedTill,
      change,
    };
  }

  /** Publishes a funded transaction and records it (inputs pending, change unconfirmed). */
  broadcast(f: FundedTransaction): Promise<string> {
    return this.#serialize(async () => {
      try {
        await this.#chain.sendRawTransaction(f.raw);
      } catch (err) {
        throw new WalletError('BROADCAST', `Error broadcasting transaction: ${(err as Error).message}`, { cause: err });
      }
      await this.#repo.recordBroadcast({ txid: f.txid, raw: f.raw }, f.inputs, f.change ? [f.change] : [], f.reservedTill);
      this.#pending.add(f.txid);
      if (f.change) this.#unspent.add(`${f.txid}:${f.change.vout}`);
      return f.txid;
    });
  }

  /** Gives back the inputs of a funded transaction that will not be published. */
  release(f: FundedTransaction): Promise<void> {
    return this.#serialize(() => this.#repo.reserve(f.inputs, null));
  }

  /** CLN's `withdraw`: pay `amountSat` (or everything) to an address, publish, and return the transaction. */
  async withdraw(req: WithdrawRequest): Promise<{ txid: string; hex: string; psbt: Uint8Array }> {
    const script = addressToScript(req.destination, this.keys.network);
    if (req.amountSat !== 'all' && req.amountSat < dustThreshold(script)) throw new WalletError('DUST', `Output ${req.amountSat}sat would be dust`);
    const feeRateSatPerKw = await this.resolveFeerate(req.feerate ?? 'normal');
    const funded = await this.fundTransaction({
      outputs: [{ script, amountSat: req.amountSat }],
      feeRateSatPerKw,
      ...(req.minconf !== undefined ? { minconf: req.minconf } : {}),
      ...(req.utxos ? { utxos: req.utxos } : {}),
    });
    try {
      await this.broadcast(funded);
    } catch (err) {
      await this.release(funded).catch(() => undefined);
      throw err;
    }
    return { txid: funded.txid, hex: funded.hex, psbt: funded.psbt };
  }
}

/** The wallet the daemon runs: call `start()` after the store is open, `stop()` before closing it. */
export function createWallet(opts: WalletOptions): Wallet {
  return new Wallet(opts);
}

/** lightningd's `feerate` parameter, or the wallet's INVALID error. */
function feerateSpec(feerate: unknown): FeerateSpec {
  try {
    return parseFeerate(feerate);
  } catch (e) {
    throw new WalletError('INVALID', (e as Error).message);
  }
}
