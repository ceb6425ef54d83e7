/**
 * Property tests of the pathfinder on random small graphs (random channels, capacities, policies —
 * some directions missing or disabled, some htlc limits binding — random own channels and amounts):
 * - any route found is valid against the graph: each hop's channel and direction exist and are enabled,
 *   its amount within htlc_minimum/maximum and capacity, each node's incoming amount and CLTV exactly the
 *   outgoing ones plus its BOLT 7 fee and delta, our first hop within its spendable balance;
 * - with the probability weight and risk factor at zero it is a fee optimiser: an exhaustive search over
 *   every simple path never finds a cheaper route, and when no htlc_minimum can bind (the fee grows with
 *   the amount, so the search's labels are exact) it finds the same fee and a route whenever one exists.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChannelGraph } from '../../src/gossip/graph.js';
import { scidToString } from '../../src/gossip/messages.js';
import { findRoute, forwardFee, type FoundRoute, type LocalChannel, type RouteQuery } from '../../src/routing/pathfind.js';
import { addChannel, nodeId } from './fixtures.js';

const policyArb = (minBinding: boolean) =>
  fc.option(
    fc.record({
      base: fc.integer({ min: 0, max: 5000 }),
      ppm: fc.integer({ min: 0, max: 20_000 }),
      cltv: fc.integer({ min: 0, max: 200 }),
      min: minBinding ? fc.bigInt({ min: 1n, max: 3_000_000n }) : fc.constant(1n),
      max: fc.option(fc.bigInt({ min: 1n, max: 5_000_000n }), { nil: undefined }),
      disabled: fc.integer({ min: 0, max: 9 }).map((x) => x < 2),
    }),
    { nil: undefined, freq: 6 },
  );

const caseArb = (minBinding: boolean) =>
  fc.record({
    nodes: fc.integer({ min: 3, max: 7 }),
    channels: fc.array(fc.record({ a: fc.nat(6), b: fc.nat(6), cap: fc.bigInt({ min: 1000n, max: 10_000n }), ab: policyArb(minBinding), ba: policyArb(minBinding) }), { minLength: 2, maxLength: 14 }),
    local: fc.array(fc.record({ peer: fc.integer({ min: 1, max: 6 }), spend: fc.bigInt({ min: 1n, max: 8_000_000n }) }), { minLength: 1, maxLength: 3 }),
    target: fc.integer({ min: 1, max: 6 }),
    amount: fc.bigInt({ min: 1n, max: 4_000_000n }),
  });

type Case = ReturnType<typeof caseArb> extends fc.Arbitrary<infer T> ? T : never;

function build(c: Case): { g: ChannelGraph; q: RouteQuery } {
  const g = new ChannelGraph(4);
  c.channels.forEach((ch, i) => {
    const a = ch.a % c.nodes;
    const b = ch.b % c.nodes;
    if (a === b) return;
    addChannel(g, `${i + 10}x1x0`, a, b, ch.cap, ch.ab, ch.ba);
  });
  const local: LocalChannel[] = c.local.map((l, i) => ({ channelId: `c${i}`, scid: `${i + 1}x9x0`, peer: nodeId(l.peer % c.nodes || 1), spendableMsat: l.spend, htlcMinimumMsat: 1n }));
  const q: RouteQuery = { source: nodeId(0), target: nodeId(c.target % c.nodes || 1), amountMsat: c.amount, finalCltvDelta: 9, local, probabilityWeight: 0, riskFactor: 0 };
  return { g, q };
}

/** Checks `r` against the graph and the query; returns nothing, throws on the first violation. */
function assertValid(g: ChannelGraph, q: RouteQuery, r: FoundRoute): void {
  const hops = r.hops;
  assert.ok(hops.length > 0);
  const last = hops[hops.length - 1]!;
  assert.deepEqual([last.id, last.amountMsat, last.cltvDelta], [q.target, q.amountMsat, q.finalCltvDelta]);
  const first = q.local!.find((c) => c.channelId === hops[0]!.channelId);
  assert.ok(first && first.peer === hops[0]!.id && first.scid === hops[0]!.scid && hops[0]!.amountMsat <= first.spendableMsat);
  for (let i = 1; i < hops.length; i++) {
    const [prev, h] = [hops[i - 1]!, hops[i]!];
    const ch = g.channels().find((c) => scidToString(c.scid) === h.scid);
    assert.ok(ch, `channel ${h.scid} exists`);
    const dir = prev.id === ch.node1 ? 0 : 1;
    assert.deepEqual([dir === 0 ? ch.node2 : ch.node1, h.direction], [h.id, dir], 'hop follows the channel in its direction');
    const p = ch.policies[dir];
    assert.ok(p && !p.disabled, 'enabled direction with an update');
    assert.ok(h.amountMsat >= p.htlcMinimumMsat && h.amountMsat <= p.htlcMaximumMsat && h.amountMsat <= ch.capacitySat * 1000n, 'within htlc limits and capacity');
    assert.equal(prev.amountMsat, h.amountMsat + BigInt(p.feeBaseMsat) + (h.amountMsat * BigInt(p.feeProportionalMillionths)) / 1_000_000n, 'BOLT 7 fee');
    assert.equal(prev.cltvDelta, h.cltvDelta + p.cltvExpiryDelta, 'CLTV delta');
  }
  assert.deepEqual([r.amountMsat, r.feeMsat, r.cltvDelta], [hops[0]!.amountMsat, hops[0]!.amountMsat - q.amountMsat, hops[0]!.cltvDelta]);
}

