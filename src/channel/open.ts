/**
 * BOLT 2 channel establishment (v1): our parameters, checks of the peer's open_channel/accept_channel,
 * channel_type negotiation, and the initial channel state both sides build once the funding outpoint is
 * known.
 */
import { secp } from '../crypto/secp256k1.js';
import type { CommitmentFormat } from './commitment.js';
import type { ChannelParamsFields } from './messages.js';
import { ChannelError } from './errors.js';
import type { ChannelKeys } from './signer.js';
import type { ChannelData, CommitmentSpec, Side, SideParams } from './state.js';

export interface ChannelConfig {
  dustLimitSat: bigint;
  maxHtlcValueInFlightMsat: bigint;
  htlcMinimumMsat: bigint;
  /** The delay we impose on the peer's to_local. */
  toSelfDelay: number;
  maxAcceptedHtlcs: number;
  /** Confirmations we ask for as fundee. */
  minimumDepth: number;
  /** Largest to_self_delay we accept from the peer. */
  maxTheirToSelfDelay: number;
  /** Smallest and largest channel we accept. */
  minFundingSat: bigint;
  maxFundingSat: bigint;
}

/** CLN-like defaults (watchtime 144 blocks is LDK's minimum; CLN's own default is 6 × 24 = 144 too). */
export const DEFAULT_CHANNEL_CONFIG: ChannelConfig = {
  dustLimitSat: 546n,
  maxHtlcValueInFlightMsat: 0xffffffffffffffffn,
  htlcMinimumMsat: 0n,
  toSelfDelay: 144,
  maxAcceptedHtlcs: 483,
  minimumDepth: 3,
  maxTheirToSelfDelay: 2016,
  minFundingSat: 10_000n,
  maxFundingSat: 16_777_215n,
};

/** channel_type bit strings (BOLT 9 feature bits, big-endian, minimal). */
export const CHANNEL_TYPE_STATIC_REMOTEKEY = Buffer.from([0x10, 0x00]); // bit 12
export const CHANNEL_TYPE_ANCHORS_ZERO_FEE = Buffer.from([0x40, 0x10, 0x00]); // bits 22 + 12

export function channelTypeFormat(t: Buffer): CommitmentFormat | undefined {
  const v = stripLeadingZeros(t);
  if (v.equals(CHANNEL_TYPE_STATIC_REMOTEKEY)) return 'static_remotekey';
  if (v.equals(CHANNEL_TYPE_ANCHORS_ZERO_FEE)) return 'anchors_zero_fee_htlc_tx';
  return undefined;
}

export function formatChannelType(f: CommitmentFormat): Buffer {
  return f === 'static_remotekey' ? CHANNEL_TYPE_STATIC_REMOTEKEY : CHANNEL_TYPE_ANCHORS_ZERO_FEE;
}

function stripLeadingZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

/** The reserve we require of the peer: 1% of the channel, at least our dust limit (BOLT 2 advice, as CLN). */
export function reserveFor(fundingSat: bigint, dustLimitSat: bigint): bigint {
  const r = fundingSat / 100n;
  return r < dustLimitSat ? dustLimitSat : r;
}

export function localParams(keys: ChannelKeys, cfg: ChannelConfig, fundingSat: bigint, upfrontShutdownScript?: Buffer): SideParams {
  return {
    dustLimitSat: cfg.dustLimitSat,
    maxHtlcValueInFlightMsat: cfg.maxHtlcValueInFlightMsat,
    channelReserveSat: reserveFor(fundingSat, cfg.dustLimitSat),
    htlcMinimumMsat: cfg.htlcMinimumMsat,
    toSelfDelay: cfg.toSelfDelay,
    maxAcceptedHtlcs: cfg.maxAcceptedHtlcs,
    fundingPubkey: keys.fundingPubkey,
    revocationBasepoint: Buffer.from(keys.basepoints.revocationBasepoint),
    paymentBasepoint: Buffer.from(keys.basepoints.paymentBasepoint),
    delayedPaymentBasepoint: Buffer.from(keys.basepoints.delayedPaymentBasepoint),
    htlcBasepoint: Buffer.from(keys.basepoints.htlcBasepoint),
    upfrontShutdownScript,
  };
}

/** The fields open_channel and accept_channel share, from our side's parameters. */
export function announcedFields(p: SideParams, firstPerCommitmentPoint: Buffer): Omit<ChannelParamsFields, 'temporaryChannelId' | 'channelType' | 'extraTlvs'> {
  return {
    dustLimitSatoshis: p.dustLimitSat,
    maxHtlcValueInFlightMsat: p.maxHtlcValueInFlightMsat,
    channelReserveSatoshis: p.channelReserveSat,
    htlcMinimumMsat: p.htlcMinimumMsat,
    toSelfDelay: p.toSelfDelay,
    maxAcceptedHtlcs: p.maxAcceptedHtlcs,
    fundingPubkey: p.fundingPubkey,
    revocationBasepoint: p.revocationBasepoint,
    paymentBasepoint: p.paymentBasepoint,
    delayedPaymentBasepoint: p.delayedPaymentBasepoint,
    htlcBasepoint: p.htlcBasepoint,
    firstPerCommitmentPoint,
    upfrontShutdownScript: p.upfrontShutdownScript ?? Buffer.alloc(0),
  };
}

