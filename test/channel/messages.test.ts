/**
 * BOLT 2 message codec: layouts, round trips, the TLV extension rule, encode-side validation, and
 * property tests (round trip of arbitrary valid messages; totality on random and mutated bytes).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError, type WireErrorCode } from '../../src/wire/errors.js';
import { encodeTlvStream, type TlvRecord } from '../../src/wire/tlv.js';
import { mutate, mutationsArb } from '../wire/mutations.js';
import {
  ChannelMessageType,
  ONION_PACKET_SIZE,
  channelIdFromFunding,
  channelIdOf,
  channelMessagePayload,
  decodeChannelMessage,
  encodeChannelMessage,
  isChannelMessageType,
  messageName,
  type AcceptChannel,
  type ChannelMessage,
  type ChannelReady,
  type ChannelReestablish,
  type ClosingSigned,
  type CommitmentSigned,
  type FundingCreated,
  type FundingSigned,
  type OpenChannel,
  type RevokeAndAck,
  type Shutdown,
  type UpdateAddHtlc,
  type UpdateFailHtlc,
  type UpdateFailMalformedHtlc,
  type UpdateFee,
  type UpdateFulfillHtlc,
} from '../../src/channel/messages.js';

const RUNS = { numRuns: Number(process.env.WIRE_PROPERTY_RUNS ?? 300) };

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const fill = (n: number, byte: number): Buffer => Buffer.alloc(n, byte);
const point = (b: number): Buffer => Buffer.concat([Buffer.from([0x02]), fill(32, b)]);

function assertWireError(fn: () => unknown, code: WireErrorCode | WireErrorCode[], message?: RegExp): void {
  const codes = Array.isArray(code) ? code : [code];
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WireError, `expected WireError, got ${String(e)}`);
    assert.ok(codes.includes(e.code), `expected ${codes.join('|')}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

/** Run `fn`; a WireError is an acceptable outcome, anything else fails the property. */
function total<T>(fn: () => T): T | WireError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WireError) return e;
    throw e;
  }
}

/** Decode full wire bytes (type + payload) the way the peer layer would hand them over. */
function decodeWire(wire: Buffer): ChannelMessage {
  return decodeChannelMessage(wire.readUInt16BE(0), wire.subarray(2));
}

// ---------------------------------------------------------------------------------------------------
// Representative messages

const CHAIN = hex('06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f'); // regtest
const TEMP_ID = fill(32, 0x11);
const CHAN_ID = fill(32, 0x22);
const SIG_A = fill(64, 0xaa);
const SIG_B = fill(64, 0xbb);
const P2WPKH = hex('0014' + '33'.repeat(20));

const openChannel: OpenChannel = {
  type: 32,
  chainHash: CHAIN,
  temporaryChannelId: TEMP_ID,
  fundingSatoshis: 1_000_000n,
  pushMsat: 10_000n,
  dustLimitSatoshis: 546n,
  maxHtlcValueInFlightMsat: 0xffff_ffff_ffff_ffffn,
  channelReserveSatoshis: 10_000n,
  htlcMinimumMsat: 1n,
  feeratePerKw: 253,
  toSelfDelay: 144,
  maxAcceptedHtlcs: 483,
  fundingPubkey: point(1),
  revocationBasepoint: point(2),
  paymentBasepoint: point(3),
  delayedPaymentBasepoint: point(4),
  htlcBasepoint: point(5),
  firstPerCommitmentPoint: point(6),
  channelFlags: 1,
  upfrontShutdownScript: P2WPKH,
  channelType: hex('101000'), // static_remote_key (12) + anchors_zero_fee_htlc_tx (22)
  extraTlvs: [],
};

const acceptChannel: AcceptChannel = {
  type: 33,
  temporaryChannelId: TEMP_ID,
  dustLimitSatoshis: 354n,
  maxHtlcValueInFlightMsat: 990_000_000n,
  channelReserveSatoshis: 10_000n,
  htlcMinimumMsat: 1000n,
  minimumDepth: 3,
  toSelfDelay: 720,
  maxAcceptedHtlcs: 30,
  fundingPubkey: point(7),
  revocationBasepoint: point(8),
  paymentBasepoint: point(9),
  delayedPaymentBasepoint: point(10),
  htlcBasepoint: point(11),
  firstPerCommitmentPoint: point(12),
  upfrontShutdownScript: Buffer.alloc(0),
  extraTlvs: [],
};

