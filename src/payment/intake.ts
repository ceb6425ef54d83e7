/**
 * The HTLC intake: what happens to an HTLC a peer offered us once it is irrevocably committed (the
 * channel's `htlcReceived`). LND's switch does this in its link (`processRemoteAdds`), CLN's lightningd in
 * `peer_accepted_htlc` and the `htlc_accepted` hook.
 *
 * The onion is peeled with the node key (associated data: the payment hash), then (BOLT 4):
 * - unreadable onion → `update_fail_malformed_htlc` with the BADONION code and `sha256_of_onion`;
 * - authentic onion with an unusable payload → `invalid_onion_payload` (type, offset);
 * - a hop to forward → `unknown_next_peer`: there is no forwarding yet, and that is what LND's switch
 *   (`FailUnknownNextPeer` when no link has the `short_channel_id`), CLN (`WIRE_UNKNOWN_NEXT_PEER` in
 *   `forward_htlc` when no channel has it) and LDK send for an outgoing channel they do not know;
 * - the final hop (keysend included) → the final-hop checks (`final_incorrect_cltv_expiry`,
 *   `final_incorrect_htlc_amount`), then `incorrect_or_unknown_payment_details` with the HTLC's amount and
 *   our block height: there is no invoice book yet (issue 14), so no payment hash is known.
 *
 * Every failure except the malformed one is created with the hop's shared secret (`createFailure`), so
 * the payer attributes it to us and reads it. The decision is a channel update, which the channel
 * persists before it signs it; after a restart the channel announces the HTLC again and an HTLC already
 * being settled is left alone, so deciding twice never settles twice.
 */
import type { Logger } from 'pino';
import type { Channel } from '../channel/channel.js';
import { ChannelError } from '../channel/errors.js';
import type { ChannelData, HtlcAdd } from '../channel/state.js';
import { createFailure } from '../onion/failure-onion.js';
import { sha256 } from '../crypto/hash.js';
import { OnionError } from '../onion/errors.js';
import { BADONION, encodeFailureMessage, FailureCode, failureName, type FailureMessage } from '../onion/failure.js';
import type { HopPayload } from '../onion/payload.js';
import { peelOnion, type BadOnionCode } from '../onion/sphinx.js';

export type HtlcDecision =
  /** update_fail_htlc with `reason` (the encrypted `failure`). */
  | { kind: 'fail'; failure: FailureMessage; reason: Buffer }
  /** update_fail_malformed_htlc. */
  | { kind: 'fail-malformed'; failureCode: BadOnionCode; sha256OfOnion: Buffer };

/** What anode does with an incoming HTLC today: it can neither settle nor forward, so it fails every one. */
export function decideIncomingHtlc(htlc: HtlcAdd, nodeKey: Uint8Array, blockHeight: number): HtlcDecision {
  const peeled = peelOnion(htlc.onion, nodeKey, htlc.paymentHash);
  const fail = (sharedSecret: Buffer, failure: FailureMessage): HtlcDecision => ({ kind: 'fail', failure, reason: createFailure(sharedSecret, failure) });
  switch (peeled.kind) {
    case 'malformed':
      return { kind: 'fail-malformed', failureCode: peeled.failureCode, sha256OfOnion: peeled.sha256OfOnion };
    case 'invalid-payload':
      return fail(peeled.sharedSecret, peeled.failure);
    case 'forward':
      return fail(peeled.sharedSecret, { code: FailureCode.UNKNOWN_NEXT_PEER });
    case 'final':
      return fail(peeled.sharedSecret, finalHopFailure(htlc, peeled.payload, blockHeight));
  }
}

/**
 * BOLT 4's final-node checks, in its order: an `outgoing_cltv_value` above the HTLC's `cltv_expiry`, or
 * an `amt_to_forward` above its amount, is the previous hop's doing; anything else fails for want of a
 * known payment (`incorrect_or_unknown_payment_details`, with `htlc_msat` and our `height`).
 */
export function finalHopFailure(htlc: HtlcAdd, payload: HopPayload, blockHeight: number): FailureMessage {
  if (payload.outgoingCltvValue !== undefined && payload.outgoingCltvValue > htlc.cltvExpiry) {
    return { code: FailureCode.FINAL_INCORRECT_CLTV_EXPIRY, cltvExpiry: htlc.cltvExpiry };
  }
  if (payload.amtToForward !== undefined && payload.amtToForward > htlc.amountMsat) {
    return { code: FailureCode.FINAL_INCORRECT_HTLC_AMOUNT, incomingHtlcAmt: htlc.amountMsat };
  }
  return { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: htlc.amountMsat, height: blockHeight };
}

