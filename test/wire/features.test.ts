import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Feature,
  Features,
  checkDependencies,
  featureName,
  negotiate,
  MAX_FEATURE_BIT,
} from '../../src/wire/features.js';
import { assertWireError, hex } from './helpers.js';

/**
 * BOLT 9's feature table (lightning/bolts 09-features.md): [even bit, name]. The first rows are the
 * current table; the last two were assigned by earlier revisions and are still seen on the network
 * (initial_routing_sync, only ever bit 3; option_anchor_outputs, removed from BOLT 9 in 2024).
 */
const BOLT9_ROWS: readonly (readonly [number, string])[] = [
  [0, 'option_data_loss_protect'],
  [4, 'option_upfront_shutdown_script'],
  [6, 'gossip_queries'],
  [8, 'var_onion_optin'],
  [10, 'gossip_queries_ex'],
  [12, 'option_static_remotekey'],
  [14, 'payment_secret'],
  [16, 'basic_mpp'],
  [18, 'option_support_large_channel'],
  [22, 'option_anchors'],
  [24, 'option_route_blinding'],
  [26, 'option_shutdown_anysegwit'],
  [28, 'option_dual_fund'],
  [34, 'option_quiesce'],
  [36, 'option_attribution_data'],
  [38, 'option_onion_messages'],
  [42, 'option_provide_storage'],
  [44, 'option_channel_type'],
  [46, 'option_scid_alias'],
  [48, 'option_payment_metadata'],
  [50, 'option_zeroconf'],
  [60, 'option_simple_close'],
  [62, 'option_splice'],
  [2, 'initial_routing_sync'],
  [20, 'option_anchor_outputs'],
];

/** BOLT 9's Dependencies column: [feature, the feature it requires]. */
const BOLT9_DEPENDENCIES: readonly (readonly [string, string])[] = [
  ['basic_mpp', 'payment_secret'],
  ['option_zeroconf', 'option_scid_alias'],
  ['option_simple_close', 'option_shutdown_anysegwit'],
];

/** LDK 0.1's regtest init features, written out by hand from bits 0,5,8,12,14,17,19,25,27,45,47,51. */
const LDK_INIT_HEX = '08a0000a0a5121';
const LDK_INIT_BITS = [0, 5, 8, 12, 14, 17, 19, 25, 27, 45, 47, 51];

