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
 *   recorded, with one FAILED message (FAILURE_REASON_INSUFFICIENT_BALANCE). `max_parts` 0 or 1 sends one part (LND maps 0 to 1).
 */
import { payContext, paymentSender } from '../../node/core/index.js';
import type { NodeCore } from '../../node/core/index.js';
import { sendable } from '../../payment/capacity.js';
import { keysend, parseInvoice, payInvoice, type PayContext } from '../../payment/pay.js';
import { PaymentError, type PartFailure, type PaymentSender } from '../../payment/send.js';
import { OnionError } from '../../onion/errors.js';
import { decodeFailureMessage, failureName } from '../../onion/failure.js';
import { packageDefinition } from './methods.js';
import type { MessageDesc } from './protojson.js';
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
 * a local failure without a code INTERNAL_FAILURE. The channel_update a failure carries is not
 * passed on yet.
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
 * channels can send against the amount (LND's FAILURE_REASON_INSUFFICIENT_BALANCE), and MPP only when
 * `max_parts` allows more than one. The fee limit and the timeout go to the pathfinder as limits.
 */
function limited(ctx: PayContext, core: NodeCore, limits: { maxParts: number }): PayContext {
  const real = ctx.sender;
  const sender = Object.create(real) as PaymentSender;
  sender.pay = (args) => {
    const balance = core.channelManager!.list().filter((c) => c.usable).reduce((s, c) => s + sendable(c.data, 'local'), 0n);
    if (balance < args.amountMsat) throw new Unrecorded('FAILURE_REASON_INSUFFICIENT_BALANCE');
    return real.pay({ ...args, mpp: args.mpp && limits.maxParts > 1 });
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
  const feeLimitMsat = amountMsat(req.fee_limit_sat, req.fee_limit_msat);
  const maxParts = Number(int(req.max_parts)) || 1;
  const self = req.allow_self_payment === true;
  // LND: a zero fee limit considers zero-fee routes only; timeout_seconds 0 is LND's default of 60 s.
  const limits = { maxFeeMsat: feeLimitMsat, retryForSec: Number(int(req.timeout_seconds)) || 60 };
  let hash: Buffer;
  let total: bigint;
  let start: (c: PayContext) => Promise<unknown>;
  const bolt11 = typeof req.payment_request === 'string' ? req.payment_request : '';
  if (bolt11 !== '') {
    const inv = parseInvoiceOrThrow(bolt11, ctx.network);
    if (inv.amountMsat === undefined && amt === 0n) throw new RpcError(Status.UNKNOWN, 'amount must be specified when paying a zero amount invoice');
    if (inv.amountMsat !== undefined && amt !== 0n) throw new RpcError(Status.UNKNOWN, 'amount must not be specified when paying a non-zero amount invoice');
    if (inv.payeeNodeId.equals(core.nodeId) && !self) throw new RpcError(Status.UNKNOWN, 'self-payments not allowed');
    hash = inv.paymentHash;
    total = inv.amountMsat ?? amt;
    start = (c) => payInvoice(c, bolt11, { ...(amt > 0n ? { amountMsat: amt } : {}), ...limits });
  } else {
    const k = keysendRequest(req, amt);
    if (k.dest === core.nodeId.toString('hex') && !self) throw new RpcError(Status.UNKNOWN, 'self-payments not allowed');
    hash = sha256(k.preimage);
    total = amt;
    start = (c) => keysend(c, k.dest, amt, { preimage: k.preimage, ...limits });
  }
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
  await start(limited(ctx, core, { maxParts })).catch((e: unknown) => (error = e));
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

/** The server-streaming handlers, by full method name (methods.ts registers them). */
export const ROUTER_STREAMS: Record<string, (req: Msg, core: NodeCore, send: Send, signal: AbortSignal) => Promise<void>> = {
  '/routerrpc.Router/SendPaymentV2': (req, core, send, signal) => sendPaymentV2(core, req, send, signal),
  '/routerrpc.Router/TrackPaymentV2': (req, core, send, signal) => trackPaymentV2(core, req, send, signal),
  '/routerrpc.Router/TrackPayments': (req, core, send, signal) => trackPayments(core, req, send, signal),
};
