/**
 * Smoke test of the bench's "gossip" section (bench/gossip.ts) at a tiny size: the synthetic graph is
 * built to the size asked, every signed channel is taken by the ingest path, and the figures are finite.
 * No timing assertions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchGossip, printGossip } from '../../bench/gossip.js';

describe('bench: gossip section', () => {
  it('builds the graph and ingests every channel', { timeout: 120_000 }, async () => {
    const r = await benchGossip({ channels: 30, nodes: 300, graphChannels: 1000 });
    assert.equal(r.graph.channels, 1000);
    assert.ok(r.graph.bytesPerChannel > 0 && r.graph.referenceBytesPerChannel > 0);
    assert.equal(r.ingest.channels, 30);
    assert.ok(Number.isFinite(r.ingest.channelsPerSecond) && r.ingest.channelsPerSecond > 0);
    assert.ok(printGossip(r).some((l) => l.includes('bytes per channel')));
  });
});
