import { reverseHex } from '../../chain/block.js';
import {
  CoreError,
  estimateFee,
  feerateFor,
  listUtxos,
  newAddress,
  publishTransaction,
  sendCoins,
  walletAccounts,
  walletBalances,
  type FeeChoice,
  type NodeCore,
  type Utxo,
} from '../../node/core/index.js';
import { FEERATE_FLOOR_SAT_PER_KW } from '../../chain/chain-source.js';
import { perVbyteFromPerKw, VBYTES_PER_KW } from '../../bitcoin/weight.js';
import type { Handler } from './methods.js';
import { ChannelError } from '../../channel/errors.js';

/**
 * The on-chain wallet over LND's lnrpc (WalletBalance, NewAddress, ListUnspent, SendCoins, EstimateFee)
 * and walletrpc.WalletKit (ListUnspent, NextAddr, EstimateFee, PublishTransaction, and BumpFee and
 * PendingSweeps over the channels' sweeper): LND's request rules and shapes over the node core's functions.
 */

type Msg = Record<string, unknown>;

/** LND's default account: anode's wallet is one account. */
const DEFAULT_ACCOUNT = 'default';

function onlyDefaultAccount(account: unknown): void {
  if (account !== undefined && account !== '' && account !== DEFAULT_ACCOUNT) throw new CoreError('INVALID', `account ${String(account)} not found`);
}

/** A txid as LND's chainhash bytes (reversed display order). */
export function txidBytes(txid: string): Buffer {
  return Buffer.from(txid, 'hex').reverse();
}

/** An OutPoint's or ChannelPoint's txid: the string when given, else the reversed bytes. */
export function txidOf(str: unknown, bytes: unknown): string {
  if (typeof str === 'string' && str !== '') return str;
  const b = bytes as Buffer | undefined;
  if (!b || b.length !== 32) throw new CoreError('INVALID', 'invalid txid: need 32 bytes or a 64-character hex string');
  return reverseHex(b);
}

export async function walletBalance(core: NodeCore, req: Msg): Promise<Msg> {
  onlyDefaultAccount(req.account);
  const b = await walletBalances(core);
  return {
    total_balance: String(b.confirmedSat + b.unconfirmedSat),
    confirmed_balance: String(b.confirmedSat),
    unconfirmed_balance: String(b.unconfirmedSat),
    locked_balance: String(b.lockedSat),
    account_balance: { [DEFAULT_ACCOUNT]: { confirmed_balance: String(b.confirmedSat), unconfirmed_balance: String(b.unconfirmedSat) } },
  };
}

/** lnrpc.AddressType: anode's wallet has P2WPKH and P2TR keys (no nested P2SH). */
function addressKind(type: unknown): 'p2wpkh' | 'p2tr' {
  switch (type ?? 'WITNESS_PUBKEY_HASH') {
    case 'WITNESS_PUBKEY_HASH':
    case 'UNUSED_WITNESS_PUBKEY_HASH':
      return 'p2wpkh';
    case 'TAPROOT_PUBKEY':
    case 'UNUSED_TAPROOT_PUBKEY':
      return 'p2tr';
    case 'NESTED_PUBKEY_HASH':
    case 'UNUSED_NESTED_PUBKEY_HASH':
      throw new CoreError('INVALID', 'anode has no nested (P2SH) addresses: use p2wkh or p2tr');
    default:
      throw new CoreError('INVALID', `unknown address type: ${String(type)}`);
  }
}

function utxoJson(u: Utxo): Msg {
  return {
    address_type: u.kind === 'p2tr' ? 'TAPROOT_PUBKEY' : 'WITNESS_PUBKEY_HASH',
    address: u.address ?? '',
    amount_sat: String(u.amountSat),
    pk_script: Buffer.from(u.script).toString('hex'),
    outpoint: { txid_bytes: txidBytes(u.txid), txid_str: u.txid, output_index: u.output },
    confirmations: String(u.confirmations),
  };
}

/** lnrpc.ParseConfs. */
function parseConfs(min: number, max: number): [number, number] {
  if (min < 0) throw new CoreError('INVALID', 'min confirmations must be >= 0');
  if (min > max) throw new CoreError('INVALID', 'max confirmations must be >= min confirmations');
  return [min, max];
}

/** lnrpc.ExtractMinConfs: 1 by default, 0 with spend_unconfirmed. */
function minConfsOf(req: Msg): number {
  const minConfs = Number(req.min_confs ?? 0);
  if (minConfs > 0 && req.spend_unconfirmed === true) throw new CoreError('INVALID', 'SpendUnconfirmed set to true with MinConfs > 0');
  if (req.spend_unconfirmed === true) return 0;
  return minConfs === 0 ? 1 : minConfs;
}

