/**
 * The interop scenarios, run against every real implementation through its adapter: BOLT 8 handshake in
 * both roles, init with the features each demands, ping/pong, ≥ 1200 messages each way (crossing key
 * rotation in both directions), and a clean disconnect from either side.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import type { Peer } from '../../src/peer/peer.js';
import { INIT_FEATURES } from '../../src/node/node.js';
import { Features } from '../../src/wire/features.js';
import { startPeerManager, type TestPeerManager } from '../harness/daemon.js';
import { nextEvent, until } from '../harness/wait.js';
import { interopGate, type PeerAdapter } from './adapter.js';
import { ElectrumPeer, electrumAvailable } from './peers/electrum.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';

const MESSAGES = 1200;

interface Implementation {
  name: string;
  unavailable: () => string | null;
  create: () => PeerAdapter;
}

const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';
const log = (tag: string) => (line: string) => {
  if (verbose) process.stderr.write(`[${tag}] ${line}\n`);
};

function electrumUnavailable(): string | null {
  const a = electrumAvailable();
  return a.ok ? null : (a.reason ?? 'electrum unavailable');
}

const implementations: Implementation[] = [
  { name: 'ldk', unavailable: ldkUnavailableReason, create: () => new LdkPeer({ log: log('ldk') }) },
  { name: 'electrum', unavailable: electrumUnavailable, create: () => new ElectrumPeer({ log: log('electrum') }) },
];

/** anode pings the remote `count` times, one at a time; returns the pongs' total lengths. */
async function pingFromAnode(peer: Peer, count: number): Promise<number> {
  let pongs = 0;
  for (let i = 0; i < count; i++) {
    const totlen = await peer.ping(16, 8);
    assert.equal(totlen, 12);
    pongs++;
  }
  return pongs;
}

/** anode's connected peer `id`: already there, or the next one to connect. */
async function waitForAnodePeer(node: TestPeerManager, id: Buffer, timeoutMs = 10_000): Promise<Peer> {
  const existing = node.manager.peer(id);
  if (existing) return existing;
  const [peer] = await nextEvent<[Peer]>(node.manager, 'connected', { what: `anode's peer ${id.toString('hex')}`, timeoutMs, accept: (p) => p.nodeId.equals(id) });
  return peer;
}

for (const impl of implementations) {
  const gate = interopGate(impl.name, 'interop tests', impl.unavailable());

  describe(`interop with ${impl.name}`, { skip: gate.skip, timeout: 120_000 }, () => {
    let remote: PeerAdapter;
    let node: TestPeerManager;

    before(async () => {
      gate.require();
      remote = impl.create();
      [node] = await Promise.all([startPeerManager(), remote.start()]);
    });
    after(async () => {
      await remote?.stop();
      await node?.close();
    });

    it(`anode dials ${impl.name}: handshake, init, ${MESSAGES} messages each way, anode disconnects`, async () => {
      const port = await remote.listen();
      const peer = await node.manager.connect(remote.nodeId, '127.0.0.1', port);
      assert.equal(peer.direction, 'out');
      const info = await remote.waitForPeer(node.manager.nodeId, 10_000);
      // Each side saw the other's real init features.
      assert.equal(info.nodeId, node.manager.nodeId.toString('hex'));
      assert.deepEqual(Features.fromHex(info.features).bits(), INIT_FEATURES.bits());
      for (const bit of [0, 8, 12, 14]) assert.ok(peer.remoteFeatures.supports(bit), `${impl.name} supports feature ${bit}`);

      // anode → remote: pings; remote → anode: pongs (crosses the 500-message key rotation twice each way).
      assert.equal(await pingFromAnode(peer, MESSAGES), MESSAGES);
      assert.ok((await remote.pingsReceived(node.manager.nodeId)) >= MESSAGES);
      // remote → anode: pings; anode → remote: pongs.
      assert.equal(await remote.pingRoundTrips(node.manager.nodeId, MESSAGES), MESSAGES);

      const record = await node.store.peers.get(remote.nodeId.toString('hex'));
      assert.deepEqual(record?.addresses, [`127.0.0.1:${port}`], 'the dialled address is persisted');

      await node.manager.disconnect(remote.nodeId);
      assert.equal(node.manager.peer(remote.nodeId), undefined);
      await remote.waitForDisconnect(node.manager.nodeId, 10_000);
    });

    it(`${impl.name} dials anode: handshake, init, ${MESSAGES} messages each way, ${impl.name} disconnects`, async () => {
      const connected = waitForAnodePeer(node, remote.nodeId);
      await remote.connect('127.0.0.1', node.port, node.manager.nodeId);
      const peer = await connected;
      assert.equal(peer.direction, 'in');
      await remote.waitForPeer(node.manager.nodeId, 10_000);

      assert.equal(await remote.pingRoundTrips(node.manager.nodeId, MESSAGES), MESSAGES);
      assert.equal(await pingFromAnode(peer, MESSAGES), MESSAGES);

      const gone = once(node.manager, 'disconnected');
      await remote.disconnect(node.manager.nodeId);
      const [p] = (await gone) as [Peer, string];
      assert.ok(p.nodeId.equals(remote.nodeId));
      assert.equal(node.manager.peer(remote.nodeId), undefined);
    });

    it(`reconnects to ${impl.name} after a disconnect, and a second connect is a no-op`, async () => {
      const port = await remote.listen();
      const first = await node.manager.connect(remote.nodeId, '127.0.0.1', port);
      const again = await node.manager.connect(remote.nodeId, '127.0.0.1', port);
      assert.equal(again, first, 'already connected: the live connection is returned');
      assert.equal(await first.ping(0, 0), 4);
      await node.manager.disconnect(remote.nodeId);
      await remote.waitForDisconnect(node.manager.nodeId, 10_000);
    });
  });
}

const negotiation = interopGate('electrum', 'feature negotiation with Electrum', electrumUnavailable());
describe('interop: feature negotiation with Electrum', { skip: negotiation.skip }, () => {
  it('a peer requiring an unknown even feature (gossip_queries_ex, bit 10) is refused by both sides', async () => {
    negotiation.require();
    const node = await startPeerManager();
    const electrum = new ElectrumPeer({ features: Features.fromBits([1, 6, 8, 10, 13, 15]).toHex(), log: log('electrum') });
    try {
      await electrum.start();
      const port = await electrum.listen();
      await assert.rejects(node.manager.connect(electrum.nodeId, '127.0.0.1', port), /unknown required feature bits: 10/);
      assert.equal(node.manager.peer(electrum.nodeId), undefined);
      // Electrum, for its part, refuses us for not supporting what it requires.
      await until(() => electrum.rejections.length > 0, { what: 'Electrum to refuse us', timeoutMs: 5000, intervalMs: 20 }).catch(() => undefined);
      assert.match(electrum.rejections[0]?.reason ?? '', /GOSSIP_QUERIES_EX/);
    } finally {
      await electrum.stop();
      await node.close();
    }
  });

  it('Electrum’s default init (gossip_queries, bit 6, required) connects: anode offers gossip_queries', async () => {
    negotiation.require();
    const node = await startPeerManager();
    const electrum = new ElectrumPeer({ features: Features.fromBits([1, 6, 8, 13, 15]).toHex(), log: log('electrum') });
    try {
      await electrum.start();
      const port = await electrum.listen();
      await node.manager.connect(electrum.nodeId, '127.0.0.1', port);
      assert.ok(node.manager.peer(electrum.nodeId)?.remoteFeatures.has(6));
    } finally {
      await electrum.stop();
      await node.close();
    }
  });
});
