/**
 * A hop of a blinded path reading its HTLC (BOLT 4 "Route Blinding" and the reader's requirements for
 * `encrypted_recipient_data`), pure: the onion peeled with the blinded node key when the HTLC came with a
 * `path_key`, the recipient data opened, the relay or final checks, and what to answer on failure.
 *
 * Who we are in the path decides how a failure goes back (BOLT 4 "Failure Messages"):
 * - the HTLC carried a `path_key` (`update_add_htlc` TLV 0): inside the path, after its introduction
 *   node → `update_fail_malformed_htlc` with `invalid_onion_blinding` and the onion's sha256, whatever failed;
 * - the payload carried `current_path_key` and we are not the final node: the introduction node →
 *   `update_fail_htlc` with `invalid_onion_blinding` (sha256 of the onion), encrypted as any failure;
 * - the introduction node is the final node: the ordinary final-hop failures.
 * No `channel_update` is ever in them: the sender must not learn which channel of the path refused.
 */
import { sha256 } from '../crypto/hash.js';
import { blindedAmountToForward, blindedNodeKey, openRecipientData, type RecipientData } from './blinding.js';
import { OnionError } from './errors.js';
import { createFailure } from './failure-onion.js';
import { FailureCode, type FailureMessage } from './failure.js';
import type { HopPayload } from './payload.js';
import { peelOnion, type BadOnionCode, type PeeledOnion } from './sphinx.js';

/** The parts of an incoming HTLC the reading needs (the channel's `HtlcAdd`). */
export interface IncomingHtlc {
  amountMsat: bigint;
  cltvExpiry: number;
  paymentHash: Buffer;
  onion: Buffer;
  pathKey?: Buffer;
}

/** How an HTLC is refused: `update_fail_htlc` with the encrypted `reason`, or `update_fail_malformed_htlc`. */
export type HopFailure =
  | { kind: 'fail'; failure: FailureMessage; reason: Buffer }
  | { kind: 'fail-malformed'; failureCode: BadOnionCode; sha256OfOnion: Buffer };

/**
 * The HTLC's onion peeled: with our node key, or — when the HTLC carries a `path_key` — with our blinded
 * key for it. An unreadable onion inside a blinded path is `invalid_onion_blinding`, never the BADONION
 * code that would tell the sender why.
 */
export function peelHtlc(htlc: IncomingHtlc, nodeKey: Uint8Array): PeeledOnion {
  if (htlc.pathKey === undefined) return peelOnion(htlc.onion, nodeKey, htlc.paymentHash);
  const malformed: PeeledOnion = { kind: 'malformed', failureCode: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha256(htlc.onion) };
  let key: Buffer;
  try {
    key = blindedNodeKey(nodeKey, htlc.pathKey);
  } catch (e) {
    if (e instanceof OnionError) return malformed;
    throw e;
  }
  const peeled = peelOnion(htlc.onion, key, htlc.paymentHash);
  return peeled.kind === 'malformed' ? malformed : peeled;
}

/** Whether the HTLC is a blinded path's: it carried a `path_key`, or its payload `encrypted_recipient_data`. */
export function isBlindedHtlc(htlc: IncomingHtlc, peeled: PeeledOnion): boolean {
  if (htlc.pathKey !== undefined) return true;
  return (peeled.kind === 'forward' || peeled.kind === 'final') && peeled.payload.encryptedRecipientData !== undefined;
}

/** The failure to send for `normal` (what an unblinded hop would send) given where we are in the path. */
export function blindedFailure(htlc: IncomingHtlc, sharedSecret: Buffer, isFinal: boolean, normal: FailureMessage): HopFailure {
  const sha256OfOnion = sha256(htlc.onion);
  if (htlc.pathKey !== undefined) return { kind: 'fail-malformed', failureCode: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion };
  const failure: FailureMessage = isFinal ? normal : { code: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion };
  return { kind: 'fail', failure, reason: createFailure(sharedSecret, failure) };
}

/**
 * The failure to send upstream instead of `update_fail_htlc` with the downstream reason, for an HTLC we
 * forwarded inside a blinded path (BOLT 4: whatever failed after us, the sender learns only that the
 * path failed); undefined for an HTLC outside one, whose reason goes back as it is.
 */
export function blindedUpstreamFailure(htlc: IncomingHtlc, nodeKey: Uint8Array): HopFailure | undefined {
  if (htlc.pathKey !== undefined) return { kind: 'fail-malformed', failureCode: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha256(htlc.onion) };
  const peeled = peelOnion(htlc.onion, nodeKey, htlc.paymentHash);
  if (peeled.kind !== 'forward' || peeled.payload.currentPathKey === undefined || peeled.payload.encryptedRecipientData === undefined) return undefined;
  return blindedFailure(htlc, peeled.sharedSecret, false, { code: FailureCode.TEMPORARY_NODE_FAILURE });
}

export type BlindedHop =
  /** Forward `nextOnion` to `shortChannelId` or `nextNodeId`, with `nextPathKey` in the `update_add_htlc`. */
  | {
      kind: 'forward';
      sharedSecret: Buffer;
      nextOnion: Buffer;
      amtToForward: bigint;
      outgoingCltvValue: number;
      shortChannelId?: string;
      nextNodeId?: Buffer;
      nextPathKey: Buffer;
      data: RecipientData;
    }
  /** We are the recipient: the payment's part, its total, and the `path_id` we wrote into our own data. */
  | { kind: 'final'; sharedSecret: Buffer; payload: HopPayload; amtToForward: bigint; outgoingCltvValue: number; totalMsat: bigint; pathId?: Buffer; data: RecipientData }
  | { kind: 'fail'; failure: HopFailure };

