/**
 * anode-cli with lightning-cli's conventions: options, key=value autodetection and -k/-o, JSON-looking
 * arguments, output formats (-J pretty JSON with 3-space indent, -H human, -F flat, -R raw), `help`,
 * exit statuses 0/1/2/3, the command table for local commands (wtclient later). In-process against an
 * in-process node, then the real binary against a daemon.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INIT_FEATURES } from '../../src/node/node.js';
import type { CliCommand } from '../../src/cli/commands.js';
import { Exit, runCli } from '../../src/cli/main.js';
import { parseCliArgs } from '../../src/cli/options.js';
import { buildParams, buildRequest, isLiteral, requestId } from '../../src/cli/request.js';
import { parseJson } from '../../src/rpc/cln/json.js';
import { ANODE_CLI, staticKey } from '../harness/daemon.js';
import { ScriptedPeer } from '../peer/scripted.js';
import { checkResponse, startDaemon, startRpcNode, type RpcNode } from '../rpc/harness.js';
import { until } from '../harness/wait.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

describe('anode-cli arguments', () => {
  it("JSON-looking arguments are sent as JSON, the rest as strings (lightning-cli's rules)", () => {
    const lit = ['0', '10', '1.5', '1.2.3', 'true', 'false', 'null', '{"a":1}', '[1,2]', '"q"'];
    const str = ['012', 'abc', '-5', 'True', '', '{', '02abc@1.2.3.4:9735', '"'];
    for (const a of lit) assert.ok(isLiteral(a), a);
    for (const a of str) assert.ok(!isLiteral(a), a);
    assert.equal(buildParams(['abc', '10', '012', 'true', '[::1]', '{"x":[1]}'], 'auto'), '["abc", 10, "012", true, "[::1]", {"x":[1]}]');
    assert.equal(buildParams(['id=02ab', 'len=5', 'force=true'], 'auto'), '{"id": "02ab", "len": 5, "force": true}');
    assert.equal(buildParams(['a=b'], 'order'), '["a=b"]');
    assert.equal(buildParams(['x', 'a=b'], 'auto'), '["x", "a=b"]', 'only the first parameter decides');
    assert.throws(() => buildParams(['a=1', 'b'], 'auto'), /expected key=value in 'b'/);
    assert.throws(() => buildParams(['b'], 'keywords'), /expected key=value in 'b'/);
    assert.throws(() => buildParams(['{bad}'], 'auto'), /malformed JSON in parameter '\{bad\}'/);
    // Digits and dots that are no number (an IPv4 host) are a string; those that are a number stay one.
    assert.equal(buildParams(['02ab', '127.0.0.1', '19846', '1.5'], 'auto'), '["02ab", "127.0.0.1", 19846, 1.5]');
    assert.equal(buildParams([], 'auto'), '[]');
    assert.equal(buildParams([], 'keywords'), '{}');
  });

  it('request text and id as lightning-cli writes them', () => {
    assert.equal(requestId('getinfo', 42), 'cli:getinfo#42');
    assert.equal(requestId('we"ird', 42), 'cli:weirdmethod!#42');
    const text = buildRequest('listpeers', 'cli:listpeers#7', '[]', '{"peers":[{"id":true}]}');
    assert.equal(text, '{ "jsonrpc" : "2.0", "method" : "listpeers", "id" : "cli:listpeers#7", "filter" : {"peers":[{"id":true}]}, "params" : [] }');
    parseJson(text);
  });

  it('options: lightning-dir alias, network flags, config files for network and rpc-file, options after the method, --', () => {
    const home = mkdtempSync(join(tmpdir(), 'anode-cli-home-'));
    try {
      const base = join(home, '.anode');
      mkdirSync(join(base, 'signet'), { recursive: true });
      writeFileSync(join(base, 'config'), '# base\nnetwork=signet\nlog-level=debug\n');
      writeFileSync(join(base, 'signet', 'config'), 'rpc-file=sock\n');
      const o = parseCliArgs(['getinfo'], home);
      assert.deepEqual([o.network, o.rpcFile, o.args], ['signet', join(base, 'signet', 'sock'), ['getinfo']]);
      const o2 = parseCliArgs(['--lightning-dir', '/x', '--testnet', 'listpeers', '-H', 'id=1', '--', '-k'], home);
      assert.deepEqual([o2.anodeDir, o2.network, o2.rpcFile, o2.format, o2.style, o2.args], ['/x', 'testnet', '/x/testnet/lightning-rpc', 'human', 'auto', ['listpeers', 'id=1', '-k']]);
      const o3 = parseCliArgs(['-kJ', '--rpc-file=/tmp/r', '-l', '{"a":true}', 'm'], home);
      assert.deepEqual([o3.style, o3.format, o3.rpcFile, o3.filter], ['keywords', 'json', '/tmp/r', '{"a":true}']);
      assert.throws(() => parseCliArgs(['--bogus'], home), /unknown option --bogus/);
      assert.throws(() => parseCliArgs(['--network=moon', 'x'], home), /network 'moon'/);
      assert.throws(() => parseCliArgs(['-N', 'loud', 'x'], home), /notifications level 'loud'/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('anode-cli against a node', () => {
  let n: RpcNode;
  let peer: ScriptedPeer;
  let peerId: string;
  const extra: CliCommand[] = [
    {
      name: 'wtclient',
      summary: 'Watchtower client (lncli-style)',
      subcommands: [
        { name: 'towers', summary: 'List towers', run: (ctx) => ctx.callAndPrint('listpeers', '{}') },
        { name: 'add', summary: 'Add a tower', usage: '<pubkey>@<host>', run: async (ctx, args) => (ctx.io.stdout(`add ${args.join(' ')}\n`), 0) },
      ],
    },
  ];

  before(async () => {
    n = await startRpcNode({ developer: true });
    peer = await ScriptedPeer.dial(n.node.port, staticKey(0x5a), n.node.manager.nodeId);
    peer.sendInit();
    peerId = staticKey(0x5a).publicKey.toString('hex');
    await until(() => n.node.manager.peer(peerId) !== undefined, { what: 'peer connected', timeoutMs: 10_000 });
  });
  after(async () => {
    peer.close();
    await n.close();
  });

  async function cli(...argv: string[]): Promise<Run> {
    let out = '';
    let err = '';
    const code = await runCli([`--rpc-file=${n.path}`, ...argv], {
      io: { stdout: (s) => (out += s), stderr: (s) => (err += s) },
      pid: 4242,
      commands: extra,
    });
    return { code, out, err };
  }

  it('prints the result as pretty JSON (3-space indent, as lightning-cli), exit 0', async () => {
    const r = await cli('getinfo');
    assert.equal(r.code, Exit.OK);
    assert.ok(r.out.startsWith(`{\n   "id": "${n.nodeId}",\n   "alias": "`));
    assert.equal(r.out, `${JSON.stringify(JSON.parse(r.out), null, 3)}\n`);
    checkResponse('getinfo', JSON.stringify({ jsonrpc: '2.0', id: 1, result: JSON.parse(r.out) }));
  });

  it('key=value autodetection, -k and -o', async () => {
    const a = await cli('listpeers', `id=${peerId}`, 'level=debug');
    assert.equal(a.code, 0);
    assert.deepEqual((JSON.parse(a.out) as { peers: { id: string; log: unknown[] }[] }).peers.map((p) => [p.id, p.log]), [[peerId, []]]);
    const b = await cli('-o', 'listpeers', peerId);
    assert.equal((JSON.parse(b.out) as { peers: unknown[] }).peers.length, 1);
    const c = await cli('-k', 'ping', `id=${peerId}`, 'len=10', 'pongbytes=20');
    assert.deepEqual(JSON.parse(c.out), { totlen: 24 });
    const d = await cli('ping', peerId, '10', '0');
    assert.deepEqual(JSON.parse(d.out), { totlen: 4 });
  });

  it('help: plain text list, -J gives JSON, help <command> shows the manual page', async () => {
    const list = await cli('help');
    assert.equal(list.code, 0);
    assert.ok(list.out.startsWith('check command_to_check\nclose id [unilateraltimeout]\nconnect id [host] [port]\n'), list.out);
    assert.ok(list.out.includes('\ndisconnect id [force]\nfeerates style\nfundchannel id amount '), list.out);
    assert.match(list.out, /---\nrun `anode-cli help <command>`/);
    const json = await cli('-J', 'help', 'command=help');
    assert.deepEqual((JSON.parse(json.out) as { help: { command: string }[] }).help[0], { command: 'help [command]' });
    const page = await cli('help', 'connect');
    assert.match(page.out, /^<!-- Generated by `npm run docs`/);
    assert.match(page.out, /anode-connect -- Open a connection to another node/);
    const h = await cli('-H', 'help', 'command=ping');
    assert.equal(h.out, 'ping id [len] [pongbytes]\n');
  });

  it('-H human-readable, -F flat, -R raw, --filter', async () => {
    const h = await cli('-H', 'getinfo');
    assert.match(h.out, new RegExp(`^id=${n.nodeId}\nalias=[A-Z]+\ncolor=`));
    assert.match(h.out, /\naddress=\nbinding=type=ipv4\naddress=127\.0\.0\.1\nport=\d+\n/);
    const lp = await cli('-H', 'listpeers');
    assert.match(lp.out, new RegExp(`^id=${peerId}\nconnected=true\nnum_channels=0\nnetaddr=127\\.0\\.0\\.1:\\d+\nfeatures=${INIT_FEATURES.toHex()}\n$`));
    const f = await cli('-F', 'listpeers');
    assert.match(f.out, new RegExp(`^peers\\[0\\]\\.id="${peerId}"\npeers\\[0\\]\\.connected=true\n`));
    const raw = await cli('-R', 'help', 'command=stop');
    assert.equal(raw.out, '{"help":[{"command":"stop"}],"format-hint":"simple"}\n');
    const filtered = await cli('--filter={"id":true}', 'getinfo');
    assert.deepEqual(JSON.parse(filtered.out), { id: n.nodeId });
    const hint = await cli('-J', 'help', 'command=stop');
    assert.ok(hint.out.includes('"format-hint": "simple"'));
  });

  it('an RPC error prints the error object and exits 1', async () => {
    const r = await cli('ping', 'nope');
    assert.equal(r.code, Exit.RPC_ERROR);
    assert.deepEqual(JSON.parse(r.out), { code: -32602, message: `id: should be a node id: invalid token '"nope"'` });
    const u = await cli('nosuch');
    assert.equal(u.code, 1);
    assert.deepEqual(JSON.parse(u.out), { code: -32601, message: "Unknown command 'nosuch'" });
  });

  it('usage errors exit 3, cannot-connect exits 2', async () => {
    const noArgs = await cli();
    assert.equal(noArgs.code, Exit.USAGE);
    assert.match(noArgs.err, /^Usage: anode-cli/);
    assert.equal((await cli('--bogus', 'getinfo')).code, 3);
    const kw = await cli('-k', 'getinfo', 'x');
    assert.deepEqual([kw.code, kw.err], [3, "anode-cli: expected key=value in 'x'\n"]);
    assert.equal((await cli('ping', '{oops}')).code, 3);
    assert.equal((await cli('--filter=nojson', 'getinfo')).code, 3);
    let err = '';
    const code = await runCli(['--rpc-file=/nonexistent/lightning-rpc', 'getinfo'], { io: { stdout: () => {}, stderr: (s) => (err += s) } });
    assert.equal(code, Exit.TALK);
    assert.equal(err, "anode-cli: Connecting to '/nonexistent/lightning-rpc': No such file or directory\n");
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /Exit status: 0 success, 1 the command failed, 2 cannot talk to anode, 3 usage error/);
    assert.match(help.out, /wtclient\s+Watchtower client/);
  });

  it('-N: asks for notifications first, then runs the command', async () => {
    const r = await cli('-N', 'debug', 'getinfo');
    assert.equal(r.code, 0);
    assert.equal((JSON.parse(r.out) as { id: string }).id, n.nodeId);
  });

  it('the command table: local commands with subcommands (where `wtclient …` goes), usage errors 3', async () => {
    const towers = await cli('wtclient', 'towers');
    assert.equal(towers.code, 0);
    assert.equal((JSON.parse(towers.out) as { peers: unknown[] }).peers.length, 1);
    assert.deepEqual(await cli('wtclient', 'add', 'abc@host'), { code: 0, out: 'add abc@host\n', err: '' });
    const bare = await cli('wtclient');
    assert.equal(bare.code, 3);
    assert.match(bare.err, /Usage: anode-cli wtclient <subcommand>[\s\S]*towers\s+List towers/);
    assert.equal((await cli('wtclient', 'bogus')).code, 3);
    const h = await cli('wtclient', 'add', '--help');
    assert.deepEqual([h.code, h.out.split('\n')[0]], [0, 'Usage: anode-cli wtclient add <pubkey>@<host>']);
  });
});

describe('the anode-cli binary against the daemon', { timeout: 60_000 }, () => {
  function run(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [ANODE_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.once('close', (code) => resolve({ code: code ?? -1, out, err }));
    });
  }

  it('exit 0 with the result, 1 on an RPC error, 2 when anode is not running, 3 on bad usage; stop shuts the daemon down', async () => {
    const d = await startDaemon();
    try {
      const dir = `--anode-dir=${d.anodeDir}`;
      const ok = await run([dir, 'getinfo']);
      assert.equal(ok.code, 0, ok.err);
      assert.equal((JSON.parse(ok.out) as { id: string }).id, d.nodeId);
      const id = await run([dir, '-J', 'help', 'command=getinfo']);
      assert.equal(id.code, 0, `${id.out}\n${id.err}`);
      const bad = await run([dir, 'disconnect', d.nodeId]);
      assert.equal(bad.code, 1, `${bad.out}\n${bad.err}`);
      assert.ok(bad.out !== '', `no output; stderr: ${bad.err}`);
      assert.deepEqual(JSON.parse(bad.out), { code: -32602, message: `Unknown peer '${d.nodeId}'` });
      assert.equal((await run(['--bogus'])).code, 3);
      const stop = await run([dir, 'stop']);
      assert.deepEqual([stop.code, stop.out], [0, '{\n   "result": "Shutdown complete"\n}\n'], stop.err);
      assert.equal(await d.exited, 0, d.output());
      const down = await run([dir, 'getinfo']);
      assert.equal(down.code, 2);
      assert.match(down.err, /Connecting to '.*lightning-rpc': No such file or directory/);
    } finally {
      await d.stop();
    }
  });
});
