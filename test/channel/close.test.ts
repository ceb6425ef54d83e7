/**
 * Cooperative closes that always finish (issue 13 items 2 and 3), anode ↔ anode over the in-memory pair:
 *  - the connection drops at each step of the close (the initiator's shutdown lost, the reply shutdown
 *    lost, the opener's first closing_signed lost), for either side initiating; after the reconnection
 *    the close completes, every time (each case 10 times: the stall was a race);
 *  - the two sides' fee estimates differ by 20× (either way): the close completes at a fee inside both
 *    sides' fee_range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelMessageType } from '../../src/channel/messages.js';
import { until } from '../harness/wait.js';
import { closeInterrupted, normalPair, PAIR_WAIT, shutdownLosses, type LossCase, type Pair } from './pair.js';

const RUNS = 10;

async function completes(p: Pair, what: string): Promise<void> {
  await until(() => p.a.channel.data.state === 'CLOSINGD_COMPLETE' && p.b.channel.data.state === 'CLOSINGD_COMPLETE', { what, ...PAIR_WAIT });
  assert.deepEqual([p.a.failures, p.b.failures], [[], []]);
  assert.equal(p.a.closings.length, 1);
  assert.equal(p.b.closings.length, 1);
  assert.equal(p.a.closings[0]!.txid, p.b.closings[0]!.txid, 'both sides signed the same closing transaction');
}

describe('a cooperative close interrupted by a disconnection completes after the reconnection', () => {
  for (const initiator of ['A', 'B'] as const) {
    const cases: LossCase[] = [
      ...shutdownLosses(initiator),
      // A opened the channel: it proposes first, B receives.
      ["the opener's first closing_signed lost", (p) => p.b, ChannelMessageType.CLOSING_SIGNED],
    ];
    for (const [name, receiverOf, type] of cases) {
      it(`${initiator === 'A' ? 'the opener' : 'the non-opener'} closes, ${name}: completes ${RUNS} times out of ${RUNS}`, async () => {
        for (let i = 0; i < RUNS; i++) {
          const p = await closeInterrupted(initiator, receiverOf, type);
          await completes(p, `close ${i + 1} completed after the reconnection`);
        }
      });
    }
  }

  it('a second disconnection in the middle of the renewed negotiation is survived too', async () => {
    const p = await closeInterrupted('A', (q) => q.b, ChannelMessageType.CLOSING_SIGNED);
    await p.disconnect();
    await p.connect();
    await completes(p, 'close completed after two reconnections');
  });
});

describe('closing fee negotiation with estimates 20× apart', () => {
  for (const [name, A, B] of [
    ['the opener estimates 20× lower', 253n, 5060n],
    ['the opener estimates 20× higher', 5060n, 253n],
  ] as const) {
    it(`${name}: the close completes at a fee inside both ranges`, async () => {
      const p = await normalPair({ closingFeerate: { A, B } });
      await p.a.channel.shutdown();
      await completes(p, 'close completed');
      const fee = p.a.channel.data.closing!.ourFeeSat!;
      assert.equal(p.b.channel.data.closing!.ourFeeSat, fee);
      assert.ok(fee >= 253n * 600n / 1000n, `fee ${fee} sat is above the relay floor`);
    });
  }
});
