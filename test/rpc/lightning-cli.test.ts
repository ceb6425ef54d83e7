/**
 * Requests shaped as lightning-cli sends them, through the raw socket (issue 13 item 6): digits-and-dots
 * arguments unquoted (`connect <id> 127.0.0.1 19846`) read as strings, and only there; the tolerant
 * parser total on any input; the default peer port by network; `check`; `filter` shapes as lightningd;
 * `listpeers <id> <level>`; fundchannel's positional parameters in CLN's places.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { join } from 'node:path';
import { sleep } from '../harness/wait.js';
import { JsonError, parseJson, toValue, type JsonNode } from '../../src/rpc/cln/json.js';
import { loadConfig, NETWORKS, PEER_PORTS } from '../../src/node/config.js';
import { RawClient, rpcCall, startDaemon, startRpcNode, type RpcNode } from './harness.js';

const PUBKEY = '02c6047f9441ed7d6d3045406e95c07cd85c778e4b8cef3ca7abac09b95c709ee5';

/** lightning-cli's request text, as it writes it (spaces included), with `params` given raw. */
const cliRequest = (method: string, params: string, filter?: string): string =>
  `{ "jsonrpc" : "2.0", "method" : "${method}", "id" : "cli:${method}#4242", ${filter ? `"filter" : ${filter}, ` : ''}"params" :${params} }`;

