/**
 * Cooperative closes with real LDK on btcd that must finish (issue 13 items 2 and 3):
 *  - fee estimates 20× apart (each side's estimator under the test's control: LDK's through its host,
 *    anode's wallet estimate replaced), with anode the opener and with LDK the opener: the close
 *    completes and confirms;
 *  - the connection drops right after anode's first closing_signed (the message is lost): after the
 *    reconnection anode sends closing_signed again and the close completes (10 times).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { interopGate } from './adapter.js';
import { ldkUnavailableReason, type LdkPeer } from './peers/ldk.js';
import { startLdkNetwork, type LdkNetwork } from './ldk-network.js';
import { useBtcd } from '../harness/btcd.js';
import type { TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { ChannelMessageType } from '../../src/channel/messages.js';
import type { Channel } from '../../src/channel/channel.js';

const gate = interopGate('ldk', 'anode ↔ LDK cooperative closes', ldkUnavailableReason());
const btcd = useBtcd('anode ↔ LDK cooperative closes');

describe('anode ↔ LDK cooperative closes that finish', { skip: gate.skip || btcd.skip, timeout: 180_000 }, () => {
  let net: LdkNetwork;
  let ldk: LdkPeer;
  let anode: TestNode;
  /** anode's fee estimate (sat/kw), as its wallet answers for closes and opens. */
  let anodeEstimate = 1000;

  before(async () => {
    gate.require();
    net = await startLdkNetwork(btcd.node, { ldk: [{ seed: 0x6c }], anodeExtra: ['--developer'], fundSat: 3_000_000n });
    [ldk] = net.ldk as [LdkPeer];
    anode = net.anode;
    anode.node.wallet!.resolveFeerate = async () => anodeEstimate;
  });
  after(async () => {
    await net?.stop();
  });

  const follow = (): Promise<void> => net.follow();
  const mineUntil = (cond: () => boolean | Promise<boolean>, what: string) => btcd.node.mineUntil(cond, what, { maxBlocks: 6, settleMs: 300, follow });

  async function usableChannel(opener: 'anode' | 'ldk'): Promise<Channel> {
    let ch: Channel;
    if (opener === 'ldk') {
      const opened = await ldk.channels.open({ nodeId: anode.node.nodeId, amountSat: 500_000n, pushMsat: 100_000_000n });
      ch = await until(() => anode.channels.get(opened.channelId), 'anode has the channel');
    } else {
      await ldk.channels.followChain();
      const r = await anode.channels.fundChannel({ peerId: ldk.nodeId.toString('hex'), amountSat: 500_000n, pushMsat: 100_000_000n, announce: false });
      ch = anode.channels.get(r.channelId)!;
    }
    await mineUntil(async () => ch.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === ch.id && c.state === 'usable'), 'both sides usable');
    return ch;
  }

  /** anode asks for the close; it completes on both sides and confirms. */
  async function closesAndConfirms(ch: Channel): Promise<void> {
    void anode.channels.close(ch, 0);
    await until(() => ch.data.state === 'CLOSINGD_COMPLETE', { what: 'anode agreed a closing transaction', timeoutMs: 30_000 });
    // Published just after CLOSINGD_COMPLETE is written: mine until it confirms.
    await mineUntil(() => ch.data.state === 'ONCHAIN', 'the closing transaction confirmed');
    await ldk.channels.waitFor(ch.id, 'closed', 20_000);
  }

  // [opener, commitment feerate (both estimates at the open), anode's estimate, LDK's estimate at the close], sat/kw.
  // The first is issue 13's case with CLN: the commitment pays more than anode's estimate (there 1250 vs
  // 253), the peer's estimate is 20× anode's, and the peer will not go below it (LDK's min_fee_satoshis is
  // its own estimate): anode's range must reach it through the commitment feerate. Here anode opened when
  // the market was at 20000 and its estimate has since fallen 20×.
  for (const [opener, commitRate, anodeRate, ldkRate] of [
    ['anode', 20_000, 1000, 20_000],
    ['anode', 1000, 20_000, 1000],
    ['ldk', 1000, 1000, 20_000],
    ['ldk', 1000, 20_000, 1000],
  ] as const) {
    it(`${opener} opened at ${commitRate} sat/kw; estimates anode ${anodeRate}, LDK ${ldkRate} sat/kw (20× apart): the close completes`, async () => {
      anodeEstimate = commitRate;
      await ldk.setFeerate(commitRate);
      const ch = await usableChannel(opener);
      assert.equal(ch.feeratePerKw, BigInt(commitRate));
      anodeEstimate = anodeRate;
      await ldk.setFeerate(ldkRate);
      await closesAndConfirms(ch);
    });
  }

  it("the connection drops after anode's first closing_signed: after the reconnection the close completes, 10 times out of 10", async () => {
    anodeEstimate = 1000;
    await ldk.setFeerate(1000);
    for (let i = 0; i < 10; i++) {
      const ch = await usableChannel('anode');
      await until(() => anode.node.peers.peer(ldk.nodeId.toString('hex'))?.connected, 'connected');
      const peer = anode.node.peers.peer(ldk.nodeId.toString('hex'))!;
      const send = peer.send.bind(peer);
      let dropped = false;
      peer.send = (msg) => {
        if (msg.type !== ChannelMessageType.CLOSING_SIGNED || dropped) return send(msg);
        dropped = true;
        void peer.close('test: connection lost with the first closing_signed');
        return true;
      };
      await closesAndConfirms(ch);
      assert.ok(dropped, `close ${i + 1}: the first closing_signed was lost`);
    }
  });
});
