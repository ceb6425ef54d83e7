/**
 * Failing a channel from inside its message handler (issue 13 item 1), on the in-memory pair: for each
 * path — a bad commitment signature, an update_fee out of range, an unsolicited revoke_and_ack, a
 * channel_reestablish ahead of us — handle() settles, AWAITING_UNILATERAL is persisted with the reason,
 * our latest commitment is handed over for publication once, and a message queued behind the failing
 * one changes nothing. And the chain side (funding depth, the funding output's spend) never waits on a
 * channel whose queue is stuck. (The same paths on real nodes and btcd: fail-btcd.test.ts.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import pino from 'pino';
import { Channel } from '../../src/channel/channel.js';
import { Funding, type FundingContext } from '../../src/channel/funding.js';
import { Sweeper, type SweeperContext } from '../../src/channel/onchain/sweeper.js';
import { ChannelMessageType, decodeChannelMessage, type ChannelMessage } from '../../src/channel/messages.js';
import { decodeChannelData, encodeChannelData } from '../../src/channel/state.js';
import { sleep, until, withTimeout } from '../harness/wait.js';
import { makePair, normalPair, PAIR_WAIT, type Pair, type Side } from './pair.js';

const hashOf = (p: Buffer): Buffer => createHash('sha256').update(p).digest();

/** A revoke_and_ack nobody asked for: fails any channel not waiting for one. */
function strayRevoke(p: Pair, to: Side): ChannelMessage {
  const from = to === p.a ? p.b : p.a;
  return { type: ChannelMessageType.REVOKE_AND_ACK, channelId: to.channel.data.channelId, perCommitmentSecret: from.keys.secret(0n), nextPerCommitmentPoint: from.keys.point(2n), extraTlvs: [] };
}

/** A channel_reestablish to B saying B revoked two commitments more than it has, with `secret` as the last one. */
function reestablishAhead(p: Pair, secret: Buffer): ChannelMessage {
  const d = p.b.channel.data;
  return {
    type: ChannelMessageType.CHANNEL_REESTABLISH,
    channelId: d.channelId,
    nextCommitmentNumber: d.remoteCommit.index + 1n,
    nextRevocationNumber: d.localCommit.index + 3n,
    yourLastPerCommitmentSecret: secret,
    myCurrentPerCommitmentPoint: p.a.keys.point(0n),
    extraTlvs: [],
  };
}

/** Hands `bad` to `side`, with a stray revoke_and_ack queued right behind it; checks what failing left. */
async function failWith(p: Pair, side: Side, bad: ChannelMessage, reason: RegExp): Promise<void> {
  const ch = side.channel;
  const latest = ch.data.localCommit.txid;
  const first = ch.handle(bad);
  const second = ch.handle(strayRevoke(p, side));
  await withTimeout(Promise.all([first, second]), 5000, 'handle() of the failing message and the one behind it');
  assert.equal(side.failures.length, 1, `failed once, for the first message only: ${side.failures.join(' | ')}`);
  assert.match(side.failures[0]!, reason);
  const stored = decodeChannelData(side.persisted);
  assert.equal(stored.state, 'AWAITING_UNILATERAL', 'the failure is persisted');
  assert.match(stored.failure ?? '', reason);
  assert.deepEqual(side.published.map((c) => c.txid), [latest], 'our latest commitment is handed over for publication');
  assert.equal(ch.data.localCommit.txid, latest, 'nothing after the failure changed our commitment');
  assert.equal(ch.open, false);
}

