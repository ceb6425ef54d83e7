/**
 * btcd regtest harness: a real Bitcoin full node (btcd v0.24.2, Go) as a child process, for every test
 * that needs a chain — mining, mempool acceptance with full script validation, raw blocks.
 *
 *   const btcd = useBtcd('my feature');   // one node for the file: skip loudly, or fail under ANODE_REQUIRE_INTEROP=1
 *   test('…', { skip: btcd.skip }, async () => {
 *     const node = btcd.node;               // started in before(), stopped in after()
 *     const key = newP2wpkhKey();
 *     const utxo = await node.fund(key.script, 1_000_000n);   // coinbase → key, confirmed
 *     const spend = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script, amountSat }]);
 *     await node.sendRawTransaction(spend.hex); await node.generate(1);
 *   });
 *
 * `btcdGate` + `BtcdNode.start()` + `stopAllBtcd` are the parts, for a test that needs its own nodes.
 *
 * Binaries: `$BTCD_BIN` (the btcd binary; btcctl beside it), else `$(go env GOPATH)/bin/btcd`, else PATH.
 * Install with scripts/install-btcd.sh. The miner key is the harness's own (random per node, or given):
 * coinbases pay to its P2WPKH address, and `fund` spends mature ones (100 confirmations) to any script.
 * `ANODE_INTEROP_VERBOSE=1` echoes btcd's log.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction, p2wpkh } from '@scure/btc-signer';
import { after, before } from 'node:test';
import { interopGate, type InteropGate } from '../interop/adapter.js';
import { BitcoindRpcClient } from '../../src/chain/bitcoind-rpc.js';
import { parseBlock, type Block } from '../../src/chain/block.js';
import { until } from './wait.js';

/** lightningd/bitcoind-style network params for regtest addresses (bech32 hrp `bcrt`). */
export const REGTEST_NETWORK = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef } as const;
/** Coinbase outputs need this many confirmations before they can be spent. */
export const COINBASE_MATURITY = 100;

export interface BtcdBinaries {
  ok: boolean;
  btcd?: string;
  btcctl?: string;
  reason?: string;
}

let cachedBinaries: BtcdBinaries | undefined;

/** Locates btcd: $BTCD_BIN, then $(go env GOPATH)/bin, then ~/go/bin, then PATH. */
export function findBtcd(): BtcdBinaries {
  if (cachedBinaries) return cachedBinaries;
  const candidates: string[] = [];
  if (process.env.BTCD_BIN) candidates.push(process.env.BTCD_BIN);
  const go = spawnSync('go', ['env', 'GOBIN', 'GOPATH'], { encoding: 'utf8', timeout: 15_000 });
  if (go.status === 0) {
    const [gobin, gopath] = go.stdout.split('\n');
    if (gobin) candidates.push(path.join(gobin, 'btcd'));
    for (const p of (gopath ?? '').split(path.delimiter)) if (p) candidates.push(path.join(p, 'bin', 'btcd'));
  }
  candidates.push(path.join(homedir(), 'go', 'bin', 'btcd'));
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'btcd'));
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const v = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    if (v.status !== 0) continue;
    const ctl = path.join(path.dirname(c), 'btcctl');
    cachedBinaries = { ok: true, btcd: c, ...(existsSync(ctl) ? { btcctl: ctl } : {}) };
    return cachedBinaries;
  }
  cachedBinaries = {
    ok: false,
    reason: `btcd not found (looked at ${process.env.BTCD_BIN ? '$BTCD_BIN, ' : ''}$(go env GOPATH)/bin, ~/go/bin, PATH); run scripts/install-btcd.sh or set BTCD_BIN`,
  };
  return cachedBinaries;
}

export interface BtcdGate extends InteropGate {
  binaries: BtcdBinaries;
}

