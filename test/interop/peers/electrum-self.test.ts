/**
 * Self-test of the Electrum adapter: two Electrum instances talk to each other (Electrum's real BOLT 8
 * transport in both roles), exchange init, push 1200 ping round trips each way (crossing the BOLT 8 key
 * rotation at 1000 messages in both directions of both connections' ends), then disconnect.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { interopGate } from '../adapter.js';
import { ElectrumPeer, ELECTRUM_DEFAULT_FEATURES, electrumAvailable } from './electrum.js';

const avail = electrumAvailable();
const gate = interopGate('electrum', 'Electrum adapter self-test', avail.ok ? null : `${avail.reason} (apt-get install python3-electrum)`);
const logs: string[] = [];
const mkLog = (tag: string) => (line: string) => {
  logs.push(`[${tag}] ${line}`);
  if (process.env.ANODE_INTEROP_VERBOSE === '1') console.error(`[${tag}] ${line}`);
};

const peers: ElectrumPeer[] = [];
after(async () => {
  await Promise.all(peers.map((p) => p.stop()));
});

test('electrum adapter: handshake, init, 1200 pings each way, disconnect', { skip: gate.skip, timeout: 30_000 }, async () => {
  gate.require();
  const t0 = Date.now();
  // A: default features; B: default plus basic_mpp optional (bit 17), to see features pass through.
  const a = new ElectrumPeer({ log: mkLog('A') });
  const b = new ElectrumPeer({ privateKey: Buffer.alloc(32, 0x11), features: '02a102', log: mkLog('B') });
  peers.push(a, b);
  await Promise.all([a.start(), b.start()]);
  assert.equal(a.nodeId.length, 33);
  // Fixed key 0x11…11 gives a fixed node id.
  assert.equal(b.nodeId.toString('hex'), '034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa');

  const port = await a.listen();
  assert.ok(port > 0);
  await b.connect('127.0.0.1', port, a.nodeId);

  const infoAtB = await b.waitForPeer(a.nodeId, 5000);
  const infoAtA = await a.waitForPeer(b.nodeId, 5000);
  assert.equal(infoAtB.nodeId, a.nodeId.toString('hex'));
  assert.equal(infoAtB.features, ELECTRUM_DEFAULT_FEATURES);
  assert.equal(infoAtB.direction, 'out');
  assert.equal(infoAtA.nodeId, b.nodeId.toString('hex'));
  assert.equal(infoAtA.features, '02a102');
  assert.equal(infoAtA.direction, 'in');
  // Both sent the regtest chain hash (0f9188f1…, wire order) in `networks`.
  assert.deepEqual(infoAtA.networks, ['06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f']);

  assert.equal(await b.pingRoundTrips(a.nodeId, 1200), 1200);
  assert.equal(await a.pingsReceived(b.nodeId), 1200);
  assert.equal(await a.pingRoundTrips(b.nodeId, 1200), 1200);
  assert.equal(await b.pingsReceived(a.nodeId), 1200);
  assert.equal(await a.pingsReceived(b.nodeId), 1200);

  await b.disconnect(a.nodeId);
  await b.waitForDisconnect(a.nodeId, 1000);
  await a.waitForDisconnect(b.nodeId, 5000);
  assert.equal(a.connectedPeers().length, 0);
  assert.equal(b.connectedPeers().length, 0);
  console.error(`electrum self-test body: ${Date.now() - t0} ms`);
});

test('electrum adapter: wrong static key fails the handshake', { skip: gate.skip, timeout: 30_000 }, async () => {
  gate.require();
  const a = new ElectrumPeer({ log: mkLog('C') });
  const b = new ElectrumPeer({ log: mkLog('D') });
  peers.push(a, b);
  await Promise.all([a.start(), b.start()]);
  const port = await a.listen();
  // Dial A's port expecting some other static key (B's own): act 2 cannot be decrypted.
  await assert.rejects(b.connect('127.0.0.1', port, b.nodeId), /handshake/);
  // The listener is still usable afterwards.
  await b.connect('127.0.0.1', port, a.nodeId);
  await a.waitForPeer(b.nodeId, 5000);
});

test('electrum adapter: incompatible init is rejected like Electrum does', { skip: gate.skip, timeout: 30_000 }, async () => {
  gate.require();
  // E requires bit 6 (gossip_queries, Electrum's own default); F offers nothing of it.
  const e = new ElectrumPeer({ features: '4140', log: mkLog('E') });
  const f = new ElectrumPeer({ log: mkLog('F') });
  peers.push(e, f);
  await Promise.all([e.start(), f.start()]);
  const port = await e.listen();
  await assert.rejects(f.connect('127.0.0.1', port, e.nodeId), /feature/);
  await assert.rejects(e.waitForPeer(f.nodeId, 300), /init rejections/);
});

test('electrum adapter: a dead child rejects pending calls with its stderr', { skip: gate.skip, timeout: 30_000 }, async () => {
  gate.require();
  const p = new ElectrumPeer({ log: mkLog('G') });
  peers.push(p);
  await p.start();
  const pending = assert.rejects(p.waitForPeer(Buffer.alloc(33, 2), 10_000), /exited/);
  // Kill it from outside (its own pid), then call before Node has seen the exit: the call must
  // reject once the exit is noticed, with the exit in the message.
  (p as unknown as { child: { kill(sig: string): void } }).child.kill('SIGKILL');
  const call = assert.rejects(p.pingRoundTrips(Buffer.alloc(33, 2), 1), /exited \(code .*\) unexpectedly/);
  await call;
  await pending;
  await assert.rejects(p.listen(), /exited/);
});
