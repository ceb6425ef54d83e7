/**
 * A peer's protocol error fails the channel without stopping the node (issue 13 item 1), on real nodes
 * and btcd. Node A has five channels with node B; B misbehaves by hand (BOLT 2 messages through the
 * codec, sent over its connection — or, for the reestablish, handed to A's channel while the peer is
 * away) on four of them: a commitment_signed with a bad signature, an update_fee below 253 sat/kw on a
 * channel B opened, an unsolicited revoke_and_ack, and a channel_reestablish ahead of A (with a secret
 * that is not A's, so no proof that A lost state). For each, A
 * (a) publishes its commitment (btcd's mempool has it), (b) has persisted AWAITING_UNILATERAL (read back
 * from its SQLite file), (c) still processes the next blocks for every channel (the commitments' spends,
 * and the fifth channel's funding depth), and (d) stops within a bound.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import { channelMessagePayload, ChannelMessageType, decodeChannelMessage, ONION_PACKET_SIZE, type ChannelMessage } from '../../src/channel/messages.js';
import { decodeChannelData } from '../../src/channel/state.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { DATABASE_FILE } from '../../src/node/node.js';
import { openSqliteStore } from '../../src/store/database.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until, withTimeout } from '../harness/wait.js';

const btcd = useBtcd('channel failures on btcd');

/** Through the BOLT 2 codec and back: what A's router would hand to the channel. */
const viaCodec = (msg: ChannelMessage): ChannelMessage => decodeChannelMessage(msg.type, channelMessagePayload(msg));
/** A well-formed signature by some other key. */
const foreignSig = (): Buffer => secp.sign(randomBytes(32), Buffer.alloc(32, 0x5a));

