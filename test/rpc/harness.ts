import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { NodeCore } from '../../src/node/core/index.js';
import { createClnRpc, type RpcServer } from '../../src/rpc/cln/index.js';
import { member, parseJson, rawText, type JsonDoc, type JsonNode } from '../../src/rpc/cln/json.js';
import { loadSchemas, type MethodSchema } from '../../src/rpc/cln/schema.js';
import type { RpcServerOptions } from '../../src/rpc/cln/server.js';
import { validate } from '../../src/rpc/cln/validator.js';
import { startDaemon as startAnode, startPeerManager, staticKey, tempDir, testLogger, type TestPeerManager } from '../harness/daemon.js';
import { until, withTimeout } from '../harness/wait.js';

export const schemas: Map<string, MethodSchema> = loadSchemas();

/**
 * Checks one response as the tests receive it: compact single-line JSON, JSON-RPC 2.0 envelope, an
 * error of CLN's shape, or a result valid against its method's response schema (unless filtered, as
 * pyln-testing skips filtered responses).
 */
export function checkResponse(method: string | undefined, text: string, opts: { filtered?: boolean } = {}): JsonDoc {
  assert.ok(!text.includes('\n'), `response is one line: ${text.slice(0, 200)}`);
  const doc = parseJson(text);
  assert.equal(doc.root.kind, 'object', 'response is an object');
  const jsonrpc = member(doc.root, 'jsonrpc');
  assert.ok(jsonrpc?.kind === 'string' && jsonrpc.value === '2.0', 'jsonrpc is "2.0"');
  assert.ok(member(doc.root, 'id'), 'response has an id');
  const result = member(doc.root, 'result');
  const error = member(doc.root, 'error');
  assert.ok((result === undefined) !== (error === undefined), 'exactly one of result and error');
  if (error) {
    assert.equal(error.kind, 'object');
    const code = member(error, 'code');
    const message = member(error, 'message');
    assert.ok(code?.kind === 'number' && /^-?\d+$/.test(code.raw), 'error.code is an integer');
    assert.equal(message?.kind, 'string', 'error.message is a string');
    for (const m of (error as Extract<JsonNode, { kind: 'object' }>).members) assert.ok(['code', 'message', 'data'].includes(m.key), `error has no ${m.key}`);
    return doc;
  }
  assert.equal(result!.kind, 'object', 'result is an object');
  if (method && !opts.filtered) {
    const schema = schemas.get(method);
    assert.ok(schema, `schema for ${method}`);
    const issues = validate(schema.response, result!, 'response');
    assert.deepEqual(issues.map((i) => `${i.path || '.'}: ${i.reason}`), [], `${method} response valid against its schema: ${rawText(doc, result!)}`);
  }
  return doc;
}

export interface Reply {
  text: string;
  doc: JsonDoc;
  id: unknown;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

function toReply(method: string | undefined, text: string, filtered = false): Reply {
  const doc = checkResponse(method, text, { filtered });
  const obj = JSON.parse(text) as { id: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } };
  return { text, doc, id: obj.id, result: obj.result, error: obj.error };
}

/** A raw client of the unix socket: write any bytes, read responses split on "\n\n". */
export class RawClient {
  readonly responses: string[] = [];
  #buf = '';
  #waiters: (() => void)[] = [];
  ended = false;
  readonly closed: Promise<void>;
  #nextId = 1;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (s: string) => {
      this.#buf += s;
      let i;
      while ((i = this.#buf.indexOf('\n\n')) >= 0) {
        this.responses.push(this.#buf.slice(0, i));
        this.#buf = this.#buf.slice(i + 2);
      }
      this.#wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => (this.#wake(), r())));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  static open(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once `n` responses have arrived in total (or the server ended the connection). */
  async waitFor(n: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n) {
      if (this.ended && this.#buf === '') throw new Error(`connection ended after ${this.responses.length} of ${n} responses`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.responses.length} of ${n} responses within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => (clearTimeout(t), r()));
      });
    }
    return this.responses.slice(0, n);
  }

