/**
 * lnrpc payments over the node core: SendPaymentSync (an invoice, or a keysend with the preimage in
 * `dest_custom_records[5482373484]`) and ListPayments, with LND's shapes and texts (rpcserver.go
 * dispatchPaymentIntent: a payment that fails answers `payment_error` with the failure reason's name,
 * `invoice is already paid`, `payment is in transition`). routerrpc's SendPaymentV2/TrackPaymentV2
 * streams are in router.ts, over the same marshalling.
 */
import { sha256 } from '../../crypto/hash.js';
import { payContext, paymentSender } from '../../node/core/index.js';
import type { NodeCore } from '../../node/core/index.js';
import { FailureCode } from '../../onion/failure.js';
import { KEYSEND_TLV_TYPE } from '../../onion/payload.js';
import { keysend, payInvoice, type PayResult } from '../../payment/pay.js';
import { routeFromJson } from '../../payment/route.js';
import { PaymentError, type PartFailure } from '../../payment/send.js';
import type { PaymentPart, PaymentRecord } from '../../store/payments.js';
import { chanId } from './channels.js';
import { RpcError, Status } from './errors.js';

type Msg = Record<string, unknown>;

export const asBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0));
export const int = (v: unknown): bigint => BigInt((v as string | number | undefined) ?? 0);

/**
 * A `map<uint64, …>` key as protobufjs hands it over: decimal, or (without the long library) its
 * 8-byte little-endian "hash" string.
 */
export function uint64Key(k: string): bigint | undefined {
  if (/^\d+$/.test(k)) return BigInt(k);
  return k.length === 8 ? Buffer.from(k, 'latin1').readBigUInt64LE(0) : undefined;
}

/** A part's route as LND's Route (amounts in msat and sat, each hop's fee). */
function routeOf(part: PaymentPart): Msg {
  const hops = routeFromJson(part.route);
  const out = hops.map((h, i) => {
    const next = hops[i + 1];
    const forward = next ? next.amountMsat : h.amountMsat;
    return { chan_id: chanId(h.channel), expiry: next ? next.delay : h.delay, amt_to_forward_msat: String(forward), amt_to_forward: String(forward / 1000n), fee_msat: String(h.amountMsat - forward), fee: String((h.amountMsat - forward) / 1000n), pub_key: h.id, tlv_payload: true };
  });
  const fees = part.amountMsat - part.deliveredMsat;
  return { total_time_lock: hops[0]?.delay ?? 0, total_fees_msat: String(fees), total_fees: String(fees / 1000n), total_amt_msat: String(part.amountMsat), total_amt: String(part.amountMsat / 1000n), hops: out };
}

/** LND's FailureReason for a failed payment (routing/control_tower: FailureReasonIncorrectPaymentDetails, …). */
function failureReason(f: PartFailure | undefined, code: PaymentError['code'] | undefined): string {
  if (f?.code === FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS || f?.code === FailureCode.FINAL_INCORRECT_CLTV_EXPIRY || f?.code === FailureCode.FINAL_INCORRECT_HTLC_AMOUNT) return 'FAILURE_REASON_INCORRECT_PAYMENT_DETAILS';
  if (code === 'NO_ROUTE' || code === 'FAILED') return 'FAILURE_REASON_NO_ROUTE';
  if (code === 'TIMEOUT') return 'FAILURE_REASON_TIMEOUT';
  return 'FAILURE_REASON_ERROR';
}

/** FailureReason.String() as SendPaymentSync's `payment_error` shows it. */
const REASON_TEXT: Record<string, string> = {
  FAILURE_REASON_INCORRECT_PAYMENT_DETAILS: 'incorrect_payment_details',
  FAILURE_REASON_NO_ROUTE: 'no_route',
  FAILURE_REASON_ERROR: 'error',
  FAILURE_REASON_TIMEOUT: 'timeout',
};

function sendResponse(r: PayResult): Msg {
  const part = r.parts.find((p) => p.groupId === r.payment.groupId && p.status === 'complete');
  return {
    payment_error: '',
    payment_preimage: Buffer.from(r.payment.preimage ?? '', 'hex'),
    payment_hash: Buffer.from(r.payment.paymentHash, 'hex'),
    ...(part ? { payment_route: routeOf(part) } : {}),
  };
}

/** A payment without an invoice (SendPaymentSync, SendPaymentV2): `dest`, the caller's keysend preimage in `dest_custom_records`, an amount. */
export function keysendRequest(req: Msg, amtMsat: bigint): { dest: string; preimage: Buffer } {
  const dest = asBuffer(req.dest);
  if (dest.length !== 33) throw new RpcError(Status.UNKNOWN, `invalid vertex length of ${dest.length}, want 33`);
  const records = (req.dest_custom_records ?? {}) as Record<string, unknown>;
  const preimage = asBuffer(Object.entries(records).find(([k]) => uint64Key(k) === KEYSEND_TLV_TYPE)?.[1]);
  if (preimage.length !== 32) throw new RpcError(Status.UNKNOWN, 'payment hash must be 32 bytes: a payment without an invoice needs the keysend preimage record');
  const hash = asBuffer(req.payment_hash);
  if (hash.length > 0 && !hash.equals(sha256(preimage))) throw new RpcError(Status.UNKNOWN, 'keysend preimage does not match the payment hash');
  if (amtMsat <= 0n) throw new RpcError(Status.UNKNOWN, 'amount must be specified when paying a zero amount invoice');
  return { dest: dest.toString('hex'), preimage };
}

