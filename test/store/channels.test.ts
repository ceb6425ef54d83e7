import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHANNEL_STATES, channelStateGroup, PEER_COMMS_STATES, wantsPeerComms, type ChannelState } from '../../src/store/channels.js';
import { openStore } from '../../src/store/database.js';
import { forEachBackend } from './backends.js';

const a = '02' + '11'.repeat(32);
const b = '03' + '22'.repeat(32);
const cid = (n: number): string => n.toString(16).padStart(64, '0');

forEachBackend('channel store', ({ location }) => {
  it('stores channels with CLN state names, per peer in creation order, and survives a reopen', async () => {
    const path = await location();
    const store = await openStore(path);
    await store.channels.insert({ channelId: cid(1), peerId: a, state: 'CHANNELD_AWAITING_LOCKIN', opener: 'local', capacitySat: 100_000, createdAt: 1000 });
    await store.channels.insert({ channelId: cid(2), peerId: a, state: 'ONCHAIN', opener: 'remote', shortChannelId: '103x1x0', fundingTxid: 'ab'.repeat(32), fundingOutnum: 1 });
    await store.channels.insert({ channelId: cid(3), peerId: b, state: 'CHANNELD_NORMAL', opener: 'remote' });
    await store.channels.setState(cid(1), 'CHANNELD_NORMAL', 2000);
    await store.close();
    const again = await openStore(path);
    const mine = await again.channels.listByPeer(a);
    assert.deepEqual(
      mine.map((c) => [c.channelId, c.state, c.opener]),
      [
        [cid(1), 'CHANNELD_NORMAL', 'local'],
        [cid(2), 'ONCHAIN', 'remote'],
      ],
    );
    assert.deepEqual({ ...mine[0] }, { channelId: cid(1), peerId: a, state: 'CHANNELD_NORMAL', opener: 'local', shortChannelId: null, fundingTxid: null, fundingOutnum: null, capacitySat: 100_000, createdAt: 1000, updatedAt: 2000 });
    assert.equal(mine[1]!.shortChannelId, '103x1x0');
    assert.deepEqual([...(await again.channels.countByPeer())].sort(), [
      [a, 2],
      [b, 1],
    ]);
    assert.equal((await again.channels.list()).length, 3);
    await again.channels.remove(cid(2));
    assert.equal((await again.channels.get(cid(2))), undefined);
    await again.close();
  });

  it('refuses unknown states, duplicate ids and updates of missing channels', async () => {
    const store = await openStore(await location());
    await assert.rejects(store.channels.insert({ channelId: cid(9), peerId: a, state: 'OPEN' as ChannelState, opener: 'local' }), /unknown state 'OPEN'/);
    await store.channels.insert({ channelId: cid(9), peerId: a, state: 'CLOSED', opener: 'local' });
    await assert.rejects(store.channels.insert({ channelId: cid(9), peerId: a, state: 'CLOSED', opener: 'local' }), /UNIQUE|unique/);
    await assert.rejects(store.channels.setState(cid(10), 'CLOSED'), /no channel/);
    await store.close();
  });

  it('keeps 64-bit amounts and millisecond times exact', async () => {
    const store = await openStore(await location());
    const big = 2 ** 52 + 1; // above 32 bits, exact in a double
    await store.channels.insert({ channelId: cid(7), peerId: a, state: 'CHANNELD_NORMAL', opener: 'local', capacitySat: big, createdAt: 1_765_000_000_000 });
    const c = await store.channels.get(cid(7));
    assert.equal(c?.capacitySat, big);
    assert.equal(typeof c?.capacitySat, 'number');
    assert.equal(c?.createdAt, 1_765_000_000_000);
    await store.close();
  });
});

describe('channel states', () => {
  it("lightningd's groupings: the states that need the peer, and getinfo's pending/active/inactive", () => {
    assert.equal(CHANNEL_STATES.length, 14);
    assert.deepEqual(
      CHANNEL_STATES.filter(wantsPeerComms).sort(),
      ['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_AWAITING_SPLICE', 'CHANNELD_NORMAL', 'CHANNELD_SHUTTING_DOWN', 'CLOSINGD_SIGEXCHANGE', 'DUALOPEND_AWAITING_LOCKIN', 'DUALOPEND_OPEN_COMMITTED', 'DUALOPEND_OPEN_COMMIT_READY'],
    );
    assert.equal(PEER_COMMS_STATES.size, 8);
    const groups = Object.fromEntries(CHANNEL_STATES.map((s) => [s, channelStateGroup(s)]));
    assert.deepEqual(groups, {
      CHANNELD_AWAITING_LOCKIN: 'pending',
      DUALOPEND_OPEN_INIT: 'pending',
      DUALOPEND_OPEN_COMMIT_READY: 'pending',
      DUALOPEND_OPEN_COMMITTED: 'pending',
      DUALOPEND_AWAITING_LOCKIN: 'pending',
      CHANNELD_NORMAL: 'active',
      CHANNELD_AWAITING_SPLICE: 'active',
      CHANNELD_SHUTTING_DOWN: 'active',
      CLOSINGD_SIGEXCHANGE: 'active',
      CLOSINGD_COMPLETE: 'inactive',
      AWAITING_UNILATERAL: 'inactive',
      FUNDING_SPEND_SEEN: 'inactive',
      ONCHAIN: 'inactive',
      CLOSED: 'inactive',
    });
  });
});