const RELAY_FIELDS = new Set(['encryptedRecipientData', 'currentPathKey']);
const FINAL_FIELDS = new Set([...RELAY_FIELDS, 'amtToForward', 'outgoingCltvValue', 'totalAmountMsat']);

/** The first payload record a blinded hop must not carry (its TLV type), or undefined. */
function strayField(p: HopPayload, allowed: ReadonlySet<string>): bigint | undefined {
  const types: Record<string, bigint> = { amtToForward: 2n, outgoingCltvValue: 4n, shortChannelId: 6n, paymentData: 8n, paymentMetadata: 16n, totalAmountMsat: 18n, keysendPreimage: 5482373484n };
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || allowed.has(k)) continue;
    if (k === 'extraTlvs') {
      if (Array.isArray(v) && v.length > 0) return (v as { type: bigint }[])[0]!.type;
      continue;
    }
    return types[k] ?? 0n;
  }
  return undefined;
}

/**
 * Reads a blinded HTLC once peeled (`peelHtlc`, then `isBlindedHtlc`): BOLT 4's reader requirements for
 * `encrypted_recipient_data`, then the relay's amount and expiry from `payment_relay`, or the final
 * hop's fields. `height` is our block height (the failure data of the introduction-and-final node).
 */
export function readBlindedHop(htlc: IncomingHtlc, peeled: PeeledOnion, nodeKey: Uint8Array, height: number): BlindedHop {
  if (peeled.kind === 'malformed') {
    const sha256OfOnion = htlc.pathKey !== undefined ? sha256(htlc.onion) : peeled.sha256OfOnion;
    const failureCode = htlc.pathKey !== undefined ? FailureCode.INVALID_ONION_BLINDING : peeled.failureCode;
    return { kind: 'fail', failure: { kind: 'fail-malformed', failureCode, sha256OfOnion } };
  }
  if (peeled.kind === 'invalid-payload') return { kind: 'fail', failure: blindedFailure(htlc, peeled.sharedSecret, false, peeled.failure) };
  const { sharedSecret, payload: p } = peeled;
  const isFinal = peeled.kind === 'final';
  const fail = (normal: FailureMessage): BlindedHop => ({ kind: 'fail', failure: blindedFailure(htlc, sharedSecret, isFinal, normal) });
  const bad = (tlvType: bigint): BlindedHop => fail({ code: FailureCode.INVALID_ONION_PAYLOAD, tlvType, offset: 0 });
  const unknownPayment = (): BlindedHop => fail({ code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: htlc.amountMsat, height });

  if (p.encryptedRecipientData === undefined) return bad(10n);
  // The path key comes from the previous node (inside the path) or from the sender (introduction node), never both.
  if ((htlc.pathKey !== undefined) === (p.currentPathKey !== undefined)) return bad(12n);
  let opened;
  try {
    opened = openRecipientData(nodeKey, htlc.pathKey ?? p.currentPathKey!, p.encryptedRecipientData);
  } catch (e) {
    if (e instanceof OnionError) return bad(10n);
    throw e;
  }
  const d = opened.data;
  const c = d.paymentConstraints;
  if (c !== undefined && (htlc.cltvExpiry > c.maxCltvExpiry || htlc.amountMsat < c.htlcMinimumMsat)) return unknownPayment();
  // We know no feature a blinded payment may use, so any bit set is one we do not know (BOLT 4: even if odd).
  if (d.allowedFeatures !== undefined && d.allowedFeatures.some((b) => b !== 0)) return bad(10n);
  if (d.shortChannelId !== undefined && d.nextNodeId !== undefined) return bad(10n);

  if (!isFinal) {
    const stray = strayField(p, RELAY_FIELDS);
    if (stray !== undefined) return bad(stray);
    if ((d.shortChannelId === undefined && d.nextNodeId === undefined) || d.paymentRelay === undefined) return bad(10n);
    const amtToForward = blindedAmountToForward(htlc.amountMsat, d.paymentRelay);
    const outgoingCltvValue = htlc.cltvExpiry - d.paymentRelay.cltvExpiryDelta;
    if (amtToForward === undefined || amtToForward <= 0n || outgoingCltvValue <= 0) return unknownPayment();
    return {
      kind: 'forward',
      sharedSecret,
      nextOnion: peeled.kind === 'forward' ? peeled.nextOnion : Buffer.alloc(0),
      amtToForward,
      outgoingCltvValue,
      ...(d.shortChannelId !== undefined ? { shortChannelId: d.shortChannelId } : {}),
      ...(d.nextNodeId !== undefined ? { nextNodeId: d.nextNodeId } : {}),
      nextPathKey: opened.nextPathKey,
      data: d,
    };
  }
  const stray = strayField(p, FINAL_FIELDS);
  if (stray !== undefined) return bad(stray);
  if (p.amtToForward === undefined) return bad(2n);
  if (p.outgoingCltvValue === undefined) return bad(4n);
  if (p.totalAmountMsat === undefined) return bad(18n);
  if (htlc.cltvExpiry < p.outgoingCltvValue) return fail({ code: FailureCode.FINAL_INCORRECT_CLTV_EXPIRY, cltvExpiry: htlc.cltvExpiry });
  if (htlc.amountMsat < p.amtToForward) return fail({ code: FailureCode.FINAL_INCORRECT_HTLC_AMOUNT, incomingHtlcAmt: htlc.amountMsat });
  return {
    kind: 'final',
    sharedSecret,
    payload: p,
    amtToForward: p.amtToForward,
    outgoingCltvValue: p.outgoingCltvValue,
    totalMsat: p.totalAmountMsat,
    ...(d.pathId !== undefined ? { pathId: d.pathId } : {}),
    data: d,
  };
}