/** lnrpc.CalculateFeeRate's rule (SendCoins, OpenChannel, CloseChannel): a target or a rate, not both. */
export function feeChoice(req: Msg): FeeChoice {
  const satPerVbyte = Number(req.sat_per_vbyte ?? 0);
  const satPerByte = Number(req.sat_per_byte ?? 0);
  const target = Number(req.target_conf ?? 0);
  if (satPerVbyte !== 0 && satPerByte !== 0) throw new CoreError('INVALID', 'either SatPerByte or SatPerVByte should be set, but not both');
  const rate = satPerVbyte || satPerByte;
  if (rate !== 0 && target !== 0) throw new CoreError('INVALID', 'either TargetConf or SatPerVByte should be set, but not both');
  if (rate !== 0) return { satPerVbyte: rate };
  if (target !== 0) return { targetConf: target };
  return undefined;
}

export async function sendCoinsRpc(core: NodeCore, req: Msg): Promise<Msg> {
  const amount = BigInt(String(req.amount ?? '0'));
  const all = req.send_all === true;
  if (all && amount !== 0n) throw new CoreError('INVALID', 'amount set while SendAll is active');
  if (!all && amount <= 0n) throw new CoreError('INVALID', 'amount must be specified when not sending all');
  if (((req.outpoints as unknown[]) ?? []).length > 0) throw new CoreError('INVALID', 'anode does not select outpoints for SendCoins');
  const txid = await sendCoins(core, { address: String(req.addr ?? ''), amountSat: all ? 'all' : amount, fee: feeChoice(req), minConfs: minConfsOf(req) });
  return { txid };
}

export async function estimateFeeRpc(core: NodeCore, req: Msg): Promise<Msg> {
  const outputs = Object.entries((req.AddrToAmount as Record<string, string>) ?? {}).map(([address, amount]) => ({ address, amountSat: BigInt(amount) }));
  if (outputs.length === 0) throw new CoreError('INVALID', 'no outputs to estimate a fee for');
  const target = Number(req.target_conf ?? 0);
  const r = await estimateFee(core, outputs, target > 0 ? { targetConf: target } : undefined, minConfsOf(req));
  const satPerVbyte = perVbyteFromPerKw(r.feerateSatPerKw);
  return { fee_sat: String(r.feeSat), feerate_sat_per_byte: String(satPerVbyte), sat_per_vbyte: String(satPerVbyte) };
}

export const WALLET_HANDLERS: Record<string, Handler> = {
  '/lnrpc.Lightning/WalletBalance': (req, core) => walletBalance(core, req),
  '/lnrpc.Lightning/NewAddress': async (req, core) => {
    onlyDefaultAccount(req.account);
    return { address: await newAddress(core, addressKind(req.type)) };
  },
  '/lnrpc.Lightning/ListUnspent': async (req, core) => {
    onlyDefaultAccount(req.account);
    const [min, max] = parseConfs(Number(req.min_confs ?? 0), Number(req.max_confs ?? 0));
    return { utxos: (await listUtxos(core, min, max)).map(utxoJson) };
  },
  '/lnrpc.Lightning/SendCoins': (req, core) => sendCoinsRpc(core, req),
  '/lnrpc.Lightning/EstimateFee': (req, core) => estimateFeeRpc(core, req),
  '/walletrpc.WalletKit/ListUnspent': async (req, core) => {
    onlyDefaultAccount(req.account);
    const unconfirmedOnly = req.unconfirmed_only === true;
    let min = Number(req.min_confs ?? 0);
    let max = Number(req.max_confs ?? 0);
    if (unconfirmedOnly && (min !== 0 || max !== 0)) throw new CoreError('INVALID', 'min_confs and max_confs must be zero if unconfirmed_only is true');
    if (!unconfirmedOnly && max === 0) max = 0x7fffffff;
    [min, max] = parseConfs(min, max);
    return { utxos: (await listUtxos(core, min, max)).map(utxoJson) };
  },
  '/walletrpc.WalletKit/NextAddr': async (req, core) => {
    onlyDefaultAccount(req.account);
    if (req.change === true) throw new CoreError('INVALID', 'anode hands out receive addresses only (change addresses are its own)');
    const type = req.type ?? 'UNKNOWN';
    const kind = type === 'UNKNOWN' || type === 'WITNESS_PUBKEY_HASH' ? 'p2wpkh' : type === 'TAPROOT_PUBKEY' ? 'p2tr' : addressKind('NESTED_PUBKEY_HASH');
    return { addr: await newAddress(core, kind) };
  },
  '/walletrpc.WalletKit/ListAccounts': async (req, core) => {
    const type = String(req.address_type ?? 'UNKNOWN');
    const accounts = walletAccounts(core)
      .map((a) => ({
        name: DEFAULT_ACCOUNT,
        address_type: a.kind === 'p2tr' ? 'TAPROOT_PUBKEY' : 'WITNESS_PUBKEY_HASH',
        extended_public_key: a.extendedPublicKey,
        master_key_fingerprint: a.masterFingerprint,
        derivation_path: a.path,
        external_key_count: a.external,
        internal_key_count: a.internal,
        watch_only: false,
      }))
      .filter((a) => (req.name === undefined || req.name === '' || req.name === a.name) && (type === 'UNKNOWN' || type === a.address_type));
    return { accounts };
  },
  '/walletrpc.WalletKit/EstimateFee': async (req, core) => {
    const target = Number(req.conf_target ?? 0);
    if (target < 2) throw new CoreError('INVALID', 'confirmation target must be greater than 1');
    return { sat_per_kw: String(await feerateFor(core, { targetConf: target })), min_relay_fee_sat_per_kw: String(FEERATE_FLOOR_SAT_PER_KW) };
  },
  '/walletrpc.WalletKit/BumpFee': (req, core) => bumpFee(core, req),
  '/walletrpc.WalletKit/PendingSweeps': async (_req, core) => ({ pending_sweeps: sweepsOf(core).pendingSweeps().map(pendingSweepJson) }),
  '/walletrpc.WalletKit/PublishTransaction': async (req, core) => {
    const raw = req.tx_hex as Buffer | undefined;
    if (!raw || raw.length === 0) throw new CoreError('INVALID', 'need a transaction');
    await publishTransaction(core, raw);
    return { publish_error: '' };
  },
};

