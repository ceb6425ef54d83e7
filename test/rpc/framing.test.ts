/**
 * CLN's JSON-RPC transport rules (spec §1): back-to-back requests, request checks in lightningd's order,
 * ids echoed byte for byte, positional and named parameters, null as "not given", filter. Every
 * response is checked against its method's schema by the harness.
 */
import { METHODS } from '../../src/rpc/cln/methods/index.js';
import { INIT_FEATURES } from '../../src/node/node.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { staticKey } from '../harness/daemon.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { RawClient, startRpcNode, waitListed, type RpcNode } from './harness.js';

const PUBKEY = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';

describe('JSON-RPC framing and request checks', () => {
  let n: RpcNode;
  before(async () => {
    n = await startRpcNode();
  });
  after(() => n.close());

  const req = (id: unknown, method: string, params: unknown = []): string => JSON.stringify({ jsonrpc: '2.0', id, method, params });

  it('answers requests sent back to back with no separator, each response compact and followed by \\n\\n', async () => {
    const c = await RawClient.open(n.path);
    c.send(req(1, 'getinfo') + req(2, 'help', ['getinfo']) + req(3, 'listpeers'));
    const rs = await c.waitFor(3);
    const ids = rs.map((r) => (JSON.parse(r) as { id: number }).id).sort();
    assert.deepEqual(ids, [1, 2, 3]);
    for (const r of rs) assert.ok(!r.includes('\n') && !r.includes(': '), 'compact, one line');
    c.close();
  });

  it('answers nine newline-joined requests split at arbitrary points (test_multirpc)', async () => {
    const c = await RawClient.open(n.path);
    const text = Array.from({ length: 9 }, (_, i) => req(`multi:${i}`, 'getinfo')).join('\n');
    for (let i = 0; i < text.length; i += 7) c.send(text.slice(i, i + 7));
    const rs = await c.waitFor(9);
    assert.deepEqual(new Set(rs.map((r) => (JSON.parse(r) as { id: string }).id)), new Set(Array.from({ length: 9 }, (_, i) => `multi:${i}`)));
    c.close();
  });

  it('echoes ids exactly as sent: numbers, strings with escapes, big integers, fractions, null, booleans', async () => {
    const c = await RawClient.open(n.path);
    const ids = ['1', '"x"', '"cli:getinfo#123/cln:foo#7"', '"a\\"b\\u00e9\\n"', '123456789012345678901234567890', '1.50', '-0', 'null', 'true', '2e3'];
    for (const id of ids) {
      c.send(`{"jsonrpc":"2.0","id":${id},"method":"getinfo","params":{}}`);
      const r = await c.next('getinfo');
      assert.ok(r.text.startsWith(`{"jsonrpc":"2.0","id":${id},"result":`), `id ${id} echoed: ${r.text.slice(0, 60)}`);
    }
    c.close();
  });

  it('checks the envelope in lightningd order, with its codes and messages', async () => {
    const cases: [string, number, string, string][] = [
      // request, code, message, id echoed
      ['{"jsonrpc":"2.0","method":"getinfo","params":[]}', -32600, 'No id', 'null'],
      ['{"jsonrpc":"2.0","id":{"a":1},"method":"getinfo","params":[]}', -32600, 'Expected string/primitive for id', 'null'],
      ['{"jsonrpc":"2.0","id":[1],"method":"getinfo","params":[]}', -32600, 'Expected string/primitive for id', 'null'],
      ['{"jsonrpc":"1.0","id":1,"method":"getinfo","params":[]}', -32600, 'jsonrpc: "2.0" must be specified in the request', 'null'],
      ['{"jsonrpc":2,"id":1,"method":"getinfo","params":[]}', -32600, 'jsonrpc: "2.0" must be specified in the request', 'null'],
      ['{"jsonrpc":"1.0","method":"getinfo","params":[]}', -32600, 'No id', 'null'],
      ['{"jsonrpc":"2.0","id":7,"params":[]}', -32600, 'No method', '7'],
      ['{"jsonrpc":"2.0","id":7,"method":"getinfo"}', -32600, 'No params', '7'],
      ['{"jsonrpc":"2.0","id":7}', -32600, 'No method', '7'],
      ['{"jsonrpc":"2.0","id":"s","method":5,"params":[]}', -32600, 'Expected string for method', '"s"'],
      ['{"jsonrpc":"2.0","id":"s","method":5}', -32600, 'No params', '"s"'],
      ['{"jsonrpc":"2.0","id":8,"method":"nosuch","params":[]}', -32601, "Unknown command 'nosuch'", '8'],
      ['{"jsonrpc":"2.0","id":8,"method":"nosuch","params":[],"filter":[]}', -32601, "Unknown command 'nosuch'", '8'],
      ['{"jsonrpc":"2.0","id":9,"method":"getinfo","params":[],"filter":[]}', -32602, "filter: Expected object: invalid token '[]'", '9'],
      ['{"jsonrpc":"2.0","id":9,"method":"getinfo","params":[],"filter":{"id":false}}', -32602, 'filter: value must be true: invalid token \'{"id":false}\'', '9'],
      ['{"jsonrpc":"2.0","id":9,"method":"getinfo","params":[],"filter":{"a":[true,true]}}', -32602, 'filter: Arrays can only have one element: invalid token \'{"a":[true,true]}\'', '9'],
      ['{"jsonrpc":"2.0","id":10,"method":"getinfo","params":"x"}', -32602, 'Expected array or object for params', '10'],
      ['{"jsonrpc":"2.0","id":10,"method":"getinfo","params":null}', -32602, 'Expected array or object for params', '10'],
      ['{"jsonrpc":"2.0","id":11,"method":"getinfo","params":[1]}', -32602, 'too many parameters: got 1, expected 0', '11'],
      ['{"jsonrpc":"2.0","id":12,"method":"getinfo","params":{"x":1}}', -32602, 'unknown parameter: x, this may be caused by a failure to autodetect key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters.', '12'],
      [`{"jsonrpc":"2.0","id":13,"method":"listpeers","params":{"id":"${PUBKEY}","id":"${PUBKEY}"}}`, -32602, 'duplicate json names: id', '13'],
      ['{"jsonrpc":"2.0","id":14,"method":"ping","params":{}}', -32602, 'missing required parameter: id', '14'],
      ['{"jsonrpc":"2.0","id":14,"method":"ping","params":[null, 5]}', -32602, 'missing required parameter: id', '14'],
      ['{"jsonrpc":"2.0","id":15,"method":"ping","params":["nope"]}', -32602, 'id: should be a node id: invalid token \'"nope"\'', '15'],
      ['{"jsonrpc":"2.0","id":16,"method":"disconnect","params":{"id":"02ff"}}', -32602, 'id: invalid peer id: invalid token \'"02ff"\'', '16'],
      [`{"jsonrpc":"2.0","id":16,"method":"disconnect","params":{"force":"true","id":"${PUBKEY}"}}`, -32602, 'force: should be \'true\' or \'false\': invalid token \'"true"\'', '16'],
      [`{"jsonrpc":"2.0","id":16,"method":"disconnect","params":{"id":"${PUBKEY}","force":"true"}}`, -32602, `Unknown peer '${PUBKEY}'`, '16'],
      ['{"jsonrpc":"2.0","id":17,"method":"help","params":["nosuch"]}', -32601, 'Unknown command nosuch', '17'],
      ['{"jsonrpc":"2.0","id":18,"method":"listpeers","params":[null,"loud"]}', -32602, "level: should be 'io', 'debug', 'info', or 'unusual': invalid token '\"loud\"'", '18'],
      ['{"jsonrpc":"2.0","id":19,"method":"notifications","params":{}}', -32602, 'missing required parameter: enable', '19'],
    ];
    const c = await RawClient.open(n.path);
    for (const [text, code, message, id] of cases) {
      c.send(text);
      const r = await c.next();
      assert.deepEqual(r.error, { code, message }, text);
      assert.ok(r.text.startsWith(`{"jsonrpc":"2.0","id":${id},"error":`), `${text} → id ${id}: ${r.text}`);
    }
    // None of these closes the connection.
    assert.equal((await c.call('getinfo')).result?.id, n.nodeId);
    c.close();
  });

  it('half-closes after input that is not JSON-RPC: unparseable, or a value without "jsonrpc" (test_malformed_rpc)', async () => {
    const cases: [string, RegExp][] = [
      ['[]}', /^JSON-RPC message does not contain "jsonrpc" field: '\[\]'$/],
      ['{"id":1,"method":"getinfo","params":[]}', /^JSON-RPC message does not contain "jsonrpc" field: '\{"id":1/],
      ['{"method":"getinfo","params":[]}', /does not contain "jsonrpc" field/],
      ['"just a string"', /does not contain "jsonrpc" field/],
      ['{"jsonrpc":"2.0", oops}', /^Failed to parse RPC JSON response '\{"jsonrpc":"2.0", oops\}'$/],
      ['hello', /^Failed to parse RPC JSON response 'hello'$/],
      ['{"a":1]', /^Failed to parse RPC JSON response/],
    ];
    for (const [text, re] of cases) {
      const c = await RawClient.open(n.path);
      c.send(text);
      const r = await c.next();
      assert.equal(r.error?.code, -32600, text);
      assert.match(r.error!.message, re, text);
      assert.equal(r.id, null);
      c.send(req(1, 'getinfo'));
      await c.closed;
      assert.equal(c.responses.length, 0, `nothing answered after ${text}`);
    }
  });

  it('a request still running is answered after later ones: responses in completion order, matched by id', async () => {
    const s = await ScriptedPeer.dial(n.node.port, staticKey(0x61), n.node.manager.nodeId);
    s.sendInit();
    s.autoPong = false;
    const id = staticKey(0x61).publicKey.toString('hex');
    const c = await RawClient.open(n.path);
    await waitListed(c, id, 5_000);
    c.send(req('slow', 'ping', { id, len: 10, pongbytes: 20 }) + req('fast', 'getinfo'));
    const first = await c.next();
    assert.equal(first.id, 'fast');
    const ping = await s.ofType(18);
    s.send({ type: 19, ignored: Buffer.alloc((ping as { numPongBytes: number }).numPongBytes) });
    const second = await c.next('ping');
    assert.deepEqual([second.id, second.result], ['slow', { totlen: 24 }]);
    s.close();
    c.close();
  });

  it('parameters by position and by name; null means not given', async () => {
    const c = await RawClient.open(n.path);
    assert.deepEqual((await c.call('help', ['getinfo'])).result, { help: [{ command: 'getinfo' }], 'format-hint': 'simple' });
    assert.deepEqual((await c.call('help', { command: 'ping' })).result, { help: [{ command: 'ping id [len] [pongbytes]' }], 'format-hint': 'simple' });
    assert.equal(((await c.call('help', [null])).result!.help as unknown[]).length, METHODS.length);
    assert.equal(((await c.call('help', { command: null })).result!.help as unknown[]).length, METHODS.length);
    assert.deepEqual((await c.call('listpeers', [null, null])).result, { peers: [] });
    assert.deepEqual((await c.call('listpeers', { id: null, level: 'INFO' })).result, { peers: [] });
    assert.deepEqual((await c.call('getinfo', [])).result?.id, n.nodeId);
    assert.deepEqual((await c.call('getinfo', {})).result?.id, n.nodeId);
    c.close();
  });

  it('filter keeps only the fields asked for, in order; a shape mismatch is a warning; errors are never filtered', async () => {
    const s = await ScriptedPeer.dial(n.node.port, staticKey(0x62), n.node.manager.nodeId);
    s.sendInit();
    const id = staticKey(0x62).publicKey.toString('hex');
    const c = await RawClient.open(n.path);
    await waitListed(c, id, 5_000);
    const info = await c.call('getinfo', {}, { filter: { our_features: { init: true }, id: true, nosuch: true } });
    assert.equal(info.text.indexOf('"id"') < info.text.indexOf('"our_features"'), true, 'original order kept');
    assert.deepEqual(info.result, { id: n.nodeId, our_features: { init: INIT_FEATURES.toHex() } });
    const peers = await c.call('listpeers', {}, { filter: { peers: [{ id: true, connected: true }] } });
    assert.deepEqual(peers.result, { peers: [{ id, connected: true }] });
    const mismatch = await c.call('listpeers', {}, { filter: { peers: { id: true } } });
    assert.equal(mismatch.result!.warning_parameter_filter, '.peers is an array');
    const err = await c.call('ping', { id: 'bad' }, { filter: { totlen: true } });
    assert.equal(err.error?.code, -32602);
    s.close();
    c.close();
  });
});

describe('JSON-RPC without --developer', () => {
  it('bad-parameter errors do not quote the token (it is logged instead), as lightningd', async () => {
    const n = await startRpcNode({ developer: false });
    try {
      const c = await RawClient.open(n.path);
      c.send('{"jsonrpc":"2.0","id":1,"method":"ping","params":["nope"]}');
      assert.deepEqual((await c.next()).error, { code: -32602, message: 'id: should be a node id: invalid token (see logs for details)' });
      c.send('{"jsonrpc":"2.0","id":1,"method":"getinfo","params":[],"filter":7}');
      assert.deepEqual((await c.next()).error, { code: -32602, message: 'filter: Expected object: invalid token (see logs for details)' });
      c.close();
    } finally {
      await n.close();
    }
  });
});
