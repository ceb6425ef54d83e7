/**
 * The switch forwards by alias (payment/forward.ts over channel/alias.ts), on a real store, over small
 * in-memory channel fakes: an onion naming our alias of a private channel (what its peer put in its
 * invoices' route hints) goes over that channel, recorded by its real scid; one naming the peer's alias
 * (its name for its own side) is `unknown_next_peer`; a refusal on a channel named by our alias carries a
 * channel_update, signed by us, whose short_channel_id is that alias (as LDK answers for the scid the
 * onion used) rather than the real scid's update.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, it } from 'node:test';
import type { Channel } from '../../src/channel/channel.js';
import type { ChannelData, HtlcAdd } from '../../src/channel/state.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { decodeGossipMessage, GossipMessageType, scidToString, type ChannelUpdate } from '../../src/gossip/messages.js';
import { SIGNED_FROM, signedDigest } from '../../src/gossip/validate.js';
import { attributeFailure } from '../../src/onion/failure-onion.js';
import { FailureCode } from '../../src/onion/failure.js';
import { encodeHopPayload } from '../../src/onion/payload.js';
import { createOnion, peelOnion } from '../../src/onion/sphinx.js';
import { Forwarder } from '../../src/payment/forward.js';
import { openStore, type Store } from '../../src/store/database.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';
import { testLogger } from '../harness/daemon.js';
import { forEachBackend } from '../store/backends.js';

const ourKey = Buffer.alloc(32, 0x41);
const ourId = secp.publicKey(ourKey);
const nextKey = Buffer.alloc(32, 0x42);
const nextId = secp.publicKey(nextKey);
const prevId = secp.publicKey(Buffer.alloc(32, 0x43)).toString('hex');
const policy = { cltvExpiryDelta: 40, feeBaseMsat: 1000, feeProportionalMillionths: 100 };
const HEIGHT = 700;
const REAL = '600x1x0';
const OUR_ALIAS = '16000123x45x6';
const THEIR_ALIAS = '16200000x1x1';

/** A channel as the switch reads it: NORMAL, usable, the peer opened it (so no commitment fee of ours). */
function channel(id: string, peerId: string, names: Partial<ChannelData>) {
  const limits = { channelReserveSat: 0n, maxHtlcValueInFlightMsat: 1_000_000_000n };
  const changes = () => ({ proposed: [] as unknown[], signed: [], acked: [] });
  const spec = { htlcs: [] as unknown[], toLocalMsat: 400_000_000n, toRemoteMsat: 400_000_000n };
  const base = { channelId: Buffer.from(id, 'hex'), peerId, state: 'CHANNELD_NORMAL', opener: 'remote', fundingSat: 1_000_000n, localNextHtlcId: 0n };
  const data = { ...base, local: limits, remote: { ...limits, htlcMinimumMsat: 1n }, localCommit: { spec }, localChanges: changes(), remoteChanges: changes(), ...names } as unknown as ChannelData;
  const ch = {
    id,
    usable: true,
    open: true,
    data,
    offered: [] as bigint[],
    failedUp: [] as Buffer[],
    async addHtlc(h: { amountMsat: bigint; beforeSend?: (id: bigint) => Promise<void> }) {
      const htlcId = data.localNextHtlcId++;
      await h.beforeSend?.(htlcId);
      ch.offered.push(h.amountMsat);
      return htlcId;
    },
    async failHtlc(htlcId: bigint, reason: Buffer) {
      ch.failedUp.push(reason);
      (data.localChanges.proposed as unknown[]).push({ kind: 'fail', id: htlcId, reason });
    },
    once() {},
  };
  return ch;
}

