/**
 * LND's routerrpc.Router over the node core's payment sender: SendPaymentV2, TrackPaymentV2 and
 * TrackPayments, server streams of lnrpc.Payment (lnrpc/routerrpc/router_server.go, router_backend.go).
 *
 * - SendPaymentV2 pays an invoice (`payment_request`, with `amt`/`amt_msat` when it has no amount) or
 *   a node by keysend (`dest`, an amount, the caller's preimage in `dest_custom_records[5482373484]`).
 *   The stream shows the payment IN_FLIGHT as it is begun and as each HTLC is attempted and resolved
 *   (unless `no_inflight_updates`), then once SUCCEEDED or FAILED, and ends. Every message is read from
 *   the sender's record after the change was written, so what the caller sees is what a restart keeps.
 * - A hash already paid is refused with `invoice is already paid`, one in flight with `payment is in
 *   transition`, both gRPC AlreadyExists, as LND's PreparePayment errors are.
 * - TrackPaymentV2 streams the current state of a hash, then its changes until it is final; an unknown
 *   hash is NotFound `payment isn't initiated`. TrackPayments streams every payment's changes.
 * - `fee_limit_sat`/`fee_limit_msat` is the pathfinder's fee budget for the whole payment and
 *   `timeout_seconds` how long it keeps trying (`retry_for`); no route within them ends the payment FAILED
 *   (FAILURE_REASON_NO_ROUTE). A local balance short of the amount is answered before anything is
 *   recorded, with one FAILED message (FAILURE_REASON_INSUFFICIENT_BALANCE).
 * - The route restrictions and part limits LND's extractIntentFromSendRequest takes, with its defaults,
 *   validation and texts (see `sendOptions`): `outgoing_chan_ids`, `last_hop_pubkey`, `cltv_limit`,
 *   `route_hints`, `max_parts` (0 → 16; one part for an invoice without basic_mpp and for keysend),
 *   `max_shard_size_msat`, a keysend's `dest_features` and `final_cltv_delta`; they reach the sender and
 *   the pathfinder through PayLimits.
 * - A failed HTLC's Failure carries the channel_update of an UPDATE failure (channel-update.ts).
 */
import { payContext, paymentSender } from '../../node/core/index.js';
import type { NodeCore } from '../../node/core/index.js';
import { sendable } from '../../payment/capacity.js';
import { KEYSEND_FINAL_CLTV_DELTA, keysend, parseInvoice, payInvoice, type PayContext, type PayLimits } from '../../payment/pay.js';
import { Feature, featureName, Features, MAX_FEATURE_BIT, missingDependency } from '../../wire/features.js';
import { BLOCK_PADDING, DEFAULT_CLTV_LIMIT, lastHopOf, outgoingChannels, routeHints } from './routes.js';
import { PaymentError, type PartFailure, type PaymentSender } from '../../payment/send.js';
import { OnionError } from '../../onion/errors.js';
import { decodeFailureMessage, failureName } from '../../onion/failure.js';
import { lndChannelUpdate } from './channel-update.js';
import { packageDefinition } from './methods.js';
import type { EnumDesc, MessageDesc } from './protojson.js';
import { sha256 } from '../../crypto/hash.js';
import { RpcError, Status } from './errors.js';
import { asBuffer, int, keysendRequest, paymentJson } from './payments.js';

type Msg = Record<string, unknown>;
type Send = (msg: Msg) => void;

const FINAL = new Set(['SUCCEEDED', 'FAILED']);

/** LND's errors for a hash that cannot be paid again (paymentsdb ErrAlreadyPaid, ErrPaymentInFlight). */
const ALREADY: Partial<Record<PaymentError['code'], string>> = { ALREADY_PAID: 'invoice is already paid', IN_PROGRESS: 'payment is in transition' };

