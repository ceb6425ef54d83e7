import { JsonError, parseJson } from '../rpc/cln/json.js';
import { UsageError, type CliOptions } from './options.js';

/**
 * Builds the JSON-RPC request text as lightning-cli does. An argument that looks like JSON (a number
 * without a leading zero, digits and dots, true/false/null, or text wrapped in {}, [] or "") is sent as
 * is; anything else as a JSON string. `[…]` that is not JSON but an IPv6 literal is a string, so
 * `[2001:db8::1]` works as a host; digits and dots that are no number (`127.0.0.1`) are a string too.
 */
export function isLiteral(arg: string): boolean {
  if (arg === '') return false;
  if (/^[0-9]+$/.test(arg)) return arg.length === 1 || arg[0] !== '0';
  if (/^[0-9.]+$/.test(arg)) return true;
  if (arg === 'true' || arg === 'false' || arg === 'null') return true;
  const first = arg[0];
  const last = arg[arg.length - 1];
  return (first === '{' && last === '}') || (first === '[' && last === ']') || (first === '"' && last === '"' && arg.length > 1);
}

function jsonValue(arg: string): string {
  if (!isLiteral(arg)) return JSON.stringify(arg);
  try {
    parseJson(arg);
    return arg;
  } catch (err) {
    if (!(err instanceof JsonError)) throw err;
    if (/^\[[0-9A-Fa-f:.]+\]$/.test(arg)) return JSON.stringify(arg);
    // Digits and dots that are no number (an IPv4 address): lightning-cli sends them bare, which only a
    // tolerant server reads; as a string every server does.
    if (/^[0-9.]+$/.test(arg)) return JSON.stringify(arg);
    throw new UsageError(`malformed JSON in parameter '${arg}': ${err.message}`);
  }
}

/** `cli:<method>#<pid>` (`cli:weirdmethod!#<pid>` when the method would need escaping). */
export function requestId(method: string, pid: number): string {
  return /^[A-Za-z0-9_.-]+$/.test(method) ? `cli:${method}#${pid}` : `cli:weirdmethod!#${pid}`;
}

/** The params text: an object for key=value arguments (forced or detected), else an array. */
export function buildParams(args: readonly string[], style: CliOptions['style']): string {
  const keywords = style === 'keywords' || (style === 'auto' && args.length > 0 && args[0]!.includes('='));
  if (!keywords) return `[${args.map(jsonValue).join(', ')}]`;
  const parts = args.map((a) => {
    const eq = a.indexOf('=');
    if (eq < 0) throw new UsageError(`expected key=value in '${a}'`);
    return `${JSON.stringify(a.slice(0, eq))}: ${jsonValue(a.slice(eq + 1))}`;
  });
  return `{${parts.join(', ')}}`;
}

export function buildRequest(method: string, id: string, params: string, filter?: string): string {
  let f = '';
  if (filter !== undefined) {
    try {
      parseJson(filter);
    } catch (err) {
      throw new UsageError(`--filter is not valid JSON: ${(err as Error).message}`);
    }
    f = `"filter" : ${filter}, `;
  }
  return `{ "jsonrpc" : "2.0", "method" : ${JSON.stringify(method)}, "id" : ${JSON.stringify(id)}, ${f}"params" : ${params} }`;
}