const fundingCreated: FundingCreated = {
  type: 34,
  temporaryChannelId: TEMP_ID,
  fundingTxid: fill(32, 0x44),
  fundingOutputIndex: 1,
  signature: SIG_A,
  extraTlvs: [],
};
const fundingSigned: FundingSigned = { type: 35, channelId: CHAN_ID, signature: SIG_B, extraTlvs: [] };
const channelReady: ChannelReady = {
  type: 36,
  channelId: CHAN_ID,
  secondPerCommitmentPoint: point(13),
  shortChannelIdAlias: hex('0000010000020003'),
  extraTlvs: [],
};
const shutdown: Shutdown = { type: 38, channelId: CHAN_ID, scriptPubkey: P2WPKH, extraTlvs: [] };
const closingSigned: ClosingSigned = {
  type: 39,
  channelId: CHAN_ID,
  feeSatoshis: 183n,
  signature: SIG_A,
  feeRange: { minFeeSatoshis: 100n, maxFeeSatoshis: 1000n },
  extraTlvs: [],
};
const updateAddHtlc: UpdateAddHtlc = {
  type: 128,
  channelId: CHAN_ID,
  id: 7n,
  amountMsat: 50_000_000n,
  paymentHash: fill(32, 0x55),
  cltvExpiry: 800_123,
  onionRoutingPacket: Buffer.concat([Buffer.from([0]), fill(ONION_PACKET_SIZE - 1, 0x66)]),
  blindingPoint: point(14),
  extraTlvs: [],
};
const updateFulfillHtlc: UpdateFulfillHtlc = {
  type: 130,
  channelId: CHAN_ID,
  id: 7n,
  paymentPreimage: fill(32, 0x77),
  extraTlvs: [],
};
const updateFailHtlc: UpdateFailHtlc = {
  type: 131,
  channelId: CHAN_ID,
  id: 8n,
  reason: fill(292, 0x88),
  extraTlvs: [],
};
const updateFailMalformedHtlc: UpdateFailMalformedHtlc = {
  type: 135,
  channelId: CHAN_ID,
  id: 9n,
  sha256OfOnion: fill(32, 0x99),
  failureCode: 0x8000 | 0x4000 | 5, // invalid_onion_hmac
  extraTlvs: [],
};
const commitmentSigned: CommitmentSigned = {
  type: 132,
  channelId: CHAN_ID,
  signature: SIG_A,
  htlcSignatures: [SIG_B, fill(64, 0xcc)],
  extraTlvs: [],
};
const revokeAndAck: RevokeAndAck = {
  type: 133,
  channelId: CHAN_ID,
  perCommitmentSecret: fill(32, 0xdd),
  nextPerCommitmentPoint: point(15),
  extraTlvs: [],
};
const updateFee: UpdateFee = { type: 134, channelId: CHAN_ID, feeratePerKw: 2500, extraTlvs: [] };
const channelReestablish: ChannelReestablish = {
  type: 136,
  channelId: CHAN_ID,
  nextCommitmentNumber: 42n,
  nextRevocationNumber: 41n,
  yourLastPerCommitmentSecret: fill(32, 0xee),
  myCurrentPerCommitmentPoint: point(16),
  extraTlvs: [],
};

/** Sample message and expected payload size without the TLV stream. */
const SAMPLES: { msg: ChannelMessage; fixedSize: number }[] = [
  // 32+32 + 6*8 + 4+2+2 + 6*33 + 1
  { msg: openChannel, fixedSize: 319 },
  // 32 + 4*8 + 4+2+2 + 6*33
  { msg: acceptChannel, fixedSize: 270 },
  { msg: fundingCreated, fixedSize: 32 + 32 + 2 + 64 },
  { msg: fundingSigned, fixedSize: 32 + 64 },
  { msg: channelReady, fixedSize: 32 + 33 },
  { msg: shutdown, fixedSize: 32 + 2 + 22 },
  { msg: closingSigned, fixedSize: 32 + 8 + 64 },
  { msg: updateAddHtlc, fixedSize: 32 + 8 + 8 + 32 + 4 + 1366 },
  { msg: updateFulfillHtlc, fixedSize: 32 + 8 + 32 },
  { msg: updateFailHtlc, fixedSize: 32 + 8 + 2 + 292 },
  { msg: updateFailMalformedHtlc, fixedSize: 32 + 8 + 32 + 2 },
  { msg: commitmentSigned, fixedSize: 32 + 64 + 2 + 2 * 64 },
  { msg: revokeAndAck, fixedSize: 32 + 32 + 33 },
  { msg: updateFee, fixedSize: 32 + 4 },
  { msg: channelReestablish, fixedSize: 32 + 8 + 8 + 32 + 33 },
];

const ALL_TYPES = Object.values(ChannelMessageType) as number[];

// ---------------------------------------------------------------------------------------------------

