/**
 * Mission control (routing/mission.ts): what each attempt's attributed failure teaches — a
 * temporary_channel_failure bounds that direction's liquidity below the failed amount, a policy or
 * permanent failure closes it for every amount, node-level failures penalise the node, the directions
 * before the erring node and every direction of a success are marked as having passed — and how that
 * knowledge fades with the half-life.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureCode } from '../../src/onion/failure.js';
import { directionOf, MissionControl, pairKey, type AttemptHop, type MissionChanges } from '../../src/routing/mission.js';
import { uniformProbability } from '../../src/routing/pathfind.js';
import { nodeId } from './fixtures.js';

const H = 60 * 60 * 1000;
const route: AttemptHop[] = [
  { from: nodeId(0), to: nodeId(1), scid: '1x1x0', amountMsat: 3_000_000n },
  { from: nodeId(1), to: nodeId(2), scid: '2x1x0', amountMsat: 2_000_000n },
  { from: nodeId(2), to: nodeId(3), scid: '3x1x0', amountMsat: 1_000_000n },
];
const CAP = 10_000_000;

describe('mission control', () => {
  it('a temporary_channel_failure at a hop bounds its outgoing direction; the hops before it passed', () => {
    const m = new MissionControl();
    m.reportAttempt(route, { success: false, erringIndex: 2, code: FailureCode.TEMPORARY_CHANNEL_FAILURE }, 0);
    assert.deepEqual(m.bounds(pairKey('3x1x0', 0), CAP, 0), { lo: 0, hi: 1_000_000 });
    assert.deepEqual(m.bounds(pairKey('2x1x0', 0), CAP, 0), { lo: 2_000_000, hi: CAP + 1 });
    assert.deepEqual(m.bounds(pairKey('3x1x0', 1), CAP, 0), { lo: 0, hi: CAP + 1 }, 'the other direction is untouched');
    const { lo, hi } = m.bounds(pairKey('3x1x0', 0), CAP, 0);
    assert.equal(uniformProbability(1_000_000, lo, hi), 0, 'the failed amount and above');
    assert.ok(uniformProbability(500_000, lo, hi) > 0.49);
  });

  it('decays with the half-life: after one half-life the bounds are halfway back to the prior', () => {
    const m = new MissionControl({ halfLifeMs: H });
    m.reportFailure('9x1x0/0', 1_000_000, 0);
    m.reportSuccess('8x1x0/0', 4_000_000, 0);
    assert.deepEqual(m.bounds('9x1x0/0', CAP, H), { lo: 0, hi: 1_000_000 + (CAP + 1 - 1_000_000) / 2 });
    assert.deepEqual(m.bounds('8x1x0/0', CAP, H), { lo: 2_000_000, hi: CAP + 1 });
    assert.ok(Math.abs(m.bounds('9x1x0/0', CAP, 20 * H).hi - (CAP + 1)) < 20, 'forgotten after many half-lives');
    // Unknown capacity (a route hint): the failure bound doubles each half-life.
    assert.equal(m.bounds('9x1x0/0', NaN, 2 * H).hi, 4_000_000);
  });

  it('policy and permanent channel failures close the direction for every amount; node failures penalise the node', () => {
    const m = new MissionControl({ halfLifeMs: H });
    m.reportAttempt(route, { success: false, erringIndex: 1, code: FailureCode.UNKNOWN_NEXT_PEER }, 0);
    assert.equal(m.bounds(pairKey('2x1x0', 0), CAP, 0).hi, 0);
    m.reportAttempt(route, { success: false, erringIndex: 2, code: FailureCode.TEMPORARY_NODE_FAILURE }, 0);
    assert.equal(m.nodeFactor(nodeId(2), 0), 0);
    assert.equal(m.nodeFactor(nodeId(2), H), 0.5);
    assert.equal(m.nodeFactor(nodeId(3), 0), 1);
    m.reportAttempt(route, { success: false, erringIndex: 3 }, 0);
    assert.deepEqual(m.nodes().map((n) => n.node).sort(), [nodeId(2)], 'a failure at the payee penalises nothing');
  });

  it('a success raises the lower bound; a later failure below it lowers it again', () => {
    const m = new MissionControl();
    m.reportAttempt(route, { success: true }, 0);
    assert.deepEqual(route.map((h) => m.bounds(pairKey(h.scid, 0), CAP, 0).lo), [3_000_000, 2_000_000, 1_000_000]);
    m.reportFailure(pairKey('1x1x0', 0), 2_500_000, 0);
    assert.deepEqual(m.bounds(pairKey('1x1x0', 0), CAP, 0), { lo: 2_499_999, hi: 2_500_000 });
    m.reset();
    assert.deepEqual(m.pairs(), []);
  });
});

describe('mission control written as it learns', () => {
  it('learn resolves after the sink has the changes; a failing sink is reported, never thrown, and the knowledge stays', async () => {
    const saved: MissionChanges[] = [];
    let fail = false;
    const errors: string[] = [];
    const m = new MissionControl({
      sink: {
        save: async (c) => {
          await new Promise((r) => setTimeout(r, 5));
          if (fail) throw new Error('disk full');
          saved.push(c);
        },
        reset: async () => undefined,
      },
      onError: (e) => errors.push(e.message),
    });
    await m.learn(route, { success: false, erringIndex: 2, code: FailureCode.TEMPORARY_CHANNEL_FAILURE }, 0);
    assert.equal(saved.length, 1, 'written before learn resolved');
    assert.deepEqual(saved[0]!.pairs.map((p) => p.pair).sort(), [pairKey('1x1x0', directionOf(nodeId(0), nodeId(1))), pairKey('2x1x0', directionOf(nodeId(1), nodeId(2))), pairKey('3x1x0', directionOf(nodeId(2), nodeId(3)))].sort());
    const failed = saved[0]!.pairs.find((p) => p.pair.startsWith('3x1x0'))!;
    assert.deepEqual([failed.from, failed.to, failed.failAmtMsat], [nodeId(2), nodeId(3), 1_000_000n]);
    fail = true;
    await m.learn(route, { success: false, erringIndex: 1 }, 1);
    assert.deepEqual(errors, ['disk full']);
    assert.deepEqual(m.nodes().map((n) => n.node), [nodeId(1)], 'kept in memory');
  });

  it('nodePairs: the channels of one node pair merged, LND’s view; a direction without node ids placed by the graph', () => {
    const m = new MissionControl();
    m.reportAttempt([{ from: nodeId(0), to: nodeId(1), scid: '1x1x0', amountMsat: 5000n }], { success: true }, 10);
    m.reportAttempt([{ from: nodeId(0), to: nodeId(1), scid: '1x2x0', amountMsat: 7000n }], { success: true }, 20);
    m.reportAttempt([{ from: nodeId(0), to: nodeId(1), scid: '1x1x0', amountMsat: 1n }, { from: nodeId(1), to: nodeId(2), scid: '2x1x0', amountMsat: 9000n }], { success: false, erringIndex: 1, code: FailureCode.TEMPORARY_CHANNEL_FAILURE }, 30);
    m.reportFailure('9x9x9/1', 4000, 40);
    const pairs = m.nodePairs((p) => (p === '9x9x9/1' ? { from: nodeId(3), to: nodeId(2) } : undefined));
    const get = (a: number, b: number) => pairs.find((p) => p.from === nodeId(a) && p.to === nodeId(b));
    assert.deepEqual(get(0, 1), { from: nodeId(0), to: nodeId(1), successTime: 30, successAmtMsat: 4999n }, 'the latest success of either channel (5000 decayed a little: it is the larger)');
    assert.deepEqual(get(1, 2), { from: nodeId(1), to: nodeId(2), failTime: 30, failAmtMsat: 9000n });
    assert.deepEqual(get(3, 2), { from: nodeId(3), to: nodeId(2), failTime: 40, failAmtMsat: 4000n });
    assert.equal(pairs.length, 3);
  });
});
