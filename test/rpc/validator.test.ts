/**
 * The schema validator: CLN's custom types in request and response mode, the draft-07 keywords the
 * schemas use, CLN's wording of the reasons; property tests on random schemas and values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { secp } from '../../src/crypto/secp256k1.js';
import { fromValue, parseJson } from '../../src/rpc/cln/json.js';
import type { SchemaNode } from '../../src/rpc/cln/schema.js';
import { enumReason, TYPES, validate, type ValidationMode } from '../../src/rpc/cln/validator.js';
import { schemas } from './harness.js';

const check = (type: string, json: string, mode: ValidationMode = 'response'): boolean => validate({ type }, parseJson(json).root, mode).length === 0;

const G = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

describe('CLN custom types', () => {
  const table: { type: string; valid: string[]; invalid: string[]; requestOnly?: string[] }[] = [
    { type: 'u8', valid: ['0', '255'], invalid: ['256', '-1', '1.5', 'true', '"x"', '1e2'], requestOnly: ['"7"'] },
    { type: 'u16', valid: ['0', '65535'], invalid: ['65536', '-1', '"-1"', 'null'], requestOnly: ['"65535"', '"0012"'] },
    { type: 'u32', valid: ['4294967295'], invalid: ['4294967296', '[]'], requestOnly: ['"4294967295"'] },
    { type: 'u64', valid: ['18446744073709551615', '0'], invalid: ['18446744073709551616', '-5', '0.0'], requestOnly: ['"18446744073709551615"'] },
    { type: 'integer', valid: ['-5', '0', '123456789012345678901'], invalid: ['1.5', '"a"'] },
    { type: 'number', valid: ['1.5', '-2e10'], invalid: ['"1"'] },
    { type: 'boolean', valid: ['true', 'false'], invalid: ['"true"', '1', 'null'] },
    { type: 'string', valid: ['""', '"x"'], invalid: ['1', 'null'] },
    { type: 'pubkey', valid: [`"${G}"`, '"02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5"'], invalid: [`"04${G.slice(2)}"`, `"02${'ff'.repeat(32)}"`, `"${G.slice(0, 64)}"`, `"${G}00"`, '12'] },
    { type: 'hex', valid: ['""', '"00aBff"'], invalid: ['"0"', '"0g"', '5'] },
    { type: 'hash', valid: [`"${'ab'.repeat(32)}"`], invalid: [`"${'ab'.repeat(31)}"`] },
    { type: 'txid', valid: [`"${'00'.repeat(32)}"`], invalid: ['"00"'] },
    { type: 'short_channel_id', valid: ['"1x2x3"', '"16777215x16777215x65535"'], invalid: ['"16777216x0x0"', '"1x2"', '"1x2x65536"', '"axbxc"', '7'] },
    { type: 'short_channel_id_dir', valid: ['"1x2x3/0"', '"1x2x3/1"'], invalid: ['"1x2x3/2"', '"1x2x3"'] },
    { type: 'outpoint', valid: [`"${'11'.repeat(32)}:0"`, `"${'11'.repeat(32)}:4294967295"`], invalid: [`"${'11'.repeat(32)}:4294967296"`, `"${'11'.repeat(32)}"`] },
    { type: 'msat', valid: ['0', '1000'], invalid: ['-1', '1.5', '"abc"', '"1.5sat"', '"1000 msat"', '"0.001btc"'], requestOnly: ['"1000msat"', '"1sat"', '"1.001sat"', '"0.00100000btc"', '"1btc"', '"0.00000001btc"', '"0.00000000001btc"', '"5"'] },
    { type: 'sat', valid: ['5'], invalid: ['"1msat"', '"1.1sat"'], requestOnly: ['"5sat"', '"5000msat"', '"0.00000005btc"'] },
    { type: 'sat_or_all', valid: ['"all"', '1'], invalid: ['"any"'] },
    { type: 'msat_or_any', valid: ['"any"', '1'], invalid: ['"all"'] },
    { type: 'feerate', valid: ['253', '"urgent"', '"1000perkw"', '"4000perkb"'], invalid: ['"fast"', '"1000perkx"'] },
    { type: 'signature', valid: [`"${'30'.repeat(72)}"`], invalid: [`"${'30'.repeat(73)}"`, '""'] },
    { type: 'bip340sig', valid: [`"${'aa'.repeat(64)}"`], invalid: [`"${'aa'.repeat(63)}"`] },
    { type: 'currency', valid: ['"12.5USD"', '"100EUR"'], invalid: ['"12.5usd"', '"USD"'] },
    { type: 'string_map', valid: ['{}', '{"a":"b"}'], invalid: ['{"a":1}', '[]'] },
    { type: 'outputdesc', valid: ['{"bcrt1q":"all","x":1000}'], invalid: ['{"a":"some"}'] },
  ];
  for (const { type, valid, invalid, requestOnly = [] } of table) {
    it(`${type}: ${[...valid, ...requestOnly].length} valid, ${invalid.length} invalid`, () => {
      for (const v of valid) {
        assert.ok(check(type, v, 'response'), `${v} is a ${type} (response)`);
        assert.ok(check(type, v, 'request'), `${v} is a ${type} (request)`);
      }
      for (const v of requestOnly) {
        assert.ok(check(type, v, 'request'), `${v} is a ${type} in a request`);
        assert.ok(!check(type, v, 'response'), `${v} is not a ${type} in a response`);
      }
      for (const v of invalid) {
        assert.ok(!check(type, v, 'request'), `${v} is not a ${type}`);
        assert.ok(!check(type, v, 'response'), `${v} is not a ${type}`);
      }
    });
  }

  it("reasons use lightningd's words", () => {
    const reason = (type: string, json: string): string => validate({ type }, parseJson(json).root, 'request')[0]!.reason;
    assert.equal(reason('boolean', '"true"'), "should be 'true' or 'false'");
    assert.equal(reason('pubkey', '"x"'), 'should be a node id');
    assert.equal(reason('u16', '70000'), 'should be a 16-bit integer');
    assert.equal(reason('u32', '-1'), 'should be an unsigned 32 bit integer');
    assert.equal(reason('u64', '"x"'), 'should be an unsigned 64 bit integer');
    assert.equal(reason('msat', '"x"'), 'should be a millisatoshi amount');
    assert.equal(reason('short_channel_id', '"x"'), 'should be a short_channel_id of form NxNxN');
    assert.equal(enumReason(['io', 'debug', 'info', 'unusual']), "should be 'io', 'debug', 'info', or 'unusual'");
    assert.equal(enumReason([true, false]), 'should be true or false');
  });
});

describe('schema keywords', () => {
  const v = (schema: SchemaNode, value: unknown): string[] => validate(schema, fromValue(value).root).map((i) => `${i.path || '.'}: ${i.reason}`);

  it('required, properties, additionalProperties, items, lengths, ranges, pattern, enum, const', () => {
    const s: SchemaNode = {
      type: 'object',
      required: ['a'],
      additionalProperties: false,
      properties: {
        a: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'u8' } },
        b: { type: 'string', minLength: 2, maxLength: 3, pattern: '^[a-z]+$' },
        c: { type: 'integer', minimum: 5, maximum: 7 },
        d: { type: 'string', enum: ['x', 'y'] },
        e: { const: 4 },
      },
    };
    assert.deepEqual(v(s, { a: [1] }), []);
    assert.deepEqual(v(s, {}), [".: missing required field 'a'"]);
    assert.deepEqual(v(s, { a: [], z: 1 }), ['a: should have at least 1 items', 'z: unexpected field']);
    assert.deepEqual(v(s, { a: [1, 2, 300] }), ['a: should have at most 2 items', 'a[2]: should be an 8-bit integer']);
    assert.deepEqual(v(s, { a: [1], b: 'ABCD' }), ['b: should be at most 3 characters', 'b: should match ^[a-z]+$']);
    assert.deepEqual(v(s, { a: [1], c: 8, d: 'z', e: 5 }), ['c: should be at most 7', "d: should be 'x' or 'y'", 'e: should be 4']);
  });

  it("if/then/else as CLN writes conditional fields (listpeers' netaddr only when connected)", () => {
    const peers = schemas.get('listpeers')!.response;
    const peer = { id: G, connected: true, num_channels: 0, features: '', netaddr: ['127.0.0.1:1'] };
    assert.deepEqual(v(peers, { peers: [peer] }), []);
    assert.deepEqual(v(peers, { peers: [{ ...peer, netaddr: undefined }] }), ["peers[0]: missing required field 'netaddr'"]);
    assert.deepEqual(v(peers, { peers: [{ ...peer, connected: false }] }), ['peers[0].netaddr: unexpected field']);
    assert.deepEqual(v(peers, { peers: [{ ...peer, connected: false, netaddr: undefined }] }), []);
  });

  it('allOf, anyOf, oneOf', () => {
    assert.deepEqual(v({ allOf: [{ type: 'u8' }, { minimum: 3 }] }, 2), ['.: should be at least 3']);
    assert.deepEqual(v({ anyOf: [{ type: 'string' }, { type: 'u8' }] }, true), ['.: should match one of the allowed forms']);
    assert.deepEqual(v({ oneOf: [{ type: 'u8' }, { type: 'u16' }] }, 3), ['.: matches more than one allowed form']);
    assert.deepEqual(v({ oneOf: [{ type: 'u8' }, { type: 'string' }] }, 'x'), []);
  });

  it('an unknown type is reported as a schema error, not ignored', () => {
    assert.deepEqual(v({ type: 'frobnicator' }, 1), [".: schema error: unknown type 'frobnicator'"]);
  });

  it('property: valid values of every integer type pass, values past the range fail', () => {
    const bits: Record<string, bigint> = { u8: 8n, u16: 16n, u32: 32n, u64: 64n };
    fc.assert(
      fc.property(fc.constantFrom('u8', 'u16', 'u32', 'u64'), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.boolean(), (type, n, quoted) => {
        const inRange = n < 1n << bits[type]!;
        const json = quoted ? `"${n}"` : `${n}`;
        assert.equal(check(type, json, 'request'), inRange);
        assert.equal(check(type, json, 'response'), inRange && !quoted);
      }),
      { numRuns: 500 },
    );
  });

  it('property: random private keys give valid pubkeys; flipping the prefix to 04 never does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp.isPrivateKey(k)), (k) => {
        const pub = secp.publicKey(k).toString('hex');
        assert.ok(check('pubkey', `"${pub}"`));
        assert.ok(!check('pubkey', `"04${pub.slice(2)}"`));
      }),
      { numRuns: 100 },
    );
  });

  it('property: every type, any JSON value, both modes: a boolean answer, never an exception', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(TYPES)), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<ValidationMode>('request', 'response'), (type, value, mode) => {
        const issues = validate({ type }, fromValue(value).root, mode);
        assert.ok(Array.isArray(issues));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: random schemas over random values: bounded issues, never an exception or a hang', () => {
    const leaf = fc.record(
      {
        type: fc.constantFrom(...Object.keys(TYPES)),
        enum: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
        minimum: fc.integer(),
        maximum: fc.integer(),
        minLength: fc.nat(5),
        maxLength: fc.nat(5),
        pattern: fc.constantFrom('^a', 'b$', '.*', '^[0-9]+$'),
        required: fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
        additionalProperties: fc.boolean(),
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<SchemaNode>;
    const schema: fc.Arbitrary<SchemaNode> = fc.letrec<{ s: SchemaNode }>((tie) => ({
      s: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ properties: fc.dictionary(fc.string({ maxLength: 3 }), tie('s'), { maxKeys: 3 }), required: fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }) }, { requiredKeys: [] }),
        fc.record({ items: tie('s'), minItems: fc.nat(3) }, { requiredKeys: ['items'] }),
        fc.record({ allOf: fc.array(tie('s'), { maxLength: 2 }) }),
        fc.record({ if: tie('s'), then: tie('s'), else: tie('s') }, { requiredKeys: ['if'] }),
        fc.record({ oneOf: fc.array(tie('s'), { maxLength: 2 }) }),
        fc.record({ anyOf: fc.array(tie('s'), { maxLength: 2 }) }),
      ),
    })).s;
    fc.assert(
      fc.property(schema, fc.jsonValue({ maxDepth: 3 }), fc.constantFrom<ValidationMode>('request', 'response'), (s, value, mode) => {
        const issues = validate(s, fromValue(value).root, mode, 20);
        assert.ok(issues.length <= 20);
        for (const i of issues) assert.ok(typeof i.reason === 'string' && i.reason.length > 0);
      }),
      { numRuns: 1000 },
    );
  });
});
