/**
 * lightningd's satoshi amounts in parameters: an integer, or a string `N`, `Nsat`, `N000msat`, `Nbtc` or
 * `N.NNNNNNNNbtc` (exactly 8 decimals). Total: any input gives a bigint or a WalletError.
 */
import { WalletError } from './keys.js';

/** 21 million BTC. */
export const MAX_SAT = 2_100_000_000_000_000n;

export function parseSatAmount(value: unknown): bigint {
  let sat: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new WalletError('INVALID', 'should be a satoshi amount');
    sat = BigInt(value);
  } else if (typeof value === 'bigint') {
    sat = value;
  } else if (typeof value === 'string' && value.length <= 40) {
    let m: RegExpExecArray | null;
    if ((m = /^([0-9]+)(sat)?$/.exec(value))) sat = BigInt(m[1]!);
    else if ((m = /^([0-9]+)000msat$/.exec(value))) sat = BigInt(m[1]!);
    else if ((m = /^([0-9]+)(?:\.([0-9]{8}))?btc$/.exec(value))) sat = BigInt(m[1]!) * 100_000_000n + BigInt(m[2] ?? '0');
    else throw new WalletError('INVALID', 'should be a satoshi amount');
  } else {
    throw new WalletError('INVALID', 'should be a satoshi amount');
  }
  if (sat < 0n || sat > MAX_SAT) throw new WalletError('INVALID', 'should be a satoshi amount');
  return sat;
}
