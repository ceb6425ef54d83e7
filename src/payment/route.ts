/**
 * Routes a payment takes, in CLN's `sendpay` shape: hop `i` is the node the HTLC reaches after `i + 1`
 * channels, `amountMsat` and `delay` what that node's incoming HTLC carries (so hop 0's are the HTLC we
 * offer), `channel` the short channel id leading to it. Until the graph exists (issue 15) a route is one
 * hop to a direct peer, or our channel to a peer followed by an invoice's route hint (BOLT 11 `r`).
 */
import type { RouteHintHop } from '../invoice/bolt11.js';
import { encodeHopPayload, type PaymentData } from '../onion/payload.js';

export interface RouteHop {
  /** Node id, hex. */
  id: string;
  /** Short channel id `BLOCKxTXxOUT` of the channel into this node. */
  channel: string;
  amountMsat: bigint;
  /** The CLTV expiry (absolute block height) of the HTLC reaching this node. */
  delay: number;
}

/** What only the final hop's payload carries. */
export interface FinalHopExtras {
  paymentData?: PaymentData;
  keysendPreimage?: Buffer;
  paymentMetadata?: Buffer;
}

/** Each hop's TLV payload (BOLT 4): a forwarding hop is told the next hop's amount, expiry and channel. */
export function hopPayloads(route: readonly RouteHop[], extras: FinalHopExtras): Buffer[] {
  return route.map((h, i) => {
    const next = route[i + 1];
    if (next) return encodeHopPayload({ amtToForward: next.amountMsat, outgoingCltvValue: next.delay, shortChannelId: next.channel });
    return encodeHopPayload({
      amtToForward: h.amountMsat,
      outgoingCltvValue: h.delay,
      ...(extras.paymentData ? { paymentData: extras.paymentData } : {}),
      ...(extras.keysendPreimage ? { keysendPreimage: extras.keysendPreimage } : {}),
      ...(extras.paymentMetadata ? { paymentMetadata: extras.paymentMetadata } : {}),
    });
  });
}

/** The fee a hop charges to forward `amountMsat` (BOLT 7: base + proportional, rounded down). */
export function hopFeeMsat(hint: Pick<RouteHintHop, 'feeBaseMsat' | 'feeProportionalMillionths'>, amountMsat: bigint): bigint {
  return BigInt(hint.feeBaseMsat) + (amountMsat * BigInt(hint.feeProportionalMillionths)) / 1_000_000n;
}

/**
 * The route delivering `amountMsat` to `destination` with final expiry `finalCltv`: directly over our
 * channel `firstChannel` to the peer, or through `hint` (whose first hop must be that peer). Each hint hop
 * names the node forwarding into the next channel and its policy; fees and CLTV deltas add up backwards.
 */
export function buildRoute(args: { firstPeer: string; firstChannel: string; destination: string; amountMsat: bigint; finalCltv: number; hint?: readonly RouteHintHop[] }): RouteHop[] {
  const hint = args.hint ?? [];
  // Nodes after our peer: each hint hop's channel leads to the next hint hop's node, the last to the payee.
  const tail: RouteHop[] = [];
  let amount = args.amountMsat;
  let delay = args.finalCltv;
  for (let i = hint.length - 1; i >= 0; i--) {
    const h = hint[i]!;
    const to = i === hint.length - 1 ? args.destination : hint[i + 1]!.nodeId.toString('hex');
    tail.unshift({ id: to, channel: h.shortChannelId, amountMsat: amount, delay });
    amount += hopFeeMsat(h, amount);
    delay += h.cltvExpiryDelta;
  }
  const firstId = hint.length > 0 ? hint[0]!.nodeId.toString('hex') : args.destination;
  if (firstId !== args.firstPeer) throw new Error(`route: the first node ${firstId} is not our peer ${args.firstPeer}`);
  return [{ id: firstId, channel: args.firstChannel, amountMsat: amount, delay }, ...tail];
}

export function routeJson(route: readonly RouteHop[]): string {
  return JSON.stringify(route.map((h) => ({ id: h.id, channel: h.channel, amount_msat: h.amountMsat.toString(), delay: h.delay })));
}

export function routeFromJson(text: string): RouteHop[] {
  return (JSON.parse(text) as { id: string; channel: string; amount_msat: string; delay: number }[]).map((h) => ({ id: h.id, channel: h.channel, amountMsat: BigInt(h.amount_msat), delay: h.delay }));
}
