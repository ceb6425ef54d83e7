import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { NodeCore } from '../../node/core/index.js';
import { RpcError, Status, toStatus } from './errors.js';
import { ensureDefaultMacaroons, MacaroonVerifier, type RootKeyStore } from './macaroons.js';
import { invoke, invokeStream, methodTable, packageDefinition, schema as loadSchema, type CallContext, type MethodInfo } from './methods.js';
import { restHandler } from './rest.js';
import { ensureTlsCertificate } from './tls.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface LndRpcOptions {
  core: NodeCore;
  /** gRPC listeners (LND --rpclisten), default 127.0.0.1:10009 is the caller's choice. */
  rpcListen: ListenAddress[];
  /** REST listeners (LND --restlisten). */
  restListen: ListenAddress[];
  /** Where tls.cert / tls.key live. */
  tlsDir: string;
  extraIps: string[];
  extraDomains: string[];
  /** Where admin.macaroon / readonly.macaroon are written. */
  macaroonDir: string;
  rootKeys: RootKeyStore;
  log: Logger;
  /** Defaults to os.hostname(); for the certificate's SANs. */
  hostname?: string;
}

export interface LndRpcHandle {
  /** Bound gRPC addresses (ports resolved when 0 was asked for). */
  rpc: ListenAddress[];
  rest: ListenAddress[];
  certPath: string;
  certPem: string;
  adminMacaroonPath: string;
  readonlyMacaroonPath: string;
  stop(): Promise<void>;
}

/**
 * LND's `--rpclisten` / `--restlisten` / `--tlsextraip` / `--tlsextradomain`, for the daemon's option
 * table (same shape as src/node/config.ts OPTIONS entries).
 */
export const LND_RPC_OPTION_SPECS = [
  { name: 'rpclisten', kind: 'list', arg: 'HOST:PORT', default: ['127.0.0.1:10009'], help: 'LND-compatible gRPC listens here (repeatable). Default 127.0.0.1:10009.' },
  { name: 'restlisten', kind: 'list', arg: 'HOST:PORT', default: ['127.0.0.1:8080'], help: 'LND-compatible REST listens here (repeatable). Default 127.0.0.1:8080.' },
  { name: 'tlsextraip', kind: 'list', arg: 'IP', help: 'Extra IP address in tls.cert (repeatable).' },
  { name: 'tlsextradomain', kind: 'list', arg: 'DOMAIN', help: 'Extra domain name in tls.cert (repeatable).' },
] as const;
export const DEFAULT_RPC_PORT = 10009;
export const DEFAULT_REST_PORT = 8080;

/** `host:port`, `[v6]:port`, `host` or `:port`, as LND's listen options. */
export function parseListen(value: string, defaultPort: number): ListenAddress {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  let host: string;
  let port: string | undefined;
  if (v6) [host, port] = [v6[1]!, v6[2]];
  else if (/^\d+$/.test(value)) [host, port] = ['127.0.0.1', value];
  else {
    const i = value.lastIndexOf(':');
    if (i >= 0 && value.indexOf(':') === i) [host, port] = [value.slice(0, i), value.slice(i + 1)];
    else [host, port] = [value, undefined];
  }
  const p = port === undefined || port === '' ? defaultPort : Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`invalid listen address ${value}: bad port`);
  return { host: host || '0.0.0.0', port: p };
}

function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** grpc-js peer strings: `1.2.3.4:5678`, `[::1]:5678`, possibly `ipv4:`/`ipv6:` prefixed. */
export function peerIpOf(peer: string): string | undefined {
  const p = peer.replace(/^ipv[46]:/, '');
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(p);
  if (v6) return v6[1];
  const i = p.lastIndexOf(':');
  return i > 0 ? p.slice(0, i) : undefined;
}

function callContext(call: { getPeer(): string; metadata: grpc.Metadata }): CallContext {
  return {
    peerIp: peerIpOf(call.getPeer()),
    macaroons: call.metadata.get('macaroon').map((v) => (typeof v === 'string' ? v : v.toString('utf8'))),
  };
}

function grpcError(err: unknown): Partial<grpc.StatusObject> {
  const s = toStatus(err);
  return { code: s.code, details: s.message, metadata: new grpc.Metadata() };
}

type AnyCall = { getPeer(): string; metadata: grpc.Metadata; request?: unknown; emit(ev: string, arg: unknown): boolean };

