/**
 * Short channel id aliases (channel/alias.ts): drawn in LND's range and never equal to a name one of our
 * channels already has; the channel for an onion's scid (the real scid first, then our own alias — never
 * the peer's); channel_ready's TLV 1 both ways (any bytes read without a crash). Over two real Channel
 * engines (test/channel/pair.ts): each side's channel_ready carries its alias, the other stores it as
 * the remote alias, and both survive a restart from the persisted state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ALIAS_END_BLOCK, ALIAS_FIRST_BLOCK, aliasFromTlv, aliasTlv, channelByScid, isAliasScid, newLocalAlias } from '../../src/channel/alias.js';
import { ChannelMessageType } from '../../src/channel/messages.js';
import { decodeChannelData } from '../../src/channel/state.js';
import { until } from '../harness/wait.js';
import { makePair, PAIR_WAIT } from './pair.js';

const named = (shortChannelId?: string, localAlias?: string, remoteAlias?: string) => ({ data: { shortChannelId, localAlias, remoteAlias } });

describe('scid aliases', () => {
  it('are drawn in the alias range, each different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const a = newLocalAlias([]);
      const block = Number(a.split('x')[0]);
      assert.ok(block >= ALIAS_FIRST_BLOCK && block < ALIAS_END_BLOCK, a);
      assert.ok(isAliasScid(a));
      seen.add(a);
    }
    assert.equal(seen.size, 200);
    assert.equal(isAliasScid('103x1x0'), false);
  });

  it('never repeat a real scid or an alias one of our channels has: a colliding draw is drawn again', () => {
    // The first two draws give the names channels already have; the third is new.
    const draws = [Buffer.alloc(9, 0), Buffer.alloc(9, 1), Buffer.alloc(9, 2)];
    const [first, second, third] = draws.map((d) => newLocalAlias([], () => d));
    let n = 0;
    const got = newLocalAlias([named('103x1x0', first), named('104x1x0', undefined, second)], () => draws[n++]!);
    assert.equal(got, third);
    assert.equal(n, 3);
  });

  it("find the channel an onion names: its real scid, or our alias of it — not the peer's", () => {
    const a = named('103x1x0', '16000001x2x3', '16100000x9x9');
    const b = named('104x1x0', '16000002x0x0');
    const chans = [a, b];
    assert.equal(channelByScid(chans, '103x1x0'), a);
    assert.equal(channelByScid(chans, '16000001x2x3'), a);
    assert.equal(channelByScid(chans, '16000002x0x0'), b);
    assert.equal(channelByScid(chans, '16100000x9x9'), undefined, "the peer's alias names its own side");
    assert.equal(channelByScid(chans, '105x1x0'), undefined);
  });

  it("channel_ready's TLV 1: our alias written, any bytes read without a crash", () => {
    assert.deepEqual(aliasTlv({}), {});
    const tlv = aliasTlv({ localAlias: '16000001x2x3' }).shortChannelIdAlias!;
    assert.equal(tlv.toString('hex'), 'f42401' + '000002' + '0003');
    assert.equal(aliasFromTlv(tlv), '16000001x2x3');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        const a = aliasFromTlv(b);
        assert.ok(a === undefined ? b.length !== 8 : /^\d+x\d+x\d+$/.test(a));
      }),
    );
  });

  it('each side sends its alias in channel_ready and keeps the other’s; both survive a restart', async () => {
    const p = makePair();
    await p.connect();
    await p.a.channel.fundingLocked('100x1x0', '16000001x1x1');
    await p.b.channel.fundingLocked('100x1x0', '16000002x2x2');
    await until(() => p.a.channel.data.state === 'CHANNELD_NORMAL' && p.b.channel.data.state === 'CHANNELD_NORMAL', { what: 'both NORMAL', ...PAIR_WAIT });
    assert.ok(p.a.sent.includes(ChannelMessageType.CHANNEL_READY));
    const names = (d: { localAlias?: string; remoteAlias?: string }) => [d.localAlias, d.remoteAlias];
    assert.deepEqual(names(p.a.channel.data), ['16000001x1x1', '16000002x2x2']);
    assert.deepEqual(names(p.b.channel.data), ['16000002x2x2', '16000001x1x1']);
    // Persisted: what a restart reads.
    assert.deepEqual(names(decodeChannelData(p.a.persisted)), ['16000001x1x1', '16000002x2x2']);
    assert.deepEqual(names(decodeChannelData(p.b.persisted)), ['16000002x2x2', '16000001x1x1']);
    await p.disconnect();
    p.restart(p.a);
    p.restart(p.b);
    await p.connect();
    assert.deepEqual(names(p.a.channel.data), ['16000001x1x1', '16000002x2x2']);
    assert.deepEqual(names(p.b.channel.data), ['16000002x2x2', '16000001x1x1']);
    // A second fundingLocked (every block) never draws a new alias.
    await p.a.channel.fundingLocked('100x1x0', '16000009x9x9');
    assert.equal(p.a.channel.data.localAlias, '16000001x1x1');
  });
});
