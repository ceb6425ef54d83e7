import type { Logger } from 'pino';
import { CoreError, type NodeCore } from '../../node/core/index.js';
import { CORE_CODES, RpcCode, RpcError } from './errors.js';
import { applyFilter, parseFilter, type FilterTemplate } from './filter.js';
import { fromValue, JsonError, member, parseJson, preview, rawText, stringify, tokenText, type JsonDoc } from './json.js';
import { badParam, bindParams, type CallContext, type ConnectionState, type MethodDef } from './method.js';
import type { MethodSchema } from './schema.js';
import { validate } from './validator.js';

/** What to send back for one request, and what to do after it is written. */
export interface Outcome {
  /** One compact JSON object followed by "\n\n". */
  response: string;
  /** Stop reading from this connection (CLN half-closes after unparseable input). */
  halfClose?: boolean;
  /** Run once the response has been written. */
  after?: () => void;
}

/** A request that passed the envelope checks and is running. */
export interface Running {
  /** The request's id as sent. */
  id: string;
  outcome: Promise<Outcome>;
}

export interface DispatcherOptions {
  core: NodeCore;
  methods: readonly MethodDef[];
  schemas: ReadonlyMap<string, MethodSchema>;
  developer: boolean;
  log: Logger;
  /** Check every result against its schema before sending it (logs an error on a mismatch). */
  checkResponses?: boolean;
}

export function errorResponse(id: string, code: number, message: string, data?: Record<string, unknown>): string {
  const d = data === undefined ? '' : `,"data":${stringify(data)}`;
  return `{"jsonrpc":"2.0","id":${id},"error":{"code":${code},"message":${JSON.stringify(message)}${d}}}\n\n`;
}

export function resultResponse(id: string, result: Record<string, unknown>): string {
  return `{"jsonrpc":"2.0","id":${id},"result":${stringify(result)}}\n\n`;
}

/**
 * Turns one complete request text into its response, with lightningd's request checks in its order:
 * unparseable; no `jsonrpc` member; no `id`; `id` not a primitive; `jsonrpc` not "2.0"; no `method`;
 * no `params`; `method` not a string; unknown method; bad `filter`; then the method's parameters.
 */
