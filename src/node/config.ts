import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CHAIN_OPTIONS, chainRpcConfigFromOptions, type ChainRpcConfig } from '../chain/options.js';
import { ChainError } from '../chain/errors.js';
import { WTCLIENT_OPTION_SPECS, wtClientConfigFromOptions, type WtClientConfig } from '../watchtower/client/options.js';
import { DATABASE_FILE, resolveStoreLocation, TOWER_DATABASE_FILE } from '../store/location.js';
import { LND_RPC_OPTION_SPECS, parseListen, DEFAULT_REST_PORT, DEFAULT_RPC_PORT } from '../rpc/lnd/server.js';

/**
 * Options: names follow lightningd for core options (and LND for LND-derived features, as those
 * arrive), so operators' habits carry over. The same names work on the command line
 * (`--name=value`, `--name value`, `--flag`) and as `name=value` lines in `<anode-dir>/config` and
 * `<anode-dir>/<network>/config`; the command line wins, then the network file, then the base file.
 */

export const NETWORKS = ['bitcoin', 'testnet', 'testnet4', 'signet', 'regtest'] as const;
export type NetworkName = (typeof NETWORKS)[number];
/**
 * Each network's Lightning port (lightningd's chainparams): where we listen and where `connect` dials
 * when no port is given.
 */
export const PEER_PORTS: Readonly<Record<NetworkName, number>> = { bitcoin: 9735, testnet: 19735, testnet4: 49735, signet: 39735, regtest: 19846 };
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Kind = 'string' | 'integer' | 'flag' | 'list';

interface OptionSpec {
  name: string;
  aliases?: string[];
  kind: Kind;
  arg?: string;
  default?: string | number | boolean | string[];
  help: string;
  /** Not allowed in a config file (it would point at itself or is a one-shot action). */
  cliOnly?: boolean;
}

