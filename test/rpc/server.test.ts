/**
 * The unix socket: mode 0600, stale file replaced, a live one refused, removed on stop, paths longer
 * than sun_path; and abuse — 10 MB of garbage, an endless request, a client that never finishes or
 * vanishes mid-request, many clients, a client that does not read — while a well-behaved client keeps
 * being served.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Dispatcher } from '../../src/rpc/cln/dispatch.js';
import { METHODS } from '../../src/rpc/cln/methods/index.js';
import { RpcServer, socketAddress } from '../../src/rpc/cln/server.js';
import { staticKey, testLogger } from '../harness/daemon.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { RawClient, schemas, startRpcNode, waitListed, type RpcNode } from './harness.js';
import { sleep, until } from '../harness/wait.js';

describe('JSON-RPC socket file', () => {
  let n: RpcNode;
  const dir = mkdtempSync(join(tmpdir(), 'anode-sock-'));
  before(async () => {
    n = await startRpcNode();
  });
  after(async () => {
    await n.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const server = (path: string): RpcServer =>
    new RpcServer({ path, log: testLogger() }, new Dispatcher({ core: n.core, methods: METHODS, schemas, developer: true, log: testLogger() }));

  it('is a socket with mode 0600', () => {
    const st = statSync(n.path);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
  });

  it('replaces a stale socket left by a killed process, refuses one in use, refuses a non-socket', async () => {
    const path = join(dir, 'stale-rpc');
    const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(statSync(path).isSocket(), 'stale socket file left behind');
    const s = server(path);
    await s.start();
    assert.equal((await (await RawClient.open(path)).call('getinfo')).result?.id, n.nodeId);
    await assert.rejects(server(path).start(), { message: `rpc filename '${path}' in use` });
    await s.stop();
    assert.ok(!existsSync(path), 'removed on stop');
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'x');
    await assert.rejects(server(plain).start(), /exists and is not a socket/);
  });

  it('works at a path longer than sun_path (108 bytes), through /proc/self/fd as pyln-client does', async () => {
    const deep = join(dir, 'd'.repeat(60), 'e'.repeat(60));
    mkdirSync(deep, { recursive: true });
    const path = join(deep, 'lightning-rpc');
    assert.ok(path.length > 108);
    const s = server(path);
    await s.start();
    assert.ok(statSync(path).isSocket());
    const addr = socketAddress(path);
    const c = await RawClient.open(addr.path);
    addr.release();
    assert.equal((await c.call('getinfo')).result?.id, n.nodeId);
    c.close();
    await s.stop();
    assert.ok(!existsSync(path));
  });

  it('on stop, requests still running get -5 and connections close', async () => {
    const path = join(dir, 'stopping');
    const s = server(path);
    await s.start();
    const peer = await ScriptedPeer.dial(n.node.port, staticKey(0x71), n.node.manager.nodeId);
    peer.autoPong = false;
    peer.sendInit();
    const id = staticKey(0x71).publicKey.toString('hex');
    const c = await RawClient.open(path);
    await waitListed(c, id);
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 'pending-ping', method: 'ping', params: { id } }));
    await peer.ofType(18);
    await s.stop();
    const r = await c.next();
    assert.deepEqual([r.id, r.error], ['pending-ping', { code: -5, message: 'anode is shutting down' }]);
    await c.closed;
    peer.close();
  });
});

describe('JSON-RPC abuse: one bad client never disturbs a good one', () => {
  let n: RpcNode;
  before(async () => {
    n = await startRpcNode();
  });
  after(() => n.close());

  /** A well-behaved client calling getinfo in a loop; returns the worst latency when stopped. */
  function goodClient(path = n.path): { stop: () => Promise<{ calls: number; worstMs: number }> } {
    let running = true;
    const done = (async () => {
      const c = await RawClient.open(path);
      let calls = 0;
      let worstMs = 0;
      while (running) {
        const t = performance.now();
        const r = await c.call('getinfo');
        assert.equal(r.result?.id, n.nodeId);
        worstMs = Math.max(worstMs, performance.now() - t);
        calls++;
        await sleep(5);
      }
      c.close();
      return { calls, worstMs };
    })();
    return {
      stop: async () => {
        running = false;
        return done;
      },
    };
  }

  it('10 MB of random garbage: one -32600 error, the connection is closed, the good client keeps going', async () => {
    const good = goodClient();
    const bad = await RawClient.open(n.path);
    const garbage = randomBytes(10 * 1024 * 1024);
    garbage[0] = 0x78; // never whitespace, so the very first byte is refused
    bad.send(garbage);
    const r = await bad.next();
    assert.equal(r.error?.code, -32600);
    assert.match(r.error!.message, /^Failed to parse RPC JSON response 'x/);
    assert.ok(r.error!.message.length < 1000, 'the message quotes only the start of the garbage');
    await bad.closed;
    const { calls, worstMs } = await good.stop();
    assert.ok(calls > 0);
    assert.ok(worstMs < 2000, `good client worst latency ${worstMs.toFixed(0)} ms`);
  });

  it('a request that never ends (10 MB inside one string): "Request too large" at the limit, connection closed', async () => {
    const good = goodClient();
    const bad = await RawClient.open(n.path);
    bad.send('{"jsonrpc":"2.0","id":1,"method":"help","params":["');
    const chunk = 'a'.repeat(1024 * 1024);
    for (let i = 0; i < 10; i++) bad.send(chunk);
    const r = await bad.next();
    assert.deepEqual(r.error, { code: -32600, message: `Request too large: request larger than ${8 * 1024 * 1024} bytes` });
    await bad.closed;
    const { worstMs } = await good.stop();
    assert.ok(worstMs < 2000, `good client worst latency ${worstMs.toFixed(0)} ms`);
  });

  it('a client that never finishes its request gets an error after the timeout; others are served meanwhile', async () => {
    const quick = await startRpcNode({ server: { partialRequestTimeoutMs: 300 } });
    try {
      const good = goodClient(quick.path);
      const slow = await RawClient.open(quick.path);
      slow.send('{"jsonrpc":"2.0","id":1,"method":"getinfo",');
      const t = Date.now();
      const r = await slow.next();
      assert.deepEqual(r.error, { code: -32600, message: 'Request not completed within 0.3 seconds' });
      assert.ok(Date.now() - t >= 250);
      await slow.closed;
      const { calls } = await good.stop();
      assert.ok(calls > 3, `good client made ${calls} calls meanwhile`);
    } finally {
      await quick.close();
    }
  });

  it('clients vanishing mid-request (half a request, or before a slow answer) leave nothing behind', async () => {
    const peer = await ScriptedPeer.dial(n.node.port, staticKey(0x72), n.node.manager.nodeId);
    peer.autoPong = false;
    peer.sendInit();
    const id = staticKey(0x72).publicKey.toString('hex');
    const c = await RawClient.open(n.path);
    await waitListed(c, id);
    for (let i = 0; i < 20; i++) {
      const s = connect(n.path);
      await new Promise((r) => s.once('connect', r));
      s.write(i % 2 ? '{"jsonrpc":"2.0","id":1,"meth' : JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: { id } }));
      s.destroy();
    }
    // The ping (one is outstanding, the others were refused as "already pending") completes with no client.
    const p = await peer.ofType(18);
    peer.send({ type: 19, ignored: Buffer.alloc((p as { numPongBytes: number }).numPongBytes) });
    await until(() => n.rpc.connections === 1, { what: 'only the good connection is left', timeoutMs: 10_000 });
    assert.equal((await c.call('getinfo')).result?.id, n.nodeId);
    c.close();
    peer.close();
  });

  it('20,000 bad requests in one write are all answered, one by one, without exhausting the stack', async () => {
    const c = await RawClient.open(n.path);
    const total = 20_000;
    c.send('{"jsonrpc":"2.0"}'.repeat(total));
    const rs = await c.waitFor(total, 20_000);
    assert.ok(rs.every((r) => r === '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"No id"}}'));
    assert.equal((await c.call('getinfo')).result?.id, n.nodeId);
    c.close();
  });

  it('100 clients at once, 20 requests each, all answered', async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => RawClient.open(n.path)));
    await Promise.all(
      clients.map(async (c, k) => {
        const text = Array.from({ length: 20 }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: `${k}:${i}`, method: i % 2 ? 'getinfo' : 'listpeers', params: [] })).join('');
        c.send(text);
        const rs = await c.waitFor(20);
        assert.equal(new Set(rs.map((r) => (JSON.parse(r) as { id: string }).id)).size, 20);
        c.close();
      }),
    );
  });

  it('a client that sends 5000 requests without reading is throttled, then gets every answer once it reads', async () => {
    const s = connect(n.path);
    await new Promise((r) => s.once('connect', r));
    s.pause();
    const total = 5000;
    s.write(Array.from({ length: total }, (_, i) => JSON.stringify({ jsonrpc: '2.0', id: i, method: 'getinfo', params: [] })).join(''));
    const good = goodClient();
    await sleep(300);
    const { worstMs } = await good.stop();
    assert.ok(worstMs < 2000, `good client worst latency ${worstMs.toFixed(0)} ms`);
    let buf = '';
    const seen = new Set<number>();
    s.setEncoding('utf8');
    await new Promise<void>((resolve) => {
      s.on('data', (d: string) => {
        buf += d;
        const parts = buf.split('\n\n');
        buf = parts.pop()!;
        for (const p of parts) seen.add((JSON.parse(p) as { id: number }).id);
        if (seen.size === total) resolve();
      });
      s.resume();
    });
    assert.equal(seen.size, total);
    s.destroy();
  });
});
