/**
 * A {@link ChainSource} over bitcoind's JSON-RPC (HTTP, basic auth), serving bitcoind and btcd alike.
 *
 * Only the RPC subset both implement is used: getblockcount, getbestblockhash, getblockhash,
 * `getblock <hash> 0`, `getblockheader <hash> false`, `getrawtransaction <txid> 0`, sendrawtransaction,
 * and `estimatesmartfee` (bitcoind) with a fall-back to `estimatefee` (btcd, which has no
 * estimatesmartfee; remembered after the first -32601).
 *
 * Transient failures (connection refused or reset, timeouts, HTTP 503, RPC -28 warming up) are retried
 * with exponential backoff and jitter; when the attempts are used up the call rejects with a
 * `ChainError` (`UNREACHABLE`, `TIMEOUT`, `BUSY`) that names the backend's address. Nothing here throws
 * synchronously or leaves a promise unhandled: a caller that awaits each call cannot crash the daemon.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { ChainError, isChainError } from './errors.js';
import { parseBlockHeader, parseTransaction } from './block.js';
import type { ChainSource, FeeEstimate } from './chain-source.js';
import {
  MAX_RESPONSE_BYTES,
  RPC_VERIFY_ALREADY_IN_CHAIN,
  btcPerKvbToSatPerKw,
  encodeJsonRpcRequest,
  expectHash,
  expectHex,
  expectInteger,
  parseJsonRpcResponse,
} from './json-rpc.js';

export interface RetryPolicy {
  /** Total attempts per call, including the first. Default 5. */
  maxAttempts: number;
  /** Delay before the first retry, ms; doubles each time (± 20 % jitter). Default 250. */
  initialDelayMs: number;
  /** Upper bound of one delay, ms. Default 8000. */
  maxDelayMs: number;
}

/** Minimal logger (pino's shape), so the chain layer does not depend on the node's logger. */
export interface ChainLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

/** What the one WARN about an unreachable backend tells the user to check. */
export const BACKEND_OPTIONS_HINT =
  'point anode at bitcoind or btcd with --bitcoin-rpcconnect, --bitcoin-rpcport, --bitcoin-rpcuser and --bitcoin-rpcpassword ' +
  '(or --bitcoin-datadir for bitcoind\'s cookie), and --bitcoin-rpccert=<btcd\'s rpc.cert> for btcd\'s TLS';

export interface BitcoindRpcOptions {
  /** `--bitcoin-rpcconnect`. Default 127.0.0.1. */
  host?: string;
  /** `--bitcoin-rpcport`. */
  port: number;
  /** `--bitcoin-rpcuser`. */
  user: string;
  /** `--bitcoin-rpcpassword`. */
  password: string;
  /**
   * `--bitcoin-datadir`'s `.cookie` file (bitcoind's cookie authentication), read at each connection
   * when no user is given (bitcoind writes a new cookie at each start).
   */
  cookieFile?: string;
  /** `--bitcoin-rpccert`: the server's certificate (PEM), trusted for TLS (btcd's self-signed `rpc.cert`). */
  tlsCert?: string | Buffer;
  /** Per-request timeout, ms. Default 30 000. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  logger?: ChainLogger;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 250, maxDelayMs: 8000 };

const ALREADY_KNOWN =
  /already have transaction|transaction already exists|txn-already-in-mempool|txn-already-known|already in block ?chain|outputs already in utxo set/i;

/** btcd's estimatefee answers at most 25 blocks ahead. */
const BTCD_MAX_ESTIMATE_BLOCKS = 25;

interface HttpReply {
  status: number;
  body: string;
}

export class BitcoindRpcClient implements ChainSource {
  readonly host: string;
  readonly port: number;
  private readonly user: string;
  private readonly password: string;
  private readonly cookieFile: string | undefined;
  private readonly tlsCert: string | Buffer | undefined;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly logger: ChainLogger | undefined;
  private readonly agent: http.Agent;
  private nextId = 1;
  private closed = false;
  /** The backend failed its last call transiently: the WARN is out, further failures are quiet until it answers. */
  private down = false;
  /** null until known; false once the backend answered -32601 to estimatesmartfee (btcd). */
  private hasSmartFee: boolean | null = null;
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  constructor(opts: BitcoindRpcOptions) {
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)
      throw new ChainError('INVALID_ARGUMENT', `chain: invalid RPC port ${String(opts.port)}`);
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port;
    this.user = opts.user;
    this.password = opts.password;
    this.cookieFile = opts.cookieFile;
    this.tlsCert = opts.tlsCert;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.logger = opts.logger;
    this.agent = this.tlsCert === undefined ? new http.Agent({ keepAlive: true, maxSockets: 4 }) : new https.Agent({ keepAlive: true, maxSockets: 4, ca: this.tlsCert });
  }

