/**
 * Property tests for every wire decoder: totality (a value or a WireError, never another exception,
 * never a hang), and round trips.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WireError } from '../../src/wire/errors.js';
import { mutate, mutationsArb } from './mutations.js';
import { decodeBigSize, encodeBigSize, MAX_BIGSIZE } from '../../src/wire/bigsize.js';
import { decodeTlvStream, encodeTlvStream, decodeTu64, encodeTu64, type TlvRecord } from '../../src/wire/tlv.js';
import { Features, negotiate, checkDependencies } from '../../src/wire/features.js';
import {
  decodeMessage,
  encodeMessage,
  sanitizeText,
  MessageType,
  type Message,
  type Init,
} from '../../src/wire/messages.js';

/** Raise with WIRE_PROPERTY_RUNS=20000 for a deeper run. */
const RUNS = { numRuns: Number(process.env.WIRE_PROPERTY_RUNS ?? 300) };

/** Run `fn`; a WireError is an acceptable outcome, anything else fails the property. */
function total<T>(fn: () => T): T | WireError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WireError) return e;
    throw e;
  }
}

/** fc.record with ordinary objects (deepStrictEqual compares prototypes). */
const rec: typeof fc.record = ((model: never, constraints?: object) =>
  fc.record(model, { ...(constraints ?? {}), noNullPrototype: true })) as typeof fc.record;

const bytes = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

// ---------------------------------------------------------------------------------------------------
// Generators of valid values

const bigSizeValue = fc.oneof(
  fc.bigInt({ min: 0n, max: 0xfcn }),
  fc.bigInt({ min: 0xfdn, max: 0xffffn }),
  fc.bigInt({ min: 0x1_0000n, max: 0xffff_ffffn }),
  fc.bigInt({ min: 0x1_0000_0000n, max: MAX_BIGSIZE }),
);

const tlvRecordsArb: fc.Arbitrary<TlvRecord[]> = fc
  .uniqueArray(rec({ type: bigSizeValue, value: bytes(40) }), {
    maxLength: 8,
    selector: (r) => r.type,
  })
  .map((rs) => [...rs].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)));

const oddTypeArb = bigSizeValue.map((t) => t | 1n).filter((t) => t !== 1n && t !== 3n);

const initArb: fc.Arbitrary<Init> = rec(
  {
    type: fc.constant(MessageType.INIT),
    globalFeatures: bytes(8),
    features: bytes(16),
    networks: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)), {
      maxLength: 4,
    }),
    remoteAddr: bytes(20),
    extraTlvs: fc
      .uniqueArray(rec({ type: oddTypeArb, value: bytes(20) }), { maxLength: 4, selector: (r) => r.type })
      .map((rs) => [...rs].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))),
  },
  { requiredKeys: ['type', 'globalFeatures', 'features', 'extraTlvs'] },
);

const channelIdArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  initArb,
  rec({ type: fc.constant(MessageType.ERROR), channelId: channelIdArb, data: bytes(64) }),
  rec({ type: fc.constant(MessageType.WARNING), channelId: channelIdArb, data: bytes(64) }),
  rec({ type: fc.constant(MessageType.PING), numPongBytes: fc.nat(65535), ignored: bytes(64) }),
  rec({ type: fc.constant(MessageType.PONG), ignored: bytes(64) }),
  rec({
    type: fc
      .integer({ min: 0, max: 65535 })
      .filter((t) => !(Object.values(MessageType) as number[]).includes(t)),
    unknown: fc.constant(true as const),
    payload: bytes(64),
  }),
);

/** Random bytes, often starting with a known message type so the specific decoders get exercised. */
const messageBytesArb = fc.oneof(
  bytes(200),
  fc
    .tuple(fc.constantFrom(1, 16, 17, 18, 19), bytes(200))
    .map(([t, rest]) => Buffer.concat([Buffer.from([t >> 8, t & 0xff]), rest])),
);

// ---------------------------------------------------------------------------------------------------

