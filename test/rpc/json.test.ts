/**
 * The JSON layer of the RPC socket: parser (strict RFC 8259, positions kept), framer (top-level values in
 * a byte stream), request dispatch on random and mutated input. Property tests: never a crash, a hang,
 * or a disagreement with JSON.parse about what is valid.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Dispatcher } from '../../src/rpc/cln/dispatch.js';
import { JsonError, JsonFramer, MAX_DEPTH, parseJson, prettyPrint, rawText, stringify, toValue, tokenText } from '../../src/rpc/cln/json.js';
import { METHODS } from '../../src/rpc/cln/methods/index.js';
import { testLogger } from '../harness/daemon.js';
import { schemas, startRpcNode, type RpcNode } from './harness.js';

/** JSON.parse's value with integers beyond 2^53 as bigint, like toValue. */
function normalize(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v) && Math.abs(v) < 1e21) return BigInt(String(v));
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = normalize(x);
    return o;
  }
  return v;
}

function frames(framer: JsonFramer): string[] {
  const out: string[] = [];
  for (let r = framer.next(); r; r = framer.next()) {
    if (!r.ok) throw new Error(r.reason);
    out.push(r.text);
  }
  return out;
}

describe('JSON parser', () => {
  it('keeps raw tokens: ids, big integers and escapes exactly as written', () => {
    const doc = parseJson(' {"id": 123456789012345678901234, "s": "a\\"b\\u00e9", "f": 1.50, "n": null, "a": [true, false]} ');
    assert.equal(doc.root.kind, 'object');
    const [id, s, f] = (doc.root as { members: { value: Parameters<typeof rawText>[1] }[] }).members.map((m) => m.value);
    assert.equal(rawText(doc, id!), '123456789012345678901234');
    assert.equal(rawText(doc, s!), '"a\\"b\\u00e9"');
    assert.equal(tokenText(doc, s!), 'a\\"b\\u00e9');
    assert.equal(rawText(doc, f!), '1.50');
    assert.deepEqual(toValue(doc.root), { id: 123456789012345678901234n, s: 'a"bé', f: 1.5, n: null, a: [true, false] });
  });

  it('keeps duplicate keys (so params can refuse them); toValue takes the first, as json_get_member', () => {
    const doc = parseJson('{"a":1,"a":2}');
    assert.equal((doc.root as { members: unknown[] }).members.length, 2);
    assert.deepEqual(toValue(doc.root), { a: 1 });
  });

  it('refuses what RFC 8259 refuses, with a JsonError', () => {
    for (const bad of ['', ' ', '{', '{"a"}', '{"a":1,}', '[1,]', '01', '1.', '.5', '+1', '"\\x"', '"a\nb"', "'a'", 'nul', 'tru', '{} {}', '[1 2]', '"\\u12"', 'NaN', 'Infinity']) {
      assert.throws(() => parseJson(bad), JsonError, JSON.stringify(bad));
    }
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} instead of overflowing the stack`, () => {
    assert.doesNotThrow(() => parseJson('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH)));
    assert.throws(() => parseJson('['.repeat(100_000) + ']'.repeat(100_000)), /nesting deeper/);
  });

  it('stringify writes bigint digits and drops undefined members', () => {
    assert.equal(stringify({ a: 18446744073709551615n, b: undefined, c: [1, 'x', null], d: true }), '{"a":18446744073709551615,"c":[1,"x",null],"d":true}');
  });

  it('pretty-prints as lightning-cli: 3-space indent, "key": value, empty [] and {}', () => {
    const doc = parseJson('{"a":[],"b":{},"c":[{"d":1}],"e":"x"}');
    assert.equal(prettyPrint(doc), '{\n   "a": [],\n   "b": {},\n   "c": [\n      {\n         "d": 1\n      }\n   ],\n   "e": "x"\n}');
    assert.equal(prettyPrint(doc), JSON.stringify(JSON.parse(doc.text), null, 3));
  });

  it('property: agrees with JSON.parse on every generated JSON text, values included', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = pretty ? JSON.stringify(v, null, 2) : JSON.stringify(v);
        assert.deepEqual(toValue(parseJson(text).root), normalize(JSON.parse(text)));
      }),
      { numRuns: 500 },
    );
  });

  it('property: any string is either valid for both parsers or a JsonError for ours, never another exception', () => {
    const jsonish = fc.stringMatching(/^[\s{}[\]",:0-9.eE+\-tfrulnsa\\/]{0,40}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), jsonish, fc.string({ unit: 'binary' })), (s) => {
        let theirs = true;
        try {
          JSON.parse(s);
        } catch {
          theirs = false;
        }
        let ours = true;
        try {
          parseJson(s);
        } catch (err) {
          assert.ok(err instanceof JsonError, `JsonError, got ${String(err)}`);
          ours = false;
        }
        assert.equal(ours, theirs, JSON.stringify(s));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('JSON framer', () => {
  it('splits back-to-back values, whitespace between them or not, across any chunking', () => {
    const f = new JsonFramer(1 << 20);
    f.push(Buffer.from('{"a":"}{"}[1,[2]]\n\n {"b":"\\""} "str"{"c'));
    assert.deepEqual(frames(f), ['{"a":"}{"}', '[1,[2]]', '{"b":"\\""}', '"str"']);
    assert.ok(f.partialBytes > 0);
    f.push(Buffer.from('":1}'));
    assert.deepEqual(frames(f), ['{"c":1}']);
    assert.equal(f.partialBytes, 0);
  });

  it('decodes UTF-8 split across chunks', () => {
    const f = new JsonFramer(1 << 20);
    const bytes = Buffer.from('{"k":"héllo ⚡ 😀"}');
    for (const b of bytes) f.push(Buffer.from([b]));
    assert.deepEqual(frames(f), ['{"k":"héllo ⚡ 😀"}']);
  });

  it('fails on a value that cannot start JSON-RPC, on too much nesting and on an oversized value, and stays failed', () => {
    const bad = new JsonFramer(100);
    bad.push(Buffer.from('xyz{}'));
    assert.deepEqual(bad.next(), { ok: false, reason: 'unexpected byte 0x78', preview: 'xyz{}' });
    bad.push(Buffer.from('{}'));
    assert.equal(bad.next()?.ok, false);
    const deep = new JsonFramer(1 << 20);
    deep.push(Buffer.from('['.repeat(MAX_DEPTH + 1)));
    assert.match((deep.next() as { reason: string }).reason, /nesting/);
    const big = new JsonFramer(100);
    big.push(Buffer.from(`{"a":"${'x'.repeat(200)}`));
    assert.match((big.next() as { reason: string }).reason, /larger than 100 bytes/);
    const bigDone = new JsonFramer(100);
    bigDone.push(Buffer.from(`{"a":"${'x'.repeat(200)}"}`));
    assert.match((bigDone.next() as { reason: string }).reason, /larger than 100 bytes/);
  });

  it('property: any sequence of JSON objects and arrays, joined with any whitespace and cut anywhere, comes out whole and in order', () => {
    const value = fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), fc.array(fc.jsonValue({ maxDepth: 3 })));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(value, fc.constantFrom('', ' ', '\n', '\r\n\t ')), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (items, cuts) => {
          const texts = items.map(([v]) => JSON.stringify(v));
          const stream = Buffer.from(items.map(([v, ws]) => JSON.stringify(v) + ws).join(''));
          const f = new JsonFramer(1 << 20);
          const out: string[] = [];
          let pos = 0;
          let k = 0;
          while (pos < stream.length) {
            const n = cuts[k++ % cuts.length]!;
            f.push(stream.subarray(pos, pos + n));
            pos += n;
            out.push(...frames(f));
          }
          assert.deepEqual(out, texts);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: random bytes never throw, and the framer ends failed, idle or waiting within the input size', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const f = new JsonFramer(1000);
        let results = 0;
        for (const c of chunks) {
          f.push(c);
          for (let r = f.next(); r; r = f.next()) {
            results++;
            if (!r.ok) {
              assert.ok(f.failed);
              break;
            }
            assert.ok(results <= 2000, 'bounded');
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('request dispatch on random and mutated input', () => {
  let n: RpcNode;
  let d: Dispatcher;
  before(async () => {
    n = await startRpcNode();
    d = new Dispatcher({ core: n.core, methods: METHODS, schemas, developer: true, log: testLogger() });
  });
  after(() => n.close());

  async function answer(text: string): Promise<string> {
    const r = d.handle(text, { notifications: false });
    const o = 'outcome' in r ? await r.outcome : r;
    return o.response;
  }

  function assertWellFormed(response: string): void {
    assert.ok(response.endsWith('\n\n'), 'ends with \\n\\n');
    const body = response.slice(0, -2);
    assert.ok(!body.includes('\n'), 'one line');
    const obj = JSON.parse(body) as Record<string, unknown>;
    assert.equal(obj.jsonrpc, '2.0');
    assert.ok('id' in obj);
    assert.ok(('result' in obj) !== ('error' in obj));
    if ('error' in obj) {
      const e = obj.error as { code: unknown; message: unknown };
      assert.ok(Number.isInteger(e.code) && typeof e.message === 'string' && e.message.length > 0);
    }
  }

  const base = [
    '{"jsonrpc":"2.0","id":1,"method":"getinfo","params":[]}',
    '{"jsonrpc":"2.0","id":"x","method":"listpeers","params":{"id":"02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5","level":"debug"}}',
    '{"jsonrpc":"2.0","id":2,"method":"help","params":["ping"],"filter":{"help":[{"command":true}]}}',
    '{"jsonrpc":"2.0","id":3,"method":"ping","params":{"id":"02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5","len":10,"pongbytes":"12"}}',
    '{"jsonrpc":"2.0","id":4,"method":"disconnect","params":["02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5",true]}',
    '{"jsonrpc":"2.0","id":5,"method":"notifications","params":{"enable":false}}',
  ];

  it('property: mutated requests always get one well-formed response, never an exception', async () => {
    const mutation = fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'{}[]",:0123456789abcdefnulltrue\\ x-.'.split('')));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...base), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (text, muts) => {
        let t = text;
        for (const [pos, op, ch] of muts) {
          const i = pos % (t.length + 1);
          t = op === 'delete' ? t.slice(0, i) + t.slice(i + 1) : op === 'insert' ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + ch + t.slice(i + 1);
        }
        if (t.includes('"stop"') || t.includes('connect"')) return; // no shutdowns or dials from fuzzing
        assertWellFormed(await answer(t));
      }),
      { numRuns: 1500 },
    );
  });

  it('property: arbitrary params of every method get a well-formed response', async () => {
    const safe = ['getinfo', 'listpeers', 'help', 'ping', 'disconnect', 'notifications'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...safe), fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), fc.dictionary(fc.constantFrom('id', 'len', 'pongbytes', 'force', 'level', 'command', 'enable', 'x'), fc.jsonValue({ maxDepth: 2 }))), fc.jsonValue(), async (method, params, id) => {
        const idText = id !== null && typeof id === 'object' ? '1' : JSON.stringify(id);
        assertWellFormed(await answer(`{"jsonrpc":"2.0","id":${idText},"method":"${method}","params":${JSON.stringify(params)}}`));
      }),
      { numRuns: 1500 },
    );
  });

  it('every response to a known-method request carries the id byte for byte', async () => {
    for (const t of base) {
      const id = /"id":("[^"]*"|\d+)/.exec(t)![1]!;
      assert.ok((await answer(t)).startsWith(`{"jsonrpc":"2.0","id":${id},`));
    }
  });
});
