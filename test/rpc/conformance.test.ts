/**
 * Conformance with Core Lightning's own tests (spec §7), on two anode daemons (`dist/src/bin/anode.js`
 * child processes on loopback), driven over their JSON-RPC sockets: test_connect_basic,
 * test_connect_standard_addr, test_disconnectpeer, test_remote_disconnect, test_ping, plus every
 * channel state of the disconnect table with the rows put straight into the channel store. Every
 * response is validated against its method's schema.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHANNEL_STATES, PEER_COMMS_STATES } from '../../src/store/channels.js';
import { openSqliteStore, type Store } from '../../src/store/database.js';
import { staticKey } from '../harness/daemon.js';
import { INIT_FEATURES } from '../../src/node/node.js';

const FEATURES = INIT_FEATURES.toHex();
import { RawClient, startDaemon, type Daemon } from './harness.js';
import { until } from '../harness/wait.js';

describe('CLN conformance: two anode daemons', { timeout: 120_000 }, () => {
  let l1: Daemon;
  let l2: Daemon;
  let r1: RawClient;
  let r2: RawClient;
  let store1: Store;

  before(async () => {
    [l1, l2] = await Promise.all([startDaemon(), startDaemon()]);
    [r1, r2] = await Promise.all([RawClient.open(l1.rpcPath), RawClient.open(l2.rpcPath)]);
    store1 = await openSqliteStore(join(l1.anodeDir, 'regtest', 'anode.sqlite3'));
  });

  after(async () => {
    await store1?.close();
    r1?.close();
    r2?.close();
    const codes = await Promise.all([l1?.stop(), l2?.stop()]);
    assert.deepEqual(codes, [0, 0], 'stop makes both daemons exit 0');
    assert.deepEqual([l1.socketLeftBehind, l2.socketLeftBehind], [false, false], 'the sockets are removed on shutdown');
  });

  const peersOf = async (c: RawClient, id?: string): Promise<Record<string, unknown>[]> =>
    (await c.call('listpeers', id === undefined ? {} : { id })).result!.peers as Record<string, unknown>[];
  const connected = async (c: RawClient, id: string): Promise<boolean> => (await peersOf(c, id)).some((p) => p.connected === true);
  const disconnectAll = async (): Promise<void> => {
    for (const [c, other] of [[r1, l2], [r2, l1]] as const) {
      if (await connected(c, other.nodeId)) assert.deepEqual((await c.call('disconnect', { id: other.nodeId, force: true })).result, {});
    }
    await until(async () => !(await connected(r1, l2.nodeId)) && !(await connected(r2, l1.nodeId)), { what: 'both sides disconnected', timeoutMs: 10_000 });
  };

  it('getinfo describes each daemon', async () => {
    for (const l of [l1, l2]) {
      const info = (await (l === l1 ? r1 : r2).call('getinfo')).result!;
      assert.equal(info.id, l.nodeId);
      assert.deepEqual(info.binding, [{ type: 'ipv4', address: '127.0.0.1', port: l.port }]);
      assert.deepEqual(info.address, []);
      assert.equal(info.network, 'regtest');
      assert.equal(info['lightning-dir'], join(l.anodeDir, 'regtest'));
      assert.equal(info.num_peers, 0);
      assert.equal(info.color, l.nodeId.slice(0, 6));
    }
  });

  it('test_connect_basic', async () => {
    const r = await r1.call('connect', { id: `${l2.nodeId}@127.0.0.1:${l2.port}` });
    assert.deepEqual(r.result, { id: l2.nodeId, features: FEATURES, direction: 'out', address: { type: 'ipv4', address: '127.0.0.1', port: l2.port } });
    assert.deepEqual(await peersOf(r1), [{ id: l2.nodeId, connected: true, num_channels: 0, netaddr: [`127.0.0.1:${l2.port}`], features: FEATURES }]);
    await until(() => connected(r2, l1.nodeId), { what: 'l2 lists l1 connected', timeoutMs: 10_000 });

    // Reconnect is a no-op, both ways.
    const again = await r1.call('connect', [l2.nodeId, '127.0.0.1', l2.port]);
    assert.deepEqual(again.result, r.result);
    const back = await r2.call('connect', { id: l1.nodeId, host: 'localhost', port: l1.port });
    assert.equal(back.result!.id, l1.nodeId);
    assert.equal(back.result!.direction, 'in');
    assert.equal((await peersOf(r1)).length, 1);
    assert.equal((await peersOf(r2)).length, 1);
    assert.equal((await r1.call('getinfo')).result!.num_peers, 1);

    // num_channels follows the channel store: 0 → 1 → 2.
    await store1.channels.insert({ channelId: '01'.repeat(32), peerId: l2.nodeId, state: 'CHANNELD_NORMAL', opener: 'local' });
    assert.equal((await peersOf(r1, l2.nodeId))[0]!.num_channels, 1);
    await store1.channels.insert({ channelId: '02'.repeat(32), peerId: l2.nodeId, state: 'CHANNELD_AWAITING_LOCKIN', opener: 'local' });
    assert.equal((await peersOf(r1, l2.nodeId))[0]!.num_channels, 2);
    const info = (await r1.call('getinfo')).result!;
    assert.deepEqual([info.num_pending_channels, info.num_active_channels], [1, 1]);
    await store1.channels.remove('01'.repeat(32));
    await store1.channels.remove('02'.repeat(32));

    // Failures, with lightningd's codes and texts.
    const unknown = staticKey(0x99).publicKey.toString('hex');
    assert.deepEqual((await r1.call('connect', { id: unknown })).error, { code: 400, message: 'Unable to connect, no address known for peer' });
    const refused = (await r1.call('connect', { id: unknown, host: 'localhost', port: 1 })).error!;
    assert.equal(refused.code, 401);
    assert.match(refused.message, /Connection establishment: Connection refused/);
    const wrongKey = (await r1.call('connect', { id: unknown, host: '127.0.0.1', port: l2.port })).error!;
    assert.deepEqual(wrongKey, { code: 401, message: `All addresses failed: 127.0.0.1:${l2.port}: Cryptographic handshake: peer closed connection (wrong key?). ` });
    assert.equal((await peersOf(r1)).length, 1, 'still one peer');
  });

  it('test_connect_standard_addr: id@host with port, id@host:port, positional and named', async () => {
    await disconnectAll();
    const expect = { id: l2.nodeId, features: FEATURES, direction: 'out', address: { type: 'ipv4', address: '127.0.0.1', port: l2.port } };
    const forms: unknown[] = [
      { id: `${l2.nodeId}@127.0.0.1`, port: l2.port },
      { id: `${l2.nodeId}@127.0.0.1:${l2.port}` },
      [`${l2.nodeId}@localhost:${l2.port}`],
      [l2.nodeId, 'localhost', l2.port],
      { port: String(l2.port), host: '127.0.0.1', id: l2.nodeId },
    ];
    for (const params of forms) {
      assert.deepEqual((await r1.call('connect', params)).result, expect, JSON.stringify(params));
      await disconnectAll();
    }
  });

  it('connect parameter errors (no --developer: tokens are logged, not quoted)', async () => {
    const cases: [unknown, number, string][] = [
      [{ id: 'nope' }, -32602, 'id: should be a node id: invalid token (see logs for details)'],
      [{ id: `${l2.nodeId}@127.0.0.1`, host: '127.0.0.1' }, -32602, "Can't specify host as both xxx@yyy and separate argument"],
      [{ id: `${l2.nodeId}@127.0.0.1:1`, port: 2 }, -32602, "Can't specify port as both xxx@yyy:port and separate argument"],
      [{ id: `${l2.nodeId}@127.0.0.1:0` }, -32602, 'malformed host @part'],
      [{ id: l2.nodeId, host: 'x', port: 0 }, -32602, 'port: should be non-zero: invalid token (see logs for details)'],
      [{ id: l2.nodeId, host: 'x', port: 'ab' }, -32602, 'port: should be a 16-bit integer: invalid token (see logs for details)'],
      [{ id: l2.nodeId, port: 9735 }, -32602, "Can't specify port without host"],
      [[l2.nodeId, 'a', 1, 2], -32602, 'too many parameters: got 4, expected 3'],
      [{}, -32602, 'missing required parameter: id'],
    ];
    for (const [params, code, message] of cases) assert.deepEqual((await r1.call('connect', params)).error, { code, message }, JSON.stringify(params));
  });

  it('test_disconnectpeer and test_remote_disconnect: gone from both sides, then "Unknown peer"', async () => {
    await r1.call('connect', { id: l2.nodeId, host: '127.0.0.1', port: l2.port });
    await until(() => connected(r2, l1.nodeId), { what: 'l2 sees l1', timeoutMs: 10_000 });
    assert.deepEqual((await r1.call('disconnect', { id: l2.nodeId })).result, {});
    assert.deepEqual(await peersOf(r1, l2.nodeId), [], 'gone from l1 at once');
    await until(async () => (await peersOf(r2)).length === 0, { what: 'l2 forgets l1', timeoutMs: 10_000 });
    assert.deepEqual((await r1.call('disconnect', [l2.nodeId])).error, { code: -32602, message: `Unknown peer '${l2.nodeId}'` });
    assert.deepEqual((await r2.call('disconnect', [l1.nodeId])).error, { code: -32602, message: `Unknown peer '${l1.nodeId}'` });
    assert.deepEqual((await r1.call('disconnect', { id: 'zz' })).error, { code: -32602, message: 'id: invalid peer id: invalid token (see logs for details)' });
  });

  for (const state of CHANNEL_STATES) {
    const blocks = PEER_COMMS_STATES.has(state);
    it(`disconnect with a channel in ${state}: ${blocks ? 'refused without force, force drops the connection' : 'allowed'}; the channel is untouched`, async () => {
      const channelId = 'ab'.repeat(32);
      await store1.channels.insert({ channelId, peerId: l2.nodeId, state, opener: 'local' });
      try {
        await r1.call('connect', { id: l2.nodeId, host: '127.0.0.1', port: l2.port });
        const plain = await r1.call('disconnect', { id: l2.nodeId });
        if (blocks) {
          assert.deepEqual(plain.error, { code: -1, message: `Peer has (at least one) channel in state ${state}` });
          assert.ok(await connected(r1, l2.nodeId), 'still connected after the refusal');
          assert.deepEqual((await r1.call('disconnect', [l2.nodeId, true])).result, {});
        } else {
          assert.deepEqual(plain.result, {});
        }
        assert.deepEqual(await peersOf(r1, l2.nodeId), [{ id: l2.nodeId, connected: false, num_channels: 1, features: FEATURES }], 'a channel peer stays, offline');
        assert.deepEqual((await r1.call('disconnect', { id: l2.nodeId, force: true })).error, { code: -1, message: 'Peer not connected' });
        assert.equal((await store1.channels.get(channelId))!.state, state, 'the channel keeps its state');
        await until(async () => (await peersOf(r2)).length === 0, { what: 'l2 forgets l1', timeoutMs: 10_000 });
      } finally {
        await store1.channels.remove(channelId);
      }
      assert.deepEqual(await peersOf(r1, l2.nodeId), [], 'without its channel the offline peer is forgotten');
    });
  }

  it('test_ping: totlen for each size, oversize refused, unknown peer', async () => {
    await r1.call('connect', { id: l2.nodeId, host: '127.0.0.1', port: l2.port });
    const ping = async (len?: number, pongbytes?: number): Promise<unknown> => (await r1.call('ping', { id: l2.nodeId, len, pongbytes })).result;
    assert.deepEqual(await ping(), { totlen: 132 });
    assert.deepEqual(await ping(0, 0), { totlen: 4 });
    assert.deepEqual(await ping(1000, 0), { totlen: 4 });
    assert.deepEqual(await ping(1000, 1000), { totlen: 1004 });
    assert.deepEqual(await ping(0, 65531), { totlen: 65535 });
    for (const pb of [65532, 65533, 65534, 65535]) assert.deepEqual(await ping(1, pb), { totlen: 0 });
    assert.deepEqual(await ping(65529, 1), { totlen: 5 });
    assert.deepEqual((await r1.call('ping', [l2.nodeId, 65530])).error, { code: -32602, message: '65530 would result in oversize ping' });
    assert.deepEqual((await r1.call('ping', [l2.nodeId, 1, 65536])).error, { code: -32602, message: 'pongbytes 65536 > 65535' });
    assert.deepEqual((await r1.call('ping', [staticKey(0x98).publicKey.toString('hex')])).error, { code: -1, message: 'Peer not connected' });
    // l2 pings l1 over the same connection (it was dialled by l1).
    assert.deepEqual((await r2.call('ping', [l1.nodeId, 10, 10])).result, { totlen: 14 });
  });

  it('listpeers after disconnect', async () => {
    await disconnectAll();
    assert.deepEqual(await peersOf(r1), []);
    assert.deepEqual(await peersOf(r2), []);
  });
});
