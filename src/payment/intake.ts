/**
 * The HTLC intake: what happens to an HTLC a peer offered us once it is irrevocably committed (the
 * channel's `htlcReceived`). LND's switch does this in its link (`processRemoteAdds`), CLN's lightningd in
 * `peer_accepted_htlc` and the `htlc_accepted` hook.
 *
 * The onion is peeled with the node key (associated data: the payment hash), then (BOLT 4):
 * - unreadable onion → `update_fail_malformed_htlc` with the BADONION code and `sha256_of_onion`;
 * - authentic onion with an unusable payload → `invalid_onion_payload` (type, offset);
 * - a hop to forward → the switch (`forward.ts`, with the forwarding policy of the outgoing channel);
 *   without one (a unit test) `unknown_next_peer`, what LND's switch (`FailUnknownNextPeer`), CLN
 *   (`WIRE_UNKNOWN_NEXT_PEER` in `forward_htlc`) and LDK send for an outgoing channel they do not know;
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
import { blindedFailure, isBlindedHtlc, peelHtlc, readBlindedHop, type HopFailure } from '../onion/blinded-hop.js';
import { PATH_ID_LENGTH } from './blinded.js';
import type { InvoiceBook } from '../invoice/book.js';
import type { PaidHtlc } from '../store/invoices.js';
import { MPP_TIMEOUT_MS, MppSet } from '../invoice/mpp.js';
import type { Forwarder } from './forward.js';

/** update_fail_htlc with `reason` (the encrypted `failure`), or update_fail_malformed_htlc. */
export type HtlcDecision = HopFailure;

/** What anode does with an incoming HTLC today: it can neither settle nor forward, so it fails every one. */
export function decideIncomingHtlc(htlc: HtlcAdd, nodeKey: Uint8Array, blockHeight: number): HtlcDecision {
  const peeled = peelHtlc(htlc, nodeKey);
  if (isBlindedHtlc(htlc, peeled)) {
    const hop = readBlindedHop(htlc, peeled, nodeKey, blockHeight);
    if (hop.kind === 'fail') return hop.failure;
    const normal: FailureMessage = hop.kind === 'forward' ? { code: FailureCode.UNKNOWN_NEXT_PEER } : finalHopFailure(htlc, hop.payload, blockHeight);
    return blindedFailure(htlc, hop.sharedSecret, hop.kind === 'final', normal);
  }
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
  /** The invoice book final HTLCs are settled against; none: every final HTLC fails (no payment known). */
  invoices?: InvoiceBook;
  /** How long an incomplete MPP set is held (BOLT 4's "reasonable timeout"), ms; default {@link MPP_TIMEOUT_MS}. */
  mppTimeoutMs?: number;
  /** Called once a payment is committed (markPaid) and before any preimage leaves: `--dev-crash-after-paid` stops the process here. */
  afterPaid?: (paymentHash: Buffer) => void;
  /** The HTLC switch HTLCs to forward go to; none: they fail with `unknown_next_peer`. */
  forwarder?: Forwarder;
}

/** The HTLCs offered to us in our commitment or either current one of theirs. */
function receivedInCommitments(d: ChannelData): HtlcAdd[] {
  const out = new Map<bigint, HtlcAdd>();
  for (const h of d.localCommit.spec.htlcs) if (h.direction === 'received') out.set(h.add.id, h.add);
  for (const spec of [d.remoteCommit.spec, ...(d.nextRemoteCommit ? [d.nextRemoteCommit.spec] : [])]) for (const h of spec.htlcs) if (h.direction === 'offered') out.set(h.add.id, h.add);
  return [...out.values()];
}

/** How the invoice book names an HTLC that paid: `channel_id/htlc_id`. */
const htlcKey = (ch: Channel, htlc: HtlcAdd): string => `${ch.id}/${htlc.id}`;

/** One incoming HTLC of an MPP set: its channel and the HTLC. */
interface Part {
  ch: Channel;
  htlc: HtlcAdd;
}

/** A final HTLC as taken for an invoice: when (our height, Unix seconds), and the total its onion named. */
interface Accepted extends Part {
  acceptHeight: number;
  acceptTime: number;
  mppTotalMsat: bigint;
}

/** What the invoice book records of an HTLC that paid (LND's invoice HTLCs). */
const paidHtlc = (p: Accepted): PaidHtlc => ({ name: htlcKey(p.ch, p.htlc), amountMsat: p.htlc.amountMsat, expiryHeight: p.htlc.cltvExpiry, acceptHeight: p.acceptHeight, acceptTime: p.acceptTime, mppTotalMsat: p.mppTotalMsat });