describe('BOLT 2 message types', () => {
  it('type numbers, names, isChannelMessageType', () => {
    assert.deepEqual(
      ALL_TYPES.map((t) => [t, messageName(t)]),
      [
        [32, 'open_channel'],
        [33, 'accept_channel'],
        [34, 'funding_created'],
        [35, 'funding_signed'],
        [36, 'channel_ready'],
        [38, 'shutdown'],
        [39, 'closing_signed'],
        [40, 'closing_complete'],
        [41, 'closing_sig'],
        [128, 'update_add_htlc'],
        [130, 'update_fulfill_htlc'],
        [131, 'update_fail_htlc'],
        [132, 'commitment_signed'],
        [133, 'revoke_and_ack'],
        [134, 'update_fee'],
        [135, 'update_fail_malformed_htlc'],
        [136, 'channel_reestablish'],
      ],
    );
    for (const t of ALL_TYPES) assert.ok(isChannelMessageType(t));
    for (const t of [0, 1, 16, 17, 18, 19, 37, 42, 64, 72, 129, 137, 256, 65535]) {
      assert.equal(isChannelMessageType(t), false, `type ${t}`);
    }
    assert.equal(messageName(16), 'type 16');
  });

  it('decodeChannelMessage rejects a non-BOLT-2 type with INVALID', () => {
    assertWireError(() => decodeChannelMessage(16, Buffer.alloc(4)), 'INVALID', /not a BOLT 2/);
    assertWireError(
      () => encodeChannelMessage({ ...updateFee, type: 16 } as unknown as ChannelMessage),
      'INVALID',
    );
  });

  it('channelIdOf: temporary id for open/accept/funding_created, channel_id otherwise', () => {
    for (const { msg } of SAMPLES) {
      const expected =
        msg.type === 32 || msg.type === 33 || msg.type === 34 ? TEMP_ID : CHAN_ID;
      assert.deepEqual(channelIdOf(msg), expected, messageName(msg.type));
    }
  });
});

describe('round trips of representative messages', () => {
  for (const { msg, fixedSize } of SAMPLES) {
    it(`${messageName(msg.type)}`, () => {
      const wire = encodeChannelMessage(msg);
      assert.equal(wire.readUInt16BE(0), msg.type);
      const payload = channelMessagePayload(msg);
      assert.deepEqual(wire.subarray(2), payload);
      assert.ok(payload.length >= fixedSize);
      const back = decodeChannelMessage(msg.type, payload);
      assert.deepEqual(back, msg);
      assert.deepEqual(encodeChannelMessage(back), wire);

      // the fixed part alone is a complete message: optional TLVs are simply absent
      const bare = decodeChannelMessage(msg.type, payload.subarray(0, fixedSize));
      for (const key of ['upfrontShutdownScript', 'channelType', 'shortChannelIdAlias', 'feeRange', 'blindingPoint']) {
        assert.equal(key in bare, false, `${key} present`);
      }
      assert.deepEqual(bare.extraTlvs, []);
    });
  }

  it('decoded Buffers do not alias the input', () => {
    for (const { msg } of SAMPLES) {
      const payload = channelMessagePayload(msg);
      const back = decodeChannelMessage(msg.type, payload);
      payload.fill(0x5a);
      assert.deepEqual(back, msg, messageName(msg.type));
    }
  });

  it('accepts a Uint8Array payload that is not a Buffer', () => {
    const payload = channelMessagePayload(closingSigned);
    const copy = new Uint8Array(payload.length + 5).subarray(5);
    copy.set(payload);
    assert.deepEqual(decodeChannelMessage(39, copy), closingSigned);
  });
});

describe('wire layouts (hand-assembled bytes)', () => {
  it('update_fee', () => {
    const wire = encodeChannelMessage(updateFee);
    assert.equal(wire.toString('hex'), '0086' + '22'.repeat(32) + '000009c4');
  });

  it('open_channel field order and TLVs', () => {
    const expected = Buffer.concat([
      hex('0020'),
      CHAIN,
      TEMP_ID,
      hex('00000000000f4240'), // funding_satoshis
      hex('0000000000002710'), // push_msat
      hex('0000000000000222'), // dust_limit_satoshis
      hex('ffffffffffffffff'), // max_htlc_value_in_flight_msat
      hex('0000000000002710'), // channel_reserve_satoshis
      hex('0000000000000001'), // htlc_minimum_msat
      hex('000000fd'), // feerate_per_kw
      hex('0090'), // to_self_delay
      hex('01e3'), // max_accepted_htlcs
      point(1),
      point(2),
      point(3),
      point(4),
      point(5),
      point(6),
      hex('01'), // channel_flags
      hex('0016'), // upfront_shutdown_script: type 0, length 22
      P2WPKH,
      hex('0103101000'), // channel_type: type 1, length 3
    ]);
    assert.deepEqual(encodeChannelMessage(openChannel), expected);
    assert.deepEqual(decodeWire(expected), openChannel);
  });

  it('legacy open_channel with u16 shutdown_len decodes as TLV 0 (same bytes for short scripts)', () => {
    const { upfrontShutdownScript: _s, channelType: _c, ...rest } = openChannel;
    const fixedPart = channelMessagePayload({ ...rest });
    assert.equal(fixedPart.length, 319);
    // pre-TLV form: [u16 shutdown_len][script]
    const legacy = Buffer.concat([fixedPart, hex('0016'), P2WPKH]);
    const m = decodeChannelMessage(32, legacy) as OpenChannel;
    assert.deepEqual(m.upfrontShutdownScript, P2WPKH);
    // 0x0000: a zero-length script, present
    const empty = decodeChannelMessage(32, Buffer.concat([fixedPart, hex('0000')])) as OpenChannel;
    assert.deepEqual(empty.upfrontShutdownScript, Buffer.alloc(0));
  });

  it('funding_created keeps the txid in wire order', () => {
    const txid = Buffer.from([...Array(32).keys()]);
    const payload = channelMessagePayload({ ...fundingCreated, fundingTxid: txid, fundingOutputIndex: 0x0102 });
    assert.deepEqual(payload.subarray(32, 64), txid);
    assert.deepEqual(payload.subarray(64, 66), hex('0102'));
  });

  it('commitment_signed with zero and many HTLC signatures', () => {
    const none = { ...commitmentSigned, htlcSignatures: [] };
    const p = channelMessagePayload(none);
    assert.equal(p.length, 32 + 64 + 2);
    assert.deepEqual(p.subarray(96), hex('0000'));
    assert.deepEqual(decodeChannelMessage(132, p), none);
    const many = { ...commitmentSigned, htlcSignatures: Array.from({ length: 483 }, (_, i) => fill(64, i & 0xff)) };
    assert.deepEqual(decodeWire(encodeChannelMessage(many)), many);
  });

  it('closing_signed fee_range and channel_ready alias bytes', () => {
    const p = channelMessagePayload(closingSigned);
    assert.deepEqual(p.subarray(104), hex('0110' + '0000000000000064' + '00000000000003e8'));
    const r = channelMessagePayload(channelReady);
    assert.deepEqual(r.subarray(65), hex('0108' + '0000010000020003'));
  });

  it('update_add_htlc blinding point is TLV 0 (even, known)', () => {
    const p = channelMessagePayload(updateAddHtlc);
    assert.deepEqual(p.subarray(1450), Buffer.concat([hex('0021'), point(14)]));
  });

  it('channel_reestablish next_funding (TLV 0) is understood', () => {
    const base = channelMessagePayload(channelReestablish);
    const withNext = Buffer.concat([base, hex('0020'), fill(32, 0x31)]);
    const m = decodeChannelMessage(136, withNext) as ChannelReestablish;
    assert.deepEqual(m.nextFundingTxid, fill(32, 0x31));
    assert.deepEqual(channelMessagePayload(m), withNext);
  });
});

