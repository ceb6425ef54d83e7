/**
 * The chain backend's options, with lightningd's names, in the shape of `src/node/config.ts`'s
 * `OptionSpec` so they can be appended to its `OPTIONS` table, plus the function turning their raw values
 * into {@link BitcoindRpcOptions}.
 *
 * Defaults follow lightningd/bitcoind: connect to 127.0.0.1 on the network's bitcoind RPC port.
 * (btcd's own defaults differ — regtest RPC port 18334 — so point `--bitcoin-rpcport` at it.)
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ChainError } from './errors.js';
import type { BitcoindRpcOptions } from './bitcoind-rpc.js';

export interface ChainOptionSpec {
  name: string;
  aliases?: string[];
  kind: 'string' | 'integer' | 'flag' | 'list';
  arg?: string;
  default?: string | number | boolean | string[];
  help: string;
  cliOnly?: boolean;
}

export const CHAIN_OPTIONS: readonly ChainOptionSpec[] = [
  { name: 'bitcoin-rpcconnect', kind: 'string', arg: 'HOST', default: '127.0.0.1', help: 'bitcoind/btcd JSON-RPC host.' },
  { name: 'bitcoin-rpcport', kind: 'integer', arg: 'PORT', help: 'bitcoind/btcd JSON-RPC port (default: bitcoind’s for the network, regtest 18443).' },
  { name: 'bitcoin-rpcuser', kind: 'string', arg: 'USER', help: 'bitcoind/btcd JSON-RPC user name.' },
  { name: 'bitcoin-rpcpassword', kind: 'string', arg: 'PASSWORD', help: 'bitcoind/btcd JSON-RPC password.' },
  { name: 'bitcoin-datadir', kind: 'string', arg: 'DIR', help: 'bitcoind’s data directory: without --bitcoin-rpcuser, authenticate with its cookie <DIR>/<network dir>/.cookie (regtest, testnet3, signet, …).' },
  { name: 'bitcoin-rpccert', kind: 'string', arg: 'FILE', help: 'Speak TLS to the backend, trusting this certificate (btcd’s rpc.cert, e.g. ~/.btcd/rpc.cert).' },
  { name: 'bitcoin-rpcclienttimeout', kind: 'integer', arg: 'SECONDS', default: 60, help: 'Give up one JSON-RPC request to bitcoind/btcd after this long (then retry with backoff).' },
];

/** bitcoind's default RPC port per lightningd network name. */
export const DEFAULT_BITCOIN_RPC_PORTS: Readonly<Record<string, number>> = {
  bitcoin: 8332,
  testnet: 18332,
  testnet4: 48332,
  signet: 38332,
  regtest: 18443,
};

/** The sub-directory of bitcoind's data directory per lightningd network name (mainnet uses the root). */
export const BITCOIND_NETWORK_DIRS: Readonly<Record<string, string>> = {
  bitcoin: '',
  testnet: 'testnet3',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
};

/** Values as config.ts keeps them: option name → values (last wins for non-list options). */
export type RawOptionValues = ReadonlyMap<string, readonly string[]> | Readonly<Record<string, string | number | undefined>>;

function get(raw: RawOptionValues, name: string): string | undefined {
  if (raw instanceof Map) {
    const v = (raw as ReadonlyMap<string, readonly string[]>).get(name);
    return v === undefined ? undefined : v[v.length - 1];
  }
  const v = (raw as Readonly<Record<string, string | number | undefined>>)[name];
  return v === undefined ? undefined : String(v);
}

export interface ChainRpcConfig extends BitcoindRpcOptions {
  host: string;
  timeoutMs: number;
}

/** Builds the RPC client's options from the option values; throws ChainError INVALID_ARGUMENT. */
export function chainRpcConfigFromOptions(raw: RawOptionValues, network = 'regtest'): ChainRpcConfig {
  const host = get(raw, 'bitcoin-rpcconnect') ?? '127.0.0.1';
  if (host.trim() === '') throw new ChainError('INVALID_ARGUMENT', 'config: --bitcoin-rpcconnect is empty');
  const portText = get(raw, 'bitcoin-rpcport');
  let port: number;
  if (portText === undefined) {
    const def = DEFAULT_BITCOIN_RPC_PORTS[network];
    if (def === undefined) throw new ChainError('INVALID_ARGUMENT', `config: no default --bitcoin-rpcport for network '${network}'`);
    port = def;
  } else {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new ChainError('INVALID_ARGUMENT', `config: --bitcoin-rpcport must be 1..65535, got '${portText}'`);
  }
  const timeoutText = get(raw, 'bitcoin-rpcclienttimeout') ?? '60';
  const timeoutS = Number(timeoutText);
  if (!/^\d+$/.test(timeoutText) || timeoutS < 1)
    throw new ChainError('INVALID_ARGUMENT', `config: --bitcoin-rpcclienttimeout must be a positive integer, got '${timeoutText}'`);
  const user = get(raw, 'bitcoin-rpcuser') ?? '';
  const home = (p: string | undefined): string | undefined => (p === undefined ? p : p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p);
  const datadir = home(get(raw, 'bitcoin-datadir'));
  const certFile = home(get(raw, 'bitcoin-rpccert'));
  let tlsCert: Buffer | undefined;
  if (certFile !== undefined) {
    try {
      tlsCert = readFileSync(certFile);
    } catch (e) {
      throw new ChainError('INVALID_ARGUMENT', `config: --bitcoin-rpccert: cannot read ${certFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!tlsCert.toString('latin1').includes('-----BEGIN CERTIFICATE-----'))
      throw new ChainError('INVALID_ARGUMENT', `config: --bitcoin-rpccert: ${certFile} is not a PEM certificate`);
  }
  return {
    host,
    port,
    user,
    password: get(raw, 'bitcoin-rpcpassword') ?? '',
    ...(datadir !== undefined && user === '' ? { cookieFile: join(datadir, BITCOIND_NETWORK_DIRS[network] ?? network, '.cookie') } : {}),
    ...(tlsCert !== undefined ? { tlsCert } : {}),
    timeoutMs: timeoutS * 1000,
  };
}
