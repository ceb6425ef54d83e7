/**
 * The HTLC switch (LND's htlcswitch, CLN's `forward_htlc`): an irrevocably committed incoming HTLC whose
 * onion says "forward" is checked against the outgoing channel's policy (`forward-policy.ts`) and offered
 * on that channel with the next onion, or failed back with the BOLT 4 code and our `channel_update`.
 *
 * - The outgoing channel: the one whose `short_channel_id` (or our scid alias of it) the onion names; if it cannot take the HTLC
 *   now, any other usable channel to the same peer that can ("non-strict forwarding", as LND and CLN
 *   do). The policy checked is the one the announcer signs for that channel (`Announcer.policyOf`).
 * - Durable: the forward is a row (`store/forwards.ts`) committed inside `addHtlc`'s `beforeSend`, so
 *   before the downstream `update_add_htlc` leaves; a local refusal is committed (`local_failed`) before
 *   the upstream fail leaves.
 * - Downstream fulfil → the preimage is committed (`settled`), then the upstream HTLC is fulfilled at
 *   once (the downstream ADD was irrevocably committed before the peer could fulfil it). Downstream fail
 *   → the reason is obfuscated with the incoming onion's shared secret (BOLT 4 "returning errors") and
 *   committed (`failed`), then sent upstream; `update_fail_malformed_htlc` becomes the `invalid_onion_*`
 *   failure with its `sha256_of_onion`, created by us.
 * - Restart: the channels announce every unsettled incoming HTLC again; its row says what happens —
 *   none: decided now; `settled`/`failed`/`local_failed`: the stored outcome goes upstream; `offered`:
 *   re-offered if the downstream add never left (its id unused by the channel), else resolved from the
 *   downstream channel (a fulfil it holds) or left for the downstream outcome. A downstream channel on
 *   chain never fails the upstream HTLC: it stays until the on-chain outcome (not wired yet: see
 *   docs/architecture.md).
 */
import type { Logger } from 'pino';
import type { Channel } from '../channel/channel.js';
import { channelByScid } from '../channel/alias.js';
import { ChannelError } from '../channel/errors.js';
import type { HtlcAdd } from '../channel/state.js';
import type { ForwardingPolicy } from '../gossip/announce.js';
import { scidFromString } from '../gossip/messages.js';
import { createFailure, wrapFailure } from '../onion/failure-onion.js';
import { FailureCode, failureName, type FailureMessage } from '../onion/failure.js';
import type { HopPayload } from '../onion/payload.js';
import type { ForwardRecord, ForwardRepository } from '../store/forwards.js';
import { sendable } from './capacity.js';
import { checkForward, ownChannelUpdate, type OutgoingChannel } from './forward-policy.js';
import { settling } from './intake.js';
import { htlcInChannel } from './send.js';
import { peelHtlc, type BlindedHop } from '../onion/blinded-hop.js';
import { failIncoming, incomingAdd } from './blinded.js';

/** BOLT 7's channel_update type (258), the prefix a failure message's update carries. */
const CHANNEL_UPDATE_TYPE = Buffer.from([0x01, 0x02]);
import { secp } from '../crypto/secp256k1.js';

export interface ForwarderOptions {
  channels: { list(): Channel[]; get(id: string): Channel | undefined };
  store: ForwardRepository;
  nodeId: Buffer;
  /** The node's private key: the incoming onions' shared secrets and our channel_update in failures. */
  nodeKey: Uint8Array;
  chainHash: Buffer;
  /** The forwarding policy of one of our channels (the announcer's). */
  policyOf(channelId: Buffer): ForwardingPolicy;
  /** The timestamp of our channel_update the graph holds for `scid` (so the one in a failure is that one); none: now. */
  updateTimestamp?(scid: bigint, direction: 0 | 1): number | undefined;
  /** Our latest signed channel_update for a channel (its payload, without the type), when the announcer made one. */
  channelUpdateOf?(channelId: Buffer): Buffer | undefined;
  blockHeight(): number;
  log: Logger;
  /** Called once a downstream preimage is committed, before the upstream fulfil: `--dev-crash-after-forward-preimage`. */
  afterPreimage?: (paymentHash: Buffer) => void;
  now?: () => number;
}

