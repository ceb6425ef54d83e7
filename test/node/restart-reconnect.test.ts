/**
 * A restarted node and the peer of its channel: its start-up is held (a test hook) after the channels
 * are loaded and before the message router runs — where PostgreSQL's slower start-up once left it — and
 * the peer answers a dial at once. The peer's channel_reestablish must reach the channel: it used to
 * arrive before the router ran, was refused as an unknown even message, the connection dropped, and the
 * channel never came back (the node had dialled from `channels.start()`; the peer does not redial here).
 *
 * The pause ends as soon as the peer loses the connection (what the old start-up did at once) or after
 * {@link PAUSE_MS}: whether the channel comes back does not depend on the pause's length.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';
import { onlyChannel } from '../channel/nodes.js';

const btcd = useBtcd('a restarted node reestablishes its channel');

/** How long the start-up is held at most (the refused connection of the old start-up ends it much earlier). */
const PAUSE_MS = 3_000;

describe('restart: the channel peer is served before it is dialled', { skip: btcd.skip, timeout: 180_000 }, () => {
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
  });

  it('start-up held between the channels and the router: the peer dialled, its channel_reestablish served, the channel NORMAL again', async () => {
    const x = await startNode(btcd.node);
    // The peer never redials: the restarted node's own dial is what brings the channel back.
    const y = await startNode(btcd.node, { extra: ['--dev-no-reconnect'] });
    nodes.push(x, y);
    await fundWallet(btcd.node, x, 2_000_000n);
    await x.node.peers.connect(Buffer.from(y.id, 'hex'), '127.0.0.1', y.port);
    await x.channels.fundChannel({ peerId: y.id, amountSat: 1_000_000n, pushMsat: 0n, feeratePerKw: 1000 });
    await until(() => y.channels.list().length === 1, { what: 'the peer knows the channel', timeoutMs: 30_000 });
    await btcd.node.mineUntil(() => onlyChannel(x).usable && onlyChannel(y).usable, 'channel usable both ways');

    await x.stop();
    nodes.splice(nodes.indexOf(x), 1);
    await until(() => !y.node.peers.peer(x.id) && !onlyChannel(y).connected, { what: 'the peer saw the node go', timeoutMs: 10_000 });
    const dropped: string[] = [];
    y.node.peers.on('disconnected', (p, reason) => p.id === x.id && dropped.push(reason));
    let held = false;
    const restarted = await startNode(btcd.node, {
      dir: x.dir,
      configure: (c) => {
        c.devStartupPause = async () => {
          held = true;
          const end = Date.now() + PAUSE_MS;
          while (dropped.length === 0 && Date.now() < end) await sleep(20);
        };
      },
    });
    nodes.push(restarted);
    assert.ok(held, 'the start-up was held');
    await until(() => onlyChannel(restarted).usable && onlyChannel(y).usable, { what: 'the channel usable again on both sides', timeoutMs: 20_000 });
    assert.equal(onlyChannel(restarted).data.state, 'CHANNELD_NORMAL');
    assert.deepEqual(dropped, [], 'the connection was never refused');
  });
});
