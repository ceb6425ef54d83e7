/**
 * How the chain client reaches its backend and what it says about it: TLS with a given certificate
 * (`--bitcoin-rpccert`, as btcd's self-signed `rpc.cert`), bitcoind's cookie (`--bitcoin-datadir`,
 * `<datadir>/<network dir>/.cookie`, re-read when bitcoind writes a new one), one WARN naming the options
 * while the backend is away then quiet retries, "reachable again"; and the notifier's "connected at
 * height N" (once) and scan progress on long passes. Real HTTP(S) servers on 127.0.0.1 speak the
 * JSON-RPC; the real-btcd TLS path is driven by the regtest lab's test (test/node/regtest-lab.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BitcoindRpcClient } from '../../src/chain/bitcoind-rpc.js';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { ChainNotifier, MemoryTipStore } from '../../src/chain/notifier.js';
import { chainRpcConfigFromOptions } from '../../src/chain/options.js';
import { generateCertificate } from '../../src/rpc/lnd/tls.js';
import { freePort } from '../harness/btcd.js';
import { tempDir } from '../harness/daemon.js';

/** Records log calls by level. */
function recorder(): { lines: { level: string; msg: string }[]; debug: (o: object, m?: string) => void; info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void } {
  const lines: { level: string; msg: string }[] = [];
  return {
    lines,
    debug: (_o, m) => void lines.push({ level: 'debug', msg: m ?? '' }),
    info: (_o, m) => void lines.push({ level: 'info', msg: m ?? '' }),
    warn: (_o, m) => void lines.push({ level: 'warn', msg: m ?? '' }),
  };
}

/** A JSON-RPC handler answering getblockcount with 7 when `authorized(header)` holds, 401 otherwise. */
function rpcHandler(authorized: (auth: string | undefined) => boolean): http.RequestListener {
  return (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (!authorized(req.headers.authorization)) {
        res.writeHead(401).end();
        return;
      }
      const { id } = JSON.parse(body) as { id: number };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 7, error: null, id }));
    });
  };
}

const basic = (creds: string): string => `Basic ${Buffer.from(creds).toString('base64')}`;

