/**
 * Benchmarks of the API shells:
 *  - CLN JSON-RPC `getinfo` over the unix socket, one client sequential and 16 clients concurrent,
 *    against a same-run reference: a bare unix-socket server that answers each framed request with a
 *    canned reply of the same size (the transport floor, no anode code).
 *  - `listpeers` latency with 1,000 connected peers (dialled from a child process), next to `getinfo`
 *    latency in the same run.
 *  - LND gRPC `GetInfo` over TLS with macaroon verification, 1 client and 16 concurrent, against a bare
 *    grpc-js server on the same TLS certificate answering the same message without any check.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { secp } from '../src/crypto/secp256k1.js';
import { INIT_FEATURES } from '../src/node/node.js';
import { DEFAULT_PEER_OPTIONS, PeerManager } from '../src/peer/manager.js';
import { createClnRpc } from '../src/rpc/cln/index.js';
import type { NodeCore } from '../src/node/core/index.js';
import { packageDefinition } from '../src/rpc/lnd/methods.js';
import { MemoryRootKeyStore } from '../src/rpc/lnd/macaroons.js';
import { startLndRpc } from '../src/rpc/lnd/server.js';
import { openSqliteStore } from '../src/store/database.js';
import { CHAIN_HASH } from '../src/wire/messages.js';
import { command, forkDialer } from './dialer-control.js';
import { compare, fmt, fmtInt, fmtPct, median, quantile, table, type Comparison, type Op, type RunOptions } from './harness.js';
import { until } from '../test/harness/wait.js';

const silent = pino({ level: 'silent' });

/** A JSON-RPC client on the unix socket with CLN framing (replies end with "\n\n"). */
class SocketClient {
  #buf = '';
  #waiting: ((reply: string) => void)[] = [];
  #id = 0;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buf += chunk;
      let i: number;
      while ((i = this.#buf.indexOf('\n\n')) >= 0) {
        const reply = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        this.#waiting.shift()?.(reply);
      }
    });
  }

  static async open(path: string): Promise<SocketClient> {
    const s = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new SocketClient(s);
  }

  call(method: string, params: unknown = {}): Promise<string> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.socket.write(JSON.stringify({ jsonrpc: '2.0', id: ++this.#id, method, params }));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The floor: a unix-socket server answering every `}`-terminated request with a fixed reply. */
async function echoServer(path: string, reply: string): Promise<Server> {
  const framed = `${reply}\n\n`;
  const server = createServer((s) => {
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      // One request per write from our client; answer each closing brace at depth 0 once.
      let depth = 0;
      for (const ch of chunk) {
        if (ch === '{') depth++;
        else if (ch === '}' && --depth === 0) s.write(framed);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return server;
}

function callsOp(name: string, clients: SocketClient[], method: string): Op {
  return {
    name,
    async run(n: number) {
      const per = Math.ceil(n / clients.length);
      await Promise.all(
        clients.map(async (c) => {
          for (let i = 0; i < per; i++) await c.call(method);
        }),
      );
    },
  };
}

export interface RpcBenchResult {
  getinfo: { clients: number; comparison: Comparison }[];
  listpeers: { peers: number; listpeersMs: { median: number; p99: number }; getinfoMs: { median: number; p99: number }; bytes: number };
  grpc: { clients: number; comparison: Comparison }[];
}

async function latencies(fn: () => Promise<unknown>, n: number): Promise<{ median: number; p99: number }> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  xs.sort((a, b) => a - b);
  return { median: median(xs), p99: quantile(xs, 0.99) };
}


export async function benchRpc(opts: RunOptions & { peers?: number; progress?: (s: string) => void }): Promise<RpcBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-rpc-'));
  const store = await openSqliteStore(join(dir, 'anode.sqlite3'));
  const privateKey = Buffer.alloc(32, 0x42);
  const manager = new PeerManager({
    ...DEFAULT_PEER_OPTIONS,
    pingIntervalMs: 3_600_000,
    maxPendingHandshakes: 2048,
    localKey: { privateKey, publicKey: secp.publicKey(privateKey) },
    chainHash: CHAIN_HASH.regtest,
    features: INIT_FEATURES,
    listen: [{ host: '127.0.0.1', port: 0 }],
    peers: store.peers,
    log: silent,
  });
  await manager.start();
  const core: NodeCore = {
    nodeId: manager.nodeId,
    peers: manager,
    peerStore: store.peers,
    channels: store.channels,
    config: { network: 'regtest', dataDir: dir, defaultPort: 9735, version: 'v0.1.0-anode' },
    stop: async () => undefined,
  };
  const path = join(dir, 'lightning-rpc');
  const rpc = createClnRpc({ core, path, developer: false, log: silent });
  await rpc.start();
  const result: Partial<RpcBenchResult> = {};
  const echoPath = join(dir, 'echo');
  let echo: Server | undefined;
  let dialer: ChildProcess | undefined;
  try {
    // --- getinfo over the socket vs the transport floor
    const probe = await SocketClient.open(path);
    const sample = await probe.call('getinfo');
    probe.close();
    echo = await echoServer(echoPath, sample);
    result.getinfo = [];
    for (const n of [1, 16]) {
      opts.progress?.(`rpc: getinfo, ${n} client(s) …`);
      const ours = await Promise.all(Array.from({ length: n }, () => SocketClient.open(path)));
      const floor = await Promise.all(Array.from({ length: n }, () => SocketClient.open(echoPath)));
      const comparison = await compare(callsOp(`getinfo ×${n}`, ours, 'getinfo'), callsOp(`floor ×${n}`, floor, 'getinfo'), opts);
      result.getinfo.push({ clients: n, comparison });
      ours.forEach((c) => c.close());
      floor.forEach((c) => c.close());
    }

    // --- listpeers with many connected peers
    const peers = opts.peers ?? 1000;
    opts.progress?.(`rpc: connecting ${peers} peers …`);
    dialer = forkDialer();
    await command(dialer, { cmd: 'connect', mode: 'anode', port: manager.bound[0]!.port, nodeId: manager.nodeId.toString('hex'), from: 0, count: peers, concurrency: 32 });
    await until(() => manager.list().length >= peers, { what: `${peers} peers`, timeoutMs: 120_000, intervalMs: 50 }).catch(() => {
      throw new Error(`bench: only ${manager.list().length} of ${peers} peers connected`);
    });
    const c = await SocketClient.open(path);
    const reply = await c.call('listpeers');
    const count = (JSON.parse(reply) as { result: { peers: unknown[] } }).result.peers.length;
    if (count !== peers) throw new Error(`bench: listpeers returned ${count} peers, expected ${peers}`);
    await latencies(() => c.call('listpeers'), 10);
    const listpeersMs = await latencies(() => c.call('listpeers'), 100);
    const getinfoMs = await latencies(() => c.call('getinfo'), 100);
    c.close();
    result.listpeers = { peers, listpeersMs, getinfoMs, bytes: Buffer.byteLength(reply) };
    await command(dialer, { cmd: 'close' });

    // --- LND gRPC GetInfo over TLS + macaroon vs a bare grpc-js server on the same certificate
    result.grpc = await benchGrpc(core, manager, dir, opts);
  } finally {
    dialer?.kill();
    echo?.close();
    await rpc.stop();
    await manager.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return result as RpcBenchResult;
}

async function benchGrpc(core: NodeCore, manager: PeerManager, dir: string, opts: RunOptions & { progress?: (s: string) => void }): Promise<{ clients: number; comparison: Comparison }[]> {
  const lnd = await startLndRpc({
    core,
    rpcListen: [{ host: '127.0.0.1', port: 0 }],
    restListen: [],
    tlsDir: dir,
    extraIps: [],
    extraDomains: [],
    macaroonDir: dir,
    rootKeys: new MemoryRootKeyStore(),
    log: silent,
  });
  const key = readFileSync(join(dir, 'tls.key'));
  const cert = Buffer.from(lnd.certPem);
  const macaroon = readFileSync(lnd.adminMacaroonPath).toString('hex');
  const pkg = grpc.loadPackageDefinition(packageDefinition()) as unknown as { lnrpc: { Lightning: grpc.ServiceClientConstructor } };
  const Lightning = pkg.lnrpc.Lightning;
  // The reference: the same service definition on a bare server, answering with the message our
  // GetInfo produced, with no macaroon check and no handler work.
  const creds = grpc.credentials.createSsl(cert);
  const probe = new Lightning(`127.0.0.1:${lnd.rpc[0]!.port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
  const meta = new grpc.Metadata();
  meta.set('macaroon', macaroon);
  const getInfo = (client: grpc.Client, md: grpc.Metadata): Promise<unknown> =>
    new Promise((resolve, reject) =>
      (client as unknown as Record<string, (req: object, md: grpc.Metadata, cb: (e: Error | null, r: unknown) => void) => void>).GetInfo!({}, md, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const canned = await getInfo(probe, meta);
  probe.close();
  const bare = new grpc.Server();
  bare.addService(Lightning.service, { GetInfo: (_call: unknown, cb: (e: null, r: unknown) => void) => cb(null, canned) });
  const barePort = await new Promise<number>((resolve, reject) =>
    bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const rows: { clients: number; comparison: Comparison }[] = [];
  try {
    for (const n of [1, 16]) {
      opts.progress?.(`rpc: gRPC GetInfo, ${n} client(s) …`);
      const mk = (port: number): grpc.Client[] =>
        Array.from({ length: n }, () => new Lightning(`127.0.0.1:${port}`, grpc.credentials.createSsl(cert), { 'grpc.ssl_target_name_override': 'localhost', 'grpc.use_local_subchannel_pool': 1 }));
      const ours = mk(lnd.rpc[0]!.port);
      const ref = mk(barePort);
      const op = (name: string, clients: grpc.Client[]): Op => ({
        name,
        async run(count: number) {
          const per = Math.ceil(count / clients.length);
          await Promise.all(
            clients.map(async (c) => {
              for (let i = 0; i < per; i++) await getInfo(c, meta);
            }),
          );
        },
      });
      rows.push({ clients: n, comparison: await compare(op(`GetInfo ×${n}`, ours), op(`bare ×${n}`, ref), opts) });
      [...ours, ...ref].forEach((c) => c.close());
    }
  } finally {
    bare.forceShutdown();
    await lnd.stop();
  }
  return rows;
}

export function printRpc(r: RpcBenchResult): string[] {
  const out: string[] = [];
  out.push('## 5. API shells');
  out.push('');
  const row = (label: string, c: Comparison): string[] => [
    label,
    fmtInt(c.candidate.median),
    fmtPct(c.candidate.iqrPct),
    fmtInt(c.reference.median),
    fmt(c.ratio),
    fmtPct(c.ratioIqrPct),
  ];
  out.push(
    table(
      ['calls', 'calls/s', 'IQR', 'reference calls/s', 'ratio', 'ratio IQR'],
      [
        ...r.getinfo.map((g) => row(`JSON-RPC getinfo, ${g.clients} client${g.clients > 1 ? 's' : ''} (ref: socket floor)`, g.comparison)),
        ...r.grpc.map((g) => row(`gRPC GetInfo, TLS + macaroon, ${g.clients} client${g.clients > 1 ? 's' : ''} (ref: bare grpc-js)`, g.comparison)),
      ],
    ),
  );
  out.push('');
  const l = r.listpeers;
  out.push(
    `listpeers with ${l.peers} connected peers (${fmtInt(l.bytes)} bytes): median ${fmt(l.listpeersMs.median)} ms, p99 ${fmt(l.listpeersMs.p99)} ms; ` +
      `getinfo in the same run: median ${fmt(l.getinfoMs.median)} ms, p99 ${fmt(l.getinfoMs.p99)} ms (ratio ${fmt(l.listpeersMs.median / l.getinfoMs.median, 1)}×)`,
  );
  return out;
}