/** A grpc-js handler for one method, whatever its streaming shape. */
function grpcHandler(m: MethodInfo, verifier: MacaroonVerifier, core: NodeCore): grpc.UntypedHandleCall {
  if (!m.requestStream && !m.responseStream) {
    return (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      invoke(verifier, core, m, call.request, callContext(call)).then(
        (reply) => callback(null, reply),
        (err: unknown) => callback(grpcError(err)),
      );
    };
  }
  // anode implements no streaming method: authorise (as LND's stream interceptor does), then refuse.
  const refuse = async (call: AnyCall): Promise<never> => {
    await invoke(verifier, core, { ...m, handler: undefined }, {}, callContext(call));
    throw new RpcError(Status.UNIMPLEMENTED, `method ${m.name} not implemented`);
  };
  if (m.requestStream && !m.responseStream) {
    return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      call.on('data', () => undefined);
      refuse(call as unknown as AnyCall).catch((err: unknown) => callback(grpcError(err)));
    };
  }
  if (!m.requestStream && m.stream) {
    // Server streams anode serves (SubscribeInvoices): authorise, then write until done or cancelled.
    return (call: grpc.ServerWritableStream<Record<string, unknown>, unknown>) => {
      const ac = new AbortController();
      call.on('cancelled', () => ac.abort());
      call.on('close', () => ac.abort());
      invokeStream(verifier, core, m, call.request, callContext(call), (msg) => call.write(msg), ac.signal).then(
        () => call.end(),
        (err: unknown) => call.emit('error', grpcError(err)),
      );
    };
  }
  return (call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) => {
    if ('on' in call && m.requestStream) call.on('data', () => undefined);
    refuse(call as unknown as AnyCall).catch((err: unknown) => call.emit('error', grpcError(err)));
  };
}

/**
 * Starts the LND-compatible gRPC and REST listeners: TLS certificate and default macaroons first
 * (created when missing), then every listener; a failure to bind stops what was started.
 */
export async function startLndRpc(opts: LndRpcOptions): Promise<LndRpcHandle> {
  const log = opts.log;
  const tls = await ensureTlsCertificate({ dir: opts.tlsDir, extraIps: opts.extraIps, extraDomains: opts.extraDomains, hostname: opts.hostname });
  if (tls.created) log.info({ cert: tls.certPath }, 'created TLS certificate');
  const macs = await ensureDefaultMacaroons(opts.macaroonDir, opts.rootKeys);
  const verifier = new MacaroonVerifier(opts.rootKeys);
  const methods = methodTable(log);
  const def = packageDefinition();

  const server = new grpc.Server({ 'grpc.max_receive_message_length': 200 * 1024 * 1024 });
  const byService = new Map<string, grpc.UntypedServiceImplementation>();
  for (const m of methods.values()) {
    const impl = byService.get(m.service) ?? {};
    impl[m.name] = grpcHandler(m, verifier, opts.core);
    byService.set(m.service, impl);
  }
  for (const [service, impl] of byService) server.addService(def[service] as unknown as grpc.ServiceDefinition, impl);

  const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], false);
  const https: HttpsServer[] = [];
  const rpcBound: ListenAddress[] = [];
  const restBound: ListenAddress[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all([
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000).unref();
      }),
      ...https.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    ]);
  };
  try {
    for (const addr of opts.rpcListen) {
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(formatAddress(addr), creds, (err, p) => (err ? reject(new Error(`lnd rpc: cannot listen on ${formatAddress(addr)}: ${err.message}`)) : resolve(p))),
      );
      rpcBound.push({ host: addr.host, port });
      log.info({ address: formatAddress({ host: addr.host, port }) }, 'gRPC (LND) listening');
    }
    const handler = restHandler({ core: opts.core, verifier, methods, schema: loadSchema(), log });
    for (const addr of opts.restListen) {
      const s = createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, handler);
      await new Promise<void>((resolve, reject) => {
        s.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`lnd rest: cannot listen on ${formatAddress(addr)}: ${err.code ?? err.message}`)));
        s.listen(addr.port, addr.host, () => resolve());
      });
      s.on('error', (err) => log.error({ err }, 'REST listener error'));
      https.push(s);
      const a = s.address() as { address: string; port: number };
      restBound.push({ host: a.address, port: a.port });
      log.info({ address: formatAddress({ host: a.address, port: a.port }) }, 'REST (LND) listening');
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    rpc: rpcBound,
    rest: restBound,
    certPath: tls.certPath,
    certPem: tls.certPem,
    adminMacaroonPath: macs.admin,
    readonlyMacaroonPath: macs.readonly,
    stop,
  };
}
