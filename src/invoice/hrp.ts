/**
 * BOLT 11's human-readable part: `ln` ‖ currency prefix ‖ optional amount (a decimal number of bitcoin
 * with an optional multiplier `m`, `u`, `n`, `p`), and the amount in millisatoshis.
 */
import { InvoiceError } from './errors.js';

export type InvoiceNetwork = 'bitcoin' | 'testnet' | 'testnet4' | 'signet' | 'regtest';

/** BIP 173 currency prefix of each network (testnet4 shares testnet's). */
export const CURRENCY: Record<InvoiceNetwork, string> = {
  bitcoin: 'bc',
  testnet: 'tb',
  testnet4: 'tb',
  signet: 'tbs',
  regtest: 'bcrt',
};

/** The network a decoded prefix names (testnet for `tb`: testnet4 invoices cannot be told apart). */
const NETWORK_OF: Record<string, InvoiceNetwork> = { bc: 'bitcoin', tb: 'testnet', tbs: 'signet', bcrt: 'regtest' };

const MSAT_PER_BTC = 100_000_000_000n;
/** Millisatoshis per unit of each multiplier, as a fraction `num / den` (pico is a tenth of a msat). */
const MULTIPLIERS: Record<string, [bigint, bigint]> = {
  '': [MSAT_PER_BTC, 1n],
  m: [MSAT_PER_BTC / 1_000n, 1n],
  u: [MSAT_PER_BTC / 1_000_000n, 1n],
  n: [MSAT_PER_BTC / 1_000_000_000n, 1n],
  p: [1n, 10n],
};

export interface ParsedHrp {
  currency: string;
  network: InvoiceNetwork;
  amountMsat: bigint | undefined;
}

export function parseHrp(hrp: string): ParsedHrp {
  const m = /^ln(bcrt|bc|tbs|tb)(?:(\d+)([munp]?))?$/.exec(hrp);
  if (m === null) {
    const known = /^ln(bcrt|bc|tbs|tb)/.test(hrp);
    throw new InvoiceError(known ? 'AMOUNT' : 'PREFIX', `bolt11: ${known ? 'bad amount in' : 'unknown prefix'} ${JSON.stringify(hrp.slice(0, 24))}`);
  }
  const currency = m[1]!;
  if (m[2] === undefined) return { currency, network: NETWORK_OF[currency]!, amountMsat: undefined };
  if (m[2].length > 30) throw new InvoiceError('AMOUNT', `bolt11: amount of ${m[2].length} digits`);
  const [num, den] = MULTIPLIERS[m[3]!]!;
  const scaled = BigInt(m[2]) * num;
  if (scaled % den !== 0n) throw new InvoiceError('AMOUNT', `bolt11: ${m[2]}${m[3]} is not a whole number of millisatoshis`);
  const amountMsat = scaled / den;
  if (amountMsat === 0n) throw new InvoiceError('AMOUNT', 'bolt11: an amount of zero');
  return { currency, network: NETWORK_OF[currency]!, amountMsat };
}

/** The shortest amount text for `amountMsat`: the largest multiplier that divides it (`2500u`, `20m`). */
export function formatAmount(amountMsat: bigint): string {
  if (typeof amountMsat !== 'bigint' || amountMsat <= 0n) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: amount must be a positive bigint of msat, got ${String(amountMsat)}`);
  for (const unit of ['', 'm', 'u', 'n'] as const) {
    const [num] = MULTIPLIERS[unit]!;
    if (amountMsat % num === 0n) return `${amountMsat / num}${unit}`;
  }
  return `${amountMsat * 10n}p`;
}
