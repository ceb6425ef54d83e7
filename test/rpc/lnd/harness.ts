import { execFile, spawnSync } from 'node:child_process';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeCore } from '../../../src/node/core/index.js';
import { startPeerManager, testLogger, type TestPeerManager } from '../../harness/daemon.js';
import { MemoryRootKeyStore } from '../../../src/rpc/lnd/macaroons.js';
import { protoDir, PROTO_FILES } from '../../../src/rpc/lnd/methods.js';
import { startLndRpc, type LndRpcHandle } from '../../../src/rpc/lnd/server.js';
import { until } from '../../harness/wait.js';

export interface TestLndRpc {
  pm: TestPeerManager;
  rpc: LndRpcHandle;
  core: NodeCore;
  dir: string;
  rootKeys: MemoryRootKeyStore;
  cert: string;
  admin: Buffer;
  readonly: Buffer;
  grpcAddr: string;
  restPort: number;
  close(): Promise<void>;
}

/**
 * A real PeerManager (SQLite, loopback) behind anode's LND gRPC + REST on ephemeral ports. The alias
 * and colour are configured as LND's defaults (first 10 bytes of the node key in hex, #3399ff), which
 * the shell must pass through unchanged.
 */
export async function startTestLndRpc(coreExtras: Partial<Pick<NodeCore, 'watchtowerClient' | 'tower'>> = {}): Promise<TestLndRpc> {
  const pm = await startPeerManager();
  const dir = mkdtempSync(join(tmpdir(), 'anode-lndrpc-'));
  const rootKeys = new MemoryRootKeyStore();
  const core: NodeCore = {
    nodeId: pm.manager.nodeId,
    peers: pm.manager,
    peerStore: pm.store.peers,
    channels: pm.store.channels,
    config: { network: 'regtest', dataDir: dir, alias: pm.manager.nodeId.toString('hex').slice(0, 20), rgb: '3399ff', defaultPort: 9735, version: 'v0.1.0-anode' },
    stop: async () => undefined,
    ...coreExtras,
  };
  const rpc = await startLndRpc({
    core,
    rpcListen: [{ host: '127.0.0.1', port: 0 }],
    restListen: [{ host: '127.0.0.1', port: 0 }],
    tlsDir: dir,
    extraIps: [],
    extraDomains: [],
    macaroonDir: dir,
    rootKeys,
    log: testLogger(),
  });
  return {
    pm,
    rpc,
    core,
    dir,
    rootKeys,
    cert: rpc.certPem,
    admin: readFileSync(rpc.adminMacaroonPath),
    readonly: readFileSync(rpc.readonlyMacaroonPath),
    grpcAddr: `127.0.0.1:${rpc.rpc[0]!.port}`,
    restPort: rpc.rest[0]!.port,
    async close() {
      await rpc.stop();
      await pm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RestReply {
  status: number;
  body: Record<string, unknown>;
}

/** Where a REST client talks to: port, the server's certificate, the admin macaroon. */
export interface RestTarget {
  restPort: number;
  cert: string;
  admin: Buffer;
}

export function rest(t: RestTarget, method: string, path: string, opts: { macaroon?: Buffer | string | null; body?: unknown; ca?: string } = {}): Promise<RestReply> {
  return new Promise((resolve, reject) => {
    const req = restRequest(t, method, path, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
  });
}

function restRequest(t: RestTarget, method: string, path: string, opts: { macaroon?: Buffer | string | null; body?: unknown; ca?: string }, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const mac = opts.macaroon === undefined ? t.admin : opts.macaroon;
  const headers: Record<string, string> = {};
  if (mac !== null) headers['Grpc-Metadata-macaroon'] = typeof mac === 'string' ? mac : mac.toString('hex');
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const req = request({ host: '127.0.0.1', port: t.restPort, method, path, headers, ca: opts.ca ?? t.cert, servername: 'localhost' }, onResponse);
  req.end(payload);
  return req;
}

/** A REST server stream: each newline-delimited JSON object as it arrives; `close` ends it from our side. */
export interface RestStream {
  status: Promise<number>;
  lines: Record<string, unknown>[];
  /** Resolves with the first line (already received or to come) that satisfies `pred`. */
  next(pred: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

export function restStream(t: RestTarget, method: string, path: string, body?: unknown): RestStream {
  const lines: Record<string, unknown>[] = [];
  let resolveStatus!: (n: number) => void;
  let resolveEnded!: () => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((r) => (resolveEnded = r));
  let buf = '';
  const req = restRequest(t, method, path, { body }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      }
    });
    res.on('end', () => {
      if (buf.trim()) lines.push(JSON.parse(buf) as Record<string, unknown>);
      resolveEnded();
    });
    res.on('error', () => resolveEnded());
  });
  req.on('error', () => {
    resolveStatus(0);
    resolveEnded();
  });
  return {
    status,
    lines,
    ended,
    next: (pred, what, timeoutMs = 60_000) => until(() => lines.find(pred), { what, timeoutMs, intervalMs: 20 }),
    close: () => req.destroy(),
  };
}

const PYTHON = process.env.ANODE_PYTHON ?? 'python3';

/** Why grpcio (Python) cannot be used here, or undefined when it can. */
export function grpcioMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools.protoc'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : (r.stderr || r.error?.message || 'import failed').trim().split('\n').pop();
}

/** Python stubs for every proto/ file, generated by grpc_tools.protoc into `dir`. */
export function generatePythonStubs(dir: string): void {
  const gen = spawnSync(PYTHON, ['-m', 'grpc_tools.protoc', `-I${protoDir()}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`, ...PROTO_FILES], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`grpc_tools.protoc failed: ${gen.stderr}`);
}

/** Runs a Python client without blocking this process's event loop (the servers under test run in it). */
export function runPython(script: string, args: string[], timeoutMs = 120_000): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(PYTHON, ['-c', script, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ status: err ? 1 : 0, stdout, stderr })),
  );
}
