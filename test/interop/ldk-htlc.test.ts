/**
 * Issue 12 against real LDK 0.1 on btcd regtest: LDK pays anode what anode cannot settle or forward, and
 * anode fails each HTLC back at once with a failure LDK decrypts, attributes to anode and names (LDK's
 * own "Onion Error[from <anode>: <name>(<code>)]" log line, and its PaymentPathFailed / PaymentFailed
 * events: the recipient rejected it, or only the path failed). The channel stays CHANNELD_NORMAL on both
 * sides, with every HTLC gone and LDK's balance whole.
 *  - a payment to anode with a random payment hash: incorrect_or_unknown_payment_details;
 *  - one whose final payload anode cannot read (an unknown even TLV): invalid_onion_payload;
 *  - one anode should forward (a route hint through anode to an unknown channel): unknown_next_peer.
 * LDK builds every onion itself for the node ids of its route, so an onion anode cannot decrypt at all
 * (update_fail_malformed_htlc) cannot come from it; test/payment/ covers that case between two anodes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { useBtcd } from '../harness/btcd.js';
import type { TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { interopGate } from './adapter.js';
import { LdkPeer, ldkUnavailableReason, type LdkEvent } from './peers/ldk.js';
import { startWithAnode } from './with-anode.js';

const gate = interopGate('ldk', 'anode fails back HTLCs from ldk', ldkUnavailableReason());
const btcd = useBtcd('anode fails back HTLCs from ldk');
const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

describe('LDK pays what anode cannot settle or forward: failed back, decoded by LDK', { skip: gate.skip || btcd.skip, timeout: 240_000 }, () => {
  let ldk: LdkPeer;
  let anode: TestNode | undefined;
  let ch: Channel;
  let channelId: string;
  let outboundMsat: number;
  const lines: string[] = [];

  before(async () => {
    gate.require();
    ldk = new LdkPeer({
      seed: Buffer.alloc(32, 0x5c),
      log: (l: string) => {
        lines.push(l);
        if (verbose) process.stderr.write(`[ldk] ${l}\n`);
      },
    });
    anode = await startWithAnode(ldk, btcd.node);
    const follow = async (): Promise<void> => {
      await ldk.channels.followChain();
      await anode!.channels.syncChain();
    };
    const opened = await ldk.channels.open({ nodeId: anode.node.nodeId, amountSat: 800_000n });
    channelId = opened.channelId;
    ch = await until(() => anode!.channels.get(opened.channelId), 'anode has the channel');
    await btcd.node.mineUntil(async () => ch.data.state === 'CHANNELD_NORMAL' && (await ldk.channels.list()).some((c) => c.channelId === channelId && c.state === 'usable'), 'both sides usable', { maxBlocks: 6, settleMs: 500, follow });
    outboundMsat = (await ldk.getChannel(channelId))!.outboundCapacityMsat;
  });
  after(async () => {
    await anode?.stop();
    await ldk?.stop();
  });

  /** Pays, then waits for LDK's verdict: its path failure, its payment failure, and its log line naming the onion error. */
  async function payAndFail(p: Omit<Parameters<LdkPeer['sendPayment']>[0], 'paymentHash' | 'nodeId'> & { nodeId?: Buffer }): Promise<{ path: LdkEvent; failed: LdkEvent; onionError: string }> {
    const since = (await ldk.events()).length;
    const paymentHash = sha256(randomBytes(32));
    const from = lines.length;
    await ldk.sendPayment({ nodeId: anode!.node.nodeId, paymentHash, ...p });
    const hash = paymentHash.toString('hex');
    const failed = await ldk.waitForEvent('PaymentFailed', { since, timeoutMs: 30_000 });
    const path = (await ldk.events(since)).find((e) => e.type === 'PaymentPathFailed' && e.paymentHash === hash);
    assert.ok(path, 'PaymentPathFailed for the payment');
    assert.equal(failed.paymentHash, hash);
    const onionError = lines.slice(from).find((l) => l.includes('Onion Error[from'));
    assert.ok(onionError, 'LDK logged the decoded onion error');
    return { path, failed, onionError };
  }

  async function channelWhole(): Promise<void> {
    await until(async () => ch.data.localCommit.spec.htlcs.length === 0 && ch.data.remoteCommit.spec.htlcs.length === 0 && (await ldk.getChannel(channelId))?.outboundCapacityMsat === outboundMsat, {
      what: 'the HTLC gone from both commitments, LDK balance whole',
      timeoutMs: 15_000,
    });
    assert.equal(ch.data.state, 'CHANNELD_NORMAL');
    assert.equal((await ldk.getChannel(channelId))?.isUsable, true);
  }

  it('a random payment hash: incorrect_or_unknown_payment_details from anode, the recipient rejected it', async () => {
    const anodeId = anode!.node.nodeId.toString('hex');
    const r = await payAndFail({ amountMsat: 10_000_000 });
    assert.match(r.onionError, new RegExp(`Onion Error\\[from ${anodeId}: incorrect_or_unknown_payment_details\\(0x400f\\)`));
    assert.deepEqual([r.path.paymentFailedPermanently, r.path.pathFailure, r.failed.failureReason], [true, 'OnPath', 'RecipientRejected']);
    await channelWhole();
  });

  it('a final payload anode cannot read (an unknown even TLV): invalid_onion_payload from anode', async () => {
    const anodeId = anode!.node.nodeId.toString('hex');
    const r = await payAndFail({ amountMsat: 12_000_000, customTlvs: [{ type: 65536n, value: Buffer.from('not for anode') }] });
    assert.match(r.onionError, new RegExp(`Onion Error\\[from ${anodeId}: invalid_onion_payload\\(0x4016\\)`));
    assert.deepEqual([r.path.paymentFailedPermanently, r.failed.failureReason], [true, 'RecipientRejected']);
    await channelWhole();
  });

  it('a hop anode should forward (no forwarding yet): unknown_next_peer from anode, only the path failed', async () => {
    const anodeId = anode!.node.nodeId.toString('hex');
    const beyond = secp.publicKey(Buffer.alloc(32, 0x7e));
    const r = await payAndFail({ nodeId: beyond, amountMsat: 9_000_000, hint: { from: anode!.node.nodeId, scid: '900x9x9' } });
    assert.match(r.onionError, new RegExp(`Onion Error\\[from ${anodeId}: unknown_next_peer\\(0x400a\\)`));
    // LDK blames the channel after anode (the hint's), and gives up for want of retries.
    assert.deepEqual([r.path.paymentFailedPermanently, r.path.shortChannelId, r.failed.failureReason], [false, '900x9x9', 'RetriesExhausted']);
    await channelWhole();
  });
});
