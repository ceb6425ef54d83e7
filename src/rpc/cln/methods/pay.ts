/**
 * Sending payments, as lightningd: `pay` (an invoice, routed over the graph, our channels and its route hints), `keysend`,
 * `sendpay`/`waitsendpay` (one part over a caller's route), `listpays` (one entry per payment) and
 * `listsendpays` (one per part). Thin shells over payment/send.ts and payment/pay.ts.
 */
import { keysend, payInvoice, type PayLimits, type PayResult } from '../../../payment/pay.js';
import { routeFromJson, type RouteHop } from '../../../payment/route.js';
import { PaymentError, type PartFailure } from '../../../payment/send.js';
import type { PaymentPart, PaymentRecord } from '../../../store/payments.js';
import { paymentSender, payContext } from '../../../node/core/index.js';
import { RpcError, RpcCode } from '../errors.js';
import type { MethodDef, ParamContext } from '../method.js';
import { parseMsat } from './channels.js';

/** lightningd's payment error codes (common/jsonrpc_errors.h). */
export const PayCode = {
  IN_PROGRESS: 200,
  RHASH_ALREADY_USED: 201,
  DESTINATION_PERM_FAIL: 203,
  TRY_OTHER_ROUTE: 204,
  ROUTE_NOT_FOUND: 205,
  INVOICE_EXPIRED: 207,
  NO_SUCH_PAYMENT: 208,
  STOPPED_RETRYING: 210,
} as const;

const MONITOR = 'Monitor status with listpays or waitsendpay';

function failureData(p: PaymentRecord | undefined, part: PaymentPart | undefined, f: PartFailure | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return {
    ...(part ? partJson(part, p) : { payment_hash: p.paymentHash, destination: p.destination, amount_msat: p.amountMsat, created_at: p.createdAt, status: 'failed' }),
    ...(f
      ? {
          erring_index: f.erringIndex,
          ...(f.code !== undefined ? { failcode: f.code, failcodename: f.message.replace(/^failed: (\S+).*$/, '$1') } : {}),
          ...(f.erringNode ? { erring_node: f.erringNode } : {}),
          ...(f.erringChannel ? { erring_channel: f.erringChannel } : {}),
          ...(f.rawMessage ? { raw_message: f.rawMessage } : {}),
        }
      : {}),
  };
}

/** A PaymentError as lightningd reports it. */
function rpcError(e: unknown): unknown {
  if (!(e instanceof PaymentError)) return e;
  const data = failureData(e.payment, e.part, e.failure);
  const code = {
    INVALID: RpcCode.INVALID_PARAMS,
    EXPIRED: PayCode.INVOICE_EXPIRED,
    IN_PROGRESS: PayCode.IN_PROGRESS,
    ALREADY_PAID: PayCode.RHASH_ALREADY_USED,
    NO_ROUTE: PayCode.ROUTE_NOT_FOUND,
    FAILED: PayCode.TRY_OTHER_ROUTE,
    DESTINATION_FAILED: PayCode.DESTINATION_PERM_FAIL,
    NO_SUCH_PAYMENT: PayCode.NO_SUCH_PAYMENT,
    TIMEOUT: PayCode.IN_PROGRESS,
  }[e.code];
  return new RpcError(code, e.message, code === RpcCode.INVALID_PARAMS ? undefined : data);
}

async function guardedPay<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw rpcError(e);
  }
}

/** One part as `sendpay`/`waitsendpay`/`listsendpays` show it. */
export function partJson(part: PaymentPart, p: PaymentRecord | undefined): Record<string, unknown> {
  const route = routeFromJson(part.route);
  return {
    created_index: part.id,
    id: part.id,
    payment_hash: part.paymentHash,
    groupid: part.groupId,
    ...(part.partId ? { partid: part.partId } : {}),
    destination: route[route.length - 1]?.id ?? p?.destination,
    amount_msat: part.deliveredMsat,
    amount_sent_msat: part.amountMsat,
    created_at: part.createdAt,
    ...(part.completedAt !== undefined ? { completed_at: part.completedAt } : {}),
    status: part.status,
    ...(part.preimage ? { payment_preimage: part.preimage } : {}),
    ...(p?.label !== undefined ? { label: p.label } : {}),
    ...(p?.bolt11 !== undefined ? { bolt11: p.bolt11 } : {}),
  };
}

