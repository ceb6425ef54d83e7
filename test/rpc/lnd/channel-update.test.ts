/**
 * Failure.channel_update (channel-update.ts): a BOLT 4 failure's enclosed channel_update as
 * lnrpc.ChannelUpdate — every field of a signed update, with or without the 2-byte type BOLT 4 puts
 * before it, the bytes after it as extra_opaque_data; and, as a decoder of bytes a remote node chose,
 * random and mutated input gives a value or undefined, never an exception.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp } from '../../../src/crypto/secp256k1.js';
import { GossipMessageType } from '../../../src/gossip/messages.js';
import { signChannelUpdate } from '../../../src/gossip/validate.js';
import { lndChannelUpdate } from '../../../src/rpc/lnd/channel-update.js';
import { mutate, mutationsArb } from '../../wire/mutations.js';

const RUNS = { numRuns: Number(process.env.ONION_PROPERTY_RUNS ?? 200) };
const key = Buffer.alloc(32, 0x42);
const chain = Buffer.alloc(32, 0x06);

function signed(): Buffer {
  const { payload } = signChannelUpdate(
    {
      type: GossipMessageType.CHANNEL_UPDATE,
      chainHash: chain,
      shortChannelId: (700_123n << 40n) | (45n << 16n) | 1n,
      timestamp: 1_700_000_123,
      messageFlags: 1,
      channelFlags: 1,
      cltvExpiryDelta: 80,
      htlcMinimumMsat: 1_000n,
      feeBaseMsat: 1_001,
      feeProportionalMillionths: 250,
      htlcMaximumMsat: 990_000_000n,
    },
    (digest) => secp.sign(digest, key),
  );
  return payload;
}
const typed = (payload: Buffer): Buffer => Buffer.concat([Buffer.from([0x01, 0x02]), payload]);

describe('Failure.channel_update', () => {
  it('every field of the update, the 2-byte type dropped, trailing bytes as extra_opaque_data', () => {
    const payload = signed();
    const u = lndChannelUpdate(typed(Buffer.concat([payload, Buffer.from('beef', 'hex')])))!;
    assert.deepEqual(u, {
      signature: payload.subarray(0, 64),
      chain_hash: chain,
      chan_id: String((700_123n << 40n) | (45n << 16n) | 1n),
      timestamp: 1_700_000_123,
      message_flags: 1,
      channel_flags: 1,
      time_lock_delta: 80,
      htlc_minimum_msat: '1000',
      base_fee: 1_001,
      fee_rate: 250,
      htlc_maximum_msat: '990000000',
      extra_opaque_data: Buffer.from('beef', 'hex'),
    });
    // Sent without the type (as some implementations did), the same update.
    assert.deepEqual(lndChannelUpdate(payload), { ...u, extra_opaque_data: Buffer.alloc(0) });
  });

  it('a truncated update is left out', () => {
    assert.equal(lndChannelUpdate(typed(signed().subarray(0, 100))), undefined);
    assert.equal(lndChannelUpdate(Buffer.alloc(0)), undefined);
  });

  it('property: random and mutated bytes give an update or undefined, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const u = lndChannelUpdate(Buffer.from(b));
        assert.ok(u === undefined || typeof u.chan_id === 'string');
      }),
      RUNS,
    );
    const base = typed(signed());
    fc.assert(
      fc.property(mutationsArb, fc.boolean(), (ms, nearEnd) => {
        const u = lndChannelUpdate(mutate(base, ms, nearEnd));
        assert.ok(u === undefined || typeof u.chan_id === 'string');
      }),
      RUNS,
    );
  });
});
