/**
 * Fatal start-up errors as a user meets them, driven by spawning the daemon: each is one line
 * (`anode: cannot …: <reason>`), the exit code is not 0, there is no stack trace unless
 * --log-level=debug, and a data dir or database anode cannot write stops it before any listener opens
 * (nothing is lost: the files are left as they were). And the files that hold secrets are mode 0600: the
 * database (an old 0644 one is tightened), its WAL files, hsm_secret, the birthday, the macaroons.
 *
 * The unwritable cases need a user the permissions apply to: when the tests run as root, the daemon is
 * spawned as `nobody` (uid 65534), since root writes anywhere.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../harness/btcd.js';
import { ANODE, startDaemon, tempDir } from '../harness/daemon.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the daemon until it exits (it is expected to fail at start), as `nobody` with `unprivileged` when we are root. */
function run(args: string[], opts: { unprivileged?: boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ANODE, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.unprivileged && asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`anode did not exit: ${stdout}${stderr}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The base options of a daemon that must not find a backend or take fixed ports. */
async function baseArgs(dir: string): Promise<string[]> {
  return [`--anode-dir=${dir}`, '--addr=127.0.0.1:0', '--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0', `--bitcoin-rpcport=${await freePort()}`];
}

/** The one-line contract: exactly `anode: cannot …: <reason>` on stderr, no stack. */
function assertOneLine(r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'exit code is not 0');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^anode: cannot /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
}

/** A directory `nobody` can enter (tempDir is 0700 root-owned when we are root). */
function openDir(prefix: string): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

const listening = (r: Run): string[] => r.stdout.split('\n').filter((l) => /listening/i.test(l));

describe('fatal start-up errors', { timeout: 180_000 }, () => {
  it('gRPC port in use: one line, exit 1, the stack only with --log-level=debug', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const dir = tempDir();
      const args = [...(await baseArgs(dir)), `--rpclisten=127.0.0.1:${port}`];
      const r = await run(args);
      assertOneLine(r, new RegExp(`^anode: cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE: address already in use \\(the gRPC/REST listeners, --rpclisten/--restlisten\\)$`));
      assert.equal(r.code, 1);
      const d = await run([...args, '--log-level=debug']);
      assert.notEqual(d.code, 0);
      assert.match(d.stderr, /^anode: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/m);
      assert.match(d.stderr, /\n\s+at /, 'the stack at debug level');
    } finally {
      busy.close();
    }
  });

  it('read-only data dir: one line before any listener opens, nothing written', async () => {
    const base = openDir('anode-ro-');
    const data = join(base, 'regtest');
    mkdirSync(data);
    chmodSync(data, 0o555); // ours (when root, not nobody's): writable by no one the permissions apply to
    const r = await run(await baseArgs(base), { unprivileged: true });
    assertOneLine(r, new RegExp(`^anode: cannot write to the data directory ${data}: permission denied \\(EACCES\\)$`));
    assert.deepEqual(listening(r), [], 'no listener opened');
    assert.equal(existsSync(join(data, 'anode.sqlite3')), false);
  });

  it('read-only database: one line before any listener opens, the database untouched', async () => {
    const base = openDir('anode-rodb-');
    // A node that ran once, as the user.
    const first = await startDaemon([`--bitcoin-rpcport=${await freePort()}`], base);
    assert.equal(await first.stop(), 0);
    const data = join(base, 'regtest');
    const db = join(data, 'anode.sqlite3');
    const before = readFileSync(db);
    // The database becomes read-only for the user (root-owned 0644 in a directory the user owns).
    if (asRoot) {
      chownSync(base, NOBODY, NOBODY);
      chownSync(data, NOBODY, NOBODY);
      for (const f of ['hsm_secret', 'hsm_secret.birthday', 'anode.lock', 'anode.pid', 'tls.cert', 'tls.key', 'admin.macaroon', 'readonly.macaroon'])
        if (existsSync(join(data, f))) chownSync(join(data, f), NOBODY, NOBODY);
    }
    chmodSync(db, 0o444);
    const r = await run(await baseArgs(base), { unprivileged: true });
    assertOneLine(r, new RegExp(`^anode: cannot write the database ${db}: permission denied \\(EACCES\\)$`));
    assert.deepEqual(listening(r), [], 'no listener opened');
    assert.deepEqual(readFileSync(db), before, 'the database is unchanged');
  });

  it('the database, its WAL files, hsm_secret, the birthday and the macaroons are mode 0600; an old 0644 database is tightened', async () => {
    const dir = tempDir();
    const d = await startDaemon([`--bitcoin-rpcport=${await freePort()}`], dir);
    const data = join(dir, 'regtest');
    try {
      for (const f of ['anode.sqlite3', 'anode.sqlite3-wal', 'anode.sqlite3-shm', 'hsm_secret', 'admin.macaroon', 'readonly.macaroon'])
        assert.equal((statSync(join(data, f)).mode & 0o777).toString(8), '600', f);
    } finally {
      assert.equal(await d.stop(), 0);
    }
    chmodSync(join(data, 'anode.sqlite3'), 0o644);
    writeFileSync(join(data, 'hsm_secret.birthday'), '0\n', { mode: 0o600 });
    const again = await startDaemon([`--bitcoin-rpcport=${await freePort()}`], dir);
    try {
      assert.equal((statSync(join(data, 'anode.sqlite3')).mode & 0o777).toString(8), '600');
      assert.equal((statSync(join(data, 'hsm_secret.birthday')).mode & 0o777).toString(8), '600');
    } finally {
      assert.equal(await again.stop(), 0);
    }
  });
});