/** `pay`'s and `keysend`'s success. */
function payJson(r: PayResult): Record<string, unknown> {
  const done = r.parts.filter((x) => x.groupId === r.payment.groupId);
  const sent = done.filter((x) => x.status !== 'failed').reduce((s, x) => s + x.amountMsat, 0n);
  return {
    destination: r.payment.destination,
    payment_preimage: r.payment.preimage,
    payment_hash: r.payment.paymentHash,
    created_at: r.payment.createdAt,
    parts: done.filter((x) => x.status !== 'failed').length,
    amount_msat: r.payment.amountMsat,
    amount_sent_msat: sent,
    status: 'complete',
  };
}

function hexBuffer(p: ParamContext): Buffer {
  return Buffer.from(p.standard() as string, 'hex');
}

function msatParam(p: ParamContext): bigint {
  return parseMsat(p.standard());
}

function routeParam(p: ParamContext): RouteHop[] {
  const hops = p.standard() as { id: string; channel: string; amount_msat: unknown; delay: number }[];
  if (hops.length === 0) throw p.bad('Empty route');
  return hops.map((h) => ({ id: h.id.toLowerCase(), channel: h.channel, amountMsat: parseMsat(h.amount_msat), delay: Number(h.delay) }));
}

/** `pay`'s routing limits (CLN: maxfee excludes maxfeepercent and exemptfee). */
function payLimits(params: Record<string, unknown>): PayLimits {
  if (params.maxfee !== undefined && (params.maxfeepercent !== undefined || params.exemptfee !== undefined)) {
    throw new RpcError(RpcCode.INVALID_PARAMS, 'If you specify maxfee, cannot specify maxfeepercent or exemptfee.');
  }
  return {
    ...(params.maxfee !== undefined ? { maxFeeMsat: params.maxfee as bigint } : {}),
    ...(params.maxfeepercent !== undefined ? { maxFeePercent: Number(params.maxfeepercent) } : {}),
    ...(params.exemptfee !== undefined ? { exemptFeeMsat: params.exemptfee as bigint } : {}),
    ...(params.maxdelay !== undefined ? { maxDelay: Number(params.maxdelay) } : {}),
    ...(params.retry_for !== undefined ? { retryForSec: Number(params.retry_for) } : {}),
    ...(params.riskfactor !== undefined ? { riskFactor: Number(params.riskfactor) } : {}),
    ...(params.exclude !== undefined ? { exclude: params.exclude as string[] } : {}),
  };
}

export const pay: MethodDef = {
  name: 'pay',
  params: { amount_msat: msatParam, maxfee: msatParam, exemptfee: msatParam },
  async run(params, { core }) {
    const limits = payLimits(params);
    const ctx = payContext(core);
    try {
      return payJson(await payInvoice(ctx, params.bolt11 as string, { amountMsat: params.amount_msat as bigint | undefined, label: params.label as string | undefined, ...limits }));
    } catch (e) {
      if (e instanceof PaymentError && e.code === 'ALREADY_PAID' && e.payment) {
        return payJson({ payment: e.payment, parts: await ctx.sender.listParts(e.payment.paymentHash) });
      }
      throw rpcError(e);
    }
  },
};

export const keysendMethod: MethodDef = {
  name: 'keysend',
  params: { amount_msat: msatParam, maxfee: msatParam },
  async run(params, { core }) {
    const ctx = payContext(core);
    const limits = payLimits(params);
    return payJson(await guardedPay(() => keysend(ctx, (params.destination as string).toLowerCase(), params.amount_msat as bigint, { label: params.label as string | undefined, ...limits })));
  },
};

