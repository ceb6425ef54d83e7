/**
 * Sending payments (LND's payment lifecycle and control tower, CLN's `sendpay`/`pay`): every payment is
 * a row committed before its first HTLC leaves, every HTLC part a row committed (inside the channel's
 * `addHtlc`, with the id it will carry) before its `update_add_htlc` is sent, every outcome recorded
 * when the channel reports it (`htlcSettled`).
 *
 * - `sendpay`: one part over a route the caller gives; `waitsendpay` waits for it.
 * - `pay`/`keysend`: each part routed by the pathfinder (routing/) over the graph, our channels and the
 *   invoice's route hints, split when no single route carries the amount (MPP, `payment_data` with the
 *   total), every outcome fed to mission control, failed parts routed again until the timeout unless the
 *   payee refused for good.
 * - A hash is refused while a payment of it is pending or complete (CLN and LND do the same), so
 *   nothing is paid twice.
 * - After a restart (`start`, before any peer connects) each pending part is looked up in its channel:
 *   an id the channel never used was never sent (failed), a fulfilment the channel holds completes the
 *   payment, an HTLC still in the channel waits for its outcome as before.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Channel } from '../channel/channel.js';
import { ChannelError } from '../channel/errors.js';
import { sha256 } from '../crypto/hash.js';
import { OnionError } from '../onion/errors.js';
import { attributeFailure } from '../onion/failure-onion.js';
import { FailureCode, failureName, UPDATE } from '../onion/failure.js';
import { createOnion } from '../onion/sphinx.js';
import type { PaymentPart, PaymentRecord, PaymentRepository, PaymentStatus } from '../store/payments.js';
import { MissionControl, pairKey } from '../routing/mission.js';
import { findPart, holdParts, MIN_PART_MSAT, MIN_ROUTE_PROBABILITY, type FoundRoute, type LocalChannel } from '../routing/pathfind.js';
import { sendable } from './capacity.js';
import { hopPayloads, routeFromJson, routeJson, type FinalHopExtras, type RouteHop } from './route.js';

/** Why a part failed, as CLN's `waitsendpay` error data and LND's `HTLCAttempt.failure` report it. */
export interface PartFailure {
  message: string;
  /** BOLT 4 failure code (absent for a local failure or an unreadable one). */
  code?: number;
  /** 0 = us (a local failure), i = route[i-1]'s node. */
  erringIndex: number;
  erringNode?: string;
  erringChannel?: string;
  /** The decrypted failure message, hex. */
  rawMessage?: string;
  /** The payee refused for good: no other route helps. */
  terminal: boolean;
}

export type PaymentErrorCode = 'EXPIRED' | 'IN_PROGRESS' | 'ALREADY_PAID' | 'NO_ROUTE' | 'FAILED' | 'DESTINATION_FAILED' | 'NO_SUCH_PAYMENT' | 'TIMEOUT' | 'INVALID';

export class PaymentError extends Error {
  override name = 'PaymentError';
  constructor(
    readonly code: PaymentErrorCode,
    message: string,
    readonly payment?: PaymentRecord,
    readonly part?: PaymentPart,
    readonly failure?: PartFailure,
  ) {
    super(message);
  }
}

export interface PaymentSenderOptions {
  /** Our channels (the channel manager). */
  channels: { list(): Channel[]; get(id: string): Channel | undefined };
  store: PaymentRepository;
  nodeId: Buffer;
  blockHeight(): number;
  log: Logger;
  /** Parts `pay` sends before it gives up (default: no limit but the payment's timeout, as CLN's `retry_for`). */
  maxAttempts?: number;
  /** What past attempts taught (shared by every payment; a fresh one by default). */
  mission?: MissionControl;
  /** How long `pay` still waits for parts in flight once its `retry_for` is over (default {@link HELD_PARTS_GRACE_MS}). */
  heldPartsGraceMs?: number;
}

/** CLN's `retry_for` default (60 s), also LND's `timeout_seconds` usual value. */
export const DEFAULT_PAY_TIMEOUT_MS = 60_000;
/**
 * How long `pay` waits past `retry_for` for parts still in flight: a payee holds the parts of an
 * incomplete MPP set until its own MPP timeout (lightningd's is 60 s; LDK's three timer ticks), and a
 * part some hop holds may never resolve before its CLTV. After it `pay` answers TIMEOUT and the payment
 * stays pending until its parts end (listpays, waitsendpay).
 */
