/**
 * Paying an invoice or a node (CLN's `pay` and `keysend`, LND's `SendPaymentV2`): checks the invoice
 * (network, expiry, amount), picks how to reach the payee — our channels to it, else our channels to the
 * first node of one of its route hints — and hands the parts to the {@link PaymentSender}. Pathfinding
 * over the graph comes with gossip (issue 15).
 */
import { decodeInvoice, invoiceExpiresAt, type Invoice } from '../invoice/bolt11.js';
import { sha256 } from '../crypto/hash.js';
import { InvoiceError } from '../invoice/errors.js';
import type { InvoiceNetwork } from '../invoice/hrp.js';
import { Feature } from '../wire/features.js';
import { buildRoute } from './route.js';
import { keysendSecret, PaymentError, type PaymentSender } from './send.js';

/**
 * Keysend's final CLTV delta (no invoice says one): LND's default for invoices, 40. LDK refuses a final
 * expiry fewer than 22 blocks ahead (its claim buffer and grace period), so CLN's 22 would not do.
 */
export const KEYSEND_FINAL_CLTV_DELTA = 40;

export interface PayContext {
  sender: PaymentSender;
  network: string;
  /** Node ids of peers we have a usable channel with. */
  reachablePeers(): Set<string>;
  blockHeight(): number;
}

export type PayResult = Awaited<ReturnType<PaymentSender['pay']>>;

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

/** Pays an invoice; `amountMsat` only (and then required) when the invoice has no amount. */
export async function payInvoice(ctx: PayContext, bolt11: string, opts: { amountMsat?: bigint; label?: string; now?: number }): Promise<PayResult> {
  const inv = parseInvoice(bolt11, ctx.network);
  if (inv.amountMsat !== undefined && opts.amountMsat !== undefined) throw new PaymentError('INVALID', 'amount_msat parameter unnecessary');
  const amountMsat = inv.amountMsat ?? opts.amountMsat;
  if (amountMsat === undefined) throw new PaymentError('INVALID', 'amount_msat parameter required');
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (invoiceExpiresAt(inv) <= now) throw new PaymentError('EXPIRED', 'Invoice expired');
  const destination = inv.payeeNodeId.toString('hex');
  const peers = ctx.reachablePeers();
  const hint = peers.has(destination) ? [] : inv.routeHints.find((h) => h.length > 0 && peers.has(h[0]!.nodeId.toString('hex')));
  if (hint === undefined) throw new PaymentError('NO_ROUTE', `No channel to ${destination} or to a route hint's first node (no graph yet)`);
  const firstPeer = hint.length > 0 ? hint[0]!.nodeId.toString('hex') : destination;
  const finalCltv = ctx.blockHeight() + inv.minFinalCltvExpiryDelta + 1;
  return ctx.sender.pay({
    paymentHash: inv.paymentHash,
    destination,
    amountMsat,
    firstPeer,
    route: (firstChannel, amt) => buildRoute({ firstPeer, firstChannel, destination, amountMsat: amt, finalCltv, hint }),
    paymentSecret: inv.paymentSecret,
    ...(inv.metadata ? { paymentMetadata: inv.metadata } : {}),
    mpp: inv.features.supports(Feature.BASIC_MPP),
    bolt11,
    ...(opts.label !== undefined ? { label: opts.label } : {}),
  });
}

/** Keysend to a peer we have a channel with: a fresh preimage (or the caller's) in the final payload (TLV 5482373484), one part. */
export async function keysend(ctx: PayContext, destination: string, amountMsat: bigint, opts: { label?: string; preimage?: Buffer } = {}): Promise<PayResult> {
  if (!ctx.reachablePeers().has(destination)) throw new PaymentError('NO_ROUTE', `No channel to ${destination} (no graph yet)`);
  // LND's callers choose the preimage (dest_custom_records); CLN's keysend makes one.
  const { preimage, paymentHash } = opts.preimage ? { preimage: opts.preimage, paymentHash: sha256(opts.preimage) } : keysendSecret();
  const finalCltv = ctx.blockHeight() + KEYSEND_FINAL_CLTV_DELTA;
  return ctx.sender.pay({
    paymentHash,
    destination,
    amountMsat,
    firstPeer: destination,
    route: (firstChannel, amt) => buildRoute({ firstPeer: destination, firstChannel, destination, amountMsat: amt, finalCltv }),
    keysendPreimage: preimage,
    mpp: false,
    ...(opts.label !== undefined ? { label: opts.label } : {}),
  });
}
