/**
 * Invoices over JSON-RPC with lightningd's names, parameter order, result shapes, error codes and texts
 * (lightningd/invoice.c, common/bolt11_json.c): `invoice`, `listinvoices`, `waitinvoice`,
 * `waitanyinvoice`, `delinvoice`, `decodepay`, and `decode` for BOLT 11 strings. Thin shells over the
 * node's {@link InvoiceBook}; the book's error codes become lightningd's 900–908 here.
 */
import { compactToDer } from '../../../bitcoin/signature.js';
import { sha256 } from '../../../crypto/hash.js';
import { BookError, type BookErrorCode, type InvoiceBook, type InvoiceView } from '../../../invoice/book.js';
import { decodeInvoice, type Fallback, type Invoice } from '../../../invoice/bolt11.js';
import { InvoiceError } from '../../../invoice/errors.js';
import { fallbackScript, type FallbackField } from '../../../invoice/fallback.js';
import { CoreError, fallbackForAddress, invoiceRouteHints } from '../../../node/core/index.js';
import type { ExposePrivate } from '../../../payment/route-hints.js';
import { RpcCode, RpcError, invalidParams } from '../errors.js';
import type { CallContext, MethodDef, ParamContext } from '../method.js';
import { parseMsat } from './channels.js';

/** lightningd's codes for invoice commands (common/jsonrpc_errors.h). */
export const InvoiceCode = {
  LABEL_ALREADY_EXISTS: 900,
  PREIMAGE_ALREADY_EXISTS: 901,
  HINTS_GAVE_NO_ROUTES: 902,
  EXPIRED_DURING_WAIT: 903,
  WAIT_TIMED_OUT: 904,
  NOT_FOUND: 905,
  STATUS_UNEXPECTED: 906,
  NO_DESCRIPTION: 908,
} as const;

const BOOK_CODES: Record<BookErrorCode, number> = {
  INVALID: RpcCode.INVALID_PARAMS,
  DUPLICATE_LABEL: InvoiceCode.LABEL_ALREADY_EXISTS,
  DUPLICATE_PREIMAGE: InvoiceCode.PREIMAGE_ALREADY_EXISTS,
  NOT_FOUND: InvoiceCode.NOT_FOUND,
  STATUS_UNEXPECTED: InvoiceCode.STATUS_UNEXPECTED,
  NO_DESCRIPTION: InvoiceCode.NO_DESCRIPTION,
  WAIT_TIMEOUT: InvoiceCode.WAIT_TIMED_OUT,
  EXPIRED_DURING_WAIT: InvoiceCode.EXPIRED_DURING_WAIT,
  DELETED_DURING_WAIT: RpcCode.LIGHTNINGD,
  STOPPED: RpcCode.LIGHTNINGD_SHUTDOWN,
};

function book(ctx: CallContext): InvoiceBook {
  if (!ctx.core.invoices) throw new CoreError('NOT_ACTIVE', 'invoices not active');
  return ctx.core.invoices;
}

/** Runs a book operation, its refusals as lightningd's errors. */
async function booked<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof BookError)) throw err;
    let data: Record<string, unknown> | undefined;
    if (err.data?.invoice) data = invoiceFields(err.data.invoice);
    if (err.data?.currentStatus) data = { current_status: err.data.currentStatus, expected_status: err.data.expectedStatus };
    throw new RpcError(BOOK_CODES[err.code], err.message, data);
  }
}

/** lightningd's json_add_invoice_fields, in its order. */
export function invoiceFields(i: InvoiceView): Record<string, unknown> {
  return {
    label: i.label,
    bolt11: i.bolt11,
    payment_hash: i.paymentHash.toString('hex'),
    ...(i.amountMsat !== undefined ? { amount_msat: i.amountMsat } : {}),
    status: i.status,
    ...(i.status === 'paid'
      ? { pay_index: i.payIndex, amount_received_msat: i.amountReceivedMsat, paid_at: i.paidAt, payment_preimage: i.preimage.toString('hex') }
      : {}),
    ...(i.description !== undefined ? { description: i.description } : {}),
    expires_at: i.expiresAt,
    created_index: i.createdIndex,
    ...(i.updatedIndex !== undefined ? { updated_index: i.updatedIndex } : {}),
  };
}

/** A label: a string, or a number taken as its text (`01` and `1` differ). */
function labelParam(p: ParamContext): string {
  p.standard();
  return p.node.kind === 'string' ? p.node.value : p.doc.text.slice(p.node.start, p.node.end);
}

function positiveMsatOrAny(p: ParamContext): bigint | 'any' {
  const v = p.standard("should be positive msat or 'any'");
  if (v === 'any') return 'any';
  const msat = parseMsat(v);
  if (msat <= 0n) throw p.bad("should be positive msat or 'any'");
  return msat;
}

const hexParam = (p: ParamContext): Buffer => Buffer.from(String(p.standard()), 'hex');

function preimageParam(p: ParamContext): Buffer {
  const v = String(p.standard());
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw p.bad('should be a 64 character hex string');
  return Buffer.from(v, 'hex');
}

