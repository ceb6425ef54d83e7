/**
 * Which peer addresses anode remembers (issue 13 item 5, decided in docs/channels.md): the address we
 * dialled, never the source address of a connection a peer dialled to us — its port is the peer's
 * ephemeral one, not where it listens, so dialling it back after a restart would fail or reach another
 * process.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startPeerManager, staticKey } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

describe('remembered peer addresses', () => {
  it('a peer that dialled in is remembered without an address; one we dialled, with the address we dialled', async () => {
    const a = await startPeerManager({ localKey: staticKey(0x31) });
    const b = await startPeerManager({ localKey: staticKey(0x32) });
    try {
      // B, which listens on b.port, dials A: A sees B's ephemeral source port.
      const inbound = await b.manager.connect(a.manager.nodeId, '127.0.0.1', a.port);
      const bId = b.manager.nodeId.toString('hex');
      await until(async () => (await a.store.peers.get(bId)) !== undefined, 'A recorded B');
      const seen = a.manager.peer(bId);
      assert.equal(seen?.direction, 'in');
      assert.notEqual(seen?.address.port, b.port, 'the source port is not where B listens');
      assert.deepEqual((await a.store.peers.get(bId))?.addresses, [], 'no address for a peer that dialled in');
      // B remembers where it dialled A.
      await until(async () => (await b.store.peers.get(a.manager.nodeId.toString('hex')))?.addresses.length === 1, 'B recorded A');
      assert.deepEqual((await b.store.peers.get(a.manager.nodeId.toString('hex')))?.addresses, [`127.0.0.1:${a.port}`]);

      // A dials B where B listens: now A has B's address.
      await inbound.close('test');
      await until(() => a.manager.peer(bId) === undefined, 'A sees the disconnection');
      await a.manager.connect(b.manager.nodeId, '127.0.0.1', b.port);
      await until(async () => (await a.store.peers.get(bId))?.addresses.length === 1, 'A recorded the address it dialled');
      assert.deepEqual((await a.store.peers.get(bId))?.addresses, [`127.0.0.1:${b.port}`]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
