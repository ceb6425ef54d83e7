/**
 * The chain notifier against the in-memory chain: in-order delivery, resume from a persisted tip, reorgs
 * (disconnects down to the fork point, then connects), outages and failing listeners (no skip, no crash,
 * no unhandled rejection), a model-based property test over random mine/reorg/outage sequences; then
 * several subscriptions on one notifier: each block fetched once even at different tips, a failing
 * consumer holding up nobody. The same notifier against a real btcd, with an invalidateblock reorg:
 * btcd.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChainNotifier, MemoryTipStore, type BlockListener, type ConnectedBlock } from '../../src/chain/notifier.js';
import { watch } from './watch.js';
import { MemoryChainSource } from '../../src/chain/memory-chain.js';
import { ChainError } from '../../src/chain/errors.js';
import type { BlockTip } from '../../src/chain/chain-source.js';
import { sleep, until } from '../harness/wait.js';
import { failOnUnhandledRejections } from '../harness/guards.js';

failOnUnhandledRejections();

/** A listener keeping the chain it was told about (a stack of hashes) and the event log. */
class Recorder implements BlockListener {
  chain: string[] = [];
  events: string[] = [];
  failNext = 0;
  constructor(private readonly base: number = -1) {}
  connect(b: ConnectedBlock): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('listener failed');
    }
    assert.equal(b.height, this.base + this.chain.length + 1, 'connect height follows the tip');
    if (this.chain.length) assert.equal(b.block.header.prevHash, this.chain[this.chain.length - 1]);
    assert.equal(b.block.hash, b.hash);
    this.chain.push(b.hash);
    this.events.push(`+${b.height}`);
  }
  disconnect(tip: BlockTip): void {
    assert.equal(tip.hash, this.chain[this.chain.length - 1], 'disconnects the tip');
    assert.equal(tip.height, this.base + this.chain.length);
    this.chain.pop();
    this.events.push(`-${tip.height}`);
  }
}

