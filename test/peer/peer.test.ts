import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { INIT_FEATURES } from '../../src/node/node.js';
import { PeerError } from '../../src/peer/errors.js';
import type { Peer } from '../../src/peer/peer.js';
import { Features } from '../../src/wire/features.js';
import { CHAIN_HASH, MessageType, type Message, type Ping, type Pong, type Warning } from '../../src/wire/messages.js';
import { freePort } from '../harness/btcd.js';
import { startPeerManager, staticKey, type TestPeerManager } from '../harness/daemon.js';
import { sleep } from '../harness/wait.js';
import { ScriptedPeer } from './scripted.js';

const isWarning = (m: Message): m is Warning => m.type === MessageType.WARNING;

function nextPeer(node: TestPeerManager): Promise<Peer> {
  return once(node.manager, 'connected').then(([p]) => p as Peer);
}

describe('peer protocol (BOLT 1) against a scripted peer over TCP', () => {
  let node: TestPeerManager;
  let n = 0;
  const key = () => staticKey(0x10 + ++n);
  before(async () => {
    node = await startPeerManager({ pingIntervalMs: 60_000, pingTimeoutMs: 1000, initTimeoutMs: 500 });
  });
  after(() => node.close());

  it('exchanges init: anode sends its features and the regtest networks TLV first', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const init = (await s.ofType(MessageType.INIT)) as Extract<Message, { type: 16 }>;
    assert.deepEqual(Features.fromBytes(init.features).bits(), INIT_FEATURES.bits());
    assert.deepEqual(init.networks, [CHAIN_HASH.regtest]);
    const connected = nextPeer(node);
    s.sendInit();
    const peer = await connected;
    assert.equal(peer.direction, 'in');
    assert.deepEqual(peer.remoteFeatures.bits(), INIT_FEATURES.bits());
    s.close();
    await peer.closed;
  });

  it('refuses a peer that requires an unknown even feature, with a warning naming the bits', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    s.sendInit({ features: Features.fromBits([8, 13, 100]).toBytes() });
    const w = (await s.next(isWarning)) as Warning;
    assert.match(w.data.toString(), /unknown required feature bits: 100/);
    await s.closed;
  });

  it('accepts unknown odd features', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    s.sendInit({ features: Features.fromBits([8, 101, 999]).toBytes() });
    const peer = await connected;
    assert.ok(peer.remoteFeatures.has(999));
    s.close();
  });

  it('refuses a peer whose feature dependencies are missing', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    s.sendInit({ features: Features.fromBits([17]).toBytes() }); // basic_mpp without payment_secret
    const w = (await s.next(isWarning)) as Warning;
    assert.match(w.data.toString(), /basic_mpp requires payment_secret/);
    await s.closed;
  });

  it('refuses a peer with no common chain, and accepts one that lists ours among others', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    s.sendInit({ networks: [CHAIN_HASH.bitcoin] });
    const w = (await s.next(isWarning)) as Warning;
    assert.match(w.data.toString(), /no common chain/);
    await s.closed;
    const ok = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    ok.sendInit({ networks: [CHAIN_HASH.bitcoin, CHAIN_HASH.regtest] });
    await connected;
    ok.close();
  });

  it('refuses a first message that is not init', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    s.send({ type: MessageType.PING, numPongBytes: 1, ignored: Buffer.alloc(0) });
    const w = (await s.next(isWarning)) as Warning;
    assert.match(w.data.toString(), /expected init, got ping/);
    await s.closed;
  });

  it('drops a peer that never sends init', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const t0 = Date.now();
    await s.closed;
    assert.ok(Date.now() - t0 < 3000);
  });

  it('answers pings below 65532 pong bytes with that many, ignores the rest', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    s.sendInit();
    const peer = await connected;
    s.send({ type: MessageType.PING, numPongBytes: 65532, ignored: Buffer.alloc(10) });
    s.send({ type: MessageType.PING, numPongBytes: 65531, ignored: Buffer.alloc(0) });
    s.send({ type: MessageType.PING, numPongBytes: 0, ignored: Buffer.alloc(100) });
    const pongs: Pong[] = [];
    await s.next((m) => (m.type === MessageType.PONG && pongs.push(m as Pong) === 2) || false).catch(() => undefined);
    const all = s.received.filter((m) => m.type === MessageType.PONG) as Pong[];
    assert.deepEqual(all.map((p) => p.ignored.length), [65531, 0]);
    assert.ok(peer.connected);
    s.close();
  });

  it('ignores unknown odd messages and cuts off unknown even ones with a warning', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    s.sendInit();
    const peer = await connected;
    s.sendRaw(Buffer.from([0x80, 0x01, 1, 2, 3])); // type 32769, odd
    s.send({ type: MessageType.PING, numPongBytes: 3, ignored: Buffer.alloc(0) });
    await s.ofType(MessageType.PONG);
    assert.ok(peer.connected, 'odd message ignored');
    s.sendRaw(Buffer.from([0x80, 0x02])); // type 32770, even
    const w = (await s.next(isWarning)) as Warning;
    assert.match(w.data.toString(), /unknown even message 32770/);
    await peer.closed;
  });

  it('cuts off a malformed known message and a second init', async () => {
    for (const bad of [Buffer.from([0x00, 0x12, 0x00]), null]) {
      const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
      const connected = nextPeer(node);
      s.sendInit();
      const peer = await connected;
      if (bad) s.sendRaw(bad); // ping truncated inside num_pong_bytes
      else s.sendInit();
      const w = (await s.next(isWarning)) as Warning;
      assert.match(w.data.toString(), bad ? /malformed ping/ : /second init/);
      await peer.closed;
    }
  });

  it('logs a warning from the peer and stays connected; an error closes the connection', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    s.sendInit();
    const peer = await connected;
    s.send({ type: MessageType.WARNING, channelId: Buffer.alloc(32), data: Buffer.from('careful\x1b[31m') });
    assert.equal(await peer.ping(0, 0), 4);
    assert.ok(peer.connected);
    s.send({ type: MessageType.ERROR, channelId: Buffer.alloc(32), data: Buffer.from('goodbye') });
    assert.match(await peer.closed, /peer sent error: goodbye/);
  });

  it('ping: totlen is 4 + pongbytes; 0 at once for pongbytes ≥ 65532; one at a time; limits', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    s.sendInit();
    const peer = await connected;
    s.autoPong = false; // answer by hand
    const answer = async (): Promise<void> => {
      const before = s.received.filter((m) => m.type === MessageType.PING).length;
      const ping = (await s.next((m) => m.type === MessageType.PING && s.received.filter((x) => x.type === MessageType.PING).indexOf(m) >= before)) as Ping;
      s.send({ type: MessageType.PONG, ignored: Buffer.alloc(ping.numPongBytes) });
    };
    const p1 = peer.ping(1000, 1000);
    await assert.rejects(peer.ping(), (e: unknown) => e instanceof PeerError && e.code === 'PING_PENDING' && e.message === 'Ping already pending');
    await answer();
    assert.equal(await p1, 1004);
    assert.equal(await peer.ping(0, 65532), 0);
    await assert.rejects(peer.ping(65530, 0), /65530 would result in oversize ping/);
    await assert.rejects(peer.ping(0, 65536), /pongbytes 65536 > 65535/);
    // A pending ping fails when the peer goes away (better than CLN, whose command never returns).
    const pending = peer.ping(10, 10);
    s.close();
    await assert.rejects(pending, (e: unknown) => e instanceof PeerError && e.code === 'DISCONNECTED');
  });

  it('drops a peer that answers a ping with the wrong number of bytes', async () => {
    const s = await ScriptedPeer.dial(node.port, key(), node.manager.nodeId);
    const connected = nextPeer(node);
    s.sendInit();
    const peer = await connected;
    s.autoPong = false;
    const p = peer.ping(0, 10);
    await s.ofType(MessageType.PING);
    s.send({ type: MessageType.PONG, ignored: Buffer.alloc(3) });
    await assert.rejects(p);
    assert.match(await peer.closed, /pong of 3 bytes for a ping asking 10/);
  });
});

