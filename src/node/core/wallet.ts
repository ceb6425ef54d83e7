import { Transaction } from '@scure/btc-signer';
import { FEERATE_FLOOR_SAT_PER_KW } from '../../chain/chain-source.js';
import { scriptClass } from '../../bitcoin/script.js';
import { perKwFromPerVbyte } from '../../bitcoin/weight.js';
import { selectCoins } from '../../wallet/coin-select.js';
import { addressToScript, type KeyKind } from '../../wallet/keys.js';
import type { FundsOutput, Wallet, WalletCore } from '../../wallet/wallet.js';
import type { NodeCore } from './api.js';
import { CoreError, guarded } from './errors.js';

/**
 * The on-chain wallet as both shells report it: balances, outputs with their confirmations, sending,
 * fee estimates and publishing. Every figure is the wallet's own (its outputs, its scan tip) or the
 * backend's (its estimates, its answer to a broadcast).
 */

/** The wallet, or the refusal every shell gives when the node runs without a chain backend. */
export function walletOf(core: NodeCore): WalletCore & Partial<Pick<Wallet, 'resolveFeerate' | 'keys' | 'accounts'>> {
  if (!core.wallet) throw new CoreError('NOT_ACTIVE', 'wallet not active (no chain backend)');
  return core.wallet as WalletCore & Partial<Pick<Wallet, 'resolveFeerate' | 'keys' | 'accounts'>>;
}

/** The wallet's accounts (BIP84 and BIP86): extended public key, path, keys handed out per branch. */
export function walletAccounts(core: NodeCore): ReturnType<Wallet['accounts']> {
  const w = walletOf(core);
  if (!w.accounts) throw new CoreError('NOT_ACTIVE', 'wallet has no accounts to list');
  return w.accounts();
}

export interface Balances {
  /** Confirmed, mature outputs not reserved. */
  confirmedSat: bigint;
  unconfirmedSat: bigint;
  /** Outputs reserved by a transaction being built (a channel funding, a withdrawal). */
  lockedSat: bigint;
  /** Coinbase outputs not yet mature. */
  immatureSat: bigint;
}

export async function walletBalances(core: NodeCore): Promise<Balances> {
  const b: Balances = { confirmedSat: 0n, unconfirmedSat: 0n, lockedSat: 0n, immatureSat: 0n };
  for (const o of await walletOf(core).listFunds()) {
    if (o.reserved) b.lockedSat += o.amountSat;
    else if (o.status === 'confirmed') b.confirmedSat += o.amountSat;
    else if (o.status === 'unconfirmed') b.unconfirmedSat += o.amountSat;
    else if (o.status === 'immature') b.immatureSat += o.amountSat;
  }
  return b;
}

export interface Utxo extends FundsOutput {
  /** 0 while unconfirmed. */
  confirmations: number;
  kind: KeyKind | undefined;
}

/** The wallet's unspent outputs with their confirmations against the wallet's scan tip. */
export async function listUtxos(core: NodeCore, minConfs: number, maxConfs: number): Promise<Utxo[]> {
  const w = walletOf(core);
  const tip = w.tip?.height ?? 0;
  return (await w.listFunds())
    .filter((o) => o.status === 'confirmed' || o.status === 'unconfirmed')
    .map((o) => ({ ...o, confirmations: o.blockheight !== undefined ? Math.max(0, tip - o.blockheight + 1) : 0, kind: scriptKind(o.script) }))
    .filter((o) => o.confirmations >= minConfs && o.confirmations <= maxConfs);
}

/** The wallet's key kind of an output script (its two kinds of address), by the script's class. */
function scriptKind(script: Uint8Array): KeyKind | undefined {
  const c = scriptClass(script);
  return c === 'p2wpkh' || c === 'p2tr' ? c : undefined;
}

export async function newAddress(core: NodeCore, kind: KeyKind): Promise<string> {
  return (await guarded(() => walletOf(core).newAddress(kind))).address;
}