/** A forward being resolved: its row and the incoming onion's shared secret. */
interface Live {
  rec: ForwardRecord;
  sharedSecret: Buffer;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export class Forwarder {
  readonly #o: ForwarderOptions;
  /** Offered forwards by `outChannel:outHtlcId`. */
  readonly #out = new Map<string, Live>();
  /** Incoming HTLCs being decided (`inChannel:inHtlcId`): one decision at a time. */
  readonly #busy = new Set<string>();
  /** Preimages committed and not yet fulfilled upstream (the HTLC deadline's lookup), by payment hash hex. */
  readonly #preimages = new Map<string, Buffer>();
  #ready: Promise<void> | undefined;

  constructor(opts: ForwarderOptions) {
    this.#o = opts;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** Loads the forwards in flight; call once the channels are loaded and before peers connect. */
  start(): Promise<void> {
    this.#ready ??= this.#resume();
    return this.#ready;
  }

  async #resume(): Promise<void> {
    for (const rec of await this.#o.store.byStatus('settled')) {
      const ch = this.#o.channels.get(rec.inChannel);
      if (ch && inCommitted(ch, rec.inHtlcId) && !settling(ch.data, rec.inHtlcId)) this.#preimages.set(rec.paymentHash, Buffer.from(rec.preimage!, 'hex'));
    }
    for (const rec of await this.#o.store.byStatus('offered')) {
      const out = rec.outChannel === undefined ? undefined : this.#o.channels.get(rec.outChannel);
      if (!out || rec.outHtlcId === undefined) continue;
      const d = out.data;
      const fulfil = [...d.remoteChanges.signed, ...d.remoteChanges.acked].find((u) => u.kind === 'fulfill' && u.id === rec.outHtlcId);
      if (fulfil?.kind === 'fulfill') {
        // Fulfilled downstream before the last run wrote it: committed now; the upstream HTLC is fulfilled when announced.
        await this.#o.store.settle(rec.id, hex(fulfil.preimage), this.#now());
        this.#preimages.set(rec.paymentHash, fulfil.preimage);
        continue;
      }
      this.#out.set(`${rec.outChannel}:${rec.outHtlcId}`, { rec, sharedSecret: Buffer.alloc(0) });
    }
  }

  /** The preimage of a forward settled downstream and not yet upstream (the HTLC deadline's lookup). */
  preimage(paymentHash: Buffer): Buffer | undefined {
    return this.#preimages.get(hex(paymentHash));
  }

  /**
   * An incoming HTLC (irrevocably committed on `inCh`) whose onion says forward `nextOnion` with `payload`.
   * Never throws: a store failure leaves the HTLC for its next announcement.
   */
  async forward(inCh: Channel, htlc: HtlcAdd, payload: HopPayload, sharedSecret: Buffer, nextOnion: Buffer, pathKey?: Buffer): Promise<void> {
    await this.start();
    const key = `${inCh.id}:${htlc.id}`;
    if (this.#busy.has(key) || settling(inCh.data, htlc.id)) return;
    this.#busy.add(key);
    try {
      await this.#forward(inCh, htlc, payload, sharedSecret, nextOnion, pathKey);
    } catch (err) {
      this.#o.log.error({ channel: inCh.id, htlc: String(htlc.id), err: (err as Error).message }, 'forward: failed, HTLC held until it is announced again');
    } finally {
      this.#busy.delete(key);
    }
  }

  /**
   * An incoming HTLC inside a blinded path (`readBlindedHop` said forward): the next hop is the channel
   * its recipient data names, or a channel to its `next_node_id`; the amount and expiry are the ones
   * `payment_relay` gives, checked against our policy like any forward; the next `path_key` goes in the
   * downstream `update_add_htlc`. Any failure goes back as `invalid_onion_blinding` (`failIncoming`).
   */
  async forwardBlinded(inCh: Channel, htlc: HtlcAdd, hop: Extract<BlindedHop, { kind: 'forward' }>): Promise<void> {
    const peer = hop.nextNodeId === undefined ? undefined : hex(hop.nextNodeId);
    const toPeer = peer === undefined ? [] : this.#o.channels.list().filter((c) => c.data.peerId === peer && c.data.shortChannelId !== undefined);
    const scid = hop.shortChannelId ?? (toPeer.find((c) => c.usable) ?? toPeer[0])?.data.shortChannelId;
    if (scid === undefined) return this.#noNextNode(inCh, htlc, hop);
    const payload: HopPayload = { amtToForward: hop.amtToForward, outgoingCltvValue: hop.outgoingCltvValue, shortChannelId: scid, extraTlvs: [] };
    return this.forward(inCh, htlc, payload, hop.sharedSecret, hop.nextOnion, hop.nextPathKey);
  }

  /** A blinded hop naming a node we have no channel with: refused (`unknown_next_peer`, sent upstream as the path's failure). */
  async #noNextNode(inCh: Channel, htlc: HtlcAdd, hop: Extract<BlindedHop, { kind: 'forward' }>): Promise<void> {
    await this.start();
    try {
      const known = await this.#o.store.get(inCh.id, htlc.id);
      if (known) return await this.#failUpstream(known, Buffer.from(known.upstreamReason ?? '', 'hex'));
      const base = { inChannel: inCh.id, inScid: inCh.data.shortChannelId, inHtlcId: htlc.id, inMsat: htlc.amountMsat, paymentHash: hex(htlc.paymentHash), outMsat: hop.amtToForward, receivedTime: this.#now() };
      await this.#localFail(base, hop.sharedSecret, { code: FailureCode.UNKNOWN_NEXT_PEER }, 'blinded path: no channel to its next_node_id');
    } catch (err) {
      this.#o.log.error({ channel: inCh.id, htlc: String(htlc.id), err: (err as Error).message }, 'forward: failed, HTLC held until it is announced again');
    }
  }

  async #forward(inCh: Channel, htlc: HtlcAdd, payload: HopPayload, sharedSecret: Buffer, nextOnion: Buffer, pathKey?: Buffer): Promise<void> {
    const known = await this.#o.store.get(inCh.id, htlc.id);
    if (known?.status === 'settled') return this.#fulfilUpstream(known, Buffer.from(known.preimage!, 'hex'));
    if (known?.status === 'failed' || known?.status === 'local_failed') return this.#failUpstream(known, Buffer.from(known.upstreamReason!, 'hex'));
    if (known?.status === 'offered') {
      const out = known.outChannel === undefined ? undefined : this.#o.channels.get(known.outChannel);
      if (!out) {
        // The downstream channel is gone from the manager: whatever happened to the HTLC there, offering it again could pay twice.
        this.#o.log.error({ channel: inCh.id, htlc: String(htlc.id), out: known.outChannel }, 'forward: downstream channel unknown, incoming HTLC held');
        return;
      }
      const sent = known.outHtlcId !== undefined && known.outHtlcId < out.data.localNextHtlcId;
      if (sent) {
        this.#out.set(`${known.outChannel}:${known.outHtlcId}`, { rec: known, sharedSecret });
        if (!htlcInChannel(out, known.outHtlcId!) && out.open) {
          // Gone from the downstream channel with no outcome heard: it failed there (a fulfil's preimage is recorded before the channel saves the HTLC gone).
          this.#o.log.warn({ channel: out.id, htlc: String(known.outHtlcId) }, 'forward: downstream HTLC gone without an outcome, failed upstream');
          await this.#failed(known, sharedSecret, { code: FailureCode.TEMPORARY_CHANNEL_FAILURE, channelUpdate: this.#outgoing(out).channelUpdate() });
        }
        return;
      }
      // Recorded, but the downstream add never left (a crash, or a disconnection forgot it): offered again below.
      this.#o.log.info({ channel: inCh.id, htlc: String(htlc.id) }, 'forward: downstream add never sent, offering again');
    }
    const scid = payload.shortChannelId!;
    const req = { amountMsat: htlc.amountMsat, cltvExpiry: htlc.cltvExpiry, amtToForward: payload.amtToForward!, outgoingCltvValue: payload.outgoingCltvValue! };
    const height = this.#o.blockHeight();
    // The channel with that real scid, or the one our alias names (what the peer put in its invoices' hints).
    const named = channelByScid(this.#o.channels.list(), scid);
    // Non-strict: the named channel if it passes, else another usable channel to the same peer that does.
    const candidates = named ? [named, ...this.#o.channels.list().filter((c) => c !== named && c.usable && c.data.peerId === named.data.peerId)] : [];
    let failure = checkForward(req, named ? this.#outgoing(named, scid) : undefined, height);
    let out = named;
    for (const c of candidates.slice(1)) {
      if (failure === undefined || (failure.code !== FailureCode.TEMPORARY_CHANNEL_FAILURE && failure.code !== FailureCode.CHANNEL_DISABLED)) break;
      if (checkForward(req, this.#outgoing(c), height) === undefined) {
        failure = undefined;
        out = c;
      }
    }
    const base = {
      inChannel: inCh.id,
      inScid: inCh.data.shortChannelId,
      inHtlcId: htlc.id,
      inMsat: htlc.amountMsat,
      paymentHash: hex(htlc.paymentHash),
      outChannel: out?.id,
      outScid: out?.data.shortChannelId ?? scid,
      outMsat: req.amtToForward,
      receivedTime: known?.receivedTime ?? this.#now(),
    };
    if (failure) return this.#localFail(base, sharedSecret, failure);
    let rec: ForwardRecord | undefined;
    try {
      await out!.addHtlc({
        amountMsat: req.amtToForward,
        paymentHash: htlc.paymentHash,
        cltvExpiry: req.outgoingCltvValue,
        onion: nextOnion,
        pathKey,
        beforeSend: async (outHtlcId) => {
          rec = await this.#o.store.offer({ ...base, outHtlcId });
          this.#out.set(`${out!.id}:${outHtlcId}`, { rec, sharedSecret });
        },
      });
    } catch (e) {
      if (!(e instanceof ChannelError)) throw e;
      const f: FailureMessage = { code: FailureCode.TEMPORARY_CHANNEL_FAILURE, channelUpdate: this.#outgoing(out!).channelUpdate() };
      if (rec) {
        this.#out.delete(`${out!.id}:${rec.outHtlcId}`);
        return this.#failed(rec, sharedSecret, f);
      }
      return this.#localFail(base, sharedSecret, f, e.message);
    }
    this.#o.log.info({ in: `${inCh.id}/${htlc.id}`, out: `${out!.id}/${rec!.outHtlcId}`, feeMsat: String(htlc.amountMsat - req.amtToForward) }, 'forward: offered');
  }

  /** The outgoing channel as the policy checks see it; `via`, the scid the onion named (our alias: the update in a failure names it, as LDK's). */
  #outgoing(ch: Channel, via?: string): OutgoingChannel {
    const d = ch.data;
    const policy = this.#o.policyOf(d.channelId);
    const capacityMsat = d.fundingSat * 1000n;
    // The limits our channel_update announces: the channel's own, narrowed by setchannel's htlcmin/htlcmax.
    const ceiling = d.remote.maxHtlcValueInFlightMsat < capacityMsat ? d.remote.maxHtlcValueInFlightMsat : capacityMsat;
    const htlcMaximumMsat = policy.htlcMaximumMsat !== undefined && policy.htlcMaximumMsat < ceiling ? policy.htlcMaximumMsat : ceiling;
    const htlcMinimumMsat = policy.htlcMinimumMsat !== undefined && policy.htlcMinimumMsat > d.remote.htlcMinimumMsat ? policy.htlcMinimumMsat : d.remote.htlcMinimumMsat;
    const normal = d.state === 'CHANNELD_NORMAL' && !d.closing?.localScript && !d.closing?.remoteScript;
    const status = !normal ? 'disabled' : ch.usable ? 'usable' : 'offline';
    const alias = via !== undefined && via === d.localAlias && via !== d.shortChannelId;
    const scid = alias ? scidFromString(via) : d.shortChannelId === undefined ? undefined : scidFromString(d.shortChannelId);
    const direction: 0 | 1 = Buffer.compare(this.#o.nodeId, Buffer.from(d.peerId, 'hex')) < 0 ? 0 : 1;
    return {
      policy,
      htlcMinimumMsat,
      htlcMaximumMsat,
      sendableMsat: sendable(d, 'local'),
      status,
      channelUpdate: () => {
        // The update the announcer signed last is the one peers have; one is made here only when it has none.
        const signed = alias ? undefined : this.#o.channelUpdateOf?.(d.channelId);
        if (signed !== undefined) return Buffer.concat([CHANNEL_UPDATE_TYPE, signed]);
        return scid === undefined
          ? Buffer.alloc(0)
          : ownChannelUpdate(
              {
                chainHash: this.#o.chainHash,
                scid,
                direction,
                timestamp: this.#o.updateTimestamp?.(scid, direction) || Math.floor(this.#now() / 1000),
                disabled: status === 'disabled',
                policy,
                htlcMinimumMsat,
                htlcMaximumMsat,
              },
              (digest) => secp.sign(digest, this.#o.nodeKey),
            );
      },
    };
  }

  async #localFail(base: Omit<ForwardRecord, 'id' | 'status' | 'outHtlcId'>, sharedSecret: Buffer, failure: FailureMessage, why?: string): Promise<void> {
    const reason = createFailure(sharedSecret, failure);
    const rec = await this.#o.store.localFail({ ...base, failcode: failure.code, failreason: why ?? failureName(failure.code), upstreamReason: hex(reason), resolvedTime: this.#now() });
    this.#o.log.info({ channel: base.inChannel, htlc: String(base.inHtlcId), failure: failureName(failure.code) }, 'forward: refused');
    await this.#failUpstream(rec, reason);
  }

  /** A downstream outcome (the channel manager's `offeredHtlcSettled`); not ours: ignored. */
  async settled(ch: Channel, ev: { id: bigint; preimage?: Buffer; failure?: Buffer; malformed?: { failureCode: number; sha256OfOnion: Buffer } }): Promise<void> {
    await this.start();
    const key = `${ch.id}:${ev.id}`;
    const live = this.#out.get(key);
    if (!live) return;
    this.#out.delete(key);
    const { rec } = live;
    if (ev.preimage) return (await this.#settledDownstream(ch, ev.id, rec, ev.preimage))?.upstream;
    const secret = live.sharedSecret.length > 0 ? live.sharedSecret : undefined;
    if (ev.malformed) {
      // BOLT 4: the next hop could not read the onion we sent: we report it, with its code and hash.
      return this.#failed(rec, secret, { code: ev.malformed.failureCode, sha256OfOnion: ev.malformed.sha256OfOnion } as FailureMessage);
    }
    return this.#failed(rec, secret, ev.failure ?? Buffer.alloc(0));
  }

  /**
   * A downstream fulfil, as {@link settled}, resolved once its preimage is committed: the upstream fulfil
   * goes on without being awaited. The node hands this to the downstream channel, which writes no state
   * before it resolves, and which must never wait on the upstream channel's queue (two forwards crossing
   * the same two channels the other way round would wait on each other).
   */
  async fulfilled(ch: Channel, id: bigint, preimage: Buffer): Promise<void> {
    await this.start();
    const key = `${ch.id}:${id}`;
    const live = this.#out.get(key);
    if (!live) return;
    this.#out.delete(key);
    const done = await this.#settledDownstream(ch, id, live.rec, preimage);
    done?.upstream.catch((err: Error) => this.#o.log.warn({ channel: live.rec.inChannel, htlc: String(live.rec.inHtlcId), err: err.message }, 'forward: fulfilling upstream failed'));
  }

  /** The downstream preimage committed, then the upstream fulfil begun (returned, not awaited); nothing when already settled. */
  async #settledDownstream(ch: Channel, id: bigint, rec: ForwardRecord, preimage: Buffer): Promise<{ upstream: Promise<void> } | undefined> {
    if (!(await this.#o.store.settle(rec.id, hex(preimage), this.#now()))) return undefined;
    this.#preimages.set(rec.paymentHash, preimage);
    this.#o.log.info({ in: `${rec.inChannel}/${rec.inHtlcId}`, out: `${ch.id}/${id}` }, 'forward: settled downstream');
    this.#o.afterPreimage?.(Buffer.from(rec.paymentHash, 'hex'));
    return { upstream: this.#fulfilUpstream({ ...rec, status: 'settled' }, preimage) };
  }

  /**
   * A downstream HTLC resolved on chain (the sweeper's `offeredHtlcResolved`): taken by the next hop with
   * its preimage → settled upstream as any fulfil; timed out by us, the timeout deep enough → failed
   * upstream with `permanent_channel_failure` (the downstream channel is closed), as lightningd does for an
   * HTLC timed out on chain. Before that the incoming HTLC is held: the next hop could still claim.
   */
  async resolvedOnChain(ch: Channel, ev: { id: bigint; preimage: Buffer } | { id: bigint; failure: string }): Promise<void> {
    if ('preimage' in ev) return this.settled(ch, ev);
    await this.start();
    const key = `${ch.id}:${ev.id}`;
    const live = this.#out.get(key);
    if (!live) return;
    this.#out.delete(key);
    this.#o.log.info({ in: `${live.rec.inChannel}/${live.rec.inHtlcId}`, out: `${ch.id}/${ev.id}`, why: ev.failure }, 'forward: downstream HTLC timed out on chain');
    return this.#failed(live.rec, live.sharedSecret.length > 0 ? live.sharedSecret : undefined, { code: FailureCode.PERMANENT_CHANNEL_FAILURE });
  }

  /** The downstream HTLC failed with `reason` (theirs, passed on obfuscated) or `failure` (ours): committed, then sent upstream. */
  async #failed(rec: ForwardRecord, sharedSecret: Buffer | undefined, what: FailureMessage | Buffer): Promise<void> {
    const secret = sharedSecret ?? this.#sharedSecret(rec);
    if (!secret) {
      this.#o.log.warn({ channel: rec.inChannel, htlc: String(rec.inHtlcId) }, 'forward: incoming HTLC gone, downstream failure not passed on');
      return;
    }
    const ours = !Buffer.isBuffer(what);
    const reason = ours ? createFailure(secret, what) : wrapFailure(secret, what);
    if (!(await this.#o.store.fail(rec.id, hex(reason), ours ? failureName(what.code) : undefined, this.#now()))) return;
    this.#o.log.info({ in: `${rec.inChannel}/${rec.inHtlcId}`, ...(ours ? { failure: failureName(what.code) } : {}) }, 'forward: failed downstream');
    await this.#failUpstream(rec, reason);
  }

  /** The incoming onion's shared secret, peeled again (after a restart nothing else holds it). */
  #sharedSecret(rec: ForwardRecord): Buffer | undefined {
    const ch = this.#o.channels.get(rec.inChannel);
    const add = ch ? incomingAdd(ch, rec.inHtlcId) : undefined;
    const peeled = add ? peelHtlc(add, this.#o.nodeKey) : undefined;
    return peeled && peeled.kind !== 'malformed' ? peeled.sharedSecret : undefined;
  }

  #fulfilUpstream(rec: ForwardRecord, preimage: Buffer): Promise<void> {
    return this.#upstream(rec, 'fulfilling', (ch) => ch.fulfillHtlc(rec.inHtlcId, preimage), () => this.#preimages.delete(rec.paymentHash));
  }

  #failUpstream(rec: ForwardRecord, reason: Buffer): Promise<void> {
    return this.#upstream(rec, 'failing', (ch) => failIncoming(ch, rec.inHtlcId, reason, this.#o.nodeKey));
  }

  /** Settles the incoming HTLC; a channel that cannot take it now (disconnected) gets it on its next reestablish. */
  async #upstream(rec: ForwardRecord, what: string, act: (ch: Channel) => Promise<void>, done?: () => void): Promise<void> {
    const ch = this.#o.channels.get(rec.inChannel);
    if (!ch) return;
    try {
      if (!settling(ch.data, rec.inHtlcId)) await act(ch);
      done?.();
    } catch (err) {
      if (!ch.open) return; // on chain now: the on-chain side resolves the HTLC (the preimage stays known)
      this.#o.log.warn({ channel: ch.id, htlc: String(rec.inHtlcId), err: (err as Error).message }, `forward: ${what} upstream HTLC retried on reestablish`);
      ch.once('reestablished', () => void this.#upstream(rec, what, act, done));
    }
  }
}

/** Whether incoming HTLC `id` is committed in our commitment. */
function inCommitted(ch: Channel, id: bigint): boolean {
  return ch.data.localCommit.spec.htlcs.some((h) => h.direction === 'received' && h.add.id === id);
}