/**
 * The BOLT 2 checks on the peer's parameters (open_channel or accept_channel); throws a ChannelError
 * whose message is the text we send in `error`.
 */
export function checkRemoteParams(p: SideParams, ours: SideParams, cfg: ChannelConfig, fundingSat: bigint): void {
  const fail = (m: string): never => {
    throw new ChannelError('INVALID', m);
  };
  for (const [name, k] of [
    ['funding_pubkey', p.fundingPubkey],
    ['revocation_basepoint', p.revocationBasepoint],
    ['payment_basepoint', p.paymentBasepoint],
    ['delayed_payment_basepoint', p.delayedPaymentBasepoint],
    ['htlc_basepoint', p.htlcBasepoint],
  ] as const) {
    if (!secp.isPublicKey(k)) fail(`${name} is not a valid public key`);
  }
  if (p.toSelfDelay > cfg.maxTheirToSelfDelay) fail(`to_self_delay ${p.toSelfDelay} is larger than ${cfg.maxTheirToSelfDelay}`);
  if (p.maxAcceptedHtlcs > 483) fail(`max_accepted_htlcs ${p.maxAcceptedHtlcs} is greater than 483`);
  if (p.maxAcceptedHtlcs === 0) fail('max_accepted_htlcs is 0');
  if (p.dustLimitSat < 354n) fail(`dust_limit_satoshis ${p.dustLimitSat} is below 354`);
  if (p.dustLimitSat > p.channelReserveSat && p.channelReserveSat > 0n && p.dustLimitSat > 100_000n) fail(`dust_limit_satoshis ${p.dustLimitSat} is unreasonably large`);
  if (p.channelReserveSat * 1000n > fundingSat * 1000n / 5n) fail(`channel_reserve_satoshis ${p.channelReserveSat} is more than 20% of the channel`);
  if (p.dustLimitSat > ours.channelReserveSat) fail(`dust_limit_satoshis ${p.dustLimitSat} is greater than our channel_reserve_satoshis ${ours.channelReserveSat}`);
  if (ours.dustLimitSat > p.channelReserveSat) fail(`channel_reserve_satoshis ${p.channelReserveSat} is less than our dust_limit_satoshis ${ours.dustLimitSat}`);
  if (p.htlcMinimumMsat > fundingSat * 1000n / 10n) fail(`htlc_minimum_msat ${p.htlcMinimumMsat} is too large for the channel`);
}

export interface InitialChannel {
  temporaryChannelId: Buffer;
  channelId: Buffer;
  peerId: string;
  opener: Side;
  format: CommitmentFormat;
  keyIndex: number;
  fundingSat: bigint;
  pushMsat: bigint;
  feeratePerKw: bigint;
  funding: { txid: string; vout: number };
  fundingTxHex?: string;
  minimumDepth: number;
  announce: boolean;
  local: SideParams;
  remote: SideParams;
  /** Their first per-commitment point (commitment 0). */
  remoteFirstPoint: Buffer;
}

/** The state right after funding_created/funding_signed, before either commitment is checked. */
export function initialChannelData(c: InitialChannel): ChannelData {
  const openerMsat = c.fundingSat * 1000n - c.pushMsat;
  const localSpec: CommitmentSpec = {
    feeratePerKw: c.feeratePerKw,
    toLocalMsat: c.opener === 'local' ? openerMsat : c.pushMsat,
    toRemoteMsat: c.opener === 'local' ? c.pushMsat : openerMsat,
    htlcs: [],
  };
  const remoteSpec: CommitmentSpec = { feeratePerKw: c.feeratePerKw, toLocalMsat: localSpec.toRemoteMsat, toRemoteMsat: localSpec.toLocalMsat, htlcs: [] };
  return {
    version: 1,
    channelId: c.channelId,
    temporaryChannelId: c.temporaryChannelId,
    peerId: c.peerId,
    opener: c.opener,
    format: c.format,
    channelType: formatChannelType(c.format),
    keyIndex: c.keyIndex,
    fundingSat: c.fundingSat,
    pushMsat: c.pushMsat,
    funding: c.funding,
    fundingTxHex: c.fundingTxHex,
    minimumDepth: c.minimumDepth,
    announce: c.announce,
    state: 'CHANNELD_AWAITING_LOCKIN',
    local: c.local,
    remote: c.remote,
    localCommit: { index: 0n, spec: localSpec, txid: '', remoteSig: Buffer.alloc(64), htlcSigs: [] },
    remoteCommit: { index: 0n, spec: remoteSpec, txid: '', point: c.remoteFirstPoint },
    remoteNextPoint: Buffer.alloc(0),
    localChanges: { proposed: [], signed: [], acked: [] },
    remoteChanges: { proposed: [], signed: [], acked: [] },
    localNextHtlcId: 0n,
    remoteNextHtlcId: 0n,
    remoteSecrets: [],
    localReadySent: false,
    remoteReady: false,
    lastSent: 'revoke',
    createdAt: Date.now(),
  };
}
