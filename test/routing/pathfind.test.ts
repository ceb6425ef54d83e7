/**
 * The pathfinder (routing/pathfind.ts) on small hand-made graphs: fees and CLTV deltas accumulate
 * backwards exactly as BOLT 7 prices each hop (checked against a hand computation), every constraint
 * (htlc_minimum/maximum, disabled directions, capacity, our real spendable balance, fee and CLTV limits,
 * exclusions) is honoured, invoice route hints supply private last hops, and MPP parts add up to the
 * amount exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelGraph } from '../../src/gossip/graph.js';
import type { RouteHintHop } from '../../src/invoice/bolt11.js';
import { MissionControl } from '../../src/routing/mission.js';
import { findRoute, forwardFee, planParts, type LocalChannel, type RouteQuery } from '../../src/routing/pathfind.js';
import { addChannel, nodeId } from './fixtures.js';

const US = 0;
const local = (peer: number, spendableMsat: bigint, scid = '1x1x0', htlcMinimumMsat = 1n): LocalChannel => ({ channelId: `ch${peer}-${scid}`, scid, peer: nodeId(peer), spendableMsat, htlcMinimumMsat });
const query = (target: number, amountMsat: bigint, more: Partial<RouteQuery> = {}): RouteQuery => ({ source: nodeId(US), target: nodeId(target), amountMsat, finalCltvDelta: 18, local: [local(1, 10_000_000_000n)], ...more });

/** us → 1 → 2 → 3, our channel 1x1x0 to node 1. */
function line(): ChannelGraph {
  const g = new ChannelGraph();
  addChannel(g, '1x1x0', US, 1, 10_000_000n, { base: 0, ppm: 0 }, { base: 0, ppm: 0 });
  addChannel(g, '2x1x0', 1, 2, 10_000_000n, { base: 1000, ppm: 100, cltv: 40 }, { base: 7, ppm: 7 });
  addChannel(g, '3x1x0', 2, 3, 10_000_000n, { base: 500, ppm: 2500, cltv: 144 }, { base: 7, ppm: 7 });
  return g;
}

/** us → 1, then node 3 cheaply over 5x1x0 (htlc_maximum_msat 500,000 msat) or dearer 1 → 2 → 3. */
function directOrDetour(): ChannelGraph {
  const g = new ChannelGraph();
  addChannel(g, '1x1x0', US, 1, 10_000_000n, {}, {});
  addChannel(g, '5x1x0', 1, 3, 10_000_000n, { base: 0, ppm: 1, max: 500_000n }, {});
  addChannel(g, '6x1x0', 1, 2, 10_000_000n, { base: 2000, ppm: 1 }, {});
  addChannel(g, '7x1x0', 2, 3, 10_000_000n, { base: 2000, ppm: 1 }, {});
  return g;
}

