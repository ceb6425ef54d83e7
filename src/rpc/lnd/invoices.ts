/**
 * lnrpc.Lightning's invoice methods over the node's {@link InvoiceBook}, with LND's field semantics and
 * error texts (rpcserver.go, lnrpc/invoicesrpc/addinvoice.go and utils.go CreateRPCInvoice, zpay32):
 * AddInvoice, LookupInvoice, ListInvoices, SubscribeInvoices (a server stream) and DecodePayReq.
 *
 * LND's states from the book's: unpaid → OPEN, paid → SETTLED, expired → CANCELED (LND's expiry
 * watcher cancels expired invoices). `add_index` is the book's created index, `settle_index` its pay
 * index. Invoices created here have no label of their own: the book files them under their payment
 * hash (hex), which is what CLN's listinvoices shows as their label.
 */
import { scidToString } from '../../gossip/messages.js';
import { BookError, isKeysend, type InvoiceBook, type InvoiceView } from '../../invoice/book.js';
import { decodeInvoice, type Invoice, type RouteHintHop } from '../../invoice/bolt11.js';
import { InvoiceError } from '../../invoice/errors.js';
import type { FallbackField } from '../../invoice/fallback.js';
import { CoreError, fallbackForAddress, invoiceRouteHints, type NodeCore } from '../../node/core/index.js';
import { chanId } from './channels.js';
import { RpcError, Status } from './errors.js';
import { featureMap } from './lightning.js';

type Msg = Record<string, unknown>;

/** LND's MaxMemoSize (channeldb). */
const MAX_MEMO_BYTES = 1024;
/** LND's DefaultInvoiceExpiry (invoicesrpc): one day. */
const LND_DEFAULT_EXPIRY_SECONDS = 86_400;
/** LND's MaxInvoiceExpiry (invoicesrpc): one year. */
const LND_MAX_EXPIRY_SECONDS = 365 * 86_400;