export const OPTIONS: readonly OptionSpec[] = [
  { name: 'help', aliases: ['h'], kind: 'flag', help: 'Print this help and exit.', cliOnly: true },
  { name: 'version', kind: 'flag', help: 'Print the version and exit.', cliOnly: true },
  { name: 'anode-dir', aliases: ['lightning-dir'], kind: 'string', arg: 'DIR', default: '~/.anode', help: 'Base directory; data lives in <anode-dir>/<network>/.', cliOnly: true },
  { name: 'conf', kind: 'string', arg: 'FILE', help: 'Config file to read instead of <anode-dir>/config.', cliOnly: true },
  { name: 'network', kind: 'string', arg: 'NAME', default: 'regtest', help: `Chain: ${NETWORKS.join(', ')}.` },
  { name: 'wallet', kind: 'string', arg: 'DSN', help: 'The node database: postgres://user:pass@host:port/db or sqlite3://path (default: sqlite3://<anode-dir>/<network>/anode.sqlite3).' },
  { name: 'addr', kind: 'list', arg: 'HOST:PORT', help: `Listen for peers here (repeatable). Default 0.0.0.0 on the network's port (${NETWORKS.map((n) => `${n} ${PEER_PORTS[n]}`).join(', ')}).` },
  { name: 'bind-addr', kind: 'list', arg: 'HOST:PORT', help: 'Listen for peers here without announcing it (repeatable).' },
  { name: 'announce-addr', kind: 'list', arg: 'HOST:PORT', help: 'Announce this address in our node_announcement without listening on it (repeatable).' },
  { name: 'log-level', kind: 'string', arg: 'LEVEL', default: 'info', help: 'trace, debug, info, warn, error (CLN names io, unusual, broken accepted).' },
  { name: 'connect-timeout', kind: 'integer', arg: 'SECONDS', default: 10, help: 'Give up a TCP connect after this long.' },
  { name: 'handshake-timeout', kind: 'integer', arg: 'SECONDS', default: 10, help: 'Each BOLT 8 handshake act must arrive within this long.' },
  { name: 'init-timeout', kind: 'integer', arg: 'SECONDS', default: 30, help: 'The peer’s init must arrive within this long of the handshake.' },
  { name: 'ping-interval', kind: 'integer', arg: 'SECONDS', default: 60, help: 'Keepalive: ping a peer silent for this long.' },
  { name: 'ping-timeout', kind: 'integer', arg: 'SECONDS', default: 30, help: 'Drop a peer that does not answer a ping within this long.' },
  { name: 'max-pending-handshakes', kind: 'integer', arg: 'N', default: 128, help: 'Inbound handshakes in progress at once; the oldest makes room for a new one.' },
  { name: 'max-peer-buffer', kind: 'integer', arg: 'BYTES', default: 4 * 1024 * 1024, help: 'Outbound bytes queued for a peer that does not read before it is cut off.' },
  { name: 'rpc-file', kind: 'string', arg: 'PATH', default: 'lightning-rpc', help: 'JSON-RPC unix socket (relative to <anode-dir>/<network>).' },
  { name: 'rpc-file-mode', kind: 'string', arg: 'MODE', default: '0600', help: 'Permissions of the JSON-RPC socket, octal.' },
  { name: 'alias', kind: 'string', arg: 'NAME', help: 'Node alias, at most 32 bytes (default: derived from the node id).' },
  { name: 'rgb', kind: 'string', arg: 'RRGGBB', help: 'Node colour, 6 hex digits (default: the node id’s first 3 bytes).' },
  { name: 'developer', kind: 'flag', help: 'Developer mode: JSON-RPC parameter errors quote the offending token.' },
  // Channels (lightningd's option names).
  { name: 'funding-confirms', kind: 'integer', arg: 'BLOCKS', default: 3, help: 'Confirmations we require of a channel a peer opens to us (minimum_depth).' },
  { name: 'watchtime-blocks', kind: 'integer', arg: 'BLOCKS', default: 144, help: 'Blocks a peer must wait for its own funds after it closes unilaterally (our to_self_delay for it).' },
  { name: 'max-locktime-blocks', kind: 'integer', arg: 'BLOCKS', default: 2016, help: 'Largest delay we accept on our own funds from a peer (its to_self_delay for us).' },
  { name: 'max-fee-multiplier', kind: 'integer', arg: 'N', default: 10, help: 'Accept an update_fee from a channel’s opener up to N times our own fee estimate (never below 253 sat/kw).' },
  // Our forwarding policy, every channel's default until setchannel/UpdateChannelPolicy (lightningd's option names).
  { name: 'fee-base', kind: 'integer', arg: 'MSAT', default: 1000, help: 'Base fee we charge to forward an HTLC, in millisatoshi.' },
  { name: 'fee-per-satoshi', kind: 'integer', arg: 'PPM', default: 10, help: 'Proportional fee we charge to forward, in millionths of the amount.' },
  { name: 'cltv-delta', kind: 'integer', arg: 'BLOCKS', default: 34, help: 'The cltv_expiry_delta we announce: blocks we keep between an incoming and an outgoing HTLC.' },
  { name: 'htlc-minimum-msat', kind: 'integer', arg: 'MSAT', default: 0, help: 'Smallest HTLC we forward out of a channel (raised to what the peer accepts).' },
  { name: 'htlc-maximum-msat', kind: 'integer', arg: 'MSAT', help: 'Largest HTLC we forward out of a channel (default: what the channel allows).' },
  { name: 'rescan', kind: 'string', arg: 'BLOCKS', help: 'Scan the wallet again from BLOCKS before the chain tip, or from the absolute height -BLOCKS if negative (lightningd’s rescan), e.g. to restore a seed without a birthday.' },
  { name: 'dev-no-reconnect', kind: 'flag', help: 'Developer: do not reconnect to peers with channels (tests).' },
  { name: 'dev-no-simple-close', kind: 'flag', help: 'Developer: do not offer option_simple_close (closes use closing_signed; tests).' },
  { name: 'metrics-listen', kind: 'string', arg: 'HOST:PORT', help: 'Serve Prometheus metrics at http://HOST:PORT/metrics (off by default).' },
  { name: 'dev-crash-after-paid', kind: 'flag', help: 'Developer (needs --developer): the process kills itself (SIGKILL) right after an incoming payment is committed and before its preimage is sent, to test recovery.' },
  { name: 'dev-crash-after-forward-preimage', kind: 'flag', help: 'Developer (needs --developer): the process kills itself (SIGKILL) right after a forwarded HTLC’s downstream preimage is committed and before the upstream HTLC is fulfilled, to test recovery.' },
  { name: 'dev-hold-htlcs', kind: 'flag', help: 'Developer (needs --developer): leave incoming HTLCs to dev-fulfillhtlc/dev-failhtlc instead of failing back the ones anode cannot settle or forward.' },
  { name: 'dev-chain-poll', kind: 'integer', arg: 'MS', default: 2000, help: 'Developer: how often the node polls the chain backend for blocks, in milliseconds.' },
  // LND-compatible gRPC/REST (LND's option names).
  ...LND_RPC_OPTION_SPECS.map((o) => ({ ...o, default: 'default' in o ? [...o.default] : undefined }) as OptionSpec),
  // The chain backend (lightningd's option names).
  ...CHAIN_OPTIONS,
  // The watchtower (LND's option names).
  { name: 'watchtower.active', kind: 'flag', help: 'Run a watchtower for other nodes (LND clients and anode).' },
  { name: 'watchtower.listen', kind: 'list', arg: 'HOST:PORT', default: ['0.0.0.0:9911'], help: 'The tower listens here (repeatable).' },
  { name: 'watchtower.wallet', kind: 'string', arg: 'DSN', help: 'The tower database, apart from the node’s (several towers may share one postgres:// database); default sqlite3://<anode-dir>/<network>/watchtower.sqlite3.' },
  { name: 'watchtower.externalip', kind: 'list', arg: 'HOST[:PORT]', help: 'Address advertised in the tower’s URIs (repeatable).' },
  // The watchtower client (LND's option names).
  ...WTCLIENT_OPTION_SPECS,
];