describe('keepalive', () => {
  it('pings a quiet peer and drops it when the pong does not come', async () => {
    const node = await startPeerManager({ pingIntervalMs: 200, pingTimeoutMs: 300 });
    try {
      const s = await ScriptedPeer.dial(node.port, staticKey(0x77), node.manager.nodeId);
      const connected = nextPeer(node);
      s.sendInit();
      const peer = await connected;
      s.autoPong = false;
      const ping = (await s.ofType(MessageType.PING, 2000)) as Ping;
      assert.equal(ping.numPongBytes, 0);
      // First keepalive answered: the peer stays.
      s.send({ type: MessageType.PONG, ignored: Buffer.alloc(0) });
      await sleep(250);
      assert.ok(peer.connected);
      // Then silence: dropped after interval + timeout.
      assert.match(await peer.closed, /no pong within 300 ms/);
    } finally {
      await node.close();
    }
  });
});

describe('peer manager', () => {
  let node: TestPeerManager;
  before(async () => {
    node = await startPeerManager();
  });
  after(() => node.close());

  it('connect: refused port gives CLN-style stage text', async () => {
    const port = await freePort();
    await assert.rejects(node.manager.connect(staticKey(0x99).publicKey, '127.0.0.1', port), (e: unknown) => {
      return e instanceof PeerError && e.code === 'CONNECT_FAILED' && e.message === `127.0.0.1:${port}: Connection establishment: Connection refused`;
    });
  });

  it('connect: a wrong node id fails in the handshake', async () => {
    const other = await startPeerManager();
    try {
      await assert.rejects(node.manager.connect(staticKey(0x98).publicKey, '127.0.0.1', other.port), /Cryptographic handshake/);
    } finally {
      await other.close();
    }
  });

  it('connect: concurrent connects to one node share one dial; both directions end with one connection', async () => {
    const other = await startPeerManager({ localKey: staticKey(0x55) });
    try {
      const [a, b] = await Promise.all([
        node.manager.connect(other.manager.nodeId, '127.0.0.1', other.port),
        node.manager.connect(other.manager.nodeId, '127.0.0.1', other.port),
      ]);
      assert.equal(a, b);
      assert.equal(node.manager.list().filter((p) => p.nodeId.equals(other.manager.nodeId)).length, 1);
      // The other side dials back: it already has our connection and returns it.
      const back = await other.manager.connect(node.manager.nodeId, '127.0.0.1', node.port);
      assert.equal(back.direction, 'in');
      assert.equal(await a.ping(), 132);
      await node.manager.disconnect(other.manager.nodeId);
      await assert.rejects(node.manager.disconnect(other.manager.nodeId), /Peer not connected/);
      await assert.rejects(node.manager.ping(other.manager.nodeId), /Peer not connected/);
    } finally {
      await other.close();
    }
  });

  it('a new connection from the same node replaces the old one', async () => {
    const k = staticKey(0x66);
    const s1 = await ScriptedPeer.dial(node.port, k, node.manager.nodeId);
    let connected = nextPeer(node);
    s1.sendInit();
    const first = await connected;
    const s2 = await ScriptedPeer.dial(node.port, k, node.manager.nodeId);
    connected = nextPeer(node);
    s2.sendInit();
    const second = await connected;
    assert.match(await first.closed, /replaced/);
    assert.equal(node.manager.peer(k.publicKey), second);
    await s1.closed;
    s2.close();
  });

  it('stop tells connected peers with a warning and closes them', async () => {
    const other = await startPeerManager();
    const s = await ScriptedPeer.dial(other.port, staticKey(0x67), other.manager.nodeId);
    const connected = nextPeer(other);
    s.sendInit();
    await connected;
    await other.close();
    const w = (await s.next(isWarning)) as Warning;
    assert.match(w.data.toString(), /shutting down/);
    await s.closed;
  });

  it('a listener on a busy port fails with a clear error', async () => {
    await assert.rejects(startPeerManager({ listen: [{ host: '127.0.0.1', port: node.port }] }), /cannot listen on 127.0.0.1:\d+: EADDRINUSE/);
  });
});

