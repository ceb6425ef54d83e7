/**
 * Smoke test of the bench's "routing" section (bench/routing.ts) at a tiny size: the synthetic graph has
 * the size asked and a skewed degree distribution, the same seed builds the same graph, both searches
 * answer every query with finite figures. No timing assertions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchRouting, printRouting, syntheticGraph } from '../../bench/routing.js';

describe('bench: routing section', () => {
  it('builds the seeded graph and times both searches', () => {
    const r = benchRouting({ nodes: 300, channels: 1000, queries: 20 });
    assert.deepEqual([r.nodes, r.channels, r.queries], [300, 1000, 20]);
    assert.ok(r.maxDegree > 4 * r.medianDegree, `preferential attachment: hubs (max ${r.maxDegree}, median ${r.medianDegree})`);
    for (const x of [r.pathfinder, r.dijkstra]) assert.ok(Number.isFinite(x.medianMs) && Number.isFinite(x.p99Ms) && x.queriesPerSecond > 0);
    assert.ok(r.pathfinder.found > 0 && r.bytesPerChannel > 0);
    assert.ok(r.feeOverOptimum >= 1, 'never cheaper than the fee optimum');
    assert.ok(printRouting(r).some((l) => l.includes('bytes per channel')));
    const a = syntheticGraph(50, 120, 3).graph.channels();
    const b = syntheticGraph(50, 120, 3).graph.channels();
    assert.deepEqual(a, b, 'fixed seed: the same graph');
  });
});