export interface Config {
  anodeDir: string;
  network: NetworkName;
  /** <anode-dir>/<network> */
  dataDir: string;
  /** The node database: `postgres://…` or `sqlite3://<absolute path>` (see store/location.ts). */
  wallet: string;
  listen: { host: string; port: number }[];
  /** Addresses for our node_announcement: `--addr` ones (not wildcards) and `--announce-addr`; port 0 means the bound port. */
  announceAddrs: { host: string; port: number }[];
  logLevel: LogLevel;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  initTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  maxPendingHandshakes: number;
  maxPeerBuffer: number;
  /** Absolute path of the JSON-RPC socket. */
  rpcFile: string;
  rpcFileMode: number;
  alias: string | undefined;
  /** 6 lowercase hex digits, or undefined for the default. */
  rgb: string | undefined;
  developer: boolean;
  /** Channel parameters: minimum_depth we ask, to_self_delay we impose, largest we accept. */
  fundingConfirms: number;
  watchtimeBlocks: number;
  maxLocktimeBlocks: number;
  /** The opener's update_fee may reach this multiple of our estimate (CLN's max-fee-multiplier). */
  maxFeeMultiplier: number;
  /** Our default forwarding policy (--fee-base, --fee-per-satoshi, --cltv-delta, --htlc-minimum-msat, --htlc-maximum-msat). */
  forwardingPolicy: { feeBaseMsat: number; feeProportionalMillionths: number; cltvExpiryDelta: number; htlcMinimumMsat: bigint; htlcMaximumMsat: bigint | undefined };
  /** `--rescan`: blocks back from the tip, or minus an absolute height (lightningd's). */
  rescan: number | undefined;
  devNoReconnect: boolean;
  devNoSimpleClose: boolean;
  /** --dev-hold-htlcs: incoming HTLCs are not decided by the HTLC intake (tests drive them by hand). */
  devHoldHtlcs: boolean;
  /** --dev-crash-after-paid: SIGKILL between an invoice's markPaid and its fulfil (crash tests). */
  devCrashAfterPaid: boolean;
  /** --dev-crash-after-forward-preimage: SIGKILL between a forward's downstream preimage commit and the upstream fulfil (crash tests). */
  devCrashAfterForwardPreimage?: boolean;
  devChainPollMs: number;
  /** Tests only, no option sets it: awaited in the start-up after the channels are loaded, before the message router runs. */
  devStartupPause?: () => Promise<void>;
  /** `--metrics-listen`: where Prometheus scrapes /metrics, when set. */
  metricsListen?: { host: string; port: number };
  /** The command line the configuration was built from (listconfigs' sources). */
  argv?: readonly string[];
  /** LND-compatible gRPC listeners. */
  rpcListen: { host: string; port: number }[];
  /** LND-compatible REST listeners. */
  restListen: { host: string; port: number }[];
  tlsExtraIps: string[];
  tlsExtraDomains: string[];
  /** bitcoind/btcd JSON-RPC. */
  chain: ChainRpcConfig;
  watchtower: { active: boolean; listen: { host: string; port: number }[]; externalIps: string[]; wallet: string };
  wtclient: WtClientConfig;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Raw = Map<string, string[]>;

const byName = new Map<string, OptionSpec>();
for (const o of OPTIONS) {
  byName.set(o.name, o);
  for (const a of o.aliases ?? []) byName.set(a, o);
}

function lookup(name: string, where: string): OptionSpec {
  const spec = byName.get(name);
  if (!spec) throw new ConfigError(`${where}: unknown option '${name}' (see --help)`);
  return spec;
}

function put(raw: Raw, spec: OptionSpec, value: string): void {
  const prev = raw.get(spec.name);
  if (spec.kind === 'list' && prev) prev.push(value);
  else raw.set(spec.name, [value]);
}

/** Parses command-line arguments into raw option values. */
export function parseArgs(argv: readonly string[]): Raw {
  const raw: Raw = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) throw new ConfigError(`command line: unexpected argument '${arg}'`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = lookup(name, 'command line');
    if (spec.kind === 'flag') {
      put(raw, spec, eq < 0 ? 'true' : body.slice(eq + 1));
    } else if (eq >= 0) {
      put(raw, spec, body.slice(eq + 1));
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`command line: option '--${name}' needs a value`);
      put(raw, spec, next);
      i++;
    }
  }
  return raw;
}