describe('truncated and malformed input', () => {
  for (const { msg, fixedSize } of SAMPLES) {
    it(`${messageName(msg.type)}: every prefix is TRUNCATED, or a complete message`, () => {
      const payload = channelMessagePayload(msg);
      for (let n = 0; n < payload.length; n++) {
        const prefix = payload.subarray(0, n);
        if (n < fixedSize) {
          assertWireError(() => decodeChannelMessage(msg.type, prefix), 'TRUNCATED', new RegExp(`^${messageName(msg.type)}: `));
        } else {
          const r = total(() => decodeChannelMessage(msg.type, prefix));
          if (r instanceof WireError) assert.equal(r.code, 'TRUNCATED', r.message);
        }
      }
    });
  }

  it('a length-prefixed field longer than the message is TRUNCATED', () => {
    const p = channelMessagePayload(shutdown);
    p.writeUInt16BE(23, 32);
    assertWireError(() => decodeChannelMessage(38, p), 'TRUNCATED', /^shutdown: scriptpubkey truncated/);
    const c = channelMessagePayload(commitmentSigned);
    c.writeUInt16BE(3, 96);
    assertWireError(() => decodeChannelMessage(132, c), 'TRUNCATED', /^commitment_signed: htlc_signature 2/);
  });

  it('a known TLV of the wrong length is TLV_LENGTH', () => {
    const ready = channelMessagePayload({ ...channelReady, shortChannelIdAlias: undefined });
    assertWireError(
      () => decodeChannelMessage(36, Buffer.concat([ready, hex('0107'), fill(7, 1)])),
      'TLV_LENGTH',
      /^channel_ready: short_channel_id/,
    );
    const closing = channelMessagePayload({ ...closingSigned, feeRange: undefined });
    assertWireError(() => decodeChannelMessage(39, Buffer.concat([closing, hex('0108'), fill(8, 1)])), 'TLV_LENGTH');
    const add = channelMessagePayload({ ...updateAddHtlc, blindingPoint: undefined });
    assertWireError(() => decodeChannelMessage(128, Buffer.concat([add, hex('0020'), fill(32, 2)])), 'TLV_LENGTH');
  });

  it('garbage after the fields is parsed as a TLV stream (non-canonical, out of order)', () => {
    const p = channelMessagePayload(updateFee);
    assertWireError(() => decodeChannelMessage(134, Buffer.concat([p, hex('fd0001')])), ['NON_CANONICAL', 'TRUNCATED']);
    assertWireError(() => decodeChannelMessage(134, Buffer.concat([p, hex('0500'), hex('0300')])), 'TLV_ORDER');
    assertWireError(() => decodeChannelMessage(134, Buffer.concat([p, hex('05')])), 'TRUNCATED');
  });

  it('a payload over 65533 bytes is TOO_LARGE', () => {
    assertWireError(() => decodeChannelMessage(131, Buffer.alloc(65534)), 'TOO_LARGE');
  });
});

