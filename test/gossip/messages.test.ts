/**
 * BOLT 7 messages: round trips of each message, the short id and timestamp encodings (plain and zlib),
 * the zlib cap, address descriptors; and fast-check properties over every decoder: random and mutated
 * input gives a value or a WireError (never another exception, never a hang), zlib bombs included.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeAddresses, encodeAddresses, formatAddress } from '../../src/gossip/address.js';
import {
  decodeGossipMessage,
  decodeShortIds,
  decodeTimestamps,
  Encoding,
  encodeGossipMessage,
  encodeShortIds,
  encodeTimestamps,
  gossipMessagePayload,
  GossipMessageType,
  MAX_INFLATED_BYTES,
  scidFromString,
  scidToString,
  type GossipMessage,
} from '../../src/gossip/messages.js';
import { WireError } from '../../src/wire/errors.js';
import { announce, nodeAnnouncement, REGTEST, testNode, update } from './fixtures.js';

const RUNS = { numRuns: Number(process.env.GOSSIP_PROPERTY_RUNS ?? 300) };
const TYPES = Object.values(GossipMessageType);

/** `fn` returns or throws a WireError; anything else fails the property. */
function total(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
}

const ch = announce(scidFromString('103x1x0')!);
const samples: { type: number; payload: Buffer }[] = [
  { type: 256, payload: ch.payload },
  { type: 257, payload: nodeAnnouncement(ch.nodes[0], { addresses: ['127.0.0.1:9735', '[2001:db8::1]:9736', 'example.com:9737'] }).payload },
  { type: 258, payload: update(ch, 1).payload },
  ...(
    [
      { type: 259, channelId: Buffer.alloc(32, 1), shortChannelId: 5n, nodeSignature: Buffer.alloc(64, 2), bitcoinSignature: Buffer.alloc(64, 3) },
      { type: 261, chainHash: REGTEST, encodedShortIds: encodeShortIds([1n, 2n], Encoding.ZLIB), queryFlags: Buffer.of(0, 1, 1), extraTlvs: [] },
      { type: 262, chainHash: REGTEST, fullInformation: 1 },
      { type: 263, chainHash: REGTEST, firstBlocknum: 100, numberOfBlocks: 1000, queryOption: 1n, extraTlvs: [] },
      {
        type: 264,
        chainHash: REGTEST,
        firstBlocknum: 100,
        numberOfBlocks: 1000,
        syncComplete: 1,
        encodedShortIds: encodeShortIds([7n << 40n]),
        timestamps: encodeTimestamps([{ timestamp1: 5, timestamp2: 6 }], Encoding.ZLIB),
        checksums: [1, 2],
        extraTlvs: [],
      },
      { type: 265, chainHash: REGTEST, firstTimestamp: 1, timestampRange: 0xffffffff },
    ] as GossipMessage[]
  ).map((m) => ({ type: m.type, payload: gossipMessagePayload(m) })),
];

