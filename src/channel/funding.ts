/**
 * Channel establishment (BOLT 2 v1) as funder and fundee: open_channel / accept_channel /
 * funding_created / funding_signed, the opens in progress with their 60 s timeouts and aborts, then the
 * funding transaction's life on chain up to channel_ready (confirmation, reorgs, rebroadcast).
 *
 * A channel exists (in the registry, persisted) from funding_signed on: the funder persists it before
 * broadcasting the funding transaction, the fundee before sending funding_signed.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { isChainError } from '../chain/errors.js';
import type { ConnectedBlock } from '../chain/notifier.js';
import type { BlockTip } from '../chain/chain-source.js';
import type { PeerManager } from '../peer/manager.js';
import type { Peer } from '../peer/peer.js';
import type { addressToScript, KeyKind } from '../wallet/keys.js';
import type { FundedTransaction } from '../wallet/wallet.js';
import type { Channel } from './channel.js';
import type { CommitmentFormat } from './commitment.js';
import { checkLocalCommitment, signRemoteCommitment } from './commitments.js';
import { ChannelError } from './errors.js';
import { MIN_FEERATE_PER_KW } from './fee-policy.js';
import { channelIdFromFunding, ChannelMessageType, type AcceptChannel, type ChannelMessage, type ChannelParamsFields, type FundingCreated, type FundingSigned, type OpenChannel } from './messages.js';
import { announcedFields, channelTypeFormat, checkRemoteParams, formatChannelType, initialChannelData, localParams, type ChannelConfig } from './open.js';
import type { ChannelRegistry } from './registry.js';
import { fundingScript } from '../bitcoin/bolt3-scripts.js';
import { p2wsh } from '../bitcoin/script.js';
import type { ChannelKeys } from './signer.js';
import type { ChannelData, SideParams } from './state.js';
import { newLocalAlias } from './alias.js';

/** The on-chain wallet as the channel layer uses it: funding, addresses for closes and sweeps, fee rates. */
export interface ChannelWallet {
  fundTransaction(req: { outputs: { script: Uint8Array; amountSat: bigint | 'all' }[]; feeRateSatPerKw: number; minconf?: number }): Promise<FundedTransaction>;
  broadcast(f: FundedTransaction): Promise<string>;
  release(f: FundedTransaction): Promise<void>;
  newAddress(kind: KeyKind): Promise<{ address: string }>;
  resolveFeerate(feerate?: unknown): Promise<number>;
  /** The backend's own estimate, or null when it has none (no fallback). */
  estimateFeerate(feerate?: unknown): Promise<number | null>;
  readonly keys: { network: Parameters<typeof addressToScript>[1] };
}

export interface FundChannelRequest {
  peerId: string;
  amountSat: bigint | 'all';
  feeratePerKw?: number;
  pushMsat?: bigint;
  announce?: boolean;
  minconf?: number;
  format?: CommitmentFormat;
}

export interface FundChannelResult {
  tx: string;
  txid: string;
  outnum: number;
  channelId: string;
  channelType: Buffer;
  format: CommitmentFormat;
}

/** What establishment needs from the node and from the rest of the channel layer. */
export interface FundingContext {
  peers: PeerManager;
  wallet: ChannelWallet;
  /** Hands out channel key indexes (persisted before use). */
  nextKeyIndex(): Promise<number>;
  chainHash: Buffer;
  config: ChannelConfig;
  registry: ChannelRegistry;
  log: Logger;
  send(peerId: string, msg: ChannelMessage): boolean;
  sendError(peerId: string, channelId: Buffer, text: string): void;
  persist(d: ChannelData): Promise<void>;
  /** Registers a channel just established (already persisted). */
  addChannel(d: ChannelData): Channel;
  publish(hex: string, what: string): Promise<void>;
}

