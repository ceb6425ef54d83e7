/**
 * ln-service@58.1.0 (npm, the most used LND client library) against anode's LND gRPC with anode's
 * tls.cert and admin.macaroon, over a real PeerManager; a second PeerManager is the peer.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { startPeerManager, staticKey, type TestPeerManager } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { FakeTower, FakeWtClient } from './fakes.js';
import { startTestLndRpc, type TestLndRpc } from './harness.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ln: any = require('ln-service');

function lndFor(t: TestLndRpc, macaroon: Buffer = t.admin) {
  return ln.authenticatedLndGrpc({
    cert: Buffer.from(t.cert).toString('base64'),
    macaroon: macaroon.toString('base64'),
    socket: t.grpcAddr,
  }).lnd;
}

/** ln-service rejects with [httpCode, 'Name', {err}]; the gRPC error's details are in err.details. */
async function rejection(p: Promise<unknown>): Promise<{ code: number; name: string; details: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const [code, name, extra] = e as [number, string, { err?: { details?: string; message?: string } }];
    return { code, name, details: extra?.err?.details ?? '', message: extra?.err?.message ?? '' };
  }
  assert.fail('expected a rejection');
}

describe('ln-service@58.1.0 against anode (watchtower client and tower off)', () => {
  let t: TestLndRpc;
  let peer: TestPeerManager;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let lnd: any;
  before(async () => {
    t = await startTestLndRpc();
    peer = await startPeerManager({ localKey: staticKey(0x43) });
    lnd = lndFor(t);
  });
  after(async () => {
    await peer.close();
    await t.close();
  });

  it('getWalletInfo', async () => {
    const info = await ln.getWalletInfo({ lnd });
    assert.equal(info.public_key, t.pm.manager.nodeId.toString('hex'));
    assert.equal(info.color, '#3399ff');
    assert.equal(info.alias, t.pm.manager.nodeId.toString('hex').slice(0, 20));
    assert.equal(info.version, '0.1.0-anode');
    assert.equal(info.peers_count, 0);
    assert.equal(info.is_synced_to_chain, false);
    // One URI per listening address.
    assert.deepEqual(info.uris, [`${t.pm.manager.nodeId.toString('hex')}@127.0.0.1:${t.pm.port}`]);
    assert.ok(Array.isArray(info.features) && info.features.length > 0);
    assert.ok(info.features.some((f: { bit: number; type: string }) => f.bit === 8 || f.bit === 1));
  });

  it('getIdentity (falls back to GetInfo: WalletKit is not served)', async () => {
    const id = await ln.getIdentity({ lnd });
    assert.equal(id.public_key, t.pm.manager.nodeId.toString('hex'));
  });

  it('addPeer, getPeers, removePeer with a second PeerManager', async () => {
    const pub = peer.manager.nodeId.toString('hex');
    await ln.addPeer({ lnd, public_key: pub, socket: `127.0.0.1:${peer.port}` });
    const { peers } = await ln.getPeers({ lnd });
    assert.equal(peers.length, 1);
    assert.equal(peers[0].public_key, pub);
    assert.equal(peers[0].socket, `127.0.0.1:${peer.port}`);
    assert.equal(peers[0].is_inbound, false);
    // Twice: LND's "already connected to peer" counts as success in ln-service.
    await ln.addPeer({ lnd, public_key: pub, socket: `127.0.0.1:${peer.port}` });
    await ln.removePeer({ lnd, public_key: pub });
    await until(() => t.pm.manager.list().length === 0, { what: 'the peer gone', timeoutMs: 1_000, intervalMs: 20 });
    assert.equal((await ln.getPeers({ lnd })).peers.length, 0);
    const e = await rejection(ln.removePeer({ lnd, public_key: pub }));
    assert.equal(e.details, `unable to disconnect peer: peer ${pub} is not connected`);
  });

  it('addPeer to ourselves: LND\'s "cannot make connection to self" (ln-service treats it as done)', async () => {
    const self = t.pm.manager.nodeId.toString('hex');
    // What ln-service matches on: the gRPC error LND sends, as its raw client sees it.
    const raw = await new Promise<{ code?: number; details?: string }>((resolve) =>
      lnd.default.connectPeer({ addr: { pubkey: self, host: `127.0.0.1:${t.pm.port}` } }, (err: { code?: number; details?: string } | null) => resolve(err ?? {})),
    );
    assert.deepEqual({ code: raw.code, details: raw.details }, { code: 2, details: 'cannot make connection to self' });
    assert.equal(await ln.addPeer({ lnd, public_key: self, socket: `127.0.0.1:${t.pm.port}` }), undefined);
    // Nothing was dialled: the node has no peer, and ln-service lists none.
    assert.deepEqual(t.pm.manager.list(), []);
    assert.deepEqual((await ln.getPeers({ lnd })).peers, []);
  });

  it('getConnectedWatchtowers: watchtower client not active', async () => {
    const e = await rejection(ln.getConnectedWatchtowers({ lnd }));
    assert.equal(e.details, 'watchtower client not active');
    assert.equal(e.message, '2 UNKNOWN: watchtower client not active');
  });

  it('connectWatchtower (AddTower) / disconnectWatchtower (RemoveTower): watchtower client not active', async () => {
    const pub = staticKey(0x51).publicKey.toString('hex');
    const a = await rejection(ln.connectWatchtower({ lnd, public_key: pub, socket: '127.0.0.1:9911' }));
    assert.equal(a.details, 'watchtower client not active');
    const r = await rejection(ln.disconnectWatchtower({ lnd, public_key: pub }));
    assert.equal(r.details, 'watchtower client not active');
  });

  it('getTowerServerInfo: "watchtower not active" means no tower ({})', async () => {
    const info = await ln.getTowerServerInfo({ lnd });
    assert.deepEqual(info, {});
  });

  it('readonly macaroon: reads allowed, addPeer refused with "permission denied"', async () => {
    const ro = lndFor(t, t.readonly);
    await ln.getWalletInfo({ lnd: ro });
    const e = await rejection(ln.addPeer({ lnd: ro, public_key: peer.manager.nodeId.toString('hex'), socket: `127.0.0.1:${peer.port}`, retry_count: 0 }));
    assert.equal(e.details, 'permission denied');
  });

  it('restrictMacaroon ipaddr 10.9.9.9: refused by the ipaddr caveat', async () => {
    const { macaroon } = ln.restrictMacaroon({ macaroon: t.admin.toString('base64'), ip: '10.9.9.9' });
    const e = await rejection(ln.getWalletInfo({ lnd: lndFor(t, Buffer.from(macaroon, 'base64')) }));
    assert.match(e.details, /^caveat "ipaddr 10\.9\.9\.9" not satisfied: macaroon locked to different IP address$/);
  });
});