export const HELD_PARTS_GRACE_MS = 60_000;
/** A part less likely than this is split further when MPP allows (LND's minimum route probability). */
const SPLIT_BELOW_PROBABILITY = MIN_ROUTE_PROBABILITY;

/** What `pay` asks of the pathfinder for each part: a route delivering `amountMsat`, or none. */
export type RouteFinder = (
  amountMsat: bigint,
  ctx: { local: LocalChannel[]; inFlight: ReadonlyMap<string, bigint>; mission: MissionControl; maxFeeMsat: bigint | undefined; now: number },
) => FoundRoute | undefined;

export interface PayArgs {
  paymentHash: Buffer;
  destination: string;
  amountMsat: bigint;
  findRoute: RouteFinder;
  paymentSecret?: Buffer;
  keysendPreimage?: Buffer;
  paymentMetadata?: Buffer;
  mpp: boolean;
  bolt11?: string;
  label?: string;
  /** The most fees the whole payment may pay. */
  maxFeeMsat?: bigint;
  /** How long new parts are tried (CLN's `retry_for`, LND's `timeout_seconds`); default 60 s. */
  timeoutMs?: number;
  /** The smallest part MPP splitting makes (default 10,000 sat). */
  minPartMsat?: bigint;
  /** The most parts in flight at once (LND's `max_parts`): the last one allowed is not split further. Default: no limit. */
  maxParts?: number;
  /** The largest part MPP sends (LND's `max_shard_size_msat`). */
  maxPartMsat?: bigint;
}

export interface SendRequest {
  paymentHash: Buffer;
  route: RouteHop[];
  /** Total the payee receives (several parts of one group add up to it); default: the final hop's amount. */
  totalMsat?: bigint;
  paymentSecret?: Buffer;
  keysendPreimage?: Buffer;
  paymentMetadata?: Buffer;
  partId?: number;
  groupId?: number;
  bolt11?: string;
  label?: string;
  destination?: string;
}

interface Waiter {
  resolve(p: PaymentPart): void;
}

const hex = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('hex');

export class PaymentSender {
  readonly #o: PaymentSenderOptions;
  /** Pending parts by `channelId:htlcId`. */
  readonly #inFlight = new Map<string, PaymentPart>();
  /** Callers waiting for a part's outcome, by part row id. */
  readonly #waiters = new Map<number, Waiter[]>();
  /** Payment hashes a `pay`/`keysend` loop is driving (it decides their end). */
  readonly #driven = new Set<string>();
  /** Who hears that a payment's record changed (LND's control tower subscriptions: SendPaymentV2, TrackPaymentV2). */
  readonly #listeners = new Set<(paymentHash: string) => void>();
  #ready: Promise<void> | undefined;
  /** Mission control: what every attempt taught about the network's channels and nodes. */
  readonly mission: MissionControl;

  constructor(opts: PaymentSenderOptions) {
    this.#o = opts;
    this.mission = opts.mission ?? new MissionControl();
  }

