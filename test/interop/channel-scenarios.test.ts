/**
 * The channel scenarios, run with an anode node (in this process, so its channels' state can be
 * inspected) against every implementation whose adapter has channels: LDK 0.1 and anode itself (a
 * daemon driven through JSON-RPC). Electrum's adapter has none, so it is not listed. One btcd regtest
 * chain for all:
 *  - the remote opens to anode; anode opens to the remote; both reach CHANNELD_NORMAL;
 *  - the remote's update_fee and anode's are applied and revoked on both sides;
 *  - CLN's `disconnect` on the live channel: refused without force (-1, CLN's text); with force the
 *    connection drops, the channel survives, anode reconnects, channel_reestablish, and it still works;
 *  - a cooperative close (anode asks) confirms in btcd, anode's funds back in its wallet;
 *  - the remote force-closes: anode sweeps its output back to its wallet; anode force-closes: its
 *    delayed output comes back after the remote's to_self_delay (LDK 144 blocks, anode 6).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { interopGate, type ChannelNode, type RemoteChannel } from './adapter.js';
import { AnodePeer } from './peers/anode.js';
import { LdkPeer, ldkUnavailableReason } from './peers/ldk.js';
import { useBtcd, type BtcdNode } from '../harness/btcd.js';
import { fundWallet, walletBalance, type TestNode } from '../harness/daemon.js';
import { startWithAnode } from './with-anode.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import type { Channel } from '../../src/channel/channel.js';

const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';

interface Implementation {
  /** In test titles. */
  name: string;
  /** Why it cannot run here, or null. */
  unavailable: () => string | null;
  create: (btcd: BtcdNode) => ChannelNode;
}

const implementations: Implementation[] = [
  {
    name: 'ldk',
    unavailable: ldkUnavailableReason,
    create: () => new LdkPeer({ seed: Buffer.alloc(32, 0x5a), log: verbose ? (l: string) => process.stderr.write(`[ldk] ${l}\n`) : undefined }),
  },
  { name: 'anode daemon', unavailable: () => null, create: (btcd) => new AnodePeer(btcd) },
];

const btcd = useBtcd('channel scenarios');