interface PendingOpen {
  role: 'funder' | 'fundee';
  peerId: string;
  keys: ChannelKeys;
  local: SideParams;
  fundingSat: bigint;
  pushMsat: bigint;
  feeratePerKw: bigint;
  format: CommitmentFormat;
  announce: boolean;
  minimumDepth: number;
  minconf?: number;
  open?: OpenChannel;
  accept?: AcceptChannel;
  data?: ChannelData;
  funded?: FundedTransaction;
  resolve?: (r: FundChannelResult) => void;
  reject?: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

const OPEN_TIMEOUT_MS = 60_000;
/** The highest feerate we accept in an open_channel (the old fixed cap, kept for opens until the fee policy covers them). */
const MAX_OPEN_FEERATE_PER_KW = 100_000;

export class Funding {
  readonly #c: FundingContext;
  /** Opens in progress, by temporary channel id. */
  readonly #pending = new Map<string, PendingOpen>();

  constructor(c: FundingContext) {
    this.#c = c;
  }

  /** Routes an establishment message; false for any other message. */
  handle(peer: Peer, msg: ChannelMessage): Promise<void> | false {
    switch (msg.type) {
      case ChannelMessageType.OPEN_CHANNEL:
        return this.#onOpenChannel(peer, msg);
      case ChannelMessageType.ACCEPT_CHANNEL:
        return this.#onAcceptChannel(peer, msg);
      case ChannelMessageType.FUNDING_CREATED:
        return this.#onFundingCreated(peer, msg);
      case ChannelMessageType.FUNDING_SIGNED:
        return this.#onFundingSigned(peer, msg);
      default:
        return false;
    }
  }

  /** The peer sent `error` for a temporary channel id of ours: that open is over. False when none matches. */
  peerError(channelId: Buffer, text: string): boolean {
    const tempId = channelId.toString('hex');
    if (!this.#pending.has(tempId)) return false;
    this.#abort(tempId, `Peer error: ${text}`);
    return true;
  }

  /** The peer disconnected: its opens fail (the caller's promise rejects, the wallet's inputs are freed). */
  peerGone(peerId: string): void {
    for (const [id, p] of this.#pending) {
      if (p.peerId !== peerId) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      if (p.funded) this.#c.wallet.release(p.funded).catch(() => undefined);
      p.reject?.(new ChannelError('INVALID', 'Peer disconnected during channel open'));
    }
  }

  stop(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
  }

  // -------------------------------------------------------------------------------------------------
  // As funder

  async fundChannel(req: FundChannelRequest): Promise<FundChannelResult> {
    const { config: cfg, wallet } = this.#c;
    const peer = this.#c.peers.peer(req.peerId);
    if (!peer || !peer.connected) throw new ChannelError('UNKNOWN_PEER', 'Unknown peer');
    const feeratePerKw = BigInt(req.feeratePerKw ?? (await wallet.resolveFeerate('normal')));
    const fundingSat = req.amountSat === 'all' ? await this.#fundAllAmount(feeratePerKw, req.minconf) : req.amountSat;
    if (fundingSat < cfg.minFundingSat) throw new ChannelError('INVALID_AMOUNT', `amount ${fundingSat} is below the minimum channel size ${cfg.minFundingSat}`);
    if (fundingSat > cfg.maxFundingSat) throw new ChannelError('INVALID_AMOUNT', `amount ${fundingSat} exceeds the maximum channel size ${cfg.maxFundingSat}`);
    const pushMsat = req.pushMsat ?? 0n;
    if (pushMsat < 0n || pushMsat > fundingSat * 1000n) throw new ChannelError('INVALID_AMOUNT', 'push_msat exceeds the channel amount');
    const keys = this.#c.registry.keys(await this.#c.nextKeyIndex());
    const format = req.format ?? 'static_remotekey';
    const temp = randomBytes(32);
    const local = localParams(keys, cfg, fundingSat);
    const p: PendingOpen = { role: 'funder', peerId: peer.id, keys, local, fundingSat, pushMsat, feeratePerKw, format, announce: req.announce ?? true, minimumDepth: 0, minconf: req.minconf };
    const result = new Promise<FundChannelResult>((resolve, reject) => {
      p.resolve = resolve;
      p.reject = reject;
    });
    p.timer = setTimeout(() => this.#abort(temp.toString('hex'), 'Timed out waiting for the peer to accept the channel'), OPEN_TIMEOUT_MS);
    this.#pending.set(temp.toString('hex'), p);
    const open: OpenChannel = {
      type: ChannelMessageType.OPEN_CHANNEL,
      chainHash: this.#c.chainHash,
      temporaryChannelId: temp,
      fundingSatoshis: fundingSat,
      pushMsat,
      ...announcedFields(local, keys.point(0n)),
      feeratePerKw: Number(feeratePerKw),
      channelFlags: p.announce ? 1 : 0,
      channelType: formatChannelType(format),
      extraTlvs: [],
    };
    p.open = open;
    this.#c.send(peer.id, open);
    return result.finally(() => clearTimeout(p.timer));
  }

  async #fundAllAmount(feeratePerKw: bigint, minconf?: number): Promise<bigint> {
    // Any P2WSH output has the size of the funding output.
    const dummy = Buffer.concat([Buffer.from([0x00, 0x20]), Buffer.alloc(32)]);
    const f = await this.#c.wallet.fundTransaction({ outputs: [{ script: dummy, amountSat: 'all' }], feeRateSatPerKw: Number(feeratePerKw), minconf });
    await this.#c.wallet.release(f);
    const amt = f.outputAmounts[0]!;
    return amt > this.#c.config.maxFundingSat ? this.#c.config.maxFundingSat : amt;
  }

  /** Gives up an open in progress; the caller's promise rejects with `cause` (e.g. the wallet's error) when given. */
  #abort(tempId: string, reason: string, cause?: Error): void {
    const p = this.#pending.get(tempId);
    if (!p) return;
    this.#pending.delete(tempId);
    clearTimeout(p.timer);
    if (p.funded) this.#c.wallet.release(p.funded).catch(() => undefined);
    p.reject?.(cause ?? new ChannelError('INVALID', reason));
    this.#c.sendError(p.peerId, Buffer.from(tempId, 'hex'), reason);
  }