describe('a channel failed by a misbehaving peer, on btcd', { skip: btcd.skip, timeout: 300_000 }, () => {
  it('publishes, persists, keeps processing blocks for every channel, and stops — for each of the four paths', async () => {
    const nodes: TestNode[] = [];
    try {
      const a = await startNode(btcd.node);
      nodes.push(a);
      const b = await startNode(btcd.node);
      nodes.push(b);
      // One output per channel (the wallet spends confirmed outputs only).
      for (let i = 0n; i < 4n; i++) await fundWallet(btcd.node, a, 400_000n + i);
      await fundWallet(btcd.node, b, 400_000n);
      await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
      const open = async (from: TestNode, to: TestNode): Promise<Channel> => {
        const r = await from.channels.fundChannel({ peerId: to.id, amountSat: 300_000n, pushMsat: 50_000_000n, feeratePerKw: 1000 });
        await until(() => to.channels.get(r.channelId), `${to === a ? 'A' : 'B'} knows channel ${r.channelId}`);
        return a.channels.get(r.channelId)!;
      };
      const badSig = await open(a, b);
      const badFee = await open(b, a);
      const stray = await open(a, b);
      const ahead = await open(a, b);
      const failing = [badSig, badFee, stray, ahead];
      const normal = (chs: Channel[]): boolean => chs.every((c) => c.data.state === 'CHANNELD_NORMAL' && b.channels.get(c.id)?.data.state === 'CHANNELD_NORMAL');
      await btcd.node.mineUntil(() => normal(failing), 'four channels NORMAL on both sides', { maxBlocks: 6 });

      // Reestablish ahead of A: the peer goes away, then claims, without proof, that A revoked commitments it never had.
      await a.node.peers.disconnect(Buffer.from(b.id, 'hex'));
      await until(() => !ahead.connected, 'A sees the disconnection');
      const reestablish = viaCodec({
        type: ChannelMessageType.CHANNEL_REESTABLISH,
        channelId: ahead.data.channelId,
        nextCommitmentNumber: ahead.data.remoteCommit.index + 1n,
        nextRevocationNumber: ahead.data.localCommit.index + 5n,
        yourLastPerCommitmentSecret: randomBytes(32),
        myCurrentPerCommitmentPoint: secp.publicKey(Buffer.alloc(32, 0x21)),
        extraTlvs: [],
      });
      await withTimeout(ahead.handle(reestablish), 10_000, 'A handles the reestablish that fails the channel');
      await until(() => [badSig, badFee, stray].every((c) => c.usable), { what: 'the other channels reestablished', timeoutMs: 30_000 });

      // The fifth channel: its funding transaction waits in the mempool for the next block.
      const later = await open(a, b);

      // The other three paths, sent by B over the wire.
      const send = (msg: ChannelMessage): void => assert.ok(b.node.peers.peer(a.id)!.send({ type: msg.type, unknown: true, payload: channelMessagePayload(msg) }), 'sent');
      send({ type: ChannelMessageType.UPDATE_ADD_HTLC, channelId: badSig.data.channelId, id: badSig.data.remoteNextHtlcId, amountMsat: 5_000_000n, paymentHash: randomBytes(32), cltvExpiry: 1000, onionRoutingPacket: Buffer.alloc(ONION_PACKET_SIZE), extraTlvs: [] });
      send({ type: ChannelMessageType.COMMITMENT_SIGNED, channelId: badSig.data.channelId, signature: foreignSig(), htlcSignatures: [foreignSig()], extraTlvs: [] });
      send({ type: ChannelMessageType.UPDATE_FEE, channelId: badFee.data.channelId, feeratePerKw: 100, extraTlvs: [] });
      send({ type: ChannelMessageType.REVOKE_AND_ACK, channelId: stray.data.channelId, perCommitmentSecret: randomBytes(32), nextPerCommitmentPoint: secp.publicKey(Buffer.alloc(32, 0x22)), extraTlvs: [] });
      await until(() => failing.every((c) => c.data.state === 'AWAITING_UNILATERAL'), { what: 'A fails the four channels', timeoutMs: 15_000 });
      const reasons = [/commitment_signed: bad commitment signature/, /update_fee: feerate 100 below 253/, /revoke_and_ack without a commitment_signed/, /your_last_per_commitment_secret does not match \(next_revocation_number 5, ours 0\)/];
      failing.forEach((c, i) => assert.match(c.data.failure ?? '', reasons[i]!));

      // (a) A's latest commitment of each is in btcd's mempool.
      const commitments = failing.map((c) => c.data.localCommit.txid);
      await until(async () => {
        const pool = await btcd.node.getRawMempool();
        return commitments.every((t) => pool.includes(t));
      }, 'the four commitments in the mempool');

      // (b) The failure is on disk: read back from A's database.
      const file = join(a.dir, 'regtest', DATABASE_FILE);
      assert.ok(existsSync(file), file);
      const store = await openSqliteStore(file);
      try {
        const rows = new Map((await store.channelData.loadAll()).map((r) => [r.channelId, decodeChannelData(r.data)]));
        failing.forEach((c, i) => {
          assert.equal(rows.get(c.id)?.state, 'AWAITING_UNILATERAL', `channel ${i} persisted as failed`);
          assert.match(rows.get(c.id)?.failure ?? '', reasons[i]!);
        });
      } finally {
        await store.close();
      }

      // (c) The next blocks are processed for every channel: each commitment's spend is seen, the fifth
      // channel reaches its depth and is NORMAL, and A follows the chain.
      await btcd.node.mineUntil(
        () => failing.every((c, i) => c.data.onchain?.spendTxid === commitments[i] && c.data.state === 'FUNDING_SPEND_SEEN') && normal([later]),
        'the spends seen and the fifth channel NORMAL',
        { maxBlocks: 3, settleMs: 5000 },
      );
      const height = a.channels.blockHeight;
      await btcd.node.generate(1);
      await until(() => a.channels.blockHeight > height, 'A processes the block after');

      // (d) A stops.
      await withTimeout(a.stop(), 15_000, 'A stops');
      nodes.splice(nodes.indexOf(a), 1);
    } finally {
      for (const n of nodes) await withTimeout(n.stop(), 15_000, 'node stops').catch(() => undefined);
    }
  });
});