/** The project's interop convention for btcd: skip with a loud message, or fail under ANODE_REQUIRE_INTEROP=1. */
export function btcdGate(what: string): BtcdGate {
  const binaries = findBtcd();
  return { ...interopGate('btcd', what, binaries.ok ? null : (binaries.reason ?? 'btcd not usable')), binaries };
}

export interface SharedBtcd {
  /** For `describe(…, { skip })`: see {@link btcdGate}. */
  skip: string | false;
  /** The running node; available inside tests (after the file's before() hook). */
  readonly node: BtcdNode;
}

/**
 * One btcd for the whole test file: started (soft forks active) in a top-level before() hook, then
 * `setup` (what the file builds on the chain: towers, clients); at the end `teardown` (the same, taken
 * down), then every btcd of the file stopped. Skips loudly when btcd is missing, fails under
 * ANODE_REQUIRE_INTEROP=1. (`setup` rather than a before() hook of the file's own: Node 20 runs
 * top-level before() hooks concurrently.)
 */
export function useBtcd(
  what: string,
  opts: BtcdOptions & { setup?: (node: BtcdNode) => Promise<void>; teardown?: () => unknown } = {},
): SharedBtcd {
  const { setup, teardown, ...btcdOptions } = opts;
  const gate = btcdGate(what);
  let node: BtcdNode | undefined;
  before(async () => {
    if (gate.skip) return;
    gate.require();
    node = await BtcdNode.start(btcdOptions);
    await setup?.(node);
  });
  after(async () => {
    await teardown?.();
    await stopAllBtcd();
  });
  return {
    skip: gate.skip,
    get node(): BtcdNode {
      if (!node) throw new Error(`btcd harness: no btcd for ${what} (used before the file's before() hook?)`);
      return node;
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound then released; a tiny race is possible, start() retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface P2wpkhKey {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /** Output script `0014<hash160>`. */
  script: Uint8Array;
  /** bcrt1… address. */
  address: string;
}

/** A P2WPKH key pair, random unless `privateKey` is given. */
export function newP2wpkhKey(privateKey?: Uint8Array): P2wpkhKey {
  const priv = privateKey ?? secp256k1.utils.randomSecretKey();
  const publicKey = secp256k1.getPublicKey(priv, true);
  const pay = p2wpkh(publicKey, REGTEST_NETWORK);
  return { privateKey: priv, publicKey, script: pay.script, address: pay.address! };
}

export interface Utxo {
  txid: string;
  vout: number;
  amountSat: bigint;
  script: Uint8Array;
}

export interface SignedTx {
  hex: string;
  txid: string;
  raw: Uint8Array;
  /** Virtual size. */
  vsize: number;
}

/** Builds and signs (SIGHASH_ALL, BIP143) a transaction spending P2WPKH outputs, with @scure/btc-signer. */
export function signP2wpkhSpend(
  inputs: readonly { utxo: Utxo; privateKey: Uint8Array; sequence?: number }[],
  outputs: readonly { script: Uint8Array; amountSat: bigint }[],
  opts: { lockTime?: number; version?: number } = {},
): SignedTx {
  const tx = new Transaction({ allowUnknownOutputs: true, version: opts.version ?? 2, lockTime: opts.lockTime ?? 0 });
  for (const i of inputs)
    tx.addInput({
      txid: i.utxo.txid,
      index: i.utxo.vout,
      witnessUtxo: { script: i.utxo.script, amount: i.utxo.amountSat },
      ...(i.sequence !== undefined ? { sequence: i.sequence } : {}),
    });
  for (const o of outputs) tx.addOutput({ script: o.script, amount: o.amountSat });
  inputs.forEach((i, idx) => tx.signIdx(i.privateKey, idx));
  tx.finalize();
  return { hex: tx.hex, txid: tx.id, raw: tx.extract(), vsize: tx.vsize };
}

export interface BtcdOptions {
  /** Default: a free port. */
  rpcPort?: number;
  /** Default: a free port. */
  p2pPort?: number;
  /** Default: a fresh temp dir, removed by stop() (kept by stop({ keepData: true }) / restart()). */
  datadir?: string;
  /** The miner's private key (coinbases pay to its P2WPKH). Default: random. */
  minerKey?: Uint8Array;
  rpcUser?: string;
  rpcPassword?: string;
  /** Build a transaction index so getrawtransaction finds confirmed transactions. Default true. */
  txindex?: boolean;
  /** Extra btcd arguments, e.g. ['--rejectnonstd']. */
  extraArgs?: string[];
  /** Receives btcd's log lines. Default: kept in a ring buffer (`recentLog()`), echoed if ANODE_INTEROP_VERBOSE=1. */
  log?: (line: string) => void;
  /** Default 30 000 ms. */
  startTimeoutMs?: number;
  /**
   * Mine to {@link SOFT_FORKS_ACTIVE_HEIGHT} on start so CSV, segwit and taproot are active (btcd regtest
   * activates them by BIP9 signalling: three 144-block windows). Default true; costs ~0.1 s.
   */
  activateSoftForks?: boolean;
}

/** Height at which btcd regtest has CSV, segwit and taproot active (BIP9: DEFINED→STARTED→LOCKED_IN→ACTIVE). */
export const SOFT_FORKS_ACTIVE_HEIGHT = 432;

const live = new Set<BtcdNode>();
let exitHook = false;
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const n of live) n.killSync();
  });
}