describe('ln-service@58.1.0 against anode with a watchtower client and tower core', () => {
  let t: TestLndRpc;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let lnd: any;
  const wt = new FakeWtClient();
  const towerKey = staticKey(0x61).publicKey;
  before(async () => {
    t = await startTestLndRpc({ watchtowerClient: wt, tower: new FakeTower(towerKey) });
    lnd = lndFor(t);
  });
  after(() => t.close());

  it('connectWatchtower, getConnectedWatchtowers, disconnectWatchtower (twice: "tower not found" is success)', async () => {
    const pub = staticKey(0x51).publicKey.toString('hex');
    await ln.connectWatchtower({ lnd, public_key: pub, socket: '127.0.0.1:9911' });
    const res = await ln.getConnectedWatchtowers({ lnd });
    assert.equal(res.max_session_update_count, 1024);
    assert.equal(res.sweep_tokens_per_vbyte, 10);
    assert.equal(res.backups_count, 1);
    assert.equal(res.towers.length, 1);
    assert.equal(res.towers[0].public_key, pub);
    assert.deepEqual(res.towers[0].sockets, ['127.0.0.1:9911']);
    await ln.disconnectWatchtower({ lnd, public_key: pub });
    await ln.disconnectWatchtower({ lnd, public_key: pub });
    assert.equal((await ln.getConnectedWatchtowers({ lnd })).towers.length, 0);
  });

  it('getTowerServerInfo', async () => {
    const info = await ln.getTowerServerInfo({ lnd });
    assert.equal(info.tower.public_key, towerKey.toString('hex'));
    assert.deepEqual(info.tower.sockets, ['[::]:9911']);
    assert.deepEqual(info.tower.uris, [`${towerKey.toString('hex')}@127.0.0.1:9911`]);
  });
});