/**
 * The failure message of `code` for `htlc`, its data filled from the HTLC and our height where BOLT 4
 * defines it (`incorrect_or_unknown_payment_details`, `final_incorrect_cltv_expiry`,
 * `final_incorrect_htlc_amount`); an unknown code has no data. Throws ChannelError INVALID for a code
 * whose data anode cannot supply (a `channel_update`).
 */
export function failureOfCode(code: number, htlc: HtlcAdd, blockHeight: number): FailureMessage {
  const C = FailureCode;
  let msg: FailureMessage;
  if (code === C.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS) msg = { code, htlcMsat: htlc.amountMsat, height: blockHeight };
  else if (code === C.FINAL_INCORRECT_CLTV_EXPIRY) msg = { code, cltvExpiry: htlc.cltvExpiry };
  else if (code === C.FINAL_INCORRECT_HTLC_AMOUNT) msg = { code, incomingHtlcAmt: htlc.amountMsat };
  else if (failureName(code).startsWith('unknown_failure')) msg = { code, unknownCode: true, data: Buffer.alloc(0) };
  else msg = { code } as FailureMessage;
  try {
    encodeFailureMessage(msg);
  } catch (e) {
    if (e instanceof OnionError) throw new ChannelError('INVALID', `channel: ${failureName(code)} needs data anode cannot supply (${e.message})`);
    throw e;
  }
  return msg;
}

/** Whether we already settle incoming HTLC `id` (an update of ours at any stage). */
export function settling(d: ChannelData, id: bigint): boolean {
  const c = d.localChanges;
  return [...c.proposed, ...c.signed, ...c.acked].some((u) => u.kind !== 'add' && u.kind !== 'fee' && u.id === id);
}

export interface HtlcIntakeOptions {
  /** The node's private key (the onion's recipient key). */
  nodeKey: Uint8Array;
  /** Our best block height (incorrect_or_unknown_payment_details reports it). */
  blockHeight(): number;
  log: Logger;
}

export class HtlcIntake {
  readonly #o: HtlcIntakeOptions;

  constructor(opts: HtlcIntakeOptions) {
    this.#o = opts;
  }

  /** Decides `htlc` (announced by `ch`) and settles it. Never throws: a channel that cannot take it now is retried on its next reestablish. */
  async receive(ch: Channel, htlc: HtlcAdd): Promise<void> {
    if (settling(ch.data, htlc.id)) return;
    const decision = decideIncomingHtlc(htlc, this.#o.nodeKey, this.#o.blockHeight());
    const code = decision.kind === 'fail' ? decision.failure.code : decision.failureCode;
    this.#o.log.info({ channel: ch.id, htlc: htlc.id, failure: failureName(code) }, 'failing incoming HTLC');
    try {
      if (decision.kind === 'fail') await ch.failHtlc(htlc.id, decision.reason);
      else await ch.failMalformedHtlc(htlc.id, decision.sha256OfOnion, decision.failureCode);
    } catch (err) {
      if (!ch.open) return; // on chain now: the on-chain side resolves the HTLC
      this.#o.log.warn({ channel: ch.id, htlc: htlc.id, err: (err as Error).message }, 'failing incoming HTLC: retried on reestablish');
      ch.once('reestablished', () => void this.receive(ch, htlc));
    }
  }

  /**
   * dev-failhtlc: fails committed incoming HTLC `id` with `code` (default `temporary_node_failure`),
   * encrypted with its onion's shared secret. A BADONION code, or an onion we cannot read, goes as
   * update_fail_malformed_htlc (with the onion's own BADONION code when `code` is not one).
   */
  async failByHand(ch: Channel, id: bigint, code: number = FailureCode.TEMPORARY_NODE_FAILURE): Promise<{ failure: string; malformed: boolean }> {
    const htlc = ch.data.localCommit.spec.htlcs.find((h) => h.direction === 'received' && h.add.id === id)?.add;
    if (!htlc) throw new ChannelError('INVALID', `channel: no committed incoming HTLC ${id}`);
    const peeled = peelOnion(htlc.onion, this.#o.nodeKey, htlc.paymentHash);
    if ((code & BADONION) !== 0 || peeled.kind === 'malformed') {
      const badonion = (code & BADONION) !== 0 || peeled.kind !== 'malformed' ? code : peeled.failureCode;
      await ch.failMalformedHtlc(id, sha256(htlc.onion), badonion);
      return { failure: failureName(badonion), malformed: true };
    }
    const failure = failureOfCode(code, htlc, this.#o.blockHeight());
    await ch.failHtlc(id, createFailure(peeled.sharedSecret, failure));
    return { failure: failureName(code), malformed: false };
  }
}
