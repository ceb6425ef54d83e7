import type { Logger } from 'pino';
import type { NodeCore } from '../../node/core/index.js';
import { RpcCode, RpcError, invalidParams } from './errors.js';
import { rawText, toValue, type JsonDoc, type JsonNode } from './json.js';
import { paramSpecs, type MethodSchema, type ParamSpec } from './schema.js';
import { firstIssue } from './validator.js';

/** Per-connection switches (CLN's `notifications`, …). */
export interface ConnectionState {
  notifications: boolean;
}

export interface CallContext {
  readonly core: NodeCore;
  readonly schemas: ReadonlyMap<string, MethodSchema>;
  readonly methods: ReadonlyMap<string, MethodDef>;
  readonly connection: ConnectionState;
  /** lightningd's `--developer`: bad-parameter errors quote the token instead of logging it. */
  readonly developer: boolean;
  /** Inside `check`: nothing may change; bad-parameter errors quote the token (as lightningd). */
  readonly checkOnly?: boolean;
  readonly log: Logger;
  /** Runs `fn` once the response has been written (the `stop` command). */
  afterResponse(fn: () => void): void;
}

/** What a parameter parser sees: its token, the values parsed so far, and CLN's error helpers. */
export interface ParamContext {
  readonly name: string;
  readonly node: JsonNode;
  readonly doc: JsonDoc;
  readonly spec: ParamSpec;
  /** Values of the parameters parsed so far (in the order the request gives them); writable. */
  readonly values: Record<string, unknown>;
  readonly call: CallContext;
  /** CLN's command_fail_badparam: `<name>: <reason>: invalid token …`. */
  bad(reason: string, node?: JsonNode, name?: string): RpcError;
  /** The schema check (request mode) and conversion to a plain value; `reason` replaces the type's text. */
  standard(reason?: string): unknown;
}

/** A parameter parser replacing the standard one (CLN's custom param_* functions). */
export type ParamHook = (p: ParamContext) => unknown | Promise<unknown>;

/**
 * One JSON-RPC method: a thin shell over the domain core. Parameters are checked against the
 * method's schema before `run`; `params` hooks add what a schema cannot say (a peer that must be
 * known, `id@host:port`), in lightningd's order. A method may instead take its `params` unbound
 * (`runRaw`: `check`, whose parameters are another command's).
 */
export type MethodDef = MethodBase &
  (
    | { run(params: Record<string, unknown>, ctx: CallContext): Promise<Record<string, unknown>>; runRaw?: undefined }
    | { runRaw(params: JsonNode, doc: JsonDoc, ctx: CallContext): Promise<Record<string, unknown>>; run?: undefined }
  );

interface MethodBase {
  readonly name: string;
  readonly params?: Readonly<Record<string, ParamHook>>;
  /**
   * What `check` verifies after the parameters: the checks `run` makes before it changes anything
   * (lightningd's command_check_only). Absent: the parameters are all there is to check.
   */
  check?(params: Record<string, unknown>, ctx: CallContext): Promise<void>;
}

export function badParam(call: CallContext, name: string, reason: string, doc: JsonDoc, node: JsonNode): RpcError {
  const raw = rawText(doc, node);
  if (call.developer || call.checkOnly) return invalidParams(`${name}: ${reason}: invalid token '${raw}'`);
  call.log.info({ param: name, reason, token: raw.length > 200 ? `${raw.slice(0, 200)}...` : raw }, 'invalid parameter');
  return invalidParams(`${name}: ${reason}: invalid token (see logs for details)`);
}

const INTEGER_TYPES = new Set(['u8', 'u16', 'u32', 'u64', 'integer']);

/** A checked node as the value a method receives: digit strings of integer types become numbers. */
function convert(spec: ParamSpec, node: JsonNode): unknown {
  const t = spec.schema.type;
  if (typeof t === 'string' && INTEGER_TYPES.has(t) && node.kind === 'string') {
    const n = Number(node.value);
    return Number.isSafeInteger(n) ? n : BigInt(node.value);
  }
  return toValue(node);
}

/**
 * Binds `params` (array or object) to the method's declared parameters, as lightningd's param():
 * positional elements in declared order (`null` = not given, extras refused); named members in the
 * order sent (unknown and repeated names refused, `null` = not given); then missing required ones.
 * Each parameter is checked when it is reached, so the first bad one in request order is reported.
 */
export async function bindParams(
  def: MethodDef,
  schema: MethodSchema,
  params: JsonNode,
  doc: JsonDoc,
  call: CallContext,
): Promise<Record<string, unknown>> {
  const specs = paramSpecs(schema);
  const values: Record<string, unknown> = {};
  const set = new Set<string>();

  const parseOne = async (spec: ParamSpec, node: JsonNode): Promise<void> => {
    set.add(spec.name);
    if (node.kind === 'null') return;
    const ctx: ParamContext = {
      name: spec.name,
      node,
      doc,
      spec,
      values,
      call,
      bad: (reason, at = node, name = spec.name) => badParam(call, name, reason, doc, at),
      standard: (reason) => {
        const issue = firstIssue(spec.schema, node, 'request');
        if (issue) {
          const name = issue.path === '' ? spec.name : issue.path.startsWith('[') ? `${spec.name}${issue.path}` : `${spec.name}.${issue.path}`;
          throw badParam(call, name, reason ?? issue.reason, doc, issue.path === '' ? node : issue.node);
        }
        return convert(spec, node);
      },
    };
    const hook = def.params?.[spec.name];
    const value = hook ? await hook(ctx) : ctx.standard();
    if (value !== undefined) values[spec.name] = value;
  };

  if (params.kind === 'array') {
    for (let i = 0; i < params.items.length; i++) {
      if (i === specs.length) throw invalidParams(`too many parameters: got ${params.items.length}, expected ${specs.length}`);
      await parseOne(specs[i]!, params.items[i]!);
    }
  } else if (params.kind === 'object') {
    for (const m of params.members) {
      const spec = specs.find((s) => s.name === m.key);
      if (!spec) {
        throw invalidParams(
          `unknown parameter: ${m.key}, this may be caused by a failure to autodetect key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters.`,
        );
      }
      if (set.has(spec.name)) throw invalidParams(`duplicate json names: ${spec.name}`);
      await parseOne(spec, m.value);
    }
  } else {
    throw invalidParams('Expected array or object for params');
  }
  for (const spec of specs) {
    if (spec.required && values[spec.name] === undefined) throw invalidParams(`missing required parameter: ${spec.name}`);
  }
  return values;
}

export { RpcCode, RpcError };