describe('pathfinder', () => {
  it('fees and CLTV accumulate hop by hop as BOLT 7 defines (checked by hand to the msat and block)', () => {
    const r = findRoute(line(), query(3, 1_234_567n));
    assert.ok(r);
    // Node 3 receives 1,234,567 msat at delta 18. Node 2 forwards over 3x1x0 (base 500, 2500 ppm, delta 144):
    // fee 500 + floor(1,234,567 × 2500 / 10⁶) = 500 + 3086 = 3586 → 1,238,153 msat at 18 + 144 = 162.
    // Node 1 forwards over 2x1x0 (base 1000, 100 ppm, delta 40): 1000 + floor(1,238,153 × 100 / 10⁶) = 1123
    // → 1,239,276 msat at 202, which is what we offer over our channel (no fee of ours).
    assert.deepEqual(
      r.hops.map((h) => [h.id, h.scid, h.amountMsat, h.cltvDelta]),
      [
        [nodeId(1), '1x1x0', 1_239_276n, 202],
        [nodeId(2), '2x1x0', 1_238_153n, 162],
        [nodeId(3), '3x1x0', 1_234_567n, 18],
      ],
    );
    assert.deepEqual([r.amountMsat, r.feeMsat, r.cltvDelta], [1_239_276n, 4709n, 202]);
    assert.equal(r.hops[0]!.channelId, 'ch1-1x1x0');
    assert.deepEqual(r.hops.map((h) => h.direction), [0, 0, 0]);
  });

  it('forwardFee is exact for amounts where a double product would round', () => {
    const amount = 4_503_599_627_362_577; // near 2⁵², where amount × ppm in doubles rounds the wrong way
    assert.equal(BigInt(forwardFee(1, 999_999, amount)), 1n + (BigInt(amount) * 999_999n) / 1_000_000n);
  });

  it('honours htlc_maximum_msat and htlc_minimum_msat: the cheaper path is left when it cannot carry the amount', () => {
    const g = directOrDetour();
    assert.deepEqual(findRoute(g, query(3, 400_000n))!.hops.map((h) => h.scid), ['1x1x0', '5x1x0']);
    assert.deepEqual(findRoute(g, query(3, 600_000n))!.hops.map((h) => h.scid), ['1x1x0', '6x1x0', '7x1x0'], 'above htlc_maximum_msat');
    addChannel(g, '8x1x0', 1, 4, 10_000_000n, { base: 0, ppm: 0, min: 700_000n }, {});
    addChannel(g, '9x1x0', 1, 4, 10_000_000n, { base: 50, ppm: 0 }, {});
    assert.deepEqual(findRoute(g, query(4, 600_000n))!.hops.map((h) => h.scid), ['1x1x0', '9x1x0'], 'below htlc_minimum_msat');
    assert.deepEqual(findRoute(g, query(4, 800_000n))!.hops.map((h) => h.scid), ['1x1x0', '8x1x0']);
  });

  it('what our other parts hold over a direction counts against its htlc_maximum_msat (LDK and LND announce their in-flight cap there)', () => {
    const g = directOrDetour();
    const direct = findRoute(g, query(3, 300_000n))!;
    assert.deepEqual(direct.hops.map((h) => h.scid), ['1x1x0', '5x1x0']);
    const pair = `5x1x0/${direct.hops[1]!.direction}`;
    assert.deepEqual(findRoute(g, query(3, 300_000n, { inFlight: new Map([[pair, 200_000n]]) }))!.hops.map((h) => h.scid), ['1x1x0', '5x1x0'], '500,000 together: fits');
    assert.deepEqual(findRoute(g, query(3, 300_000n, { inFlight: new Map([[pair, 200_001n]]) }))!.hops.map((h) => h.scid), ['1x1x0', '6x1x0', '7x1x0'], 'above the maximum together');
  });

  it('skips disabled directions and directions without an update; the other direction stays usable', () => {
    const g = new ChannelGraph();
    addChannel(g, '1x1x0', US, 1, 10_000_000n, {}, {});
    addChannel(g, '2x1x0', 1, 2, 10_000_000n, { disabled: true }, {});
    assert.equal(findRoute(g, query(2, 1000n)), undefined);
    addChannel(g, '3x1x0', 2, 4, 10_000_000n, {}, undefined);
    addChannel(g, '4x1x0', 1, 4, 10_000_000n, undefined, {});
    // 4 → 2 has an update (4x1x0 is 1 ↔ 4 with only 4 → 1; 3x1x0 only 2 → 4): no way from 1 to 2.
    assert.equal(findRoute(g, query(2, 1000n)), undefined);
    addChannel(g, '5x1x0', 2, 1, 10_000_000n, { disabled: true }, {}); // 2 → 1 disabled, 1 → 2 enabled
    assert.deepEqual(findRoute(g, query(2, 1000n))!.hops.map((h) => h.scid), ['1x1x0', '5x1x0']);
  });

  it('a channel carries no more than its capacity, even when its htlc_maximum_msat says more', () => {
    const g = line();
    addChannel(g, '3x1x0', 2, 3, 10_000_000n, { base: 500, ppm: 2500, cltv: 144, max: 20_000_000_000n }, { base: 7, ppm: 7 });
    assert.ok(findRoute(g, query(3, 9_000_000_000n)));
    assert.equal(findRoute(g, query(3, 10_000_000_001n)), undefined);
  });

  it('our own channels are priced by their real spendable balance, not the gossip capacity', () => {
    const g = line();
    assert.equal(findRoute(g, query(3, 2_000_000n, { local: [local(1, 1_000_000n)] })), undefined, 'the gossip capacity (10 M sat) would carry it');
    assert.ok(findRoute(g, query(3, 990_000n, { local: [local(1, 1_000_000n)] })));
    assert.equal(findRoute(g, query(3, 990_000n, { local: [local(1, 1_000_000n, '1x1x0', 995_000n)] })), undefined, "below the peer's htlc_minimum on our channel");
    // A private channel of ours (not in the graph) to node 2 is used.
    const r = findRoute(g, query(3, 990_000n, { local: [local(2, 5_000_000n, '99x1x0')] }));
    assert.deepEqual(r!.hops.map((h) => h.scid), ['99x1x0', '3x1x0']);
  });

  it('invoice route hints give private last hops, priced by the hint', () => {
    const g = line();
    const hint: RouteHintHop[] = [{ nodeId: Buffer.from(nodeId(3), 'hex'), shortChannelId: '50x1x0', feeBaseMsat: 10, feeProportionalMillionths: 1000, cltvExpiryDelta: 30 }];
    const r = findRoute(g, query(9, 100_000n, { hints: [hint] }));
    assert.ok(r);
    assert.deepEqual(r.hops.map((h) => [h.id, h.scid, h.amountMsat, h.cltvDelta]).slice(2), [
      [nodeId(3), '3x1x0', 100_110n, 48], // 10 + floor(100,000 × 1000 / 10⁶) = 110; 18 + 30
      [nodeId(9), '50x1x0', 100_000n, 18],
    ]);
    assert.equal(findRoute(g, query(9, 100_000n)), undefined, 'no route without the hint');
  });

  it('excluded channels and nodes are not used', () => {
    const g = new ChannelGraph();
    addChannel(g, '1x1x0', US, 1, 10_000_000n, {}, {});
    addChannel(g, '2x1x0', 1, 2, 10_000_000n, { base: 0 }, {});
    addChannel(g, '3x1x0', 2, 4, 10_000_000n, { base: 0 }, {});
    addChannel(g, '4x1x0', 1, 3, 10_000_000n, { base: 5000 }, {});
    addChannel(g, '5x1x0', 3, 4, 10_000_000n, { base: 5000 }, {});
    assert.deepEqual(findRoute(g, query(4, 1000n))!.hops.map((h) => h.scid), ['1x1x0', '2x1x0', '3x1x0']);
    assert.deepEqual(findRoute(g, query(4, 1000n, { excludeChannels: new Set(['3x1x0']) }))!.hops.map((h) => h.scid), ['1x1x0', '4x1x0', '5x1x0']);
    assert.deepEqual(findRoute(g, query(4, 1000n, { excludeChannels: new Set(['3x1x0/0']) }))!.hops.map((h) => h.scid), ['1x1x0', '4x1x0', '5x1x0'], 'by direction');
    assert.deepEqual(findRoute(g, query(4, 1000n, { excludeChannels: new Set(['3x1x0/1']) }))!.hops.map((h) => h.scid), ['1x1x0', '2x1x0', '3x1x0'], 'the other direction only');
    assert.deepEqual(findRoute(g, query(4, 1000n, { excludeNodes: new Set([nodeId(2)]) }))!.hops.map((h) => h.scid), ['1x1x0', '4x1x0', '5x1x0']);
    assert.equal(findRoute(g, query(4, 1000n, { excludeNodes: new Set([nodeId(2), nodeId(3)]) })), undefined);
  });

  it('the fee budget and the CLTV limit leave out routes beyond them', () => {
    const g = line();
    const r = findRoute(g, query(3, 1_234_567n))!;
    assert.ok(findRoute(g, query(3, 1_234_567n, { maxFeeMsat: r.feeMsat })));
    assert.equal(findRoute(g, query(3, 1_234_567n, { maxFeeMsat: r.feeMsat - 1n })), undefined);
    assert.ok(findRoute(g, query(3, 1_234_567n, { maxCltvDelta: r.cltvDelta })));
    assert.equal(findRoute(g, query(3, 1_234_567n, { maxCltvDelta: r.cltvDelta - 1 })), undefined);
    assert.equal(findRoute(g, query(3, 1_234_567n, { maxHops: 2 })), undefined);
  });

  it('MPP: when no single path carries the amount, parts over both paths add up to it exactly', () => {
    const g = new ChannelGraph();
    addChannel(g, '1x1x0', US, 1, 10_000_000n, {}, {});
    addChannel(g, '2x1x0', US, 2, 10_000_000n, {}, {});
    addChannel(g, '3x1x0', 1, 3, 600_000n, { base: 1000, ppm: 10 }, {});
    addChannel(g, '4x1x0', 2, 3, 600_000n, { base: 1000, ppm: 10 }, {});
    const q = query(3, 1_000_000_000n, { local: [local(1, 5_000_000_000n, '1x1x0'), local(2, 5_000_000_000n, '2x1x0')] });
    assert.equal(findRoute(g, q), undefined, 'no single path');
    const parts = planParts(g, q, { minPartMsat: 1_000_000n });
    assert.ok(parts && parts.length >= 2);
    assert.equal(
      parts.reduce((s, p) => s + p.hops[p.hops.length - 1]!.amountMsat, 0n),
      1_000_000_000n,
    );
    assert.deepEqual(new Set(parts.map((p) => p.hops[1]!.scid)), new Set(['3x1x0', '4x1x0']));
    for (const scid of ['3x1x0', '4x1x0']) {
      const through = parts.filter((p) => p.hops[1]!.scid === scid).reduce((s, p) => s + p.hops[1]!.amountMsat, 0n);
      assert.ok(through <= 600_000_000n, `${scid} carries at most its capacity`);
    }
    assert.equal(planParts(g, q, { mpp: false }), undefined, 'without MPP no plan');
    assert.equal(planParts(g, { ...q, amountMsat: 1_300_000_000n }, { minPartMsat: 1_000_000n }), undefined, 'more than both paths hold');
  });

  it('the probability penalty prefers the likelier route; weight 0 takes the cheapest', () => {
    const g = new ChannelGraph();
    addChannel(g, '1x1x0', US, 1, 10_000_000n, {}, {});
    addChannel(g, '2x1x0', 1, 2, 1_100n, { base: 0, ppm: 0 }, {}); // cheap, barely holds 1000 sat
    addChannel(g, '3x1x0', 1, 2, 10_000_000n, { base: 10, ppm: 0 }, {}); // 10 msat more, very likely
    const a = 1_000_000n;
    assert.equal(findRoute(g, query(2, a))!.hops[1]!.scid, '3x1x0');
    assert.equal(findRoute(g, query(2, a, { probabilityWeight: 0 }))!.hops[1]!.scid, '2x1x0');
    const p = findRoute(g, query(2, a, { probabilityWeight: 0 }))!.probability;
    assert.ok(Math.abs(p - (1_100_001 - 1_000_000) / 1_100_001) < 1e-12, `uniform: (c + 1 − a) / (c + 1), got ${p}`);
  });

  it('mission control: a temporary_channel_failure steers the next route away for that amount and above', () => {
    const g = new ChannelGraph();
    addChannel(g, '1x1x0', US, 1, 10_000_000n, {}, {});
    addChannel(g, '2x1x0', 1, 2, 10_000_000n, { base: 0, ppm: 0 }, {});
    addChannel(g, '3x1x0', 1, 2, 10_000_000n, { base: 50_000, ppm: 0 }, {});
    const mission = new MissionControl();
    const now = 1_000_000;
    const q = (amt: bigint) => query(2, amt, { mission, now });
    assert.equal(findRoute(g, q(5_000_000n))!.hops[1]!.scid, '2x1x0');
    const hops = findRoute(g, q(5_000_000n))!.hops;
    mission.reportAttempt(
      hops.map((h, i) => ({ from: i === 0 ? nodeId(US) : hops[i - 1]!.id, to: h.id, scid: h.scid, amountMsat: h.amountMsat })),
      { success: false, erringIndex: 1, code: 0x1007 },
      now,
    );
    assert.equal(findRoute(g, q(5_000_000n))!.hops[1]!.scid, '3x1x0', 'avoided at the failed amount');
    assert.equal(findRoute(g, q(6_000_000n))!.hops[1]!.scid, '3x1x0', 'and above');
    assert.equal(findRoute(g, q(1_000_000n))!.hops[1]!.scid, '2x1x0', 'smaller amounts still go the cheap way');
  });
});
