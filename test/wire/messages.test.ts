import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHAIN_HASH,
  MessageType,
  decodeMessage,
  encodeMessage,
  isEvenType,
  isUnknownMessage,
  messageTypeName,
  networkOfChainHash,
  sanitizeText,
  type Init,
  type Message,
} from '../../src/wire/messages.js';
import type { WireErrorCode } from '../../src/wire/errors.js';
import { assertWireError, hex, loadVectors } from './helpers.js';

const ZERO32 = Buffer.alloc(32);
const REGTEST_WIRE = '06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f';

interface ExtensionVectors {
  valid: { message: string; reason: string; extraTlvs: { type: string; value: string }[] }[];
  invalid: { message: string; reason: string; code: WireErrorCode }[];
}

describe('BOLT 1 Appendix C: message extension (init)', () => {
  const vectors = loadVectors<ExtensionVectors>('bolt1-extension.json');
  for (const v of vectors.valid) {
    it(`accepts 0x${v.message} (${v.reason})`, () => {
      const msg = decodeMessage(hex(v.message));
      assert.equal(msg.type, MessageType.INIT);
      const init = msg as Init;
      assert.equal(init.globalFeatures.length, 0);
      assert.equal(init.features.length, 0);
      assert.equal(init.networks, undefined);
      assert.deepEqual(
        init.extraTlvs,
        v.extraTlvs.map((r) => ({ type: BigInt(r.type), value: hex(r.value) })),
      );
      assert.equal(encodeMessage(msg).toString('hex'), v.message);
    });
  }
  for (const v of vectors.invalid) {
    it(`rejects 0x${v.message} → ${v.code} (${v.reason})`, () => {
      assertWireError(() => decodeMessage(hex(v.message)), v.code, /^init: tlv: /);
    });
  }
});