describe('TLV extension rule', () => {
  for (const { msg } of SAMPLES) {
    it(`${messageName(msg.type)}: unknown even TLV rejected, unknown odd TLV preserved`, () => {
      const payload = channelMessagePayload(msg);
      // type 0x10001 is above every known type, so appending keeps the stream ordered
      const even = Buffer.concat([payload, hex('fe00010000'), hex('0101')]);
      assertWireError(() => decodeChannelMessage(msg.type, even), 'TLV_UNKNOWN_EVEN', new RegExp(`^${messageName(msg.type)}: `));

      const odd = Buffer.concat([payload, hex('fe00010001'), hex('02beef')]);
      const m = decodeChannelMessage(msg.type, odd);
      assert.deepEqual(m.extraTlvs, [{ type: 0x10001n, value: hex('beef') }]);
      assert.deepEqual(m, { ...msg, extraTlvs: [{ type: 0x10001n, value: hex('beef') }] });
      assert.deepEqual(channelMessagePayload(m), odd);
    });
  }

  it('unknown odd records sort with the known ones on encode', () => {
    const m: OpenChannel = { ...openChannel, extraTlvs: [{ type: 5n, value: hex('05') }, { type: 3n, value: hex('') }] };
    const back = decodeWire(encodeChannelMessage(m)) as OpenChannel;
    assert.deepEqual(back.extraTlvs, [
      { type: 3n, value: Buffer.alloc(0) },
      { type: 5n, value: hex('05') },
    ]);
    assert.deepEqual(back.upfrontShutdownScript, P2WPKH);
  });

  it('even type 2 is unknown for open_channel (only 0 and 1 are known)', () => {
    const p = channelMessagePayload({ ...openChannel, channelType: undefined });
    assertWireError(() => decodeChannelMessage(32, Buffer.concat([p, hex('0200')])), 'TLV_UNKNOWN_EVEN');
  });

  it('encode refuses known or even types in extraTlvs', () => {
    assertWireError(
      () => encodeChannelMessage({ ...openChannel, extraTlvs: [{ type: 1n, value: Buffer.alloc(0) }] }),
      'INVALID',
      /known type 1/,
    );
    assertWireError(
      () => encodeChannelMessage({ ...updateFee, extraTlvs: [{ type: 4n, value: Buffer.alloc(0) }] }),
      'INVALID',
      /odd/,
    );
    assertWireError(
      () => encodeChannelMessage({ ...updateFee, extraTlvs: [{ type: 5n, value: hex('') }, { type: 5n, value: hex('') }] }),
      'TLV_ORDER',
    );
  });
});

describe('encode-side validation', () => {
  const cases: [string, ChannelMessage][] = [
    ['short chain hash', { ...openChannel, chainHash: fill(31, 0) }],
    ['long temporary id', { ...openChannel, temporaryChannelId: fill(33, 0) }],
    ['32-byte point', { ...openChannel, fundingPubkey: fill(32, 2) }],
    ['negative u64', { ...openChannel, fundingSatoshis: -1n }],
    ['u64 overflow', { ...openChannel, pushMsat: 1n << 64n }],
    ['number for u64', { ...openChannel, pushMsat: 5 as unknown as bigint }],
    ['u32 overflow', { ...openChannel, feeratePerKw: 2 ** 32 }],
    ['fractional u32', { ...acceptChannel, minimumDepth: 1.5 }],
    ['u16 overflow', { ...openChannel, toSelfDelay: 65536 }],
    ['u8 overflow', { ...openChannel, channelFlags: 256 }],
    ['bigint for u16', { ...fundingCreated, fundingOutputIndex: 1n as unknown as number }],
    ['63-byte signature', { ...fundingSigned, signature: fill(63, 0) }],
    ['bad htlc signature', { ...commitmentSigned, htlcSignatures: [SIG_A, fill(65, 0)] }],
    ['short onion', { ...updateAddHtlc, onionRoutingPacket: fill(1365, 0) }],
    ['short blinding point', { ...updateAddHtlc, blindingPoint: fill(32, 2) }],
    ['7-byte alias', { ...channelReady, shortChannelIdAlias: fill(7, 0) }],
    ['fee range overflow', { ...closingSigned, feeRange: { minFeeSatoshis: 0n, maxFeeSatoshis: 1n << 64n } }],
    ['string script', { ...shutdown, scriptPubkey: 'x' as unknown as Buffer }],
    ['huge reason', { ...updateFailHtlc, reason: Buffer.alloc(65536) }],
    ['failure code overflow', { ...updateFailMalformedHtlc, failureCode: 0x10000 }],
    ['short secret', { ...revokeAndAck, perCommitmentSecret: fill(31, 0) }],
    ['negative feerate', { ...updateFee, feeratePerKw: -1 }],
    ['short your_last_per_commitment_secret', { ...channelReestablish, yourLastPerCommitmentSecret: fill(0, 0) }],
  ];
  for (const [name, msg] of cases) {
    it(`${name} → INVALID`, () => {
      assertWireError(() => encodeChannelMessage(msg), 'INVALID', new RegExp(`^${messageName(msg.type)}: `));
    });
  }

  it('a message over 65535 bytes is TOO_LARGE', () => {
    assertWireError(() => encodeChannelMessage({ ...updateFailHtlc, reason: Buffer.alloc(65535 - 43) }), 'TOO_LARGE');
    // exactly 65535 bytes is fine: 2 + 32 + 8 + 2 + reason
    const max = { ...updateFailHtlc, reason: Buffer.alloc(65535 - 44, 1) };
    const wire = encodeChannelMessage(max);
    assert.equal(wire.length, 65535);
    assert.deepEqual(decodeWire(wire), max);
  });
});