describe('property: decodeBigSize', () => {
  it('random bytes → value or WireError', () => {
    fc.assert(
      fc.property(bytes(12), fc.nat(12), (b, off) => {
        const r = total(() => decodeBigSize(b, off));
        if (!(r instanceof WireError)) {
          assert.ok(r.size >= 1 && off + r.size <= b.length);
          assert.ok(r.value >= 0n && r.value <= MAX_BIGSIZE);
          // anything decoded is canonical: re-encoding gives back the consumed bytes
          assert.deepEqual(encodeBigSize(r.value), b.subarray(off, off + r.size));
        }
      }),
      RUNS,
    );
  });

  it('mutated valid encodings → value or WireError', () => {
    fc.assert(
      fc.property(bigSizeValue, mutationsArb, (v, ms) => {
        total(() => decodeBigSize(mutate(encodeBigSize(v), ms)));
      }),
      RUNS,
    );
  });

  it('decode(encode(v)) = v', () => {
    fc.assert(
      fc.property(bigSizeValue, (v) => {
        const enc = encodeBigSize(v);
        assert.deepEqual(decodeBigSize(enc), { value: v, size: enc.length });
      }),
      RUNS,
    );
  });
});

describe('property: truncated integers', () => {
  it('decodeTu64 is total and canonical', () => {
    fc.assert(
      fc.property(bytes(10), (b) => {
        const r = total(() => decodeTu64(b));
        if (!(r instanceof WireError)) assert.deepEqual(encodeTu64(r), b);
      }),
      RUNS,
    );
  });
  it('decodeTu64(encodeTu64(v)) = v', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_BIGSIZE }), (v) => {
        assert.equal(decodeTu64(encodeTu64(v)), v);
      }),
      RUNS,
    );
  });
});

describe('property: decodeTlvStream', () => {
  const knownArb = fc.constantFrom<((t: bigint) => boolean) | undefined>(
    undefined,
    () => true,
    (t) => t < 100n,
  );

  it('random bytes → records or WireError; decoded streams re-encode byte for byte', () => {
    fc.assert(
      fc.property(bytes(120), knownArb, (b, isKnown) => {
        const r = total(() => decodeTlvStream(b, isKnown));
        if (!(r instanceof WireError)) assert.deepEqual(encodeTlvStream(r), b);
      }),
      RUNS,
    );
  });

  it('mutated valid streams → records or WireError', () => {
    fc.assert(
      fc.property(tlvRecordsArb, mutationsArb, knownArb, (records, ms, isKnown) => {
        const b = mutate(encodeTlvStream(records), ms);
        const r = total(() => decodeTlvStream(b, isKnown));
        if (!(r instanceof WireError)) assert.deepEqual(encodeTlvStream(r), b);
      }),
      RUNS,
    );
  });

  it('decode(encode(records)) = records (sorted)', () => {
    fc.assert(
      fc.property(tlvRecordsArb, (records) => {
        const shuffled = [...records].reverse();
        assert.deepEqual(decodeTlvStream(encodeTlvStream(shuffled), () => true), records);
      }),
      RUNS,
    );
  });

  it('without isKnown: accepted iff every type is odd', () => {
    fc.assert(
      fc.property(tlvRecordsArb, (records) => {
        const r = total(() => decodeTlvStream(encodeTlvStream(records)));
        const allOdd = records.every((rec) => (rec.type & 1n) === 1n);
        assert.equal(r instanceof WireError, !allOdd);
        if (r instanceof WireError) assert.equal(r.code, 'TLV_UNKNOWN_EVEN');
      }),
      RUNS,
    );
  });
});

describe('property: Features', () => {
  it('fromBytes never throws; toBytes is the input without leading zeros', () => {
    fc.assert(
      fc.property(bytes(40), (b) => {
        const f = Features.fromBytes(b);
        let start = 0;
        while (start < b.length && b[start] === 0) start++;
        assert.deepEqual(f.toBytes(), b.subarray(start));
        assert.ok(Features.fromBits(f.bits()).equals(f));
        for (const bit of f.bits()) assert.ok(f.has(bit));
        assert.equal(typeof f.toString(), 'string');
        total(() => checkDependencies(f));
      }),
      RUNS,
    );
  });

  it('mutated valid vectors still parse', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(300)), mutationsArb, (bits, ms) => {
        const f = Features.fromBytes(mutate(Features.fromBits(bits).toBytes(), ms));
        assert.ok(Features.fromBytes(f.toBytes()).equals(f));
      }),
      RUNS,
    );
  });

  it('fromBits(bits).bits() = sorted unique bits', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(600), { maxLength: 40 }), (bits) => {
        const expected = [...new Set(bits)].sort((a, b) => a - b);
        assert.deepEqual(Features.fromBits(bits).bits(), expected);
      }),
      RUNS,
    );
  });

  it('or is the union of bits; negotiate accepts a superset and flags only even bits', () => {
    fc.assert(
      fc.property(bytes(10), bytes(10), (a, b) => {
        const fa = Features.fromBytes(a);
        const fb = Features.fromBytes(b);
        const u = fa.or(fb);
        assert.deepEqual(u.bits(), [...new Set([...fa.bits(), ...fb.bits()])].sort((x, y) => x - y));
        assert.ok(u.equals(fb.or(fa)));
        assert.deepEqual(negotiate(u, fa), { ok: true });
        const r = negotiate(fa, fb);
        if (!r.ok) {
          for (const bit of r.unknownRequired) {
            assert.equal(bit % 2, 0);
            assert.ok(fb.has(bit) && !fa.supports(bit));
          }
        }
      }),
      RUNS,
    );
  });
});