for (const impl of implementations) {
  const gate = interopGate(impl.name, `anode ↔ ${impl.name} channels`, impl.unavailable());
  const name = impl.name;

  describe(`anode ↔ ${name} channels on btcd`, { skip: gate.skip || btcd.skip, timeout: 240_000 }, () => {
    let remote: ChannelNode;
    let anode: TestNode;

    before(async () => {
      gate.require();
      remote = impl.create(btcd.node);
      anode = await startWithAnode(remote, btcd.node, ['--developer']);
    });
    after(async () => {
      await anode?.stop();
      await remote?.stop();
    });

    /** After blocks are mined: the remote follows them (and publishes what it broadcast), anode sees them. */
    async function follow(): Promise<void> {
      await remote.channels.followChain();
      await anode.channels.syncChain();
    }
    async function mine(n: number): Promise<void> {
      await btcd.node.generate(n);
      await follow();
    }
    /** Mines up to six blocks (funding needs one), one at a time, until `cond` holds. */
    const mineUntil = (cond: () => boolean | Promise<boolean>, what: string) => btcd.node.mineUntil(cond, what, { maxBlocks: 6, settleMs: 300, follow });

    const rpc = (method: string, params: Record<string, unknown> = {}) => rpcCall(join(anode.dir, 'regtest', 'lightning-rpc'), method, params);
    const remoteId = (): string => remote.nodeId.toString('hex');
    const remoteView = async (channelId: string): Promise<RemoteChannel | undefined> => (await remote.channels.list()).find((c) => c.channelId === channelId);
    let fromRemote: Channel;
    let toRemote: Channel;

    it(`${name} opens a channel to anode; both reach CHANNELD_NORMAL`, async () => {
      const opened = await remote.channels.open({ nodeId: anode.node.nodeId, amountSat: 800_000n, pushMsat: 200_000_000n });
      fromRemote = await until(() => anode.channels.get(opened.channelId), 'anode has the channel');
      assert.equal(anode.channels.list().length, 1);
      assert.equal(fromRemote.data.opener, 'remote');
      assert.equal(fromRemote.data.funding.txid, opened.fundingTxid);
      assert.equal(fromRemote.data.format, 'static_remotekey');
      await mineUntil(async () => fromRemote.data.state === 'CHANNELD_NORMAL' && (await remoteView(opened.channelId))?.state === 'usable', 'both sides usable');
      assert.equal(fromRemote.data.state, 'CHANNELD_NORMAL');
      const l = await remote.channels.waitFor(opened.channelId, 'usable');
      assert.equal(l.outbound, true);
      assert.equal(l.shortChannelId, fromRemote.data.shortChannelId);
      assert.equal(fromRemote.data.localCommit.spec.toLocalMsat, 200_000_000n);
    });

    it(`anode opens a channel to ${name}; both reach CHANNELD_NORMAL`, async () => {
      await fundWallet(btcd.node, anode, 2_000_000n);
      await remote.channels.followChain();
      const r = await rpc('fundchannel', { id: remoteId(), amount: 600_000, feerate: '1000perkw', announce: false });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      const channelId = r.result!.channel_id as string;
      toRemote = anode.channels.get(channelId)!;
      assert.equal(toRemote.data.opener, 'local');
      await mineUntil(() => toRemote.data.state === 'CHANNELD_NORMAL', 'anode NORMAL');
      assert.equal(toRemote.data.state, 'CHANNELD_NORMAL');
      const l = await remote.channels.waitFor(channelId, 'usable');
      assert.equal(l.outbound, false);
      assert.equal(l.fundingTxid, r.result!.txid);
    });

    it(`${name}'s update_fee and anode's are applied and revoked on both sides`, async () => {
      // The remote (opener of the first channel) raises its fee.
      const before = fromRemote.data.localCommit.index;
      await remote.channels.updateFee(fromRemote.id, 2000);
      await until(() => fromRemote.feeratePerKw === 2000n && fromRemote.data.remoteCommit.spec.feeratePerKw === 2000n, `anode applied ${name}'s update_fee`);
      await fromRemote.idle();
      assert.ok(fromRemote.data.localCommit.index > before && fromRemote.data.remoteSecrets.length > 0, 'the old commitments were revoked');
      await until(async () => (await remoteView(fromRemote.id))?.feeratePerKw === 2000, `${name} reports the new fee`);
      // anode (opener of the second channel) sends its own.
      const r = await rpc('dev-updatefee', { id: toRemote.id, feerate_perkw: 3000 });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      await until(() => toRemote.feeratePerKw === 3000n && toRemote.data.remoteCommit.spec.feeratePerKw === 3000n, 'both commitments at 3000');
      await toRemote.idle();
      await until(async () => (await remoteView(toRemote.id))?.feeratePerKw === 3000, `${name} applied anode's update_fee`);
    });

    it("disconnect on the live channel behaves as CLN's", async () => {
      const plain = await rpc('disconnect', { id: remoteId() });
      assert.deepEqual(plain.error, { code: -1, message: 'Peer has (at least one) channel in state CHANNELD_NORMAL' });
      assert.ok(anode.node.peers.peer(remoteId())?.connected, 'still connected');
      const forced = await rpc('disconnect', { id: remoteId(), force: true });
      assert.deepEqual(forced.result, {});
      assert.equal(toRemote.data.state, 'CHANNELD_NORMAL', 'the channel survives');
      // anode dialled the remote, so it knows where to reconnect (1 s backoff first).
      await until(() => toRemote.usable && fromRemote.usable, { what: 'reconnected and reestablished', timeoutMs: 20_000 });
      const r = await rpc('dev-updatefee', { id: toRemote.id, feerate_perkw: 2500 });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      await until(async () => (await remoteView(toRemote.id))?.feeratePerKw === 2500, 'the channel works after reconnection');
      await toRemote.idle();
    });

    it('a cooperative close (anode asks) confirms in btcd', async () => {
      const balance = await walletBalance(anode);
      const ours = toRemote.data.localCommit.spec.toLocalMsat / 1000n;
      const r = await rpc('close', { id: toRemote.id });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.result!.type, 'mutual');
      await mine(1);
      await until(() => toRemote.data.state === 'ONCHAIN', 'anode saw the close confirmed');
      await remote.channels.waitFor(toRemote.id, 'closed');
      // Our output (minus the closing fee anode paid as opener) is back in the wallet.
      await until(async () => (await walletBalance(anode)) > balance + ours - 5_000n, 'funds back in the wallet');
    });

    it(`${name} force-closes: anode recovers its funds`, async (t) => {
      const balance = await walletBalance(anode);
      const ours = fromRemote.data.localCommit.spec.toLocalMsat / 1000n;
      await remote.channels.forceClose(fromRemote.id, anode.node.nodeId);
      // The remote's error makes anode fail the channel too (BOLT 1), so either commitment may win the
      // race to the mempool; both must end with anode's funds in its wallet.
      await mine(1);
      await until(() => fromRemote.data.onchain?.kind === 'remote' || fromRemote.data.onchain?.kind === 'local', 'anode saw a commitment confirmed');
      const kind = fromRemote.data.onchain!.kind;
      t.diagnostic(`confirmed commitment: ${kind === 'remote' ? `${name}'s (anode's output needs no delay)` : `anode's own (its output waits ${name}'s to_self_delay)`}`);
      if (kind === 'local') await mine(fromRemote.data.remote.toSelfDelay);
      await mine(1);
      await until(async () => (await walletBalance(anode)) > balance + ours - 5_000n, 'anode swept its output to its wallet');
    });

    it(`anode force-closes a channel with ${name}: its output comes back after ${name}'s to_self_delay`, async () => {
      const r = await rpc('fundchannel', { id: remoteId(), amount: 300_000, feerate: '1000perkw', announce: false, push_msat: 0 });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      const ch = anode.channels.get(r.result!.channel_id as string)!;
      await mineUntil(() => ch.data.state === 'CHANNELD_NORMAL', 'anode NORMAL');
      await remote.channels.waitFor(ch.id, 'usable');
      const delay = ch.data.remote.toSelfDelay;
      assert.equal(delay, remote.channels.toSelfDelay, `${name}'s to_self_delay for us`);
      await rpc('disconnect', { id: remoteId(), force: true });
      const closed = await rpc('close', { id: ch.id, unilateraltimeout: 1 });
      assert.equal(closed.result?.type, 'unilateral', JSON.stringify(closed));
      const balance = await walletBalance(anode);
      await mine(1);
      await until(() => ch.data.onchain?.kind === 'local', 'our commitment confirmed');
      await mine(delay - 2);
      assert.equal(ch.data.onchain!.sweeps.length, 0, 'nothing swept before the delay');
      await mine(3);
      await until(() => (ch.data.onchain?.sweeps ?? []).some((s) => s.confirmedAt !== undefined), { what: 'delayed output swept', timeoutMs: 10_000 }).catch(async () => {
        await mine(1);
      });
      await until(async () => (await walletBalance(anode)) > balance + 280_000n, 'delayed funds in the wallet');
    });
  });
}