describe('channelIdFromFunding', () => {
  // BOLT 3 test vector funding txid (display hex). Internal/wire order is its byte reversal:
  //   be f6 7e 4e 2f b9 dd ee b3 46 19 73 cd 4c 62 ab b3 50 50 b1 ad d7 72 99 5b 82 0b 58 4a 48 84 89
  const display = '8984484a580b825b9972d7adb15050b3ab624ccd731946b3eeddb92f4e7ef6be';
  const internal = Buffer.from(display, 'hex').reverse();

  it('output 0: the txid in wire order', () => {
    assert.equal(
      channelIdFromFunding(internal, 0).toString('hex'),
      'bef67e4e2fb9ddeeb3461973cd4c62abb35050b1add772995b820b584a488489',
    );
  });

  it('output index XORs the last two bytes, big-endian', () => {
    // 0x89 ^ 0x01 = 0x88
    assert.equal(
      channelIdFromFunding(internal, 1).toString('hex'),
      'bef67e4e2fb9ddeeb3461973cd4c62abb35050b1add772995b820b584a488488',
    );
    // 0x84 ^ 0x01 = 0x85, 0x89 ^ 0x02 = 0x8b
    assert.equal(
      channelIdFromFunding(internal, 0x0102).toString('hex'),
      'bef67e4e2fb9ddeeb3461973cd4c62abb35050b1add772995b820b584a48858b',
    );
    // 0x84 ^ 0xff = 0x7b, 0x89 ^ 0xff = 0x76
    assert.equal(
      channelIdFromFunding(internal, 0xffff).toString('hex'),
      'bef67e4e2fb9ddeeb3461973cd4c62abb35050b1add772995b820b584a487b76',
    );
  });

  it('does not modify its input; rejects bad arguments', () => {
    const copy = Buffer.from(internal);
    channelIdFromFunding(internal, 0xffff);
    assert.deepEqual(internal, copy);
    assertWireError(() => channelIdFromFunding(fill(31, 0), 0), 'INVALID');
    assertWireError(() => channelIdFromFunding(internal, 65536), 'INVALID');
    assertWireError(() => channelIdFromFunding(internal, -1), 'INVALID');
    assertWireError(() => channelIdFromFunding(internal, 0.5), 'INVALID');
  });
});

// ---------------------------------------------------------------------------------------------------
// Property tests

/** fc.record with ordinary objects (deepStrictEqual compares prototypes). */
const rec: typeof fc.record = ((model: never, constraints?: object) =>
  fc.record(model, { ...(constraints ?? {}), noNullPrototype: true })) as typeof fc.record;

const bytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
const fixedBytes = (n: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b));
const b32 = fixedBytes(32);
const pt = fixedBytes(33);
const sig = fixedBytes(64);
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });

const oddType = fc
  .oneof(
    fc.bigInt({ min: 0n, max: 0xfcn }),
    fc.bigInt({ min: 0xfdn, max: 0xffffn }),
    fc.bigInt({ min: 0x1_0000n, max: 0xffff_ffffn }),
    fc.bigInt({ min: 0x1_0000_0000n, max: (1n << 64n) - 1n }),
  )
  .map((t) => t | 1n);

/** Unknown odd records, sorted (as decoding returns them), never one of `known`. */
const extraTlvsArb = (known: bigint[] = []): fc.Arbitrary<TlvRecord[]> =>
  fc
    .uniqueArray(rec({ type: oddType.filter((t) => !known.includes(t)), value: bytes(20) }), {
      maxLength: 3,
      selector: (r) => r.type,
    })
    .map((rs) => [...rs].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)));

const basepointsArb = {
  fundingPubkey: pt,
  revocationBasepoint: pt,
  paymentBasepoint: pt,
  delayedPaymentBasepoint: pt,
  htlcBasepoint: pt,
  firstPerCommitmentPoint: pt,
};