describe("lightning-cli's bare tokens", () => {
  let a: RpcNode;
  let b: RpcNode;
  before(async () => {
    a = await startRpcNode({ key: 0x51 });
    b = await startRpcNode({ key: 0x52 });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('connect <id> 127.0.0.1 <port> with the host unquoted connects, positional and named', async () => {
    const c = await RawClient.open(a.path);
    c.send(cliRequest('connect', `[ "${b.nodeId}", 127.0.0.1, ${b.node.port} ]`));
    const r = await c.next('connect');
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.deepEqual(r.result, { id: b.nodeId, features: r.result!.features, direction: 'out', address: { type: 'ipv4', address: '127.0.0.1', port: b.node.port } });
    assert.equal(r.id, 'cli:connect#4242');
    c.send(cliRequest('connect', `{ "id" : "${b.nodeId}", "host" : 127.0.0.1, "port" : ${b.node.port} }`));
    assert.equal((await c.next('connect')).result?.id, b.nodeId);
    c.close();
  });

  it('a bare token reaches the method as a string; where a number is expected it is -32602', async () => {
    const c = await RawClient.open(a.path);
    c.send(cliRequest('help', '[ 1.2.3 ]'));
    assert.deepEqual((await c.next()).error, { code: -32601, message: 'Unknown command 1.2.3' });
    c.send(cliRequest('ping', `[ "${PUBKEY}", 1.2.3 ]`));
    assert.deepEqual((await c.next()).error, { code: -32602, message: "len: should be an unsigned 32 bit integer: invalid token '1.2.3'" });
    c.send(cliRequest('ping', `{ "id" : "${PUBKEY}", "pongbytes" : 127.0.0.1 }`));
    assert.deepEqual((await c.next()).error, { code: -32602, message: "pongbytes: should be an unsigned 32 bit integer: invalid token '127.0.0.1'" });
    // Valid JSON literals stay what they are: a number is a number.
    c.send(cliRequest('help', '[ 1.5 ]'));
    assert.deepEqual((await c.next()).error, { code: -32602, message: "command: should be a string: invalid token '1.5'" });
    c.close();
  });

  it('everywhere else the parser stays strict: -32600 and the connection half-closed', async () => {
    const bad = [
      '{"jsonrpc":"2.0","id":127.0.0.1,"method":"getinfo","params":[]}',
      '{"jsonrpc":"2.0","id":1,"method":getinfo,"params":[]}',
      '{"jsonrpc":"2.0","id":1,"method":"help","params":[[127.0.0.1]]}',
      '{"jsonrpc":"2.0","id":1,"method":"help","params":{"x":{"y":127.0.0.1}}}',
      '{"jsonrpc":"2.0","id":1,"method":"help","params":{command:"ping"}}',
      '{"jsonrpc":"2.0","id":1,"method":"help","params":127.0.0.1}',
      '{"jsonrpc":"2.0","id":1,"method":"help","params":[127.0.0.1"x"]}',
      '{"jsonrpc":"2.0","id":1,"method":"getinfo","params":[],"filter":{"id":yes}}',
    ];
    for (const text of bad) {
      const c = await RawClient.open(a.path);
      c.send(text);
      const r = await c.next();
      assert.equal(r.error?.code, -32600, text);
      assert.match(r.error!.message, /^Failed to parse RPC JSON response /, text);
      await c.closed;
      c.close();
    }
  });

  it('property: the tolerant parser is total and only adds bare params tokens to what strict JSON accepts', () => {
    const bare = fc.stringMatching(/^[!#-+\--9;-Z^-z|~]{1,12}$/);
    const requestWith = (items: string[]): string => `{"jsonrpc":"2.0","id":1,"method":"x","params":[${items.join(',')}]}`;
    const mutation = fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...'{}[]",:0123456789.abcefnlrstu\\ -'.split('')));
    fc.assert(
      fc.property(fc.array(fc.oneof(bare, fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))), { maxLength: 5 }), fc.array(mutation, { maxLength: 5 }), (items, muts) => {
        let t = requestWith(items);
        for (const [pos, op, ch] of muts) {
          const i = pos % (t.length + 1);
          t = op === 'delete' ? t.slice(0, i) + t.slice(i + 1) : op === 'insert' ? t.slice(0, i) + ch + t.slice(i) : t.slice(0, i) + ch + t.slice(i + 1);
        }
        let strictOk = true;
        try {
          JSON.parse(t);
        } catch {
          strictOk = false;
        }
        const started = Date.now();
        try {
          const doc = parseJson(t, { request: true });
          // Whatever strict JSON accepts reads the same; the tolerance never changes a valid request.
          if (strictOk) assert.deepEqual(toValue(doc.root), toValue(parseJson(t).root));
        } catch (err) {
          assert.ok(err instanceof JsonError, `JsonError, got ${String(err)}`);
          assert.equal(strictOk, false, `valid JSON refused: ${t}`);
        }
        assert.ok(Date.now() - started < 1000, 'bounded time');
      }),
      { numRuns: 3000 },
    );
  });

  it('property: a bare token that is no JSON literal is a string item; a literal stays a literal', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[!#-+\--9;-Z^-z|~]{1,16}$/), (tok) => {
        const text = `{"jsonrpc":"2.0","id":1,"method":"x","params":[${tok}],"p":1}`;
        let literal = true;
        try {
          JSON.parse(tok);
        } catch {
          literal = false;
        }
        const params = (parseJson(text, { request: true }).root as Extract<JsonNode, { kind: 'object' }>).members.find((m) => m.key === 'params')!.value;
        const item = (params as Extract<JsonNode, { kind: 'array' }>).items[0]!;
        if (literal) assert.deepEqual(toValue(item), JSON.parse(tok) as unknown);
        else assert.deepEqual([item.kind, toValue(item)], ['string', tok]);
        if (!literal) assert.throws(() => parseJson(text), JsonError, 'strict parsing still refuses it');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the default peer port follows the network', () => {
  it("config: each network listens on its own port by default (lightningd's chainparams)", () => {
    assert.deepEqual(PEER_PORTS, { bitcoin: 9735, testnet: 19735, testnet4: 49735, signet: 39735, regtest: 19846 });
    for (const network of NETWORKS) {
      const { config } = loadConfig([`--network=${network}`, '--anode-dir=/nonexistent-anode-dir']);
      assert.deepEqual(config.listen, [{ host: '0.0.0.0', port: PEER_PORTS[network] }], network);
    }
  });

  it('the daemon: connect <id> 127.0.0.1 without a port dials the network port', { timeout: 60_000 }, async () => {
    for (const network of ['regtest', 'signet'] as const) {
      const d = await startDaemon([`--network=${network}`]);
      // The socket lives in <anode-dir>/<network>/ (the harness's rpcPath assumes regtest).
      const path = join(d.anodeDir, network, 'lightning-rpc');
      try {
        const r = await rpcCall(path, 'connect', [PUBKEY, '127.0.0.1']);
        assert.equal(r.error?.code, 401, JSON.stringify(r.error));
        assert.ok(r.error!.message.startsWith(`All addresses failed: 127.0.0.1:${PEER_PORTS[network]}: `), r.error!.message);
      } finally {
        await rpcCall(path, 'stop').catch(() => undefined);
        await Promise.race([d.exited, sleep(10_000)]);
        await d.kill();
      }
    }
  });
});

describe('check: a command verified, never run', () => {
  let n: RpcNode;
  before(async () => {
    // Not --developer: inside check, bad parameters still quote their token (as lightningd).
    n = await startRpcNode({ key: 0x53, developer: false });
  });
  after(() => n.close());

  it("passes what the command would accept and reports what it would refuse, with lightningd's codes", async () => {
    const c = await RawClient.open(n.path);
    const check = async (params: unknown): Promise<unknown> => {
      const r = await c.call('check', params);
      return r.error ?? r.result;
    };
    // lightning-cli's shape, host unquoted: checked, but no dial (the peer table stays empty).
    c.send(cliRequest('check', `[ "connect", "${PUBKEY}", 127.0.0.1, 1 ]`));
    assert.deepEqual((await c.next('check')).result, { command_to_check: 'connect' });
    assert.deepEqual((await c.call('listpeers', [])).result, { peers: [] });
    assert.deepEqual(await check({ command_to_check: 'help' }), { command_to_check: 'help' });
    assert.deepEqual(await check(['help', 'check']), { command_to_check: 'help' });
    assert.deepEqual(await check(['check', 'help']), { command_to_check: 'check' });
    assert.deepEqual(await check({ command_to_check: 'help', command: 'badcommand' }), { code: -32601, message: 'Unknown command badcommand' });
    assert.deepEqual(await check(['badcommand']), { code: -32601, message: "Unknown command 'badcommand'" });
    assert.deepEqual(await check({}), { code: -32602, message: 'missing required parameter: command_to_check' });
    assert.deepEqual(await check({ command_to_check: 'help', badarg: 'x' }), {
      code: -32602,
      message: 'unknown parameter: badarg, this may be caused by a failure to autodetect key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters.',
    });
    assert.deepEqual(await check({ command_to_check: 'connect' }), { code: -32602, message: 'missing required parameter: id' });
    assert.deepEqual(await check({ command_to_check: 'connect', host: 'x', port: 77 }), { code: -32602, message: 'missing required parameter: id' });
    assert.deepEqual(await check({ command_to_check: 'connect', id: PUBKEY, host: 'x', port: 'abcd' }), { code: -32602, message: `port: should be a 16-bit integer: invalid token '"abcd"'` });
    assert.deepEqual(await check(['connect', PUBKEY, null, 9735]), { code: -32602, message: "Can't specify port without host" });
    assert.deepEqual(await check(['connect', PUBKEY, 'not a host!']), { code: -1, message: 'Host not a host!:9735 not valid: Name or service not known' });
    assert.deepEqual(await check(['disconnect', PUBKEY]), { code: -32602, message: `Unknown peer '${PUBKEY}'` });
    assert.deepEqual(await check(['dev-listhtlcs', '1x1x1']), { code: -32601, message: 'Command dev-listhtlcs is developer-only' });
    // fundchannel's positions are CLN's: the 6th is utxos (refused), the 7th push_msat.
    assert.deepEqual(await check(['fundchannel', PUBKEY, 100000, null, null, null, null, '1x']), { code: -32602, message: `push_msat: should be a millisatoshi amount: invalid token '"1x"'` });
    assert.deepEqual(await check(['fundchannel', PUBKEY, 100000, null, null, null, [`${'aa'.repeat(32)}:0`]]), {
      code: -32602,
      message: `utxos: not supported by anode: invalid token '["${'aa'.repeat(32)}:0"]'`,
    });
    assert.deepEqual(await check(['fundchannel', PUBKEY, 100000, null, null, null, null, 1000]), { command_to_check: 'fundchannel' });
    // stop, checked, does not stop.
    assert.deepEqual(await check(['stop']), { command_to_check: 'stop' });
    assert.equal(n.stopRequested, 0);
    // Outside check the same bad token is not quoted (no --developer).
    assert.deepEqual((await c.call('connect', { id: PUBKEY, host: 'x', port: 'abcd' })).error, { code: -32602, message: 'port: should be a 16-bit integer: invalid token (see logs for details)' });
    c.close();
  });
});

describe('listpeers level and filter shapes, as lightningd', () => {
  let a: RpcNode;
  let b: RpcNode;
  before(async () => {
    a = await startRpcNode({ key: 0x54 });
    b = await startRpcNode({ key: 0x55 });
    await rpcCall(a.path, 'connect', [b.nodeId, '127.0.0.1', b.node.port]);
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it("listpeers <id> <level> adds CLN's log array (empty: anode keeps no per-peer log yet), only then", async () => {
    const c = await RawClient.open(a.path);
    c.send(cliRequest('listpeers', `[ "${b.nodeId}", "info" ]`));
    const withLevel = (await c.next('listpeers')).result as { peers: Record<string, unknown>[] };
    assert.deepEqual(withLevel.peers.map((p) => [p.id, p.log]), [[b.nodeId, []]]);
    const without = (await c.call('listpeers', [b.nodeId])).result as { peers: Record<string, unknown>[] };
    assert.equal('log' in without.peers[0]!, false);
    c.close();
  });

  it('a filter whose shape does not match drops the value (lightningd), with the warning where lightningd gives one', async () => {
    const c = await RawClient.open(a.path);
    // lightning-cli -l '{"peers":{"id":true}}' listpeers: peers is an array, so its objects are dropped.
    c.send(cliRequest('listpeers', '[]', '{"peers":{"id":true}}'));
    assert.deepEqual((await c.next()).result, { peers: [], warning_parameter_filter: '.peers is an array' });
    // An array template on an object: its members are dropped (scalars silently, as lightningd).
    assert.deepEqual((await c.call('getinfo', [], { filter: { id: true, our_features: [true] } })).result, { id: a.nodeId, our_features: {} });
    assert.deepEqual((await c.call('getinfo', [], { filter: { binding: { type: true } } })).result, { binding: [], warning_parameter_filter: '.binding is an array' });
    // Nested: the path names the array step; scalar items under an object template are kept (lightningd).
    assert.deepEqual((await c.call('listpeers', [], { filter: { peers: [{ id: { x: true } }] } })).result, { peers: [{ id: b.nodeId }] });
    const netaddr = (await c.call('listpeers', [], { filter: { peers: [{ netaddr: { x: true } }] } })).result as { peers: { netaddr: string[] }[] };
    assert.match(netaddr.peers[0]!.netaddr[0]!, /^127\.0\.0\.1:\d+$/);
    assert.equal('warning_parameter_filter' in netaddr, false);
    // An empty object names nothing below it: the whole value is kept.
    const all = (await c.call('listpeers', [], { filter: { peers: {} } })).result as { peers: { id: string }[] };
    assert.equal(all.peers[0]!.id, b.nodeId);
    assert.ok('features' in all.peers[0]!);
    c.close();
  });
});