/** The channels' sweeper (closed channels' outputs), or LND's answer without a chain backend. */
function sweepsOf(core: NodeCore): NonNullable<NodeCore['channelManager']> {
  if (!core.channelManager) throw new CoreError('NOT_ACTIVE', 'sweeper not active (no chain backend)');
  return core.channelManager;
}


/**
 * WalletKit.BumpFee over the sweeper: the sweep spending `outpoint` replaced now (anode does not batch,
 * so `immediate` changes nothing) at `sat_per_vbyte`, or at the estimate for `target_conf` blocks, its
 * fee function capped by `budget` when given.
 */
async function bumpFee(core: NodeCore, req: Msg): Promise<Msg> {
  const m = sweepsOf(core);
  const op = req.outpoint as Msg | undefined;
  if (!op) throw new CoreError('INVALID', 'outpoint is required');
  const outpoint = `${txidOf(op.txid_str, op.txid_bytes)}:${Number(op.output_index ?? 0)}`;
  const satPerVbyte = BigInt(String(req.sat_per_vbyte ?? 0)) || BigInt(Number(req.sat_per_byte ?? 0));
  const targetConf = Number(req.target_conf ?? 0);
  if (satPerVbyte > 0n && targetConf > 0) throw new CoreError('INVALID', 'either target_conf or sat_per_vbyte should be set, not both');
  const budget = BigInt(String(req.budget ?? 0));
  try {
    const r = await m.bumpFee(outpoint, { ...(satPerVbyte > 0n ? { feeratePerKw: satPerVbyte * PER_KW } : {}), ...(targetConf > 0 ? { targetConf } : {}), ...(budget > 0n ? { budgetSat: budget } : {}) });
    return { status: `Successfully replaced the sweep of ${outpoint}: ${r.txid} at ${r.feeratePerKw / PER_KW} sat/vbyte` };
  } catch (err) {
    if (err instanceof ChannelError) throw new CoreError('INVALID', err.message);
    throw err;
  }
}

/** sat/kw per sat/vB, for the sweeper's bigint rates. */
const PER_KW = BigInt(VBYTES_PER_KW);

/** LND's witness type of each of the sweeper's plans (UNKNOWN_WITNESS where the plan does not say which). */
const WITNESS: Record<string, string> = {
  to_local_delayed: 'COMMITMENT_TIME_LOCK',
  p2wpkh: 'COMMITMENT_NO_DELAY_TWEAKLESS',
  to_remote_anchors: 'COMMITMENT_TO_REMOTE_CONFIRMED',
  to_local_revoked: 'COMMITMENT_REVOKE',
  htlc_timeout_remote: 'HTLC_OFFERED_REMOTE_TIMEOUT',
  htlc_success_remote: 'HTLC_ACCEPTED_REMOTE_SUCCESS',
  htlc_timeout_tx: 'HTLC_OFFERED_TIMEOUT_SECOND_LEVEL_INPUT_CONFIRMED',
  htlc_success_tx: 'HTLC_ACCEPTED_SUCCESS_SECOND_LEVEL_INPUT_CONFIRMED',
  fee_input: 'WITNESS_KEY_HASH',
};

function pendingSweepJson(p: ReturnType<NonNullable<NodeCore['channelManager']>['pendingSweeps']>[number]): Msg {
  const [txid, vout] = p.outpoint.split(':') as [string, string];
  const rate = p.sweep?.feeratePerKw;
  return {
    outpoint: { txid_bytes: txidBytes(txid), txid_str: txid, output_index: Number(vout) },
    witness_type: WITNESS[p.what] ?? 'UNKNOWN_WITNESS',
    amount_sat: Number(p.amountSat),
    ...(rate !== undefined ? { sat_per_vbyte: String(rate / PER_KW) } : {}),
    ...(p.sweep?.fee ? { deadline_height: p.sweep.fee.deadline } : {}),
  };
}
