import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  decodeTlvStream,
  encodeTlvStream,
  decodeTu16,
  decodeTu32,
  decodeTu64,
  encodeTu16,
  encodeTu32,
  encodeTu64,
  type TlvRecord,
} from '../../src/wire/tlv.js';
import { WireError, type WireErrorCode } from '../../src/wire/errors.js';
import { assertWireError, hex, loadVectors } from './helpers.js';

// ---------------------------------------------------------------------------------------------------
// The two test namespaces of BOLT 1 Appendix B, as a message would define them.

type N1Values = {
  tlv1?: { amount_msat: string };
  tlv2?: { scid: string };
  tlv3?: { node_id: string; amount_msat_1: string; amount_msat_2: string };
  tlv4?: { cltv_delta: number };
};

function exactLength(rec: TlvRecord, n: number, name: string): void {
  if (rec.value.length !== n) {
    throw new WireError('TLV_LENGTH', `${name}: length ${rec.value.length}, expected ${n}`);
  }
}

function decodeN1(buf: Uint8Array): { values: N1Values; records: TlvRecord[] } {
  const known = new Set([1n, 2n, 3n, 254n]);
  const records = decodeTlvStream(buf, (t) => known.has(t));
  const values: N1Values = {};
  for (const rec of records) {
    switch (rec.type) {
      case 1n:
        values.tlv1 = { amount_msat: decodeTu64(rec.value).toString() };
        break;
      case 2n: {
        exactLength(rec, 8, 'n1 tlv2');
        const v = rec.value;
        const block = v.readUIntBE(0, 3);
        const tx = v.readUIntBE(3, 3);
        const out = v.readUInt16BE(6);
        values.tlv2 = { scid: `${block}x${tx}x${out}` };
        break;
      }
      case 3n: {
        exactLength(rec, 33 + 8 + 8, 'n1 tlv3');
        const nodeId = rec.value.subarray(0, 33);
        try {
          secp256k1.Point.fromBytes(nodeId);
        } catch {
          throw new WireError('INVALID', 'n1 tlv3: node_id is not a valid point');
        }
        values.tlv3 = {
          node_id: nodeId.toString('hex'),
          amount_msat_1: rec.value.readBigUInt64BE(33).toString(),
          amount_msat_2: rec.value.readBigUInt64BE(41).toString(),
        };
        break;
      }
      case 254n:
        exactLength(rec, 2, 'n1 tlv4');
        values.tlv4 = { cltv_delta: rec.value.readUInt16BE(0) };
        break;
    }
  }
  return { values, records };
}

function decodeN2(buf: Uint8Array): { values: { tlv1?: bigint; tlv2?: number }; records: TlvRecord[] } {
  const records = decodeTlvStream(buf, (t) => t === 0n || t === 11n);
  const values: { tlv1?: bigint; tlv2?: number } = {};
  for (const rec of records) {
    if (rec.type === 0n) values.tlv1 = decodeTu64(rec.value);
    if (rec.type === 11n) values.tlv2 = decodeTu32(rec.value);
  }
  return { values, records };
}

const decoders = { n1: decodeN1, n2: decodeN2 } as const;
type Namespace = keyof typeof decoders;

interface TlvVectors {
  valid: { stream: string; namespaces: Namespace[]; reason: string; n1?: N1Values }[];
  invalid: { stream: string; namespaces: Namespace[]; reason: string; code: WireErrorCode }[];
}

const vectors = loadVectors<TlvVectors>('bolt1-tlv.json');
const short = (s: string): string => (s.length > 48 ? `${s.slice(0, 48)}…` : s);

describe('BOLT 1 Appendix B: TLV decoding failures', () => {
  for (const v of vectors.invalid) {
    for (const ns of v.namespaces) {
      it(`${ns}: 0x${short(v.stream)} → ${v.code} (${v.reason})`, () => {
        assertWireError(() => decoders[ns](hex(v.stream)), v.code);
      });
    }
  }
});

describe('BOLT 1 Appendix B: TLV decoding successes', () => {
  for (const v of vectors.valid) {
    for (const ns of v.namespaces) {
      it(`${ns}: 0x${short(v.stream)} (${v.reason})`, () => {
        const { values } = decoders[ns](hex(v.stream));
        if (ns === 'n1' && v.n1) assert.deepEqual(values, v.n1);
        if (ns === 'n2') assert.deepEqual(values, {});
      });
    }
    it(`re-encodes 0x${short(v.stream)} byte for byte`, () => {
      const records = decodeTlvStream(hex(v.stream), () => true);
      assert.equal(encodeTlvStream(records).toString('hex'), v.stream);
    });
  }
});

describe('BOLT 1 Appendix B: TLV stream decoding failure (concatenations)', () => {
  const n1Valid = vectors.valid.filter((v) => v.namespaces.includes('n1') && v.stream !== '');
  const n1Invalid = vectors.invalid.filter((v) => v.namespaces.includes('n1'));

  it('any invalid stream appended to any valid stream fails', () => {
    let count = 0;
    for (const good of n1Valid) {
      for (const bad of n1Invalid) {
        assert.throws(
          () => decodeN1(hex(good.stream + bad.stream)),
          (e: unknown) => e instanceof WireError,
          `0x${good.stream} ++ 0x${bad.stream}`,
        );
        count++;
      }
    }
    assert.ok(count > 300);
  });

  it('a higher-numbered valid stream appended to a lower-numbered one decodes', () => {
    const firstType = (s: string): bigint => decodeTlvStream(hex(s), () => true)[0].type;
    let count = 0;
    for (const a of n1Valid) {
      for (const b of n1Valid) {
        if (firstType(a.stream) >= firstType(b.stream)) continue;
        const { values, records } = decodeN1(hex(a.stream + b.stream));
        assert.equal(records.length, 2);
        const expected = { ...a.n1, ...b.n1 };
        assert.deepEqual(values, expected);
        count++;
      }
    }
    assert.ok(count > 20);
  });
});

