/**
 * The invoice book: the node's BOLT 11 invoices, durable, with their states, and what the HTLC intake
 * asks of them. Every shell (CLN's `invoice`/`listinvoices`/…, LND's AddInvoice/LookupInvoice/…) and the
 * intake use this one class.
 *
 * - **Preimages**: from the seed, deterministic per index — `HMAC-SHA256(key, index as 8 bytes big-endian)`
 *   with `key = HMAC-SHA256(seed, "anode invoice preimages")` ({@link InvoiceBook.preimageKey}); the index
 *   is taken from a counter committed before use, so no preimage is ever issued twice, and every one can
 *   be re-derived from the seed. A caller may give its own (CLN's `preimage`, LND's `r_preimage`).
 * - **payment_secret**: always, derived as Core Lightning derives it (SHA-256 of the preimage with the
 *   lowest bit of its first byte flipped), and stored.
 * - **Features**: `var_onion_optin` (8) and `payment_secret` (14) compulsory, `basic_mpp` (17) optional.
 * - **States**: `unpaid`, `paid`, and `expired` — computed at every read from `expires_at`; a timer
 *   also announces each expiry to subscribers and waiters (`waitinvoice`, LND's SubscribeInvoices).
 * - **Durable**: the row is committed before the invoice string is returned, and `markPaid` commits the
 *   payment before the intake may release the preimage.
 * - **Route hints** are written only when the caller gives them (Core Lightning adds its unannounced
 *   channels by default when it has no announced ones; anode has no gossip yet, so no channel policy to
 *   put in a hint).
 *
 * The intake's seam, per incoming final HTLC (see {@link MppSet} for the set):
 * ```ts
 * const check = await book.checkHtlc(hash, { paymentSecret, totalMsat, cltvExpiry, height });
 * if (check.kind === 'reject') fail(htlc, check.failureCode);          // incorrect_or_unknown_payment_details
 * const d = (sets[hash] ??= new MppSet(check.invoice.amountMsat)).add({ key, amountMsat, totalMsat }, Date.now());
 * if (d.action === 'settle') {
 *   const paid = await book.markPaid(hash, d.receivedMsat, d.parts.length); // committed here
 *   paid ? d.parts.forEach((k) => fulfil(k, paid.preimage)) : d.parts.forEach((k) => fail(k, INCORRECT_OR_UNKNOWN));
 * } else if (d.action === 'fail') d.parts.forEach((k) => fail(k, d.failureCode));
 * ```
 */
import { timingSafeEqual } from 'node:crypto';
import { hmacSha256, sha256 } from '../crypto/hash.js';
import { FailureCode } from '../onion/failure.js';
import type { InvoiceRepository, InvoiceRow, PaidHtlc } from '../store/invoices.js';
import { InvoiceStoreError } from '../store/invoices.js';
import { Feature, Features } from '../wire/features.js';
import { DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA, encodeInvoice, type Fallback, type InvoiceSigner, type RouteHintHop } from './bolt11.js';
import type { InvoiceNetwork } from './hrp.js';

/** Core Lightning's default expiry: one week. */
export const DEFAULT_INVOICE_EXPIRY_SECONDS = 604_800;
/** Core Lightning's INVOICE_MAX_LABEL_LEN. */
export const MAX_LABEL_BYTES = 128;
/** BOLT 11's largest field (1023 words): the longest description that fits in a `d` field. */
export const MAX_DESCRIPTION_BYTES = 639;

/** The features every invoice of this book carries. */
export const BOOK_INVOICE_FEATURES = Features.fromBits([Feature.VAR_ONION_OPTIN, Feature.PAYMENT_SECRET, Feature.BASIC_MPP + 1]);

export type InvoiceStatus = 'unpaid' | 'paid' | 'expired';

export interface InvoiceView extends InvoiceRow {
  status: InvoiceStatus;
}

export type BookErrorCode =
  | 'INVALID'
  | 'DUPLICATE_LABEL'
  | 'DUPLICATE_PREIMAGE'
  | 'NOT_FOUND'
  /** delinvoice: the status given is not the invoice's (`data` has current and expected). */
  | 'STATUS_UNEXPECTED'
  | 'NO_DESCRIPTION'
  | 'WAIT_TIMEOUT'
  | 'EXPIRED_DURING_WAIT'
  | 'DELETED_DURING_WAIT'
  | 'STOPPED';

export class BookError extends Error {
  override name = 'BookError';
  constructor(
    readonly code: BookErrorCode,
    message: string,
    /** The invoice concerned (waitinvoice's expiry reports it), or delinvoice's statuses. */
    readonly data?: { invoice?: InvoiceView; currentStatus?: InvoiceStatus; expectedStatus?: string },
  ) {
    super(message);
  }
}