/** The payment of `hash` as lnrpc.Payment, its `payment_index` its place among all payments (as ListPayments numbers them). */
async function marshal(sender: PaymentSender, hash: string): Promise<Msg | undefined> {
  // One payment and its place counted by the store: every streamed update used to read every payment.
  const [found, index] = await Promise.all([sender.payment(hash), sender.paymentIndex(hash)]);
  if (!found || index === undefined) return undefined;
  const { parts } = found;
  const msg = paymentJson(found.payment, parts, index);
  const failed = new Map(parts.filter((p) => p.status === 'failed' && p.failure).map((p) => [String(p.id), JSON.parse(p.failure!) as PartFailure]));
  for (const h of msg.htlcs as Msg[]) {
    const f = failed.get(h.attempt_id as string);
    if (f) h.failure = lndFailure(f);
  }
  return msg;
}

let failureCodes: Set<string> | undefined;

/**
 * A failed part as LND's Failure: the BOLT 4 code by LND's name for it, the hop that failed it
 * (`failure_source_index`, 0 = us), and the failure's data; an unreadable reply is UNREADABLE_FAILURE,
 * a local failure without a code INTERNAL_FAILURE, and the channel_update an UPDATE failure carries.
 */
function lndFailure(f: PartFailure): Msg {
  failureCodes ??= new Set((packageDefinition()['lnrpc.Failure'] as unknown as { type: MessageDesc }).type.enumType.find((e) => e.name === 'FailureCode')!.value.map((v) => v.name));
  const name = f.code === undefined ? (f.erringIndex === 0 ? 'INTERNAL_FAILURE' : 'UNREADABLE_FAILURE') : failureName(f.code).toUpperCase();
  const out: Msg = { code: failureCodes.has(name) ? name : 'UNKNOWN_FAILURE', failure_source_index: f.erringIndex };
  if (f.rawMessage && f.code !== undefined) {
    let m: Record<string, unknown>;
    try {
      m = decodeFailureMessage(Buffer.from(f.rawMessage, 'hex')) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof OnionError) return out; // the code was readable, its data not: the code alone
      throw e;
    }
    if (typeof m.htlcMsat === 'bigint') out.htlc_msat = String(m.htlcMsat);
    if (typeof m.height === 'number') out.height = m.height;
    if (typeof m.cltvExpiry === 'number') out.cltv_expiry = m.cltvExpiry;
    if (typeof m.disabledFlags === 'number') out.flags = m.disabledFlags;
    if (Buffer.isBuffer(m.sha256OfOnion)) out.onion_sha_256 = m.sha256OfOnion;
    const update = Buffer.isBuffer(m.channelUpdate) ? lndChannelUpdate(m.channelUpdate) : undefined;
    if (update) out.channel_update = update;
  }
  return out;
}

/**
 * Sends each change of the payments `follows` accepts, read after the change was written: duplicates
 * (nothing the caller can see changed) are dropped, IN_FLIGHT ones too with `noInflight`. Returns when
 * `done` says so, or when the caller goes. `initial` hashes are sent first without waiting for a change.
 */