describe('decodeTlvStream details', () => {
  it('keeps unknown odd records, in order, with copied values', () => {
    const input = hex('01012a03020102fd01010100');
    const recs = decodeTlvStream(input);
    assert.deepEqual(recs, [
      { type: 1n, value: hex('2a') },
      { type: 3n, value: hex('0102') },
      { type: 257n, value: hex('00') },
    ]);
    input[2] = 0xff;
    assert.equal(recs[0].value[0], 0x2a, 'value must not alias the input');
  });

  it('without isKnown every even type is unknown', () => {
    assertWireError(() => decodeTlvStream(hex('0000')), 'TLV_UNKNOWN_EVEN', /^tlv: unknown even type 0$/);
    assert.deepEqual(decodeTlvStream(hex('0000'), (t) => t === 0n), [{ type: 0n, value: hex('') }]);
  });

  it('errors carry their context', () => {
    assertWireError(() => decodeTlvStream(hex('fd00fc')), 'NON_CANONICAL', /^tlv: type: bigsize: not canonical$/);
    assertWireError(() => decodeTlvStream(hex('01fd00')), 'TRUNCATED', /^tlv: length of type 1: bigsize/);
    assertWireError(() => decodeTlvStream(hex('0105aa')), 'TRUNCATED', /^tlv: type 1 has length 5/);
    assertWireError(() => decodeTlvStream(hex('03000100')), 'TLV_ORDER', /^tlv: type 1 after 3$/);
    assertWireError(() => decodeTlvStream(hex('03000300')), 'TLV_ORDER', /^tlv: duplicate type 3$/);
  });

  it('a huge declared length fails without allocating', () => {
    assertWireError(() => decodeTlvStream(hex('01ffffffffffffffffff00')), 'TRUNCATED');
  });

  it('the largest type (2^64-1) is accepted when odd', () => {
    const recs = decodeTlvStream(hex('ffffffffffffffffff0100'));
    assert.deepEqual(recs, [{ type: (1n << 64n) - 1n, value: hex('00') }]);
  });
});

describe('encodeTlvStream', () => {
  it('sorts by type', () => {
    const out = encodeTlvStream([
      { type: 0x10000n, value: hex('') },
      { type: 3n, value: hex('aa') },
      { type: 253n, value: hex('bbcc') },
    ]);
    assert.equal(out.toString('hex'), '0301aa' + 'fd00fd02bbcc' + 'fe0001000000');
  });

  it('does not modify its input', () => {
    const records = [
      { type: 5n, value: hex('') },
      { type: 1n, value: hex('') },
    ];
    encodeTlvStream(records);
    assert.deepEqual(records.map((r) => r.type), [5n, 1n]);
  });

  it('rejects duplicates and bad types', () => {
    assertWireError(
      () => encodeTlvStream([{ type: 1n, value: hex('') }, { type: 1n, value: hex('00') }]),
      'TLV_ORDER',
    );
    assertWireError(() => encodeTlvStream([{ type: -1n, value: hex('') }]), 'INVALID');
    assertWireError(() => encodeTlvStream([{ type: 1n << 64n, value: hex('') }]), 'INVALID');
  });

  it('empty stream is empty', () => {
    assert.equal(encodeTlvStream([]).length, 0);
    assert.deepEqual(decodeTlvStream(new Uint8Array(0)), []);
  });

  it('encodes long values with a BigSize length', () => {
    const value = Buffer.alloc(300, 7);
    const out = encodeTlvStream([{ type: 7n, value }]);
    assert.equal(out.subarray(0, 4).toString('hex'), '07fd012c');
    assert.deepEqual(decodeTlvStream(out), [{ type: 7n, value }]);
  });
});

describe('truncated integers', () => {
  const cases: [bigint, string][] = [
    [0n, ''],
    [1n, '01'],
    [255n, 'ff'],
    [256n, '0100'],
    [0xffff_ffffn, 'ffffffff'],
    [0x1_0000_0000n, '0100000000'],
    [(1n << 64n) - 1n, 'ffffffffffffffff'],
  ];
  for (const [value, bytes] of cases) {
    it(`tu64 ${value} ↔ 0x${bytes}`, () => {
      assert.equal(encodeTu64(value).toString('hex'), bytes);
      assert.equal(decodeTu64(hex(bytes)), value);
    });
  }
  it('tu64 rejects leading zeros and more than 8 bytes', () => {
    assertWireError(() => decodeTu64(hex('00')), 'NON_CANONICAL', /^tu64: /);
    assertWireError(() => decodeTu64(hex('0001')), 'NON_CANONICAL');
    assertWireError(() => decodeTu64(hex('010000000000000000')), 'TLV_LENGTH');
    assertWireError(() => encodeTu64(1n << 64n), 'INVALID');
    assertWireError(() => encodeTu64(-1), 'INVALID');
  });
  it('tu32 and tu16', () => {
    assert.equal(encodeTu32(0x01020304).toString('hex'), '01020304');
    assert.equal(decodeTu32(hex('010203')), 0x010203);
    assert.equal(encodeTu16(550).toString('hex'), '0226');
    assert.equal(decodeTu16(hex('ff')), 255);
    assertWireError(() => decodeTu32(hex('0100000000')), 'TLV_LENGTH');
    assertWireError(() => decodeTu16(hex('000a')), 'NON_CANONICAL');
    assertWireError(() => encodeTu16(0x10000), 'INVALID');
    assertWireError(() => encodeTu32(2 ** 32), 'INVALID');
  });
});
