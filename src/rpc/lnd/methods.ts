import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { observeCall, type NodeCore } from '../../node/core/index.js';
import { RpcError, Status } from './errors.js';
import * as lightning from './lightning.js';
import { MacaroonError, MacaroonVerifier } from './macaroons.js';
import { METHOD_PERMISSIONS, unknownPermissionsMessage } from './permissions.js';
import { Schema } from './protojson.js';
import { towerGetInfo } from './watchtower.js';
import * as wt from './wtclient.js';
import { PAYMENT_HANDLERS } from './payments.js';

/**
 * The method table both front ends (gRPC and the REST gateway) dispatch through: LND's services as
 * declared in proto/, the handlers anode implements, and the authorisation step LND's interceptor
 * runs before every call.
 */

/** proto/ at the repository (and package) root, from src/rpc/lnd or dist/src/rpc/lnd. */
export function protoDir(): string {
  const candidates = ['../../../../proto/', '../../../proto/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((d) => existsSync(`${d}lightning.proto`)) ?? candidates[0]!;
}

export const PROTO_FILES = ['lightning.proto', 'wtclientrpc/wtclient.proto', 'watchtowerrpc/watchtower.proto'];
export const SERVICES = ['lnrpc.Lightning', 'wtclientrpc.WatchtowerClient', 'watchtowerrpc.Watchtower'] as const;

/** proto-loader settings that match what ln-service uses, so handlers see the same shapes. */
export const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

let cached: PackageDefinition | undefined;
export function packageDefinition(): PackageDefinition {
  cached ??= loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
  return cached;
}

export interface CallContext {
  /** Caller's IP (no port). */
  peerIp: string | undefined;
  /** Every `macaroon` metadata value sent. */
  macaroons: string[];
}

type Msg = Record<string, unknown>;
export type Handler = (req: Msg, core: NodeCore) => Promise<Msg>;

export interface MethodInfo {
  service: string;
  name: string;
  /** `/pkg.Service/Method` */
  path: string;
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
  handler?: Handler;
}

function implementations(log: Logger): Record<string, Handler> {
  return {
    '/lnrpc.Lightning/GetInfo': (_req, core) => lightning.getInfo(core),
    '/lnrpc.Lightning/ConnectPeer': (req, core) =>
      lightning.connectPeer(core, req, (err) => log.info({ err: err.message }, 'lnrpc ConnectPeer: background connection failed')),
    '/lnrpc.Lightning/DisconnectPeer': (req, core) => lightning.disconnectPeer(core, req),
    '/lnrpc.Lightning/ListPeers': (_req, core) => lightning.listPeers(core),
    '/wtclientrpc.WatchtowerClient/AddTower': (req, core) => wt.addTower(core, req),
    '/wtclientrpc.WatchtowerClient/RemoveTower': (req, core) => wt.removeTower(core, req),
    '/wtclientrpc.WatchtowerClient/DeactivateTower': (req, core) => wt.deactivateTower(core, req),
    '/wtclientrpc.WatchtowerClient/TerminateSession': (req, core) => wt.terminateSession(core, req),
    '/wtclientrpc.WatchtowerClient/ListTowers': (req, core) => wt.listTowers(core, req),
    '/wtclientrpc.WatchtowerClient/GetTowerInfo': (req, core) => wt.getTowerInfo(core, req),
    '/wtclientrpc.WatchtowerClient/Stats': (_req, core) => wt.stats(core),
    '/wtclientrpc.WatchtowerClient/Policy': (req, core) => wt.policy(core, req),
    '/watchtowerrpc.Watchtower/GetInfo': (_req, core) => towerGetInfo(core),
    ...PAYMENT_HANDLERS,
  };
}

interface LoadedMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: { name: string } };
  responseType: { type: { name: string } };
}

/** Every method of the three services, with its handler when anode implements it. */
export function methodTable(log: Logger): Map<string, MethodInfo> {
  const def = packageDefinition();
  const impl = implementations(log);
  const out = new Map<string, MethodInfo>();
  for (const service of SERVICES) {
    const pkg = service.slice(0, service.lastIndexOf('.'));
    const svc = def[service] as unknown as Record<string, LoadedMethod>;
    for (const [name, m] of Object.entries(svc)) {
      out.set(m.path, {
        service,
        name,
        path: m.path,
        requestType: `${pkg}.${m.requestType.type.name}`,
        responseType: `${pkg}.${m.responseType.type.name}`,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        handler: impl[m.path],
      });
    }
  }
  return out;
}

export function schema(): Schema {
  return new Schema(packageDefinition());
}

/**
 * LND's interceptor order: the method must have a permission entry; then the macaroon (exactly one,
 * hex, v2, identifier version 3, signature, caveats, ops or `uri:`). Refusals are plain errors:
 * gRPC Unknown, as LND sends them.
 */
export async function authorize(verifier: MacaroonVerifier, path: string, ctx: CallContext): Promise<void> {
  const perms = METHOD_PERMISSIONS[path];
  if (!perms) throw new Error(unknownPermissionsMessage(path));
  try {
    await verifier.checkMetadata(ctx.macaroons, [...perms], path, { peerIp: ctx.peerIp });
  } catch (err) {
    if (err instanceof MacaroonError) throw new Error(err.message);
    throw err;
  }
}

/** Authorises, then runs the handler, or answers UNIMPLEMENTED as grpc-go's generated stubs do. */
export async function invoke(verifier: MacaroonVerifier, core: NodeCore, m: MethodInfo, req: Msg, ctx: CallContext): Promise<Msg> {
  // Metrics: every gRPC/REST call counted and timed by method (node/core observeCall).
  return observeCall(core.rpcObserver, 'lnd', m.name, async () => {
    await authorize(verifier, m.path, ctx);
    if (!m.handler) throw new RpcError(Status.UNIMPLEMENTED, `method ${m.name} not implemented`);
    return m.handler(req, core);
  });
}
