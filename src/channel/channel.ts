/**
 * One established channel (after funding_signed): the BOLT 2 normal operation — HTLC and fee updates,
 * commitment_signed / revoke_and_ack in both directions, channel_ready, channel_reestablish with
 * retransmission, and the cooperative close (shutdown, closing_signed).
 *
 * Durability rule: every state a message promises is persisted before the message is sent — the new
 * remote commitment before our commitment_signed, our new local commitment before our revoke_and_ack.
 * Their revocation is handed to the watchtower (`env.revoked`) before the state that drops the old
 * commitment is persisted, so a crash can only repeat a backup, never lose one.
 *
 * Messages and API calls for one channel run one at a time (a promise queue). Nothing run in the queue
 * waits on the queue: a failure found while handling a message is carried out inline (state persisted,
 * then `env.fail` publishes), and the chain side writes without queueing, so a wedged channel can never
 * hold up block processing.
 *
 * Every change of the channel's state is made here, the chain side's too (funding depth, the funding
 * output's spend, sweeps): callers use methods, never write `data`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { SimpleCloser, type CloseEnv } from './simple-close.js';
import { ChannelMessageType, messageName, ONION_PACKET_SIZE, type ChannelMessage, type ChannelReestablish, type ClosingSigned, type CommitmentSigned, type RevokeAndAck, type Shutdown, type UpdateAddHtlc } from './messages.js';
import { checkLocalCommitment, openerCostMsat, signRemoteCommitment, signedLocalCommitment } from './commitments.js';
import { serializeSignedClosingTx, signClosingTx } from './closing.js';
import { closeTerms, closingTxFor, decide, ourProposal, shutdownScriptError, theirClosingTx, type CloseTerms, type FeeRange } from './close.js';
import { ChannelError, ChannelProtocolError } from './errors.js';
import { checkOpenerUpdateFee, MAX_FEERATE_PER_KW, MIN_FEERATE_PER_KW } from './fee-policy.js';
import { perCommitmentPoint } from '../bitcoin/keys.js';
import { shachainIndex } from './keys.js';
import { ShachainStore } from './shachain.js';
import type { ChannelKeys } from './signer.js';
import { aliasFromTlv, aliasTlv } from './alias.js';
import { reduceSpec, type ChannelData, type HtlcAdd, type OnchainState, type RemoteCommit, type Update } from './state.js';


/** A revoked commitment of the counterparty, with everything needed to punish its publication. */
export interface RevokedCommitment {
  channelId: Buffer;
  commit: RemoteCommit;
  secret: Buffer;
}

export interface ChannelEnv extends CloseEnv {
  keys: ChannelKeys;
  log: Logger;
  /** Sends to the peer; false (and nothing sent) while disconnected. */
  send(msg: ChannelMessage): boolean;
  /** Durably stores the channel's state; resolves once committed. */
  persist(d: ChannelData): Promise<void>;
  /** Their revocation of `commit` (before it is persisted): watchtower backup, penalty bookkeeping. */
  revoked(r: RevokedCommitment): Promise<void>;
  /** Our shutdown script (a fresh wallet address). */
  shutdownScript(): Promise<Buffer>;
  /** Fee rate for the closing transaction. */
  closingFeerate(): Promise<bigint>;
  /** The feerates we accept in the opener's update_fee (our estimate times the fee multiplier; see fee-policy.ts). */
  feerateRange(): Promise<{ min: bigint; max: bigint }>;
  /**
   * The channel failed: AWAITING_UNILATERAL and `failure` are persisted. Publish `commitment`, our latest
   * (none when we lost state), and send `error` when `tellPeer`. Called inside the channel's queue: must not wait on it.
   */
  fail(reason: string, how: { commitment?: { txid: string; hex: string }; tellPeer: boolean }): Promise<void>;
  /** A mutual close is signed by both sides: publish it. */
  publishClosing(txid: string, hex: string): Promise<void>;
}

export interface ChannelEvents {
  /** The state changed (CLN name). */
  state: [string];
  /** An HTLC the peer offered is irrevocably committed: fulfill or fail it. */
  htlcReceived: [HtlcAdd];
  /** An HTLC we offered was fulfilled (preimage) or failed (reason). */
  htlcSettled: [{ id: bigint; preimage?: Buffer; failure?: Buffer; malformed?: { failureCode: number; sha256OfOnion: Buffer } }];
  /** A commitment round finished (their revoke_and_ack or ours was processed). */
  revoked: [];
  /** channel_reestablish was exchanged and retransmissions done. */
  reestablished: [];
}

export class Channel extends EventEmitter<ChannelEvents> {
  readonly data: ChannelData;
  readonly #env: ChannelEnv;
  #queue: Promise<unknown> = Promise.resolve();
  #connected = false;
  #reestablished = false;
  readonly #secrets: ShachainStore;
  /** Received HTLCs announced through 'htlcReceived' (not those whose unsigned settlement of ours a disconnection forgot). */
  readonly #announced = new Set<bigint>();
  #commitScheduled = false;
  /** Their shutdown came on this connection: after a reconnection the close goes on once they sent it again (BOLT 2). */
  #theirShutdown = false;
  readonly #simple = new SimpleCloser({ data: () => this.data, env: () => this.#env, send: (m) => this.#send(m), persist: () => this.#persist(), setState: (s) => this.#setState(s) });

  constructor(data: ChannelData, env: ChannelEnv) {
    super();
    this.data = data;
    this.#env = env;
    this.#secrets = ShachainStore.fromEntries(data.remoteSecrets);
    // A state written while updates were still unsigned (they ride along with any later write) is loaded
    // as after a disconnection: those updates are forgotten by both sides (BOLT 2).
    this.#forgetUnsigned();
  }

