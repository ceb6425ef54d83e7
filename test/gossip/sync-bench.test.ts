/**
 * Smoke test of the bench's "gossip-sync" section (bench/gossip-sync.ts) at a tiny size: the serving peer
 * is filled through its checks, the syncing process gets every channel (both updates stored) and every
 * node announcement over BOLT 8 (the child fails otherwise), the reference checks every message, and a
 * second run reuses the signed corpus and the serving peer's database. No timing assertions. The cache
 * file's decoder round-trips and takes random and mutated input without throwing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { benchGossipSync, decodeCorpus, encodeCorpus, generateCorpus, printGossipSync } from '../../bench/gossip-sync.js';

describe('bench: gossip-sync section', () => {
  it('syncs every channel and node announcement from one peer, then reuses the cached corpus', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anode-sync-bench-test-'));
    try {
      const r = await benchGossipSync({ channels: 40, dir });
      assert.equal(r.channels, 40);
      assert.deepEqual(r.synced, { complete: true, channels: 40, nodes: r.nodes, dropped: 0, queue: undefined, ended: 'complete' });
      assert.equal(r.messages, 40 * 3 + r.nodes);
      assert.deepEqual([r.sign.cached, r.sign.signatures], [false, 40 * 6 + r.nodes]);
      assert.ok(Number.isFinite(r.sync.channelsPerSecond) && r.sync.channelsPerSecond > 0);
      assert.ok(r.sync.peakRssMiB >= r.sync.rssBeforeMiB);
      assert.ok(Number.isFinite(r.ratio) && r.ratio > 0);
      assert.deepEqual(readdirSync(dir).sort(), ['anode-bench-gossip-sync-40.bin', 'anode-bench-gossip-sync-40.server.sqlite3']);
      const again = await benchGossipSync({ channels: 40, dir });
      assert.equal(again.sign.cached, true);
      assert.ok(printGossipSync(again).some((l) => l.includes('initial sync') && l.includes('40 channels')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the corpus cache round-trips; random and mutated files decode to a corpus or to nothing, never throw', () => {
    const corpus = generateCorpus(6);
    const bytes = encodeCorpus(corpus);
    assert.deepEqual(decodeCorpus(bytes), corpus);
    assert.equal(decodeCorpus(bytes.subarray(0, bytes.length - 1)), undefined, 'a truncated file is not a corpus');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => void decodeCorpus(Buffer.from(b))), { numRuns: 500 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.nat(bytes.length), (edits, cut) => {
        const m = Buffer.from(bytes.subarray(0, Math.max(cut, 1)));
        for (const [i, v] of edits) if (i < m.length) m[i] = v;
        void decodeCorpus(m);
      }),
      { numRuns: 500 },
    );
  });
});