describe('property: decodeMessage', () => {
  it('random bytes → message or WireError; decoded messages re-encode and decode the same', () => {
    fc.assert(
      fc.property(messageBytesArb, (b) => {
        const r = total(() => decodeMessage(b));
        if (!(r instanceof WireError)) {
          const again = encodeMessage(r);
          assert.deepEqual(decodeMessage(again), r);
        }
      }),
      RUNS,
    );
  });

  it('mutated valid encodings → message or WireError', () => {
    fc.assert(
      fc.property(messageArb, mutationsArb, (m, ms) => {
        total(() => decodeMessage(mutate(encodeMessage(m), ms)));
      }),
      RUNS,
    );
  });

  it('decode(encode(m)) deep-equals m, and encode(decode(x)) = x for canonical x', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const wire = encodeMessage(m);
        const back = decodeMessage(wire);
        assert.deepEqual(back, m);
        assert.deepEqual(encodeMessage(back), wire);
      }),
      RUNS,
    );
  });

  it('sanitizeText output is printable and bounded', () => {
    fc.assert(
      fc.property(bytes(1200), (b) => {
        const s = sanitizeText(b);
        assert.ok(s.length <= 1000);
        assert.match(s, /^[\x20-\x7e]*$/);
      }),
      { numRuns: 100 },
    );
  });
});

describe('property: no hang, no huge allocation on maximal inputs', () => {
  const big = fc.uint8Array({ minLength: 65535, maxLength: 65535 }).map((b) => Buffer.from(b));
  const timed = (fn: () => void): number => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };

  it('65535 random bytes through every decoder', () => {
    fc.assert(
      fc.property(big, fc.constantFrom(1, 16, 17, 18, 19, 0x8001), (b, type) => {
        b.writeUInt16BE(type, 0);
        const ms = timed(() => {
          total(() => decodeMessage(b));
          total(() => decodeTlvStream(b.subarray(2)));
          total(() => decodeTlvStream(b.subarray(2), () => true));
          total(() => decodeBigSize(b));
          Features.fromBytes(b).bits();
          sanitizeText(b);
        });
        assert.ok(ms < 2000, `took ${ms} ms`);
      }),
      { numRuns: 15 },
    );
  });

  it('a maximal init made of tiny TLV records, and a huge declared TLV length', () => {
    // 0x0010 0000 0000 then records (5,0),(7,0),(9,0)… up to 65535 bytes
    const parts: number[] = [0x00, 0x10, 0, 0, 0, 0];
    let t = 5;
    while (parts.length + 4 <= 65535) {
      if (t < 0xfd) parts.push(t, 0);
      else parts.push(0xfd, t >> 8, t & 0xff, 0);
      t += 2;
      if (t > 0xffff) break;
    }
    const wire = Buffer.from(parts);
    let msg: Message | undefined;
    const ms = timed(() => {
      msg = decodeMessage(wire);
    });
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.ok((msg as Init).extraTlvs.length > 16000);
    assert.deepEqual(encodeMessage(msg as Message), wire);

    // a TLV claiming 2^64-1 bytes must fail fast without allocating
    const huge = Buffer.from('001000000000' + '05ffffffffffffffffff' + '00', 'hex');
    assert.throws(() => decodeMessage(huge), (e: unknown) => e instanceof WireError && e.code === 'TRUNCATED');
  });
});
