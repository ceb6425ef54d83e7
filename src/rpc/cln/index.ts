import type { Logger } from 'pino';
import type { NodeCore } from '../../node/core/index.js';
import { Dispatcher } from './dispatch.js';
import { METHODS } from './methods/index.js';
import { loadSchemas } from './schema.js';
import { RpcServer, type RpcServerOptions } from './server.js';

export { RpcServer, RpcServerError } from './server.js';

export interface ClnRpcOptions extends Omit<RpcServerOptions, 'log'> {
  core: NodeCore;
  developer: boolean;
  log: Logger;
}

/** The Core Lightning-compatible JSON-RPC server over `core`, not yet listening. */
export function createClnRpc(opts: ClnRpcOptions): RpcServer {
  const { core, developer, log, ...server } = opts;
  const rpcLog = log.child({ module: 'rpc' });
  const dispatcher = new Dispatcher({ core, methods: METHODS, schemas: loadSchemas(), developer, log: rpcLog, checkResponses: developer });
  return new RpcServer({ ...server, log: rpcLog }, dispatcher);
}
