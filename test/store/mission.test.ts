/**
 * Mission control's repository (store/mission.ts, migration 0015) on both backends, driven through
 * routing/mission.ts as the node drives it: what an attempt taught is on disk once `learn` resolves (a
 * reopen — as after kill -9 — reads it back exactly: amounts, times, node ids, node penalties), the bound
 * keeps the most recently updated directions (on disk as in memory, and at load), and a reset empties it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FailureCode } from '../../src/onion/failure.js';
import { MissionControl, pairKey, type AttemptHop, type MissionPair } from '../../src/routing/mission.js';
import { openStore } from '../../src/store/database.js';
import { forEachBackend } from './backends.js';

const node = (i: number): string => `02${i.toString(16).padStart(2, '0').repeat(32)}`;
const U64_MAX = (1n << 64n) - 1n;
/** A payment attempt's route: us → 1 → 2 → 3. */
const route: AttemptHop[] = [
  { from: node(0), to: node(1), scid: '100x1x0', amountMsat: 3_000_000n },
  { from: node(1), to: node(2), scid: '200x1x0', amountMsat: 2_000_000n },
  { from: node(2), to: node(3), scid: '300x1x0', amountMsat: 1_000_000n },
];
const T = 1_765_000_000_000;

forEachBackend('mission control repository', ({ location }) => {
  it('what an attempt taught is on disk when learn resolves; a reopen loads it exactly, and decay goes on from the stored times', async () => {
    const at = await location();
    const store = await openStore(at);
    const m = new MissionControl({ sink: store.mission });
    await m.learn(route, { success: false, erringIndex: 2, code: FailureCode.TEMPORARY_CHANNEL_FAILURE }, T);
    await m.learn(route.slice(0, 2), { success: false, erringIndex: 1, code: FailureCode.TEMPORARY_NODE_FAILURE }, T + 5);
    await m.learn(route.slice(0, 1), { success: true }, T + 7);
    const byPair = (ps: MissionPair[]): MissionPair[] => [...ps].sort((a, b) => (a.pair < b.pair ? -1 : 1));
    const before = { pairs: byPair(m.pairs()), nodes: m.nodes() };
    await store.close();

    const again = await openStore(at);
    const n = new MissionControl({ sink: again.mission });
    n.load(await again.mission.load(n.maxEntries));
    assert.deepEqual({ pairs: byPair(n.pairs()), nodes: n.nodes() }, before);
    const failed = n.pairs().find((p) => p.pair === pairKey('300x1x0', 0))!;
    assert.deepEqual([failed.from, failed.to, failed.failAmtMsat, failed.failTime, failed.successAmtMsat], [node(2), node(3), 1_000_000n, T, undefined]);
    assert.deepEqual(n.nodes(), [{ node: node(1), failTime: T + 5 }]);
    assert.equal(n.pairs().at(-1)!.pair, pairKey('100x1x0', 0), 'the latest update last');
    // Decay from the stored time: one half-life after the failure the bound is halfway back to the capacity.
    const cap = 9_000_000;
    assert.deepEqual(n.bounds(pairKey('300x1x0', 0), cap, T + n.halfLifeMs), m.bounds(pairKey('300x1x0', 0), cap, T + m.halfLifeMs));
    assert.equal(n.bounds(pairKey('300x1x0', 0), cap, T + n.halfLifeMs).hi, 1_000_000 + (cap + 1 - 1_000_000) / 2);
    await again.close();
  });

  it('u64 amounts survive exactly', async () => {
    const at = await location();
    const store = await openStore(at);
    await store.mission.save({ pairs: [{ pair: '1x1x1/1', from: node(5), to: node(4), failAmtMsat: U64_MAX, failTime: T, successAmtMsat: U64_MAX - 1n, successTime: T + 1 }], nodes: [], droppedPairs: [], droppedNodes: [] });
    await store.close();
    const again = await openStore(at);
    const { pairs } = await again.mission.load(10);
    assert.deepEqual(pairs, [{ pair: '1x1x1/1', from: node(5), to: node(4), failAmtMsat: U64_MAX, failTime: T, successAmtMsat: U64_MAX - 1n, successTime: T + 1 }]);
    await again.close();
  });

  it('bounded: the least recently updated directions and nodes go, on disk as in memory; load trims to its bound', async () => {
    const at = await location();
    const store = await openStore(at);
    const m = new MissionControl({ sink: store.mission, maxEntries: 3 });
    for (let i = 0; i < 5; i++) {
      await m.learn([{ from: node(0), to: node(10 + i), scid: `${10 + i}x1x0`, amountMsat: 1000n }], { success: true }, T + i);
    }
    // An older direction touched again moves to the end instead of going.
    await m.learn([{ from: node(0), to: node(12), scid: '12x1x0', amountMsat: 2000n }], { success: true }, T + 10);
    await m.learn([{ from: node(0), to: node(15), scid: '15x1x0', amountMsat: 1000n }], { success: true }, T + 11);
    for (let i = 0; i < 4; i++) await m.learn([{ from: node(0), to: node(1), scid: '1x1x0', amountMsat: 1n }, { from: node(1), to: node(20 + i), scid: `${20 + i}x1x0`, amountMsat: 1n }], { success: false, erringIndex: 1, code: FailureCode.TEMPORARY_NODE_FAILURE }, T + 20 + i);
    const inMemory = m.pairs().map((p) => p.pair);
    assert.equal(inMemory.length, 3);
    assert.deepEqual(m.nodes().map((x) => x.node), [node(1)]);
    const onDisk = await store.mission.load(100);
    assert.deepEqual(onDisk.pairs.map((p) => p.pair), inMemory, 'the same directions on disk, in the same order');
    assert.deepEqual(onDisk.nodes.map((x) => x.node), [node(1)]);
    const trimmed = await store.mission.load(2);
    assert.deepEqual(trimmed.pairs.map((p) => p.pair), inMemory.slice(1), 'load keeps the latest');
    assert.equal((await store.mission.load(100)).pairs.length, 2, 'and deletes the rest');
    await store.close();
  });

  it('reset empties memory and disk', async () => {
    const at = await location();
    const store = await openStore(at);
    const m = new MissionControl({ sink: store.mission });
    await m.learn(route, { success: false, erringIndex: 1 }, T);
    assert.ok((await store.mission.load(100)).pairs.length > 0);
    await m.reset();
    assert.deepEqual([m.pairs(), m.nodes()], [[], []]);
    assert.deepEqual(await store.mission.load(100), { pairs: [], nodes: [] });
    await store.close();
  });
});