/** The cheapest fee over every simple path (exhaustive), or undefined when no path is valid. */
function bruteForceFee(g: ChannelGraph, q: RouteQuery): bigint | undefined {
  const channels = g.channels();
  let best: bigint | undefined;
  const walk = (path: { to: string; fee: (amt: number) => number | undefined }[], at: string, seen: Set<string>): void => {
    if (at === q.target) {
      // Backwards from the payee: each forwarding hop checked and priced at the amount it carries.
      let amt = Number(q.amountMsat);
      for (let i = path.length - 1; i >= 0; i--) {
        const next = path[i]!.fee(amt);
        if (next === undefined) return;
        amt = next;
      }
      const fee = BigInt(amt) - q.amountMsat;
      if (best === undefined || fee < best) best = fee;
      return;
    }
    for (const c of channels) {
      for (const dir of [0, 1] as const) {
        const [from, to] = dir === 0 ? [c.node1, c.node2] : [c.node2, c.node1];
        const p = c.policies[dir];
        if (from !== at || seen.has(to) || !p || p.disabled) continue;
        const fee = (amt: number): number | undefined =>
          amt < Number(p.htlcMinimumMsat) || amt > Number(p.htlcMaximumMsat) || amt > Number(c.capacitySat) * 1000 ? undefined : amt + forwardFee(p.feeBaseMsat, p.feeProportionalMillionths, amt);
        walk([...path, { to, fee }], to, new Set([...seen, to]));
      }
    }
  };
  for (const l of q.local!) {
    walk([{ to: l.peer, fee: (amt) => (amt <= Number(l.spendableMsat) ? amt : undefined) }], l.peer, new Set([q.source, l.peer]));
  }
  return best;
}

describe('pathfinder properties', () => {
  it('every route found is valid; with htlc minimums binding, no simple path is cheaper', () => {
    fc.assert(
      fc.property(caseArb(true), (c) => {
        const { g, q } = build(c);
        const r = findRoute(g, q);
        const brute = bruteForceFee(g, q);
        if (r) {
          assertValid(g, q, r);
          assert.ok(brute !== undefined && brute <= r.feeMsat, `brute ${brute} ≤ ours ${r.feeMsat}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('probability weight 0, no binding minimum: the exhaustive fee optimum equals ours, and a route is found whenever one exists', () => {
    fc.assert(
      fc.property(caseArb(false), (c) => {
        const { g, q } = build(c);
        const r = findRoute(g, q);
        const brute = bruteForceFee(g, q);
        assert.equal(r?.feeMsat, brute);
        if (r) assertValid(g, q, r);
      }),
      { numRuns: 400 },
    );
  });

  it('with the probability weight on, routes stay valid and never cost less in fees than the optimum', () => {
    fc.assert(
      fc.property(caseArb(false), (c) => {
        const { g, q } = build(c);
        const r = findRoute(g, { ...q, probabilityWeight: 1, riskFactor: 10 });
        if (r) {
          assertValid(g, q, r);
          assert.ok(bruteForceFee(g, q)! <= r.feeMsat);
        }
      }),
      { numRuns: 300 },
    );
  });
});
