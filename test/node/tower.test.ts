/**
 * The watchtower as the daemon runs it (--watchtower.active): its identity over JSON-RPC (anode-cli
 * tower info) and LND's REST, and a real wtwire session with it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KeyChain } from '../../src/crypto/keychain.js';
import { cli, staticKey, startDaemon } from '../harness/daemon.js';
import { CHAIN, createSessionMsg, WtClient } from '../watchtower/server/client.js';

describe('watchtower in the daemon', { timeout: 60_000 }, () => {
  it('serves sessions with the tower key (family 9), reported by anode-cli tower info and LND REST', async () => {
    const d = await startDaemon(['--watchtower.active', '--watchtower.listen=127.0.0.1:0', '--watchtower.externalip=203.0.113.5']);
    try {
      const seed = readFileSync(join(d.dir, 'regtest', 'hsm_secret'));
      const towerPub = new KeyChain(seed, 'regtest').towerKey().publicKey.toString('hex');
      assert.notEqual(towerPub, d.line.nodeId, 'the tower key is not the node key');

      const info = await cli(d.dir, 'tower', 'info');
      assert.equal(info.status, 0, info.err);
      const got = JSON.parse(info.out) as { pubkey: string; listeners: string[]; uris: string[] };
      assert.equal(got.pubkey, towerPub);
      assert.equal(got.listeners.length, 1);
      assert.deepEqual(got.uris, [`${towerPub}@203.0.113.5:9911`]);
      const port = Number(got.listeners[0]!.split(':').at(-1));

      // A real wtwire session: BOLT 8 with the tower key, Init, CreateSession → OK.
      const client = await WtClient.dial(port, staticKey(0x5e), Buffer.from(towerPub, 'hex'));
      client.send({ type: 600, features: [0], chainHash: CHAIN });
      assert.equal((await client.next())?.type, 600);
      const reply = (await client.request(createSessionMsg())) as { type: number; code: number };
      assert.equal(reply.type, 603);
      assert.equal(reply.code, 0);

      // LND's REST: GET /v2/watchtower/server.
      const rest = d.line.rest as string[];
      const body = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: Number(rest[0]!.split(':').at(-1)),
            path: '/v2/watchtower/server',
            ca: readFileSync(join(d.dir, 'regtest', 'tls.cert')),
            servername: 'localhost',
            headers: { 'Grpc-Metadata-macaroon': readFileSync(join(d.dir, 'regtest', 'admin.macaroon')).toString('hex') },
          },
          (res) => {
            let t = '';
            res.on('data', (c: Buffer) => (t += c.toString()));
            res.on('end', () => resolve(JSON.parse(t) as Record<string, unknown>));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(Buffer.from(body.pubkey as string, 'base64').toString('hex'), towerPub);
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });

  it('without --watchtower.active: tower info says "watchtower not active" (exit 1)', async () => {
    const d = await startDaemon([]);
    try {
      const r = await cli(d.dir, 'tower', 'info');
      assert.equal(r.status, 1);
      assert.match(r.out + r.err, /watchtower not active/);
    } finally {
      assert.equal(await d.stop(), 0);
    }
  });
});
