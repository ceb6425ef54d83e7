/**
 * One chain notifier per node: with every chain consumer on (wallet, channels, the tower's lookout and
 * the watchtower client), each block is fetched from the backend (`getblock`) exactly once. A counting
 * JSON-RPC proxy sits between the node and a real btcd.
 *
 * Without btcd this test skips loudly; with ANODE_REQUIRE_INTEROP=1 it fails.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/node/config.js';
import { AnodeNode } from '../../src/node/node.js';
import { useBtcd } from '../harness/btcd.js';
import { tempDir, testLogger } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';

const btcd = useBtcd('backend calls per block');

/** Forwards JSON-RPC over HTTP to btcd, counting `getblock` calls by block hash. */
class CountingProxy {
  readonly getblock = new Map<string, number>();
  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<CountingProxy> {
    let proxy: CountingProxy | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const calls = [JSON.parse(body.toString('utf8')) as { method: string; params: unknown[] } | { method: string; params: unknown[] }[]].flat();
        for (const c of calls) if (c.method === 'getblock') proxy!.getblock.set(String(c.params[0]), (proxy!.getblock.get(String(c.params[0])) ?? 0) + 1);
        const up = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CountingProxy(server);
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('one chain notifier per node', { skip: btcd.skip, timeout: 120_000 }, () => {
  it('fetches each block once with the wallet, channels, lookout and watchtower client on', async () => {
    const proxy = await CountingProxy.start(btcd.node.rpcPort);
    const { config } = loadConfig([
      `--anode-dir=${tempDir()}`,
      '--addr=127.0.0.1:0',
      '--rpclisten=127.0.0.1:0',
      '--restlisten=127.0.0.1:0',
      '--dev-chain-poll=50',
      '--watchtower.active',
      '--watchtower.listen=127.0.0.1:0',
      '--wtclient.active',
      ...btcd.node.anodeArgs,
      `--bitcoin-rpcport=${proxy.port}`,
    ]);
    const node = await AnodeNode.start(config, testLogger());
    try {
      const heights = async (): Promise<number[]> => [
        node.wallet!.tip?.height ?? -1,
        node.channels!.blockHeight,
        (await node.tower!.lookout.status()).tip?.height ?? -1,
        node.wtclient!.client.height,
      ];
      const base = await btcd.node.getBlockCount();
      await until(async () => (await heights()).slice(0, 3).every((h) => h === base), { what: 'every consumer at the tip', timeoutMs: 30_000, intervalMs: 20 });
      // Blocks one by one (each poll sees one) and in bursts (a poll sees several).
      const mined: string[] = [];
      for (const n of [1, 1, 3, 1, 5, 1]) {
        mined.push(...(await btcd.node.generate(n)));
        await sleep(30);
      }
      const tip = base + mined.length;
      await until(async () => (await heights()).every((h) => h === tip), { what: `every consumer at height ${tip}`, timeoutMs: 30_000, intervalMs: 20 });
      for (const hash of mined) assert.equal(proxy.getblock.get(hash), 1, `block ${hash} fetched once`);
      assert.equal([...proxy.getblock.values()].reduce((a, b) => a + b, 0), mined.length, 'no other block fetched');
    } finally {
      await node.stop();
      await proxy.close();
    }
  });
});
