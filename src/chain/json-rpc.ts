/**
 * The JSON-RPC 1.0 envelope bitcoind and btcd speak over HTTP, as pure functions.
 *
 * `parseJsonRpcResponse` is total: for any body and HTTP status it returns the `result` or throws a
 * {@link ChainError} (`AUTH`, `BUSY`, `RPC`, `METHOD_NOT_FOUND`, `NOT_FOUND`, `BAD_RESPONSE`, …).
 *
 * Differences between the two backends that matter here:
 * - bitcoind answers RPC errors with HTTP 500 (404 for an unknown method) and a JSON body; btcd answers
 *   them with HTTP 200. Both put `{code, message}` in `error`.
 * - bitcoind answers 503 when its work queue is full; btcd answers 503 "Too busy" past `--rpcmaxclients`.
 * - Both answer 401 with an empty or plain-text body on bad credentials.
 * - btcd uses -5 for every "not found" (block, tx, block count); bitcoind -5 for unknown blocks/txs and
 *   -8 for a height out of range; btcd uses -1 (ErrRPCOutOfRange) for a height out of range.
 */
import { ChainError } from './errors.js';

export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_MISC_ERROR = -1;
export const RPC_INVALID_ADDRESS_OR_KEY = -5;
export const RPC_INVALID_PARAMETER = -8;
export const RPC_DESERIALIZATION_ERROR = -22;
export const RPC_VERIFY_ERROR = -25;
export const RPC_VERIFY_REJECTED = -26;
export const RPC_VERIFY_ALREADY_IN_CHAIN = -27;
export const RPC_IN_WARMUP = -28;

/** Largest response body accepted (a 4 MB block is 8 MB of hex). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface JsonRpcRequest {
  jsonrpc: '1.0';
  id: number;
  method: string;
  params: unknown[];
}

export function encodeJsonRpcRequest(id: number, method: string, params: readonly unknown[]): string {
  const req: JsonRpcRequest = { jsonrpc: '1.0', id, method, params: [...params] };
  return JSON.stringify(req);
}

function truncate(s: string, n = 200): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n)}…` : t;
}

/** Maps a JSON-RPC error object to a ChainError. */
export function rpcErrorToChainError(method: string, code: number, message: string): ChainError {
  const opts = { rpcCode: code, rpcMessage: message };
  const text = `chain: ${method}: ${message} (code ${code})`;
  if (code === RPC_METHOD_NOT_FOUND) return new ChainError('METHOD_NOT_FOUND', text, opts);
  if (code === RPC_IN_WARMUP) return new ChainError('BUSY', text, { ...opts, transient: true });
  if (code === RPC_INVALID_ADDRESS_OR_KEY && /not found|no such|no information|unknown block|not in/i.test(message))
    return new ChainError('NOT_FOUND', text, opts);
  if (
    (method === 'getblockhash' && (code === RPC_INVALID_PARAMETER || code === RPC_MISC_ERROR)) ||
    /out of range/i.test(message)
  )
    return new ChainError('NOT_FOUND', text, opts);
  return new ChainError('RPC', text, opts);
}

/**
 * Parses an HTTP response from a bitcoind-compatible JSON-RPC server into the call's `result`.
 * `expectId`, when given, must match the response's id.
 */
export function parseJsonRpcResponse(method: string, status: number, body: string, expectId?: number): unknown {
  const ctx = `chain: ${method}`;
  if (!Number.isInteger(status)) throw new ChainError('BAD_RESPONSE', `${ctx}: no HTTP status`);
  if (typeof body !== 'string') throw new ChainError('BAD_RESPONSE', `${ctx}: body is not text`);
  if (status === 401 || status === 403)
    throw new ChainError('AUTH', `${ctx}: HTTP ${status}: authentication failed (check --bitcoin-rpcuser and --bitcoin-rpcpassword, or --bitcoin-datadir for bitcoind's cookie)`);
  if (status === 503) throw new ChainError('BUSY', `${ctx}: HTTP 503: backend busy: ${truncate(body)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    if (status !== 200) throw new ChainError('BAD_RESPONSE', `${ctx}: HTTP ${status}: ${truncate(body) || '(empty body)'}`);
    throw new ChainError('BAD_RESPONSE', `${ctx}: response is not JSON: ${truncate(body)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ChainError('BAD_RESPONSE', `${ctx}: HTTP ${status}: response is not a JSON-RPC object`);
  const obj = parsed as Record<string, unknown>;
  if (expectId !== undefined && 'id' in obj && obj.id !== null && obj.id !== expectId)
    throw new ChainError('BAD_RESPONSE', `${ctx}: response id ${JSON.stringify(obj.id)} does not match request id ${expectId}`);
  const err = obj.error;
  if (err !== undefined && err !== null) {
    if (typeof err === 'object' && !Array.isArray(err)) {
      const e = err as Record<string, unknown>;
      const code = typeof e.code === 'number' && Number.isFinite(e.code) ? e.code : NaN;
      const message = typeof e.message === 'string' ? e.message : JSON.stringify(e.message ?? null);
      if (Number.isNaN(code)) throw new ChainError('BAD_RESPONSE', `${ctx}: error without a numeric code: ${truncate(message)}`);
      throw rpcErrorToChainError(method, code, message);
    }
    throw new ChainError('RPC', `${ctx}: ${truncate(String(JSON.stringify(err)))}`);
  }
  if (status !== 200) throw new ChainError('BAD_RESPONSE', `${ctx}: HTTP ${status} without a JSON-RPC error`);
  if (!('result' in obj)) throw new ChainError('BAD_RESPONSE', `${ctx}: response has neither result nor error`);
  return obj.result;
}

// Result shape checks, total: each returns the typed value or throws BAD_RESPONSE.

export function expectInteger(method: string, v: unknown, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new ChainError('BAD_RESPONSE', `chain: ${method}: expected an integer ≥ ${min}, got ${truncate(String(JSON.stringify(v)), 60)}`);
  return v;
}

export function expectHash(method: string, v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v))
    throw new ChainError('BAD_RESPONSE', `chain: ${method}: expected a 32-byte hex hash, got ${truncate(String(JSON.stringify(v)), 80)}`);
  return v.toLowerCase();
}

export function expectHex(method: string, v: unknown): Uint8Array {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v))
    throw new ChainError('BAD_RESPONSE', `chain: ${method}: expected hex, got ${typeof v === 'string' ? `${v.length} chars of non-hex` : typeof v}`);
  return new Uint8Array(Buffer.from(v, 'hex'));
}

/**
 * Converts a fee rate in BTC per 1000 virtual bytes (what both `estimatesmartfee` and btcd's `estimatefee`
 * return) into integer sat per 1000 weight units, floored at 253. Returns null for a missing, negative or
 * non-finite rate (both backends use -1 for "no estimate").
 */
export function btcPerKvbToSatPerKw(btcPerKvb: unknown): number | null {
  if (typeof btcPerKvb !== 'number' || !Number.isFinite(btcPerKvb) || btcPerKvb <= 0) return null;
  // 1 BTC/kvB = 1e8 sat / 4000 wu = 25 000 sat/kw. Round the sat/kvB first (decimal BTC in a float).
  const satPerKvb = Math.round(btcPerKvb * 1e8);
  if (!Number.isSafeInteger(satPerKvb)) return null;
  return Math.max(253, Math.floor(satPerKvb / 4));
}
