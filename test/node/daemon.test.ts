/**
 * The daemon as a user runs it: `dist/src/bin/anode.js` in a child process, a fresh data dir, real TCP.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import { KeyChain } from '../../src/crypto/keychain.js';
import { MessageType, type Warning } from '../../src/wire/messages.js';
import { repoRoot } from '../helpers.js';
import { staticKey, tempDir } from '../harness/daemon.js';
import { sleep, until } from '../harness/wait.js';
import { ScriptedPeer } from '../peer/scripted.js';

const BIN = join(repoRoot, 'dist', 'src', 'bin', 'anode.js');
/** Ephemeral gRPC/REST ports, so daemons of concurrent tests never compete for 10009/8080. */
const NO_FIXED_PORTS = ['--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0'];

interface Daemon {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string;
  exited: Promise<number | null>;
  started: Promise<{ nodeId: string; listening: string[] }>;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const d: Daemon = { child, lines: [], stderr: '', exited: undefined!, started: undefined! };
  let resolveStarted!: (v: { nodeId: string; listening: string[] }) => void;
  let rejectStarted!: (e: Error) => void;
  d.started = new Promise((res, rej) => ((resolveStarted = res), (rejectStarted = rej)));
  d.started.catch(() => undefined); // a daemon expected to fail is awaited through `exited`
  let buf = '';
  child.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        d.lines.push(obj);
        if (typeof obj.nodeId === 'string' && Array.isArray(obj.listening)) {
          resolveStarted({ nodeId: obj.nodeId, listening: obj.listening as string[] });
        }
      } catch {
        d.lines.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (d.stderr += c.toString()));
  d.exited = new Promise((res) =>
    child.once('exit', (code) => {
      rejectStarted(new Error(`anode exited with ${code} before starting: ${d.stderr}`));
      res(code);
    }),
  );
  return d;
}

function portOf(listening: string[]): number {
  return Number(listening[0]!.split(':').at(-1));
}

