/**
 * anode as tests run it, three ways:
 *  - `startDaemon`: the daemon itself, `dist/src/bin/anode.js` in a child process with a temp
 *    --anode-dir and ephemeral ports everywhere, its JSON start line parsed; `cli`/`cliJson` run
 *    anode-cli against it;
 *  - `startNode`: the whole node (AnodeNode) in the test process on a btcd, so tests can look at its
 *    channels' state directly;
 *  - `startPeerManager`: only the peer manager, on a real SQLite file.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { secp } from '../../src/crypto/secp256k1.js';
import { loadConfig, type Config } from '../../src/node/config.js';
import { AnodeNode, INIT_FEATURES } from '../../src/node/node.js';
import type { ChannelManager } from '../../src/channel/manager.js';
import { DEFAULT_PEER_OPTIONS, PeerManager, type PeerManagerOptions } from '../../src/peer/manager.js';
import { openSqliteStore, type Store } from '../../src/store/database.js';
import type { StaticKey } from '../../src/transport/noise.js';
import { addressToScript, btcNetwork } from '../../src/wallet/index.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';
import { repoRoot } from '../helpers.js';
import type { BtcdNode } from './btcd.js';
import { until } from './wait.js';

export const ANODE = join(repoRoot, 'dist', 'src', 'bin', 'anode.js');
export const ANODE_CLI = join(repoRoot, 'dist', 'src', 'bin', 'anode-cli.js');

const dirs: string[] = [];

/** A temp directory removed when the test process ends. */
export function tempDir(prefix = 'anode-'): string {
  if (dirs.length === 0) process.once('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function staticKey(fill: number): StaticKey {
  const privateKey = Buffer.alloc(32, fill);
  return { privateKey, publicKey: secp.publicKey(privateKey) };
}

/** Logs to stderr when ANODE_TEST_LOG is set (e.g. ANODE_TEST_LOG=debug), silent otherwise. */
export function testLogger(): Logger {
  const level = process.env.ANODE_TEST_LOG;
  return level ? pino({ level }, pino.destination(2)) : pino({ level: 'silent' });
}

/** How often a test node polls btcd, ms. */
export const CHAIN_POLL_MS = 100;
/** The to_self_delay a test node asks of its peers (instead of 144), so force closes settle in a few blocks. */
export const TO_SELF_DELAY = 6;

/** The options a node on `btcd` runs with in channel tests: fast chain polling, channels usable after one confirmation. */
export function chainArgs(btcd: BtcdNode): string[] {
  return [`--dev-chain-poll=${CHAIN_POLL_MS}`, '--funding-confirms=1', `--watchtime-blocks=${TO_SELF_DELAY}`, ...btcd.anodeArgs];
}

export interface Daemon {
  dir: string;
  /** The JSON start line (nodeId, listening, grpc, rest, …). */
  line: Record<string, unknown>;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Its exit code, once it exited (after `stop` over RPC, say). */
  exited: Promise<number | null>;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash), resolved once the process is gone. */
  kill(): Promise<void>;
  /** Whether the process is still running. */
  running(): boolean;
}

/** Starts a daemon on `dir` (a new temp dir by default); resolves once its start line is out. */
export async function startDaemon(extra: string[], dir: string = tempDir()): Promise<Daemon> {
  const child = spawn(process.execPath, [ANODE, `--anode-dir=${dir}`, '--addr=127.0.0.1:0', '--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      const text = c.toString();
      out += text;
      buf += text;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const o = JSON.parse(l) as Record<string, unknown>;
          if (typeof o.nodeId === 'string') resolve(o);
        } catch {
          /* not JSON */
        }
      }
    });
    void exited.then((code) => reject(new Error(`anode exited ${code} before starting: ${out.slice(-2000)}`)));
  });
  return {
    dir,
    line,
    output: () => out,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/** anode-cli against the daemon on `dir`; never throws. */
export function cli(dir: string, ...args: string[]): Promise<{ status: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ANODE_CLI, `--anode-dir=${dir}`, ...args], { encoding: 'utf8' }, (e, out, err) => {
      resolve({ status: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}

/** anode-cli's JSON answer; throws with its output when the exit status is not 0. */
export async function cliJson<T = Record<string, unknown>>(dir: string, ...args: string[]): Promise<T> {
  const r = await cli(dir, ...args);
  if (r.status !== 0) throw new Error(`anode-cli ${args.join(' ')} exited ${r.status}: ${r.out}${r.err}`);
  return JSON.parse(r.out) as T;
}

export interface TestNode {
  node: AnodeNode;
  dir: string;
  id: string;
  port: number;
  channels: ChannelManager;
  stop(): Promise<void>;
}

/** A whole anode node in this process on `btcd` (see {@link chainArgs}), listening on 127.0.0.1. */
export async function startNode(btcd: BtcdNode, opts: { dir?: string; extra?: string[]; configure?: (c: Config) => void; log?: Logger } = {}): Promise<TestNode> {
  const dir = opts.dir ?? tempDir('anode-ch-');
  const { config } = loadConfig([`--anode-dir=${dir}`, '--addr=127.0.0.1:0', '--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0', ...chainArgs(btcd), ...(opts.extra ?? [])]);
  opts.configure?.(config);
  const node = await AnodeNode.start(config, opts.log ?? testLogger());
  return {
    node,
    dir,
    id: node.nodeId.toString('hex'),
    port: node.peers.bound[0]!.port,
    channels: node.channels!,
    stop: () => node.stop(),
  };
}

/** Sends `sat` to a fresh wallet address of `n` and waits until the wallet sees it confirmed. */
export async function fundWallet(btcd: BtcdNode, n: TestNode, sat: bigint): Promise<void> {
  const { address } = await n.node.wallet!.newAddress('p2wpkh');
  await btcd.fund(addressToScript(address, btcNetwork('regtest')), sat);
  await until(async () => (await n.node.wallet!.listFunds()).some((o) => o.status === 'confirmed' && o.amountSat === sat), { what: 'wallet funds confirmed', timeoutMs: 30_000 });
}

/** The node's confirmed on-chain balance, sat. */
export async function walletBalance(n: TestNode): Promise<bigint> {
  return (await n.node.wallet!.listFunds()).filter((o) => o.status === 'confirmed').reduce((s, o) => s + o.amountSat, 0n);
}

export interface TestPeerManager {
  manager: PeerManager;
  store: Store;
  port: number;
  close(): Promise<void>;
}

/**
 * anode's real peer manager on 127.0.0.1 (ephemeral port) with a real SQLite file in a temp dir:
 * the code a user runs, minus the daemon shell.
 */
export async function startPeerManager(overrides: Partial<PeerManagerOptions> = {}): Promise<TestPeerManager> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-peer-'));
  const store = await openSqliteStore(join(dir, 'anode.sqlite3'));
  const manager = new PeerManager({
    ...DEFAULT_PEER_OPTIONS,
    localKey: staticKey(0x42),
    chainHash: CHAIN_HASH.regtest,
    features: INIT_FEATURES,
    listen: [{ host: '127.0.0.1', port: 0 }],
    peers: store.peers,
    log: testLogger(),
    ...overrides,
  });
  await manager.start();
  return {
    manager,
    store,
    port: manager.bound[0]?.port ?? 0,
    async close() {
      await manager.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
