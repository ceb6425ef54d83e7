/**
 * Route hints for our private channels (payment/route-hints.ts): the hop names the peer's alias (the real
 * scid when it sent none) with the fees and CLTV delta of the peer's own signed channel_update for its
 * direction (the newest; a forged, other-direction or disabling one never used; none: no hint); CLN's
 * `exposeprivatechannels` (unset: only when no public channel can take the amount; true; false; a list,
 * 902's NONE_USABLE when none of it can be a hint); channels able to take the amount first.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secp } from '../../src/crypto/secp256k1.js';
import { GossipMessageType, scidFromString } from '../../src/gossip/messages.js';
import { signChannelUpdate } from '../../src/gossip/validate.js';
import { routeHints, type HintChannel, type HintRequest } from '../../src/payment/route-hints.js';
import { CHAIN_HASH } from '../../src/wire/messages.js';

const usKey = Buffer.alloc(32, 0x51);
const us = secp.publicKey(usKey);
const peerKey = (i: number): Buffer => Buffer.alloc(32, 0x60 + i);
const peer = (i: number): string => secp.publicKey(peerKey(i)).toString('hex');
/** The direction whose origin is `from` (BOLT 7: 0 when it is the smaller node id). */
const dirFrom = (from: Buffer, to: Buffer): number => (Buffer.compare(from, to) < 0 ? 0 : 1);

function update(i: number, scid: string, p: { fee: number; ppm: number; cltv: number; ts?: number; disabled?: boolean; signer?: Buffer; direction?: number }): Buffer {
  const from = secp.publicKey(peerKey(i));
  return signChannelUpdate(
    {
      type: GossipMessageType.CHANNEL_UPDATE,
      chainHash: CHAIN_HASH.regtest,
      shortChannelId: scidFromString(scid)!,
      timestamp: p.ts ?? 1000,
      messageFlags: 1,
      channelFlags: (p.direction ?? dirFrom(from, us)) | (p.disabled ? 2 : 0),
      cltvExpiryDelta: p.cltv,
      htlcMinimumMsat: 1n,
      feeBaseMsat: p.fee,
      feeProportionalMillionths: p.ppm,
      htlcMaximumMsat: 1_000_000_000n,
    },
    (d) => secp.sign(d, p.signer ?? peerKey(i)),
  ).payload;
}

function chan(i: number, over: Partial<HintChannel> = {}): HintChannel {
  return { peerId: peer(i), shortChannelId: `10${i}x1x0`, private: true, active: true, inboundMsat: 50_000_000n, ...over };
}

function request(channels: HintChannel[], held: Record<string, Buffer[]>, over: Partial<HintRequest> = {}): HintRequest {
  return { nodeId: us, channels, expose: undefined, amountMsat: 10_000_000n, updatesOf: (scid) => held[scid.toString()] ?? [], ...over };
}
const key = (scid: string): string => scidFromString(scid)!.toString();
const hops = (r: ReturnType<typeof routeHints>) => ('hints' in r ? r.hints.map((h) => h.map((x) => [x.nodeId.toString('hex'), x.shortChannelId, x.feeBaseMsat, x.feeProportionalMillionths, x.cltvExpiryDelta])) : r.error);

describe('invoice route hints over private channels', () => {
  it("name the peer's alias with the fees of its newest channel_update for its direction", () => {
    const c = chan(1, { remoteAlias: '16000005x1x1', localAlias: '16000001x0x0' });
    const held = {
      [key('101x1x0')]: [update(1, '101x1x0', { fee: 1000, ppm: 10, cltv: 40, ts: 1000 }), update(1, '101x1x0', { fee: 2000, ppm: 20, cltv: 50, ts: 2000 })],
      // Held under the alias we gave the peer too (an unconfirmed channel's update names it): older here.
      [key('16000001x0x0')]: [update(1, '16000001x0x0', { fee: 1500, ppm: 15, cltv: 45, ts: 1500 })],
    };
    assert.deepEqual(hops(routeHints(request([c], held))), [[[peer(1), '16000005x1x1', 2000, 20, 50]]]);
    // Without an alias from the peer: the real scid.
    assert.deepEqual(hops(routeHints(request([chan(1)], held))), [[[peer(1), '101x1x0', 2000, 20, 50]]]);
  });

  it('never take fees from a forged, other-direction or disabling update; no update, no hint', () => {
    const forged = { [key('101x1x0')]: [update(1, '101x1x0', { fee: 1, ppm: 1, cltv: 9, signer: peerKey(9) })] };
    assert.deepEqual(hops(routeHints(request([chan(1)], forged))), []);
    const ours = dirFrom(us, secp.publicKey(peerKey(1)));
    const otherDir = { [key('101x1x0')]: [update(1, '101x1x0', { fee: 1, ppm: 1, cltv: 9, direction: ours })] };
    assert.deepEqual(hops(routeHints(request([chan(1)], otherDir))), []);
    const disabled = { [key('101x1x0')]: [update(1, '101x1x0', { fee: 1, ppm: 1, cltv: 9, disabled: true })] };
    assert.deepEqual(hops(routeHints(request([chan(1)], disabled))), []);
    assert.deepEqual(hops(routeHints(request([chan(1)], {}))), []);
  });

  it("exposeprivatechannels: unset only without a public channel able to receive; true; false; a list (902 when none usable)", () => {
    const held = { [key('101x1x0')]: [update(1, '101x1x0', { fee: 1, ppm: 2, cltv: 30 })], [key('102x1x0')]: [update(2, '102x1x0', { fee: 3, ppm: 4, cltv: 31 })] };
    const priv = [chan(1), chan(2, { inboundMsat: 90_000_000n })];
    const pub = chan(3, { private: false });
    // Most inbound first.
    assert.deepEqual(hops(routeHints(request(priv, held))), [[[peer(2), '102x1x0', 3, 4, 31]], [[peer(1), '101x1x0', 1, 2, 30]]]);
    assert.deepEqual(hops(routeHints(request([...priv, pub], held))), [], 'a public channel can receive it');
    assert.equal((hops(routeHints(request([...priv, { ...pub, inboundMsat: 1n }], held))) as unknown[]).length, 2, 'the public one cannot');
    assert.equal((hops(routeHints(request([...priv, pub], held, { expose: true }))) as unknown[]).length, 2);
    assert.deepEqual(hops(routeHints(request(priv, held, { expose: false }))), []);
    assert.deepEqual(hops(routeHints(request(priv, held, { expose: ['101x1x0'] }))), [[[peer(1), '101x1x0', 1, 2, 30]]]);
    assert.equal(hops(routeHints(request(priv, held, { expose: ['109x1x0'] }))), 'NONE_USABLE');
    assert.equal(hops(routeHints(request([chan(1, { active: false })], held, { expose: ['101x1x0'] }))), 'NONE_USABLE', 'offline');
  });

  it('prefer channels that can receive the whole amount; with none, every usable one (MPP)', () => {
    const held = { [key('101x1x0')]: [update(1, '101x1x0', { fee: 1, ppm: 2, cltv: 30 })], [key('102x1x0')]: [update(2, '102x1x0', { fee: 3, ppm: 4, cltv: 31 })] };
    const small = [chan(1, { inboundMsat: 4_000_000n }), chan(2, { inboundMsat: 20_000_000n })];
    assert.deepEqual((hops(routeHints(request(small, held))) as string[][][]).map((h) => h[0]![1]), ['102x1x0']);
    assert.deepEqual((hops(routeHints(request(small, held, { amountMsat: 30_000_000n }))) as string[][][]).map((h) => h[0]![1]), ['102x1x0', '101x1x0']);
  });
});