/** Stops every btcd this process started (for `after(stopAllBtcd)`). */
export async function stopAllBtcd(): Promise<void> {
  await Promise.all([...live].map((n) => n.stop()));
}

const LOG_RING = 200;

export class BtcdNode {
  readonly rpcPort: number;
  readonly p2pPort: number;
  readonly datadir: string;
  readonly rpcUser: string;
  readonly rpcPassword: string;
  readonly miner: P2wpkhKey;
  /** ms from spawn until the RPC answered, for the last start. */
  startupMs = 0;

  private readonly opts: BtcdOptions;
  private readonly ownsDatadir: boolean;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly ring: string[] = [];
  private client: BitcoindRpcClient;
  /** Coinbase txids already spent by fund(). */
  private readonly spentCoinbases = new Set<string>();
  private nextCoinbaseHeight = 1;

  private constructor(opts: BtcdOptions, rpcPort: number, p2pPort: number) {
    this.opts = opts;
    this.rpcPort = rpcPort;
    this.p2pPort = p2pPort;
    this.ownsDatadir = opts.datadir === undefined;
    this.datadir = opts.datadir ?? mkdtempSync(path.join(tmpdir(), 'anode-btcd-'));
    this.rpcUser = opts.rpcUser ?? 'anode';
    this.rpcPassword = opts.rpcPassword ?? randomBytes(12).toString('hex');
    this.miner = newP2wpkhKey(opts.minerKey);
    this.client = this.makeClient();
  }

