import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { NodeCore } from '../../node/core/index.js';
import { httpStatusFromCode, RpcError, Status, toStatus } from './errors.js';
import type { MacaroonVerifier } from './macaroons.js';
import { invoke, invokeStream, type CallContext, type MethodInfo } from './methods.js';
import { defaults, fromJson, setFieldFromString, setMapEntryFromString, toJson, type Schema } from './protojson.js';

/**
 * LND's REST gateway (grpc-gateway v2) for the three services: the routes of lnrpc/lightning.yaml,
 * wtclientrpc/wtclient.yaml and watchtowerrpc/watchtower.yaml; path parameters and query strings set
 * request fields; `body: "*"` routes read the JSON body; the macaroon travels in
 * `Grpc-Metadata-macaroon`; errors are `{"code","message","details"}` with the gateway's HTTP status.
 */

export interface Route {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  template: string;
  /** Full gRPC method name. */
  target: string;
  body: boolean;
}

const L = '/lnrpc.Lightning/';
const W = '/wtclientrpc.WatchtowerClient/';

/** Facts from LND's *.yaml http rules. */
export const ROUTES: readonly Route[] = [
  ...(
    [
      ['GET', '/v1/balance/blockchain', 'WalletBalance'],
      ['GET', '/v1/balance/channels', 'ChannelBalance'],
      ['GET', '/v1/transactions', 'GetTransactions'],
      ['GET', '/v1/transactions/fee', 'EstimateFee'],
      ['POST', '/v1/transactions', 'SendCoins', true],
      ['GET', '/v1/utxos', 'ListUnspent'],
      ['GET', '/v1/transactions/subscribe', 'SubscribeTransactions'],
      ['POST', '/v1/transactions/many', 'SendMany', true],
      ['GET', '/v1/newaddress', 'NewAddress'],
      ['POST', '/v1/signmessage', 'SignMessage', true],
      ['POST', '/v1/verifymessage', 'VerifyMessage', true],
      ['POST', '/v1/peers', 'ConnectPeer', true],
      ['DELETE', '/v1/peers/{pub_key}', 'DisconnectPeer'],
      ['GET', '/v1/peers', 'ListPeers'],
      ['GET', '/v1/peers/subscribe', 'SubscribePeerEvents'],
      ['GET', '/v1/getinfo', 'GetInfo'],
      ['GET', '/v1/getrecoveryinfo', 'GetRecoveryInfo'],
      ['GET', '/v1/channels/pending', 'PendingChannels'],
      ['GET', '/v1/channels', 'ListChannels'],
      ['GET', '/v1/channels/subscribe', 'SubscribeChannelEvents'],
      ['GET', '/v1/channels/closed', 'ClosedChannels'],
      ['POST', '/v1/channels', 'OpenChannelSync', true],
      ['POST', '/v1/channels/stream', 'OpenChannel', true],
      ['POST', '/v1/channels/batch', 'BatchOpenChannel', true],
      ['POST', '/v1/funding/step', 'FundingStateStep', true],
      ['POST', '/v1/channels/acceptor', 'ChannelAcceptor', true],
      ['DELETE', '/v1/channels/{channel_point.funding_txid_str}/{channel_point.output_index}', 'CloseChannel'],
      ['DELETE', '/v1/channels/abandon/{channel_point.funding_txid_str}/{channel_point.output_index}', 'AbandonChannel'],
      ['POST', '/v1/channels/transaction-stream', 'SendPayment', true],
      ['POST', '/v1/channels/transactions', 'SendPaymentSync', true],
      ['POST', '/v1/channels/transactions/route', 'SendToRouteSync', true],
      ['POST', '/v1/invoices', 'AddInvoice', true],
      ['GET', '/v1/invoices', 'ListInvoices'],
      ['GET', '/v1/invoice/{r_hash_str}', 'LookupInvoice'],
      ['GET', '/v1/invoices/subscribe', 'SubscribeInvoices'],
      ['GET', '/v1/payreq/{pay_req}', 'DecodePayReq'],
      ['DELETE', '/v1/payment', 'DeletePayment'],
      ['GET', '/v1/payments', 'ListPayments'],
      ['DELETE', '/v1/payments', 'DeleteAllPayments'],
      ['GET', '/v1/graph', 'DescribeGraph'],
      ['GET', '/v1/graph/nodemetrics', 'GetNodeMetrics'],
      ['GET', '/v1/graph/edge/{chan_id}', 'GetChanInfo'],
      ['GET', '/v1/graph/node/{pub_key}', 'GetNodeInfo'],
      ['GET', '/v1/graph/routes/{pub_key}/{amt}', 'QueryRoutes'],
      ['POST', '/v1/graph/routes/{pub_key}/{amt}', 'QueryRoutes', true],
      ['GET', '/v1/graph/info', 'GetNetworkInfo'],
      ['POST', '/v1/stop', 'StopDaemon', true],
      ['GET', '/v1/graph/subscribe', 'SubscribeChannelGraph'],
      ['POST', '/v1/debuglevel', 'DebugLevel', true],
      ['GET', '/v1/fees', 'FeeReport'],
      ['POST', '/v1/chanpolicy', 'UpdateChannelPolicy', true],
      ['POST', '/v1/switch', 'ForwardingHistory', true],
      ['GET', '/v1/channels/backup/{chan_point.funding_txid_str}/{chan_point.output_index}', 'ExportChannelBackup'],
      ['GET', '/v1/channels/backup', 'ExportAllChannelBackups'],
      ['POST', '/v1/channels/backup/verify', 'VerifyChanBackup', true],
      ['POST', '/v1/channels/backup/restore', 'RestoreChannelBackups', true],
      ['GET', '/v1/channels/backup/subscribe', 'SubscribeChannelBackups'],
      ['POST', '/v1/macaroon', 'BakeMacaroon', true],
      ['GET', '/v1/macaroon/ids', 'ListMacaroonIDs'],
      ['DELETE', '/v1/macaroon/{root_key_id}', 'DeleteMacaroonID'],
      ['GET', '/v1/macaroon/permissions', 'ListPermissions'],
      ['POST', '/v1/macaroon/checkpermissions', 'CheckMacaroonPermissions', true],
      ['POST', '/v1/middleware', 'RegisterRPCMiddleware'],
      ['POST', '/v1/custommessage', 'SendCustomMessage', true],
      ['GET', '/v1/custommessage/subscribe', 'SubscribeCustomMessages'],
      ['GET', '/v1/aliases/list', 'ListAliases'],
      ['GET', '/v1/htlc-resolution/{chan_id}/{htlc_index}', 'LookupHtlcResolution'],
    ] as const
  ).map(([method, template, name, body]) => ({ method, template, target: L + name, body: body === true })),
  { method: 'POST', template: '/v2/watchtower/client', target: `${W}AddTower`, body: true },
  { method: 'DELETE', template: '/v2/watchtower/client/{pubkey}', target: `${W}RemoveTower`, body: false },
  { method: 'POST', template: '/v2/watchtower/client/tower/deactivate/{pubkey}', target: `${W}DeactivateTower`, body: false },
  { method: 'POST', template: '/v2/watchtower/client/sessions/terminate/{session_id}', target: `${W}TerminateSession`, body: false },
  { method: 'GET', template: '/v2/watchtower/client', target: `${W}ListTowers`, body: false },
  { method: 'GET', template: '/v2/watchtower/client/info/{pubkey}', target: `${W}GetTowerInfo`, body: false },
  { method: 'GET', template: '/v2/watchtower/client/stats', target: `${W}Stats`, body: false },
  { method: 'GET', template: '/v2/watchtower/client/policy', target: `${W}Policy`, body: false },
  { method: 'GET', template: '/v2/watchtower/server', target: '/watchtowerrpc.Watchtower/GetInfo', body: false },
  { method: 'GET', template: '/v1/state/subscribe', target: '/lnrpc.State/SubscribeState', body: false },
  { method: 'GET', template: '/v1/state', target: '/lnrpc.State/GetState', body: false },
  { method: 'GET', template: '/v2/versioner/version', target: '/verrpc.Versioner/GetVersion', body: false },
  { method: 'POST', template: '/v2/wallet/utxos', target: '/walletrpc.WalletKit/ListUnspent', body: true },
  { method: 'POST', template: '/v2/wallet/address/next', target: '/walletrpc.WalletKit/NextAddr', body: true },
  { method: 'POST', template: '/v2/wallet/tx', target: '/walletrpc.WalletKit/PublishTransaction', body: true },
  { method: 'GET', template: '/v2/wallet/accounts', target: '/walletrpc.WalletKit/ListAccounts', body: false },
  { method: 'GET', template: '/v2/wallet/estimatefee/{conf_target}', target: '/walletrpc.WalletKit/EstimateFee', body: false },
  { method: 'POST', template: '/v2/wallet/bumpfee', target: '/walletrpc.WalletKit/BumpFee', body: true },
  { method: 'GET', template: '/v2/wallet/sweeps/pending', target: '/walletrpc.WalletKit/PendingSweeps', body: false },
  { method: 'POST', template: '/v2/router/send', target: '/routerrpc.Router/SendPaymentV2', body: true },
  { method: 'GET', template: '/v2/router/track/{payment_hash}', target: '/routerrpc.Router/TrackPaymentV2', body: false },
  { method: 'POST', template: '/v2/router/route/estimatefee', target: '/routerrpc.Router/EstimateRouteFee', body: true },
  // Mission control.
  { method: 'GET', template: '/v2/router/mc', target: '/routerrpc.Router/QueryMissionControl', body: false },
  { method: 'POST', template: '/v2/router/mc/reset', target: '/routerrpc.Router/ResetMissionControl', body: true },
  { method: 'GET', template: '/v2/router/mccfg', target: '/routerrpc.Router/GetMissionControlConfig', body: false },
  { method: 'GET', template: '/v2/router/mc/probability/{from_node}/{to_node}/{amt_msat}', target: '/routerrpc.Router/QueryProbability', body: false },
];