export async function sendPaymentSync(core: NodeCore, req: Msg): Promise<Msg> {
  const ctx = payContext(core);
  const amtMsat = int(req.amt_msat) || int(req.amt) * 1000n;
  try {
    if (typeof req.payment_request === 'string' && req.payment_request !== '') {
      return sendResponse(await payInvoice(ctx, req.payment_request, amtMsat > 0n ? { amountMsat: amtMsat } : {}));
    }
    const k = keysendRequest(req, amtMsat);
    return sendResponse(await keysend(ctx, k.dest, amtMsat, { preimage: k.preimage }));
  } catch (e) {
    if (!(e instanceof PaymentError)) throw e;
    if (e.code === 'INVALID' || e.code === 'EXPIRED') throw new RpcError(Status.UNKNOWN, e.message);
    const text = e.code === 'ALREADY_PAID' ? 'invoice is already paid' : e.code === 'IN_PROGRESS' ? 'payment is in transition' : REASON_TEXT[failureReason(e.failure, e.code)]!;
    return { payment_error: text, payment_hash: e.payment ? Buffer.from(e.payment.paymentHash, 'hex') : Buffer.alloc(0) };
  }
}

const STATUS: Record<string, string> = { pending: 'IN_FLIGHT', complete: 'SUCCEEDED', failed: 'FAILED' };
const HTLC_STATUS: Record<string, string> = { pending: 'IN_FLIGHT', complete: 'SUCCEEDED', failed: 'FAILED' };

export function paymentJson(p: PaymentRecord, parts: PaymentPart[], index: number): Msg {
  const mine = parts.filter((x) => x.paymentHash === p.paymentHash);
  const settled = mine.filter((x) => x.groupId === p.groupId && x.status === 'complete');
  const fee = settled.reduce((s, x) => s + x.amountMsat - x.deliveredMsat, 0n);
  const failure = p.failure ? (JSON.parse(p.failure) as PartFailure) : undefined;
  return {
    payment_hash: p.paymentHash,
    value: String(p.amountMsat / 1000n),
    value_sat: String(p.amountMsat / 1000n),
    value_msat: String(p.amountMsat),
    creation_date: String(p.createdAt),
    creation_time_ns: String(BigInt(p.createdAt) * 1_000_000_000n),
    fee: String(fee / 1000n),
    fee_sat: String(fee / 1000n),
    fee_msat: String(fee),
    payment_preimage: p.preimage ?? '0'.repeat(64),
    payment_request: p.bolt11 ?? '',
    status: STATUS[p.status],
    payment_index: String(index),
    failure_reason: p.status === 'failed' ? failureReason(failure, failure?.terminal ? 'DESTINATION_FAILED' : 'FAILED') : 'FAILURE_REASON_NONE',
    htlcs: mine.map((x) => ({
      attempt_id: String(x.id),
      status: HTLC_STATUS[x.status],
      route: routeOf(x),
      attempt_time_ns: String(BigInt(x.createdAt) * 1_000_000_000n),
      resolve_time_ns: String(BigInt(x.completedAt ?? 0) * 1_000_000_000n),
      preimage: Buffer.from(x.preimage ?? '', 'hex'),
    })),
  };
}

/** ListPayments: complete and failed payments (in flight too with include_incomplete), by index, as LND pages them. */
export async function listPayments(core: NodeCore, req: Msg): Promise<Msg> {
  const sender = paymentSender(core);
  const parts = await sender.listParts();
  let rows = (await sender.listPayments()).map((p, i) => ({ p, index: i + 1 }));
  if (!req.include_incomplete) rows = rows.filter((r) => r.p.status === 'complete');
  const offset = Number(int(req.index_offset));
  const max = Number(int(req.max_payments)) || Number.MAX_SAFE_INTEGER;
  const page = req.reversed ? rows.filter((r) => offset === 0 || r.index < offset).slice(-max) : rows.filter((r) => r.index > offset).slice(0, max);
  return {
    payments: page.map((r) => paymentJson(r.p, parts, r.index)),
    first_index_offset: String(page[0]?.index ?? 0),
    last_index_offset: String(page.at(-1)?.index ?? 0),
    total_num_payments: String(req.count_total_payments ? rows.length : 0),
  };
}

export const PAYMENT_HANDLERS: Record<string, (req: Msg, core: NodeCore) => Promise<Msg>> = {
  '/lnrpc.Lightning/SendPaymentSync': (req, core) => sendPaymentSync(core, req),
  '/lnrpc.Lightning/ListPayments': (req, core) => listPayments(core, req),
};