  #forgetUnsigned(): void {
    const d = this.data;
    d.localNextHtlcId -= BigInt(d.localChanges.proposed.filter((u) => u.kind === 'add').length);
    d.remoteNextHtlcId -= BigInt(d.remoteChanges.proposed.filter((u) => u.kind === 'add').length);
    for (const u of d.localChanges.proposed.splice(0)) if (u.kind !== 'add' && u.kind !== 'fee') this.#announced.delete(u.id);
    d.remoteChanges.proposed = [];
  }

  get id(): string {
    return this.data.channelId.toString('hex');
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Usable for updates: normal state, connected and reestablished. */
  get usable(): boolean {
    return this.#connected && this.#reestablished && this.data.state === 'CHANNELD_NORMAL';
  }

  /** Runs `fn` after every earlier message and call of this channel. */
  #run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined).then(() => this.#notifyIdle());
    return p;
  }

  readonly #idleWaiters: (() => void)[] = [];

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  // -------------------------------------------------------------------------------------------------
  // Connection life cycle

  /** The peer is connected: send channel_reestablish (every reconnection, BOLT 2). */
  connect(): Promise<void> {
    return this.#run(() => {
      this.#connected = true;
      this.#reestablished = false;
      this.#theirShutdown = false;
      const d = this.data;
      if (!this.open) return;
      const last = d.remoteCommit.index > 0n ? this.#secrets.get(shachainIndex(d.remoteCommit.index - 1n)) : Buffer.alloc(32);
      this.#send({
        type: ChannelMessageType.CHANNEL_REESTABLISH,
        channelId: d.channelId,
        nextCommitmentNumber: d.localCommit.index + 1n,
        nextRevocationNumber: d.remoteCommit.index,
        yourLastPerCommitmentSecret: last,
        myCurrentPerCommitmentPoint: this.#env.keys.point(d.localCommit.index),
        extraTlvs: [],
      });
    });
  }

  /** A channel just opened on a live connection: no reestablish needed until the next reconnection. */
  startFresh(): void {
    this.#connected = true;
    this.#reestablished = true;
  }

  /** The connection dropped: updates not yet covered by a commitment_signed are forgotten (BOLT 2). */
  disconnect(): Promise<void> {
    return this.#run(() => {
      this.#connected = false;
      this.#reestablished = false;
      this.#forgetUnsigned();
    });
  }

  /** Not closing on chain yet: its messages are handled and its peer is wanted (reconnected). */
  get open(): boolean {
    return ['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_NORMAL', 'CHANNELD_SHUTTING_DOWN', 'CLOSINGD_SIGEXCHANGE'].includes(this.data.state);
  }

  #send(msg: ChannelMessage): void {
    if (!this.#connected) return;
    this.#env.send(msg);
  }

  async #persist(): Promise<void> {
    this.data.remoteSecrets = this.#secrets.entries().map((e) => ({ index: e.index, secret: e.secret }));
    await this.#env.persist(this.data);
  }

  async #setState(s: ChannelData['state']): Promise<void> {
    if (this.data.state === s) return;
    // Once the funding output is spent only the chain side moves the state (a message handler may still be finishing).
    if (this.data.onchain && !['FUNDING_SPEND_SEEN', 'ONCHAIN', 'CLOSED'].includes(s)) return;
    this.data.state = s;
    await this.#persist();
    this.emit('state', s);
  }

  // -------------------------------------------------------------------------------------------------
  // Incoming messages

  handle(msg: ChannelMessage): Promise<void> {
    return this.#run(async () => {
      // A message queued behind one that failed the channel must not change it (revoke what we publish).
      if (!this.open && !(this.#reestablished && this.#simple.accepts(msg))) return;
      try {
        await this.#handle(msg);
      } catch (e) {
        if (e instanceof ChannelProtocolError || e instanceof ChannelError) {
          await this.#fail(e.message, true);
          return;
        }
        throw e;
      }
    });
  }

  /** Fails the channel from outside its queue (peer's `error`, close timeout), after the message in progress, which may revoke a commitment. */
  fail(reason: string, tellPeer = true): Promise<void> {
    return this.#run(() => this.#fail(reason, tellPeer));
  }

  /** Fails the channel inline (never through the queue, which may be running the caller): persist, then publish. */
  async #fail(reason: string, tellPeer: boolean): Promise<void> {
    if (!this.open && this.data.state !== 'CLOSINGD_COMPLETE') return;
    this.#env.log.warn({ channel: this.id, reason }, 'failing channel');
    this.data.failure = reason;
    const commitment = this.data.lostState ? undefined : this.localCommitmentTx();
    await this.#setState('AWAITING_UNILATERAL');
    await this.#env.fail(reason, { commitment, tellPeer });
  }

  async #handle(msg: ChannelMessage): Promise<void> {
    const d = this.data;
    if (msg.type === ChannelMessageType.CHANNEL_REESTABLISH) return this.#onReestablish(msg);
    if (!this.#reestablished) throw new ChannelProtocolError(`${messageName(msg.type)} before channel_reestablish`);
    switch (msg.type) {
      case ChannelMessageType.CHANNEL_READY: {
        if (d.state !== 'CHANNELD_AWAITING_LOCKIN' && d.state !== 'CHANNELD_NORMAL') return;
        const point = msg.secondPerCommitmentPoint;
        if (!secp.isPublicKey(point)) throw new ChannelProtocolError('channel_ready: invalid per-commitment point');
        if (d.remoteCommit.index === 0n && !d.nextRemoteCommit) d.remoteNextPoint = Buffer.from(point);
        const alias = aliasFromTlv(msg.shortChannelIdAlias), aliasNew = alias !== undefined && alias !== d.remoteAlias;
        d.remoteReady = true;
        d.remoteAlias = alias ?? d.remoteAlias;
        if (!(await this.#maybeNormal()) && (d.state === 'CHANNELD_AWAITING_LOCKIN' || aliasNew)) await this.#persist();
        return;
      }
      case ChannelMessageType.UPDATE_ADD_HTLC:
        return this.#onAdd(msg);
      case ChannelMessageType.UPDATE_FULFILL_HTLC: {
        const h = this.#offeredHtlc(msg.id);
        if (!sha256(msg.paymentPreimage).equals(h.paymentHash)) throw new ChannelProtocolError(`update_fulfill_htlc: wrong preimage for HTLC ${msg.id}`);
        d.remoteChanges.proposed.push({ kind: 'fulfill', id: msg.id, preimage: Buffer.from(msg.paymentPreimage) });
        this.emit('htlcSettled', { id: msg.id, preimage: Buffer.from(msg.paymentPreimage) });
        return;
      }
      case ChannelMessageType.UPDATE_FAIL_HTLC:
        this.#offeredHtlc(msg.id);
        d.remoteChanges.proposed.push({ kind: 'fail', id: msg.id, reason: Buffer.from(msg.reason) });
        return;
      case ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC:
        this.#offeredHtlc(msg.id);
        if ((msg.failureCode & 0x8000) === 0) throw new ChannelProtocolError('update_fail_malformed_htlc: failure code without the BADONION bit');
        d.remoteChanges.proposed.push({ kind: 'fail_malformed', id: msg.id, sha256OfOnion: Buffer.from(msg.sha256OfOnion), failureCode: msg.failureCode });
        return;
      case ChannelMessageType.UPDATE_FEE:
        return this.#onUpdateFee(BigInt(msg.feeratePerKw));
      case ChannelMessageType.COMMITMENT_SIGNED:
        return this.#onCommitmentSigned(msg);
      case ChannelMessageType.REVOKE_AND_ACK:
        return this.#onRevokeAndAck(msg);
      case ChannelMessageType.SHUTDOWN:
        return this.#onShutdown(msg);
      case ChannelMessageType.CLOSING_SIGNED:
        return this.#onClosingSigned(msg);
      case ChannelMessageType.CLOSING_COMPLETE:
      case ChannelMessageType.CLOSING_SIG:
        return this.#simple.handle(msg);
      default:
        throw new ChannelProtocolError(`unexpected ${messageName(msg.type)} on an established channel`);
    }
  }

  #offeredHtlc(id: bigint): HtlcAdd {
    // They can settle only what is committed on their side: an HTLC we offered in their commitment.
    const d = this.data;
    const inRemote = d.remoteCommit.spec.htlcs.find((h) => h.direction === 'received' && h.add.id === id);
    if (!inRemote) throw new ChannelProtocolError(`settlement of unknown HTLC ${id}`);
    const pending = [...d.remoteChanges.proposed, ...d.remoteChanges.acked, ...d.remoteChanges.signed].some((u) => u.kind !== 'add' && u.kind !== 'fee' && u.id === id);
    if (pending) throw new ChannelProtocolError(`HTLC ${id} settled twice`);
    return inRemote.add;
  }

  async #onAdd(msg: UpdateAddHtlc): Promise<void> {
    const d = this.data;
    if (d.state !== 'CHANNELD_NORMAL') throw new ChannelProtocolError(`update_add_htlc in state ${d.state}`);
    if (d.closing?.remoteScript) throw new ChannelProtocolError('update_add_htlc after shutdown');
    if (msg.id !== d.remoteNextHtlcId) throw new ChannelProtocolError(`update_add_htlc: id ${msg.id}, expected ${d.remoteNextHtlcId}`);
    if (msg.amountMsat === 0n || msg.amountMsat < d.local.htlcMinimumMsat) throw new ChannelProtocolError(`update_add_htlc: amount ${msg.amountMsat} msat below our minimum ${d.local.htlcMinimumMsat}`);
    if (msg.cltvExpiry >= 500_000_000) throw new ChannelProtocolError('update_add_htlc: cltv_expiry is not a block height');
    const add: Update = { kind: 'add', id: msg.id, amountMsat: msg.amountMsat, paymentHash: Buffer.from(msg.paymentHash), cltvExpiry: msg.cltvExpiry, onion: Buffer.from(msg.onionRoutingPacket), ...(msg.blindingPoint ? { pathKey: Buffer.from(msg.blindingPoint) } : {}) };
    const reduced = reduceSpec(d.localCommit.spec, d.localChanges.acked, [...d.remoteChanges.proposed, add]);
    const received = reduced.htlcs.filter((h) => h.direction === 'received');
    if (received.length > d.local.maxAcceptedHtlcs) throw new ChannelProtocolError(`update_add_htlc: more than ${d.local.maxAcceptedHtlcs} HTLCs`);
    const inflight = received.reduce((s, h) => s + h.add.amountMsat, 0n);
    if (inflight > d.local.maxHtlcValueInFlightMsat) throw new ChannelProtocolError(`update_add_htlc: ${inflight} msat in flight exceeds ${d.local.maxHtlcValueInFlightMsat}`);
    const fees = d.opener === 'remote' ? openerCostMsat(d, reduced, d.local.dustLimitSat) : 0n;
    if (reduced.toRemoteMsat - fees < d.local.channelReserveSat * 1000n) throw new ChannelProtocolError('update_add_htlc: the sender cannot afford it while keeping its reserve and the fee');
    d.remoteNextHtlcId++;
    d.remoteChanges.proposed.push(add);
  }

  async #onUpdateFee(feerate: bigint): Promise<void> {
    const d = this.data;
    if (d.opener === 'local') throw new ChannelProtocolError('update_fee from the non-opener');
    checkOpenerUpdateFee(d, feerate, await this.#env.feerateRange());
    d.remoteChanges.proposed.push({ kind: 'fee', feeratePerKw: feerate });
  }

  async #onCommitmentSigned(msg: CommitmentSigned): Promise<void> {
    const d = this.data;
    if (d.localChanges.acked.length === 0 && d.remoteChanges.proposed.length === 0) throw new ChannelProtocolError('commitment_signed without any update to commit');
    const index = d.localCommit.index + 1n;
    const spec = reduceSpec(d.localCommit.spec, d.localChanges.acked, d.remoteChanges.proposed);
    const checked = checkLocalCommitment(d, this.#env.keys, index, spec, Buffer.from(msg.signature), msg.htlcSignatures.map((s) => Buffer.from(s)));
    if ('error' in checked) throw new ChannelProtocolError(`commitment_signed: ${checked.error}`);
    d.localCommit = { index, spec, txid: checked.txid, remoteSig: Buffer.from(msg.signature), htlcSigs: msg.htlcSignatures.map((s) => Buffer.from(s)) };
    d.localChanges.acked = [];
    d.remoteChanges.acked = [...d.remoteChanges.acked, ...d.remoteChanges.proposed];
    d.remoteChanges.proposed = [];
    d.lastSent = 'revoke';
    await this.#persist();
    this.#send(this.#revokeMessage());
    this.#announceReceived();
    this.emit('revoked');
    this.#scheduleCommit();
    await this.#maybeShutdownProgress();
  }

  #revokeMessage(): ChannelMessage {
    const d = this.data;
    const keys = this.#env.keys;
    return {
      type: ChannelMessageType.REVOKE_AND_ACK,
      channelId: d.channelId,
      perCommitmentSecret: keys.secret(d.localCommit.index - 1n),
      nextPerCommitmentPoint: keys.point(d.localCommit.index + 1n),
      extraTlvs: [],
    };
  }

  async #onRevokeAndAck(msg: RevokeAndAck): Promise<void> {
    const d = this.data;
    const next = d.nextRemoteCommit;
    if (!next) throw new ChannelProtocolError('revoke_and_ack without a commitment_signed to answer');
    const secret = Buffer.from(msg.perCommitmentSecret);
    let point: Buffer;
    try {
      point = perCommitmentPoint(secret);
    } catch {
      throw new ChannelProtocolError('revoke_and_ack: per-commitment secret is not a valid key');
    }
    if (!point.equals(d.remoteCommit.point)) throw new ChannelProtocolError(`revoke_and_ack: secret does not match the point of commitment ${d.remoteCommit.index}`);
    if (!secp.isPublicKey(msg.nextPerCommitmentPoint)) throw new ChannelProtocolError('revoke_and_ack: invalid next per-commitment point');
    this.#secrets.insert(shachainIndex(d.remoteCommit.index), secret);
    await this.#env.revoked({ channelId: d.channelId, commit: d.remoteCommit, secret });
    const { sig: _sig, htlcSigs: _htlcSigs, ...nextCommit } = next;
    d.remoteCommit = nextCommit;
    d.nextRemoteCommit = undefined;
    d.remoteNextPoint = Buffer.from(msg.nextPerCommitmentPoint);
    // Settlements by them that are now in both commitments are final: told once that is persisted.
    const final = d.remoteChanges.signed;
    d.localChanges.acked = [...d.localChanges.acked, ...d.localChanges.signed];
    d.localChanges.signed = [];
    d.remoteChanges.signed = [];
    await this.#persist();
    for (const u of final) if (u.kind === 'fail' || u.kind === 'fail_malformed') this.emit('htlcSettled', { id: u.id, failure: u.kind === 'fail' ? u.reason : Buffer.alloc(0), ...(u.kind === 'fail_malformed' ? { malformed: { failureCode: u.failureCode, sha256OfOnion: u.sha256OfOnion } } : {}) });
    this.#announceReceived();
    this.emit('revoked');
    this.#scheduleCommit();
    await this.#maybeShutdownProgress();
  }

  /** Received HTLCs that are in both commitments are irrevocably committed: tell the owner once. */
  #announceReceived(): void {
    const d = this.data;
    for (const h of d.localCommit.spec.htlcs) {
      if (h.direction !== 'received' || this.#announced.has(h.add.id)) continue;
      if (!d.remoteCommit.spec.htlcs.some((r) => r.direction === 'offered' && r.add.id === h.add.id)) continue;
      this.#announced.add(h.add.id);
      this.emit('htlcReceived', h.add);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Reestablish

  async #onReestablish(msg: ChannelReestablish): Promise<void> {
    const d = this.data;
    if (this.#reestablished) throw new ChannelProtocolError('second channel_reestablish');
    const keys = this.#env.keys;
    // Data loss protection: what they say we last revealed must be what we revealed.
    if (msg.nextRevocationNumber > 0n) {
      const expected = keys.secret(msg.nextRevocationNumber - 1n);
      if (!expected.equals(Buffer.from(msg.yourLastPerCommitmentSecret))) throw new ChannelProtocolError(`channel_reestablish: your_last_per_commitment_secret does not match (next_revocation_number ${msg.nextRevocationNumber}, ours ${d.localCommit.index})`);
      if (msg.nextRevocationNumber > d.localCommit.index) {
        // Proven with our own secret: our latest commitment is revoked, publishing it would forfeit the channel (BOLT 2).
        const reason = `peer says we revoked commitment ${msg.nextRevocationNumber - 1n}, our latest is ${d.localCommit.index}: we lost state`;
        this.#env.log.error({ channel: this.id }, reason);
        d.lostState = true;
        return this.#fail(reason, true);
      }
    }
    const resendRevoke = msg.nextRevocationNumber + 1n === d.localCommit.index;
    if (!resendRevoke && msg.nextRevocationNumber !== d.localCommit.index) throw new ChannelProtocolError(`channel_reestablish: next_revocation_number ${msg.nextRevocationNumber}, ours is ${d.localCommit.index}`);
    let resendCommit = false;
    if (d.nextRemoteCommit) {
      if (msg.nextCommitmentNumber === d.nextRemoteCommit.index) resendCommit = true;
      else if (msg.nextCommitmentNumber !== d.nextRemoteCommit.index + 1n) throw new ChannelProtocolError(`channel_reestablish: next_commitment_number ${msg.nextCommitmentNumber}, expected ${d.nextRemoteCommit.index}`);
    } else if (msg.nextCommitmentNumber !== d.remoteCommit.index + 1n) {
      throw new ChannelProtocolError(`channel_reestablish: next_commitment_number ${msg.nextCommitmentNumber}, expected ${d.remoteCommit.index + 1n}`);
    }
    // channel_ready again when no update happened yet (BOLT 2).
    if (d.localReadySent && msg.nextCommitmentNumber === 1n && d.localCommit.index === 0n) this.#send(this.#readyMessage());
    const commitParts = (): void => {
      const next = d.nextRemoteCommit!;
      for (const u of d.localChanges.signed) this.#send(this.#updateMessage(u));
      this.#send({ type: ChannelMessageType.COMMITMENT_SIGNED, channelId: d.channelId, signature: next.sig, htlcSignatures: next.htlcSigs, extraTlvs: [] });
    };
    if (resendRevoke && resendCommit) {
      if (d.lastSent === 'revoke') {
        commitParts();
        this.#send(this.#revokeMessage());
      } else {
        this.#send(this.#revokeMessage());
        commitParts();
      }
    } else if (resendRevoke) this.#send(this.#revokeMessage());
    else if (resendCommit) commitParts();
    this.#reestablished = true;
    if (d.closing?.localScript && (d.state === 'CHANNELD_SHUTTING_DOWN' || d.state === 'CLOSINGD_SIGEXCHANGE')) {
      this.#send({ type: ChannelMessageType.SHUTDOWN, channelId: d.channelId, scriptPubkey: d.closing.localScript, extraTlvs: [] });
      // The fee negotiation restarts on every reconnection (BOLT 2): both proposals are forgotten.
      d.closing.ourFeeSat = d.closing.ourSig = undefined;
      d.closing.theirFeeSat = d.closing.theirSig = undefined; this.#simple.restart();
    }
    this.emit('reestablished');
    this.#announceReceived();
    await this.#maybeNormal();
    this.#scheduleCommit();
    await this.#maybeShutdownProgress();
  }

  #updateMessage(u: Update): ChannelMessage {
    const channelId = this.data.channelId;
    switch (u.kind) {
      case 'add':
        return { type: ChannelMessageType.UPDATE_ADD_HTLC, channelId, id: u.id, amountMsat: u.amountMsat, paymentHash: u.paymentHash, cltvExpiry: u.cltvExpiry, onionRoutingPacket: u.onion, ...(u.pathKey ? { blindingPoint: u.pathKey } : {}), extraTlvs: [] };
      case 'fulfill':
        return { type: ChannelMessageType.UPDATE_FULFILL_HTLC, channelId, id: u.id, paymentPreimage: u.preimage, extraTlvs: [] };
      case 'fail':
        return { type: ChannelMessageType.UPDATE_FAIL_HTLC, channelId, id: u.id, reason: u.reason, extraTlvs: [] };
      case 'fail_malformed':
        return { type: ChannelMessageType.UPDATE_FAIL_MALFORMED_HTLC, channelId, id: u.id, sha256OfOnion: u.sha256OfOnion, failureCode: u.failureCode, extraTlvs: [] };
      case 'fee':
        return { type: ChannelMessageType.UPDATE_FEE, channelId, feeratePerKw: Number(u.feeratePerKw), extraTlvs: [] };
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Funding depth and channel_ready

  #readyMessage(): ChannelMessage {
    return { type: ChannelMessageType.CHANNEL_READY, channelId: this.data.channelId, secondPerCommitmentPoint: this.#env.keys.point(1n), ...aliasTlv(this.data), extraTlvs: [] };
  }

  /** The funding transaction reached its minimum depth. */
  fundingLocked(shortChannelId: string, localAlias?: string): Promise<void> {
    return this.#run(async () => {
      const d = this.data;
      d.shortChannelId = shortChannelId;
      if (!d.localReadySent) {
        d.localAlias ??= localAlias;
        d.localReadySent = true;
        await this.#persist();
        if (this.#reestablished) this.#send(this.#readyMessage());
      }
      await this.#maybeNormal();
    });
  }

  /** channel_ready sent and received: CHANNELD_NORMAL (persisted). True when the state changed. */
  async #maybeNormal(): Promise<boolean> {
    const d = this.data;
    if (d.state !== 'CHANNELD_AWAITING_LOCKIN' || !d.localReadySent || !d.remoteReady) return false;
    await this.#setState('CHANNELD_NORMAL');
    return true;
  }

  // -------------------------------------------------------------------------------------------------
  // Our updates

  #requireUsable(what: string): void {
    if (!this.usable) throw new ChannelError('INVALID', `channel: cannot ${what}: channel ${this.id} is ${this.#connected ? this.data.state : 'not connected'}`);
  }

  /** Offers an HTLC; resolves with its id once sent (settlement comes as 'htlcSettled'). `beforeSend` (a payment's record) runs with the id first. */
  addHtlc(h: { amountMsat: bigint; paymentHash: Buffer; cltvExpiry: number; onion?: Buffer; pathKey?: Buffer; beforeSend?: (id: bigint) => Promise<void> }): Promise<bigint> {
    return this.#run(async () => {
      this.#requireUsable('add an HTLC');
      const d = this.data;
      if (d.closing?.localScript || d.closing?.remoteScript) throw new ChannelError('INVALID', 'channel: shutting down, no new HTLCs');
      if (h.amountMsat < d.remote.htlcMinimumMsat || h.amountMsat <= 0n) throw new ChannelError('INVALID_AMOUNT', `channel: HTLC of ${h.amountMsat} msat is below the peer's minimum ${d.remote.htlcMinimumMsat}`);
      const add: Update = { kind: 'add', id: d.localNextHtlcId, amountMsat: h.amountMsat, paymentHash: h.paymentHash, cltvExpiry: h.cltvExpiry, onion: h.onion ?? Buffer.alloc(ONION_PACKET_SIZE), ...(h.pathKey ? { pathKey: h.pathKey } : {}) };
      const base = d.nextRemoteCommit?.spec ?? d.remoteCommit.spec;
      const reduced = reduceSpec(base, d.remoteChanges.acked, [...d.localChanges.proposed, add]);
      const offered = reduced.htlcs.filter((x) => x.direction === 'received');
      if (offered.length > d.remote.maxAcceptedHtlcs) throw new ChannelError('INVALID', `channel: the peer accepts at most ${d.remote.maxAcceptedHtlcs} HTLCs`);
      const inflight = offered.reduce((s, x) => s + x.add.amountMsat, 0n);
      if (inflight > d.remote.maxHtlcValueInFlightMsat) throw new ChannelError('INVALID_AMOUNT', `channel: ${inflight} msat in flight exceeds the peer's limit`);
      const fees = d.opener === 'local' ? openerCostMsat(d, reduced, d.remote.dustLimitSat) : 0n;
      if (reduced.toRemoteMsat - fees < d.remote.channelReserveSat * 1000n) throw new ChannelError('INVALID_AMOUNT', 'channel: insufficient balance for this HTLC (reserve and fee)');
      await h.beforeSend?.(add.id);
      d.localNextHtlcId++;
      d.localChanges.proposed.push(add);
      this.#send(this.#updateMessage(add));
      this.#scheduleCommit();
      return add.id;
    });
  }

  fulfillHtlc(id: bigint, preimage: Buffer): Promise<void> {
    return this.#settle({ kind: 'fulfill', id, preimage }, (h) => sha256(preimage).equals(h.paymentHash) || 'channel: preimage does not match the payment hash');
  }

  failHtlc(id: bigint, reason: Buffer = Buffer.alloc(0)): Promise<void> {
    return this.#settle({ kind: 'fail', id, reason });
  }

  /** update_fail_malformed_htlc: an onion we cannot read (failHtlc's `reason` is the encrypted failure onion of onion/failure-onion.ts). */
  failMalformedHtlc(id: bigint, sha256OfOnion: Buffer, failureCode: number): Promise<void> {
    return this.#settle({ kind: 'fail_malformed', id, sha256OfOnion, failureCode }, () => (failureCode & 0x8000) !== 0 || `channel: failure code ${failureCode} has no BADONION bit`);
  }

  #settle(u: Update & { id: bigint }, check: (h: HtlcAdd) => true | string = () => true): Promise<void> {
    return this.#run(() => {
      if (!this.#connected || !this.#reestablished) throw new ChannelError('INVALID', 'channel: not connected');
      const d = this.data;
      const h = d.localCommit.spec.htlcs.find((x) => x.direction === 'received' && x.add.id === u.id);
      if (!h) throw new ChannelError('INVALID', `channel: no committed incoming HTLC ${u.id}`);
      if ([...d.localChanges.proposed, ...d.localChanges.signed, ...d.localChanges.acked].some((x) => x.kind !== 'add' && x.kind !== 'fee' && x.id === u.id))
        throw new ChannelError('INVALID', `channel: HTLC ${u.id} is already being settled`);
      const why = check(h.add);
      if (why !== true) throw new ChannelError('INVALID', why);
      d.localChanges.proposed.push(u);
      this.#send(this.#updateMessage(u));
      this.#scheduleCommit();
    });
  }

  /** update_fee (opener only). */
  updateFee(feeratePerKw: bigint): Promise<void> {
    return this.#run(() => {
      this.#requireUsable('update the fee');
      const d = this.data;
      if (d.opener !== 'local') throw new ChannelError('INVALID', 'channel: only the opener sends update_fee');
      if (feeratePerKw < MIN_FEERATE_PER_KW || feeratePerKw > MAX_FEERATE_PER_KW) throw new ChannelError('INVALID_AMOUNT', `channel: feerate ${feeratePerKw} out of range`);
      const u: Update = { kind: 'fee', feeratePerKw };
      const base = d.nextRemoteCommit?.spec ?? d.remoteCommit.spec;
      const reduced = reduceSpec(base, d.remoteChanges.acked, [...d.localChanges.proposed, u]);
      if (reduced.toRemoteMsat < openerCostMsat(d, reduced, d.remote.dustLimitSat)) throw new ChannelError('INVALID_AMOUNT', `channel: cannot afford feerate ${feeratePerKw}`);
      d.localChanges.proposed.push(u);
      this.#send(this.#updateMessage(u));
      this.#scheduleCommit();
    });
  }

  /** The feerate of our current commitment. */
  get feeratePerKw(): bigint {
    return this.data.localCommit.spec.feeratePerKw;
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    setImmediate(() => {
      this.#commitScheduled = false;
      this.#run(() => this.#sendCommit()).catch((e: unknown) => this.#env.log.error({ err: e, channel: this.id }, 'commitment_signed failed'));
    });
  }

  /** Sends commitment_signed when we have something to sign and are not waiting for a revocation. */
  async #sendCommit(): Promise<void> {
    const d = this.data;
    if (!this.#connected || !this.#reestablished || d.nextRemoteCommit) return;
    if (d.localChanges.proposed.length === 0 && d.remoteChanges.acked.length === 0) return;
    if (!this.open) return;
    const index = d.remoteCommit.index + 1n;
    const spec = reduceSpec(d.remoteCommit.spec, d.remoteChanges.acked, d.localChanges.proposed);
    const signed = signRemoteCommitment(d, this.#env.keys, index, d.remoteNextPoint, spec);
    d.nextRemoteCommit = { index, spec, txid: signed.txid, point: d.remoteNextPoint, sig: signed.sig, htlcSigs: signed.htlcSigs };
    d.localChanges.signed = d.localChanges.proposed;
    d.localChanges.proposed = [];
    d.remoteChanges.signed = d.remoteChanges.acked;
    d.remoteChanges.acked = [];
    d.lastSent = 'commit';
    await this.#persist();
    this.#send({ type: ChannelMessageType.COMMITMENT_SIGNED, channelId: d.channelId, signature: signed.sig, htlcSignatures: signed.htlcSigs, extraTlvs: [] });
  }

  /** Resolves once nothing is pending in either direction (every update signed and revoked). */
  idle(): Promise<void> {
    return this.#run(() => undefined).then(
      () =>
        new Promise<void>((resolve) => {
          this.#idleWaiters.push(resolve);
          this.#notifyIdle();
        }),
    );
  }

  #isIdle(): boolean {
    return !this.#commitScheduled && this.#nothingPending();
  }

  /** No update unsigned or unrevoked in either direction. */
  #nothingPending(): boolean {
    const d = this.data;
    return !d.nextRemoteCommit && [d.localChanges, d.remoteChanges].every((c) => c.proposed.length === 0 && c.signed.length === 0 && c.acked.length === 0);
  }

  // -------------------------------------------------------------------------------------------------
  // Cooperative close

  /** Starts a mutual close: shutdown now, closing_signed once no HTLC is left. Again while closing by option_simple_close: a replacement at our current estimate. */
  shutdown(): Promise<void> {
    return this.#run(async () => {
      const d = this.data;
      if (d.closing?.simple && (d.state === 'CLOSINGD_SIGEXCHANGE' || d.state === 'CLOSINGD_COMPLETE')) return this.#simple.bump();
      if (d.state !== 'CHANNELD_NORMAL' && d.state !== 'CHANNELD_SHUTTING_DOWN' && d.state !== 'CHANNELD_AWAITING_LOCKIN') throw new ChannelError('INVALID', `channel: cannot close in state ${d.state}`);
      if (!this.#connected) throw new ChannelError('INVALID', 'channel: peer not connected');
      await this.#sendShutdown();
      await this.#maybeShutdownProgress();
    });
  }

  async #sendShutdown(): Promise<void> {
    const d = this.data;
    d.closing ??= {};
    if (d.closing.localScript) return;
    d.closing.localScript = d.local.upfrontShutdownScript ?? (await this.#env.shutdownScript());
    // The funding output may have been spent while the wallet answered: the chain side owns the state now.
    if (d.onchain) return;
    d.state = 'CHANNELD_SHUTTING_DOWN';
    await this.#persist();
    this.emit('state', d.state);
    this.#send({ type: ChannelMessageType.SHUTDOWN, channelId: d.channelId, scriptPubkey: d.closing.localScript, extraTlvs: [] });
  }

  async #onShutdown(msg: Shutdown): Promise<void> {
    const d = this.data;
    const script = Buffer.from(msg.scriptPubkey);
    const bad = shutdownScriptError(d, script, this.#env.simpleClose?.());
    if (bad) throw new ChannelProtocolError(bad);
    d.closing ??= {};
    d.closing.remoteScript = script;
    this.#theirShutdown = true;
    // Updates they proposed after their shutdown are forbidden; ours still get signed first.
    await this.#sendShutdown();
    await this.#maybeShutdownProgress();
  }

  /** Once both shutdowns are exchanged and no HTLC remains, negotiate the closing fee (the opener proposes first). */
  async #maybeShutdownProgress(): Promise<void> {
    const d = this.data;
    const c = d.closing;
    if (!c?.localScript || !c.remoteScript || !this.#theirShutdown || !this.#reestablished) return;
    if (d.state !== 'CHANNELD_SHUTTING_DOWN' && d.state !== 'CLOSINGD_SIGEXCHANGE') return;
    // A commitment merely scheduled with nothing to sign does not hold the close up (it did after a reconnection).
    if (!this.#nothingPending() || d.localCommit.spec.htlcs.length > 0 || d.remoteCommit.spec.htlcs.length > 0) return;
    if (d.state === 'CHANNELD_SHUTTING_DOWN') await this.#setState('CLOSINGD_SIGEXCHANGE');
    if (this.#env.simpleClose?.()) return this.#simple.start();
    if (d.opener === 'local' && c.ourSig === undefined) {
      const { fee, range } = await this.#closeTerms();
      await this.#sendClosingSigned(fee, range);
    }
  }

  async #closeTerms(): Promise<CloseTerms & { fee: bigint; range: FeeRange }> {
    const terms = closeTerms(this.data, await this.#env.closingFeerate());
    return { ...terms, ...ourProposal(terms) };
  }

  /** Signs and sends a closing transaction paying `feeSat`, with our fee_range (from the same terms); the signature is persisted first. */
  async #sendClosingSigned(feeSat: bigint, range: FeeRange): Promise<void> {
    const d = this.data;
    const sig = signClosingTx(closingTxFor(this.data, feeSat), this.#env.keys.fundingPrivkey);
    Object.assign(d.closing!, { ourFeeSat: feeSat, ourSig: sig });
    await this.#persist();
    this.#send({ type: ChannelMessageType.CLOSING_SIGNED, channelId: d.channelId, feeSatoshis: feeSat, signature: sig, feeRange: { minFeeSatoshis: range.min, maxFeeSatoshis: range.max }, extraTlvs: [] });
  }

  async #onClosingSigned(msg: ClosingSigned): Promise<void> {
    const d = this.data;
    const c = d.closing;
    // Their closing_signed may overtake our own step to SIGEXCHANGE after a reconnection.
    if (d.state === 'CHANNELD_SHUTTING_DOWN') await this.#maybeShutdownProgress();
    if (d.state !== 'CLOSINGD_SIGEXCHANGE' || !c) throw new ChannelProtocolError(`closing_signed in state ${d.state}`);
    const fee = msg.feeSatoshis;
    const tx = theirClosingTx(d, fee, Buffer.from(msg.signature));
    if (typeof tx === 'string') throw new ChannelProtocolError(tx);
    Object.assign(c, { theirFeeSat: fee, theirSig: Buffer.from(msg.signature) });
    const range = msg.feeRange && { min: msg.feeRange.minFeeSatoshis, max: msg.feeRange.maxFeeSatoshis };
    const terms = await this.#closeTerms();
    const decision = decide(terms, { fee, range }, c.ourFeeSat);
    switch (decision.kind) {
      case 'fail':
        throw new ChannelProtocolError(decision.reason);
      case 'disagree':
        // BOLT 2: tell the peer and wait for another range; the close's timeout ends it otherwise.
        this.#env.log.warn({ channel: this.id, reason: decision.reason }, 'closing fee: no overlap');
        this.#env.warn?.(decision.reason);
        return;
      case 'counter':
        return this.#sendClosingSigned(decision.fee, terms.range);
      case 'accept': {
        if (fee !== c.ourFeeSat) await this.#sendClosingSigned(fee, terms.range);
        const signed = serializeSignedClosingTx(tx, d.local.fundingPubkey, d.remote.fundingPubkey, c.ourSig!, c.theirSig!);
        Object.assign(c, { txHex: signed.hex, txid: signed.txid });
        await this.#setState('CLOSINGD_COMPLETE');
        await this.#env.publishClosing(signed.txid, signed.hex);
      }
    }
  }

  /** The signed current commitment (for a unilateral close). */
  localCommitmentTx(): { txid: string; hex: string } {
    const { txid, hex } = signedLocalCommitment(this.data, this.#env.keys);
    return { txid, hex };
  }

  /** Where a watchtower pays what it takes from a breach: `make`'s script, fixed for the channel's life. Written with the next state write. */
  async towerSweepScript(make: () => Promise<Buffer>): Promise<Buffer> {
    return (this.data.towerSweepScript ??= await make());
  }

  // -------------------------------------------------------------------------------------------------
  // The chain side, as blocks come: written at once, outside the queue (issue 12 revisits these writes),
  // so that a channel whose queue is stuck never stops block processing

  /** The funding output's spend progresses (FUNDING_SPEND_SEEN, ONCHAIN, CLOSED); further messages are ignored. */
  async setOnchainState(state: ChannelData['state']): Promise<void> {
    await this.#setState(state);
  }

  async fundingConfirmed(height: number, txIndex: number): Promise<void> {
    this.data.fundingConfirmation = { height, txIndex };
    await this.saveOnchain();
  }

  /** The block that confirmed the funding transaction was disconnected. */
  async fundingUnconfirmed(): Promise<void> {
    this.data.fundingConfirmation = undefined;
    await this.saveOnchain();
  }

  /** The funding output is spent: the spend (kind, txid, height) and the plan for each output, written before anything acts on it. */
  async fundingSpent(onchain: OnchainState): Promise<void> {
    this.data.onchain = onchain;
    this.data.state = onchain.kind === 'mutual' ? 'ONCHAIN' : 'FUNDING_SPEND_SEEN';
    await this.saveOnchain();
    this.emit('state', this.data.state);
  }

  /** One on-chain step (a sweep built, published, confirmed, replaced or dropped; an output spent): applied, then written. */
  async onchainStep(step: (oc: OnchainState) => void): Promise<void> {
    step(this.data.onchain!);
    await this.saveOnchain();
  }

  /** Our commitment is bumped by a child (CPFP): written before either is published. */
  async cpfpBuilt(cpfp: NonNullable<ChannelData['cpfp']>): Promise<void> {
    this.data.cpfp = cpfp;
    await this.saveOnchain();
  }

  /** Writes the state as the chain side left it. */
  async saveOnchain(): Promise<void> {
    await this.#env.persist(this.data);
  }
}
