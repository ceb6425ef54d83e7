/**
 * Self-test of the LDK adapter's channel methods: two LDK nodes (each in its own child process) open,
 * operate and close real channels with each other, funded and confirmed on a real btcd regtest chain
 * whose blocks are fed to LDK (`syncTo`). When this passes, the adapter can be put in front of anode.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Transaction } from '@scure/btc-signer';
import { interopGate } from '../adapter.js';
import { newP2wpkhKey, signP2wpkhSpend, useBtcd } from '../../harness/btcd.js';
import { sleep, until } from '../../harness/wait.js';
import { LdkPeer, ldkUnavailableReason, type LdkChannelInfo } from './ldk.js';

const ldkGate = interopGate('ldk', 'LDK channel self-test', ldkUnavailableReason());
const btcd = useBtcd('LDK channel self-test');

const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';
const logTo = (tag: string) => (verbose ? (line: string) => process.stderr.write(`${tag} ${line}\n`) : undefined);

describe('ldk channels self-test (LDK ↔ LDK on btcd regtest)', { skip: ldkGate.skip || btcd.skip, timeout: 60_000 }, () => {
  const a = new LdkPeer({ seed: Buffer.alloc(32, 0xc3), log: logTo('[A]') });
  const b = new LdkPeer({ seed: Buffer.alloc(32, 0xd4), log: logTo('[B]') });
  async function mine(n: number): Promise<void> {
    await btcd.node.generate(n);
    await Promise.all([a.syncTo(btcd.node), b.syncTo(btcd.node)]);
  }

  function spendsOutpoint(hex: string, txid: string, vout: number): boolean {
    const tx = Transaction.fromRaw(Buffer.from(hex, 'hex'), { allowUnknownOutputs: true });
    for (let i = 0; i < tx.inputsLength; i++) {
      const inp = tx.getInput(i);
      if (inp.txid && Buffer.from(inp.txid).toString('hex') === txid && inp.index === vout) return true;
    }
    return false;
  }

  /** Opens `from` → `to`, funds it from btcd, confirms it; returns both sides' view once usable. */
  async function openFunded(
    from: LdkPeer,
    to: LdkPeer,
    amountSat: number,
    pushMsat: number,
    announce?: boolean,
  ): Promise<{ mine: LdkChannelInfo; theirs: LdkChannelInfo; fundingHex: string }> {
    const { temporaryChannelId } = await from.openChannel({ nodeId: to.nodeId, amountSat, pushMsat, ...(announce !== undefined ? { announce } : {}) });
    assert.match(temporaryChannelId, /^[0-9a-f]{64}$/);
    const out = await from.fundingOutput(temporaryChannelId);
    assert.equal(out.amountSat, amountSat);
    assert.match(out.scriptHex, /^0020[0-9a-f]{64}$/, 'funding output is P2WSH');

    const key = newP2wpkhKey();
    const utxo = await btcd.node.fund(key.script, BigInt(amountSat) + 10_000n);
    const funding = signP2wpkhSpend([{ utxo, privateKey: key.privateKey }], [{ script: Buffer.from(out.scriptHex, 'hex'), amountSat: BigInt(amountSat) }]);
    await from.fundingTransactionGenerated(temporaryChannelId, to.nodeId, funding.hex);

    // LDK broadcasts the funding transaction once it has the peer's funding_signed.
    const pending = await from.waitForEvent('ChannelPending', { channelId: temporaryChannelId });
    assert.equal(pending.fundingTxid, funding.txid);
    const broadcasts = await from.waitForBroadcasts();
    assert.ok(broadcasts.includes(funding.hex), 'LDK broadcast the funding transaction as given');
    await btcd.node.publish(broadcasts);
    assert.ok((await btcd.node.getRawMempool()).includes(funding.txid));

    const before = await from.getChannel(temporaryChannelId);
    assert.ok(before && !before.isChannelReady, 'not ready before the funding confirms');
    await mine(1); // minimum_depth 1
    const mineSide = await from.waitForChannel(temporaryChannelId, 'usable');
    const theirs = await to.waitForChannel(mineSide.channelId, 'usable');
    assert.equal(mineSide.fundingTxid, funding.txid);
    assert.equal(theirs.fundingTxid, funding.txid);
    return { mine: mineSide, theirs, fundingHex: funding.hex };
  }

  before(async () => {
    ldkGate.require();
    await Promise.all([a.start(), b.start()]);
    const port = await a.listen();
    await b.connect('127.0.0.1', port, a.nodeId);
    await a.waitForPeer(b.nodeId, 5_000);
    // LDK starts at the regtest genesis; with no channel yet it jumps straight to btcd's tip.
    await Promise.all([a.syncTo(btcd.node), b.syncTo(btcd.node)]);
    const tip = await btcd.node.getBlockCount();
    assert.equal((await a.chainState()).height, tip);
    assert.equal((await b.chainState()).hash, await btcd.node.getBestBlockHash());
  });

  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  let chanId = '';

  it('opens A → B (1 000 000 sat, push), funding confirmed by btcd, usable on both sides', async () => {
    const { mine: ca, theirs: cb } = await openFunded(a, b, 1_000_000, 100_000_000);
    chanId = ca.channelId;
    assert.equal(cb.channelId, chanId);
    assert.equal(ca.counterpartyNodeId, b.nodeId.toString('hex'));
    assert.equal(cb.counterpartyNodeId, a.nodeId.toString('hex'));
    assert.equal(ca.isOutbound, true);
    assert.equal(cb.isOutbound, false);
    assert.equal(ca.isAnnounced, false);
    assert.equal(ca.channelValueSat, 1_000_000);
    assert.deepEqual(ca.channelTypeBits, [12], 'static_remotekey, no anchors');
    assert.equal(ca.confirmations, 1);
    assert.equal(ca.confirmationsRequired, 1);
    assert.match(ca.shortChannelId ?? '', /^\d+x\d+x\d+$/);
    assert.equal(ca.shortChannelId, cb.shortChannelId);
    assert.equal(ca.feerateSatPerKw, 253);
    // B pushed 100 000 sat; B's balance (minus nothing: it does not pay fees) is inbound for A.
    assert.ok(cb.outboundCapacityMsat > 80_000_000 && cb.outboundCapacityMsat <= 100_000_000, `B outbound ${cb.outboundCapacityMsat}`);
    assert.ok(ca.outboundCapacityMsat > 800_000_000, `A outbound ${ca.outboundCapacityMsat}`);
    // A waits B's to_self_delay (144 = LDK's minimum our_to_self_delay) after a force close.
    assert.equal(ca.forceCloseSpendDelay, 144);

    const readyA = await a.waitForEvent('ChannelReady', { channelId: chanId });
    assert.deepEqual(readyA.channelTypeBits, [12]);
    await b.waitForEvent('ChannelReady', { channelId: chanId });
    assert.ok((await b.events()).some((e) => e.type === 'ChannelPending' && e.channelId === chanId));
  });

  it('update_fee: A raises its feerate estimate, timer tick → both sides at the new feerate, channel usable', async () => {
    assert.ok(chanId);
    const table = await a.setFeerate(1_000);
    assert.equal(table[5], 1_000, 'NonAnchorChannelFee');
    assert.equal(table[3], 253, 'MinAllowedNonAnchorChannelRemoteFee left alone');
    await a.timerTick();
    let seen: [number | undefined, number | undefined] = [undefined, undefined];
    await until(async () => {
      const [ca, cb] = await Promise.all([a.getChannel(chanId), b.getChannel(chanId)]);
      seen = [ca?.feerateSatPerKw, cb?.feerateSatPerKw];
      return seen[0] === 1_000 && seen[1] === 1_000 && ca?.isUsable && cb?.isUsable;
    }, { what: 'both sides at 1 000 sat/kw and usable', timeoutMs: 10_000 }).catch(() => assert.fail(`feerates after update_fee: A ${seen[0]}, B ${seen[1]}`));
    // A fall of less than half does not trigger another update_fee.
    await a.setFeerate(600);
    await a.timerTick({ peers: false });
    await sleep(200);
    assert.equal((await b.getChannel(chanId))?.feerateSatPerKw, 1_000);
    await a.setFeerate(253);
  });

  it('cooperative close: closing tx broadcast, mined, ChannelClosed on both sides', async () => {
    const ca = (await a.getChannel(chanId))!;
    const evA = (await a.events()).length;
    const evB = (await b.events()).length;
    await a.closeChannel(chanId, b.nodeId);
    const closedA = await a.waitForChannel(chanId, 'closed');
    const closedB = await b.waitForChannel(chanId, 'closed');
    assert.equal(closedA.reason, 'LocallyInitiatedCooperativeClosure');
    assert.equal(closedB.reason, 'CounterpartyInitiatedCooperativeClosure');
    assert.ok(closedA.seq >= evA && closedB.seq >= evB);

    const txs = [...(await a.takeBroadcasts()), ...(await b.takeBroadcasts())];
    const closing = txs.filter((hex) => spendsOutpoint(hex, ca.fundingTxid!, ca.fundingVout!));
    assert.ok(closing.length >= 1, `a closing tx spending the funding output among ${txs.length} broadcasts`);
    const [closingTxid] = await btcd.node.publish([closing[0]!]);
    await mine(1);
    const block = await btcd.node.getBlock(await btcd.node.getBestBlockHash());
    assert.ok(block.transactions.some((t) => t.txid === closingTxid), 'closing tx mined');
    assert.equal((await a.listChannels()).length, 0);
    assert.equal((await b.listChannels()).length, 0);
  });

  it('B → A announced channel; A force-closes; commitment mined; both get SpendableOutputs', async () => {
    const { mine: cb, theirs: ca } = await openFunded(b, a, 500_000, 50_000_000, true);
    const id = cb.channelId;
    assert.equal(cb.isAnnounced, true);
    assert.equal(ca.isAnnounced, true, 'A (announce_for_forwarding false) accepted an announced channel');
    const evA = (await a.events()).length;
    const evB = (await b.events()).length;

    await a.forceClose(id, b.nodeId);
    const closedA = await a.waitForChannel(id, 'closed');
    assert.equal(closedA.reason, 'HolderForceClosed');
    const commitments = (await a.waitForBroadcasts()).filter((hex) => spendsOutpoint(hex, ca.fundingTxid!, ca.fundingVout!));
    assert.equal(commitments.length >= 1, true, 'A broadcast its commitment transaction');
    const [commitTxid] = await btcd.node.publish([commitments[0]!]);
    const closedB = await b.waitForChannel(id, 'closed');
    assert.equal(closedB.reason, 'CounterpartyForceClosed');
    await btcd.node.publish(await b.takeBroadcasts()); // B's own commitment conflicts with A's in the mempool

    await mine(1);
    const block = await btcd.node.getBlock(await btcd.node.getBestBlockHash());
    assert.ok(block.transactions.some((t) => t.txid === commitTxid), "A's commitment mined");
    // B's to_remote (static_remotekey) output is spendable after ANTI_REORG_DELAY (6) confirmations.
    await mine(5);
    const spB = await b.waitForEvent('SpendableOutputs', { channelId: id, since: evB, timeoutMs: 5_000 });
    assert.equal(spB.outputs, 1);
    assert.deepEqual(spB.outputKinds, ['StaticPaymentOutput']);
    // The cooperatively closed channel's outputs (to KeysManager's shutdown scripts) also matured by now.
    for (const peer of [a, b]) {
      const sp = await peer.waitForEvent('SpendableOutputs', { channelId: chanId, timeoutMs: 5_000 });
      assert.deepEqual(sp.outputKinds, ['StaticOutput']);
    }
    // A's to_local waits B's to_self_delay (144 blocks).
    assert.equal((await a.events(evA)).some((e) => e.type === 'SpendableOutputs' && e.channelId === id), false);
    await mine(144);
    const spA = await a.waitForEvent('SpendableOutputs', { channelId: id, since: evA, timeoutMs: 5_000 });
    assert.deepEqual(spA.outputKinds, ['DelayedPaymentOutput']);
  });
});
