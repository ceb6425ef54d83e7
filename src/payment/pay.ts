/**
 * Paying an invoice or a node (CLN's `pay` and `keysend`, LND's `SendPaymentV2`): checks the invoice
 * (network, expiry, amount), then hands the {@link PaymentSender} a route finder — the pathfinder
 * (routing/) over the gossip graph (an empty one without gossip), our channels with their real balances
 * and the invoice's route hints — with the payment's limits: fee budget (CLN's `maxfeepercent` 0.5 % or
 * `exemptfee` 5000 msat, whichever is more, unless `maxfee`), `maxdelay`, excluded channels and nodes,
 * and `retry_for`.
 */
import { decodeInvoice, invoiceExpiresAt, type Invoice, type RouteHintHop } from '../invoice/bolt11.js';
import { sha256 } from '../crypto/hash.js';
import { ChannelGraph } from '../gossip/graph.js';
import { InvoiceError } from '../invoice/errors.js';
import type { InvoiceNetwork } from '../invoice/hrp.js';
import { findRoute, MIN_ROUTE_PROBABILITY } from '../routing/pathfind.js';
import { Feature } from '../wire/features.js';
import { keysendSecret, PaymentError, type PayArgs, type PaymentSender, type RouteFinder } from './send.js';

/**
 * Keysend's final CLTV delta (no invoice says one): LND's default for invoices, 40. LDK refuses a final
 * expiry fewer than 22 blocks ahead (its claim buffer and grace period), so CLN's 22 would not do.
 */
export const KEYSEND_FINAL_CLTV_DELTA = 40;
/** CLN's pay defaults: `maxfeepercent`, `exemptfee` (msat), `maxdelay` (lightningd's max-locktime-blocks). */
export const DEFAULT_MAX_FEE_PERCENT = 0.5;
export const DEFAULT_EXEMPT_FEE_MSAT = 5000n;
export const DEFAULT_MAX_DELAY = 2016;

export interface PayContext {
  sender: PaymentSender;
  network: string;
  /** Our node id (hex). */
  nodeId: string;
  /** The gossip graph, when the node has one. */
  graph?: ChannelGraph;
  /** Node ids of peers we have a usable channel with. */
  reachablePeers(): Set<string>;
  blockHeight(): number;
}

/** The limits of one payment (CLN's pay options; LND's fee_limit, cltv_limit, timeout_seconds). */
export interface PayLimits {
  /** The fee budget (msat); default: the larger of `maxFeePercent` of the amount and `exemptFeeMsat`. */
  maxFeeMsat?: bigint;
  maxFeePercent?: number;
  exemptFeeMsat?: bigint;
  /** The most blocks our first HTLC may be locked for (CLN's `maxdelay`). */
  maxDelay?: number;
  /** How long to keep trying (seconds; CLN's `retry_for`). */
  retryForSec?: number;
  /** Channels (`scid` or `scid/direction`) and node ids not to route through. */
  exclude?: readonly string[];
  /** CLN's riskfactor (annual percent on locked funds); default 10. */
  riskFactor?: number;
  /** Only these of our channels (`BLOCKxTXxOUT`) may carry the first hop (LND's `outgoing_chan_ids`). */
  outgoingChannels?: ReadonlySet<string>;
  /** The node the route must reach the payee from (LND's `last_hop_pubkey`). */
  lastHop?: string;
  /** Route hints of the caller's, used with the invoice's own (LND's `route_hints`). */
  hints?: readonly (readonly RouteHintHop[])[];
  /** The most parts in flight at once (LND's `max_parts`); default: no limit. */
  maxParts?: number;
  /** The largest part MPP sends (LND's `max_shard_size_msat`). */
  maxPartMsat?: bigint;
}

export type PayResult = Awaited<ReturnType<PaymentSender['pay']>>;

/** CLN's fee budget: `maxfee`, else `maxfeepercent` of the amount, but never below `exemptfee`. */
export function feeBudget(amountMsat: bigint, limits: PayLimits): bigint {
  if (limits.maxFeeMsat !== undefined) return limits.maxFeeMsat;
  const pct = limits.maxFeePercent ?? DEFAULT_MAX_FEE_PERCENT;
  // Percent in millionths of the amount, rounded down.
  const byPct = (amountMsat * BigInt(Math.round(pct * 10_000))) / 1_000_000n;
  const exempt = limits.exemptFeeMsat ?? DEFAULT_EXEMPT_FEE_MSAT;
  return byPct > exempt ? byPct : exempt;
}