type Segment = { literal: string } | { param: string };

function compile(template: string): Segment[] {
  return template
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s }));
}

const COMPILED = ROUTES.map((r) => ({ route: r, segments: compile(r.template) }));

export type RouteMatch = { kind: 'route'; route: Route; params: Record<string, string> } | { kind: 'not-found' } | { kind: 'method-not-allowed' };

/** Matches a request path (raw, still percent-encoded) against the routes, as the gateway's mux does. */
export function matchRoute(method: string, rawPath: string): RouteMatch {
  const parts = rawPath.split('/').slice(1);
  let otherMethod = false;
  for (const { route, segments } of COMPILED) {
    if (segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const seg = segments[i]!;
      const part = parts[i]!;
      if ('literal' in seg) {
        ok = seg.literal === safeDecode(part);
      } else {
        const v = safeDecode(part);
        ok = v !== undefined && v !== '';
        if (ok) params[seg.param] = v!;
      }
    }
    if (!ok) continue;
    if (route.method === method) return { kind: 'route', route, params };
    otherMethod = true;
  }
  return otherMethod ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Builds the request message: the JSON body first (for `body: "*"` routes; empty body = defaults),
 * then path parameters; query parameters only on routes without a body, as the gateway generates it.
 * Throws RpcError(InvalidArgument) on bad input.
 */
export function buildRequest(schema: Schema, requestType: string, route: Route, params: Record<string, string>, query: URLSearchParams, body: string): Record<string, unknown> {
  let msg: Record<string, unknown>;
  if (route.body && body.trim() !== '') {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (err) {
      throw new RpcError(Status.INVALID_ARGUMENT, `invalid character in request body: ${(err as Error).message}`);
    }
    msg = fromJson(schema, requestType, json);
  } else {
    msg = defaults(schema, requestType);
  }
  for (const [name, value] of Object.entries(params)) setPath(schema, requestType, msg, name, value);
  if (!route.body) {
    for (const [name, value] of query) {
      if (name in params) continue;
      const entry = /^([^[\]]+)\[([^\]]*)\]$/.exec(name);
      if (entry) setMapEntryFromString(schema, requestType, msg, entry[1]!, entry[2]!, value);
      else setFieldFromString(schema, requestType, msg, name, value, false);
    }
  }
  return msg;
}