  /** Sends one request and returns its (schema-checked) reply, matched on id. */
  async call(method: string, params: unknown = {}, extra: Record<string, unknown> = {}): Promise<Reply> {
    const id = `test:${method}#${this.#nextId++}`;
    const before = this.responses.length;
    this.send(JSON.stringify({ jsonrpc: '2.0', id, method, params, ...extra }));
    for (;;) {
      await this.waitFor(this.responses.length + 1);
      for (let i = before; i < this.responses.length; i++) {
        const r = JSON.parse(this.responses[i]!) as { id?: unknown };
        if (r.id === id) {
          const text = this.responses.splice(i, 1)[0]!;
          return toReply(method, text, 'filter' in extra);
        }
      }
    }
  }

  /** The next response as it comes (for raw requests), schema-checked as `method`'s when given. */
  async next(method?: string): Promise<Reply> {
    await this.waitFor(1);
    return toReply(method, this.responses.shift()!);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Waits until `listpeers` on `c` lists peer `id` (every 10 ms). */
export async function waitListed(c: RawClient, id: string, timeoutMs = 20_000): Promise<void> {
  await until(async () => ((await c.call('listpeers', { id })).result!.peers as unknown[]).length > 0, { what: `peer ${id} in listpeers`, timeoutMs, intervalMs: 10 });
}

/** One call on a fresh connection. */
export async function rpcCall(path: string, method: string, params: unknown = {}, extra: Record<string, unknown> = {}): Promise<Reply> {
  const c = await RawClient.open(path);
  try {
    return await c.call(method, params, extra);
  } finally {
    c.close();
  }
}

export interface RpcNode {
  node: TestPeerManager;
  core: NodeCore;
  rpc: RpcServer;
  path: string;
  nodeId: string;
  stopRequested: number;
  close(): Promise<void>;
}

/**
 * anode's real peer manager, store and JSON-RPC server in this process, on 127.0.0.1 and a socket in a
 * temp dir: the code the daemon runs, minus the process (fast, and timeouts can be shortened).
 */
export async function startRpcNode(opts: { key?: number; developer?: boolean; server?: Partial<RpcServerOptions>; log?: Logger } = {}): Promise<RpcNode> {
  const node = await startPeerManager({ localKey: staticKey(opts.key ?? 0x42) });
  const dir = tempDir('anode-rpc-');
  const path = join(dir, 'lightning-rpc');
  let stopRequested = 0;
  const core: NodeCore = {
    nodeId: node.manager.nodeId,
    peers: node.manager,
    peerStore: node.store.peers,
    channels: node.store.channels,
    config: { network: 'regtest', dataDir: dir, defaultPort: 9735, version: 'v0.1.0-anode' },
    stop: async () => {
      res.stopRequested = ++stopRequested;
    },
  };
  const rpc = createClnRpc({ core, path, developer: opts.developer ?? true, log: opts.log ?? testLogger(), ...opts.server });
  await rpc.start();
  const res: RpcNode = {
    node,
    core,
    rpc,
    path,
    nodeId: node.manager.nodeId.toString('hex'),
    stopRequested: 0,
    async close() {
      await rpc.stop();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return res;
}

// ---------------------------------------------------------------------------------------------------
// Daemons as child processes

/** The harness's daemon as CLN's tests see one: its peer port, node id and socket; `stop` over JSON-RPC. */
export interface Daemon {
  anodeDir: string;
  rpcPath: string;
  port: number;
  nodeId: string;
  exited: Promise<number | null>;
  output: () => string;
  /** Set by stop(): whether the socket file was still there after the daemon exited. */
  socketLeftBehind?: boolean;
  /** `stop` over JSON-RPC; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/** The harness's `startDaemon` at --log-level=debug, ready for RPC within 15 s. */
export async function startDaemon(extraArgs: string[] = []): Promise<Daemon> {
  const d = await withTimeout(startAnode(['--log-level=debug', ...extraArgs]), 15_000, 'anode to start');
  const rpcPath = join(d.dir, 'regtest', 'lightning-rpc');
  const daemon: Daemon = {
    anodeDir: d.dir,
    rpcPath,
    port: Number((d.line.listening as string[])[0]!.split(':').at(-1)),
    nodeId: d.line.nodeId as string,
    exited: d.exited,
    output: d.output,
    async stop() {
      if (d.running()) {
        const r = await rpcCall(rpcPath, 'stop').catch(() => undefined);
        if (r) assert.deepEqual(r.result, { result: 'Shutdown complete' });
      }
      const code = await d.exited;
      daemon.socketLeftBehind = existsSync(rpcPath);
      rmSync(d.dir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      await d.kill();
      rmSync(d.dir, { recursive: true, force: true });
    },
  };
  return daemon;
}