describe('anode daemon', { timeout: 180_000 }, () => {
  it('starts with no config at all: seed, database and listener on 0.0.0.0:19846 (the regtest port) in ~/.anode/regtest', async () => {
    const home = tempDir();
    const d = run([], { HOME: home });
    const { nodeId, listening } = await d.started;
    assert.deepEqual(listening, ['0.0.0.0:19846']);
    const line = d.lines.find((l) => l.nodeId === nodeId) as { grpc: string[]; rest: string[] };
    assert.deepEqual([line.grpc, line.rest], [['127.0.0.1:10009'], ['127.0.0.1:8080']], 'LND-compatible defaults');
    const dataDir = join(home, '.anode', 'regtest');
    const seedPath = join(dataDir, 'hsm_secret');
    assert.equal(readFileSync(seedPath).length, 32);
    assert.equal(statSync(seedPath).mode & 0o777, 0o600);
    assert.ok(existsSync(join(dataDir, 'anode.sqlite3')));
    // The seed alone regenerates the node key (family 6, index 0).
    assert.equal(new KeyChain(readFileSync(seedPath), 'regtest').nodeKey().publicKey.toString('hex'), nodeId);
    // The listener speaks BOLT 8 + init.
    const peer = await ScriptedPeer.dial(19846, staticKey(0x31), Buffer.from(nodeId, 'hex'));
    await peer.ofType(MessageType.INIT);
    peer.sendInit();
    // Clean shutdown on SIGTERM: the peer is told, the process exits 0.
    await sleep(100);
    d.child.kill('SIGTERM');
    const w = (await peer.next((m) => m.type === MessageType.WARNING)) as Warning;
    assert.match(w.data.toString(), /shutting down/);
    await peer.closed;
    assert.equal(await d.exited, 0);
    assert.ok(d.lines.some((l) => l.msg === 'stopped'));
  });

  it('keeps its node id across restarts (also after kill -9) and refuses a second daemon on the same dir', async () => {
    const dir = tempDir();
    const args = [`--anode-dir=${dir}`, '--addr=127.0.0.1:0', ...NO_FIXED_PORTS];
    const first = run(args);
    const { nodeId } = await first.started;

    const second = run(args);
    assert.equal(await second.exited, 1);
    assert.match(second.stderr, /another anode is already running on .*regtest \(pid \d+\)/);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = run(args);
    assert.equal((await third.started).nodeId, nodeId, 'same node id after kill -9 and restart');
    third.child.kill('SIGINT');
    assert.equal(await third.exited, 0);
    const fourth = run(args);
    assert.equal((await fourth.started).nodeId, nodeId);
    fourth.child.kill('SIGTERM');
    assert.equal(await fourth.exited, 0);
  });

  it('reads options from <anode-dir>/config and <anode-dir>/<network>/config; the command line wins', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config'), '# base\nnetwork=signet\nlog-level=debug\naddr=127.0.0.1:1\n');
    mkdirSync(join(dir, 'signet'), { recursive: true });
    writeFileSync(join(dir, 'signet', 'config'), 'addr=127.0.0.1:0\n');
    const d = run([`--anode-dir=${dir}`, ...NO_FIXED_PORTS]);
    const { listening } = await d.started;
    assert.equal(listening.length, 1);
    assert.ok(portOf(listening) > 1, 'the network file overrides the base file');
    assert.ok(existsSync(join(dir, 'signet', 'hsm_secret')));
    assert.ok(d.lines.some((l) => l.level === 20), 'log-level=debug from the base file');
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);

    const e = run([`--anode-dir=${dir}`, '--log-level=warn', ...NO_FIXED_PORTS]);
    // Nothing is logged at warn, so wait for the JSON-RPC socket: it appears once start-up is done.
    const socket = join(dir, 'signet', 'lightning-rpc');
    await until(() => existsSync(socket), { what: socket, timeoutMs: 20_000, intervalMs: 50 }).catch((err: Error) => assert.fail(`${err.message}: ${e.stderr}`));
    e.child.kill('SIGTERM');
    assert.equal(await e.exited, 0);
    assert.ok(!e.lines.some((l) => typeof l.level === 'number' && l.level < 40), 'command line overrides the config file');
  });

  it('serves LND-compatible REST over TLS with its own certificate and admin macaroon', async () => {
    const dir = tempDir();
    const d = run([`--anode-dir=${dir}`, '--addr=127.0.0.1:0', ...NO_FIXED_PORTS]);
    const { nodeId } = await d.started;
    const startLine = d.lines.find((l) => l.nodeId === nodeId) as { rest: string[]; grpc: string[] };
    assert.equal(startLine.grpc.length, 1);
    const dataDir = join(dir, 'regtest');
    for (const f of ['tls.cert', 'tls.key', 'admin.macaroon', 'readonly.macaroon']) assert.ok(existsSync(join(dataDir, f)), f);
    for (const f of ['tls.key', 'admin.macaroon', 'readonly.macaroon']) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
    const port = portOf(startLine.rest);
    const get = (macaroon?: Buffer): Promise<{ status: number; body: Record<string, unknown> }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(
          { host: '127.0.0.1', port, path: '/v1/getinfo', ca: readFileSync(join(dataDir, 'tls.cert')), servername: 'localhost', headers: macaroon ? { 'Grpc-Metadata-macaroon': macaroon.toString('hex') } : {} },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as Record<string, unknown> }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const ok = await get(readFileSync(join(dataDir, 'admin.macaroon')));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.identity_pubkey, nodeId);
    const denied = await get();
    assert.notEqual(denied.status, 200);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0);
    // The macaroons stay valid across a restart: the root key is in the database.
    const again = run([`--anode-dir=${dir}`, '--addr=127.0.0.1:0', ...NO_FIXED_PORTS]);
    await again.started;
    const line2 = again.lines.find((l) => l.nodeId === nodeId) as { rest: string[] };
    const ok2 = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: portOf(line2.rest), path: '/v1/getinfo', ca: readFileSync(join(dataDir, 'tls.cert')), servername: 'localhost', headers: { 'Grpc-Metadata-macaroon': readFileSync(join(dataDir, 'admin.macaroon')).toString('hex') } },
        (res) => (res.resume(), resolve(res.statusCode ?? 0)),
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(ok2, 200);
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  it('rejects bad options with a clear message and exit code 2; --help lists every option', async () => {
    const bad = run(['--no-such-option']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr, /unknown option 'no-such-option'/);
    const badNet = run(['--network=mainnet', `--anode-dir=${tempDir()}`]);
    assert.equal(await badNet.exited, 2);
    assert.match(badNet.stderr, /network: 'mainnet' is not one of bitcoin, testnet, testnet4, signet, regtest/);
    const help = spawn(process.execPath, [BIN, '--help']);
    let out = '';
    help.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise((r) => help.once('exit', r));
    assert.equal(code, 0);
    for (const opt of ['--anode-dir', '--lightning-dir', '--network', '--addr', '--bind-addr', '--log-level', '--help']) {
      assert.ok(out.includes(opt), `--help mentions ${opt}`);
    }
  });

  it('refuses a port that is already taken with a clear message', async () => {
    const dir = tempDir();
    const a = run([`--anode-dir=${dir}/a`, '--addr=127.0.0.1:0', ...NO_FIXED_PORTS]);
    const { listening } = await a.started;
    const b = run([`--anode-dir=${dir}/b`, `--addr=127.0.0.1:${portOf(listening)}`, ...NO_FIXED_PORTS]);
    assert.equal(await b.exited, 1);
    assert.match(b.stderr, /cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    a.child.kill('SIGTERM');
    await a.exited;
  });
});