  /**
   * Calls `fn` with a payment's hash each time its record changed — begun, a part recorded or settled,
   * finished — always after the change is written, so reading the store then shows it. Returns the
   * unsubscribe function.
   */
  subscribe(fn: (paymentHash: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(hash: string): void {
    for (const fn of this.#listeners) fn(hash);
  }

  /** Resolves the parts left pending by the last run from their channels' state; call before peers connect. */
  start(): Promise<void> {
    this.#ready ??= this.#resume();
    return this.#ready;
  }

  async #resume(): Promise<void> {
    const touched = new Set<string>();
    for (const part of await this.#o.store.pendingParts()) {
      const ch = this.#o.channels.get(part.channelId);
      const d = ch?.data;
      const key = `${part.channelId}:${part.htlcId}`;
      if (!d) {
        this.#o.log.warn({ payment: part.paymentHash, channel: part.channelId }, 'payment part: channel unknown, left pending');
        continue;
      }
      const fulfil = [...d.remoteChanges.proposed, ...d.remoteChanges.signed, ...d.remoteChanges.acked].find((u) => u.kind === 'fulfill' && u.id === part.htlcId);
      if (fulfil && fulfil.kind === 'fulfill') {
        await this.#record(part, { preimage: fulfil.preimage });
        touched.add(part.paymentHash);
      } else if (part.htlcId >= d.localNextHtlcId) {
        // The id was reserved, the add never committed: the peer never had it (or forgot it, as BOLT 2 says).
        await this.#record(part, { failure: { message: 'HTLC was never sent (restart)', erringIndex: 0, terminal: false } });
        touched.add(part.paymentHash);
      } else if (!htlcInChannel(ch!, part.htlcId)) {
        // Gone from every commitment and update with no outcome written: the peer failed it. A fulfil is
        // told to us as it arrives, and the channel's next state write waits for its record (ChannelManager);
        // a failure only after the state without the HTLC is saved, so a crash in between leaves exactly
        // this. (Its failure message is lost with it.)
        this.#o.log.warn({ payment: part.paymentHash, channel: part.channelId, htlc: String(part.htlcId) }, 'payment part: HTLC gone from its channel with no recorded outcome: failed');
        await this.#record(part, { failure: { message: 'HTLC failed by the peer (its failure was not recorded before a restart)', erringIndex: 0, terminal: false } });
        touched.add(part.paymentHash);
      } else this.#inFlight.set(key, part);
    }
    for (const hash of touched) await this.#conclude(hash);
  }

  /**
   * An HTLC we offered was resolved on chain (the channel manager's `offeredHtlcOnChain`, told at every
   * block while its channel resolves): fulfilled with the preimage its taker revealed, or failed locally
   * once our timeout (or the commitment without it) is deep enough. A part not in flight is ignored.
   */
  async resolvedOnChain(ch: Channel, ev: { id: bigint; preimage: Buffer } | { id: bigint; failure: string }): Promise<void> {
    await this.start();
    const part = this.#inFlight.get(`${ch.id}:${ev.id}`);
    if (!part) return;
    this.#o.log.info({ payment: part.paymentHash, channel: ch.id, htlc: String(ev.id), outcome: 'preimage' in ev ? 'fulfilled' : ev.failure }, 'payment part resolved on chain');
    if ('preimage' in ev) await this.#record(part, { preimage: ev.preimage });
    else await this.#record(part, { failure: { message: ev.failure, erringIndex: 0, terminal: false } });
  }

  /** The channel reported the outcome of an HTLC we offered (manager's `offeredHtlcSettled`); `committed` is called once the part's outcome is written. */
  async settled(ch: Channel, ev: { id: bigint; preimage?: Buffer; failure?: Buffer }, committed?: () => void): Promise<void> {
    await this.start();
    const part = this.#inFlight.get(`${ch.id}:${ev.id}`);
    if (!part) return;
    if (ev.preimage) await this.#record(part, { preimage: ev.preimage }, committed);
    else await this.#record(part, { failure: attribute(part, ev.failure ?? Buffer.alloc(0)) });
  }

  /**
   * A fulfil of an HTLC we offered, as {@link settled}: resolves as soon as the part's preimage is written
   * (what a restart reads), the rest going on. The node hands it to the channel, whose next state write
   * waits for it. Rejects if that write failed; a later failure is only logged.
   */
  fulfilled(ch: Channel, id: bigint, preimage: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const commit = (): void => void ((done = true), resolve());
      this.settled(ch, { id, preimage }, commit).then(commit, (err: Error) => {
        if (!done) return reject(err);
        this.#o.log.error({ err: err.message, channel: ch.id, htlc: String(id) }, 'payment: completing a fulfilled payment failed');
      });
    });
  }