export const sendpay: MethodDef = {
  name: 'sendpay',
  params: { route: routeParam, payment_hash: hexBuffer, amount_msat: msatParam, payment_secret: hexBuffer, payment_metadata: hexBuffer },
  async run(params, { core }) {
    const sender = paymentSender(core);
    // lightningd: each hop's `delay` is relative — its HTLC's CLTV is blockheight + 1 + delay (the sender keeps absolute heights).
    const base = payContext(core).blockHeight() + 1;
    const route = (params.route as RouteHop[]).map((h) => ({ ...h, delay: base + h.delay }));
    const part = await guardedPay(() =>
      sender.sendpay({
        route,
        paymentHash: params.payment_hash as Buffer,
        ...(params.amount_msat !== undefined ? { totalMsat: params.amount_msat as bigint } : {}),
        ...(params.payment_secret ? { paymentSecret: params.payment_secret as Buffer } : {}),
        ...(params.payment_metadata ? { paymentMetadata: params.payment_metadata as Buffer } : {}),
        ...(params.partid !== undefined ? { partId: Number(params.partid) } : {}),
        ...(params.groupid !== undefined ? { groupId: Number(params.groupid) } : {}),
        ...(params.bolt11 !== undefined ? { bolt11: params.bolt11 as string } : {}),
        ...(params.label !== undefined ? { label: params.label as string } : {}),
      }),
    );
    const p = (await sender.payment(part.paymentHash))?.payment;
    return { message: MONITOR, ...partJson(part, p) };
  },
};

export const waitsendpay: MethodDef = {
  name: 'waitsendpay',
  params: { payment_hash: hexBuffer },
  async run(params, { core }) {
    const sender = paymentSender(core);
    const timeout = params.timeout === undefined ? undefined : Number(params.timeout) * 1000;
    const part = await guardedPay(() => sender.waitsendpay(params.payment_hash as Buffer, Number(params.partid ?? 0), timeout, params.groupid === undefined ? undefined : Number(params.groupid)));
    return partJson(part, (await sender.payment(part.paymentHash))?.payment);
  },
};

function filterStatus<T extends { status: string }>(rows: T[], status: unknown): T[] {
  return status === undefined ? rows : rows.filter((r) => r.status === status);
}

export const listsendpays: MethodDef = {
  name: 'listsendpays',
  params: { payment_hash: (p) => (p.standard() as string).toLowerCase() },
  async run(params, { core }) {
    const sender = paymentSender(core);
    const payments = new Map((await sender.listPayments()).map((p) => [p.paymentHash, p]));
    let parts = filterStatus(await sender.listParts(params.payment_hash as string | undefined), params.status);
    if (params.bolt11 !== undefined) parts = parts.filter((x) => payments.get(x.paymentHash)?.bolt11 === params.bolt11);
    return { payments: parts.map((x) => partJson(x, payments.get(x.paymentHash))) };
  },
};

export const listpays: MethodDef = {
  name: 'listpays',
  params: { payment_hash: (p) => (p.standard() as string).toLowerCase() },
  async run(params, { core }) {
    const sender = paymentSender(core);
    let pays = filterStatus(await sender.listPayments(), params.status);
    if (params.payment_hash !== undefined) pays = pays.filter((p) => p.paymentHash === params.payment_hash);
    if (params.bolt11 !== undefined) pays = pays.filter((p) => p.bolt11 === params.bolt11);
    const parts = await sender.listParts();
    return {
      pays: pays.map((p) => {
        const mine = parts.filter((x) => x.paymentHash === p.paymentHash && x.groupId === p.groupId && x.status !== 'failed');
        return {
          payment_hash: p.paymentHash,
          status: p.status,
          ...(p.destination ? { destination: p.destination } : {}),
          created_at: p.createdAt,
          ...(p.completedAt !== undefined ? { completed_at: p.completedAt } : {}),
          ...(p.label !== undefined ? { label: p.label } : {}),
          ...(p.bolt11 !== undefined ? { bolt11: p.bolt11 } : {}),
          ...(p.status === 'complete' ? { amount_msat: p.amountMsat, amount_sent_msat: mine.reduce((s, x) => s + x.amountMsat, 0n), preimage: p.preimage, number_of_parts: mine.length } : {}),
        };
      }),
    };
  },
};

export const PAY_METHODS: readonly MethodDef[] = [pay, keysendMethod, sendpay, waitsendpay, listpays, listsendpays];