  /** Basic credentials: the user and password given, else bitcoind's cookie (`__cookie__:<secret>`). */
  private authorization(method: string): string {
    let creds = `${this.user}:${this.password}`;
    if (this.user === '' && this.cookieFile !== undefined) {
      try {
        creds = readFileSync(this.cookieFile, 'utf8').trim();
      } catch (e) {
        throw new ChainError('AUTH', `chain: ${method}: cannot read bitcoind's cookie ${this.cookieFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (is bitcoind running with this --bitcoin-datadir?)`, { transient: true });
      }
    }
    return 'Basic ' + Buffer.from(creds).toString('base64');
  }

  /** A transient failure: one WARN naming the options when the backend goes away, then quiet (debug) retries. */
  private noteDown(method: string, err: ChainError): void {
    if (this.down) {
      this.logger?.debug({ method, backend: this.endpoint, err: err.message }, 'chain backend still unreachable');
      return;
    }
    this.down = true;
    const tls = this.tlsCert === undefined && /ECONNRESET|socket hang up/.test(err.message) ? ' (a reset often means the backend speaks TLS: btcd does by default)' : '';
    this.logger?.warn({ backend: this.endpoint, err: err.message }, `chain backend ${this.endpoint} unreachable${tls}: ${BACKEND_OPTIONS_HINT}; retrying quietly with back-off`);
  }

  private noteUp(): void {
    if (!this.down) return;
    this.down = false;
    (this.logger?.info ?? this.logger?.warn)?.call(this.logger, { backend: this.endpoint }, `chain backend ${this.endpoint} reachable again`);
  }

