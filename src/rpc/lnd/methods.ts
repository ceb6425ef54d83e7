import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { observeCall, type NodeCore } from '../../node/core/index.js';
import { RpcError, Status } from './errors.js';
import { INVOICE_HANDLERS, INVOICE_STREAMS } from './invoices.js';
import * as lightning from './lightning.js';
import { MacaroonError, MacaroonVerifier } from './macaroons.js';
import { CHANNEL_HANDLERS, CHANNEL_STREAMS } from './channels.js';
import { METHOD_PERMISSIONS, UNAUTHENTICATED, unknownPermissionsMessage } from './permissions.js';
import { LIGHTNING_HANDLERS, LIGHTNING_STREAMS, stopDaemon } from './node.js';
import { WALLET_HANDLERS } from './wallet.js';
import { Schema } from './protojson.js';
import { towerGetInfo } from './watchtower.js';
import * as wt from './wtclient.js';
import { PAYMENT_HANDLERS } from './payments.js';
import { FORWARD_HANDLERS } from './forwards.js';
import { GRAPH_HANDLERS } from './graph.js';
import { ROUTE_HANDLERS } from './routes.js';
import { ROUTER_STREAMS } from './router.js';
import { MISSION_HANDLERS } from './mission.js';

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

export const PROTO_FILES = ['lightning.proto', 'stateservice.proto', 'verrpc/verrpc.proto', 'walletrpc/walletkit.proto', 'wtclientrpc/wtclient.proto', 'watchtowerrpc/watchtower.proto', 'routerrpc/router.proto'];
export const SERVICES = ['lnrpc.Lightning', 'lnrpc.State', 'verrpc.Versioner', 'walletrpc.WalletKit', 'wtclientrpc.WatchtowerClient', 'watchtowerrpc.Watchtower', 'routerrpc.Router'] as const;

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
/** A server-streaming method: sends each message with `send`, resolves when the stream ends; stops on `signal`. */
export type StreamHandler = (req: Msg, core: NodeCore, send: (msg: Msg) => void, signal: AbortSignal) => Promise<void>;

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
  stream?: StreamHandler;
}

function implementations(log: Logger): Record<string, Handler> {
  return {
    ...LIGHTNING_HANDLERS,
    ...WALLET_HANDLERS,
    ...CHANNEL_HANDLERS,
    ...GRAPH_HANDLERS,
    '/lnrpc.Lightning/StopDaemon': (_req, core) => stopDaemon(core, (err) => log.error({ err: err.message }, 'error during shutdown')),
    '/lnrpc.Lightning/ConnectPeer': (req, core) =>
      lightning.connectPeer(core, req, (err) => log.info({ err: err.message }, 'lnrpc ConnectPeer: background connection failed')),
    '/lnrpc.Lightning/DisconnectPeer': (req, core) => lightning.disconnectPeer(core, req),
    '/wtclientrpc.WatchtowerClient/AddTower': (req, core) => wt.addTower(core, req),
    '/wtclientrpc.WatchtowerClient/RemoveTower': (req, core) => wt.removeTower(core, req),
    '/wtclientrpc.WatchtowerClient/DeactivateTower': (req, core) => wt.deactivateTower(core, req),
    '/wtclientrpc.WatchtowerClient/TerminateSession': (req, core) => wt.terminateSession(core, req),
    '/wtclientrpc.WatchtowerClient/ListTowers': (req, core) => wt.listTowers(core, req),
    '/wtclientrpc.WatchtowerClient/GetTowerInfo': (req, core) => wt.getTowerInfo(core, req),
    '/wtclientrpc.WatchtowerClient/Stats': (_req, core) => wt.stats(core),
    '/wtclientrpc.WatchtowerClient/Policy': (req, core) => wt.policy(core, req),
    '/watchtowerrpc.Watchtower/GetInfo': (_req, core) => towerGetInfo(core),
    ...INVOICE_HANDLERS,
    ...PAYMENT_HANDLERS,
    ...FORWARD_HANDLERS,
    ...ROUTE_HANDLERS,
    ...MISSION_HANDLERS,
  };
}

const STREAMS: Record<string, StreamHandler> = { ...LIGHTNING_STREAMS, ...CHANNEL_STREAMS, ...ROUTER_STREAMS };

interface LoadedMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: { name: string } };
  responseType: { type: { name: string } };
}

/**
 * A method's message type by full name: in the service's own package, else (routerrpc's streams of
 * lnrpc.Payment) the one of that name in another package with the same descriptor.
 */
function typeName(def: PackageDefinition, pkg: string, t: { type: { name: string } }): string {
  const own = `${pkg}.${t.type.name}`;
  if (def[own]) return own;
  const same = JSON.stringify(t.type);
  return Object.keys(def).find((k) => k.endsWith(`.${t.type.name}`) && JSON.stringify((def[k] as { type?: unknown }).type) === same) ?? own;
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
        requestType: typeName(def, pkg, m.requestType),
        responseType: typeName(def, pkg, m.responseType),
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        handler: impl[m.path],
        stream: STREAMS[m.path] ?? INVOICE_STREAMS[m.path],
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
  if (UNAUTHENTICATED.has(path)) return;
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

/**
 * The same for a server-streaming method. Metrics count the call and time its start (authorisation),
 * not the stream's life, which lasts as long as the client listens.
 */
export async function invokeStream(verifier: MacaroonVerifier, core: NodeCore, m: MethodInfo, req: Msg, ctx: CallContext, send: (msg: Msg) => void, signal: AbortSignal): Promise<void> {
  const stream = await observeCall(core.rpcObserver, 'lnd', m.name, async () => {
    await authorize(verifier, m.path, ctx);
    if (!m.stream) throw new RpcError(Status.UNIMPLEMENTED, `method ${m.name} not implemented`);
    return m.stream;
  });
  await stream(req, core, send, signal);
}