describe('init', () => {
  it('exact bytes: features 0x5102, networks = [regtest]', () => {
    const msg: Init = {
      type: 16,
      globalFeatures: hex(''),
      features: hex('5102'),
      networks: [CHAIN_HASH.regtest],
      extraTlvs: [],
    };
    const wire = '0010' + '0000' + '0002' + '5102' + '0120' + REGTEST_WIRE;
    assert.equal(encodeMessage(msg).toString('hex'), wire);
    assert.deepEqual(decodeMessage(hex(wire)), msg);
  });

  it('without networks TLV', () => {
    const msg = decodeMessage(hex('0010000102000102'));
    assert.deepEqual(msg, {
      type: 16,
      globalFeatures: hex('02'),
      features: hex('02'),
      extraTlvs: [],
    });
    assert.equal('networks' in msg, false);
    assert.equal('remoteAddr' in msg, false);
  });

  it('with several networks, remote_addr and unknown odd TLVs (round trip)', () => {
    const msg: Init = {
      type: 16,
      globalFeatures: hex('0a'),
      features: hex('08a0000a0a5121'),
      networks: [CHAIN_HASH.bitcoin, CHAIN_HASH.testnet, CHAIN_HASH.regtest],
      remoteAddr: hex('017f000001260f'), // IPv4 127.0.0.1:9743
      extraTlvs: [
        { type: 5n, value: hex('aabb') },
        { type: 0xc9n, value: hex('') },
        { type: 0x10001n, value: hex('01') },
      ],
    };
    const wire = encodeMessage(msg);
    assert.deepEqual(decodeMessage(wire), msg);
    // TLVs come out in type order: 1, 3, 5, 0xc9, 0x10001
    const tlvStart = 2 + 2 + 1 + 2 + 7;
    assert.equal(wire.subarray(tlvStart, tlvStart + 2).toString('hex'), '0160');
  });

  it('empty networks TLV decodes to []', () => {
    const msg = decodeMessage(hex('00100000000001' + '00')) as Init;
    assert.deepEqual(msg.networks, []);
    assert.equal(encodeMessage(msg).toString('hex'), '001000000000' + '0100');
  });

  it('networks length must be a multiple of 32', () => {
    assertWireError(
      () => decodeMessage(hex('001000000000' + '0121' + REGTEST_WIRE + '00')),
      'INVALID',
      /^init: networks length 33/,
    );
    assertWireError(() => decodeMessage(hex('001000000000' + '010100')), 'INVALID');
  });

  it('unknown even TLV is refused', () => {
    assertWireError(() => decodeMessage(hex('001000000000' + '0200')), 'TLV_UNKNOWN_EVEN');
    assertWireError(() => decodeMessage(hex('001000000000' + '0120' + REGTEST_WIRE + '0400')), 'TLV_UNKNOWN_EVEN');
  });

  it('out-of-order init TLVs are refused', () => {
    assertWireError(() => decodeMessage(hex('001000000000' + '030100' + '0100')), 'TLV_ORDER');
  });

  it('every truncation of the fixed part is TRUNCATED', () => {
    const wire = hex('0010' + '0001' + '02' + '0002' + '5102');
    for (let n = 0; n < wire.length; n++) {
      assertWireError(() => decodeMessage(wire.subarray(0, n)), 'TRUNCATED');
    }
    assertWireError(() => decodeMessage(hex('00100001')), 'TRUNCATED', /^init: globalfeatures truncated/);
    assertWireError(() => decodeMessage(hex('0010000002')), 'TRUNCATED', /^init: flen truncated/);
  });

  it('decoded fields do not alias the input', () => {
    const wire = encodeMessage({
      type: 16,
      globalFeatures: hex(''),
      features: hex('5102'),
      networks: [CHAIN_HASH.signet],
      extraTlvs: [],
    });
    const msg = decodeMessage(wire) as Init;
    wire.fill(0xee);
    assert.equal(msg.features.toString('hex'), '5102');
    assert.ok(msg.networks?.[0].equals(CHAIN_HASH.signet));
  });

  it('encode refuses bad networks, extraTlvs that shadow known types and duplicates', () => {
    const base: Init = { type: 16, globalFeatures: hex(''), features: hex(''), extraTlvs: [] };
    assertWireError(() => encodeMessage({ ...base, networks: [hex('00')] }), 'INVALID');
    assertWireError(() => encodeMessage({ ...base, extraTlvs: [{ type: 1n, value: hex('') }] }), 'INVALID');
    assertWireError(() => encodeMessage({ ...base, extraTlvs: [{ type: 3n, value: hex('') }] }), 'INVALID');
    assertWireError(
      () =>
        encodeMessage({
          ...base,
          extraTlvs: [
            { type: 7n, value: hex('') },
            { type: 7n, value: hex('') },
          ],
        }),
      'TLV_ORDER',
      /^init: tlv: duplicate type 7/,
    );
    assertWireError(() => encodeMessage({ ...base, features: Buffer.alloc(65536) }), 'TOO_LARGE');
    assertWireError(() => encodeMessage({ ...base, features: Buffer.alloc(65530) }), 'TOO_LARGE', /^message: /);
  });
});

describe('error and warning', () => {
  it('exact bytes: error on all channels with "hi"', () => {
    const wire = '0011' + '00'.repeat(32) + '0002' + '6869';
    const msg = { type: 17 as const, channelId: ZERO32, data: Buffer.from('hi') };
    assert.equal(encodeMessage(msg).toString('hex'), wire);
    assert.deepEqual(decodeMessage(hex(wire)), msg);
  });

  it('exact bytes: warning with empty data', () => {
    const channelId = Buffer.alloc(32, 0xab);
    const wire = '0001' + 'ab'.repeat(32) + '0000';
    assert.equal(encodeMessage({ type: 1, channelId, data: hex('') }).toString('hex'), wire);
    assert.deepEqual(decodeMessage(hex(wire)), { type: 1, channelId, data: hex('') });
  });

  it('trailing bytes are ignored', () => {
    const wire = hex('0011' + '11'.repeat(32) + '0001' + '41' + 'deadbeef');
    assert.deepEqual(decodeMessage(wire), { type: 17, channelId: Buffer.alloc(32, 0x11), data: hex('41') });
  });

  it('truncated channel_id, len or data', () => {
    assertWireError(() => decodeMessage(hex('0011' + '00'.repeat(31))), 'TRUNCATED', /^error: channel_id/);
    assertWireError(() => decodeMessage(hex('0001' + '00'.repeat(33))), 'TRUNCATED', /^warning: len/);
    assertWireError(() => decodeMessage(hex('0011' + '00'.repeat(32) + '0003' + '4141')), 'TRUNCATED', /^error: data/);
  });

  it('encode refuses a channel_id that is not 32 bytes', () => {
    assertWireError(() => encodeMessage({ type: 17, channelId: hex('00'), data: hex('') }), 'INVALID');
  });
});

