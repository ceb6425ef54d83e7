/**
 * option_simple_close between whole anode nodes (SQLite, TCP, btcd regtest):
 *  - both offer it: the close goes by closing_complete/closing_sig, the transaction btcd mines is one of
 *    those the two sides proposed, both channels end ONCHAIN and B's balance reaches its wallet;
 *  - one side started with --dev-no-simple-close: the legacy closing_signed negotiation;
 *  - the connection dropped at each point of the close (just after shutdown, once closing_complete is
 *    under way, after a transaction was signed) and reconnected: the close completes on chain, 10 times each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, walletBalance, type TestNode } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';

const btcd = useBtcd('anode ↔ anode option_simple_close');

const PUSH_MSAT = 100_000_000n;
const RUNS = 10;

async function openChannel(a: TestNode, b: TestNode): Promise<[Channel, Channel]> {
  await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port).catch(() => undefined);
  const opened = await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, pushMsat: PUSH_MSAT, feeratePerKw: 1000 });
  await until(() => b.channels.list().some((c) => c.id === opened.channelId), { what: 'B knows the channel', timeoutMs: 30_000 });
  const ca = a.channels.list().find((c) => c.id === opened.channelId)!;
  const cb = b.channels.list().find((c) => c.id === opened.channelId)!;
  await btcd.node.mineUntil(() => ca.data.state === 'CHANNELD_NORMAL' && cb.data.state === 'CHANNELD_NORMAL', 'both NORMAL');
  return [ca, cb];
}

/** Mines until both sides saw the funding output spent by a mutual close; returns the spending txid. */
async function closedOnChain(ca: Channel, cb: Channel): Promise<string> {
  await btcd.node.mineUntil(() => ca.data.state === 'ONCHAIN' && cb.data.state === 'ONCHAIN', 'closed on chain', { maxBlocks: 10 });
  assert.equal(ca.data.onchain!.kind, 'mutual');
  assert.equal(cb.data.onchain!.kind, 'mutual');
  assert.equal(ca.data.onchain!.spendTxid, cb.data.onchain!.spendTxid);
  return ca.data.onchain!.spendTxid;
}

describe('option_simple_close on btcd regtest', { skip: btcd.skip, timeout: 600_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  let legacy: TestNode;
  before(async () => {
    if (btcd.skip) return;
    a = await startNode(btcd.node);
    b = await startNode(btcd.node);
    legacy = await startNode(btcd.node, { extra: ['--dev-no-simple-close'] });
    await fundWallet(btcd.node, a, 10_000_000n);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await legacy?.stop();
  });

  it('both offer it: closing_complete/closing_sig, one of the proposed transactions is mined', async () => {
    const [ca, cb] = await openChannel(a, b);
    const before = await walletBalance(b);
    const r = await a.channels.close(ca, 60);
    assert.equal(r.type, 'mutual');
    const spend = await closedOnChain(ca, cb);
    for (const c of [ca, cb]) {
      assert.ok(c.data.closing!.simple, 'negotiated by option_simple_close');
      assert.equal(c.data.closing!.ourFeeSat, undefined, 'no closing_signed');
      assert.ok(c.data.closing!.simple.txids.includes(spend), 'the mined transaction is one the two sides proposed');
    }
    // B gets its whole balance (A's transaction) or its balance less the fee it chose (its own).
    const got = (await until(async () => { const x = (await walletBalance(b)) - before; return x > 0n ? x : undefined; }, { what: 'B’s output in its wallet', timeoutMs: 30_000 }))!;
    assert.ok(got <= PUSH_MSAT / 1000n && got > PUSH_MSAT / 1000n - 2_000n, `B received ${got} sat`);
  });

  it('one side without it: the legacy closing_signed negotiation', async () => {
    const [ca, cl] = await openChannel(a, legacy);
    const r = await a.channels.close(ca, 60);
    assert.equal(r.type, 'mutual');
    const spend = await closedOnChain(ca, cl);
    for (const c of [ca, cl]) {
      assert.equal(c.data.closing!.simple, undefined, 'no closing_complete');
      assert.equal(c.data.closing!.txid, spend);
    }
  });

  const points: [string, (ca: Channel, cb: Channel) => boolean][] = [
    ['just after shutdown', () => true],
    ['once closing_complete is under way', (ca, cb) => ca.data.state === 'CLOSINGD_SIGEXCHANGE' || cb.data.state === 'CLOSINGD_SIGEXCHANGE'],
    ['after a transaction was signed', (ca, cb) => ca.data.state === 'CLOSINGD_COMPLETE' || cb.data.state === 'CLOSINGD_COMPLETE'],
  ];
  for (const [name, at] of points) {
    it(`a disconnection ${name}, then a reconnection: the close completes ${RUNS} times out of ${RUNS}`, async () => {
      for (let i = 0; i < RUNS; i++) {
        const [ca, cb] = await openChannel(a, b);
        const closing = a.channels.close(ca, 0);
        await until(() => at(ca, cb), { what: name, timeoutMs: 30_000, intervalMs: 1 });
        await a.node.peers.disconnect(Buffer.from(b.id, 'hex'));
        await sleep(50);
        await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port).catch(() => undefined);
        const spend = await closedOnChain(ca, cb);
        assert.equal((await closing).type, 'mutual');
        for (const c of [ca, cb]) assert.ok(c.data.closing!.simple!.txids.includes(spend));
      }
    });
  }
});