export interface CreateInvoiceRequest {
  /** Unique; LND's AddInvoice has none: the payment hash in hex is used. */
  label?: string;
  /** Undefined: any amount. */
  amountMsat?: bigint;
  /** Stored, and written as the `d` field unless `descriptionHashOnly` or `descriptionHash` is set. */
  description: string;
  /** CLN `deschashonly`: the invoice carries SHA-256 of the description. */
  descriptionHashOnly?: boolean;
  /** LND `description_hash`: the `h` field as given. */
  descriptionHash?: Buffer;
  expirySeconds?: number;
  preimage?: Buffer;
  fallbacks?: Omit<Fallback, 'address'>[];
  minFinalCltvExpiryDelta?: number;
  routeHints?: RouteHintHop[][];
}

/** Whether an invoice is a keysend payment's record ({@link InvoiceBook.recordKeysend}): LND lists it with `is_keysend`. */
export function isKeysend(i: Pick<InvoiceRow, 'label' | 'description'>): boolean {
  return /^keysend-\d+\.\d{9}$/.test(i.label) && i.description === 'keysend';
}

export type InvoiceEvent = { type: 'created' | 'paid' | 'expired' | 'deleted'; invoice: InvoiceView };

export type HtlcCheck = { kind: 'accept'; invoice: InvoiceView } | { kind: 'reject'; failureCode: number; reason: string };

export interface InvoiceBookOptions {
  repo: InvoiceRepository;
  network: InvoiceNetwork;
  nodeId: Buffer;
  sign: InvoiceSigner;
  /** {@link InvoiceBook.preimageKey} of the node's seed. */
  preimageKey: Buffer;
  /** Unix seconds (tests move it). */
  now?: () => number;
  /** lightningd's `cltv-final`. */
  minFinalCltvExpiryDelta?: number;
}

type Waiter = (e: InvoiceEvent) => void;

export class InvoiceBook {
  readonly #o: InvoiceBookOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<Waiter>();
  /** Unpaid invoices' expiries (hash hex → Unix seconds), for the expiry timer. */
  readonly #expiries = new Map<string, number>();
  /** Pending waits, rejected by stop(). */
  readonly #cancels = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: InvoiceBookOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The key preimages are derived with, from the node's seed. */
  static preimageKey(seed: Uint8Array): Buffer {
    return hmacSha256(seed, Buffer.from('anode invoice preimages'));
  }

  /** The preimage of index `index` under `key`. */
  static derivePreimage(key: Uint8Array, index: number): Buffer {
    const i = Buffer.alloc(8);
    i.writeBigUInt64BE(BigInt(index));
    return hmacSha256(key, i);
  }

  /** Core Lightning's payment_secret for a preimage. */
  static paymentSecret(preimage: Uint8Array): Buffer {
    const modified = Buffer.from(preimage);
    modified[0]! ^= 1;
    return sha256(modified);
  }