describe('ping and pong', () => {
  it('exact bytes: ping asking for 4 bytes with 2 ignored bytes', () => {
    const wire = '0012' + '0004' + '0002' + '0000';
    const msg = { type: 18 as const, numPongBytes: 4, ignored: Buffer.alloc(2) };
    assert.equal(encodeMessage(msg).toString('hex'), wire);
    assert.deepEqual(decodeMessage(hex(wire)), msg);
  });

  it('exact bytes: pong with 4 ignored bytes', () => {
    const wire = '0013' + '0004' + '00000000';
    const msg = { type: 19 as const, ignored: Buffer.alloc(4) };
    assert.equal(encodeMessage(msg).toString('hex'), wire);
    assert.deepEqual(decodeMessage(hex(wire)), msg);
  });

  it('largest pong fits; trailing bytes ignored', () => {
    const msg = { type: 19 as const, ignored: Buffer.alloc(65531) };
    const wire = encodeMessage(msg);
    assert.equal(wire.length, 65535);
    assert.deepEqual(decodeMessage(wire), msg);
    assert.deepEqual(decodeMessage(hex('0013000100ff')), { type: 19, ignored: hex('00') });
    assert.deepEqual(decodeMessage(hex('00120003000001ff')), { type: 18, numPongBytes: 3, ignored: hex('') });
  });

  it('truncated ping/pong', () => {
    assertWireError(() => decodeMessage(hex('0012')), 'TRUNCATED', /^ping: num_pong_bytes/);
    assertWireError(() => decodeMessage(hex('001200ff')), 'TRUNCATED', /^ping: byteslen/);
    assertWireError(() => decodeMessage(hex('001200ff0002ff')), 'TRUNCATED', /^ping: ignored/);
    assertWireError(() => decodeMessage(hex('001300')), 'TRUNCATED', /^pong: byteslen/);
  });

  it('encode refuses out-of-range numbers and oversize messages', () => {
    assertWireError(() => encodeMessage({ type: 18, numPongBytes: 65536, ignored: hex('') }), 'INVALID');
    assertWireError(() => encodeMessage({ type: 18, numPongBytes: -1, ignored: hex('') }), 'INVALID');
    assertWireError(() => encodeMessage({ type: 19, ignored: Buffer.alloc(65532) }), 'TOO_LARGE');
  });
});

describe('message framing and unknown types', () => {
  it('too short for a type', () => {
    assertWireError(() => decodeMessage(hex('')), 'TRUNCATED', /^message: type truncated/);
    assertWireError(() => decodeMessage(hex('00')), 'TRUNCATED');
  });

  it('larger than 65535 bytes is TOO_LARGE', () => {
    assertWireError(() => decodeMessage(Buffer.alloc(65536)), 'TOO_LARGE');
  });

  it('unknown odd and even types are returned, not thrown', () => {
    const odd = decodeMessage(hex('8001cafe'));
    assert.deepEqual(odd, { type: 0x8001, unknown: true, payload: hex('cafe') });
    assert.ok(isUnknownMessage(odd));
    assert.equal(isEvenType(odd.type), false);
    const even = decodeMessage(hex('0020'));
    assert.deepEqual(even, { type: 32, unknown: true, payload: hex('') });
    assert.equal(isEvenType(even.type), true);
    assert.equal(encodeMessage(odd).toString('hex'), '8001cafe');
  });

  it('type numbers and names', () => {
    assert.deepEqual({ ...MessageType }, { WARNING: 1, INIT: 16, ERROR: 17, PING: 18, PONG: 19 });
    assert.equal(messageTypeName(16), 'init');
    assert.equal(messageTypeName(1), 'warning');
    assert.equal(messageTypeName(32769), 'type 32769');
    assert.ok(!isUnknownMessage({ type: 19, ignored: hex('') }));
  });

  it('accepts a plain Uint8Array (and a subarray view)', () => {
    const backing = new Uint8Array([0xff, 0x00, 0x13, 0x00, 0x00, 0xff]);
    assert.deepEqual(decodeMessage(backing.subarray(1, 5)), { type: 19, ignored: hex('') });
  });

  it('encode: unknown messages are written raw; bad types are refused', () => {
    assert.equal(encodeMessage({ type: 20, unknown: true, payload: hex('ab') }).toString('hex'), '0014ab');
    assertWireError(() => encodeMessage({ type: 70000, unknown: true, payload: hex('') }), 'INVALID');
    assertWireError(() => encodeMessage({ type: 20 } as unknown as Message), 'INVALID');
  });
});