describe('Features: bytes and bits', () => {
  it('bit 0 is the least significant bit of the last byte', () => {
    assert.deepEqual(Features.fromBytes(hex('01')).bits(), [0]);
    assert.deepEqual(Features.fromBytes(hex('0100')).bits(), [8]);
    assert.deepEqual(Features.fromBytes(hex('80')).bits(), [7]);
    assert.equal(Features.fromBits([9]).toBytes().toString('hex'), '0200');
  });

  it('parses the LDK init features', () => {
    const f = Features.fromBytes(hex(LDK_INIT_HEX));
    assert.deepEqual(f.bits(), LDK_INIT_BITS);
    assert.ok(f.requires(Feature.OPTION_DATA_LOSS_PROTECT));
    assert.ok(f.supports(Feature.OPTION_UPFRONT_SHUTDOWN_SCRIPT));
    assert.ok(!f.requires(Feature.OPTION_UPFRONT_SHUTDOWN_SCRIPT));
    assert.ok(f.requires(Feature.VAR_ONION_OPTIN));
    assert.ok(f.requires(Feature.OPTION_STATIC_REMOTEKEY));
    assert.ok(f.requires(Feature.PAYMENT_SECRET));
    assert.ok(f.supports(Feature.BASIC_MPP) && !f.requires(Feature.BASIC_MPP));
    assert.ok(f.supports(Feature.OPTION_SUPPORT_LARGE_CHANNEL));
    assert.ok(f.supports(Feature.OPTION_ROUTE_BLINDING));
    assert.ok(f.supports(Feature.OPTION_SHUTDOWN_ANYSEGWIT));
    assert.ok(f.supports(Feature.OPTION_CHANNEL_TYPE));
    assert.ok(f.supports(Feature.OPTION_SCID_ALIAS));
    assert.ok(f.supports(Feature.OPTION_ZEROCONF));
    assert.ok(!f.supports(Feature.GOSSIP_QUERIES));
    assert.ok(!f.supports(Feature.OPTION_ANCHORS_ZERO_FEE_HTLC_TX));
    assert.equal(Features.fromBits(LDK_INIT_BITS).toBytes().toString('hex'), LDK_INIT_HEX);
    assert.equal(checkDependencies(f), undefined);
  });

  it('toBytes is minimal: leading zero bytes dropped, empty for no bits', () => {
    assert.equal(Features.fromBytes(hex('00005102')).toBytes().toString('hex'), '5102');
    assert.equal(Features.fromBytes(hex('0000')).toBytes().length, 0);
    assert.equal(Features.fromBits([]).toBytes().length, 0);
    assert.ok(Features.fromBytes(hex('00')).isEmpty());
    assert.ok(Features.fromBytes(hex('00')).equals(Features.EMPTY));
  });

  it('round-trips bytes and bits', () => {
    for (const h of ['', '01', '5102', '0a0000', LDK_INIT_HEX, 'ff'.repeat(40)]) {
      const f = Features.fromBytes(hex(h));
      assert.equal(f.toHex(), h);
      assert.ok(Features.fromBits(f.bits()).equals(f));
    }
  });

  it('is immutable: toBytes returns a copy and fromBytes copies its input', () => {
    const input = hex('5102');
    const f = Features.fromBytes(input);
    input[0] = 0;
    const out = f.toBytes();
    out[0] = 0;
    assert.equal(f.toHex(), '5102');
  });

  it('fromBits deduplicates and validates', () => {
    assert.deepEqual(Features.fromBits([3, 3, 1]).bits(), [1, 3]);
    assertWireError(() => Features.fromBits([-1]), 'INVALID');
    assertWireError(() => Features.fromBits([1.5]), 'INVALID');
    assertWireError(() => Features.fromBits([MAX_FEATURE_BIT + 1]), 'TOO_LARGE');
    assert.ok(Features.fromBits([MAX_FEATURE_BIT]).has(MAX_FEATURE_BIT));
  });

  it('fromHex', () => {
    assert.deepEqual(Features.fromHex('5102').bits(), [1, 8, 12, 14]);
    assertWireError(() => Features.fromHex('510'), 'INVALID');
    assertWireError(() => Features.fromHex('zz'), 'INVALID');
  });

  it('has() is false outside the vector and for bad bit numbers', () => {
    const f = Features.fromBytes(hex('01'));
    assert.equal(f.has(8), false);
    assert.equal(f.has(1000000), false);
    assert.equal(f.has(-1), false);
    assert.equal(f.has(0.5), false);
  });

  it('supports/requires accept either bit of a pair', () => {
    const f = Features.fromBits([15]);
    assert.ok(f.supports(14) && f.supports(15));
    assert.ok(!f.requires(14) && !f.requires(15));
    const g = Features.fromBits([14]);
    assert.ok(g.requires(14) && g.requires(15));
  });

  it('or merges vectors of different lengths', () => {
    const global = Features.fromBytes(hex('0a')); // 1, 3
    const local = Features.fromBytes(hex('5100')); // 8, 12, 14
    assert.equal(global.or(local).toHex(), '510a');
    assert.equal(local.or(global).toHex(), '510a');
    assert.ok(Features.EMPTY.or(local).equals(local));
  });

  it('with/without', () => {
    const f = Features.fromBits([1]).with(9, 13);
    assert.deepEqual(f.bits(), [1, 9, 13]);
    assert.deepEqual(f.without(13, 9).bits(), [1]);
    assert.equal(f.without(13, 9).toHex(), '02');
  });

  it('toString names known bits', () => {
    assert.equal(
      Features.fromBytes(hex('5102')).toString(),
      '0x5102 [option_data_loss_protect(1), var_onion_optin(8), option_static_remotekey(12), payment_secret(14)]',
    );
    assert.equal(Features.fromBits([3, 101]).toString().endsWith('[initial_routing_sync(3), unknown(101)]'), true);
    assert.equal(Features.EMPTY.toString(), '0x []');
  });
});