const openChannelArb: fc.Arbitrary<OpenChannel> = rec(
  {
    type: fc.constant(32 as const),
    chainHash: b32,
    temporaryChannelId: b32,
    fundingSatoshis: u64,
    pushMsat: u64,
    dustLimitSatoshis: u64,
    maxHtlcValueInFlightMsat: u64,
    channelReserveSatoshis: u64,
    htlcMinimumMsat: u64,
    feeratePerKw: u32,
    toSelfDelay: u16,
    maxAcceptedHtlcs: u16,
    ...basepointsArb,
    channelFlags: u8,
    upfrontShutdownScript: bytes(40),
    channelType: bytes(8),
    extraTlvs: extraTlvsArb([1n]),
  },
  { requiredKeys: ['type', 'chainHash', 'temporaryChannelId', 'fundingSatoshis', 'pushMsat', 'dustLimitSatoshis',
    'maxHtlcValueInFlightMsat', 'channelReserveSatoshis', 'htlcMinimumMsat', 'feeratePerKw', 'toSelfDelay',
    'maxAcceptedHtlcs', 'fundingPubkey', 'revocationBasepoint', 'paymentBasepoint', 'delayedPaymentBasepoint',
    'htlcBasepoint', 'firstPerCommitmentPoint', 'channelFlags', 'extraTlvs'] },
);

const acceptChannelArb: fc.Arbitrary<AcceptChannel> = rec(
  {
    type: fc.constant(33 as const),
    temporaryChannelId: b32,
    dustLimitSatoshis: u64,
    maxHtlcValueInFlightMsat: u64,
    channelReserveSatoshis: u64,
    htlcMinimumMsat: u64,
    minimumDepth: u32,
    toSelfDelay: u16,
    maxAcceptedHtlcs: u16,
    ...basepointsArb,
    upfrontShutdownScript: bytes(40),
    channelType: bytes(8),
    extraTlvs: extraTlvsArb([1n]),
  },
  { requiredKeys: ['type', 'temporaryChannelId', 'dustLimitSatoshis', 'maxHtlcValueInFlightMsat',
    'channelReserveSatoshis', 'htlcMinimumMsat', 'minimumDepth', 'toSelfDelay', 'maxAcceptedHtlcs',
    'fundingPubkey', 'revocationBasepoint', 'paymentBasepoint', 'delayedPaymentBasepoint', 'htlcBasepoint',
    'firstPerCommitmentPoint', 'extraTlvs'] },
);

const onion = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), u8)
  .map(([head, b]) => {
    const o = Buffer.alloc(ONION_PACKET_SIZE, b);
    o.set(head, 0);
    return o;
  });

const channelMessageArbs: Record<number, fc.Arbitrary<ChannelMessage>> = {
  32: openChannelArb,
  33: acceptChannelArb,
  34: rec({
    type: fc.constant(34 as const),
    temporaryChannelId: b32,
    fundingTxid: b32,
    fundingOutputIndex: u16,
    signature: sig,
    extraTlvs: extraTlvsArb(),
  }),
  35: rec({ type: fc.constant(35 as const), channelId: b32, signature: sig, extraTlvs: extraTlvsArb() }),
  36: rec(
    {
      type: fc.constant(36 as const),
      channelId: b32,
      secondPerCommitmentPoint: pt,
      shortChannelIdAlias: fixedBytes(8),
      extraTlvs: extraTlvsArb([1n]),
    },
    { requiredKeys: ['type', 'channelId', 'secondPerCommitmentPoint', 'extraTlvs'] },
  ),
  ...Object.fromEntries(
    ([40, 41] as const).map((t) => [
      t,
      rec(
        {
          type: fc.constant(t),
          channelId: b32,
          closerScriptPubkey: bytes(90),
          closeeScriptPubkey: bytes(90),
          feeSatoshis: u64,
          locktime: u32,
          closerOutputOnly: sig,
          closeeOutputOnly: sig,
          closerAndCloseeOutputs: sig,
          extraTlvs: extraTlvsArb([1n, 2n, 3n]),
        },
        { requiredKeys: ['type', 'channelId', 'closerScriptPubkey', 'closeeScriptPubkey', 'feeSatoshis', 'locktime', 'extraTlvs'] },
      ),
    ]),
  ),
  38: rec({ type: fc.constant(38 as const), channelId: b32, scriptPubkey: bytes(50), extraTlvs: extraTlvsArb() }),
  39: rec(
    {
      type: fc.constant(39 as const),
      channelId: b32,
      feeSatoshis: u64,
      signature: sig,
      feeRange: rec({ minFeeSatoshis: u64, maxFeeSatoshis: u64 }),
      extraTlvs: extraTlvsArb([1n]),
    },
    { requiredKeys: ['type', 'channelId', 'feeSatoshis', 'signature', 'extraTlvs'] },
  ),
  128: rec(
    {
      type: fc.constant(128 as const),
      channelId: b32,
      id: u64,
      amountMsat: u64,
      paymentHash: b32,
      cltvExpiry: u32,
      onionRoutingPacket: onion,
      blindingPoint: pt,
      extraTlvs: extraTlvsArb(),
    },
    { requiredKeys: ['type', 'channelId', 'id', 'amountMsat', 'paymentHash', 'cltvExpiry', 'onionRoutingPacket', 'extraTlvs'] },
  ),
  130: rec({ type: fc.constant(130 as const), channelId: b32, id: u64, paymentPreimage: b32, extraTlvs: extraTlvsArb() }),
  131: rec({ type: fc.constant(131 as const), channelId: b32, id: u64, reason: bytes(300), extraTlvs: extraTlvsArb() }),
  135: rec({
    type: fc.constant(135 as const),
    channelId: b32,
    id: u64,
    sha256OfOnion: b32,
    failureCode: u16,
    extraTlvs: extraTlvsArb(),
  }),
  132: rec({
    type: fc.constant(132 as const),
    channelId: b32,
    signature: sig,
    htlcSignatures: fc.array(sig, { maxLength: 6 }),
    extraTlvs: extraTlvsArb(),
  }),
  133: rec({
    type: fc.constant(133 as const),
    channelId: b32,
    perCommitmentSecret: b32,
    nextPerCommitmentPoint: pt,
    extraTlvs: extraTlvsArb(),
  }),
  134: rec({ type: fc.constant(134 as const), channelId: b32, feeratePerKw: u32, extraTlvs: extraTlvsArb() }),
  136: rec(
    {
      type: fc.constant(136 as const),
      channelId: b32,
      nextCommitmentNumber: u64,
      nextRevocationNumber: u64,
      yourLastPerCommitmentSecret: b32,
      myCurrentPerCommitmentPoint: pt,
      nextFundingTxid: b32,
      extraTlvs: extraTlvsArb(),
    },
    { requiredKeys: ['type', 'channelId', 'nextCommitmentNumber', 'nextRevocationNumber',
      'yourLastPerCommitmentSecret', 'myCurrentPerCommitmentPoint', 'extraTlvs'] },
  ),
};

