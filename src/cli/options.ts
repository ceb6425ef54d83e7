import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * anode-cli's options, lightning-cli's names: `anode-cli [options] <method> [params…]`. As with
 * lightning-cli, options may also follow the method; after `--` everything is a parameter (for a
 * value starting with `-`). After the name of a local command (`wtclient`), everything is left to it.
 */

export class UsageError extends Error {
  override name = 'UsageError';
}

export type OutputFormat = 'json' | 'human' | 'flat' | 'raw';

export interface CliOptions {
  anodeDir: string;
  network: string;
  /** Absolute path of the JSON-RPC socket. */
  rpcFile: string;
  /** Parameter style: forced keywords, forced positional, or detected from the first parameter. */
  style: 'keywords' | 'order' | 'auto';
  /** Undefined: JSON, except for `help` and results with a `format-hint`. */
  format: OutputFormat | undefined;
  /** Raw JSON text of `--filter`. */
  filter: string | undefined;
  /** Notification level to show, or 'none'. */
  notifications: string;
  help: boolean;
  version: boolean;
  /** The method (or local command) and its arguments. */
  args: string[];
}

const NETWORKS = ['bitcoin', 'testnet', 'testnet4', 'signet', 'regtest'];
const NETWORK_FLAGS: Record<string, string> = { mainnet: 'bitcoin', testnet: 'testnet', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' };
const SHORT: Record<string, string> = { k: 'keywords', o: 'order', J: 'json', H: 'human-readable', F: 'flat', R: 'raw', h: 'help', V: 'version', l: 'filter', N: 'notifications' };
const FLAGS = new Set(['keywords', 'order', 'json', 'human-readable', 'flat', 'raw', 'help', 'version', ...Object.keys(NETWORK_FLAGS)]);
const VALUED = new Set(['anode-dir', 'lightning-dir', 'conf', 'network', 'rpc-file', 'filter', 'notifications']);
const LEVELS = ['io', 'trace', 'debug', 'info', 'unusual', 'broken', 'none'];

/** Parses argv (without node and the script), then reads the config files for network and rpc-file. */
export function parseCliArgs(argv: readonly string[], home = homedir(), isLocalCommand: (name: string) => boolean = () => false): CliOptions {
  const given = new Map<string, string>();
  let style: CliOptions['style'] = 'auto';
  let format: OutputFormat | undefined;
  let i = 0;
  const setFormat = (f: OutputFormat): void => {
    format = f;
  };
  const apply = (name: string, value: string | undefined): void => {
    switch (name) {
      case 'keywords':
        style = 'keywords';
        return;
      case 'order':
        style = 'order';
        return;
      case 'json':
        return setFormat('json');
      case 'human-readable':
        return setFormat('human');
      case 'flat':
        return setFormat('flat');
      case 'raw':
        return setFormat('raw');
      case 'help':
      case 'version':
        given.set(name, 'true');
        return;
    }
    if (name in NETWORK_FLAGS) {
      given.set('network', NETWORK_FLAGS[name]!);
      return;
    }
    given.set(name === 'lightning-dir' ? 'anode-dir' : name, value!);
  };
  const args: string[] = [];
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      // A local command (wtclient …) parses its own flags, lncli-style: leave the rest to it.
      if (args.length === 0 && isLocalCommand(arg)) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(arg);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (FLAGS.has(name)) {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
        apply(name, undefined);
      } else if (VALUED.has(name)) {
        const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`option --${name} needs a value`);
        apply(name, value);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
      continue;
    }
    // Short options, possibly grouped (-kH); a valued one takes the rest or the next argument.
    for (let j = 1; j < arg.length; j++) {
      const name = SHORT[arg[j]!];
      if (!name) throw new UsageError(`unknown option -${arg[j]}`);
      if (VALUED.has(name)) {
        const rest = arg.slice(j + 1).replace(/^=/, '');
        const value = rest !== '' ? rest : argv[++i];
        if (value === undefined) throw new UsageError(`option -${arg[j]} needs a value`);
        apply(name, value);
        break;
      }
      apply(name, undefined);
    }
  }

  const expand = (p: string): string => (p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : p);
  const anodeDir = resolve(expand(given.get('anode-dir') ?? '~/.anode'));
  const baseFile = given.has('conf') ? resolve(expand(given.get('conf')!)) : join(anodeDir, 'config');
  const base = readConfig(baseFile, given.has('conf'));
  const network = given.get('network') ?? base.get('network') ?? 'regtest';
  if (!NETWORKS.includes(network)) throw new UsageError(`network '${network}' is not one of ${NETWORKS.join(', ')}`);
  const netDir = join(anodeDir, network);
  const net = readConfig(join(netDir, 'config'), false);
  const rpcFile = resolve(netDir, expand(given.get('rpc-file') ?? net.get('rpc-file') ?? base.get('rpc-file') ?? 'lightning-rpc'));
  const notifications = (given.get('notifications') ?? 'none').toLowerCase();
  if (!LEVELS.includes(notifications)) throw new UsageError(`notifications level '${notifications}' is not one of ${LEVELS.join(', ')}`);
  return {
    anodeDir,
    network,
    rpcFile,
    style,
    format,
    filter: given.get('filter'),
    notifications,
    help: given.has('help'),
    version: given.has('version'),
    args,
  };
}

/** `name=value` lines of an anode config file; anode-cli only needs a few and ignores the rest. */
function readConfig(path: string, mustExist: boolean): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) return new Map();
    throw new UsageError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq < 0) continue;
    out.set(t.slice(0, eq).trim().replace(/^--/, ''), t.slice(eq + 1).trim());
  }
  return out;
}

export const USAGE = `Usage: anode-cli [options] <command> [params...]

Calls <command> on anode's JSON-RPC socket (Core Lightning's JSON-RPC; see anode-cli(1) and
\`anode-cli help\`). Parameters are positional, or key=value pairs when the first one contains '='.

Options:
  --anode-dir=DIR, --lightning-dir=DIR  base directory (default ~/.anode)
  --conf=FILE                           config file instead of <anode-dir>/config
  --network=NAME                        bitcoin, testnet, testnet4, signet, regtest (default regtest)
  --mainnet, --testnet, --testnet4, --signet, --regtest
  --rpc-file=PATH                       socket (default <anode-dir>/<network>/lightning-rpc)
  -k, --keywords                        every parameter is key=value
  -o, --order                           every parameter is positional
  -J, --json                            print the result as JSON (the default for most commands)
  -H, --human-readable                  print the result as plain text
  -F, --flat                            print the result as path=value lines
  -R, --raw                             print the response as received
  -l, --filter=JSON                     ask for only these fields of the result
  -N, --notifications=LEVEL             show the command's notifications from LEVEL up (default none)
  -h, --help                            this help
  -V, --version                         print the version

Exit status: 0 success, 1 the command failed, 2 cannot talk to anode, 3 usage error.`;
