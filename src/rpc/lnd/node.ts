import { CoreError, nodeState, watchNodeState, type NodeCore } from '../../node/core/index.js';
import { getInfo, listPeers } from './lightning.js';
import type { Handler, StreamHandler } from './methods.js';

/**
 * The node's own methods over the core: GetInfo, ListPeers, StopDaemon, DebugLevel, lnrpc.State,
 * verrpc.Versioner and SubscribePeerEvents, with LND's shapes and texts.
 */

type Msg = Record<string, unknown>;

/** LND's level names and pino's. */
const LEVELS: Record<string, string> = { trace: 'trace', debug: 'debug', info: 'info', warn: 'warn', error: 'error', critical: 'fatal', off: 'silent' };

/**
 * DebugLevel: `show` lists the subsystems (anode has one level for all its components: none are listed
 * apart); a `level_spec` is one global level, as LND's `debuglevel --level=debug`.
 */
export async function debugLevel(core: NodeCore, req: Msg): Promise<Msg> {
  if (!core.logLevel) throw new CoreError('NOT_ACTIVE', 'log level control not available');
  if (req.show === true) return { sub_systems: '' };
  const spec = String(req.level_spec ?? '').trim();
  if (spec.includes('=') || spec.includes(',')) throw new CoreError('INVALID', 'anode sets one level for all its components: use a global level (trace, debug, info, warn, error, critical, off)');
  const level = LEVELS[spec];
  if (!level) throw new CoreError('INVALID', `invalid debug level: ${spec}`);
  core.logLevel.set(level);
  return { sub_systems: '' };
}

/** StopDaemon: answers, then stops the node (as LND, the answer comes before the shutdown). */
export function stopDaemon(core: NodeCore, onError: (err: Error) => void): Promise<Msg> {
  setImmediate(() => core.stop().catch(onError));
  return Promise.resolve({ status: 'shutdown initiated, check logs for progress' });
}

/** verrpc GetVersion: the version anode was built as, split as LND splits its own. */
export async function getVersion(core: NodeCore): Promise<Msg> {
  const version = core.config.version.replace(/^v/, '');
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-(.*))?$/.exec(version);
  return {
    version,
    ...(m ? { app_major: Number(m[1]), app_minor: Number(m[2]), app_patch: Number(m[3]), app_pre_release: m[4] ?? '' } : {}),
  };
}

const subscribeState: StreamHandler = async (_req, core, send, signal) => {
  await new Promise<void>((resolve) => {
    const stop = watchNodeState(core, (state) => {
      send({ state });
      if (state === 'SERVER_ACTIVE') done();
    });
    const done = (): void => {
      stop();
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done);
  });
  // LND keeps the stream open after SERVER_ACTIVE; so does anode, until the client leaves.
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
};

const subscribePeerEvents: StreamHandler = async (_req, core, send, signal) => {
  const online = (p: { id: string }): void => send({ pub_key: p.id, type: 'PEER_ONLINE' });
  const offline = (p: { id: string }): void => send({ pub_key: p.id, type: 'PEER_OFFLINE' });
  core.peers.on('connected', online);
  core.peers.on('disconnected', offline);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
  core.peers.off('connected', online);
  core.peers.off('disconnected', offline);
};

export const LIGHTNING_HANDLERS: Record<string, Handler> = {
  '/lnrpc.Lightning/GetInfo': (_req, core) => getInfo(core),
  '/lnrpc.Lightning/ListPeers': (_req, core) => listPeers(core),
  '/lnrpc.Lightning/DebugLevel': (req, core) => debugLevel(core, req),
  '/lnrpc.State/GetState': async (_req, core) => ({ state: await nodeState(core) }),
  '/verrpc.Versioner/GetVersion': (_req, core) => getVersion(core),
};

export const LIGHTNING_STREAMS: Record<string, StreamHandler> = {
  '/lnrpc.State/SubscribeState': subscribeState,
  '/lnrpc.Lightning/SubscribePeerEvents': subscribePeerEvents,
};