const anyMessageArb: fc.Arbitrary<ChannelMessage> = fc.oneof(...ALL_TYPES.map((t) => channelMessageArbs[t]));

/** Decode; on success the result must re-encode to exactly the input (decoding accepts only canonical). */
function decodeTotal(type: number, payload: Buffer): void {
  const r = total(() => decodeChannelMessage(type, payload));
  if (!(r instanceof WireError)) {
    assert.equal(r.type, type);
    assert.deepEqual(channelMessagePayload(r), payload);
  }
}

describe('property: BOLT 2 messages', () => {
  for (const t of ALL_TYPES) {
    it(`${messageName(t)}: decode(encode(m)) deep-equals m`, () => {
      fc.assert(
        fc.property(channelMessageArbs[t], (m) => {
          const wire = encodeChannelMessage(m);
          assert.equal(wire.readUInt16BE(0), t);
          const back = decodeWire(wire);
          assert.deepEqual(back, m);
          assert.deepEqual(encodeChannelMessage(back), wire);
          assert.deepEqual(channelIdOf(back), channelIdOf(m));
        }),
        RUNS,
      );
    });
  }

  it('mutated valid encodings → message or WireError, for every type', () => {
    fc.assert(
      fc.property(anyMessageArb, mutationsArb, fc.boolean(), (m, ms, nearEnd) => {
        decodeTotal(m.type, mutate(channelMessagePayload(m), ms, nearEnd));
      }),
      { numRuns: RUNS.numRuns * 4 },
    );
  });

  it('random bytes → message or WireError, for every type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_TYPES), bytes(400), (t, b) => {
        decodeTotal(t, b);
      }),
      RUNS,
    );
  });

  it('a valid fixed part followed by random bytes → message or WireError', () => {
    fc.assert(
      fc.property(anyMessageArb, bytes(60), (m, tail) => {
        const bare = { ...m, extraTlvs: [] } as Record<string, unknown>;
        for (const k of ['upfrontShutdownScript', 'channelType', 'shortChannelIdAlias', 'feeRange', 'blindingPoint', 'nextFundingTxid']) {
          delete bare[k];
        }
        const payload = channelMessagePayload(bare as unknown as ChannelMessage);
        decodeTotal(m.type, Buffer.concat([payload, tail]));
      }),
      RUNS,
    );
  });

  it('maximal random payloads decode quickly for every type', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_TYPES), fc.uint8Array({ minLength: 65533, maxLength: 65533 }), (t, b) => {
        const t0 = performance.now();
        total(() => decodeChannelMessage(t, Buffer.from(b)));
        const ms = performance.now() - t0;
        assert.ok(ms < 1000, `took ${ms} ms`);
      }),
      { numRuns: 20 },
    );
  });

  it('a payload of tiny odd TLV records after the fields decodes and re-encodes', () => {
    const parts: number[] = [];
    for (let t = 3; parts.length + 4 <= 60000 && t < 0xffff; t += 2) {
      if (t < 0xfd) parts.push(t, 0);
      else parts.push(0xfd, t >> 8, t & 0xff, 0);
    }
    const payload = Buffer.concat([channelMessagePayload(updateFee), Buffer.from(parts)]);
    const t0 = performance.now();
    const m = decodeChannelMessage(134, payload);
    assert.ok(performance.now() - t0 < 2000);
    assert.ok(m.extraTlvs.length > 10000);
    assert.deepEqual(channelMessagePayload(m), payload);
  });
});