describe('BOLT 7 messages', () => {
  it('every message decodes and re-encodes to the same bytes', () => {
    for (const s of samples) {
      const m = decodeGossipMessage(s.type, s.payload);
      assert.equal(m.type, s.type);
      assert.deepEqual(gossipMessagePayload(m), s.payload, `type ${s.type}`);
      assert.equal(encodeGossipMessage(m).readUInt16BE(0), s.type);
    }
    assert.equal(samples.length, TYPES.length);
  });

  it('channel_announcement and channel_update carry their fields', () => {
    const m = decodeGossipMessage(256, ch.payload);
    assert.ok(m.type === 256 && m.shortChannelId === ch.scid && m.nodeId1.equals(ch.nodes[0].id));
    const u = decodeGossipMessage(258, update(ch, 1, { feeBaseMsat: 4242, timestamp: 77 }).payload);
    assert.ok(u.type === 258 && u.feeBaseMsat === 4242 && u.timestamp === 77 && u.channelFlags === 1);
  });

  it('short ids: plain and zlib, empty, and scid text', () => {
    const ids = [1n, (700_000n << 40n) | (12n << 16n) | 3n, (1n << 64n) - 1n];
    for (const enc of [Encoding.UNCOMPRESSED, Encoding.ZLIB]) assert.deepEqual(decodeShortIds(encodeShortIds(ids, enc)), ids);
    assert.deepEqual(decodeShortIds(Buffer.alloc(0)), []);
    assert.deepEqual(decodeShortIds(Buffer.of(0)), []);
    assert.equal(scidToString(ids[1]!), '700000x12x3');
    assert.equal(scidFromString('700000x12x3'), ids[1]);
    assert.equal(scidFromString('16777216x0x0'), undefined);
    const ts = [{ timestamp1: 1, timestamp2: 0xffffffff }];
    for (const enc of [Encoding.UNCOMPRESSED, Encoding.ZLIB]) assert.deepEqual(decodeTimestamps(encodeTimestamps(ts, enc)), ts);
  });

  it('bad encodings are WireErrors: unknown type, odd length, bad zlib, a zlib bomb', () => {
    assert.throws(() => decodeShortIds(Buffer.of(2, 0, 0)), { code: 'INVALID' });
    assert.throws(() => decodeShortIds(Buffer.of(0, 1, 2, 3)), { code: 'INVALID' });
    assert.throws(() => decodeShortIds(Buffer.of(1, 1, 2, 3)), { code: 'INVALID' });
    // 64 MiB of zeros deflate to ~64 KiB: only MAX_INFLATED_BYTES may ever be inflated.
    const bomb = Buffer.concat([Buffer.of(1), deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })]);
    assert.ok(bomb.length < 65535);
    assert.throws(() => decodeShortIds(bomb), { code: 'TOO_LARGE' });
    assert.throws(() => decodeTimestamps(bomb), { code: 'TOO_LARGE' });
    const justFits = Buffer.concat([Buffer.of(1), deflateSync(Buffer.alloc(MAX_INFLATED_BYTES))]);
    assert.equal(decodeShortIds(justFits).length, MAX_INFLATED_BYTES / 8);
  });

  it('address descriptors: IPv4, IPv6, Tor v3, DNS; reading stops at an unknown type', () => {
    const onion = `${'a'.repeat(55)}d.onion`;
    const addrs = ['1.2.3.4:9735', '[2001:db8:0:0:0:0:0:1]:1', `${onion}:9735`, 'node.example:80'];
    const enc = encodeAddresses(addrs);
    assert.deepEqual(decodeAddresses(enc).map(formatAddress), addrs);
    assert.deepEqual(decodeAddresses(Buffer.concat([encodeAddresses(['1.2.3.4:1']), Buffer.of(9, 1, 2, 3)])).map(formatAddress), ['1.2.3.4:1']);
    assert.throws(() => decodeAddresses(Buffer.of(1, 1, 2)), { code: 'TRUNCATED' });
  });
});

describe('BOLT 7 decoders (property)', () => {
  it('random payloads of every type: a message or a WireError', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), fc.uint8Array({ maxLength: 600 }), (type, payload) => total(() => decodeGossipMessage(type, payload))),
      RUNS,
    );
  });

  it('mutated valid payloads (bytes flipped, cut, extended): a message that re-encodes, or a WireError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 40 }),
        (s, flips, cut, tail) => {
          const p = Buffer.from(s.payload);
          for (const [at, v] of flips) p[at % p.length] = v;
          const mutated = Buffer.concat([p.subarray(0, p.length - (cut % 8)), Buffer.from(tail)]);
          total(() => {
            const m = decodeGossipMessage(s.type, mutated);
            gossipMessagePayload(m);
          });
        },
      ),
      RUNS,
    );
  });

  it('encoded short ids, timestamps and addresses: random bytes and random zlib streams never escape as other errors', () => {
    const zlibOf = fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.concat([Buffer.of(1), deflateSync(b)]));
    const bombOf = fc.integer({ min: 1, max: 8 }).map((mib) => Buffer.concat([Buffer.of(1), deflateSync(Buffer.alloc(mib * 1024 * 1024))]));
    const input = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), zlibOf, bombOf);
    fc.assert(
      fc.property(input, (b) => {
        total(() => decodeShortIds(b));
        total(() => decodeTimestamps(b));
        total(() => decodeAddresses(b));
      }),
      { numRuns: Math.min(RUNS.numRuns, 100) },
    );
  });

  it('random valid query messages round-trip', () => {
    const ids = fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 50 });
    fc.assert(
      fc.property(ids, fc.constantFrom(Encoding.UNCOMPRESSED, Encoding.ZLIB), fc.nat(), fc.nat(), (list, enc, first, n) => {
        const m: GossipMessage = { type: 263, chainHash: REGTEST, firstBlocknum: first >>> 0, numberOfBlocks: n >>> 0, extraTlvs: [] };
        assert.deepEqual(decodeGossipMessage(263, gossipMessagePayload(m)), m);
        assert.deepEqual(decodeShortIds(encodeShortIds(list, enc)), list);
      }),
      RUNS,
    );
  });

  it('a node with an announced address round-trips through node_announcement', () => {
    const n = testNode();
    const m = decodeGossipMessage(257, nodeAnnouncement(n, { addresses: ['10.0.0.1:9735'] }).payload);
    assert.ok(m.type === 257);
    assert.deepEqual(decodeAddresses(m.addresses).map(formatAddress), ['10.0.0.1:9735']);
  });
});
