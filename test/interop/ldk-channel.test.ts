/**
 * Channels between anode and LDK 0.1 on a real btcd regtest chain (blocks fed to LDK):
 *  - LDK opens to anode; anode opens to LDK; both reach CHANNELD_NORMAL;
 *  - LDK's update_fee and anode's are applied and revoked on both sides;
 *  - CLN's `disconnect` on the live channel: refused without force (-1, CLN's text); with force the
 *    connection drops, the channel survives, anode reconnects, channel_reestablish, and it still works;
 *  - a cooperative close confirms in btcd;
 *  - LDK force-closes: anode sweeps its output back to its wallet; anode force-closes: its delayed
 *    output comes back after LDK's to_self_delay (144 blocks).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Transaction } from '@scure/btc-signer';
import { interopRequired } from './adapter.js';
import { BtcdNode, btcdGate, newP2wpkhKey, signP2wpkhSpend, stopAllBtcd } from '../harness/btcd.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';
import { rpcCall } from '../rpc/harness.js';
import { fundWallet, startNode, until, walletBalance, type TestNode } from '../channel/nodes.js';
import type { Channel } from '../../src/channel/channel.js';

const unavailable = ldkUnavailableReason();
if (unavailable && !interopRequired()) process.stderr.write(`\n!!! SKIPPING anode ↔ LDK channels: ${unavailable}\n\n`);
const gate = btcdGate('anode ↔ LDK channels');
const skip = unavailable && !interopRequired() ? `LDK unavailable: ${unavailable}` : gate.skip;

describe('anode ↔ LDK channels on btcd', { skip, timeout: 240_000 }, () => {
  let btcd: BtcdNode;
  let ldk: LdkPeer;
  let anode: TestNode;
  const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

  before(async () => {
    if (unavailable) assert.fail(`LDK must be loadable (ANODE_REQUIRE_INTEROP=1): ${unavailable}`);
    gate.require();
    btcd = await BtcdNode.start();
    ldk = new LdkPeer({ seed: Buffer.alloc(32, 0x5a), log: verbose ? (l: string) => process.stderr.write(`[ldk] ${l}\n`) : undefined });
    await ldk.start();
    await ldk.syncTo(btcd);
    anode = await startNode(btcd, { extra: ['--developer'] });
    const port = await ldk.listen();
    await anode.node.peers.connect(ldk.nodeId, '127.0.0.1', port);
    await ldk.waitForPeer(anode.node.nodeId, 10_000);
  });
  after(async () => {
    await anode?.stop();
    await ldk?.stop();
    await stopAllBtcd();
  });

  async function publish(txs: string[]): Promise<void> {
    for (const hex of txs) {
      try {
        await btcd.sendRawTransaction(hex);
      } catch (e) {
        if (!/already|spent|conflict|orphan|missing|replacement/i.test(String((e as Error).message))) throw e;
      }
    }
  }

  /** Mines n blocks, feeds them to LDK, lets anode see them. */
  async function mine(n: number): Promise<void> {
    await btcd.generate(n);
    await ldk.syncTo(btcd);
    await publish(await ldk.takeBroadcasts());
    await anode.channels.syncChain();
  }

  const rpc = (method: string, params: Record<string, unknown> = {}) => rpcCall(join(anode.dir, 'regtest', 'lightning-rpc'), method, params);
  const ldkId = (): string => ldk.nodeId.toString('hex');
  let fromLdk: Channel;
  let toLdk: Channel;

  it('LDK opens a channel to anode; both reach CHANNELD_NORMAL', async () => {
    const { temporaryChannelId } = await ldk.openChannel({ nodeId: anode.node.nodeId, amountSat: 800_000, pushMsat: 200_000_000 });
    const out = await ldk.fundingOutput(temporaryChannelId);
    const key = newP2wpkhKey();
    const utxo = await btcd.fund(key.script, 810_000n);
    await ldk.syncTo(btcd);
    const funding = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script: Buffer.from(out.scriptHex, 'hex'), amountSat: 800_000n }]);
    await ldk.fundingTransactionGenerated(temporaryChannelId, anode.node.nodeId, funding.hex);
    await ldk.waitForEvent('ChannelPending', { channelId: temporaryChannelId });
    await publish(await ldk.waitForBroadcasts());
    await until(() => anode.channels.list().length === 1, 'anode has the channel');
    fromLdk = anode.channels.list()[0]!;
    assert.equal(fromLdk.data.opener, 'remote');
    assert.equal(fromLdk.data.funding.txid, funding.txid);
    assert.equal(fromLdk.data.format, 'static_remotekey');
    for (let i = 0; i < 6 && !(fromLdk.data.state === 'CHANNELD_NORMAL' && (await ldk.getChannel(temporaryChannelId))?.isUsable); i++) {
      await mine(1);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(fromLdk.data.state, 'CHANNELD_NORMAL');
    const l = await ldk.waitForChannel(temporaryChannelId, 'usable');
    assert.equal(l.shortChannelId, fromLdk.data.shortChannelId);
    assert.equal(fromLdk.data.localCommit.spec.toLocalMsat, 200_000_000n);
  });

  it('anode opens a channel to LDK; both reach CHANNELD_NORMAL', async () => {
    await fundWallet(btcd, anode, 2_000_000n);
    await ldk.syncTo(btcd);
    const r = await rpc('fundchannel', { id: ldkId(), amount: 600_000, feerate: '1000perkw', announce: false });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    const channelId = r.result!.channel_id as string;
    toLdk = anode.channels.get(channelId)!;
    assert.equal(toLdk.data.opener, 'local');
    for (let i = 0; i < 6 && toLdk.data.state !== 'CHANNELD_NORMAL'; i++) {
      await mine(1);
      await new Promise((r2) => setTimeout(r2, 300));
    }
    assert.equal(toLdk.data.state, 'CHANNELD_NORMAL');
    const l = await ldk.waitForChannel(channelId, 'usable');
    assert.equal(l.isOutbound, false);
    assert.equal(l.fundingTxid, r.result!.txid);
  });

  it("LDK's update_fee and anode's are applied and revoked on both sides", async () => {
    // LDK (opener of the first channel) raises its fee on a timer tick.
    const before = fromLdk.data.localCommit.index;
    await ldk.setFeerate(2000);
    await ldk.timerTick({ peers: false });
    await until(() => fromLdk.feeratePerKw === 2000n && fromLdk.data.remoteCommit.spec.feeratePerKw === 2000n, 'anode applied LDK’s update_fee');
    await fromLdk.idle();
    assert.ok(fromLdk.data.localCommit.index > before && fromLdk.data.remoteSecrets.length > 0, 'the old commitments were revoked');
    await until(async () => (await ldk.getChannel(fromLdk.id))?.feerateSatPerKw === 2000, 'LDK reports the new fee');
    // anode (opener of the second channel) sends its own.
    const r = await rpc('dev-updatefee', { id: toLdk.id, feerate_perkw: 3000 });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    await until(() => toLdk.feeratePerKw === 3000n && toLdk.data.remoteCommit.spec.feeratePerKw === 3000n, 'both commitments at 3000');
    await toLdk.idle();
    await until(async () => (await ldk.getChannel(toLdk.id))?.feerateSatPerKw === 3000, 'LDK applied anode’s update_fee');
  });

  it("disconnect on the live channel behaves as CLN's", async () => {
    const plain = await rpc('disconnect', { id: ldkId() });
    assert.deepEqual(plain.error, { code: -1, message: 'Peer has (at least one) channel in state CHANNELD_NORMAL' });
    assert.ok(anode.node.peers.peer(ldkId())?.connected, 'still connected');
    const forced = await rpc('disconnect', { id: ldkId(), force: true });
    assert.deepEqual(forced.result, {});
    assert.equal(toLdk.data.state, 'CHANNELD_NORMAL', 'the channel survives');
    // anode dialled LDK, so it knows where to reconnect (1 s backoff first).
    await until(() => toLdk.usable && fromLdk.usable, 'reconnected and reestablished', 20_000);
    const r = await rpc('dev-updatefee', { id: toLdk.id, feerate_perkw: 2500 });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    await until(async () => (await ldk.getChannel(toLdk.id))?.feerateSatPerKw === 2500, 'the channel works after reconnection');
    await toLdk.idle();
  });

  it('a cooperative close (anode asks) confirms in btcd', async () => {
    const balance = await walletBalance(anode);
    const ours = toLdk.data.localCommit.spec.toLocalMsat / 1000n;
    const r = await rpc('close', { id: toLdk.id });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.result!.type, 'mutual');
    await mine(1);
    await until(() => toLdk.data.state === 'ONCHAIN', 'anode saw the close confirmed');
    await ldk.waitForChannel(toLdk.id, 'closed');
    // Our output (minus the closing fee anode paid as opener) is back in the wallet.
    await until(async () => (await walletBalance(anode)) > balance + ours - 5_000n, 'funds back in the wallet');
  });

  it('LDK force-closes: anode recovers its funds', async (t) => {
    const balance = await walletBalance(anode);
    const ours = fromLdk.data.localCommit.spec.toLocalMsat / 1000n;
    await ldk.forceClose(fromLdk.id, anode.node.nodeId);
    // LDK's error makes anode fail the channel too (BOLT 1), so either commitment may win the race to
    // the mempool; both must end with anode's funds in its wallet.
    await publish(await ldk.waitForBroadcasts());
    await mine(1);
    await until(() => fromLdk.data.onchain?.kind === 'remote' || fromLdk.data.onchain?.kind === 'local', 'anode saw a commitment confirmed');
    const kind = fromLdk.data.onchain!.kind;
    t.diagnostic(`confirmed commitment: ${kind === 'remote' ? "LDK's (anode's output needs no delay)" : "anode's own (its output waits LDK's to_self_delay)"}`);
    if (kind === 'local') await mine(fromLdk.data.remote.toSelfDelay);
    await mine(1);
    await until(async () => (await walletBalance(anode)) > balance + ours - 5_000n, 'anode swept its output to its wallet');
  });

  it("anode force-closes a channel with LDK: its output comes back after LDK's to_self_delay", async () => {
    const r = await rpc('fundchannel', { id: ldkId(), amount: 300_000, feerate: '1000perkw', announce: false, push_msat: 0 });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    const ch = anode.channels.get(r.result!.channel_id as string)!;
    for (let i = 0; i < 6 && ch.data.state !== 'CHANNELD_NORMAL'; i++) {
      await mine(1);
      await new Promise((r2) => setTimeout(r2, 300));
    }
    await ldk.waitForChannel(ch.id, 'usable');
    const delay = ch.data.remote.toSelfDelay;
    assert.equal(delay, 144, "LDK's to_self_delay for us");
    await rpc('disconnect', { id: ldkId(), force: true });
    const closed = await rpc('close', { id: ch.id, unilateraltimeout: 1 });
    assert.equal(closed.result?.type, 'unilateral', JSON.stringify(closed));
    const balance = await walletBalance(anode);
    await mine(1);
    await until(() => ch.data.onchain?.kind === 'local', 'our commitment confirmed');
    await mine(delay - 2);
    assert.equal(ch.data.onchain!.sweeps.length, 0, 'nothing swept before the delay');
    await mine(3);
    await until(() => (ch.data.onchain?.sweeps ?? []).some((s) => s.confirmedAt !== undefined) || false, 'delayed output swept', 10_000).catch(async () => {
      await mine(1);
    });
    await until(async () => (await walletBalance(anode)) > balance + 280_000n, 'delayed funds in the wallet');
    void Transaction;
  });
});