describe('ChainNotifier, one subscription (in-memory chain)', () => {
  it('delivers every block from genesis in order, and resumes from the persisted tip', async () => {
    const chain = new MemoryChainSource();
    chain.mine(10);
    const store = new MemoryTipStore();
    const rec = new Recorder();
    const w = watch(chain, store, rec, { startHeight: 0 });
    const r = await w.syncOnce();
    assert.equal(r.connected, 11);
    assert.deepEqual(rec.chain, Array.from({ length: 11 }, (_, h) => chain.hashAt(h)));
    assert.deepEqual(store.tip, { height: 10, hash: chain.hashAt(10) });
    assert.equal(store.saves, 11, 'tip saved after every block');

    chain.mine(5);
    // A new watcher (a restart) with the same store delivers exactly the 5 new blocks.
    const rec2 = new Recorder(10);
    rec2.chain = [];
    const w2 = watch(chain, store, { connect: (b) => void rec2.events.push(`+${b.height}`), disconnect: () => assert.fail('no reorg') });
    assert.equal((await w2.syncOnce()).connected, 5);
    assert.deepEqual(rec2.events, ['+11', '+12', '+13', '+14', '+15']);
    assert.equal((await w2.syncOnce()).connected, 0);
  });

  it('without a stored tip and startHeight, adopts the best block and delivers only new ones', async () => {
    const chain = new MemoryChainSource();
    chain.mine(4);
    const store = new MemoryTipStore();
    const events: number[] = [];
    const w = watch(chain, store, { connect: (b) => void events.push(b.height), disconnect: () => undefined });
    await w.syncOnce();
    assert.deepEqual(store.tip, { height: 4, hash: chain.hashAt(4) });
    chain.mine(2);
    await w.syncOnce();
    assert.deepEqual(events, [5, 6]);
  });

  it('startHeight above the chain waits for it', async () => {
    const chain = new MemoryChainSource();
    const events: number[] = [];
    const w = watch(chain, new MemoryTipStore(), { connect: (b) => void events.push(b.height), disconnect: () => undefined }, { startHeight: 5 });
    await w.syncOnce();
    assert.deepEqual(events, []);
    chain.mine(6);
    await w.syncOnce();
    assert.deepEqual(events, [5, 6]);
  });

  it('reorg: disconnects to the fork point, then connects the new branch', async () => {
    const chain = new MemoryChainSource();
    chain.mine(10);
    const rec = new Recorder();
    const w = watch(chain, new MemoryTipStore(), rec, { startHeight: 0 });
    await w.syncOnce();
    rec.events = [];
    chain.reorg(3, 5); // fork at 7, new tip 12
    const r = await w.syncOnce();
    assert.deepEqual(rec.events, ['-10', '-9', '-8', '+8', '+9', '+10', '+11', '+12']);
    assert.equal(r.disconnected, 3);
    assert.equal(r.connected, 5);
    assert.deepEqual(rec.chain, Array.from({ length: 13 }, (_, h) => chain.hashAt(h)));
  });

  it('reorg to a shorter chain, and a reorg found after a restart (parent from the backend)', async () => {
    const chain = new MemoryChainSource();
    chain.mine(10);
    const store = new MemoryTipStore();
    const rec = new Recorder();
    await watch(chain, store, rec, { startHeight: 0 }).syncOnce();
    chain.reorg(4, 2); // new tip 8 < old 10
    const rec2 = rec; // same logical consumer, new watcher instance: nothing in memory
    rec2.events = [];
    const w2 = watch(chain, store, rec2);
    await w2.syncOnce();
    assert.deepEqual(rec2.events, ['-10', '-9', '-8', '-7', '+7', '+8']);
    assert.ok((chain.calls.get('getblockheader') ?? 0) >= 4, 'parents of stale blocks fetched from the backend');
    assert.deepEqual(rec2.chain, Array.from({ length: 9 }, (_, h) => chain.hashAt(h)));
  });

  it('backend down: reports a typed error, keeps its tip, recovers', async () => {
    const chain = new MemoryChainSource();
    chain.mine(3);
    const rec = new Recorder();
    const errors: Error[] = [];
    const w = watch(chain, new MemoryTipStore(), rec, { startHeight: 0, pollIntervalMs: 5, maxBackoffMs: 20, onError: (e) => errors.push(e) });
    await w.syncOnce();
    chain.down = new ChainError('UNREACHABLE', 'chain: getblockcount: backend 127.0.0.1:1 unreachable: ECONNREFUSED');
    w.start();
    // Stopped whatever happens: a failed assertion must not leave the poll timers holding the file open.
    try {
      // Polls every 5 ms, backing off to 20 ms: several failures soon (waited for, as a loaded machine is slow).
      await until(() => errors.length >= 2, { what: `errors reported (${errors.length})`, timeoutMs: 5000, intervalMs: 5 });
      assert.ok(errors.every((e) => e instanceof ChainError && e.code === 'UNREACHABLE'));
      chain.mine(4);
      chain.down = null;
      await until(() => rec.chain.length >= 8, { what: 'eight blocks after the outage', timeoutMs: 5000, intervalMs: 5 });
    } finally {
      await w.stop();
    }
    assert.deepEqual(rec.chain, Array.from({ length: 8 }, (_, h) => chain.hashAt(h)));
  });

  it('a failing listener gets the same block again (no skip)', async () => {
    const chain = new MemoryChainSource();
    chain.mine(5);
    const store = new MemoryTipStore();
    const rec = new Recorder();
    const w = watch(chain, store, rec, { startHeight: 0 });
    rec.failNext = 1;
    await assert.rejects(w.syncOnce(), /listener failed/);
    assert.equal(store.tip, null, 'nothing saved before the listener succeeded');
    await w.syncOnce();
    assert.deepEqual(rec.chain, Array.from({ length: 6 }, (_, h) => chain.hashAt(h)));
  });

  it('a corrupt block from the backend is an error, not a skip', async () => {
    const chain = new MemoryChainSource();
    chain.mine(2);
    const rec = new Recorder();
    const w = watch(chain, new MemoryTipStore(), rec, { startHeight: 0 });
    const orig = chain.getRawBlock.bind(chain);
    chain.getRawBlock = async (h) => (h === chain.hashAt(1) ? (await orig(h)).subarray(0, 100) : orig(h));
    await assert.rejects(w.syncOnce(), (e: unknown) => e instanceof ChainError && e.code === 'BAD_BLOCK');
    assert.equal(rec.chain.length, 1);
    chain.getRawBlock = orig;
    await w.syncOnce();
    assert.equal(rec.chain.length, 3);
  });

  it('property: after any mine/reorg/outage sequence the delivered chain equals the backend main chain', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('mine' as const), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('reorg' as const), depth: fc.integer({ min: 1, max: 5 }), n: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('down' as const) }),
      fc.record({ kind: fc.constant('sync' as const) }),
      fc.record({ kind: fc.constant('restart' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const chain = new MemoryChainSource();
        chain.mine(6);
        const store = new MemoryTipStore();
        const rec = new Recorder();
        let w = watch(chain, store, rec, { startHeight: 0 });
        for (const o of ops) {
          if (o.kind === 'mine') chain.mine(o.n);
          else if (o.kind === 'reorg') chain.reorg(Math.min(o.depth, chain.height), o.n);
          else if (o.kind === 'restart') w = watch(chain, store, rec, { startHeight: 0 });
          else if (o.kind === 'down') {
            chain.down = new ChainError('UNREACHABLE', 'down');
            await assert.rejects(w.syncOnce(), ChainError);
            chain.down = null;
          } else await w.syncOnce();
        }
        await w.syncOnce();
        assert.deepEqual(rec.chain, Array.from({ length: chain.height + 1 }, (_, h) => chain.hashAt(h)));
        assert.deepEqual(store.tip, { height: chain.height, hash: chain.hashAt(chain.height) });
      }),
      { numRuns: Number(process.env.CHAIN_PROPERTY_RUNS ?? 200) },
    );
  });
});

