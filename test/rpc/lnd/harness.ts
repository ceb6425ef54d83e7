import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeCore } from '../../../src/node/core/index.js';
import { startPeerManager, testLogger, type TestPeerManager } from '../../harness/daemon.js';
import { MemoryRootKeyStore } from '../../../src/rpc/lnd/macaroons.js';
import { startLndRpc, type LndRpcHandle } from '../../../src/rpc/lnd/server.js';

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

export function rest(t: TestLndRpc, method: string, path: string, opts: { macaroon?: Buffer | string | null; body?: unknown; ca?: string } = {}): Promise<RestReply> {
  const mac = opts.macaroon === undefined ? t.admin : opts.macaroon;
  const headers: Record<string, string> = {};
  if (mac !== null) headers['Grpc-Metadata-macaroon'] = typeof mac === 'string' ? mac : mac.toString('hex');
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: t.restPort, method, path, headers, ca: opts.ca ?? t.cert, servername: 'localhost' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

