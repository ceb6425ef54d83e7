/**
 * Self-test of the LDK adapter: two LDK nodes (each in its own child process) talk to each other over
 * 127.0.0.1, so the adapter is known to work before anode is put in front of it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { interopGate } from '../adapter.js';
import { LdkPeer, ldkUnavailableReason } from './ldk.js';

const gate = interopGate('ldk', 'LDK adapter self-test', ldkUnavailableReason());

const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';
const logTo = (tag: string) => (verbose ? (line: string) => process.stderr.write(`${tag} ${line}\n`) : undefined);

describe('ldk adapter self-test', { skip: gate.skip, timeout: 55_000 }, () => {
  const a = new LdkPeer({ seed: Buffer.alloc(32, 0xa1), log: logTo('[A]') });
  const b = new LdkPeer({ seed: Buffer.alloc(32, 0xb2), log: logTo('[B]') });
  let port = 0;

  before(async () => {
    gate.require();
    await Promise.all([a.start(), b.start()]);
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('starts with deterministic node ids', () => {
    assert.equal(a.nodeId.length, 33);
    assert.equal(b.nodeId.length, 33);
    assert.notDeepEqual(a.nodeId, b.nodeId);
    assert.ok(a.nodeId[0] === 2 || a.nodeId[0] === 3);
  });

  it('handshake + init in both directions of view', async () => {
    port = await a.listen();
    assert.ok(port > 0 && port < 65536);
    await b.connect('127.0.0.1', port, a.nodeId);
    const seenByA = await a.waitForPeer(b.nodeId, 5_000);
    const seenByB = await b.waitForPeer(a.nodeId, 5_000);
    assert.equal(seenByA.nodeId, b.nodeId.toString('hex'));
    assert.equal(seenByB.nodeId, a.nodeId.toString('hex'));
    // LDK's regtest init: bits 0,5,8,12,14,17,19,25,27,45,47,51 (at least the mandatory-to-support ones).
    for (const info of [seenByA, seenByB]) {
      const bits = featureBits(info.features);
      for (const bit of [0, 8, 12, 14]) {
        assert.ok(bits.has(bit) || bits.has(bit ^ 1), `feature ${bit} missing in ${info.features}`);
      }
    }
    assert.equal(seenByA.features, seenByB.features);
  });

  it('1200 ping round trips from LDK (crosses the 1000-message key rotation)', async () => {
    const pingsBefore = await a.pingsReceived(b.nodeId);
    const pongs = await b.pingRoundTrips(a.nodeId, 1200);
    assert.equal(pongs, 1200);
    const pingsAfter = await a.pingsReceived(b.nodeId);
    assert.equal(pingsAfter - pingsBefore, 1200);
    // And the other direction, a few.
    assert.equal(await a.pingRoundTrips(b.nodeId, 20), 20);
    assert.ok((await b.pingsReceived(a.nodeId)) >= 20);
  });

  it('disconnect from one side is seen by the other', async () => {
    await b.disconnect(a.nodeId);
    await b.waitForDisconnect(a.nodeId, 5_000);
    await a.waitForDisconnect(b.nodeId, 5_000);
  });

  it('reconnects after the disconnect (LDK as initiator again)', async () => {
    await b.connect('127.0.0.1', port, a.nodeId);
    await a.waitForPeer(b.nodeId, 5_000);
    assert.equal(await a.pingRoundTrips(b.nodeId, 3), 3);
  });

  it('connect fails fast when the remote static key is wrong', async () => {
    const wrong = Buffer.from(a.nodeId);
    wrong[0] = wrong[0] === 2 ? 3 : 2;
    const c = new LdkPeer({ log: logTo('[C]') });
    await c.start();
    try {
      const t0 = Date.now();
      await assert.rejects(c.connect('127.0.0.1', port, wrong, 5_000));
      assert.ok(Date.now() - t0 < 4_000, 'should be noticed when LDK drops the socket, not by timeout');
    } finally {
      await c.stop();
    }
  });
});

function featureBits(hex: string): Set<number> {
  const bytes = Buffer.from(hex, 'hex');
  const bits = new Set<number>();
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[bytes.length - 1 - i]!;
    for (let j = 0; j < 8; j++) if (byte & (1 << j)) bits.add(i * 8 + j);
  }
  return bits;
}