  async #onAcceptChannel(peer: Peer, m: AcceptChannel): Promise<void> {
    const tempId = m.temporaryChannelId.toString('hex');
    const p = this.#pending.get(tempId);
    if (!p || p.role !== 'funder' || p.peerId !== peer.id || p.accept) {
      this.#c.sendError(peer.id, m.temporaryChannelId, 'Unexpected accept_channel');
      return;
    }
    p.accept = m;
    try {
      const remote = remoteParams(m);
      checkRemoteParams(remote, p.local, this.#c.config, p.fundingSat);
      if (m.minimumDepth > 144) throw new ChannelError('INVALID', `minimum_depth ${m.minimumDepth} is unreasonably large`);
      if (m.channelType && channelTypeFormat(Buffer.from(m.channelType)) !== p.format) throw new ChannelError('INVALID', 'accept_channel: channel_type differs from the one we proposed');
      const script = p2wsh(fundingScript(p.local.fundingPubkey, remote.fundingPubkey));
      const funded = await this.#c.wallet.fundTransaction({ outputs: [{ script, amountSat: p.fundingSat }], feeRateSatPerKw: Number(p.feeratePerKw), minconf: p.minconf });
      p.funded = funded;
      const vout = 0;
      const txidInternal = Buffer.from(funded.txid, 'hex').reverse();
      const channelId = channelIdFromFunding(txidInternal, vout);
      const d = initialChannelData({
        temporaryChannelId: m.temporaryChannelId,
        channelId,
        peerId: peer.id,
        opener: 'local',
        format: p.format,
        keyIndex: p.keys.index,
        fundingSat: p.fundingSat,
        pushMsat: p.pushMsat,
        feeratePerKw: p.feeratePerKw,
        funding: { txid: funded.txid, vout },
        fundingTxHex: funded.hex,
        minimumDepth: Math.max(1, m.minimumDepth),
        announce: p.announce,
        local: p.local,
        remote,
        remoteFirstPoint: Buffer.from(m.firstPerCommitmentPoint),
      });
      const signed = signRemoteCommitment(d, p.keys, 0n, d.remoteCommit.point, d.remoteCommit.spec);
      d.remoteCommit.txid = signed.txid;
      p.data = d;
      const fc: FundingCreated = { type: ChannelMessageType.FUNDING_CREATED, temporaryChannelId: m.temporaryChannelId, fundingTxid: txidInternal, fundingOutputIndex: vout, signature: signed.sig, extraTlvs: [] };
      this.#c.send(peer.id, fc);
    } catch (err) {
      this.#abort(tempId, (err as Error).message, err instanceof ChannelError ? undefined : (err as Error));
    }
  }