describe('Feature numbers (BOLT 9)', () => {
  it('every feature is the even bit of its pair, names are unique', () => {
    const values = Object.values(Feature);
    for (const v of values) assert.equal(v % 2, 0);
    assert.equal(new Set(values).size, values.length);
  });
  it('names and bits are those BOLT 9 assigns', () => {
    for (const [name, bits] of Object.entries(Feature)) {
      const row = BOLT9_ROWS.find(([, n]) => n === featureName(bits + 1));
      assert.ok(row, `${name} (bit ${bits}) is not a BOLT 9 feature`);
      assert.equal(bits, row[0], `${row[1]} is bits ${row[0]}/${row[0] + 1}`);
    }
    for (const [even, name] of BOLT9_ROWS) {
      if (even === 2) continue; // initial_routing_sync: only the odd bit was ever assigned
      assert.equal(featureName(even), name, `bit ${even}`);
      assert.equal(featureName(even + 1), name, `bit ${even + 1}`);
    }
    assert.equal(featureName(3), 'initial_routing_sync');
    // Bits BOLT 9 has never assigned.
    for (const bit of [30, 31, 32, 33, 52, 53, 58, 59, 64, 65]) assert.equal(featureName(bit), undefined, `bit ${bit}`);
  });
  it('dependencies are BOLT 9\'s: each fails without its dependency, passes with it (either bit)', () => {
    // Every node must support var_onion_optin (BOLT 9 requirements), so every vector here sets bit 9.
    const varOnion = 9;
    for (const [feature, needs] of BOLT9_DEPENDENCIES) {
      const f = BOLT9_ROWS.find(([, n]) => n === feature)![0];
      const d = BOLT9_ROWS.find(([, n]) => n === needs)![0];
      for (const bit of [f, f + 1]) {
        assert.equal(checkDependencies(Features.fromBits([varOnion, bit])), `${feature} requires ${needs}`);
        assert.equal(checkDependencies(Features.fromBits([varOnion, bit, d])), undefined);
        assert.equal(checkDependencies(Features.fromBits([varOnion, bit, d + 1])), undefined);
      }
    }
  });
  it('negotiation: a peer may require any BOLT 9 feature we support, and no other', () => {
    const ours = Features.fromBits(BOLT9_ROWS.filter(([b]) => b !== 2 && b % 4 === 0).map(([b]) => b + 1));
    for (const [even] of BOLT9_ROWS) {
      if (even === 2) continue;
      const theirs = Features.fromBits([even]);
      if (ours.supports(even)) assert.deepEqual(negotiate(ours, theirs), { ok: true }, `bit ${even}`);
      else assert.deepEqual(negotiate(ours, theirs), { ok: false, unknownRequired: [even] }, `bit ${even}`);
      assert.deepEqual(negotiate(ours, Features.fromBits([even + 1])), { ok: true }, `bit ${even + 1}`);
    }
  });
  it('featureName', () => {
    assert.equal(featureName(22), 'option_anchors');
    assert.equal(featureName(23), 'option_anchors');
    assert.equal(featureName(3), 'initial_routing_sync');
    assert.equal(featureName(2), undefined);
    assert.equal(featureName(52), undefined);
    assert.equal(featureName(39), 'option_onion_messages');
  });
});