/** The route finder for one payment: the pathfinder over the graph, our channels and the hints. */
function finder(ctx: PayContext, destination: string, finalCltvDelta: number, hints: readonly (readonly RouteHintHop[])[], limits: PayLimits): RouteFinder {
  const graph = ctx.graph ?? new ChannelGraph(0);
  const excludeChannels = new Set((limits.exclude ?? []).filter((x) => x.includes('x')));
  const excludeNodes = new Set((limits.exclude ?? []).filter((x) => !x.includes('x')).map((x) => x.toLowerCase()));
  const allowed = limits.outgoingChannels;
  const allHints = limits.hints?.length ? [...limits.hints, ...hints] : hints;
  return (amountMsat, c) =>
    findRoute(graph, {
      source: ctx.nodeId,
      target: destination,
      amountMsat,
      finalCltvDelta,
      local: allowed ? c.local.filter((l) => allowed.has(l.scid)) : c.local,
      hints: allHints,
      ...(limits.lastHop !== undefined ? { lastHop: limits.lastHop } : {}),
      ...(c.maxFeeMsat !== undefined ? { maxFeeMsat: c.maxFeeMsat } : {}),
      maxCltvDelta: limits.maxDelay ?? DEFAULT_MAX_DELAY,
      excludeChannels,
      excludeNodes,
      ...(limits.riskFactor !== undefined ? { riskFactor: limits.riskFactor } : {}),
      mission: c.mission,
      inFlight: c.inFlight,
      now: c.now,
      minProbability: MIN_ROUTE_PROBABILITY,
    });
}

/** Decodes `bolt11` for this node's network; throws PaymentError INVALID with the decoder's reason. */
export function parseInvoice(bolt11: string, network: string): Invoice {
  let inv: Invoice;
  try {
    inv = decodeInvoice(bolt11.trim().toLowerCase().replace(/^lightning:/, ''));
  } catch (e) {
    if (e instanceof InvoiceError) throw new PaymentError('INVALID', `Invalid bolt11: ${e.message}`);
    throw e;
  }
  const want: InvoiceNetwork = network === 'testnet4' ? 'testnet' : (network as InvoiceNetwork);
  if (inv.network !== want && !(network === 'testnet4' && inv.network === 'testnet')) throw new PaymentError('INVALID', `Invalid bolt11: Invoice is for another network ${inv.network}`);
  return inv;
}

/** What the sender takes from the limits besides the route finder: the fee budget, the timeout, the part limits. */
function sendLimits(amountMsat: bigint, limits: PayLimits): Pick<PayArgs, 'maxFeeMsat' | 'timeoutMs' | 'maxParts' | 'maxPartMsat'> {
  return {
    maxFeeMsat: feeBudget(amountMsat, limits),
    ...(limits.retryForSec !== undefined ? { timeoutMs: limits.retryForSec * 1000 } : {}),
    ...(limits.maxParts !== undefined ? { maxParts: limits.maxParts } : {}),
    ...(limits.maxPartMsat !== undefined ? { maxPartMsat: limits.maxPartMsat } : {}),
  };
}

/** Pays an invoice; `amountMsat` only (and then required) when the invoice has no amount. */
export async function payInvoice(ctx: PayContext, bolt11: string, opts: { amountMsat?: bigint; label?: string; now?: number } & PayLimits): Promise<PayResult> {
  const inv = parseInvoice(bolt11, ctx.network);
  if (inv.amountMsat !== undefined && opts.amountMsat !== undefined) throw new PaymentError('INVALID', 'amount_msat parameter unnecessary');
  const amountMsat = inv.amountMsat ?? opts.amountMsat;
  if (amountMsat === undefined) throw new PaymentError('INVALID', 'amount_msat parameter required');
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (invoiceExpiresAt(inv) <= now) throw new PaymentError('EXPIRED', 'Invoice expired');
  const destination = inv.payeeNodeId.toString('hex');
  // The payee's final CLTV, one block more so a block found meanwhile does not make it too soon.
  const finalCltvDelta = inv.minFinalCltvExpiryDelta + 1;
  return ctx.sender.pay({
    paymentHash: inv.paymentHash,
    destination,
    amountMsat,
    findRoute: finder(ctx, destination, finalCltvDelta, inv.routeHints, opts),
    paymentSecret: inv.paymentSecret,
    ...(inv.metadata ? { paymentMetadata: inv.metadata } : {}),
    mpp: inv.features.supports(Feature.BASIC_MPP),
    bolt11,
    ...(opts.label !== undefined ? { label: opts.label } : {}),
    ...sendLimits(amountMsat, opts),
  });
}

/** Keysend: a fresh preimage (or the caller's) in the final payload (TLV 5482373484), one part, routed over the graph. */
export async function keysend(ctx: PayContext, destination: string, amountMsat: bigint, opts: { label?: string; preimage?: Buffer; finalCltvDelta?: number } & PayLimits = {}): Promise<PayResult> {
  // LND's callers choose the preimage (dest_custom_records); CLN's keysend makes one.
  const { preimage, paymentHash } = opts.preimage ? { preimage: opts.preimage, paymentHash: sha256(opts.preimage) } : keysendSecret();
  return ctx.sender.pay({
    paymentHash,
    destination,
    amountMsat,
    findRoute: finder(ctx, destination, opts.finalCltvDelta ?? KEYSEND_FINAL_CLTV_DELTA, [], opts),
    keysendPreimage: preimage,
    mpp: false,
    ...(opts.label !== undefined ? { label: opts.label } : {}),
    ...sendLimits(amountMsat, opts),
  });
}