  async #onFundingSigned(peer: Peer, m: FundingSigned): Promise<void> {
    const entry = [...this.#pending.entries()].find(([, p]) => p.role === 'funder' && p.peerId === peer.id && p.data?.channelId.equals(m.channelId));
    if (!entry) {
      this.#c.sendError(peer.id, m.channelId, 'Unexpected funding_signed');
      return;
    }
    const [tempId, p] = entry;
    const d = p.data!;
    const checked = checkLocalCommitment(d, p.keys, 0n, d.localCommit.spec, Buffer.from(m.signature), []);
    if ('error' in checked) {
      this.#abort(tempId, `funding_signed: ${checked.error}`);
      return;
    }
    d.localCommit = { ...d.localCommit, txid: checked.txid, remoteSig: Buffer.from(m.signature) };
    this.#pending.delete(tempId);
    clearTimeout(p.timer);
    // Persist before publishing: from here on the funds are in the channel.
    await this.#c.persist(d);
    const ch = this.#c.addChannel(d);
    ch.startFresh();
    try {
      await this.#c.wallet.broadcast(p.funded!);
    } catch (err) {
      if (isChainError((err as Error).cause, 'TX_REJECTED')) {
        // The backend refused the funding transaction, so the channel can never exist: forget it (CLOSED,
        // persisted), tell the peer, free the inputs, and fail fundchannel with the backend's words (as
        // lightningd's sendpsbt does). A backend merely away is retried on every block instead.
        this.#c.log.error({ channel: ch.id, txid: p.funded!.txid, err: (err as Error).message }, 'funding transaction refused by the backend; channel forgotten');
        await ch.setOnchainState('CLOSED');
        this.#c.sendError(peer.id, m.channelId, `Funding transaction refused: ${(err as Error).message}`);
        await this.#c.wallet.release(p.funded!).catch(() => undefined);
        p.reject?.(err as Error);
        return;
      }
      this.#c.log.error({ channel: ch.id, txid: p.funded!.txid, err: (err as Error).message }, 'funding broadcast failed; will retry on the next block');
    }
    p.resolve?.({ tx: p.funded!.hex, txid: p.funded!.txid, outnum: 0, channelId: ch.id, channelType: d.channelType, format: d.format });
  }

  // -------------------------------------------------------------------------------------------------
  // As fundee

