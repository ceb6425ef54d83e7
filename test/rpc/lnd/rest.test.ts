/** LND's REST gateway paths over node's https client, with anode's tls.cert as the only CA. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { methodTable } from '../../../src/rpc/lnd/methods.js';
import { MAX_BODY, ROUTES } from '../../../src/rpc/lnd/rest.js';
import { freePort } from '../../harness/btcd.js';
import { startPeerManager, staticKey, testLogger, type TestPeerManager } from '../../harness/daemon.js';
import { FakeTower, FakeWtClient } from './fakes.js';
import { rest, startTestLndRpc, type TestLndRpc } from './harness.js';

const b64url = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

describe('REST gateway (watchtower client and tower active)', () => {
  let t: TestLndRpc;
  let peer: TestPeerManager;
  const wt = new FakeWtClient();
  const towerKey = staticKey(0x61).publicKey;
  const towerPub = staticKey(0x51).publicKey;
  before(async () => {
    t = await startTestLndRpc({ watchtowerClient: wt, tower: new FakeTower(towerKey) });
    peer = await startPeerManager({ localKey: staticKey(0x43) });
  });
  after(async () => {
    await peer.close();
    await t.close();
  });

  it('GET /v1/getinfo: proto names, every field, int64 as strings, map keys as strings', async () => {
    const r = await rest(t, 'GET', '/v1/getinfo');
    assert.equal(r.status, 200);
    assert.equal(r.body.identity_pubkey, t.pm.manager.nodeId.toString('hex'));
    assert.equal(r.body.best_header_timestamp, '0');
    assert.equal(r.body.num_peers, 0);
    assert.equal(r.body.commit_hash, '');
    assert.deepEqual(r.body.chains, [{ chain: 'bitcoin', network: 'regtest' }]);
    assert.deepEqual((r.body.features as Record<string, unknown>)['8'], { name: 'tlv-onion', is_required: true, is_known: true });
    assert.equal(r.body.synced_to_chain, false);
  });

  it('POST /v1/peers: a failed dial in Go\'s words (refused port; wrong key: the transport\'s own reason)', async () => {
    const closed = await freePort();
    const pub = peer.manager.nodeId.toString('hex');
    const refused = await rest(t, 'POST', '/v1/peers', { body: { addr: { pubkey: pub, host: `127.0.0.1:${closed}` }, perm: false, timeout: '5' } });
    assert.equal(refused.status, 500);
    assert.equal(refused.body.message, `dial tcp 127.0.0.1:${closed}: connect: connection refused`);
    const wrongKey = staticKey(0x44).publicKey.toString('hex');
    const handshake = await rest(t, 'POST', '/v1/peers', { body: { addr: { pubkey: wrongKey, host: `127.0.0.1:${peer.port}` }, perm: false, timeout: '5' } });
    assert.equal(handshake.status, 500);
    assert.match(String(handshake.body.message), /^transport: /);
  });

  it('POST /v1/peers, GET /v1/peers, DELETE /v1/peers/{pub_key}', async () => {
    const pub = peer.manager.nodeId.toString('hex');
    const c = await rest(t, 'POST', '/v1/peers', { body: { addr: { pubkey: pub, host: `127.0.0.1:${peer.port}` }, perm: false, timeout: '5' } });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.deepEqual(c.body, { status: `connection to ${pub}@127.0.0.1:${peer.port} initiated` });
    const again = await rest(t, 'POST', '/v1/peers', { body: { addr: { pubkey: pub, host: `127.0.0.1:${peer.port}` } } });
    assert.equal(again.status, 500);
    assert.deepEqual(again.body, { code: 2, message: `already connected to peer: ${pub}@127.0.0.1:${peer.port}`, details: [] });
    const l = await rest(t, 'GET', '/v1/peers');
    const peers = l.body.peers as Record<string, unknown>[];
    assert.equal(peers.length, 1);
    assert.equal(peers[0]!.pub_key, pub);
    // The connection's own counters (init and handshake have crossed both ways); no ping answered yet.
    assert.ok(Number(peers[0]!.bytes_sent) > 0 && Number(peers[0]!.bytes_recv) > 0, JSON.stringify(peers[0]));
    assert.equal(peers[0]!.ping_time, '-1');
    assert.equal(peers[0]!.sync_type, 'UNKNOWN_SYNC');
    assert.equal(peers[0]!.last_ping_payload, '');
    assert.deepEqual(peers[0]!.errors, []);
    const d = await rest(t, 'DELETE', `/v1/peers/${pub}`);
    assert.deepEqual(d.body, { status: 'disconnect initiated' });
    const bad = await rest(t, 'DELETE', '/v1/peers/zz');
    assert.deepEqual(bad.body, { code: 2, message: "unable to decode pubkey bytes: encoding/hex: invalid byte: U+007A 'z'", details: [] });
    const short = await rest(t, 'DELETE', '/v1/peers/0202');
    assert.equal(short.body.message, 'unable to parse pubkey: malformed public key: invalid length: 2');
    const self = await rest(t, 'POST', '/v1/peers', { body: { addr: { pubkey: t.pm.manager.nodeId.toString('hex'), host: '127.0.0.1' } } });
    assert.equal(self.body.message, 'cannot make connection to self');
    const none = await rest(t, 'POST', '/v1/peers', { body: {} });
    assert.equal(none.body.message, 'need: lnc pubkeyhash@hostname');
  });

  it('watchtower client paths: add, towers, info, stats, policy, deactivate, terminate, remove', async () => {
    const add = await rest(t, 'POST', '/v2/watchtower/client', { body: { pubkey: towerPub.toString('base64'), address: '127.0.0.1' } });
    assert.deepEqual(add, { status: 200, body: {} });
    const sid = staticKey(0x71).publicKey;
    wt.sessions.set(sid.toString('hex'), { tower: towerPub.toString('hex'), terminal: false, pending: 0 });
    const list = await rest(t, 'GET', '/v2/watchtower/client?include_sessions=true');
    const towers = list.body.towers as Record<string, unknown>[];
    assert.equal(towers.length, 1);
    assert.equal(towers[0]!.pubkey, towerPub.toString('base64'));
    assert.deepEqual(towers[0]!.addresses, ['127.0.0.1:9911']);
    const info = (towers[0]!.session_info as Record<string, unknown>[]).find((i) => i.policy_type === 'ANCHOR')!;
    assert.equal((info.sessions as Record<string, unknown>[])[0]!.id, sid.toString('base64'));
    const one = await rest(t, 'GET', `/v2/watchtower/client/info/${b64url(towerPub)}`);
    assert.equal(one.body.pubkey, towerPub.toString('base64'));
    assert.deepEqual(one.body.sessions, []);
    const missing = await rest(t, 'GET', `/v2/watchtower/client/info/${b64url(staticKey(0x52).publicKey)}`);
    assert.deepEqual(missing, { status: 500, body: { code: 2, message: 'tower not found', details: [] } });
    assert.deepEqual((await rest(t, 'GET', '/v2/watchtower/client/stats')).body, {
      num_backups: 1,
      num_pending_backups: 2,
      num_failed_backups: 3,
      num_sessions_acquired: 4,
      num_sessions_exhausted: 5,
    });
    assert.deepEqual((await rest(t, 'GET', '/v2/watchtower/client/policy?policy_type=ANCHOR')).body, { max_updates: 2048, sweep_sat_per_byte: 10, sweep_sat_per_vbyte: 10 });
    assert.equal((await rest(t, 'GET', '/v2/watchtower/client/policy?policy_type=0')).body.max_updates, 1024);
    assert.equal((await rest(t, 'GET', '/v2/watchtower/client/policy?policy_type=9')).status, 400);
    const deact = await rest(t, 'POST', `/v2/watchtower/client/tower/deactivate/${b64url(towerPub)}`);
    assert.deepEqual(deact.body, { status: `Successful deactivation of tower: ${towerPub.toString('hex')}` });
    // The mission's path: a base64 session id (standard alphabet, percent-encoded, and URL-safe).
    const term = await rest(t, 'POST', `/v2/watchtower/client/sessions/terminate/${encodeURIComponent(sid.toString('base64'))}`);
    assert.deepEqual(term, { status: 200, body: { status: `Successful termination of session: ${sid.toString('hex')}` } });
    assert.equal(wt.sessions.get(sid.toString('hex'))!.terminal, true);
    const term2 = await rest(t, 'POST', `/v2/watchtower/client/sessions/terminate/${b64url(sid)}`);
    assert.equal(term2.status, 200);
    const unknownSession = await rest(t, 'POST', `/v2/watchtower/client/sessions/terminate/${b64url(staticKey(0x72).publicKey)}`);
    assert.deepEqual(unknownSession.body, { code: 2, message: 'client session not found', details: [] });
    const badId = await rest(t, 'POST', '/v2/watchtower/client/sessions/terminate/AAAA');
    assert.deepEqual(badId.body, { code: 2, message: 'malformed public key: invalid length: 3', details: [] });
    const notB64 = await rest(t, 'POST', '/v2/watchtower/client/sessions/terminate/!!!');
    assert.equal(notB64.status, 400);
    assert.equal(notB64.body.code, 3);
    const rm = await rest(t, 'DELETE', `/v2/watchtower/client/${b64url(towerPub)}`);
    assert.deepEqual(rm, { status: 200, body: {} });
    const rm2 = await rest(t, 'DELETE', `/v2/watchtower/client/${b64url(towerPub)}`);
    assert.deepEqual(rm2.body, { code: 2, message: 'tower not found', details: [] });
  });

  it('GET /v2/watchtower/server', async () => {
    const r = await rest(t, 'GET', '/v2/watchtower/server');
    assert.deepEqual(r.body, { pubkey: towerKey.toString('base64'), listeners: ['[::]:9911'], uris: [`${towerKey.toString('hex')}@127.0.0.1:9911`] });
  });

  it('every other mapped Lightning path answers 501 {code 12, "method X not implemented"} after authorisation', async () => {
    const table = methodTable(testLogger());
    const served = new Set([...table.values()].filter((m) => m.handler || m.stream).map((m) => m.name));
    assert.ok(served.has('WalletBalance') && served.has('OpenChannel'));
    let n = 0;
    for (const r of ROUTES.filter((x) => x.target.startsWith('/lnrpc.Lightning/'))) {
      const name = r.target.split('/')[2]!;
      if (served.has(name)) continue;
      const path = r.template.replace(/\{[^}]+\}/g, 'x');
      const res = await rest(t, r.method, path, r.body ? { body: {} } : {});
      assert.deepEqual(res, { status: 501, body: { code: 12, message: `method ${name} not implemented`, details: [] } }, `${r.method} ${path}`);
      n++;
    }
    assert.ok(n >= 25, `${n} unserved routes checked`); // fewer as methods get served (31 with the graph, policy, forwarding and route calls)
  });

  it('routing errors as the gateway: 404 Not Found, 501 Method Not Allowed', async () => {
    assert.deepEqual(await rest(t, 'GET', '/v1/nope'), { status: 404, body: { code: 5, message: 'Not Found', details: [] } });
    assert.deepEqual(await rest(t, 'PUT', '/v1/getinfo'), { status: 501, body: { code: 12, message: 'Method Not Allowed', details: [] } });
  });

  it('bad JSON bodies are InvalidArgument (400)', async () => {
    const r = await rest(t, 'POST', '/v2/watchtower/client', { body: '{"pubkey": 5' });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 3);
    const r2 = await rest(t, 'POST', '/v2/watchtower/client', { body: { pubkey: 12 } });
    assert.equal(r2.status, 400);
  });
});

describe('REST gateway (watchtower client and tower off)', () => {
  let t: TestLndRpc;
  before(async () => {
    t = await startTestLndRpc();
  });
  after(() => t.close());
  it('every wtclient path: watchtower client not active; tower: watchtower not active', async () => {
    const k = b64url(staticKey(0x51).publicKey);
    for (const [m, p] of [
      ['POST', '/v2/watchtower/client'],
      ['DELETE', `/v2/watchtower/client/${k}`],
      ['POST', `/v2/watchtower/client/tower/deactivate/${k}`],
      ['POST', `/v2/watchtower/client/sessions/terminate/${k}`],
      ['GET', '/v2/watchtower/client'],
      ['GET', `/v2/watchtower/client/info/${k}`],
      ['GET', '/v2/watchtower/client/stats'],
      ['GET', '/v2/watchtower/client/policy'],
    ] as const) {
      assert.deepEqual(await rest(t, m, p, m === 'POST' ? { body: {} } : {}), { status: 500, body: { code: 2, message: 'watchtower client not active', details: [] } }, `${m} ${p}`);
    }
    assert.deepEqual(await rest(t, 'GET', '/v2/watchtower/server'), { status: 500, body: { code: 2, message: 'watchtower not active', details: [] } });
  });
});

describe('REST gateway: request limits', () => {
  let t: TestLndRpc;
  before(async () => {
    t = await startTestLndRpc();
  });
  after(() => t.close());

  it('a 30 MB body is answered 413 with the gateway’s error object (not a connection reset), and the listener keeps serving', async () => {
    const big = await rest(t, 'POST', '/v1/peers', { body: `{"perm": true, "x": "${'a'.repeat(30 * 1024 * 1024)}"}` });
    assert.deepEqual(big, { status: 413, body: { code: 8, message: `request body larger than ${MAX_BODY} bytes`, details: [] } });
    // The same connection pool and listener still answer.
    assert.equal((await rest(t, 'GET', '/v1/getinfo')).status, 200);
    // Just under the limit is read and parsed as usual (here: a bad request, not a size refusal).
    const under = await rest(t, 'POST', '/v1/peers', { body: `{"perm": "${'a'.repeat(MAX_BODY - 20)}"}` });
    assert.equal(under.status, 400);
  });
});