  /** `host:port`, for messages. */
  get endpoint(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Stops retries in progress (they reject with UNREACHABLE) and closes idle connections. */
  close(): void {
    this.closed = true;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleepers.clear();
    this.agent.destroy();
  }

  /**
   * One JSON-RPC call with retries of transient failures. Rejects only with ChainError.
   * `retry: false` makes a single attempt.
   */
  async call(method: string, params: readonly unknown[] = [], opts: { retry?: boolean } = {}): Promise<unknown> {
    const attempts = opts.retry === false ? 1 : Math.max(1, this.retry.maxAttempts);
    let delay = this.retry.initialDelayMs;
    let last: ChainError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.closed) throw new ChainError('UNREACHABLE', `chain: ${method}: client closed`, { transient: false });
      try {
        const id = this.nextId++;
        const reply = await this.post(method, encodeJsonRpcRequest(id, method, params));
        const result = parseJsonRpcResponse(method, reply.status, reply.body, id);
        this.noteUp();
        return result;
      } catch (e) {
        const err = isChainError(e) ? e : new ChainError('BAD_RESPONSE', `chain: ${method}: ${String(e)}`, { cause: e });
        if (!err.transient) {
          if (err.code !== 'AUTH' && err.code !== 'BAD_RESPONSE') this.noteUp();
          throw err;
        }
        last = err;
        if (err.code === 'UNREACHABLE' || err.code === 'TIMEOUT' || err.code === 'AUTH') this.noteDown(method, err);
        if (attempt < attempts) {
          const jittered = Math.round(delay * (0.8 + 0.4 * Math.random()));
          this.logger?.debug({ method, attempt, retryInMs: jittered, backend: this.endpoint, err: err.message }, 'chain backend call failed, retrying');
          await this.sleep(jittered);
          delay = Math.min(delay * 2, this.retry.maxDelayMs);
        }
      }
    }
    throw last!.withContext(`after ${attempts} attempt${attempts === 1 ? '' : 's'}`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const s = {
        timer: setTimeout(() => {
          this.sleepers.delete(s);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleepers.add(s);
    });
  }

  private post(method: string, payload: string): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve, reject) => {
      let settled = false;
      const done = (err: ChainError | null, reply?: HttpReply) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(reply!);
      };
      const where = `chain: ${method}: backend ${this.endpoint}`;
      let req: http.ClientRequest;
      try {
        const options: http.RequestOptions = {
          host: this.host,
          port: this.port,
          method: 'POST',
          path: '/',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            authorization: this.authorization(method),
          },
        };
        req = this.tlsCert === undefined ? http.request(options) : https.request(options);
      } catch (e) {
        done(isChainError(e) ? e : new ChainError('INVALID_ARGUMENT', `${where}: ${(e as Error).message}`, { cause: e }));
        return;
      }
      req.setTimeout(this.timeoutMs, () => {
        req.destroy();
        done(new ChainError('TIMEOUT', `${where}: no answer within ${this.timeoutMs} ms`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code ? `${e.code}` : e.message;
        done(new ChainError('UNREACHABLE', `${where} unreachable: ${code}`, { cause: e }));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) {
            res.destroy();
            req.destroy();
            done(new ChainError('BAD_RESPONSE', `${where}: response larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', (e) => done(new ChainError('UNREACHABLE', `${where}: connection lost: ${e.message}`, { cause: e })));
        res.on('aborted', () => done(new ChainError('UNREACHABLE', `${where}: connection lost mid-response`)));
        res.on('end', () => done(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.end(payload);
    });
  }

  async getBlockCount(): Promise<number> {
    return expectInteger('getblockcount', await this.call('getblockcount'));
  }

  async getBestBlockHash(): Promise<string> {
    return expectHash('getbestblockhash', await this.call('getbestblockhash'));
  }

  async getBlockHash(height: number): Promise<string> {
    if (!Number.isSafeInteger(height) || height < 0)
      throw new ChainError('INVALID_ARGUMENT', `chain: getblockhash: invalid height ${String(height)}`);
    return expectHash('getblockhash', await this.call('getblockhash', [height]));
  }

  async getRawBlock(hash: string): Promise<Uint8Array> {
    checkHash('getblock', hash);
    return expectHex('getblock', await this.call('getblock', [hash, 0]));
  }

  async getRawBlockHeader(hash: string): Promise<Uint8Array> {
    checkHash('getblockheader', hash);
    const raw = expectHex('getblockheader', await this.call('getblockheader', [hash, false]));
    if (raw.length !== 80) throw new ChainError('BAD_RESPONSE', `chain: getblockheader: expected 80 bytes, got ${raw.length}`);
    return raw;
  }

  /** The parsed header of a block, checking that it hashes to `hash`. */
  async getBlockHeader(hash: string) {
    const header = parseBlockHeader(await this.getRawBlockHeader(hash));
    if (header.hash !== hash.toLowerCase())
      throw new ChainError('BAD_RESPONSE', `chain: getblockheader: header hashes to ${header.hash}, asked for ${hash}`);
    return header;
  }

  async getRawTransaction(txid: string): Promise<Uint8Array> {
    checkHash('getrawtransaction', txid);
    return expectHex('getrawtransaction', await this.call('getrawtransaction', [txid, 0]));
  }

  async sendRawTransaction(tx: Uint8Array | string): Promise<string> {
    const hex = typeof tx === 'string' ? tx : Buffer.from(tx).toString('hex');
    let localTxid: string | undefined;
    try {
      localTxid = parseTransaction(new Uint8Array(Buffer.from(hex, 'hex'))).txid;
    } catch {
      // Let the node say what is wrong with it.
    }
    let result: unknown;
    try {
      result = await this.call('sendrawtransaction', [hex]);
    } catch (e) {
      if (isChainError(e) && e.rpcCode !== undefined) {
        const msg = e.rpcMessage ?? e.message;
        if (localTxid && (e.rpcCode === RPC_VERIFY_ALREADY_IN_CHAIN || ALREADY_KNOWN.test(msg))) {
          this.logger?.debug({ txid: localTxid, node: msg }, 'sendrawtransaction: backend already has it');
          return localTxid;
        }
        if (e.code === 'RPC' || e.code === 'NOT_FOUND')
          throw new ChainError('TX_REJECTED', `chain: sendrawtransaction: rejected by the node: ${msg} (code ${e.rpcCode})`, {
            rpcCode: e.rpcCode,
            rpcMessage: msg,
            transient: false,
          });
      }
      throw e;
    }
    return expectHash('sendrawtransaction', result);
  }

  async estimateFeeSatPerKw(targetBlocks: number): Promise<FeeEstimate | null> {
    if (!Number.isSafeInteger(targetBlocks) || targetBlocks < 1)
      throw new ChainError('INVALID_ARGUMENT', `chain: estimateFeeSatPerKw: invalid target ${String(targetBlocks)}`);
    if (this.hasSmartFee !== false) {
      try {
        const r = await this.call('estimatesmartfee', [targetBlocks]);
        this.hasSmartFee = true;
        return parseSmartFee(r, targetBlocks);
      } catch (e) {
        if (!isChainError(e, 'METHOD_NOT_FOUND')) throw e;
        this.hasSmartFee = false;
        this.logger?.debug({ backend: this.endpoint }, 'no estimatesmartfee (btcd?); using estimatefee');
      }
    }
    const blocks = Math.min(targetBlocks, BTCD_MAX_ESTIMATE_BLOCKS);
    let r: unknown;
    try {
      r = await this.call('estimatefee', [blocks]);
    } catch (e) {
      // btcd: "not enough blocks have been observed" (-32603), "Fee estimation disabled": no estimate yet.
      if (isChainError(e, 'RPC')) {
        this.logger?.debug({ err: e.message }, 'estimatefee: no estimate');
        return null;
      }
      throw e;
    }
    if (typeof r !== 'number') throw new ChainError('BAD_RESPONSE', `chain: estimatefee: expected a number, got ${typeof r}`);
    const rate = btcPerKvbToSatPerKw(r);
    return rate === null ? null : { feeRateSatPerKw: rate, blocks, source: 'estimatefee' };
  }
}

function checkHash(method: string, hash: string): void {
  if (typeof hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hash))
    throw new ChainError('INVALID_ARGUMENT', `chain: ${method}: not a 32-byte hex hash: ${JSON.stringify(hash)}`);
}

/** `estimatesmartfee` result → estimate, null when it has none (`errors`, no `feerate`). Total. */
export function parseSmartFee(r: unknown, targetBlocks: number): FeeEstimate | null {
  if (r === null || typeof r !== 'object' || Array.isArray(r))
    throw new ChainError('BAD_RESPONSE', 'chain: estimatesmartfee: expected an object');
  const o = r as Record<string, unknown>;
  if (o.feerate === undefined) return null;
  const rate = btcPerKvbToSatPerKw(o.feerate);
  if (rate === null) {
    if (typeof o.feerate !== 'number') throw new ChainError('BAD_RESPONSE', 'chain: estimatesmartfee: feerate is not a number');
    return null;
  }
  const blocks = typeof o.blocks === 'number' && Number.isSafeInteger(o.blocks) && o.blocks > 0 ? o.blocks : targetBlocks;
  return { feeRateSatPerKw: rate, blocks, source: 'estimatesmartfee' };
}