/** An address as BOLT 11's `f` field (lightningd's text when it does not parse). */
function fallbackOf(ctx: CallContext, address: string): FallbackField {
  const f = fallbackForAddress(ctx.core, address);
  if (!f) throw new RpcError(RpcCode.LIGHTNINGD, 'Fallback address not valid');
  return f;
}

export const invoice: MethodDef = {
  name: 'invoice',
  params: {
    amount_msat: positiveMsatOrAny,
    label: labelParam,
    preimage: preimageParam,
  },
  async check(params) {
    const label = params.label as string;
    if (Buffer.byteLength(label) > 128) throw invalidParams(`Label '${label}' over 128 bytes`);
    const desc = params.description as string;
    if (Buffer.byteLength(desc) > 639 && params.deschashonly !== true) {
      throw invalidParams(`Descriptions greater than 639 bytes not yet supported (description length ${Buffer.byteLength(desc)})`);
    }
  },
  async run(params, ctx) {
    await invoice.check!(params, ctx);
    const b = book(ctx);
    const fallbacks = (params.fallbacks as string[] | undefined)?.map((a) => fallbackOf(ctx, a));
    const amount = params.amount_msat as bigint | 'any';
    const expose = params.exposeprivatechannels;
    const hinted = invoiceRouteHints(ctx.core, amount === 'any' ? undefined : amount, typeof expose === 'string' ? [expose] : (expose as ExposePrivate));
    if ('error' in hinted) throw new RpcError(InvoiceCode.HINTS_GAVE_NO_ROUTES, 'None of the specified exposeprivatechannels were usable');
    const inv = await booked(() =>
      b.create({
        label: params.label as string,
        ...(amount !== 'any' ? { amountMsat: amount } : {}),
        description: params.description as string,
        descriptionHashOnly: params.deschashonly === true,
        ...(params.expiry !== undefined ? { expirySeconds: Number(params.expiry) } : {}),
        ...(params.preimage !== undefined ? { preimage: params.preimage as Buffer } : {}),
        ...(params.cltv !== undefined ? { minFinalCltvExpiryDelta: Number(params.cltv) } : {}),
        ...(fallbacks ? { fallbacks } : {}),
        ...(hinted.hints.length > 0 ? { routeHints: hinted.hints } : {}),
      }),
    );
    return {
      payment_hash: inv.paymentHash.toString('hex'),
      expires_at: inv.expiresAt,
      bolt11: inv.bolt11,
      payment_secret: inv.paymentSecret.toString('hex'),
      created_index: inv.createdIndex,
    };
  },
};

async function listQuery(params: Record<string, unknown>): Promise<{ hash?: Buffer }> {
  const given = ['label', 'invstring', 'payment_hash', 'offer_id'].filter((k) => params[k] !== undefined);
  if (given.length > 1) throw invalidParams('Can only specify one of {label}, {invstring}, {payment_hash} or {offer_id}');
  if (params.start !== undefined && Number(params.start) !== 0 && params.index === undefined) throw invalidParams('Can only specify {start} with {index}');
  if (params.limit !== undefined && params.index === undefined) throw invalidParams('Can only specify {limit} with {index}');
  if (params.invstring !== undefined) {
    try {
      return { hash: decodeInvoice(String(params.invstring)).paymentHash };
    } catch {
      throw invalidParams('Invalid invstring');
    }
  }
  return params.payment_hash !== undefined ? { hash: params.payment_hash as Buffer } : {};
}

export const listinvoices: MethodDef = {
  name: 'listinvoices',
  params: { label: labelParam, payment_hash: hexParam },
  async check(params) {
    await listQuery(params);
  },
  async run(params, ctx) {
    const { hash } = await listQuery(params);
    const b = book(ctx);
    let list: InvoiceView[];
    if (params.label !== undefined) list = [await b.byLabel(params.label as string)].filter((i): i is InvoiceView => i !== undefined);
    else if (hash !== undefined) list = [await b.get(hash)].filter((i): i is InvoiceView => i !== undefined);
    // anode issues no BOLT 12 invoices: no invoice belongs to an offer.
    else if (params.offer_id !== undefined) list = [];
    else {
      list = await b.list({
        ...(params.index !== undefined ? { index: params.index as 'created' | 'updated' } : {}),
        ...(params.start !== undefined ? { start: Number(params.start) } : {}),
        ...(params.limit !== undefined ? { limit: Number(params.limit) } : {}),
      });
    }
    return { invoices: list.map(invoiceFields) };
  },
};

export const waitinvoice: MethodDef = {
  name: 'waitinvoice',
  params: { label: labelParam },
  async check(params, ctx) {
    if (!(await book(ctx).byLabel(params.label as string))) throw new RpcError(RpcCode.LIGHTNINGD, 'Label not found');
  },
  async run(params, ctx) {
    const b = book(ctx);
    if (!(await b.byLabel(params.label as string))) throw new RpcError(RpcCode.LIGHTNINGD, 'Label not found');
    return invoiceFields(await booked(() => b.waitInvoice(params.label as string)));
  },
};