forEachBackend('HTLC switch by scid alias', ({ location }) => {
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });

  async function forwardNaming(scid: string, feeShortMsat = 0n) {
    const store = await openStore(await location());
    stores.push(store);
    const inCh = channel('a1'.repeat(32), prevId, { shortChannelId: '500x1x0' });
    const out = channel('b2'.repeat(32), nextId.toString('hex'), { shortChannelId: REAL, localAlias: OUR_ALIAS, remoteAlias: THEIR_ALIAS, announce: false });
    const channels = [inCh, out] as unknown as Channel[];
    // The announcer's update for the channel names its real scid: a failure named by alias must not use it.
    const realUpdate = Buffer.alloc(130, 7);
    const fwd = new Forwarder({
      channels: { list: () => channels, get: (id) => channels.find((c) => c.id === id) },
      store: store.forwards,
      nodeId: ourId,
      nodeKey: ourKey,
      chainHash: CHAIN_HASH.regtest,
      policyOf: () => policy,
      channelUpdateOf: () => realUpdate,
      blockHeight: () => HEIGHT,
      log: testLogger(),
    });
    await fwd.start();
    const amt = 5_000_000n;
    const paymentHash = sha256(randomBytes(32));
    const cltv = HEIGHT + 50;
    const { packet, sharedSecrets } = createOnion({
      sessionKey: randomBytes(32),
      associatedData: paymentHash,
      hops: [
        { nodeId: ourId, payload: encodeHopPayload({ amtToForward: amt, outgoingCltvValue: cltv, shortChannelId: scid }) },
        { nodeId: nextId, payload: encodeHopPayload({ amtToForward: amt, outgoingCltvValue: cltv, paymentData: { paymentSecret: randomBytes(32), totalMsat: amt } }) },
      ],
    });
    const htlc: HtlcAdd = { id: 0n, amountMsat: amt + 1000n + (amt * 100n) / 1_000_000n - feeShortMsat, paymentHash, cltvExpiry: cltv + 40, onion: packet };
    (inCh.data.localCommit.spec.htlcs as unknown[]).push({ direction: 'received', add: htlc });
    const peeled = peelOnion(packet, ourKey, paymentHash);
    if (peeled.kind !== 'forward') throw new Error('not a forward');
    await fwd.forward(inCh as unknown as Channel, htlc, peeled.payload, peeled.sharedSecret, peeled.nextOnion);
    const failure = inCh.failedUp[0] && attributeFailure(sharedSecrets, inCh.failedUp[0]);
    return { out, failure, records: await store.forwards.list() };
  }

  it('an onion naming our alias of the channel forwards over it, recorded by its real scid', async () => {
    const { out, failure, records } = await forwardNaming(OUR_ALIAS);
    assert.equal(failure, undefined);
    assert.deepEqual(out.offered, [5_000_000n]);
    assert.deepEqual(records.map((r) => [r.status, r.outChannel, r.outScid]), [['offered', out.id, REAL]]);
  });

  it('the real scid still forwards; the peer’s alias is unknown_next_peer', async () => {
    assert.deepEqual((await forwardNaming(REAL)).out.offered, [5_000_000n]);
    const { out, failure } = await forwardNaming(THEIR_ALIAS);
    assert.deepEqual(out.offered, []);
    assert.deepEqual([failure?.hopIndex, failure?.failure?.code], [0, FailureCode.UNKNOWN_NEXT_PEER]);
  });

  it("a refusal over our alias carries our channel_update naming the alias, signed by us", async () => {
    const { out, failure } = await forwardNaming(OUR_ALIAS, 1n);
    assert.deepEqual(out.offered, []);
    assert.deepEqual([failure?.hopIndex, failure?.failure?.code], [0, FailureCode.FEE_INSUFFICIENT]);
    const bytes = (failure!.failure as { channelUpdate: Buffer }).channelUpdate;
    assert.equal(bytes.readUInt16BE(0), GossipMessageType.CHANNEL_UPDATE);
    const payload = bytes.subarray(2);
    const u = decodeGossipMessage(GossipMessageType.CHANNEL_UPDATE, payload) as ChannelUpdate;
    assert.equal(scidToString(u.shortChannelId), OUR_ALIAS);
    assert.deepEqual([u.feeBaseMsat, u.feeProportionalMillionths, u.cltvExpiryDelta], [policy.feeBaseMsat, policy.feeProportionalMillionths, policy.cltvExpiryDelta]);
    assert.ok(secp.verify(signedDigest(payload, SIGNED_FROM.channelUpdate), ourId, u.signature));
  });
});
