/**
 * BitcoindRpcClient against a scripted HTTP server: retries with backoff on transient failures (503,
 * -28 warm-up, dropped connections, timeouts), no retries on permanent ones (401, RPC errors), typed
 * errors naming the backend, basic auth, estimatesmartfee → estimatefee fall-back remembered.
 * (The same client against a real btcd: btcd.test.ts.)
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BitcoindRpcClient } from '../../src/chain/bitcoind-rpc.js';
import { ChainError } from '../../src/chain/errors.js';
import { sleep } from '../harness/wait.js';

type Reply = { status?: number; body?: string; hang?: boolean; drop?: boolean };
type Script = (req: { method: string; params: unknown[]; id: number; auth: string | undefined }, n: number) => Reply;

const servers: http.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function serve(script: Script): Promise<{ port: number; calls: string[] }> {
  const calls: string[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      calls.push(body.method);
      const r = script({ ...body, auth: req.headers.authorization }, calls.length);
      if (r.hang) return;
      if (r.drop) {
        req.socket.destroy();
        return;
      }
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
      res.end(r.body ?? '');
    });
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as AddressInfo).port, calls };
}

const ok = (id: number, result: unknown): Reply => ({ body: JSON.stringify({ result, error: null, id }) });
const rpcErr = (id: number, code: number, message: string, status = 200): Reply => ({
  status,
  body: JSON.stringify({ result: null, error: { code, message }, id }),
});
const fast = { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 };

describe('BitcoindRpcClient', () => {
  it('sends basic auth and JSON-RPC 1.0', async () => {
    let seen: string | undefined;
    const { port } = await serve((r) => {
      seen = r.auth;
      return ok(r.id, 101);
    });
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p:w', retry: fast });
    assert.equal(await c.getBlockCount(), 101);
    assert.equal(seen, 'Basic ' + Buffer.from('u:p:w').toString('base64'));
    c.close();
  });

  it('retries 503, warm-up and dropped connections, then succeeds', async () => {
    const { port, calls } = await serve((r, n) =>
      n === 1 ? { status: 503, body: '503 Too busy.  Try again later.' } : n === 2 ? rpcErr(r.id, -28, 'Loading block index...', 500) : n === 3 ? { drop: true } : ok(r.id, 7),
    );
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: fast });
    assert.equal(await c.getBlockCount(), 7);
    assert.equal(calls.length, 4);
    c.close();
  });

  it('gives up after maxAttempts with a typed, transient error naming the backend', async () => {
    const { port, calls } = await serve(() => ({ status: 503, body: 'busy' }));
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: fast });
    await assert.rejects(c.getBlockCount(), (e: unknown) => {
      assert.ok(e instanceof ChainError);
      assert.equal(e.code, 'BUSY');
      assert.equal(e.transient, true);
      assert.match(e.message, /after 4 attempts/);
      return true;
    });
    assert.equal(calls.length, 4);
    c.close();
  });

  it('does not retry 401 or RPC errors', async () => {
    const { port, calls } = await serve((r) => (r.method === 'getblockcount' ? { status: 401, body: '401 Unauthorized.' } : rpcErr(r.id, -5, 'Block not found')));
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'bad', retry: fast });
    await assert.rejects(c.getBlockCount(), (e: unknown) => e instanceof ChainError && e.code === 'AUTH' && !e.transient);
    await assert.rejects(c.getRawBlock('00'.repeat(32)), (e: unknown) => e instanceof ChainError && e.code === 'NOT_FOUND' && e.rpcCode === -5);
    assert.deepEqual(calls, ['getblockcount', 'getblock']);
    c.close();
  });

  it('times out a hanging backend (TIMEOUT, retried)', async () => {
    const { port, calls } = await serve(() => ({ hang: true }));
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', timeoutMs: 100, retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 5 } });
    await assert.rejects(c.getBlockCount(), (e: unknown) => e instanceof ChainError && e.code === 'TIMEOUT' && /no answer within 100 ms/.test(e.message));
    assert.equal(calls.length, 2);
    c.close();
  });

  it('unreachable: ECONNREFUSED as UNREACHABLE with the address', async () => {
    const { port } = await serve(() => ok(1, 1));
    servers.pop()!.close();
    await sleep(20);
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 } });
    await assert.rejects(c.getBestBlockHash(), (e: unknown) => {
      assert.ok(e instanceof ChainError);
      assert.equal(e.code, 'UNREACHABLE');
      assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
    c.close();
  });

  it('rejects malformed results with BAD_RESPONSE', async () => {
    const { port } = await serve((r) => ok(r.id, r.method === 'getblockcount' ? -3 : r.method === 'getblock' ? 'zz' : 'nothash'));
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: fast });
    await assert.rejects(c.getBlockCount(), (e: unknown) => e instanceof ChainError && e.code === 'BAD_RESPONSE');
    await assert.rejects(c.getRawBlock('00'.repeat(32)), (e: unknown) => e instanceof ChainError && e.code === 'BAD_RESPONSE');
    await assert.rejects(c.getBestBlockHash(), (e: unknown) => e instanceof ChainError && e.code === 'BAD_RESPONSE');
    await assert.rejects(c.getBlockHash(-1), (e: unknown) => e instanceof ChainError && e.code === 'INVALID_ARGUMENT');
    await assert.rejects(c.getRawBlock('nothex'), (e: unknown) => e instanceof ChainError && e.code === 'INVALID_ARGUMENT');
    c.close();
  });

  it('estimatesmartfee (bitcoind) and estimatefee fall-back (btcd), remembered', async () => {
    const bitcoind = await serve((r) => ok(r.id, { feerate: 0.00012, blocks: 3 }));
    const c1 = new BitcoindRpcClient({ port: bitcoind.port, user: 'u', password: 'p', retry: fast });
    assert.deepEqual(await c1.estimateFeeSatPerKw(3), { feeRateSatPerKw: 3000, blocks: 3, source: 'estimatesmartfee' });
    c1.close();
    const btcd = await serve((r, n) =>
      r.method === 'estimatesmartfee' ? rpcErr(r.id, -32601, 'Method not found') : n === 2 ? rpcErr(r.id, -32603, 'not enough blocks have been observed') : ok(r.id, 0.0002),
    );
    const c2 = new BitcoindRpcClient({ port: btcd.port, user: 'u', password: 'p', retry: fast });
    assert.equal(await c2.estimateFeeSatPerKw(6), null);
    assert.deepEqual(await c2.estimateFeeSatPerKw(100), { feeRateSatPerKw: 5000, blocks: 25, source: 'estimatefee' });
    assert.deepEqual(btcd.calls, ['estimatesmartfee', 'estimatefee', 'estimatefee']);
    c2.close();
  });

  it('sendrawtransaction: node message surfaced; already-known resolves with the txid', async () => {
    // A minimal valid-looking tx: 1 input, 1 output.
    const tx = '0200000001' + '11'.repeat(32) + '00000000' + '00' + 'ffffffff' + '01' + '0000000000000000' + '0151' + '00000000';
    const { port } = await serve((r, n) => (n === 1 ? rpcErr(r.id, -26, 'TX rejected: already have transaction abc') : rpcErr(r.id, -26, 'mandatory-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)', 500)));
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: fast });
    const txid = await c.sendRawTransaction(tx);
    assert.match(txid, /^[0-9a-f]{64}$/);
    await assert.rejects(c.sendRawTransaction(tx), (e: unknown) => {
      assert.ok(e instanceof ChainError);
      assert.equal(e.code, 'TX_REJECTED');
      assert.equal(e.rpcCode, -26);
      assert.match(e.message, /^chain: sendrawtransaction: rejected by the node: mandatory-script-verify-flag-failed/);
      return true;
    });
    c.close();
  });

  it('close() ends retries in progress', async () => {
    const { port } = await serve(() => ({ status: 503, body: 'busy' }));
    const c = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 1000 } });
    const p = c.getBlockCount();
    await sleep(50);
    const t0 = Date.now();
    c.close();
    await assert.rejects(p, (e: unknown) => e instanceof ChainError);
    assert.ok(Date.now() - t0 < 500);
  });
});