  async #onOpenChannel(peer: Peer, m: OpenChannel): Promise<void> {
    const cfg = this.#c.config;
    const tempId = m.temporaryChannelId.toString('hex');
    const refuse = (reason: string): void => this.#c.sendError(peer.id, m.temporaryChannelId, reason);
    if (this.#pending.has(tempId)) return refuse('temporary_channel_id already in use');
    if (!m.chainHash.equals(this.#c.chainHash)) return refuse('Unknown chain_hash');
    if (m.fundingSatoshis < cfg.minFundingSat) return refuse(`funding_satoshis ${m.fundingSatoshis} is below our minimum ${cfg.minFundingSat}`);
    if (m.fundingSatoshis > cfg.maxFundingSat) return refuse(`funding_satoshis ${m.fundingSatoshis} is above our maximum ${cfg.maxFundingSat}`);
    if (m.pushMsat > m.fundingSatoshis * 1000n) return refuse('push_msat is greater than funding_satoshis * 1000');
    if (BigInt(m.feeratePerKw) < MIN_FEERATE_PER_KW || m.feeratePerKw > MAX_OPEN_FEERATE_PER_KW) return refuse(`feerate_per_kw ${m.feeratePerKw} is out of range`);
    let format: CommitmentFormat = 'static_remotekey';
    if (m.channelType) {
      const f = channelTypeFormat(Buffer.from(m.channelType));
      if (!f) return refuse(`Unsupported channel_type ${Buffer.from(m.channelType).toString('hex')}`);
      format = f;
    }
    const keys = this.#c.registry.keys(await this.#c.nextKeyIndex());
    const local = localParams(keys, cfg, m.fundingSatoshis);
    const remote = remoteParams(m);
    try {
      checkRemoteParams(remote, local, cfg, m.fundingSatoshis);
    } catch (err) {
      return refuse((err as Error).message);
    }
    // The opener must afford the first commitment's fee and its reserve.
    const p: PendingOpen = { role: 'fundee', peerId: peer.id, keys, local, fundingSat: m.fundingSatoshis, pushMsat: m.pushMsat, feeratePerKw: BigInt(m.feeratePerKw), format, announce: (m.channelFlags & 1) === 1, minimumDepth: cfg.minimumDepth, open: m };
    p.timer = setTimeout(() => this.#abort(tempId, 'Timed out waiting for funding_created'), OPEN_TIMEOUT_MS);
    this.#pending.set(tempId, p);
    const accept: AcceptChannel = {
      type: ChannelMessageType.ACCEPT_CHANNEL,
      temporaryChannelId: m.temporaryChannelId,
      ...announcedFields(local, keys.point(0n)),
      minimumDepth: cfg.minimumDepth,
      channelType: m.channelType ? Buffer.from(m.channelType) : undefined,
      extraTlvs: [],
    };
    this.#c.send(peer.id, accept);
  }

  async #onFundingCreated(peer: Peer, m: FundingCreated): Promise<void> {
    const tempId = m.temporaryChannelId.toString('hex');
    const p = this.#pending.get(tempId);
    if (!p || p.role !== 'fundee' || p.peerId !== peer.id) {
      this.#c.sendError(peer.id, m.temporaryChannelId, 'Unexpected funding_created');
      return;
    }
    const open = p.open!;
    const channelId = channelIdFromFunding(m.fundingTxid, m.fundingOutputIndex);
    if (this.#c.registry.has(channelId.toString('hex'))) return this.#abort(tempId, 'Channel id already in use');
    const d = initialChannelData({
      temporaryChannelId: m.temporaryChannelId,
      channelId,
      peerId: peer.id,
      opener: 'remote',
      format: p.format,
      keyIndex: p.keys.index,
      fundingSat: p.fundingSat,
      pushMsat: p.pushMsat,
      feeratePerKw: p.feeratePerKw,
      funding: { txid: Buffer.from(m.fundingTxid).reverse().toString('hex'), vout: m.fundingOutputIndex },
      minimumDepth: p.minimumDepth,
      announce: p.announce,
      local: p.local,
      remote: remoteParams(open),
      remoteFirstPoint: Buffer.from(open.firstPerCommitmentPoint),
    });
    let checked: ReturnType<typeof checkLocalCommitment>;
    try {
      checked = checkLocalCommitment(d, p.keys, 0n, d.localCommit.spec, Buffer.from(m.signature), []);
    } catch (err) {
      return this.#abort(tempId, (err as Error).message);
    }
    if ('error' in checked) return this.#abort(tempId, `funding_created: ${checked.error}`);
    d.localCommit = { ...d.localCommit, txid: checked.txid, remoteSig: Buffer.from(m.signature) };
    const signed = signRemoteCommitment(d, p.keys, 0n, d.remoteCommit.point, d.remoteCommit.spec);
    d.remoteCommit.txid = signed.txid;
    this.#pending.delete(tempId);
    clearTimeout(p.timer);
    await this.#c.persist(d);
    const ch = this.#c.addChannel(d);
    ch.startFresh();
    this.#c.send(peer.id, { type: ChannelMessageType.FUNDING_SIGNED, channelId, signature: signed.sig, extraTlvs: [] });
  }

  // -------------------------------------------------------------------------------------------------
  // The funding transaction on chain

  /** Records where each unspent channel's funding transaction confirmed, if in `b`. */
  async confirmIn(b: ConnectedBlock): Promise<void> {
    const txIndex = new Map<string, number>();
    b.block.transactions.forEach((tx, i) => txIndex.set(tx.txid, i));
    for (const ch of this.#c.registry.all()) {
      const d = ch.data;
      if (!d.onchain && !d.fundingConfirmation && txIndex.has(d.funding.txid)) await ch.fundingConfirmed(b.height, txIndex.get(d.funding.txid)!);
    }
  }

  /** A new block for `ch`: channel_ready once the funding is deep enough, or the funding transaction again while unconfirmed. */
  async onBlock(ch: Channel, height: number): Promise<void> {
    const d = ch.data;
    if (d.state === 'CHANNELD_AWAITING_LOCKIN' && d.fundingConfirmation && height - d.fundingConfirmation.height + 1 >= d.minimumDepth && !d.localReadySent) {
      // Queued behind the channel's messages, so not awaited: a stuck channel must not stop block processing (a later block retries).
      ch.fundingLocked(`${d.fundingConfirmation.height}x${d.fundingConfirmation.txIndex}x${d.funding.vout}`, d.localAlias ?? newLocalAlias(this.#c.registry.all())).catch((err: Error) => this.#c.log.warn({ channel: ch.id, err: err.message }, 'channel_ready failed'));
    }
    if (d.state === 'CHANNELD_AWAITING_LOCKIN' && !d.fundingConfirmation && d.fundingTxHex) await this.#c.publish(d.fundingTxHex, 'funding transaction');
  }

  /** The block at `tip` was disconnected: a funding confirmation in it is undone (before lock-in). */
  async onDisconnect(tip: BlockTip): Promise<void> {
    for (const ch of this.#c.registry.all()) {
      const c = ch.data.fundingConfirmation;
      if (c && c.height >= tip.height && ch.data.state === 'CHANNELD_AWAITING_LOCKIN') await ch.fundingUnconfirmed();
    }
  }
}

function remoteParams(m: ChannelParamsFields): SideParams {
  return {
    dustLimitSat: m.dustLimitSatoshis,
    maxHtlcValueInFlightMsat: m.maxHtlcValueInFlightMsat,
    channelReserveSat: m.channelReserveSatoshis,
    htlcMinimumMsat: m.htlcMinimumMsat,
    toSelfDelay: m.toSelfDelay,
    maxAcceptedHtlcs: m.maxAcceptedHtlcs,
    fundingPubkey: Buffer.from(m.fundingPubkey),
    revocationBasepoint: Buffer.from(m.revocationBasepoint),
    paymentBasepoint: Buffer.from(m.paymentBasepoint),
    delayedPaymentBasepoint: Buffer.from(m.delayedPaymentBasepoint),
    htlcBasepoint: Buffer.from(m.htlcBasepoint),
    upfrontShutdownScript: m.upfrontShutdownScript && m.upfrontShutdownScript.length > 0 ? Buffer.from(m.upfrontShutdownScript) : undefined,
  };
}