  async #record(part: PaymentPart, outcome: { preimage: Buffer } | { failure: PartFailure }, committed?: () => void): Promise<void> {
    const now = nowSec();
    this.#inFlight.delete(`${part.channelId}:${part.htlcId}`);
    if ('preimage' in outcome) {
      await this.#o.store.settlePart(part.id, { preimage: hex(outcome.preimage) }, now);
      committed?.();
      // The preimage is proof of payment: the whole payment is complete whatever other parts do.
      await this.#o.store.finish(part.paymentHash, { preimage: hex(outcome.preimage) }, now);
      Object.assign(part, { status: 'complete', preimage: hex(outcome.preimage), completedAt: now });
    } else {
      const failure = JSON.stringify(outcome.failure);
      await this.#o.store.settlePart(part.id, { failure }, now);
      Object.assign(part, { status: 'failed', failure, completedAt: now });
      // The payment's own status is written before a waiter hears of the failure (a retry sees it failed).
      await this.#conclude(part.paymentHash);
    }
    await this.#learn(part, outcome);
    this.#o.log.info({ payment: part.paymentHash, part: part.partId, status: part.status }, 'payment part settled');
    this.#changed(part.paymentHash);
    for (const w of this.#waiters.get(part.id) ?? []) w.resolve(part);
    this.#waiters.delete(part.id);
  }

  /** Mission control learns from every part's outcome, whoever sent it (`pay`, `sendpay`), written before anyone hears of it. */
  async #learn(part: PaymentPart, outcome: { preimage: Buffer } | { failure: PartFailure }): Promise<void> {
    const route = routeFromJson(part.route);
    const me = hex(this.#o.nodeId);
    const hops = route.map((h, i) => ({ from: i === 0 ? me : route[i - 1]!.id, to: h.id, scid: h.channel, amountMsat: h.amountMsat }));
    const now = Date.now();
    if ('preimage' in outcome) await this.mission.learn(hops, { success: true }, now);
    else await this.mission.learn(hops, { success: false, erringIndex: outcome.failure.erringIndex, ...(outcome.failure.code !== undefined ? { code: outcome.failure.code } : {}) }, now);
  }

