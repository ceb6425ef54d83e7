/**
 * The peer commands' semantics against scripted peers (real BOLT 8 connections whose every message the
 * test chooses): disconnect replies only once the connection is gone and concurrent ones complete
 * together, force only drops the connection, ping edge cases (pending ping fails on disconnect), the
 * connect address forms and their errors, listpeers' remote_addr.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '../../src/wire/messages.js';
import { INIT_FEATURES } from '../../src/node/node.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';
import { staticKey } from '../harness/daemon.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { RawClient, startRpcNode, type RpcNode } from './harness.js';
import { until } from '../harness/wait.js';

describe('peer commands against scripted peers', () => {
  let n: RpcNode;
  let c: RawClient;
  let fill = 0x80;
  before(async () => {
    n = await startRpcNode();
    c = await RawClient.open(n.path);
  });
  after(async () => {
    c.close();
    await n.close();
  });

  /** A scripted peer connected to anode, and its id. */
  async function peer(opts: { remoteAddr?: Buffer } = {}): Promise<{ s: ScriptedPeer; id: string }> {
    const key = staticKey(fill++);
    const s = await ScriptedPeer.dial(n.node.port, key, n.node.manager.nodeId);
    s.send({ type: MessageType.INIT, globalFeatures: Buffer.alloc(0), features: INIT_FEATURES.toBytes(), networks: [CHAIN_HASH.regtest], extraTlvs: [], ...(opts.remoteAddr ? { remoteAddr: opts.remoteAddr } : {}) });
    const id = key.publicKey.toString('hex');
    await until(() => n.node.manager.peer(id) !== undefined, { what: 'peer connected', timeoutMs: 10_000 });
    return { s, id };
  }

  it('disconnect replies {} only once the connection is gone; the peer leaves listpeers at once', async () => {
    const { s, id } = await peer();
    const live = n.node.manager.peer(id)!;
    let gone = false;
    void live.closed.then(() => (gone = true));
    const r = await c.call('disconnect', { id });
    assert.deepEqual(r.result, {});
    assert.ok(gone, 'the connection was closed before the reply');
    assert.deepEqual((await c.call('listpeers', { id })).result, { peers: [] });
    await s.closed;
    assert.deepEqual((await c.call('disconnect', { id })).error, { code: -32602, message: `Unknown peer '${id}'` });
  });

  it('concurrent disconnects of one peer all complete together, none sees "Unknown peer"', async () => {
    const { id } = await peer();
    // Back to back on one connection, so all four are running before the first can finish.
    const k = await RawClient.open(n.path);
    let gone = false;
    void n.node.manager.peer(id)!.closed.then(() => (gone = true));
    const early: string[] = [];
    k.socket.on('data', () => {
      if (!gone) early.push('a reply came before the connection was gone');
    });
    k.send([0, 1, 2, 3].map((i) => JSON.stringify({ jsonrpc: '2.0', id: i, method: 'disconnect', params: i % 2 ? [id] : { id, force: true } })).join(''));
    const rs = await k.waitFor(4);
    for (const r of rs) assert.match(r, /^\{"jsonrpc":"2.0","id":\d,"result":\{\}\}$/);
    assert.deepEqual(early, []);
    k.close();
  });

  it('force drops the connection but never touches the channel; afterwards the peer is "not connected"', async () => {
    const { s, id } = await peer();
    // The peer's init features are recorded as it connects (asynchronously): listed once stored.
    await until(async () => (await n.node.store.peers.get(id))?.features === INIT_FEATURES.toHex() || undefined, 'the peer recorded');
    const channelId = 'cd'.repeat(32);
    await n.node.store.channels.insert({ channelId, peerId: id, state: 'CHANNELD_NORMAL', opener: 'local' });
    try {
      assert.deepEqual((await c.call('disconnect', { id })).error, { code: -1, message: 'Peer has (at least one) channel in state CHANNELD_NORMAL' });
      assert.deepEqual((await c.call('disconnect', { id, force: true })).result, {});
      await s.closed;
      assert.equal((await n.node.store.channels.get(channelId))!.state, 'CHANNELD_NORMAL');
      const listed = (await c.call('listpeers', { id })).result!.peers as Record<string, unknown>[];
      assert.deepEqual(listed, [{ id, connected: false, num_channels: 1, features: INIT_FEATURES.toHex() }]);
      for (const force of [false, true]) assert.deepEqual((await c.call('disconnect', { id, force })).error, { code: -1, message: 'Peer not connected' });
    } finally {
      // Whatever failed, the next tests count peers and channels without this one.
      await n.node.store.channels.remove(channelId);
    }
  });

  it('ping: a pending ping fails at once when the peer disconnects (CLN hangs here)', async () => {
    const { s, id } = await peer();
    s.autoPong = false;
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 'p', method: 'ping', params: { id } }));
    await s.ofType(MessageType.PING);
    s.close();
    const r = await c.next('ping');
    assert.equal(r.error?.code, -1);
    assert.match(r.error!.message, /^Ping failed: peer disconnected/);
  });

  it('ping: one at a time ("Ping already pending"); no pong asked for gives totlen 0 at once', async () => {
    const { s, id } = await peer();
    s.autoPong = false;
    c.send(JSON.stringify({ jsonrpc: '2.0', id: 'first', method: 'ping', params: [id, 0, 10] }));
    await s.ofType(MessageType.PING);
    assert.deepEqual((await c.call('ping', [id])).error, { code: -1, message: 'Ping already pending' });
    s.send({ type: MessageType.PONG, ignored: Buffer.alloc(10) });
    assert.deepEqual((await c.next('ping')).result, { totlen: 14 });
    assert.deepEqual((await c.call('ping', { id, pongbytes: 65532 })).result, { totlen: 0 });
    assert.deepEqual((await c.call('ping', { id, len: '5', pongbytes: '65535' })).result, { totlen: 0 });
    s.close();
  });

  it('listpeers reports remote_addr from the peer’s init, and netaddr of the live connection', async () => {
    const { s, id } = await peer({ remoteAddr: Buffer.from([1, 203, 0, 113, 7, 0x26, 0x07]) });
    const [p] = (await c.call('listpeers', [id, 'debug'])).result!.peers as Record<string, unknown>[];
    assert.equal(p!.remote_addr, '203.0.113.7:9735');
    assert.match((p!.netaddr as string[])[0]!, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(p!.log, []);
    s.close();
  });

  it('connect to an already connected peer (it dialled us) succeeds at once with direction "in"', async () => {
    const { s, id } = await peer();
    const r = await c.call('connect', { id });
    assert.equal(r.result!.direction, 'in');
    assert.equal((r.result!.address as { type: string }).type, 'ipv4');
    s.close();
  });

  it('getinfo counts peers with channels (even offline) and channels by state group', async () => {
    await until(() => n.node.manager.list().length === 0, { what: 'earlier peers gone', timeoutMs: 10_000 });
    const ids = ['02' + '31'.repeat(32), '03' + '32'.repeat(32)];
    const states = ['CHANNELD_AWAITING_LOCKIN', 'CHANNELD_NORMAL', 'CLOSINGD_SIGEXCHANGE', 'ONCHAIN', 'CLOSED'] as const;
    for (const [i, state] of states.entries()) {
      await n.node.store.channels.insert({ channelId: (i + 1).toString(16).padStart(64, 'e'), peerId: ids[i % 2]!, state, opener: 'remote' });
    }
    const info = (await c.call('getinfo')).result!;
    assert.deepEqual([info.num_peers, info.num_pending_channels, info.num_active_channels, info.num_inactive_channels], [2, 1, 2, 2]);
    for (const [i] of states.entries()) await n.node.store.channels.remove((i + 1).toString(16).padStart(64, 'e'));
  });

  it('connect: address forms and their errors', async () => {
    const id = staticKey(0x7f).publicKey.toString('hex');
    const err = async (params: unknown): Promise<unknown> => (await c.call('connect', params)).error;
    assert.deepEqual(await err({ id: `${id}@127.0.0.1`, host: '127.0.0.1' }), { code: -32602, message: "Can't specify host as both xxx@yyy and separate argument" });
    assert.deepEqual(await err({ host: '127.0.0.1', id: `${id}@127.0.0.1` }), { code: -32602, message: "Can't specify host as both xxx@yyy and separate argument" });
    assert.deepEqual(await err([`${id}@127.0.0.1`, '127.0.0.1']), { code: -32602, message: "Can't specify host as both xxx@yyy and separate argument" });
    assert.deepEqual(await err({ id: `${id}@127.0.0.1:1`, port: 2 }), { code: -32602, message: "Can't specify port as both xxx@yyy:port and separate argument" });
    for (const bad of ['127.0.0.1:0', '127.0.0.1:x', '127.0.0.1:70000', '[::1', '[::1]x']) {
      assert.deepEqual(await err({ id: `${id}@${bad}` }), { code: -32602, message: 'malformed host @part' }, bad);
    }
    assert.deepEqual(await err({ id: 'xyz@127.0.0.1' }), { code: -32602, message: `id: should be a node id: invalid token '"xyz@127.0.0.1"'` });
    assert.deepEqual(await err({ id, port: 0, host: 'x' }), { code: -32602, message: "port: should be non-zero: invalid token '0'" });
    assert.deepEqual(await err({ id, host: 'x', port: 65536 }), { code: -32602, message: "port: should be a 16-bit integer: invalid token '65536'" });
    assert.deepEqual(await err({ id, port: 9735 }), { code: -32602, message: "Can't specify port without host" });
    assert.deepEqual(await err({ id, host: 'not a host!' }), { code: -1, message: 'Host not a host!:9735 not valid: Name or service not known' });
    assert.deepEqual(await err({ id, host: '' }), { code: -1, message: 'Host :9735 not a simple type' });
    assert.deepEqual(await err({ id, host: 'autotor:127.0.0.1:9051' }), { code: -1, message: 'Host autotor:127.0.0.1:9051:9735 not a simple type' });
    assert.deepEqual(await err({ id, host: 'short.onion' }), { code: -1, message: 'Host short.onion:9735 not valid: Invalid Tor address' });
    const onion = `${'a'.repeat(56)}.onion`;
    assert.deepEqual(await err({ id: `${id}@${onion}:9735` }), { code: 401, message: `All addresses failed: ${onion}:9735: need a proxy. ` });
    assert.deepEqual(await err({ id, host: '/tmp/some.sock' }), { code: 401, message: 'All addresses failed: /tmp/some.sock: not supported. ' });
    const v6 = await err({ id: `${id}@[::1]:1` });
    assert.deepEqual(v6, { code: 401, message: 'All addresses failed: [::1]:1: Connection establishment: Connection refused. ' });
    assert.deepEqual(await err({ id: n.nodeId, host: '127.0.0.1', port: n.node.port }), { code: -32602, message: 'Cannot connect to ourselves' });
    assert.deepEqual(await err({ id }), { code: 400, message: 'Unable to connect, no address known for peer' });
  });
});