/** Parses a config file's text: `name=value` or `name` (a flag) per line, `#` comments. */
export function parseConfigFile(text: string, file: string): Raw {
  const raw: Raw = new Map();
  text.split(/\r?\n/).forEach((line, n) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const eq = t.indexOf('=');
    const name = (eq < 0 ? t : t.slice(0, eq)).trim().replace(/^--/, '');
    const where = `${file}:${n + 1}`;
    const spec = lookup(name, where);
    if (spec.cliOnly) throw new ConfigError(`${where}: '${name}' can only be given on the command line`);
    if (spec.kind !== 'flag' && eq < 0) throw new ConfigError(`${where}: '${name}' needs a value`);
    put(raw, spec, eq < 0 ? 'true' : t.slice(eq + 1).trim());
  });
  return raw;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`config: cannot read ${path}: ${(err as Error).message}`);
  }
}

function expandHome(p: string, home: string): string {
  return p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : p;
}

export function parseHostPort(value: string, defaultPort: number, what: string): { host: string; port: number } {
  let host = value;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if ((value.match(/:/g) ?? []).length === 1) {
    const i = value.lastIndexOf(':');
    host = value.slice(0, i);
    port = Number(value.slice(i + 1));
  }
  if (host === '') host = '0.0.0.0';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${what}: bad port in '${value}'`);
  return { host, port };
}

const CLN_LEVELS: Record<string, LogLevel> = { io: 'trace', unusual: 'warn', broken: 'error' };

function forwardingPolicyOrThrow(integer: (name: string) => number, get: (name: string) => string | undefined): Config['forwardingPolicy'] {
  const u32 = (name: string): number => {
    const v = integer(name);
    if (v > 0xffff_ffff) throw new ConfigError(`${name}: ${v} does not fit in 32 bits`);
    return v;
  };
  const cltv = integer('cltv-delta');
  if (cltv < 1 || cltv > 0xffff) throw new ConfigError(`cltv-delta: ${cltv} is not between 1 and 65535`);
  // msat limits are u64: read as BigInt, not through a double.
  const msat = (name: string): bigint | undefined => {
    const v = get(name);
    if (v !== undefined && !/^\d+$/.test(v)) throw new ConfigError(`${name}: '${v}' is not a non-negative integer`);
    if (v !== undefined && BigInt(v) >= 1n << 64n) throw new ConfigError(`${name}: ${v} does not fit in 64 bits`);
    return v === undefined ? undefined : BigInt(v);
  };
  const max = msat('htlc-maximum-msat');
  return {
    feeBaseMsat: u32('fee-base'),
    feeProportionalMillionths: u32('fee-per-satoshi'),
    cltvExpiryDelta: cltv,
    htlcMinimumMsat: msat('htlc-minimum-msat') ?? 0n,
    htlcMaximumMsat: max,
  };
}

/** Builds the configuration from argv, config files and defaults. `home` is injectable for tests. */
export function loadConfig(argv: readonly string[], home = homedir()): { config: Config; help: boolean; version: boolean } {
  const cli = parseArgs(argv);
  const one = (raw: Raw, name: string): string | undefined => raw.get(name)?.at(-1);
  const anodeDir = resolve(expandHome(one(cli, 'anode-dir') ?? '~/.anode', home));
  const baseFile = one(cli, 'conf') ? resolve(expandHome(one(cli, 'conf')!, home)) : join(anodeDir, 'config');
  const baseText = readOptional(baseFile);
  if (baseText === undefined && one(cli, 'conf')) throw new ConfigError(`config: ${baseFile} does not exist`);
  const base = baseText === undefined ? new Map() : parseConfigFile(baseText, baseFile);
  const networkValue = one(cli, 'network') ?? one(base, 'network') ?? 'regtest';
  if (!(NETWORKS as readonly string[]).includes(networkValue)) {
    throw new ConfigError(`network: '${networkValue}' is not one of ${NETWORKS.join(', ')}`);
  }
  const network = networkValue as NetworkName;
  const dataDir = join(anodeDir, network);
  const netFile = join(dataDir, 'config');
  const netText = readOptional(netFile);
  const net = netText === undefined ? new Map() : parseConfigFile(netText, netFile);

  // Later sources override earlier ones; list options are replaced as a whole, not merged.
  const merged: Raw = new Map([...base, ...net, ...cli]);
  const get = (name: string): string | undefined => merged.get(name)?.at(-1);
  const integer = (name: string): number => {
    const v = get(name) ?? String(byName.get(name)!.default);
    if (!/^\d+$/.test(v)) throw new ConfigError(`${name}: '${v}' is not a non-negative integer`);
    return Number(v);
  };
  const seconds = (name: string): number => {
    const s = integer(name);
    if (s === 0) throw new ConfigError(`${name}: must be at least 1 second`);
    return s * 1000;
  };

  const levelValue = (get('log-level') ?? 'info').toLowerCase();
  const logLevel = (CLN_LEVELS[levelValue] ?? levelValue) as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`log-level: '${levelValue}' is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const listenValues = [...(merged.get('addr') ?? []), ...(merged.get('bind-addr') ?? [])];
  const peerPort = PEER_PORTS[network];
  const listen = (listenValues.length ? listenValues : [`0.0.0.0:${peerPort}`]).map((v) => parseHostPort(v, peerPort, 'addr'));

  const announceAddrs = [
    ...(merged.get('addr') ?? []).map((v) => parseHostPort(v, peerPort, 'addr')).filter((a) => !['0.0.0.0', '::', ''].includes(a.host)),
    ...(merged.get('announce-addr') ?? []).map((v) => parseHostPort(v, peerPort, 'announce-addr')),
  ];

  const rpcFileMode = get('rpc-file-mode') ?? '0600';
  if (!/^0?[0-7]{3}$/.test(rpcFileMode)) throw new ConfigError(`rpc-file-mode: '${rpcFileMode}' is not an octal mode like 0600`);
  const alias = get('alias');
  if (alias !== undefined && Buffer.byteLength(alias, 'utf8') > 32) throw new ConfigError(`alias: '${alias}' is longer than 32 bytes`);
  const rgb = get('rgb');
  if (rgb !== undefined && !/^[0-9a-fA-F]{6}$/.test(rgb)) throw new ConfigError(`rgb: '${rgb}' is not 6 hex digits`);
  const developer = get('developer');
  if (developer !== undefined && developer !== 'true' && developer !== 'false') throw new ConfigError(`developer: '${developer}' is not true or false`);

  const devHoldHtlcs = flag(get('dev-hold-htlcs'), 'dev-hold-htlcs');
  if (devHoldHtlcs && developer !== 'true') throw new ConfigError('dev-hold-htlcs: needs --developer');
  const devCrashAfterPaid = flag(get('dev-crash-after-paid'), 'dev-crash-after-paid');
  if (devCrashAfterPaid && developer !== 'true') throw new ConfigError('dev-crash-after-paid: needs --developer');
  const devCrashAfterForwardPreimage = flag(get('dev-crash-after-forward-preimage'), 'dev-crash-after-forward-preimage');
  if (devCrashAfterForwardPreimage && developer !== 'true') throw new ConfigError('dev-crash-after-forward-preimage: needs --developer');

  const config: Config = {
    anodeDir,
    network,
    dataDir,
    wallet: locationOrThrow(get('wallet'), dataDir, DATABASE_FILE, 'wallet'),
    listen,
    announceAddrs,
    logLevel,
    connectTimeoutMs: seconds('connect-timeout'),
    handshakeTimeoutMs: seconds('handshake-timeout'),
    initTimeoutMs: seconds('init-timeout'),
    pingIntervalMs: seconds('ping-interval'),
    pingTimeoutMs: seconds('ping-timeout'),
    maxPendingHandshakes: Math.max(1, integer('max-pending-handshakes')),
    maxPeerBuffer: Math.max(65536, integer('max-peer-buffer')),
    rpcFile: resolve(dataDir, expandHome(get('rpc-file') ?? 'lightning-rpc', home)),
    rpcFileMode: parseInt(rpcFileMode, 8),
    alias,
    rgb: rgb?.toLowerCase(),
    developer: developer === 'true',
    fundingConfirms: Math.max(1, integer('funding-confirms')),
    watchtimeBlocks: Math.min(0xffff, Math.max(1, integer('watchtime-blocks'))),
    maxLocktimeBlocks: Math.min(0xffff, Math.max(1, integer('max-locktime-blocks'))),
    maxFeeMultiplier: Math.max(1, integer('max-fee-multiplier')),
    forwardingPolicy: forwardingPolicyOrThrow(integer, get),
    rescan: rescanOrThrow(get('rescan')),
    devNoReconnect: flag(get('dev-no-reconnect'), 'dev-no-reconnect'),
    devNoSimpleClose: flag(get('dev-no-simple-close'), 'dev-no-simple-close'),
    devHoldHtlcs,
    devCrashAfterPaid,
    devCrashAfterForwardPreimage,
    devChainPollMs: Math.max(50, integer('dev-chain-poll')),
    ...(get('metrics-listen') !== undefined ? { metricsListen: parseHostPort(get('metrics-listen')!, 0, 'metrics-listen') } : {}),
    argv,
    rpcListen: (merged.get('rpclisten') ?? [`127.0.0.1:${DEFAULT_RPC_PORT}`]).map((v) => listenOrThrow(v, DEFAULT_RPC_PORT, 'rpclisten')),
    restListen: (merged.get('restlisten') ?? [`127.0.0.1:${DEFAULT_REST_PORT}`]).map((v) => listenOrThrow(v, DEFAULT_REST_PORT, 'restlisten')),
    tlsExtraIps: merged.get('tlsextraip') ?? [],
    tlsExtraDomains: merged.get('tlsextradomain') ?? [],
    chain: chainOrThrow(merged, network),
    watchtower: {
      active: flag(get('watchtower.active'), 'watchtower.active'),
      listen: (merged.get('watchtower.listen') ?? ['0.0.0.0:9911']).map((v) => parseHostPort(v, 9911, 'watchtower.listen')),
      externalIps: merged.get('watchtower.externalip') ?? [],
      wallet: locationOrThrow(get('watchtower.wallet'), dataDir, TOWER_DATABASE_FILE, 'watchtower.wallet'),
    },
    wtclient: wtclientOrThrow(merged),
  };
  return { config, help: cli.has('help'), version: cli.has('version') };
}