export class Dispatcher {
  readonly methods: ReadonlyMap<string, MethodDef>;
  readonly #opts: DispatcherOptions;

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
    this.methods = new Map(opts.methods.map((m) => [m.name, m]));
    for (const m of opts.methods) if (!opts.schemas.has(m.name)) throw new Error(`rpc: method ${m.name} has no schema`);
    for (const name of opts.schemas.keys()) if (!this.methods.has(name)) throw new Error(`rpc: schema ${name} has no method`);
  }

  handle(text: string, conn: ConnectionState): Outcome | Running {
    let doc: JsonDoc;
    try {
      doc = parseJson(text, { request: true });
    } catch (err) {
      if (!(err instanceof JsonError)) throw err;
      return { response: errorResponse('null', RpcCode.INVALID_REQUEST, `Failed to parse RPC JSON response '${preview(text)}'`), halfClose: true };
    }
    const root = doc.root;
    const jsonrpc = member(root, 'jsonrpc');
    if (root.kind !== 'object' || !jsonrpc) {
      return {
        response: errorResponse('null', RpcCode.INVALID_REQUEST, `JSON-RPC message does not contain "jsonrpc" field: '${preview(text)}'`),
        halfClose: true,
      };
    }
    const idNode = member(root, 'id');
    if (!idNode) return { response: errorResponse('null', RpcCode.INVALID_REQUEST, 'No id') };
    if (idNode.kind === 'object' || idNode.kind === 'array') {
      return { response: errorResponse('null', RpcCode.INVALID_REQUEST, 'Expected string/primitive for id') };
    }
    if (jsonrpc.kind !== 'string' || jsonrpc.value !== '2.0') {
      return { response: errorResponse('null', RpcCode.INVALID_REQUEST, 'jsonrpc: "2.0" must be specified in the request') };
    }
    const id = rawText(doc, idNode);
    const fail = (code: number, message: string): Outcome => ({ response: errorResponse(id, code, message) });
    const methodNode = member(root, 'method');
    const params = member(root, 'params');
    if (!methodNode) return fail(RpcCode.INVALID_REQUEST, 'No method');
    if (!params) return fail(RpcCode.INVALID_REQUEST, 'No params');
    if (methodNode.kind !== 'string') return fail(RpcCode.INVALID_REQUEST, 'Expected string for method');
    const def = this.methods.get(methodNode.value);
    if (!def) return fail(RpcCode.METHOD_NOT_FOUND, `Unknown command '${tokenText(doc, methodNode)}'`);
    // lightningd: dev- commands exist only with --developer.
    if (def.name.startsWith('dev-') && !this.#opts.developer) return fail(RpcCode.METHOD_NOT_FOUND, `Command ${def.name} is developer-only`);

    let after: (() => void) | undefined;
    const call: CallContext = {
      core: this.#opts.core,
      schemas: this.#opts.schemas,
      methods: this.methods,
      connection: conn,
      developer: this.#opts.developer,
      log: this.#opts.log,
      afterResponse: (fn) => (after = fn),
    };

    let filter: FilterTemplate | undefined;
    const filterNode = member(root, 'filter');
    if (filterNode) {
      const f = parseFilter(filterNode);
      if (typeof f === 'object' && 'error' in f) return fail(RpcCode.INVALID_PARAMS, badParam(call, 'filter', f.error, doc, filterNode).message);
      filter = f;
    }
    return { id, outcome: this.#run(def, doc, params, call, id, filter).then((response) => ({ response, after })) };
  }

  async #run(def: MethodDef, doc: JsonDoc, paramsNode: JsonDoc['root'], call: CallContext, id: string, filter: FilterTemplate | undefined): Promise<string> {
    // Metrics: every call counted and timed by method, failed ones apart.
    const done = this.#opts.core.rpcObserver?.('cln', def.name);
    const { text, ok } = await this.#respond(def, doc, paramsNode, call, id, filter);
    done?.(ok);
    return text;
  }

  async #respond(def: MethodDef, doc: JsonDoc, paramsNode: JsonDoc['root'], call: CallContext, id: string, filter: FilterTemplate | undefined): Promise<{ text: string; ok: boolean }> {
    try {
      const schema = this.#opts.schemas.get(def.name)!;
      let result = def.runRaw ? await def.runRaw(paramsNode, doc, call) : await def.run(await bindParams(def, schema, paramsNode, doc, call), call);
      if (this.#opts.checkResponses) this.#check(schema, result);
      if (filter) {
        const warnings: string[] = [];
        result = applyFilter(result, filter, warnings) as Record<string, unknown>;
        if (warnings.length) result = { ...result, warning_parameter_filter: warnings[0] };
      }
      return { text: resultResponse(id, result), ok: true };
    } catch (err) {
      if (err instanceof RpcError) return { text: errorResponse(id, err.code, err.message, err.data), ok: false };
      if (err instanceof CoreError) return { text: errorResponse(id, CORE_CODES[err.kind], err.message), ok: false };
      this.#opts.log.error({ method: def.name, err: (err as Error).stack ?? String(err) }, 'rpc: command failed unexpectedly');
      return { text: errorResponse(id, RpcCode.LIGHTNINGD, `${def.name}: internal error: ${(err as Error).message}`), ok: false };
    }
  }

  #check(schema: MethodSchema, result: Record<string, unknown>): void {
    const issues = validate(schema.response, fromValue(result).root, 'response');
    if (issues.length) {
      this.#opts.log.error({ method: schema.rpc, issues: issues.map((i) => `${i.path || '.'}: ${i.reason}`) }, 'rpc: response does not match its schema');
    }
  }
}