async function listen(server: http.Server | https.Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const fast = { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 };

describe('chain backend connection', () => {
  it('speaks TLS to a backend whose certificate is given with --bitcoin-rpccert, and only then', async () => {
    const { certPem, keyPem } = await generateCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] }, 'localhost');
    const server = https.createServer({ cert: certPem, key: keyPem }, rpcHandler((a) => a === basic('u:p')));
    const port = await listen(server);
    const dir = tempDir('anode-cert-');
    writeFileSync(join(dir, 'rpc.cert'), certPem);
    try {
      const cfg = chainRpcConfigFromOptions({ 'bitcoin-rpcport': port, 'bitcoin-rpcuser': 'u', 'bitcoin-rpcpassword': 'p', 'bitcoin-rpccert': join(dir, 'rpc.cert') });
      const tls = new BitcoindRpcClient({ ...cfg, retry: fast });
      assert.equal(await tls.getBlockCount(), 7);
      tls.close();
      // Plain HTTP to the TLS server: what a TLS btcd looked like before (unreachable).
      const plain = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: fast });
      await assert.rejects(plain.getBlockCount(), (e: Error & { code?: string }) => e.code === 'UNREACHABLE');
      plain.close();
      // Another certificate: refused.
      const other = await generateCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] }, 'localhost');
      const wrong = new BitcoindRpcClient({ port, user: 'u', password: 'p', tlsCert: other.certPem, retry: fast });
      await assert.rejects(wrong.getBlockCount(), (e: Error & { code?: string }) => e.code === 'UNREACHABLE');
      wrong.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('refuses a --bitcoin-rpccert that is missing or not a certificate, in one line', () => {
    const dir = tempDir('anode-cert-');
    writeFileSync(join(dir, 'junk'), 'not a cert');
    assert.throws(() => chainRpcConfigFromOptions({ 'bitcoin-rpccert': join(dir, 'none') }), /--bitcoin-rpccert: cannot read .*none: ENOENT/);
    assert.throws(() => chainRpcConfigFromOptions({ 'bitcoin-rpccert': join(dir, 'junk') }), /is not a PEM certificate/);
  });

  it('authenticates with bitcoind’s cookie from --bitcoin-datadir, re-read when bitcoind writes a new one', async () => {
    let secret = 'first';
    const server = http.createServer(rpcHandler((a) => a === basic(`__cookie__:${secret}`)));
    const port = await listen(server);
    const datadir = tempDir('anode-bitcoind-');
    mkdirSync(join(datadir, 'regtest'));
    try {
      const cfg = chainRpcConfigFromOptions({ 'bitcoin-rpcport': port, 'bitcoin-datadir': datadir }, 'regtest');
      assert.equal(cfg.cookieFile, join(datadir, 'regtest', '.cookie'));
      assert.equal(chainRpcConfigFromOptions({ 'bitcoin-datadir': datadir }, 'testnet').cookieFile, join(datadir, 'testnet3', '.cookie'));
      assert.equal(chainRpcConfigFromOptions({ 'bitcoin-datadir': datadir }, 'bitcoin').cookieFile, join(datadir, '.cookie'));
      assert.equal(chainRpcConfigFromOptions({ 'bitcoin-datadir': datadir, 'bitcoin-rpcuser': 'u' }).cookieFile, undefined, 'a user given wins');
      const log = recorder();
      const client = new BitcoindRpcClient({ ...cfg, retry: fast, logger: log });
      // No cookie yet (bitcoind not started): transient, one WARN.
      await assert.rejects(client.getBlockCount(), /cannot read bitcoind's cookie .*ENOENT/);
      writeFileSync(join(datadir, 'regtest', '.cookie'), `__cookie__:${secret}`);
      assert.equal(await client.getBlockCount(), 7);
      secret = 'second';
      writeFileSync(join(datadir, 'regtest', '.cookie'), `__cookie__:${secret}\n`);
      assert.equal(await client.getBlockCount(), 7);
      client.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('warns once, naming the options, while the backend is unreachable; then says it is back', async () => {
    const port = await freePort();
    const log = recorder();
    const client = new BitcoindRpcClient({ port, user: 'u', password: 'p', retry: { maxAttempts: 3, initialDelayMs: 2, maxDelayMs: 4 }, logger: log });
    for (let i = 0; i < 5; i++) await assert.rejects(client.getBlockCount(), /unreachable: ECONNREFUSED/);
    const warns = log.lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 1, `one WARN for 15 failed attempts: ${JSON.stringify(log.lines)}`);
    for (const opt of ['--bitcoin-rpcconnect', '--bitcoin-rpcport', '--bitcoin-rpcuser', '--bitcoin-datadir', '--bitcoin-rpccert'])
      assert.ok(warns[0]!.msg.includes(opt), `the WARN names ${opt}: ${warns[0]!.msg}`);
    assert.ok(log.lines.filter((l) => l.level === 'debug').length >= 10, 'the retries are logged at debug');
    const server = http.createServer(rpcHandler(() => true));
    await listen(server, port);
    try {
      assert.equal(await client.getBlockCount(), 7);
      assert.deepEqual(log.lines.filter((l) => l.level === 'info').map((l) => l.msg), [`chain backend 127.0.0.1:${port} reachable again`]);
    } finally {
      client.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('the notifier says "connected at height N" once, and reports progress on long scans', async () => {
    const chain = new MemoryChainSource();
    chain.mine(300);
    const log = recorder();
    const notifier = new ChainNotifier(chain, { pollIntervalMs: 3_600_000, progressIntervalMs: 1, logger: log });
    let slow = 0;
    const sub = notifier.subscribe(new MemoryTipStore(), {
      connect: async () => {
        if (++slow % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      },
      disconnect: () => undefined,
    }, { name: 'wallet', startHeight: 0 });
    await sub.syncOnce();
    chain.mine(3);
    await sub.syncOnce();
    const infos = log.lines.filter((l) => l.level === 'info').map((l) => l.msg);
    assert.equal(infos.filter((m) => m.startsWith('chain backend connected at height')).length, 1);
    assert.equal(infos[0], 'chain backend connected at height 300');
    const progress = infos.filter((m) => m.startsWith('scanning blocks:'));
    assert.ok(progress.length >= 1, `progress lines: ${JSON.stringify(infos)}`);
    assert.match(progress[0]!, /^scanning blocks: \d+\/301 \(\d+(\.\d)? blocks\/s\), at height \d+ of 300$/);
    assert.ok(infos.includes('scan complete at height 300'));
    await sub.stop();
  });
});