describe('a channel failed inside its message handler', () => {
  test('commitment_signed with a bad signature', async () => {
    const p = await normalPair();
    p.b.hold = true;
    await p.a.channel.addHtlc({ amountMsat: 10_000_000n, paymentHash: hashOf(Buffer.alloc(32, 5)), cltvExpiry: 500 });
    await until(() => p.b.held.length >= 2, { what: 'update and commitment_signed held', ...PAIR_WAIT });
    // B takes the update, then a commitment_signed whose signature is someone else's.
    await p.b.channel.handle(decodeHeld(p.b.held[0]!));
    const commit = decodeHeld(p.b.held[1]!) as Extract<ChannelMessage, { type: typeof ChannelMessageType.COMMITMENT_SIGNED }>;
    p.b.held.splice(0);
    const forged = Buffer.from(commit.signature);
    forged[10]! ^= 0x01;
    await failWith(p, p.b, { ...commit, signature: forged }, /commitment_signed: .*signature/);
  });

  test('update_fee below the 253 sat/kw floor (invalid whatever the cap)', async () => {
    const p = await normalPair();
    await failWith(p, p.b, { type: ChannelMessageType.UPDATE_FEE, channelId: p.b.channel.data.channelId, feeratePerKw: 100, extraTlvs: [] }, /update_fee: feerate 100 below 253/);
  });

  test('an unsolicited revoke_and_ack', async () => {
    const p = await normalPair();
    await failWith(p, p.a, strayRevoke(p, p.a), /revoke_and_ack without a commitment_signed/);
  });

  test('channel_reestablish with a next_revocation_number ahead of ours', async () => {
    const p = await normalPair();
    await p.disconnect();
    await failWith(p, p.b, reestablishAhead(p, Buffer.alloc(32, 0x33)), /your_last_per_commitment_secret does not match \(next_revocation_number 3, ours 0\)/);
  });

  test('channel_reestablish proving we lost state: failed, but our revoked commitment is never published (BOLT 2)', async () => {
    const p = await normalPair();
    await p.disconnect();
    const ch = p.b.channel;
    // The peer shows the secret of a commitment we do not have yet: only we could have revealed it.
    await withTimeout(ch.handle(reestablishAhead(p, p.b.keys.secret(ch.data.localCommit.index + 2n))), 5000, 'handle()');
    const stored = decodeChannelData(p.b.persisted);
    assert.equal(stored.state, 'AWAITING_UNILATERAL');
    assert.equal(stored.lostState, true);
    assert.match(stored.failure ?? '', /we lost state/);
    assert.deepEqual(p.b.failures.length, 1);
    assert.deepEqual(p.b.published, [], 'no commitment handed over');
    // Nor on any later block.
    const sent: string[] = [];
    const sweeper = new Sweeper({ chain: { sendRawTransaction: async (hex: string) => void sent.push(hex) }, log: pino({ level: 'silent' }) } as unknown as SweeperContext);
    await sweeper.onBlock(ch, 200);
    assert.deepEqual(sent, []);
    // A channel failed for another reason is published again on every block.
    const q = await normalPair();
    await q.b.channel.handle({ type: ChannelMessageType.UPDATE_FEE, channelId: q.b.channel.data.channelId, feeratePerKw: 100, extraTlvs: [] });
    await sweeper.onBlock(q.b.channel, 200);
    assert.equal(sent.length, 1);
  });
});

describe('the chain side and a channel whose queue is stuck', () => {
  test('funding depth and the funding spend are recorded without waiting on the channel', async () => {
    const p = makePair();
    const log = pino({ level: 'silent' });
    let stored = '';
    const ch = new Channel(decodeChannelData(p.a.persisted), {
      keys: p.a.keys,
      log,
      send: () => true,
      persist: async (d) => void (stored = encodeChannelData(d)),
      revoked: async () => undefined,
      // A wallet that never answers: shutdown() waits for it forever, holding the channel's queue.
      shutdownScript: () => new Promise<Buffer>(() => undefined),
      closingFeerate: async () => 1000n,
      feerateRange: async () => ({ min: 253n, max: 10_000n }),
      fail: async () => undefined,
      publishClosing: async () => undefined,
    });
    ch.startFresh();
    void ch.shutdown();
    const probe = await Promise.race([ch.connect().then(() => 'ran'), sleep(100).then(() => 'stuck')]);
    assert.equal(probe, 'stuck', 'the queue is stuck');
    await ch.fundingConfirmed(100, 1);
    const funding = new Funding({ log, publish: async () => undefined, registry: { all: () => [ch] } } as unknown as FundingContext);
    await withTimeout(funding.onBlock(ch, 100), 2000, 'the block at funding depth handled');
    await withTimeout(ch.setOnchainState('FUNDING_SPEND_SEEN'), 2000, 'the funding spend recorded');
    assert.equal(decodeChannelData(stored).state, 'FUNDING_SPEND_SEEN');
  });
});

function decodeHeld(bytes: Buffer): ChannelMessage {
  return decodeChannelMessage(bytes.readUInt16BE(0), bytes.subarray(2));
}