describe('chain hashes', () => {
  it('are the genesis hashes in internal byte order', () => {
    assert.equal(CHAIN_HASH.regtest.toString('hex'), REGTEST_WIRE);
    assert.equal(
      CHAIN_HASH.bitcoin.toString('hex'),
      '6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000',
    );
    assert.equal(
      CHAIN_HASH.testnet.toString('hex'),
      '43497fd7f826957108f4a30fd9cec3aeba79972084e90ead01ea330900000000',
    );
    assert.equal(
      CHAIN_HASH.signet.toString('hex'),
      'f61eee3b63a380a477a063af32b2bbc97c9ff9f01f2c4225e973988108000000',
    );
    assert.equal(
      CHAIN_HASH.testnet4.toString('hex'),
      '43f08bdab050e35b567c864b91f47f50ae725ae2de53bcfbbaf284da00000000',
    );
    for (const h of Object.values(CHAIN_HASH)) assert.equal(h.length, 32);
  });
  it('networkOfChainHash', () => {
    assert.equal(networkOfChainHash(hex(REGTEST_WIRE)), 'regtest');
    assert.equal(networkOfChainHash(CHAIN_HASH.testnet4), 'testnet4');
    assert.equal(networkOfChainHash(ZERO32), undefined);
  });
});

describe('sanitizeText', () => {
  it('keeps printable ASCII', () => {
    assert.equal(sanitizeText(Buffer.from('channel closed: fee too low ~{}')), 'channel closed: fee too low ~{}');
  });
  it('escapes everything else (and the backslash)', () => {
    assert.equal(sanitizeText(hex('41000a1b7f80ff5c42')), 'A\\x00\\x0a\\x1b\\x7f\\x80\\xff\\x5cB');
    assert.equal(sanitizeText(Buffer.from('é')), '\\xc3\\xa9');
  });
  it('is capped at 1000 characters', () => {
    assert.equal(sanitizeText(Buffer.alloc(1000, 0x41)), 'A'.repeat(1000));
    const long = sanitizeText(Buffer.alloc(1001, 0x41));
    assert.equal(long.length, 1000);
    assert.ok(long.endsWith('...'));
    const escaped = sanitizeText(Buffer.alloc(65535, 0));
    assert.ok(escaped.length <= 1000);
    assert.ok(escaped.endsWith('\\x00...'));
    assert.equal(sanitizeText(hex('')), '');
  });
});

describe('round trips of hand-built messages', () => {
  const samples: Message[] = [
    { type: 16, globalFeatures: hex(''), features: hex(''), extraTlvs: [] },
    { type: 16, globalFeatures: hex('2200'), features: hex('0100'), remoteAddr: hex('01'), extraTlvs: [] },
    { type: 17, channelId: Buffer.alloc(32, 1), data: Buffer.from('boom') },
    { type: 1, channelId: ZERO32, data: hex('00ff') },
    { type: 18, numPongBytes: 65532, ignored: hex('') },
    { type: 19, ignored: hex('000000') },
    { type: 0xffff, unknown: true, payload: hex('01020304') },
    { type: 0, unknown: true, payload: hex('') },
  ];
  for (const m of samples) {
    it(`${messageTypeName(m.type)}`, () => {
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    });
  }
});