/** A path parameter, `a.b` naming field b of message field a (`channel_point.funding_txid_str`). */
function setPath(schema: Schema, requestType: string, msg: Record<string, unknown>, name: string, value: string): void {
  const dot = name.indexOf('.');
  if (dot < 0) {
    setFieldFromString(schema, requestType, msg, name, value, true);
    return;
  }
  const head = name.slice(0, dot);
  const desc = schema.message(requestType);
  const f = desc.field.find((x) => x.name === head);
  if (!f || f.type !== 'TYPE_MESSAGE') return;
  const r = schema.resolve(requestType, desc, f.typeName);
  if (r.kind !== 'message') return;
  const inner = (msg[head] as Record<string, unknown> | null | undefined) ?? defaults(schema, r.scope);
  msg[head] = inner;
  setPath(schema, r.scope, inner, name.slice(dot + 1), value);
}

export const MAX_BODY = 4 * 1024 * 1024;
/** Past this much, an oversize body is no longer read to its end (the 413 went out long before): the connection is dropped. */
const MAX_DRAIN = 64 * MAX_BODY;

/** An oversize request body: answered 413 once the body has been read, so the client sees the answer, not a reset. */
class BodyTooLarge extends RpcError {
  constructor() {
    super(Status.RESOURCE_EXHAUSTED, `request body larger than ${MAX_BODY} bytes`);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_DRAIN) {
        req.destroy();
        return;
      }
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => (size > MAX_BODY ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const s = toStatus(err);
  send(res, err instanceof BodyTooLarge ? 413 : httpStatusFromCode(s.code), { code: s.code, message: s.message, details: [] });
}

export interface RestDeps {
  core: NodeCore;
  verifier: MacaroonVerifier;
  methods: Map<string, MethodInfo>;
  schema: Schema;
  log: Logger;
}

/** The request listener for node:https. */
export function restHandler(deps: RestDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(deps, req, res).catch((err: unknown) => {
      deps.log.debug({ err: (err as Error).message }, 'REST request failed');
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  };
}

async function handle(deps: RestDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://localhost');
  const match = matchRoute(req.method ?? 'GET', url.pathname);
  if (match.kind === 'not-found') {
    req.resume();
    return sendError(res, new RpcError(Status.NOT_FOUND, 'Not Found'));
  }
  if (match.kind === 'method-not-allowed') {
    req.resume();
    return sendError(res, new RpcError(Status.UNIMPLEMENTED, 'Method Not Allowed'));
  }
  const m = deps.methods.get(match.route.target);
  if (!m) throw new RpcError(Status.UNIMPLEMENTED, `unknown method ${match.route.target}`);
  const body = await readBody(req);
  const header = req.headers['grpc-metadata-macaroon'];
  const macaroons = header === undefined ? [] : Array.isArray(header) ? header : header.split(/,\s*/);
  // Unimplemented methods need no request decoding: authorise, then answer UNIMPLEMENTED.
  const request = m.handler || m.stream ? buildRequest(deps.schema, m.requestType, match.route, match.params, url.searchParams, body) : {};
  const ctx = { peerIp: req.socket.remoteAddress, macaroons };
  if (m.responseStream) return stream(deps, m, request, ctx, res);
  const reply = await invoke(deps.verifier, deps.core, m, request, ctx);
  send(res, 200, toJson(deps.schema, m.responseType, reply));
}

/**
 * A server stream as the gateway sends it: newline-delimited `{"result": …}` objects; a failure after
 * the first is one `{"error": …}` object, then the end. The stream stops when the client goes away.
 */
async function stream(deps: RestDeps, m: MethodInfo, request: Record<string, unknown>, ctx: CallContext, res: ServerResponse): Promise<void> {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  const line = (o: unknown): void => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify(o)}\n`);
  };
  try {
    await invokeStream(deps.verifier, deps.core, m, request, ctx, (msg) => line({ result: toJson(deps.schema, m.responseType, msg) }), ac.signal);
  } catch (err) {
    if (!res.headersSent) throw err;
    const s = toStatus(err);
    line({ error: { code: s.code, message: s.message, details: [] } });
  }
  res.end();
}