export class HtlcIntake {
  readonly #o: HtlcIntakeOptions;
  /** The receive sets being collected, by payment hash (hex). */
  readonly #sets = new Map<string, { set: MppSet<Accepted>; timer: NodeJS.Timeout }>();
  /**
   * Preimages of paid invoices (payment hash hex → preimage) with the HTLCs that paid them, kept until
   * each of those HTLCs has left both commitments of its channel (or the channel went on chain): the
   * HTLC deadline asks {@link HtlcIntake.preimage} synchronously, so what the book committed is kept
   * here — filled from the book at start ({@link HtlcIntake.start}), as the peer may never come back to
   * have the HTLCs announced again.
   */
  readonly #paid = new Map<string, { preimage: Buffer; htlcs: Part[] }>();
  /** The block height at which {@link HtlcIntake.#paid} was last pruned. */
  #prunedAt = -1;

  constructor(opts: HtlcIntakeOptions) {
    this.#o = opts;
  }

  /**
   * The paid list after a restart: every HTLC offered to us still in a commitment of an off-chain channel
   * that a paid invoice names (`paidHtlcs`) — its preimage is known before any peer reconnects, so the
   * HTLC deadline takes it on chain in time even if the payer never comes back. Call after the channels
   * and the invoice book are loaded.
   */
  async start(channels: Iterable<Channel>): Promise<void> {
    const book = this.#o.invoices;
    if (!book) return;
    for (const ch of channels) {
      if (!ch.open) continue;
      for (const htlc of receivedInCommitments(ch.data)) {
        const inv = await book.get(htlc.paymentHash);
        if (inv?.status === 'paid' && inv.paidHtlcs.includes(htlcKey(ch, htlc))) this.#remember([{ ch, htlc }], inv.preimage);
      }
    }
  }

  /** The preimage of a payment committed as received whose HTLCs are not all out of their commitments (the HTLC deadline's lookup). */
  preimage(paymentHash: Buffer): Buffer | undefined {
    const height = this.#o.blockHeight();
    if (height !== this.#prunedAt) {
      this.#prunedAt = height;
      for (const [hash, e] of this.#paid) {
        e.htlcs = e.htlcs.filter((p) => p.ch.open && receivedInCommitments(p.ch.data).some((h) => h.id === p.htlc.id));
        if (e.htlcs.length === 0) this.#paid.delete(hash);
      }
    }
    return this.#paid.get(paymentHash.toString('hex'))?.preimage;
  }