  /** A payment no loop drives (`sendpay`, or after a restart) fails once every part of its group failed. */
  async #conclude(hash: string): Promise<void> {
    if (this.#driven.has(hash)) return;
    const p = await this.#o.store.get(hash);
    if (p?.status !== 'pending') return;
    const parts = (await this.#o.store.parts(hash)).filter((x) => x.groupId === p.groupId);
    if (parts.length > 0 && parts.every((x) => x.status === 'failed')) {
      await this.#o.store.finish(hash, { failure: parts[parts.length - 1]!.failure! }, nowSec());
      this.#changed(hash);
    }
  }

  /**
   * Sends one part over `req.route` (CLN's `sendpay`): records the payment (refusing a hash pending in
   * another group or already paid) and the part, then offers the HTLC. Returns the part as recorded.
   */
  async sendpay(req: SendRequest): Promise<PaymentPart> {
    await this.start();
    const route = req.route;
    if (route.length === 0) throw new PaymentError('INVALID', 'Empty route');
    const last = route[route.length - 1]!;
    const hash = hex(req.paymentHash);
    const begun = await this.#o.store.begin({
      paymentHash: hash,
      destination: req.destination ?? last.id,
      amountMsat: req.totalMsat ?? last.amountMsat,
      bolt11: req.bolt11,
      label: req.label,
      groupId: req.groupId,
      createdAt: nowSec(),
    });
    if (!begun.ok) throw alreadyError(begun.existing);
    this.#changed(hash);
    const ch = this.#firstChannel(route[0]!, new Set());
    if (!ch) throw new PaymentError('NO_ROUTE', `No usable channel ${route[0]!.channel} to ${route[0]!.id}`, begun.payment);
    return this.#offer(begun.payment, ch, route, req, req.partId ?? 0);
  }

  #firstChannel(hop: RouteHop, excluded: Set<string>): Channel | undefined {
    const mine = this.#o.channels.list().filter((c) => c.usable && c.data.peerId === hop.id && !excluded.has(c.id));
    // The channel the route names, else any other to the same peer (non-strict, as every implementation forwards).
    return mine.find((c) => c.data.shortChannelId === hop.channel) ?? mine[0];
  }

  async #offer(payment: PaymentRecord, ch: Channel, route: RouteHop[], req: Omit<SendRequest, 'route'>, partId: number): Promise<PaymentPart> {
    const extras: FinalHopExtras = {
      ...(req.paymentSecret ? { paymentData: { paymentSecret: req.paymentSecret, totalMsat: req.totalMsat ?? route[route.length - 1]!.amountMsat } } : {}),
      ...(req.keysendPreimage ? { keysendPreimage: req.keysendPreimage } : {}),
      ...(req.paymentMetadata ? { paymentMetadata: req.paymentMetadata } : {}),
    };
    const payloads = hopPayloads(route, extras);
    const { packet, sharedSecrets } = createOnion({
      sessionKey: randomBytes(32),
      associatedData: req.paymentHash,
      hops: route.map((h, i) => ({ nodeId: Buffer.from(h.id, 'hex'), payload: payloads[i]! })),
    });
    let part: PaymentPart | undefined;
    const first = route[0]!;
    const stored = [{ ...first, channel: ch.data.shortChannelId ?? first.channel }, ...route.slice(1)];
    try {
      await ch.addHtlc({
        amountMsat: first.amountMsat,
        paymentHash: req.paymentHash,
        cltvExpiry: first.delay,
        onion: packet,
        beforeSend: async (htlcId) => {
          part = await this.#o.store.addPart({
            paymentHash: payment.paymentHash,
            groupId: payment.groupId,
            partId,
            channelId: ch.id,
            htlcId,
            amountMsat: first.amountMsat,
            deliveredMsat: route[route.length - 1]!.amountMsat,
            route: routeJson(stored),
            sharedSecrets: sharedSecrets.map(hex),
            createdAt: nowSec(),
          });
          this.#inFlight.set(`${ch.id}:${htlcId}`, part);
          this.#changed(payment.paymentHash);
        },
      });
    } catch (e) {
      if (!(e instanceof ChannelError)) throw e;
      if (part) {
        await this.#record(part, { failure: { message: e.message, erringIndex: 0, terminal: false } });
        await this.#conclude(payment.paymentHash);
      }
      throw new PaymentError('NO_ROUTE', e.message, payment);
    }
    this.#o.log.info({ payment: payment.paymentHash, part: partId, channel: ch.id, amountMsat: String(first.amountMsat) }, 'payment part sent');
    return part!;
  }

  /** The part's outcome: resolves when it is no longer pending (or rejects with TIMEOUT). */
  waitPart(part: PaymentPart, timeoutMs?: number): Promise<PaymentPart> {
    if (part.status !== 'pending') return Promise.resolve(part);
    return new Promise((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject(new PaymentError('TIMEOUT', 'Timed out while waiting')), timeoutMs);
      const list = this.#waiters.get(part.id) ?? [];
      list.push({ resolve: (p) => (clearTimeout(timer), resolve(p)) });
      this.#waiters.set(part.id, list);
    });
  }

  /** CLN's `waitsendpay`: the part `partId` of the hash's latest group; a failed part rejects with FAILED/DESTINATION_FAILED. */
  async waitsendpay(paymentHash: Buffer, partId = 0, timeoutMs?: number, groupId?: number): Promise<PaymentPart> {
    await this.start();
    const hash = hex(paymentHash);
    const payment = await this.#o.store.get(hash);
    const group = groupId ?? payment?.groupId;
    const stored = (await this.#o.store.parts(hash)).filter((p) => p.groupId === group && p.partId === partId).pop();
    if (!payment || !stored) throw new PaymentError('NO_SUCH_PAYMENT', `Never attempted payment part ${partId}`);
    const part = [...this.#inFlight.values()].find((p) => p.id === stored.id) ?? stored;
    const done = await this.waitPart(part, timeoutMs);
    if (done.status === 'complete') return done;
    const failure = JSON.parse(done.failure!) as PartFailure;
    throw new PaymentError(failure.terminal ? 'DESTINATION_FAILED' : 'FAILED', failure.message, payment, done, failure);
  }

  async payment(paymentHash: string): Promise<{ payment: PaymentRecord; parts: PaymentPart[] } | undefined> {
    const payment = await this.#o.store.get(paymentHash);
    return payment ? { payment, parts: await this.#o.store.parts(paymentHash) } : undefined;
  }

  listPayments(): Promise<PaymentRecord[]> {
    return this.#o.store.list();
  }

  /** How many payments are in each status (metrics). */
  countByStatus(): Promise<Map<PaymentStatus, number>> {
    return this.#o.store.countByStatus();
  }

  /** The payment's 1-based place among all payments in {@link listPayments}' order (LND's payment_index). */
  paymentIndex(paymentHash: string): Promise<number | undefined> {
    return this.#o.store.position(paymentHash);
  }

  listParts(paymentHash?: string): Promise<PaymentPart[]> {
    return this.#o.store.parts(paymentHash);
  }

  #localChannels(excluded: ReadonlySet<string>, offered: ReadonlyMap<string, bigint>): LocalChannel[] {
    return localChannels(this.#o.channels.list(), excluded, offered);
  }

  /**
   * Pays `amountMsat` to `destination` (CLN's `pay`, LND's `SendPaymentV2`): each part takes the route
   * `findRoute` gives for what is still to deliver (split in halves when no single route carries it and
   * `mpp` allows it), every outcome teaches {@link mission} control, and failed parts are routed again
   * until the preimage comes back, the payee refuses for good, no route is left, or `timeoutMs` (CLN's
   * `retry_for`, 60 s) passes — parts in flight then still run to their end. Fees stay within
   * `maxFeeMsat` for the whole payment. Resolves with the completed payment once its other parts in
   * flight have ended (or the wait allowed a part in flight has passed); rejects with PaymentError.
   */
  async pay(args: PayArgs): Promise<{ payment: PaymentRecord; parts: PaymentPart[] }> {
    await this.start();
    const hash = hex(args.paymentHash);
    if (this.#driven.has(hash)) throw alreadyError((await this.#o.store.get(hash))!);
    const begun = await this.#o.store.begin({ paymentHash: hash, destination: args.destination, amountMsat: args.amountMsat, bolt11: args.bolt11, label: args.label, createdAt: nowSec() });
    if (!begun.ok) throw alreadyError(begun.existing);
    this.#driven.add(hash);
    this.#changed(hash);
    try {
      return await this.#drive(begun.payment, args);
    } finally {
      this.#driven.delete(hash);
      // Parts the loop stopped waiting for (TIMEOUT) conclude the payment as sendpay's do; one that failed
      // just now, while the loop still owned the payment, concludes it here.
      await this.#conclude(hash);
      // The loop's end (its failure written, or the preimage already recorded) is the payment's last change.
      this.#changed(hash);
    }
  }

  /** The first of `outstanding` to end, or undefined when none has by `until` (ms). */
  async #nextOutcome(outstanding: ReadonlyMap<number, Promise<PaymentPart>>, until: number): Promise<PaymentPart | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, until - Date.now()))));
    try {
      return await Promise.race([...outstanding.values(), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #drive(payment: PaymentRecord, args: PayArgs): Promise<{ payment: PaymentRecord; parts: PaymentPart[] }> {
    const deadline = Date.now() + (args.timeoutMs ?? DEFAULT_PAY_TIMEOUT_MS);
    /** Our channels that refused a part themselves (or whose peer, the payee, did): not tried again. */
    const excluded = new Set<string>();
    const outstanding = new Map<number, Promise<PaymentPart>>();
    /** What we offered on each channel in this payment but its commitment does not show yet. */
    const offered = new Map<string, bigint>();
    /** What our parts in flight hold per direction of the network, and the route of each part. */
    const inFlight = new Map<string, bigint>();
    const routes = new Map<number, FoundRoute>();
    let feesHeld = 0n;
    let remaining = args.amountMsat;
    let attempts = 0;
    let partId = 0;
    let lastFailure: PartFailure | undefined;
    let terminal: PartFailure | undefined;
    const maxAttempts = this.#o.maxAttempts ?? Infinity;
    const maxParts = args.maxParts ?? Infinity;
    const req = { paymentHash: args.paymentHash, totalMsat: args.amountMsat, paymentSecret: args.paymentSecret, keysendPreimage: args.keysendPreimage, paymentMetadata: args.paymentMetadata };
    for (;;) {
      while (!terminal && remaining > 0n && attempts < maxAttempts && outstanding.size < maxParts && Date.now() < deadline) {
        const local = this.#localChannels(excluded, offered);
        const left = remaining;
        // The fee budget left, shared among the parts in proportion to what each delivers.
        const budget = (amt: bigint): bigint | undefined => (args.maxFeeMsat === undefined ? undefined : ((args.maxFeeMsat - feesHeld) * amt) / left);
        const found = findPart((amt) => args.findRoute(amt, { local, inFlight, mission: this.mission, maxFeeMsat: budget(amt), now: Date.now() }), remaining, {
          // The last part max_parts allows is not split (LND: no splitting once the shard limit is reached).
          mpp: args.mpp && outstanding.size + 1 < maxParts,
          ...(args.mpp && args.maxPartMsat !== undefined ? { maxPartMsat: args.maxPartMsat } : {}),
          minPartMsat: args.minPartMsat ?? MIN_PART_MSAT,
          minProbability: SPLIT_BELOW_PROBABILITY,
        });
        const ch = found && this.#o.channels.get(found.hops[0]!.channelId ?? '');
        if (!found || !ch) break;
        const route = found.hops.map((h): RouteHop => ({ id: h.id, channel: h.scid, amountMsat: h.amountMsat, delay: this.#o.blockHeight() + h.cltvDelta }));
        attempts++;
        let part: PaymentPart;
        try {
          part = await this.#offer(payment, ch, route, req, partId++);
        } catch (e) {
          if (!(e instanceof PaymentError)) throw e;
          excluded.add(ch.id);
          lastFailure = { message: e.message, erringIndex: 0, terminal: false };
          continue;
        }
        remaining -= route[route.length - 1]!.amountMsat;
        offered.set(ch.id, (offered.get(ch.id) ?? 0n) + route[0]!.amountMsat);
        holdParts(found, inFlight);
        feesHeld += found.feeMsat;
        routes.set(part.id, found);
        outstanding.set(part.id, this.waitPart(part));
      }
      if (outstanding.size === 0) break;
      const done = await this.#nextOutcome(outstanding, deadline + (this.#o.heldPartsGraceMs ?? HELD_PARTS_GRACE_MS));
      if (!done) {
        const n = outstanding.size;
        throw new PaymentError('TIMEOUT', `Stopped waiting: ${n} part${n === 1 ? '' : 's'} still in flight after retry_for and ${(this.#o.heldPartsGraceMs ?? HELD_PARTS_GRACE_MS) / 1000} s more; the payment stays pending until ${n === 1 ? 'it ends' : 'they end'}`, (await this.#o.store.get(payment.paymentHash))!);
      }
      outstanding.delete(done.id);
      if (done.status === 'complete') {
        // Paid. As lightningd's pay and LND's payment lifecycle, report it once the other parts have ended
        // too (the payee releases every part at once, so they follow within a round trip), waiting for
        // them no longer than for a part in flight.
        while (outstanding.size > 0) {
          const next = await this.#nextOutcome(outstanding, deadline + (this.#o.heldPartsGraceMs ?? HELD_PARTS_GRACE_MS));
          if (!next) break;
          outstanding.delete(next.id);
        }
        return { payment: (await this.#o.store.get(payment.paymentHash))!, parts: await this.#o.store.parts(payment.paymentHash) };
      }
      const failure = JSON.parse(done.failure!) as PartFailure;
      lastFailure = failure;
      if (failure.terminal) terminal ??= failure;
      remaining += done.deliveredMsat;
      const found = routes.get(done.id)!;
      routes.delete(done.id);
      feesHeld -= found.feeMsat;
      for (const h of found.hops) {
        const k = pairKey(h.scid, h.direction);
        if (h.channelId === undefined) inFlight.set(k, (inFlight.get(k) ?? 0n) - h.amountMsat);
      }
      const ch = found.hops[0]!.channelId!;
      offered.set(ch, (offered.get(ch) ?? 0n) - done.amountMsat);
      // Our own channel refused, or the peer at its end is the payee and refused there: another channel.
      if (failure.erringIndex === 0 || (failure.erringIndex === 1 && found.hops.length === 1)) excluded.add(ch);
    }
    const failure: PartFailure = terminal ?? lastFailure ?? { message: `No route to ${args.destination} for ${remaining} msat`, erringIndex: 0, terminal: false };
    await this.#o.store.finish(payment.paymentHash, { failure: JSON.stringify(failure) }, nowSec());
    const final = (await this.#o.store.get(payment.paymentHash))!;
    if (terminal) throw new PaymentError('DESTINATION_FAILED', terminal.message, final, undefined, terminal);
    if (attempts === 0) throw new PaymentError('NO_ROUTE', failure.message, final, undefined, failure);
    throw new PaymentError('FAILED', `Ran out of routes to try after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${failure.message}`, final, undefined, failure);
  }
}

/** Our usable channels as the pathfinder sees them: real spendable balance less what a payment already offered on each. */
export function localChannels(channels: readonly Channel[], excluded: ReadonlySet<string> = new Set(), offered: ReadonlyMap<string, bigint> = new Map()): LocalChannel[] {
  return channels
    .filter((c) => c.usable && !excluded.has(c.id))
    .map((c) => {
      const room = sendable(c.data, 'local') - (offered.get(c.id) ?? 0n);
      return { channelId: c.id, scid: c.data.shortChannelId ?? c.id, peer: c.data.peerId, spendableMsat: room > 0n ? room : 0n, htlcMinimumMsat: c.data.remote.htlcMinimumMsat };
    })
    .filter((c) => c.spendableMsat > 0n);
}

function alreadyError(existing: PaymentRecord): PaymentError {
  return existing.status === 'complete'
    ? new PaymentError('ALREADY_PAID', 'Already succeeded', existing)
    : new PaymentError('IN_PROGRESS', 'Already have payment in progress', existing);
}

/** Whether HTLC `id` we offered is still anywhere in the channel: a commitment or a pending update. */
export function htlcInChannel(ch: Channel, id: bigint): boolean {
  const d = ch.data;
  const specs = [d.localCommit.spec, d.remoteCommit.spec, ...(d.nextRemoteCommit ? [d.nextRemoteCommit.spec] : [])];
  if (specs.some((s) => s.htlcs.some((h) => h.add.id === id && h.direction === (s === d.localCommit.spec ? 'offered' : 'received')))) return true;
  const changes = [...d.localChanges.proposed, ...d.localChanges.signed, ...d.localChanges.acked, ...d.remoteChanges.proposed, ...d.remoteChanges.signed, ...d.remoteChanges.acked];
  return changes.some((u) => u.kind !== 'fee' && u.id === id);
}

/** Which hop failed the part and why (BOLT 4 attribution); an empty reason is the first hop's `update_fail_malformed_htlc`. */
export function attribute(part: PaymentPart, reason: Buffer): PartFailure {
  const route = routeFromJson(part.route);
  const last = route.length;
  // CLN's erring_channel is the erring node's OUTGOING channel (route_channels[erring_index]), the last
  // channel when the destination erred — the direction mission control penalises too.
  const outgoing = (erringIndex: number): string | undefined => route[Math.min(erringIndex, last - 1)]?.channel;
  if (reason.length === 0) return { message: 'The first hop could not read the onion (update_fail_malformed_htlc)', erringIndex: 1, erringNode: route[0]?.id, erringChannel: outgoing(1), terminal: last === 1 };
  try {
    const a = attributeFailure(part.sharedSecrets.map((s) => Buffer.from(s, 'hex')), reason);
    const code = a.failure?.code ?? (a.messageBytes.length >= 2 ? a.messageBytes.readUInt16BE(0) : undefined);
    const name = code === undefined ? 'unreadable failure' : failureName(code);
    const atPayee = a.hopIndex === last - 1;
    // The payee refusing (unknown hash, wrong amount, expiry too soon, a permanent failure) ends the payment;
    // a channel or node on the way, or a temporary refusal, leaves other channels to try.
    const temporary = code !== undefined && (code === FailureCode.TEMPORARY_CHANNEL_FAILURE || (code & UPDATE) !== 0 || code === FailureCode.MPP_TIMEOUT);
    return {
      message: `failed: WIRE_${name.toUpperCase()} (reply from remote)`,
      code,
      erringIndex: a.hopIndex + 1,
      erringNode: route[a.hopIndex]?.id,
      erringChannel: outgoing(a.hopIndex + 1),
      rawMessage: a.messageBytes.toString('hex'),
      terminal: atPayee && !temporary,
    };
  } catch (e) {
    if (!(e instanceof OnionError)) throw e;
    return { message: `failed: unparseable onion reply (${e.message})`, erringIndex: 1, erringNode: route[0]?.id, terminal: false };
  }
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

/** The preimage and hash of a new keysend payment. */
export function keysendSecret(): { preimage: Buffer; paymentHash: Buffer } {
  const preimage = randomBytes(32);
  return { preimage, paymentHash: sha256(preimage) };
}