/** The network names LND's errors use (chaincfg). */
const LND_NET: Record<string, string> = { bitcoin: 'mainnet', testnet: 'testnet3', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' };

function book(core: NodeCore): InvoiceBook {
  if (!core.invoices) throw new CoreError('NOT_ACTIVE', 'invoices not active');
  return core.invoices;
}

const int = (v: unknown): bigint => {
  try {
    return BigInt((v as string | number | undefined) ?? 0);
  } catch {
    throw new RpcError(Status.INVALID_ARGUMENT, `invalid integer ${String(v)}`);
  }
};

function fallbackAddress(inv: Invoice): string {
  return inv.fallbacks[0]?.address ?? '';
}

function routeHints(hints: RouteHintHop[][]): Msg[] {
  return hints.map((hops) => ({
    hop_hints: hops.map((h) => ({
      node_id: h.nodeId.toString('hex'),
      chan_id: chanId(h.shortChannelId),
      fee_base_msat: h.feeBaseMsat,
      fee_proportional_millionths: h.feeProportionalMillionths,
      cltv_expiry_delta: h.cltvExpiryDelta,
    })),
  }));
}

/**
 * LND's InvoiceHTLCs of a paid invoice: each HTLC the intake took for it, SETTLED at the payment's commit
 * (`resolve_time`). Its channel's short id when the node still knows the channel; amount, expiry, accept
 * height and time and the MPP total as the intake recorded them (invoices paid before that was recorded
 * list only what their names say). No custom records: the intake keeps none.
 */
function invoiceHtlcs(i: InvoiceView, core: NodeCore): Msg[] {
  if (i.status !== 'paid') return [];
  return i.paidHtlcs.map((name) => {
    const [channelId, index] = name.split('/') as [string, string];
    const scid = core.channelManager?.get(channelId)?.data.shortChannelId;
    const h = i.paidHtlcDetails.find((d) => d.name === name);
    return {
      ...(scid !== undefined ? { chan_id: chanId(scid) } : {}),
      htlc_index: index,
      ...(h ? { amt_msat: String(h.amountMsat), accept_height: h.acceptHeight, accept_time: String(h.acceptTime), expiry_height: h.expiryHeight, mpp_total_amt_msat: String(h.mppTotalMsat) } : {}),
      resolve_time: String(i.paidAt ?? 0),
      state: 'SETTLED',
    };
  });
}

/** invoicesrpc.CreateRPCInvoice for a book entry. */
export function rpcInvoice(i: InvoiceView, core: NodeCore): Msg {
  const d = decodeInvoice(i.bolt11);
  const amt = i.amountMsat ?? 0n;
  const paid = i.status === 'paid' ? (i.amountReceivedMsat ?? 0n) : 0n;
  return {
    memo: i.description ?? '',
    r_preimage: i.preimage,
    r_hash: i.paymentHash,
    value: (amt / 1000n).toString(),
    value_msat: amt.toString(),
    settled: i.status === 'paid',
    creation_date: String(i.createdAt),
    settle_date: String(i.paidAt ?? 0),
    payment_request: isKeysend(i) ? '' : i.bolt11,
    description_hash: d.descriptionHash ?? Buffer.alloc(0),
    expiry: String(d.expirySeconds),
    fallback_addr: fallbackAddress(d),
    cltv_expiry: String(d.minFinalCltvExpiryDelta),
    route_hints: routeHints(d.routeHints),
    private: d.routeHints.length > 0,
    add_index: String(i.createdIndex),
    settle_index: String(i.payIndex ?? 0),
    amt_paid: paid.toString(),
    amt_paid_sat: (paid / 1000n).toString(),
    amt_paid_msat: paid.toString(),
    state: i.status === 'paid' ? 'SETTLED' : i.status === 'expired' ? 'CANCELED' : 'OPEN',
    htlcs: invoiceHtlcs(i, core),
    features: featureMap(d.features),
    is_keysend: isKeysend(i),
    payment_addr: i.paymentSecret,
    is_amp: false,
  };
}

function fallbackOf(core: NodeCore, address: string): FallbackField {
  const f = fallbackForAddress(core, address);
  if (!f) throw new Error(`invalid fallback address: ${address}`);
  return f;
}

function bookErrors(err: unknown): never {
  if (err instanceof BookError) {
    // invoices.ErrDuplicateInvoice: LND refuses a second invoice for the same payment hash.
    if (err.code === 'DUPLICATE_PREIMAGE' || err.code === 'DUPLICATE_LABEL') throw new Error('invoice with payment hash already exists');
    throw new Error(err.message);
  }
  throw err;
}

export async function addInvoice(core: NodeCore, req: Msg): Promise<Msg> {
  const b = book(core);
  const sat = int(req.value);
  const msat = int(req.value_msat);
  if (sat !== 0n && msat !== 0n) throw new Error('sat and msat arguments are mutually exclusive');
  if (sat < 0n || msat < 0n) throw new Error('amount cannot be negative');
  const amountMsat = sat !== 0n ? sat * 1000n : msat;
  const memo = String(req.memo ?? '');
  if (Buffer.byteLength(memo) > MAX_MEMO_BYTES) throw new Error(`memo too large: ${Buffer.byteLength(memo)} bytes (maxlen=${MAX_MEMO_BYTES})`);
  const descHash = req.description_hash as Buffer | undefined;
  if (descHash && descHash.length > 0 && descHash.length !== 32) throw new Error(`description hash is ${descHash.length} bytes, must be 32`);
  const preimage = req.r_preimage as Buffer | undefined;
  if (preimage && preimage.length > 0 && preimage.length !== 32) throw new Error(`payment preimage must be exactly 32 bytes, is instead ${preimage.length}`);
  const expiry = int(req.expiry);
  if (expiry < 0n) throw new Error('expiry must be non-negative');
  if (expiry > BigInt(LND_MAX_EXPIRY_SECONDS)) throw new Error(`expiry of ${expiry} seconds greater than max invoice expiry of ${LND_MAX_EXPIRY_SECONDS} seconds`);
  const cltv = int(req.cltv_expiry);
  const hints = ((req.route_hints as { hop_hints?: Msg[] }[] | undefined) ?? []).map((rh) =>
    (rh.hop_hints ?? []).map((h) => ({
      nodeId: Buffer.from(String(h.node_id ?? ''), 'hex'),
      shortChannelId: scidToString(int(h.chan_id)),
      feeBaseMsat: Number(h.fee_base_msat ?? 0),
      feeProportionalMillionths: Number(h.fee_proportional_millionths ?? 0),
      cltvExpiryDelta: Number(h.cltv_expiry_delta ?? 0),
    })),
  );
  const fallback = String(req.fallback_addr ?? '');
  const hinted = req.private === true ? invoiceRouteHints(core, amountMsat > 0n ? amountMsat : undefined, true) : undefined;
  const privateHints = hinted && 'hints' in hinted ? hinted.hints : [];
  let inv: InvoiceView;
  try {
    inv = await b.create({
      ...(amountMsat > 0n ? { amountMsat } : {}),
      description: memo,
      ...(descHash && descHash.length === 32 ? { descriptionHash: descHash } : {}),
      ...(preimage && preimage.length === 32 ? { preimage } : {}),
      expirySeconds: expiry === 0n ? LND_DEFAULT_EXPIRY_SECONDS : Number(expiry),
      ...(cltv > 0n ? { minFinalCltvExpiryDelta: Number(cltv) } : {}),
      ...(fallback ? { fallbacks: [fallbackOf(core, fallback)] } : {}),
      // Hints given by the caller as given, then (`private`) our unannounced channels' (as LND's hop hints).
      ...(hints.length || privateHints.length ? { routeHints: [...hints, ...privateHints] } : {}),
    });
  } catch (err) {
    if (err instanceof InvoiceError) throw new Error(err.message);
    bookErrors(err);
  }
  return { r_hash: inv.paymentHash, payment_request: inv.bolt11, add_index: String(inv.createdIndex), payment_addr: inv.paymentSecret };
}

export async function lookupInvoice(core: NodeCore, req: Msg): Promise<Msg> {
  const b = book(core);
  let hash: Buffer;
  const str = String(req.r_hash_str ?? '');
  if (str !== '') {
    if (!/^([0-9a-fA-F]{2})*$/.test(str)) throw new Error(`unable to decode hash: encoding/hex: invalid byte`);
    hash = Buffer.from(str, 'hex');
  } else if ((req.r_hash as Buffer | undefined)?.length) {
    hash = req.r_hash as Buffer;
  } else {
    throw new Error('must specify a payment hash');
  }
  if (hash.length !== 32) throw new Error(`payment hash must be exactly 32 bytes, is instead ${hash.length}`);
  const inv = await b.get(hash);
  if (!inv) throw new RpcError(Status.NOT_FOUND, 'unable to locate invoice');
  return rpcInvoice(inv, core);
}

export async function listInvoices(core: NodeCore, req: Msg): Promise<Msg> {
  const all = await book(core).list();
  const offset = int(req.index_offset);
  const max = int(req.num_max_invoices);
  const from = int(req.creation_date_start);
  const to = int(req.creation_date_end);
  let rows = all.filter((i) => (req.pending_only !== true || i.status === 'unpaid') && (from === 0n || BigInt(i.createdAt) >= from) && (to === 0n || BigInt(i.createdAt) <= to));
  if (req.reversed === true) {
    if (offset !== 0n) rows = rows.filter((i) => BigInt(i.createdIndex) < offset);
    if (max !== 0n && BigInt(rows.length) > max) rows = rows.slice(rows.length - Number(max));
  } else {
    rows = rows.filter((i) => BigInt(i.createdIndex) > offset);
    if (max !== 0n && BigInt(rows.length) > max) rows = rows.slice(0, Number(max));
  }
  return {
    invoices: rows.map((i) => rpcInvoice(i, core)),
    first_index_offset: String(rows[0]?.createdIndex ?? 0),
    last_index_offset: String(rows.at(-1)?.createdIndex ?? 0),
  };
}

/**
 * SubscribeInvoices: first the backlog (invoices added after `add_index`, then settled after
 * `settle_index`, when non-zero), then every addition, settlement and cancellation (expiry) as it
 * happens, until the caller goes (`signal`).
 */
export async function subscribeInvoices(core: NodeCore, req: Msg, send: (m: Msg) => void, signal: AbortSignal): Promise<void> {
  const b = book(core);
  const queue: InvoiceView[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = b.subscribe((e) => {
    if (e.type === 'deleted') return;
    queue.push(e.invoice);
    wake?.();
  });
  try {
    const addIndex = Number(int(req.add_index));
    const settleIndex = Number(int(req.settle_index));
    if (addIndex > 0) for (const i of await b.list({ start: addIndex + 1 })) send(rpcInvoice(i, core));
    if (settleIndex > 0) for (const i of await b.paidAfter(settleIndex)) send(rpcInvoice(i, core));
    while (!signal.aborted) {
      while (queue.length) send(rpcInvoice(queue.shift()!, core));
      await new Promise<void>((resolve) => {
        wake = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      wake = undefined;
    }
  } finally {
    unsubscribe();
  }
}

export async function decodePayReq(core: NodeCore, req: Msg): Promise<Msg> {
  let d: Invoice;
  try {
    d = decodeInvoice(String(req.pay_req ?? ''));
  } catch (err) {
    if (err instanceof InvoiceError) throw new Error(err.message);
    throw err;
  }
  const ours = core.config.network === 'testnet4' ? 'testnet' : core.config.network;
  if (d.network !== ours) throw new Error(`invoice not for current active network '${LND_NET[core.config.network] ?? core.config.network}'`);
  const msat = d.amountMsat ?? 0n;
  return {
    destination: d.payeeNodeId.toString('hex'),
    payment_hash: d.paymentHash.toString('hex'),
    num_satoshis: (msat / 1000n).toString(),
    timestamp: String(d.timestamp),
    expiry: String(d.expirySeconds),
    description: d.description ?? '',
    description_hash: d.descriptionHash?.toString('hex') ?? '',
    fallback_addr: fallbackAddress(d),
    cltv_expiry: String(d.minFinalCltvExpiryDelta),
    route_hints: routeHints(d.routeHints),
    payment_addr: d.paymentSecret,
    num_msat: msat.toString(),
    features: featureMap(d.features),
  };
}

/** The unary handlers, by full method name (methods.ts registers them). */
export const INVOICE_HANDLERS: Record<string, (req: Msg, core: NodeCore) => Promise<Msg>> = {
  '/lnrpc.Lightning/AddInvoice': (req, core) => addInvoice(core, req),
  '/lnrpc.Lightning/LookupInvoice': (req, core) => lookupInvoice(core, req),
  '/lnrpc.Lightning/ListInvoices': (req, core) => listInvoices(core, req),
  '/lnrpc.Lightning/DecodePayReq': (req, core) => decodePayReq(core, req),
};

/** The server-streaming handlers, by full method name. */
export const INVOICE_STREAMS: Record<string, (req: Msg, core: NodeCore, send: (m: Msg) => void, signal: AbortSignal) => Promise<void>> = {
  '/lnrpc.Lightning/SubscribeInvoices': (req, core, send, signal) => subscribeInvoices(core, req, send, signal),
};
