/**
 * The JSON-RPC envelope parser and result checks: a table of what bitcoind and btcd really send (bitcoind
 * errors come with HTTP 500/404, btcd's with 200; both 401 on bad credentials and 503 when busy), then
 * properties: any status and body give a result or a ChainError, nothing else.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainError, type ChainErrorCode } from '../../src/chain/errors.js';
import {
  btcPerKvbToSatPerKw,
  encodeJsonRpcRequest,
  expectHash,
  expectHex,
  expectInteger,
  parseJsonRpcResponse,
} from '../../src/chain/json-rpc.js';
import { parseSmartFee } from '../../src/chain/bitcoind-rpc.js';
import { chainRpcConfigFromOptions, CHAIN_OPTIONS } from '../../src/chain/options.js';

const RUNS = { numRuns: Number(process.env.CHAIN_PROPERTY_RUNS ?? 300) };

const ok: { name: string; method: string; status: number; body: string; result: unknown }[] = [
  { name: 'btcd getblockcount', method: 'getblockcount', status: 200, body: '{"result":432,"error":null,"id":1}', result: 432 },
  { name: 'bitcoind null result', method: 'invalidateblock', status: 200, body: '{"result":null,"error":null,"id":1}', result: null },
  { name: 'no id', method: 'getblockcount', status: 200, body: '{"result":1}', result: 1 },
];

const bad: { name: string; method: string; status: number; body: string; code: ChainErrorCode; rpcCode?: number; transient?: boolean; match?: RegExp }[] = [
  { name: 'bitcoind unknown method (404)', method: 'estimatesmartfee', status: 404, body: '{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}', code: 'METHOD_NOT_FOUND', rpcCode: -32601 },
  { name: 'btcd unknown method (200)', method: 'estimatesmartfee', status: 200, body: '{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}', code: 'METHOD_NOT_FOUND', rpcCode: -32601 },
  { name: 'btcd block not found', method: 'getblock', status: 200, body: '{"result":null,"error":{"code":-5,"message":"Block not found"},"id":1}', code: 'NOT_FOUND', rpcCode: -5 },
  { name: 'bitcoind height out of range', method: 'getblockhash', status: 500, body: '{"result":null,"error":{"code":-8,"message":"Block height out of range"},"id":1}', code: 'NOT_FOUND', rpcCode: -8 },
  { name: 'btcd height out of range', method: 'getblockhash', status: 200, body: '{"result":null,"error":{"code":-1,"message":"Block number out of range"},"id":1}', code: 'NOT_FOUND', rpcCode: -1 },
  { name: 'bitcoind tx not found', method: 'getrawtransaction', status: 500, body: '{"result":null,"error":{"code":-5,"message":"No such mempool or blockchain transaction. Use gettransaction for wallet transactions."},"id":1}', code: 'NOT_FOUND', rpcCode: -5 },
  { name: 'btcd tx rejected', method: 'sendrawtransaction', status: 200, body: '{"result":null,"error":{"code":-26,"message":"TX rejected: bad"},"id":1}', code: 'RPC', rpcCode: -26 },
  { name: 'warming up', method: 'getblockcount', status: 500, body: '{"result":null,"error":{"code":-28,"message":"Loading block index..."},"id":1}', code: 'BUSY', rpcCode: -28, transient: true },
  { name: 'btcd estimatefee too early', method: 'estimatefee', status: 200, body: '{"result":null,"error":{"code":-32603,"message":"not enough blocks have been observed"},"id":1}', code: 'RPC', rpcCode: -32603 },
  { name: 'unauthorized (btcd text)', method: 'getblockcount', status: 401, body: '401 Unauthorized.\n', code: 'AUTH', transient: false, match: /rpcuser/ },
  { name: 'unauthorized (bitcoind empty)', method: 'getblockcount', status: 401, body: '', code: 'AUTH' },
  { name: 'busy 503', method: 'getblockcount', status: 503, body: '503 Too busy.  Try again later.', code: 'BUSY', transient: true },
  { name: 'html 500', method: 'getblockcount', status: 500, body: '<html>oops</html>', code: 'BAD_RESPONSE', match: /HTTP 500/ },
  { name: 'not JSON 200', method: 'getblockcount', status: 200, body: 'hello', code: 'BAD_RESPONSE' },
  { name: 'JSON array', method: 'getblockcount', status: 200, body: '[1]', code: 'BAD_RESPONSE' },
  { name: 'neither result nor error', method: 'getblockcount', status: 200, body: '{"id":1}', code: 'BAD_RESPONSE' },
  { name: 'id mismatch', method: 'getblockcount', status: 200, body: '{"result":1,"error":null,"id":2}', code: 'BAD_RESPONSE', match: /id/ },
  { name: 'error without code', method: 'getblockcount', status: 200, body: '{"result":null,"error":{"message":"x"},"id":1}', code: 'BAD_RESPONSE' },
  { name: 'error as string', method: 'getblockcount', status: 200, body: '{"result":null,"error":"boom","id":1}', code: 'RPC' },
  { name: 'HTTP 500 with result', method: 'getblockcount', status: 500, body: '{"result":1,"error":null,"id":1}', code: 'BAD_RESPONSE' },
];

describe('parseJsonRpcResponse', () => {
  for (const c of ok)
    it(`ok: ${c.name}`, () => {
      assert.deepEqual(parseJsonRpcResponse(c.method, c.status, c.body, 1), c.result);
    });
  for (const c of bad)
    it(`error: ${c.name} → ${c.code}`, () => {
      assert.throws(
        () => parseJsonRpcResponse(c.method, c.status, c.body, 1),
        (e: unknown) => {
          assert.ok(e instanceof ChainError, String(e));
          assert.equal(e.code, c.code, e.message);
          if (c.rpcCode !== undefined) assert.equal(e.rpcCode, c.rpcCode);
          if (c.transient !== undefined) assert.equal(e.transient, c.transient);
          if (c.match) assert.match(e.message, c.match);
          assert.match(e.message, new RegExp(`^chain: ${c.method}: `));
          return true;
        },
      );
    });

  it('request encoding', () => {
    assert.deepEqual(JSON.parse(encodeJsonRpcRequest(7, 'getblock', ['ab', 0])), { jsonrpc: '1.0', id: 7, method: 'getblock', params: ['ab', 0] });
  });
});

describe('fee conversion', () => {
  it('BTC/kvB → sat/kw', () => {
    assert.equal(btcPerKvbToSatPerKw(0.00001), 253); // 1 sat/vB = 250 sat/kw, floored at 253
    assert.equal(btcPerKvbToSatPerKw(0.0001), 2500);
    assert.equal(btcPerKvbToSatPerKw(0.00035461), 8865);
    assert.equal(btcPerKvbToSatPerKw(-1), null);
    assert.equal(btcPerKvbToSatPerKw(0), null);
    assert.equal(btcPerKvbToSatPerKw(Number.NaN), null);
    assert.equal(btcPerKvbToSatPerKw('0.001'), null);
  });
  it('estimatesmartfee shapes', () => {
    assert.deepEqual(parseSmartFee({ feerate: 0.0002, blocks: 2 }, 1), { feeRateSatPerKw: 5000, blocks: 2, source: 'estimatesmartfee' });
    assert.equal(parseSmartFee({ errors: ['Insufficient data or no feerate found'], blocks: 0 }, 6), null);
    assert.throws(() => parseSmartFee([], 6), ChainError);
    assert.throws(() => parseSmartFee({ feerate: 'x' }, 6), ChainError);
  });
});

describe('options', () => {
  it('lightningd names and defaults', () => {
    assert.deepEqual(CHAIN_OPTIONS.map((o) => o.name).slice(0, 4), ['bitcoin-rpcconnect', 'bitcoin-rpcport', 'bitcoin-rpcuser', 'bitcoin-rpcpassword']);
    assert.deepEqual(chainRpcConfigFromOptions(new Map(), 'regtest'), { host: '127.0.0.1', port: 18443, user: '', password: '', timeoutMs: 60_000 });
    assert.equal(chainRpcConfigFromOptions(new Map(), 'bitcoin').port, 8332);
    const c = chainRpcConfigFromOptions(
      new Map([
        ['bitcoin-rpcconnect', ['10.0.0.2']],
        ['bitcoin-rpcport', ['18334']],
        ['bitcoin-rpcuser', ['u']],
        ['bitcoin-rpcpassword', ['p=w']],
      ]),
    );
    assert.deepEqual(c, { host: '10.0.0.2', port: 18334, user: 'u', password: 'p=w', timeoutMs: 60_000 });
    assert.equal(chainRpcConfigFromOptions({ 'bitcoin-rpcport': 1 }).port, 1);
    for (const p of ['0', '65536', 'x', '-1', '1.5'])
      assert.throws(() => chainRpcConfigFromOptions({ 'bitcoin-rpcport': p }), (e: unknown) => e instanceof ChainError && e.code === 'INVALID_ARGUMENT');
  });
});

function totalRpc(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ChainError)) throw e;
  }
}

describe('JSON-RPC properties', () => {
  it('any status and text: a result or a ChainError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999 }), fc.string({ maxLength: 200 }), fc.option(fc.nat()), (status, body, id) =>
        totalRpc(() => parseJsonRpcResponse('m', status, body, id ?? undefined)),
      ),
      { numRuns: RUNS.numRuns * 3 },
    );
  });
  it('any JSON value as the body: a result or a ChainError', () => {
    fc.assert(
      fc.property(fc.constantFrom(200, 401, 404, 500, 503), fc.jsonValue(), (status, v) =>
        totalRpc(() => parseJsonRpcResponse('m', status, JSON.stringify(v) ?? 'null', 1)),
      ),
      { numRuns: RUNS.numRuns * 3 },
    );
  });
  it('envelope-shaped bodies with random fields: a result or a ChainError', () => {
    const envelope = fc.record(
      { result: fc.jsonValue(), error: fc.oneof(fc.constant(null), fc.jsonValue(), fc.record({ code: fc.jsonValue(), message: fc.jsonValue() }, { requiredKeys: [] })), id: fc.jsonValue() },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(200, 404, 500), envelope, (status, env) => totalRpc(() => parseJsonRpcResponse('m', status, JSON.stringify(env), 1))),
      { numRuns: RUNS.numRuns * 3 },
    );
  });
  it('mutated real responses: a result or a ChainError', () => {
    const real = [...ok, ...bad].map((c) => c.body);
    fc.assert(
      fc.property(fc.constantFrom(...real), fc.array(fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1 })), { maxLength: 5 }), fc.nat(), (body, edits, cut) => {
        const chars = [...body];
        for (const [pos, ch] of edits) if (chars.length) chars[pos % chars.length] = ch;
        totalRpc(() => parseJsonRpcResponse('m', 200, chars.join('').slice(0, cut % (chars.length + 1)), 1));
      }),
      { numRuns: RUNS.numRuns * 3 },
    );
  });
  it('result checks: typed value or ChainError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        totalRpc(() => expectInteger('m', v));
        totalRpc(() => expectHash('m', v));
        totalRpc(() => expectHex('m', v));
        totalRpc(() => parseSmartFee(v, 6));
        const r = btcPerKvbToSatPerKw(v);
        assert.ok(r === null || (Number.isSafeInteger(r) && r >= 253));
      }),
      { numRuns: RUNS.numRuns * 3 },
    );
  });
});