describe('negotiate ("it\'s OK to be odd")', () => {
  const ours = Features.fromBits([0, 5, 8, 12, 14, 17, 27, 45]);

  it('known even bits are fine', () => {
    assert.deepEqual(negotiate(ours, Features.fromBits([0, 8, 12, 14])), { ok: true });
  });
  it('an even bit whose pair we only support as odd is fine', () => {
    assert.deepEqual(negotiate(ours, Features.fromBits([4, 16, 26, 44])), { ok: true });
  });
  it('unknown odd bits are fine', () => {
    assert.deepEqual(negotiate(ours, Features.fromBits([1, 7, 23, 99, 255])), { ok: true });
  });
  it('unknown even bits are refused and listed', () => {
    assert.deepEqual(negotiate(ours, Features.fromBits([0, 6, 9, 22, 100])), {
      ok: false,
      unknownRequired: [6, 22, 100],
    });
  });
  it('both bits of an unknown pair count as required', () => {
    assert.deepEqual(negotiate(ours, Features.fromBits([40, 41])), { ok: false, unknownRequired: [40] });
  });
  it('initial_routing_sync (odd only) is fine; bit 2 is unknown', () => {
    assert.deepEqual(negotiate(ours, Features.fromBits([3])), { ok: true });
    assert.deepEqual(negotiate(ours, Features.fromBits([2])), { ok: false, unknownRequired: [2] });
  });
  it('empty against anything', () => {
    assert.deepEqual(negotiate(Features.EMPTY, Features.EMPTY), { ok: true });
    assert.deepEqual(negotiate(Features.EMPTY, Features.fromBits([1, 3])), { ok: true });
    assert.deepEqual(negotiate(Features.EMPTY, Features.fromBits([0])), { ok: false, unknownRequired: [0] });
  });
  it('LDK requires nothing the LDK set does not have', () => {
    const ldk = Features.fromBytes(hex(LDK_INIT_HEX));
    assert.deepEqual(negotiate(ldk, ldk), { ok: true });
    assert.deepEqual(negotiate(Features.fromBits([1, 9, 13, 15]), ldk), { ok: true });
    assert.deepEqual(negotiate(Features.fromBits([1, 9, 13]), ldk), { ok: false, unknownRequired: [14] });
  });
});

describe('checkDependencies (BOLT 9)', () => {
  it('no dependencies in an empty or simple vector', () => {
    assert.equal(checkDependencies(Features.EMPTY), undefined);
    assert.equal(checkDependencies(Features.fromHex('5102')), undefined);
  });
  it('payment_secret needs var_onion_optin', () => {
    assert.equal(checkDependencies(Features.fromBits([15])), 'payment_secret requires var_onion_optin');
    assert.equal(checkDependencies(Features.fromBits([14, 9])), undefined);
  });
  it('basic_mpp needs payment_secret', () => {
    assert.equal(checkDependencies(Features.fromBits([8, 17])), 'basic_mpp requires payment_secret');
    assert.equal(checkDependencies(Features.fromBits([8, 15, 16])), undefined);
  });
  it('option_zeroconf needs option_scid_alias', () => {
    assert.equal(checkDependencies(Features.fromBits([51])), 'option_zeroconf requires option_scid_alias');
    assert.equal(checkDependencies(Features.fromBits([46, 51])), undefined);
  });
  it('option_simple_close needs option_shutdown_anysegwit', () => {
    assert.equal(
      checkDependencies(Features.fromBits([61])),
      'option_simple_close requires option_shutdown_anysegwit',
    );
    assert.equal(checkDependencies(Features.fromBits([27, 61])), undefined);
  });
  it('option_anchor_outputs (legacy) needs option_static_remotekey', () => {
    assert.equal(
      checkDependencies(Features.fromBits([21])),
      'option_anchor_outputs requires option_static_remotekey',
    );
  });
  it('reports the first missing dependency', () => {
    assert.equal(checkDependencies(Features.fromBits([15, 17, 51])), 'payment_secret requires var_onion_optin');
  });
});