export const waitanyinvoice: MethodDef = {
  name: 'waitanyinvoice',
  async run(params, ctx) {
    const timeout = params.timeout === undefined ? undefined : Number(params.timeout) * 1000;
    return invoiceFields(await booked(() => book(ctx).waitAnyInvoice(Number(params.lastpay_index ?? 0), timeout)));
  },
};

export const delinvoice: MethodDef = {
  name: 'delinvoice',
  params: { label: labelParam },
  async check(params, ctx) {
    const inv = await book(ctx).byLabel(params.label as string);
    if (!inv) throw new RpcError(InvoiceCode.NOT_FOUND, 'Unknown invoice');
    const status = params.status as string;
    if (inv.status !== status) {
      throw new RpcError(InvoiceCode.STATUS_UNEXPECTED, `Invoice status is ${inv.status} not ${status}`, { current_status: inv.status, expected_status: status });
    }
    if (params.desconly === true && inv.description === undefined) throw new RpcError(InvoiceCode.NO_DESCRIPTION, 'Invoice description already removed');
  },
  async run(params, ctx) {
    const inv = await booked(() => book(ctx).delete(params.label as string, params.status as string, params.desconly === true));
    return invoiceFields(inv);
  },
};

function fallbackJson(f: Fallback): Record<string, unknown> {
  const script = fallbackScript(f);
  const type =
    f.version === 17 ? 'P2PKH' : f.version === 18 ? 'P2SH' : f.version === 0 && f.program.length === 20 ? 'P2WPKH' : f.version === 0 && f.program.length === 32 ? 'P2WSH' : undefined;
  // lightningd names the four classic kinds (with an address for each); other versions are hex only.
  return { ...(type ? { type } : {}), ...(type && f.address ? { addr: f.address } : {}), hex: script.toString('hex') };
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

/** common/bolt11_json.c json_add_bolt11, in its order. */
export function bolt11Fields(d: Invoice): Record<string, unknown> {
  return {
    currency: d.currency,
    created_at: d.timestamp,
    expiry: d.expirySeconds,
    payee: d.payeeNodeId.toString('hex'),
    ...(d.amountMsat !== undefined ? { amount_msat: d.amountMsat } : {}),
    ...(d.description !== undefined ? { description: d.description } : {}),
    ...(d.descriptionHash !== undefined ? { description_hash: d.descriptionHash.toString('hex') } : {}),
    min_final_cltv_expiry: d.minFinalCltvExpiryDelta,
    payment_secret: d.paymentSecret.toString('hex'),
    ...(!d.features.isEmpty() ? { features: d.features.toHex() } : {}),
    ...(d.metadata !== undefined ? { payment_metadata: d.metadata.toString('hex') } : {}),
    ...(d.fallbacks.length ? { fallbacks: d.fallbacks.map(fallbackJson) } : {}),
    ...(d.routeHints.length
      ? {
          routes: d.routeHints.map((hint) =>
            hint.map((h) => ({
              pubkey: h.nodeId.toString('hex'),
              short_channel_id: h.shortChannelId,
              fee_base_msat: h.feeBaseMsat,
              fee_proportional_millionths: h.feeProportionalMillionths,
              cltv_expiry_delta: h.cltvExpiryDelta,
            })),
          ),
        }
      : {}),
    ...(d.unknownFields.length ? { extra: d.unknownFields.map((f) => ({ tag: BECH32[f.tag], data: f.words.map((w) => BECH32[w]).join('') })) } : {}),
    payment_hash: d.paymentHash.toString('hex'),
    signature: compactToDer(d.signature).toString('hex'),
  };
}

function decodeOrFail(text: string, description: string | undefined): Invoice {
  try {
    const d = decodeInvoice(text, description !== undefined ? { description } : {});
    if (description !== undefined && d.descriptionHash && !d.descriptionHash.equals(sha256(Buffer.from(description, 'utf8')))) {
      throw new InvoiceError('INVALID_FIELD', 'bolt11: description does not match the hash');
    }
    return d;
  } catch (err) {
    if (err instanceof InvoiceError) throw new RpcError(RpcCode.LIGHTNINGD, `Invalid bolt11: ${err.message.replace(/^bolt11: /, '')}`);
    throw err;
  }
}

export const decodepay: MethodDef = {
  name: 'decodepay',
  async check(params) {
    decodeOrFail(String(params.bolt11), params.description as string | undefined);
  },
  async run(params) {
    return bolt11Fields(decodeOrFail(String(params.bolt11), params.description as string | undefined));
  },
};

/** `decode` for BOLT 11 strings (lightningd's offers plugin answers it for BOLT 12 too; anode has no BOLT 12). */
export const decode: MethodDef = {
  name: 'decode',
  async run(params) {
    let d: Invoice;
    try {
      d = decodeInvoice(String(params.string));
    } catch (err) {
      if (err instanceof InvoiceError) throw invalidParams(`string: Unparsable invoice: ${err.message.replace(/^bolt11: /, '')}`);
      throw err;
    }
    return { type: 'bolt11 invoice', valid: true, ...bolt11Fields(d) };
  },
};

export const INVOICE_METHODS: readonly MethodDef[] = [invoice, listinvoices, waitinvoice, waitanyinvoice, delinvoice, decodepay, decode];