  /** Starts btcd and waits until its RPC answers. */
  static async start(opts: BtcdOptions = {}): Promise<BtcdNode> {
    const bins = findBtcd();
    if (!bins.ok) throw new Error(`btcd harness: ${bins.reason}`);
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const node = new BtcdNode(opts, opts.rpcPort ?? (await freePort()), opts.p2pPort ?? (await freePort()));
      try {
        await node.spawn();
        if (opts.activateSoftForks !== false) await node.mineTo(SOFT_FORKS_ACTIVE_HEIGHT);
        return node;
      } catch (e) {
        lastErr = e;
        await node.stop();
        if (opts.rpcPort !== undefined && opts.p2pPort !== undefined) break; // fixed ports: no point retrying
      }
    }
    throw lastErr;
  }

  private makeClient(): BitcoindRpcClient {
    return new BitcoindRpcClient({
      host: '127.0.0.1',
      port: this.rpcPort,
      user: this.rpcUser,
      password: this.rpcPassword,
      timeoutMs: 60_000,
      retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 500 },
    });
  }

  /** Connection settings for anode's chain client (BitcoindRpcOptions). */
  get rpcOptions(): { host: string; port: number; user: string; password: string } {
    return { host: '127.0.0.1', port: this.rpcPort, user: this.rpcUser, password: this.rpcPassword };
  }

  /** The same settings as anode command-line options. */
  get anodeArgs(): string[] {
    return [
      '--bitcoin-rpcconnect=127.0.0.1',
      `--bitcoin-rpcport=${this.rpcPort}`,
      `--bitcoin-rpcuser=${this.rpcUser}`,
      `--bitcoin-rpcpassword=${this.rpcPassword}`,
    ];
  }

  get running(): boolean {
    return this.child !== null;
  }

  recentLog(): string {
    return this.ring.join('\n');
  }

  private note(line: string): void {
    if (this.opts.log) this.opts.log(line);
    this.ring.push(line);
    if (this.ring.length > LOG_RING) this.ring.shift();
    if (process.env.ANODE_INTEROP_VERBOSE === '1') console.error(`[btcd:${this.rpcPort}] ${line}`);
  }

  private async spawn(): Promise<void> {
    if (this.child) throw new Error('btcd harness: already running');
    const bins = findBtcd();
    const args = [
      '--regtest',
      '--notls',
      `--rpclisten=127.0.0.1:${this.rpcPort}`,
      `--rpcuser=${this.rpcUser}`,
      `--rpcpass=${this.rpcPassword}`,
      `--listen=127.0.0.1:${this.p2pPort}`,
      `--datadir=${path.join(this.datadir, 'data')}`,
      `--logdir=${path.join(this.datadir, 'logs')}`,
      `--miningaddr=${this.miner.address}`,
      '--nodnsseed',
      '--debuglevel=info',
      ...(this.opts.txindex === false ? [] : ['--txindex']),
      ...(this.opts.extraArgs ?? []),
    ];
    const t0 = Date.now();
    const child = spawn(bins.btcd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(this);
    installExitHook();
    let exitInfo: string | null = null;
    this.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        exitInfo = `btcd exited (code ${code}, signal ${signal})`;
        if (this.child === child) this.child = null;
        live.delete(this);
        resolve();
      });
      child.on('error', (e) => {
        exitInfo = `btcd failed to start: ${e.message}`;
        if (this.child === child) this.child = null;
        live.delete(this);
        resolve();
      });
    });
    const onData = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n')) if (line.trim()) this.note(line);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);

    this.client.close();
    this.client = this.makeClient();
    const answered = async (): Promise<boolean> => {
      if (exitInfo) throw new Error(`btcd harness: ${exitInfo} before its RPC answered; log:\n${this.recentLog()}`);
      return this.client.call('getblockcount', [], { retry: false }).then(() => true, () => false);
    };
    await until(answered, { what: `btcd's RPC on 127.0.0.1:${this.rpcPort}`, timeoutMs: this.opts.startTimeoutMs ?? 30_000, intervalMs: 50 }).catch((e: Error) => {
      throw exitInfo ? e : new Error(`btcd harness: ${e.message}; log:\n${this.recentLog()}`);
    });
    this.startupMs = Date.now() - t0;
  }

  /** Calls any btcd RPC (few retries). */
  rpc<T = unknown>(method: string, params: unknown[] = []): Promise<T> {
    return this.client.call(method, params) as Promise<T>;
  }

  /** Mines `n` blocks (coinbases to the miner key); returns their hashes. */
  async generate(n: number): Promise<string[]> {
    return this.rpc<string[]>('generate', [n]);
  }

  getBlockCount(): Promise<number> {
    return this.client.getBlockCount();
  }
  getBestBlockHash(): Promise<string> {
    return this.client.getBestBlockHash();
  }
  getBlockHash(height: number): Promise<string> {
    return this.client.getBlockHash(height);
  }
  getRawBlock(hash: string): Promise<Uint8Array> {
    return this.client.getRawBlock(hash);
  }
  async getBlock(hash: string): Promise<Block> {
    return parseBlock(await this.client.getRawBlock(hash));
  }
  getRawTransaction(txid: string): Promise<Uint8Array> {
    return this.client.getRawTransaction(txid);
  }
  /** Submits a transaction; rejects with btcd's message (ChainError TX_REJECTED) when refused. */
  sendRawTransaction(tx: Uint8Array | string): Promise<string> {
    return this.client.sendRawTransaction(tx);
  }
  /**
   * Submits transactions a Lightning node broadcast, in order. Two nodes often broadcast the same one, or
   * two conflicting commitments: a transaction already in the mempool or chain, or beaten by a conflict,
   * is not an error. Returns their txids.
   */
  async publish(txs: readonly string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const hex of txs) {
      ids.push(Transaction.fromRaw(Buffer.from(hex, 'hex'), { allowUnknownOutputs: true }).id);
      try {
        await this.sendRawTransaction(hex);
      } catch (e) {
        if (!/already|spent|conflict|orphan|missing|replacement/i.test(String((e as Error).message))) throw e;
      }
    }
    return ids;
  }
  async getRawMempool(): Promise<string[]> {
    return this.rpc<string[]>('getrawmempool');
  }
  /** Marks a block (and its descendants) invalid: the chain reorgs to the best other branch. */
  async invalidateBlock(hash: string): Promise<void> {
    await this.rpc('invalidateblock', [hash]);
  }
  async reconsiderBlock(hash: string): Promise<void> {
    await this.rpc('reconsiderblock', [hash]);
  }
  /** Connects to another harness node over P2P (regtest). */
  async connectTo(other: BtcdNode): Promise<void> {
    await this.rpc('node', ['connect', `127.0.0.1:${other.p2pPort}`, 'perm']);
  }
  /** Waits until this node's best block is `hash`. */
  async waitForBestBlock(hash: string, timeoutMs = 20_000): Promise<void> {
    await until(async () => (await this.getBestBlockHash()) === hash, { what: `btcd's best block to become ${hash}`, timeoutMs, intervalMs: 50 });
  }

  /**
   * Mines one block at a time until `cond` holds, fails after `maxBlocks` (default 20). After each block,
   * `follow` (feeding blocks to a node that needs them) runs, then the nodes under test get `settleMs`
   * (default 1500) to see the block, `cond` being checked every 50 ms.
   */
  async mineUntil(
    cond: () => boolean | Promise<boolean>,
    what: string,
    opts: { maxBlocks?: number; settleMs?: number; follow?: () => Promise<void> } = {},
  ): Promise<void> {
    const { maxBlocks = 20, settleMs = 1500, follow } = opts;
    for (let i = 0; i < maxBlocks; i++) {
      if (await cond()) return;
      await this.generate(1);
      await follow?.();
      if (await until(cond, { what, timeoutMs: settleMs, intervalMs: 50 }).then(() => true, () => false)) return;
    }
    throw new Error(`btcd harness: ${what}: not reached after ${maxBlocks} blocks`);
  }

  /** The main-chain height and raw bytes of transaction `txid`, searching from block `from` to the tip; null if not mined. */
  async minedAt(txid: string, from: number): Promise<{ height: number; raw: Uint8Array } | null> {
    const count = await this.getBlockCount();
    for (let h = from; h <= count; h++) {
      const tx = (await this.getBlock(await this.getBlockHash(h))).transactions.find((t) => t.txid === txid);
      if (tx) return { height: h, raw: tx.raw };
    }
    return null;
  }

  /** Mines blocks until the chain is at least `height` high. */
  async mineTo(height: number): Promise<void> {
    const count = await this.getBlockCount();
    if (count < height) await this.generate(height - count);
  }

  /**
   * The next unspent, mature coinbase output paying the miner (mines to maturity if there is none).
   * Marks it used; the output is the coinbase's first.
   */
  async takeMatureCoinbase(): Promise<Utxo> {
    for (;;) {
      const count = await this.getBlockCount();
      if (this.nextCoinbaseHeight + COINBASE_MATURITY > count) {
        await this.generate(this.nextCoinbaseHeight + COINBASE_MATURITY - count);
        continue;
      }
      const height = this.nextCoinbaseHeight++;
      const block = await this.getBlock(await this.getBlockHash(height));
      const cb = block.transactions[0]!;
      if (this.spentCoinbases.has(cb.txid)) continue;
      const vout = cb.outputs.findIndex((o) => Buffer.from(o.script).equals(Buffer.from(this.miner.script)));
      if (vout < 0) continue; // mined by another node
      this.spentCoinbases.add(cb.txid);
      return { txid: cb.txid, vout, amountSat: cb.outputs[vout]!.valueSat, script: this.miner.script };
    }
  }

  /**
   * Sends `amountSat` to `script` from a mature coinbase (change back to the miner), and mines one block
   * to confirm it unless `confirm: false`. Returns the new output.
   */
  async fund(script: Uint8Array, amountSat: bigint, opts: { confirm?: boolean; feeSat?: bigint } = {}): Promise<Utxo> {
    const cb = await this.takeMatureCoinbase();
    const fee = opts.feeSat ?? 5_000n;
    const change = cb.amountSat - amountSat - fee;
    if (change < 0n) throw new Error(`btcd harness: fund: ${amountSat} sat is more than a coinbase (${cb.amountSat}) minus fee`);
    const outputs = [{ script, amountSat }];
    if (change >= 1_000n) outputs.push({ script: this.miner.script, amountSat: change });
    const tx = signP2wpkhSpend([{ utxo: cb, privateKey: this.miner.privateKey }], outputs);
    await this.sendRawTransaction(tx.hex);
    if (opts.confirm !== false) await this.generate(1);
    return { txid: tx.txid, vout: 0, amountSat, script };
  }

  /** Stops btcd (SIGTERM, then SIGKILL after 10 s). Removes a temp datadir unless `keepData`. Idempotent. */
  async stop(opts: { keepData?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (child) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(t);
    }
    this.client.close();
    live.delete(this);
    if (this.ownsDatadir && !opts.keepData) rmSync(this.datadir, { recursive: true, force: true });
  }

  /** Kills btcd at once (SIGKILL), keeping its data. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Starts btcd again on the same ports and datadir (after stop({ keepData: true }) or kill()).
   * NOTE: btcd deletes its regtest block database at every start-up (btcd.go `removeRegressionDB`), so
   * the restarted node is back at genesis. To simulate a backend outage without losing the chain, put a
   * {@link TcpProxy} in front of the RPC port and `cut()` / `restore()` it.
   */
  async restart(): Promise<void> {
    if (this.child) await this.stop({ keepData: true });
    await this.spawn();
  }

  /** For the process exit hook. */
  killSync(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      /* gone */
    }
    if (this.ownsDatadir) rmSync(this.datadir, { recursive: true, force: true });
  }
}

/**
 * A loopback TCP proxy to a port (e.g. btcd's RPC): `cut()` closes every connection and refuses new
 * ones (the backend looks down: ECONNREFUSED), `restore()` accepts again on the same port.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private constructor(readonly port: number, readonly targetPort: number) {}

  static async start(targetPort: number, port?: number): Promise<TcpProxy> {
    const p = new TcpProxy(port ?? (await freePort()), targetPort);
    await p.restore();
    return p;
  }

  get up(): boolean {
    return this.server !== null;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const srv = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client);
      this.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = srv;
  }

  async cut(): Promise<void> {
    const srv = this.server;
    if (!srv) return;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((r) => srv.close(() => r()));
  }

  close(): Promise<void> {
    return this.cut();
  }
}