function flag(value: string | undefined, name: string): boolean {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new ConfigError(`${name}: '${value}' is not true or false`);
}

function rescanOrThrow(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d{1,9}$/.test(value)) throw new ConfigError(`rescan: '${value}' is not a number of blocks (or a negative absolute height)`);
  return Number(value);
}

/** The first height `--rescan` scans, given the best height: N blocks back, or the absolute height of -N. */
export function rescanStart(rescan: number, bestHeight: number): number {
  return Math.max(0, Math.min(bestHeight, rescan < 0 ? -rescan : bestHeight - rescan));
}

function locationOrThrow(value: string | undefined, dataDir: string, defaultFile: string, name: string): string {
  try {
    return resolveStoreLocation(value, dataDir, defaultFile);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
}

function listenOrThrow(value: string, defaultPort: number, name: string): { host: string; port: number } {
  try {
    return parseListen(value, defaultPort);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
}

function wtclientOrThrow(raw: Raw): WtClientConfig {
  const values: Record<string, unknown> = {};
  for (const o of WTCLIENT_OPTION_SPECS) {
    const v = raw.get(o.name)?.at(-1);
    if (v !== undefined) values[o.name] = o.kind === 'flag' ? flag(v, o.name) : v;
  }
  try {
    return wtClientConfigFromOptions(values);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

function chainOrThrow(raw: Raw, network: string): ChainRpcConfig {
  try {
    return chainRpcConfigFromOptions(raw, network);
  } catch (err) {
    if (err instanceof ChainError) throw new ConfigError(err.message.replace(/^config: /, ''));
    throw err;
  }
}

export function helpText(): string {
  const lines = ['Usage: anode [options]', '', 'Options (also accepted as name=value lines in <anode-dir>/config):'];
  for (const o of OPTIONS) {
    const names = [o.name, ...(o.aliases ?? [])].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ');
    const left = o.arg ? `${names}=${o.arg}` : names;
    const def = o.default !== undefined && o.kind !== 'flag' ? ` (default: ${String(o.default)})` : '';
    lines.push(`  ${left.padEnd(38)} ${o.help}${def}`);
  }
  return lines.join('\n');
}