async function follow(opts: { sender: PaymentSender; follows: (hash: string) => boolean; initial: string[]; noInflight: boolean; send: Send; signal: AbortSignal; done: (msg: Msg) => boolean }): Promise<void> {
  const { sender, signal } = opts;
  const dirty: string[] = [...opts.initial];
  let wake: (() => void) | undefined;
  const unsubscribe = sender.subscribe((hash) => {
    if (!opts.follows(hash)) return;
    if (!dirty.includes(hash)) dirty.push(hash);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  const last = new Map<string, string>();
  try {
    for (;;) {
      while (dirty.length > 0 && !signal.aborted) {
        const hash = dirty.shift()!;
        const msg = await marshal(sender, hash);
        if (!msg) continue;
        const text = JSON.stringify(msg, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
        if (last.get(hash) !== text && !(opts.noInflight && !FINAL.has(msg.status as string))) {
          last.set(hash, text);
          opts.send(msg);
        }
        if (opts.done(msg)) return;
      }
      if (signal.aborted) return;
      if (dirty.length > 0) continue;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

/** A payment that fails before anything is recorded (its route over the fee limit, our balance short): one FAILED message. */
function unrecorded(hash: Buffer, amountMsat: bigint, reason: string): Msg {
  const now = BigInt(Date.now());
  return {
    payment_hash: hash.toString('hex'),
    value: String(amountMsat / 1000n),
    value_sat: String(amountMsat / 1000n),
    value_msat: String(amountMsat),
    creation_date: String(now / 1000n),
    creation_time_ns: String(now * 1_000_000n),
    fee: '0',
    fee_sat: '0',
    fee_msat: '0',
    payment_preimage: '0'.repeat(64),
    status: 'FAILED',
    failure_reason: reason,
    htlcs: [],
  };
}

/** Refused before recording: why, as LND's FailureReason. */
class Unrecorded extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * The pay context with what the sender does not check itself before recording anything: what our usable
 * channels can send against the amount (LND's FAILURE_REASON_INSUFFICIENT_BALANCE). The fee limit, the
 * timeout, `max_parts` and the route restrictions go to the sender and the pathfinder as limits.
 */
function limited(ctx: PayContext, core: NodeCore): PayContext {
  const real = ctx.sender;
  const sender = Object.create(real) as PaymentSender;
  sender.pay = (args) => {
    const balance = core.channelManager!.list().filter((c) => c.usable).reduce((s, c) => s + sendable(c.data, 'local'), 0n);
    if (balance < args.amountMsat) throw new Unrecorded('FAILURE_REASON_INSUFFICIENT_BALANCE');
    return real.pay(args);
  };
  return { ...ctx, sender };
}

/** LND's lnrpc.UnmarshallAmt: sat or msat, not both. */
function amountMsat(sat: unknown, msat: unknown): bigint {
  const [s, m] = [int(sat), int(msat)];
  if (s !== 0n && m !== 0n) throw new RpcError(Status.UNKNOWN, 'sat and msat arguments are mutually exclusive');
  return m !== 0n ? m : s * 1000n;
}

export async function sendPaymentV2(core: NodeCore, req: Msg, send: Send, signal: AbortSignal): Promise<void> {
  const ctx = payContext(core);
  const sender = ctx.sender;
  const amt = amountMsat(req.amt, req.amt_msat);
  const opts = sendOptions(req);
  const feeLimitMsat = amountMsat(req.fee_limit_sat, req.fee_limit_msat);
  const self = req.allow_self_payment === true;
  // LND: a zero fee limit considers zero-fee routes only; timeout_seconds 0 is LND's default of 60 s.
  const limits: PayLimits = { ...opts.limits, maxFeeMsat: feeLimitMsat, retryForSec: Number(int(req.timeout_seconds)) || 60 };
  let hash: Buffer;
  let total: bigint;
  let finalCltvDelta: number;
  let start: (c: PayContext) => Promise<unknown>;
  let unroutable: string | undefined;
  const bolt11 = typeof req.payment_request === 'string' ? req.payment_request : '';
  if (bolt11 !== '') {
    const inv = parseInvoiceOrThrow(bolt11, ctx.network);
    if (inv.amountMsat === undefined && amt === 0n) throw new RpcError(Status.UNKNOWN, 'amount must be specified when paying a zero amount invoice');
    if (inv.amountMsat !== undefined && amt !== 0n) throw new RpcError(Status.UNKNOWN, 'amount must not be specified when paying a non-zero amount invoice');
    hash = inv.paymentHash;
    total = inv.amountMsat ?? amt;
    finalCltvDelta = inv.minFinalCltvExpiryDelta;
    // LND: an invoice without basic_mpp is paid in one part, whatever max_parts says.
    if (!inv.features.supports(Feature.BASIC_MPP)) limits.maxParts = 1;
    if (inv.payeeNodeId.equals(core.nodeId) && !self) unroutable = 'self';
    start = (c) => payInvoice(c, bolt11, { ...(amt > 0n ? { amountMsat: amt } : {}), ...limits });
  } else {
    const k = keysendRequest(req, amt);
    if (limits.maxPartMsat !== undefined) throw new RpcError(Status.UNKNOWN, 'keysend payments cannot specify a max shard amount - MPP not supported with keysend payments');
    const features = destFeatures(req.dest_features);
    hash = sha256(k.preimage);
    total = amt;
    finalCltvDelta = Number(int(req.final_cltv_delta)) || KEYSEND_FINAL_CLTV_DELTA;
    limits.maxParts = 1;
    if (k.dest === core.nodeId.toString('hex') && !self) unroutable = 'self';
    // LND's pathfinding refuses a destination whose features require what it does not know (errUnknownRequiredFeature).
    else if (features && unknownRequired(features)) unroutable = 'FAILURE_REASON_NO_ROUTE';
    start = (c) => keysend(c, k.dest, amt, { preimage: k.preimage, finalCltvDelta, ...limits });
  }
  checkPartLimits(total, limits);
  checkCltvLimit(limits.maxDelay!, finalCltvDelta);
  if (unroutable === 'self') throw new RpcError(Status.UNKNOWN, 'self-payments not allowed');
  const hex = hash.toString('hex');
  const existing = await sender.payment(hex);
  if (existing?.payment.status === 'complete') throw new RpcError(Status.ALREADY_EXISTS, ALREADY.ALREADY_PAID!);
  if (existing?.payment.status === 'pending') throw new RpcError(Status.ALREADY_EXISTS, ALREADY.IN_PROGRESS!);

  // The stream follows only the changes after this call begins the payment (an earlier failed attempt of the hash is history).
  let begun = false;
  const stop = new AbortController();
  const following = follow({
    sender,
    follows: (h) => h === hex && (begun = true),
    initial: [],
    noInflight: req.no_inflight_updates === true,
    send,
    signal: AbortSignal.any([signal, stop.signal]),
    done: (m) => FINAL.has(m.status as string),
  });
  let error: unknown;
  if (unroutable) error = new Unrecorded(unroutable);
  else await start(limited(ctx, core)).catch((e: unknown) => (error = e));
  if (begun) return following; // success, or a failure the record holds: the follower ends on the final record
  stop.abort();
  await following;
  if (error instanceof Unrecorded) return send(unrecorded(hash, total, error.reason));
  if (!(error instanceof PaymentError)) throw error;
  if (ALREADY[error.code]) throw new RpcError(Status.ALREADY_EXISTS, ALREADY[error.code]!);
  if (error.code === 'INVALID' || error.code === 'EXPIRED') throw new RpcError(Status.UNKNOWN, error.message);
  // No channel could take it before a record was begun (no peer of the invoice's reachable).
  send(unrecorded(hash, total, 'FAILURE_REASON_NO_ROUTE'));
}

function parseInvoiceOrThrow(bolt11: string, network: string): ReturnType<typeof parseInvoice> {
  try {
    return parseInvoice(bolt11, network);
  } catch (e) {
    if (e instanceof PaymentError) throw new RpcError(Status.UNKNOWN, e.message);
    throw e;
  }
}

export async function trackPaymentV2(core: NodeCore, req: Msg, send: Send, signal: AbortSignal): Promise<void> {
  const sender = paymentSender(core);
  const hash = asBuffer(req.payment_hash);
  if (hash.length !== 32) throw new RpcError(Status.UNKNOWN, `invalid hash length of ${hash.length}, want 32`);
  const hex = hash.toString('hex');
  if (!(await sender.payment(hex))) throw new RpcError(Status.NOT_FOUND, "payment isn't initiated");
  await follow({ sender, follows: (h) => h === hex, initial: [hex], noInflight: req.no_inflight_updates === true, send, signal, done: (m) => FINAL.has(m.status as string) });
}

export async function trackPayments(core: NodeCore, req: Msg, send: Send, signal: AbortSignal): Promise<void> {
  const sender = paymentSender(core);
  await follow({ sender, follows: () => true, initial: [], noInflight: req.no_inflight_updates === true, send, signal, done: () => false });
}

// --- SendPaymentV2's route restrictions and part limits (LND's extractIntentFromSendRequest) ----------

/** LND's routerrpc DefaultMaxParts (max_parts 0) and MaxPartsUpperLimit (with max_shard_size_msat). */
const DEFAULT_MAX_PARTS = 16;
const MAX_PARTS_UPPER_LIMIT = 1000;
const msatText = (v: bigint): string => `${v} mSAT`;

/** The request's restrictions on the route and its parts, validated as LND does (its error texts, gRPC Unknown). */
function sendOptions(req: Msg): { limits: PayLimits } {
  const outgoing = outgoingChannels(req.outgoing_chan_id, req.outgoing_chan_ids);
  const lastHop = lastHopOf(req.last_hop_pubkey);
  const cltvLimit = Number(int(req.cltv_limit));
  if (cltvLimit > DEFAULT_CLTV_LIMIT) throw new RpcError(Status.UNKNOWN, `total time lock of ${cltvLimit} exceeds max allowed ${DEFAULT_CLTV_LIMIT}`);
  const maxParts = Number(int(req.max_parts)) || DEFAULT_MAX_PARTS;
  const shard = int(req.max_shard_size_msat);
  if (shard > 0n && maxParts > MAX_PARTS_UPPER_LIMIT) {
    throw new RpcError(Status.UNKNOWN, `requested max_parts (${maxParts}) exceeds the allowed upper limit of ${MAX_PARTS_UPPER_LIMIT}; cannot send payment amount with max_shard_size_msat=${msatText(shard)}`);
  }
  const hints = routeHints(req.route_hints);
  return {
    limits: {
      maxDelay: cltvLimit || DEFAULT_CLTV_LIMIT,
      maxParts,
      ...(shard > 0n ? { maxPartMsat: shard } : {}),
      ...(outgoing ? { outgoingChannels: outgoing } : {}),
      ...(lastHop ? { lastHop } : {}),
      ...(hints.length > 0 ? { hints } : {}),
    },
  };
}

/** LND: max_shard_size_msat × max_parts must cover the amount. */
function checkPartLimits(amount: bigint, limits: PayLimits): void {
  if (limits.maxPartMsat === undefined) return;
  const most = limits.maxPartMsat * BigInt(limits.maxParts ?? 1);
  if (amount > most) {
    throw new RpcError(Status.UNKNOWN, `payment amount ${msatText(amount)} exceeds maximum possible amount ${msatText(most)} with max_parts=${limits.maxParts} and max_shard_size_msat=${msatText(limits.maxPartMsat)}`);
  }
}

/** LND's routing.ValidateCLTVLimit with its block padding: the limit must leave room for the final CLTV delta. */
function checkCltvLimit(limit: number, finalCltvDelta: number): void {
  const least = finalCltvDelta + BLOCK_PADDING;
  if (limit <= least) throw new RpcError(Status.UNKNOWN, `cltv limit ${limit} should be greater than ${least}`);
}

let featureBits: Map<string, number> | undefined;

/** `dest_features` (lnrpc.FeatureBit names or numbers) as a feature vector, its BOLT 9 dependencies checked as LND's feature.ValidateDeps; none given → undefined. */
function destFeatures(list: unknown): Features | undefined {
  const items = (list ?? []) as unknown[];
  if (items.length === 0) return undefined;
  featureBits ??= new Map((packageDefinition()['lnrpc.FeatureBit'] as unknown as { type: EnumDesc }).type.value.map((v) => [v.name, v.number]));
  const bits = items.map((x) => (typeof x === 'number' ? x : (featureBits!.get(String(x)) ?? Number(x))));
  const bad = bits.findIndex((b) => !Number.isInteger(b) || b < 0 || b > MAX_FEATURE_BIT);
  if (bad >= 0) throw new RpcError(Status.UNKNOWN, `invalid feature bit ${String(items[bad])}`);
  const f = Features.fromBits(bits);
  const missing = missingDependency(f);
  if (missing) throw new RpcError(Status.UNKNOWN, `missing feature dependency: ${missing[1] | 1}`);
  return f;
}

/** A required (even) bit of a feature BOLT 9 does not assign (LND's feature.ValidateRequired). */
function unknownRequired(f: Features): boolean {
  return f.bits().some((b) => (b & 1) === 0 && featureName(b) === undefined);
}

/** The server-streaming handlers, by full method name (methods.ts registers them). */
export const ROUTER_STREAMS: Record<string, (req: Msg, core: NodeCore, send: Send, signal: AbortSignal) => Promise<void>> = {
  '/routerrpc.Router/SendPaymentV2': (req, core, send, signal) => sendPaymentV2(core, req, send, signal),
  '/routerrpc.Router/TrackPaymentV2': (req, core, send, signal) => trackPaymentV2(core, req, send, signal),
  '/routerrpc.Router/TrackPayments': (req, core, send, signal) => trackPayments(core, req, send, signal),
};