/** A fee rate as asked: sat/vbyte, else a confirmation target, else the wallet's default ('normal'). */
export type FeeChoice = { satPerVbyte: number } | { targetConf: number } | undefined;

/** The fee rate for a choice, sat per kw: fixed rates as given, targets from the backend's estimate. */
export async function feerateFor(core: NodeCore, choice: FeeChoice): Promise<number> {
  const w = walletOf(core);
  if (choice && 'satPerVbyte' in choice) return Math.max(perKwFromPerVbyte(choice.satPerVbyte), FEERATE_FLOOR_SAT_PER_KW);
  if (!w.resolveFeerate) throw new CoreError('NOT_ACTIVE', 'wallet cannot estimate fees');
  if (choice && 'targetConf' in choice) {
    const est = await core.chain?.estimateFeeSatPerKw?.(choice.targetConf).catch(() => null);
    if (est) return est.feeRateSatPerKw;
  }
  return guarded(() => w.resolveFeerate!('normal'));
}

/** Pays `amountSat` (or every usable coin) to `address`, publishes, and returns the txid. */
export async function sendCoins(core: NodeCore, req: { address: string; amountSat: bigint | 'all'; fee: FeeChoice; minConfs?: number }): Promise<string> {
  const w = walletOf(core);
  const perKw = await feerateFor(core, req.fee);
  const r = await guarded(() =>
    w.withdraw({ destination: req.address, amountSat: req.amountSat, feerate: `${perKw}perkw`, ...(req.minConfs !== undefined ? { minconf: req.minConfs } : {}) }),
  );
  return r.txid;
}

/**
 * What paying `outputs` would cost at `fee`: coin selection over the wallet's usable outputs, without
 * building, signing or reserving anything.
 */
export async function estimateFee(core: NodeCore, outputs: { address: string; amountSat: bigint }[], fee: FeeChoice, minConfs = 1): Promise<{ feeSat: bigint; feerateSatPerKw: number }> {
  const w = walletOf(core);
  if (!w.keys) throw new CoreError('NOT_ACTIVE', 'wallet cannot estimate fees');
  const network = w.keys.network;
  const perKw = await feerateFor(core, fee);
  const scripts = outputs.map((o) => {
    try {
      return { script: addressToScript(o.address, network), amountSat: o.amountSat };
    } catch {
      throw new CoreError('INVALID', `invalid address ${o.address}`);
    }
  });
  const candidates = (await listUtxos(core, minConfs, Number.MAX_SAFE_INTEGER))
    .filter((u) => !u.reserved && u.kind !== undefined)
    .map((u) => ({ txid: u.txid, vout: u.output, amountSat: u.amountSat, kind: u.kind! }));
  // The change output is P2WPKH, as the wallet makes it; its key does not matter for the weight.
  const changeScript = Uint8Array.from([0x00, 0x14, ...new Uint8Array(20)]);
  const sel = await guarded(async () => selectCoins({ candidates, outputs: scripts, feeRateSatPerKw: perKw, changeScript }));
  return { feeSat: sel.feeSat, feerateSatPerKw: perKw };
}

/** Publishes a raw transaction through the backend; its refusal is the backend's text. */
export async function publishTransaction(core: NodeCore, raw: Uint8Array): Promise<string> {
  if (!core.chain?.sendRawTransaction) throw new CoreError('NOT_ACTIVE', 'no chain backend');
  let txid: string;
  try {
    txid = Transaction.fromRaw(raw, { allowUnknownOutputs: true, allowUnknownInputs: true, disableScriptCheck: true }).id;
  } catch (err) {
    throw new CoreError('INVALID', `invalid transaction: ${(err as Error).message}`);
  }
  try {
    await core.chain.sendRawTransaction(raw);
  } catch (err) {
    throw new CoreError('FAILED', (err as Error).message);
  }
  return txid;
}