  #remember(parts: Part[], preimage: Buffer): void {
    const hashHex = sha256(preimage).toString('hex');
    const e = this.#paid.get(hashHex) ?? { preimage, htlcs: [] };
    for (const p of parts) if (!e.htlcs.some((x) => x.ch === p.ch && x.htlc.id === p.htlc.id)) e.htlcs.push(p);
    this.#paid.set(hashHex, e);
  }

  /** Ends the MPP timers (the node stops). */
  stop(): void {
    for (const { timer } of this.#sets.values()) clearTimeout(timer);
    this.#sets.clear();
  }

  /** Decides `htlc` (announced by `ch`) and settles it. Never throws: a channel that cannot take it now is retried on its next reestablish. */
  async receive(ch: Channel, htlc: HtlcAdd): Promise<void> {
    if (settling(ch.data, htlc.id)) return;
    const book = this.#o.invoices;
    const peeled = book || this.#o.forwarder ? peelHtlc(htlc, this.#o.nodeKey) : undefined;
    if (peeled && isBlindedHtlc(htlc, peeled)) return this.#receiveBlinded(ch, htlc, peeled);
    if (peeled?.kind === 'forward' && this.#o.forwarder) return this.#o.forwarder.forward(ch, htlc, peeled.payload, peeled.sharedSecret, peeled.nextOnion);
    if (!book || peeled?.kind !== 'final') {
      await this.#decide(ch, htlc, decideIncomingHtlc(htlc, this.#o.nodeKey, this.#o.blockHeight()));
      return;
    }
    try {
      await this.#final(book, ch, htlc, peeled.payload, peeled.sharedSecret);
    } catch (err) {
      // The book failed (its database): the HTLC stays until the next announcement (restart).
      this.#o.log.error({ channel: ch.id, htlc: htlc.id, err: (err as Error).message }, 'incoming HTLC: invoice book failed, HTLC held');
    }
  }

  /**
   * An HTLC inside a blinded path (its `path_key` or `encrypted_recipient_data`): read by
   * `readBlindedHop`; a relay goes to the switch's blinded branch, a payment to us to {@link #final} with
   * the `path_id` of our own recipient data as its payment secret (`payment/blinded.ts` says why) and
   * `total_amount_msat` as its total. Failures leave through {@link #decide}, which keeps them blind.
   */
  async #receiveBlinded(ch: Channel, htlc: HtlcAdd, peeled: ReturnType<typeof peelHtlc>): Promise<void> {
    const height = this.#o.blockHeight();
    const hop = readBlindedHop(htlc, peeled, this.#o.nodeKey, height);
    const book = this.#o.invoices;
    if (hop.kind === 'fail') return this.#decide(ch, htlc, hop.failure);
    if (hop.kind === 'forward') {
      if (this.#o.forwarder) return this.#o.forwarder.forwardBlinded(ch, htlc, hop);
      return this.#decide(ch, htlc, blindedFailure(htlc, hop.sharedSecret, false, { code: FailureCode.UNKNOWN_NEXT_PEER }));
    }
    if (!book || hop.pathId?.length !== PATH_ID_LENGTH) {
      this.#o.log.info({ channel: ch.id, htlc: htlc.id }, 'blinded HTLC: no path_id of ours');
      return this.#decide(ch, htlc, blindedFailure(htlc, hop.sharedSecret, true, { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: htlc.amountMsat, height }));
    }
    const payload: HopPayload = { amtToForward: hop.amtToForward, outgoingCltvValue: hop.outgoingCltvValue, paymentData: { paymentSecret: hop.pathId, totalMsat: hop.totalMsat }, extraTlvs: [] };
    try {
      await this.#final(book, ch, htlc, payload, hop.sharedSecret);
    } catch (err) {
      this.#o.log.error({ channel: ch.id, htlc: htlc.id, err: (err as Error).message }, 'incoming HTLC: invoice book failed, HTLC held');
    }
  }

  /**
   * A final HTLC: BOLT 4's checks that need no invoice, then keysend or the invoice's own checks, the MPP
   * set, and — once the set is whole — the payment committed before any part is fulfilled.
   */
  async #final(book: InvoiceBook, ch: Channel, htlc: HtlcAdd, payload: HopPayload, sharedSecret: Buffer): Promise<void> {
    const height = this.#o.blockHeight();
    const failWith = (code: number): Promise<void> => this.#failPart(sharedSecret, { ch, htlc }, code, height);
    const basic = finalHopFailure(htlc, payload, height);
    if (basic.code !== FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS) return this.#decide(ch, htlc, { kind: 'fail', failure: basic, reason: createFailure(sharedSecret, basic) });
    const hashHex = htlc.paymentHash.toString('hex');
    // One of the HTLCs a committed payment names (a restart between the commit and the fulfil, or a
    // fulfil forgotten by a disconnection): fulfilled, never failed. Any other HTLC for a paid invoice is
    // refused below (checkHtlc), as CLN does.
    const known = await book.get(htlc.paymentHash);
    if (known?.status === 'paid' && known.paidHtlcs.includes(htlcKey(ch, htlc))) {
      this.#o.log.info({ channel: ch.id, htlc: htlc.id, paymentHash: hashHex }, 'incoming HTLC of a committed payment: fulfilled');
      return this.#fulfil([{ ch, htlc }], known.preimage);
    }
    if (payload.keysendPreimage !== undefined) {
      // Keysend (LND, CLN): the preimage is in the onion; it must hash to the HTLC's payment hash.
      const preimage = Buffer.from(payload.keysendPreimage);
      if (!sha256(preimage).equals(htlc.paymentHash)) {
        this.#o.log.info({ channel: ch.id, htlc: htlc.id }, 'keysend: preimage does not match the payment hash');
        return failWith(FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS);
      }
      const paid = await book.recordKeysend(preimage, htlc.amountMsat, paidHtlc({ ch, htlc, acceptHeight: height, acceptTime: Math.floor(Date.now() / 1000), mppTotalMsat: htlc.amountMsat }));
      if (!paid) return failWith(FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS);
      this.#o.log.info({ channel: ch.id, htlc: htlc.id, paymentHash: hashHex, label: paid.label }, 'keysend received');
      this.#o.afterPaid?.(htlc.paymentHash);
      return this.#fulfil([{ ch, htlc }], preimage);
    }
    const totalMsat = payload.paymentData?.totalMsat ?? htlc.amountMsat;
    const check = await book.checkHtlc(htlc.paymentHash, { paymentSecret: payload.paymentData?.paymentSecret, totalMsat, cltvExpiry: htlc.cltvExpiry, height });
    if (check.kind === 'reject') {
      this.#o.log.info({ channel: ch.id, htlc: htlc.id, reason: check.reason }, 'incoming HTLC refused');
      return failWith(check.failureCode);
    }
    let entry = this.#sets.get(hashHex);
    if (!entry) {
      const set = new MppSet<Accepted>(check.invoice.amountMsat, this.#o.mppTimeoutMs ?? MPP_TIMEOUT_MS);
      const timer = setTimeout(() => void this.#timeout(hashHex), set.timeoutMs);
      timer.unref();
      entry = { set, timer };
      this.#sets.set(hashHex, entry);
    }
    const d = entry.set.add({ key: { ch, htlc, acceptHeight: height, acceptTime: Math.floor(Date.now() / 1000), mppTotalMsat: totalMsat }, amountMsat: htlc.amountMsat, totalMsat }, Date.now());
    if (d.action === 'wait') return;
    if (entry.set.closed) this.#drop(hashHex, entry.set);
    if (d.action === 'fail') return this.#failParts(d.parts, d.failureCode);
    const paid = await book.markPaid(htlc.paymentHash, d.receivedMsat, d.parts.length, d.parts.map(paidHtlc));
    if (!paid) return this.#failParts(d.parts, FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS);
    this.#o.log.info({ paymentHash: hashHex, label: paid.label, receivedMsat: String(d.receivedMsat), parts: d.parts.length }, 'invoice paid');
    this.#o.afterPaid?.(htlc.paymentHash);
    await this.#fulfil(d.parts, paid.preimage);
  }

  /** The set's timer: an incomplete set is failed whole with mpp_timeout. */
  async #timeout(hashHex: string): Promise<void> {
    const entry = this.#sets.get(hashHex);
    if (!entry) return;
    const d = entry.set.tick(entry.set.deadline() ?? Date.now());
    this.#drop(hashHex, entry.set);
    if (d.action === 'fail') {
      this.#o.log.info({ paymentHash: hashHex, parts: d.parts.length }, 'MPP set incomplete: mpp_timeout');
      await this.#failParts(d.parts, d.failureCode);
    }
  }

  #drop(hashHex: string, set: MppSet<Accepted>): void {
    const entry = this.#sets.get(hashHex);
    if (entry?.set !== set) return;
    clearTimeout(entry.timer);
    this.#sets.delete(hashHex);
  }

  async #failParts(parts: Part[], code: number): Promise<void> {
    const height = this.#o.blockHeight();
    await Promise.all(
      parts.map(async (p) => {
        const peeled = peelHtlc(p.htlc, this.#o.nodeKey);
        if (peeled.kind === 'malformed') return; // read once already: cannot happen
        await this.#failPart(peeled.sharedSecret, p, code, height);
      }),
    );
  }

  #failPart(sharedSecret: Buffer, p: Part, code: number, height: number): Promise<void> {
    const failure = failureOfCode(code, p.htlc, height);
    return this.#decide(p.ch, p.htlc, { kind: 'fail', failure, reason: createFailure(sharedSecret, failure) });
  }

  /** Fulfils every part with `preimage` (committed as paid before this is called). */
  async #fulfil(parts: Part[], preimage: Buffer): Promise<void> {
    // Kept until the HTLCs leave both commitments: a fulfil not yet signed is forgotten by a disconnection.
    this.#remember(parts, preimage);
    await Promise.all(parts.map((p) => this.#settle(p.ch, p.htlc, 'fulfilling', (ch) => ch.fulfillHtlc(p.htlc.id, preimage))));
  }

  /** Fails `htlc` as `decision` says; inside a blinded path (a `path_key` came with it), as `invalid_onion_blinding` whatever failed. */
  #decide(ch: Channel, htlc: HtlcAdd, given: HtlcDecision): Promise<void> {
    const decision: HopFailure = htlc.pathKey !== undefined && given.kind === 'fail' ? blindedFailure(htlc, Buffer.alloc(0), true, given.failure) : given;
    const code = decision.kind === 'fail' ? decision.failure.code : decision.failureCode;
    this.#o.log.info({ channel: ch.id, htlc: htlc.id, failure: failureName(code) }, 'failing incoming HTLC');
    return this.#settle(ch, htlc, 'failing', (c) => (decision.kind === 'fail' ? c.failHtlc(htlc.id, decision.reason) : c.failMalformedHtlc(htlc.id, decision.sha256OfOnion, decision.failureCode)));
  }

  /** Runs one settlement; a channel that cannot take it now (disconnected) gets it again on its next reestablish. */
  async #settle(ch: Channel, htlc: HtlcAdd, what: string, act: (ch: Channel) => Promise<void>): Promise<void> {
    try {
      if (settling(ch.data, htlc.id)) return;
      await act(ch);
    } catch (err) {
      if (!ch.open) return; // on chain now: the on-chain side resolves the HTLC
      this.#o.log.warn({ channel: ch.id, htlc: htlc.id, err: (err as Error).message }, `${what} incoming HTLC: retried on reestablish`);
      ch.once('reestablished', () => void this.#settle(ch, htlc, what, act));
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
    const peeled = peelHtlc(htlc, this.#o.nodeKey);
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