describe('ChainNotifier, several subscriptions', () => {
  const mainChain = (chain: MemoryChainSource, from: number) => Array.from({ length: chain.height + 1 - from }, (_, i) => chain.hashAt(from + i));

  it('consumers at different tips share every fetch: each block is fetched once', async () => {
    const chain = new MemoryChainSource();
    chain.mine(10);
    const notifier = new ChainNotifier(chain);
    const fromGenesis = new Recorder();
    const fromFive = new Recorder(4);
    const atTip = new Recorder(10);
    const subs = [
      notifier.subscribe(new MemoryTipStore(), fromGenesis, { startHeight: 0 }),
      notifier.subscribe(new MemoryTipStore(), fromFive, { startHeight: 5 }),
      notifier.subscribe(new MemoryTipStore(), atTip),
    ];
    const r = await subs[1]!.syncOnce();
    assert.equal(r.connected, 6);
    assert.deepEqual(fromGenesis.chain, mainChain(chain, 0));
    assert.deepEqual(fromFive.chain, mainChain(chain, 5));
    assert.deepEqual(atTip.chain, []);
    assert.equal(chain.calls.get('getblock'), 11, 'blocks 0…10 fetched once each');
    chain.mine(3);
    await subs[2]!.syncOnce();
    for (const [rec, from] of [[fromGenesis, 0], [fromFive, 5], [atTip, 11]] as const) assert.deepEqual(rec.chain, mainChain(chain, from));
    assert.equal(chain.calls.get('getblock'), 14, 'the three new blocks fetched once for three consumers');

    chain.reorg(2, 3); // fork at 11, new tip 14
    await subs[0]!.syncOnce();
    for (const [rec, from] of [[fromGenesis, 0], [fromFive, 5], [atTip, 11]] as const) assert.deepEqual(rec.chain, mainChain(chain, from));
    assert.deepEqual(atTip.events.slice(-5), ['-13', '-12', '+12', '+13', '+14']);
    assert.equal(chain.calls.get('getblock'), 17, 'the new branch fetched once');
    assert.equal(chain.calls.get('getblockheader') ?? 0, 0, 'parents of the stale blocks known from their delivery');
  });

  it('a failing consumer holds up nobody and catches up later', async () => {
    const chain = new MemoryChainSource();
    chain.mine(4);
    const notifier = new ChainNotifier(chain, { pollIntervalMs: 5, maxBackoffMs: 1000 });
    const good = new Recorder();
    const bad = new Recorder();
    const errors: Error[] = [];
    const goodSub = notifier.subscribe(new MemoryTipStore(), good, { startHeight: 0 });
    const badSub = notifier.subscribe(new MemoryTipStore(), bad, { startHeight: 0, onError: (e) => errors.push(e) });
    bad.failNext = 1_000_000;
    await assert.rejects(badSub.syncOnce(), /listener failed/);
    assert.deepEqual(good.chain, mainChain(chain, 0), 'the other consumer got every block in the same pass');
    notifier.start();
    chain.mine(3);
    await until(() => good.chain.length >= 8, { what: 'eight blocks at the good consumer', timeoutMs: 2000, intervalMs: 5 });
    assert.deepEqual(good.chain, mainChain(chain, 0), 'new blocks keep coming while the other fails');
    assert.ok(errors.length >= 1, 'the failure is reported to its consumer');
    bad.failNext = 0;
    await badSub.syncOnce();
    assert.deepEqual(bad.chain, mainChain(chain, 0));
    assert.equal(goodSub.tip?.height, chain.height);
    await notifier.stop();
  });

  it('stop() waits for the block being delivered and ends delivery to that consumer', async () => {
    const chain = new MemoryChainSource();
    chain.mine(3);
    const notifier = new ChainNotifier(chain);
    const store = new MemoryTipStore();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    const sub = notifier.subscribe(store, {
      connect: async (b) => {
        seen.push(b.height);
        if (b.height === 1) await gate;
      },
      disconnect: () => undefined,
    }, { startHeight: 0 });
    const pass = sub.syncOnce();
    await until(() => seen.length >= 2, { what: 'block 1 in delivery', intervalMs: 1 });
    let stopped = false;
    const stopping = sub.stop().then(() => (stopped = true));
    await sleep(10);
    assert.equal(stopped, false, 'stop waits for the listener');
    release();
    await stopping;
    assert.deepEqual(store.tip, { height: 1, hash: chain.hashAt(1) }, 'the block in progress was fully handled');
    await pass;
    assert.deepEqual(seen, [0, 1], 'nothing delivered after stop');
    await assert.rejects(sub.syncOnce(), /stopped/);
  });
});