  /** Loads the unpaid invoices' expiries and arms the expiry timer. */
  async start(): Promise<void> {
    this.#stopped = false;
    for (const r of await this.#o.repo.list()) if (r.state === 'unpaid') this.#expiries.set(r.paymentHash.toString('hex'), r.expiresAt);
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const cancel of [...this.#cancels]) cancel();
    this.#listeners.clear();
  }

  status(r: InvoiceRow): InvoiceStatus {
    if (r.state === 'paid') return 'paid';
    return this.#now() >= r.expiresAt ? 'expired' : 'unpaid';
  }

  #view(r: InvoiceRow): InvoiceView {
    return { ...r, status: this.status(r) };
  }

  async create(req: CreateInvoiceRequest): Promise<InvoiceView> {
    const labelBytes = Buffer.byteLength(req.label ?? '', 'utf8');
    if (labelBytes > MAX_LABEL_BYTES) throw new BookError('INVALID', `Label '${req.label}' over ${MAX_LABEL_BYTES} bytes`);
    const descBytes = Buffer.byteLength(req.description, 'utf8');
    if (descBytes > MAX_DESCRIPTION_BYTES && !req.descriptionHashOnly && !req.descriptionHash) {
      throw new BookError('INVALID', `Descriptions greater than ${MAX_DESCRIPTION_BYTES} bytes not yet supported (description length ${descBytes})`);
    }
    if (req.amountMsat !== undefined && req.amountMsat <= 0n) throw new BookError('INVALID', 'amount must be positive');
    if (req.preimage !== undefined && req.preimage.length !== 32) throw new BookError('INVALID', 'preimage must be 32 bytes');
    if (req.descriptionHash !== undefined && req.descriptionHash.length !== 32) throw new BookError('INVALID', 'description hash must be 32 bytes');
    const expiry = req.expirySeconds ?? DEFAULT_INVOICE_EXPIRY_SECONDS;
    if (!Number.isSafeInteger(expiry) || expiry < 0) throw new BookError('INVALID', `bad expiry ${expiry}`);
    if (req.label !== undefined && (await this.#o.repo.byLabel(req.label))) throw new BookError('DUPLICATE_LABEL', `Duplicate label '${req.label}'`);

    let preimage = req.preimage;
    if (preimage !== undefined) {
      if (await this.#o.repo.byHash(sha256(preimage))) throw new BookError('DUPLICATE_PREIMAGE', 'preimage already used');
    } else {
      preimage = InvoiceBook.derivePreimage(this.#o.preimageKey, await this.#o.repo.nextPreimageIndex());
    }
    const paymentHash = sha256(preimage);
    const label = req.label ?? paymentHash.toString('hex');
    const paymentSecret = InvoiceBook.paymentSecret(preimage);
    const createdAt = this.#now();
    const minFinal = req.minFinalCltvExpiryDelta ?? this.#o.minFinalCltvExpiryDelta ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA;
    const descriptionHash = req.descriptionHash ?? (req.descriptionHashOnly ? sha256(Buffer.from(req.description, 'utf8')) : undefined);
    const bolt11 = encodeInvoice(
      {
        network: this.#o.network,
        amountMsat: req.amountMsat,
        timestamp: createdAt,
        paymentHash,
        paymentSecret,
        ...(descriptionHash ? { descriptionHash } : { description: req.description }),
        expirySeconds: expiry,
        minFinalCltvExpiryDelta: minFinal,
        fallbacks: req.fallbacks,
        routeHints: req.routeHints,
        features: BOOK_INVOICE_FEATURES,
      },
      this.#o.sign,
    );
    let row: InvoiceRow;
    try {
      row = await this.#o.repo.insert({
        label,
        paymentHash,
        preimage,
        paymentSecret,
        amountMsat: req.amountMsat,
        description: req.description,
        bolt11,
        createdAt,
        expiresAt: createdAt + expiry,
        minFinalCltvExpiry: minFinal,
      });
    } catch (err) {
      if (err instanceof InvoiceStoreError) {
        throw err.code === 'DUPLICATE_LABEL' ? new BookError('DUPLICATE_LABEL', `Duplicate label '${label}'`) : new BookError('DUPLICATE_PREIMAGE', 'preimage already used');
      }
      throw err;
    }
    const view = this.#view(row);
    this.#expiries.set(paymentHash.toString('hex'), row.expiresAt);
    this.#arm();
    this.#emit({ type: 'created', invoice: view });
    return view;
  }

  async get(paymentHash: Buffer): Promise<InvoiceView | undefined> {
    const r = await this.#o.repo.byHash(paymentHash);
    return r && this.#view(r);
  }

  async byLabel(label: string): Promise<InvoiceView | undefined> {
    const r = await this.#o.repo.byLabel(label);
    return r && this.#view(r);
  }

  async list(q?: Parameters<InvoiceRepository['list']>[0]): Promise<InvoiceView[]> {
    return (await this.#o.repo.list(q)).map((r) => this.#view(r));
  }

  /** The preimage of a paid invoice (the on-chain resolver claims HTLCs of it), else undefined: an unpaid one's preimage is never released. */
  async paidPreimage(paymentHash: Buffer): Promise<Buffer | undefined> {
    const inv = await this.get(paymentHash);
    return inv?.status === 'paid' ? inv.preimage : undefined;
  }

  /** Paid invoices with a pay index above `after`, in pay order (LND's settle_index replay). */
  async paidAfter(after: number): Promise<InvoiceView[]> {
    return (await this.#o.repo.paidAfter(after)).map((r) => this.#view(r));
  }

  /**
   * May a final HTLC (or part) pay this hash? BOLT 4's final-node checks that need the invoice: known,
   * unpaid and unexpired, the right payment_secret, `total_msat` at least the amount and at most twice
   * it, and `cltv_expiry` at least `height + min_final_cltv_expiry`. Every refusal is
   * `incorrect_or_unknown_payment_details` (its data — the HTLC amount and height — is the intake's);
   * `reason` is Core Lightning's log text.
   */
  async checkHtlc(paymentHash: Buffer, h: { paymentSecret: Buffer | undefined; totalMsat: bigint; cltvExpiry: number; height: number }): Promise<HtlcCheck> {
    const reject = (reason: string): HtlcCheck => ({ kind: 'reject', failureCode: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, reason });
    const hashHex = paymentHash.toString('hex');
    const inv = await this.get(paymentHash);
    if (!inv) return reject(`Unknown invoice ${hashHex}`);
    if (inv.status !== 'unpaid') return reject(`Already paid or expired invoice ${hashHex}`);
    if (h.paymentSecret === undefined) return reject(`Attempt to pay ${hashHex} without secret`);
    if (h.paymentSecret.length !== 32 || !timingSafeEqual(h.paymentSecret, inv.paymentSecret)) return reject(`Attempt to pay ${hashHex} with wrong secret`);
    if (inv.amountMsat !== undefined) {
      if (h.totalMsat < inv.amountMsat) return reject(`Attempt to pay ${hashHex} with amount ${h.totalMsat}msat < ${inv.amountMsat}msat`);
      if (h.totalMsat > 2n * inv.amountMsat) return reject(`Attempt to pay ${hashHex} with amount ${h.totalMsat}msat > ${2n * inv.amountMsat}msat`);
    }
    if (h.cltvExpiry < h.height + inv.minFinalCltvExpiry) return reject(`Expiry cltv ${h.cltvExpiry} too soon for invoice ${hashHex} (height ${h.height}, min_final_cltv_expiry ${inv.minFinalCltvExpiry})`);
    return { kind: 'accept', invoice: inv };
  }

  /**
   * Records the payment of an unpaid invoice (committed when this resolves) and returns it with its
   * preimage; undefined when the invoice is unknown, already paid or expired — the intake then fails the
   * set instead of releasing the preimage. `htlcs` names the HTLCs that paid it (the intake's
   * `channel_id/htlc_id`), so that after a restart exactly those are fulfilled.
   */
  async markPaid(paymentHash: Buffer, amountReceivedMsat: bigint, parts: number, htlcs?: readonly (string | PaidHtlc)[]): Promise<InvoiceView | undefined> {
    const inv = await this.get(paymentHash);
    if (!inv || inv.status !== 'unpaid') return undefined;
    const row = await this.#o.repo.markPaid(paymentHash, { amountReceivedMsat, parts, paidAt: this.#now(), htlcs });
    if (!row) return undefined;
    const view = this.#view(row);
    this.#expiries.delete(paymentHash.toString('hex'));
    this.#emit({ type: 'paid', invoice: view });
    return view;
  }

  /**
   * Records a keysend payment of `amountMsat` (one HTLC) as Core Lightning's keysend plugin does: an
   * invoice of that amount with the sender's preimage, labelled `keysend-<seconds>.<nanoseconds>` and
   * described `keysend`, then marked paid — so `listinvoices` lists it `paid` with its
   * `amount_received_msat`, and LND's ListInvoices as SETTLED with `is_keysend` and no payment request,
   * as LND lists its own keysend invoices ({@link isKeysend}). Each step commits; after a
   * crash between the two, the unpaid row is found and paid. Undefined when the hash is already taken by
   * another payment (LND and CLN fail such a keysend).
   */
  async recordKeysend(preimage: Buffer, amountMsat: bigint, htlc?: string | PaidHtlc): Promise<InvoiceView | undefined> {
    const hash = sha256(preimage);
    let inv = await this.get(hash);
    if (inv === undefined) {
      const ns = process.hrtime.bigint() % 1_000_000_000n;
      try {
        inv = await this.create({ label: `keysend-${this.#now()}.${ns.toString().padStart(9, '0')}`, amountMsat, description: 'keysend', preimage });
      } catch (err) {
        if (err instanceof BookError) return undefined; // the same preimage at once on another HTLC
        throw err;
      }
    } else if (!inv.label.startsWith('keysend-') || inv.status !== 'unpaid') return undefined;
    return this.markPaid(hash, amountMsat, 1, htlc === undefined ? undefined : [htlc]);
  }

  /** delinvoice: removes the invoice (or only its description) when its status is `status`. */
  async delete(label: string, status: string, descriptionOnly = false): Promise<InvoiceView> {
    const inv = await this.byLabel(label);
    if (!inv) throw new BookError('NOT_FOUND', 'Unknown invoice');
    if (inv.status !== status) {
      throw new BookError('STATUS_UNEXPECTED', `Invoice status is ${inv.status} not ${status}`, { currentStatus: inv.status, expectedStatus: status });
    }
    if (descriptionOnly) {
      if (inv.description === undefined) throw new BookError('NO_DESCRIPTION', 'Invoice description already removed');
      const r = await this.#o.repo.deleteDescription(label);
      if (!r) throw new BookError('NOT_FOUND', 'Unknown invoice');
      return this.#view(r);
    }
    if (!(await this.#o.repo.delete(label))) throw new BookError('NOT_FOUND', 'Unknown invoice');
    this.#expiries.delete(inv.paymentHash.toString('hex'));
    this.#emit({ type: 'deleted', invoice: inv });
    return inv;
  }

  /** Every creation, payment, expiry and deletion from now on; returns the unsubscribe function. */
  subscribe(listener: (e: InvoiceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /**
   * waitinvoice: resolves with the invoice once paid; throws EXPIRED_DURING_WAIT (with the invoice) once
   * expired, DELETED_DURING_WAIT when deleted, NOT_FOUND for an unknown label.
   */
  async waitInvoice(label: string): Promise<InvoiceView> {
    const settled = (inv: InvoiceView): InvoiceView => {
      if (inv.status === 'paid') return inv;
      throw new BookError('EXPIRED_DURING_WAIT', 'invoice expired during wait', { invoice: inv });
    };
    return this.#waitFor(
      async () => {
        const inv = await this.byLabel(label);
        if (!inv) throw new BookError('NOT_FOUND', 'Label not found');
        return inv.status === 'unpaid' ? undefined : settled(inv);
      },
      (e) => {
        if (e.invoice?.label !== label) return undefined;
        if (e.type === 'deleted') throw new BookError('DELETED_DURING_WAIT', 'Invoice deleted during wait');
        return e.type === 'paid' || e.type === 'expired' ? settled(e.invoice) : undefined;
      },
    );
  }

  /** waitanyinvoice: the first invoice paid with a pay index above `lastPayIndex`; WAIT_TIMEOUT after `timeoutMs`. */
  async waitAnyInvoice(lastPayIndex: number, timeoutMs?: number): Promise<InvoiceView> {
    return this.#waitFor(
      async () => (await this.#o.repo.paidAfter(lastPayIndex, 1)).map((r) => this.#view(r))[0],
      (e) => (e.type === 'paid' && (e.invoice.payIndex ?? 0) > lastPayIndex ? e.invoice : undefined),
      timeoutMs,
    );
  }

  /** Subscribes first, then checks the store, so no event between the two is missed. */
  #waitFor(now: () => Promise<InvoiceView | undefined>, onEvent: (e: InvoiceEvent) => InvoiceView | undefined, timeoutMs?: number): Promise<InvoiceView> {
    return new Promise<InvoiceView>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let unsubscribe = (): void => undefined;
      const cancel = (): void => finish(() => reject(new BookError('STOPPED', 'invoice book stopped')));
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        unsubscribe();
        this.#cancels.delete(cancel);
        if (timer) clearTimeout(timer);
        f();
      };
      if (this.#stopped) return cancel();
      this.#cancels.add(cancel);
      unsubscribe = this.subscribe((e) => {
        try {
          const v = onEvent(e);
          if (v) finish(() => resolve(v));
        } catch (err) {
          finish(() => reject(err));
        }
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => finish(() => reject(new BookError('WAIT_TIMEOUT', 'Timed out while waiting for invoice to be paid'))), timeoutMs);
      }
      now().then(
        (v) => v && finish(() => resolve(v)),
        (err: unknown) => finish(() => reject(err)),
      );
    });
  }

  #emit(e: InvoiceEvent): void {
    for (const l of [...this.#listeners]) l(e);
  }

  /** One timer for the earliest unpaid expiry; at it, each invoice now expired is announced once. */
  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped || this.#expiries.size === 0) return;
    let next = Infinity;
    for (const t of this.#expiries.values()) next = Math.min(next, t);
    const delayMs = Math.min(Math.max(0, (next - this.#now()) * 1000), 2 ** 31 - 1);
    this.#timer = setTimeout(() => void this.#expire(), delayMs);
    this.#timer.unref();
  }

  async #expire(): Promise<void> {
    const now = this.#now();
    for (const [hashHex, at] of [...this.#expiries]) {
      if (at > now) continue;
      this.#expiries.delete(hashHex);
      const inv = await this.get(Buffer.from(hashHex, 'hex')).catch(() => undefined);
      if (inv && inv.status === 'expired') this.#emit({ type: 'expired', invoice: inv });
    }
    this.#arm();
  }

  /** For tests and callers that move the clock: announce expiries due now. */
  async expireDue(): Promise<void> {
    await this.#expire();
  }
}
