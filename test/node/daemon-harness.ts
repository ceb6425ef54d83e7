/**
 * The daemon as tests run it: `dist/src/bin/anode.js` in a child process with a temp --anode-dir and
 * ephemeral ports everywhere, its JSON start line parsed, and anode-cli against it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { repoRoot } from '../helpers.js';

export const ANODE = join(repoRoot, 'dist', 'src', 'bin', 'anode.js');
export const ANODE_CLI = join(repoRoot, 'dist', 'src', 'bin', 'anode-cli.js');

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A temp directory removed when the test file ends. */
export function tempDir(prefix = 'anode-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export interface Daemon {
  dir: string;
  /** The JSON start line (nodeId, listening, grpc, rest, …). */
  line: Record<string, unknown>;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash), resolved once the process is gone. */
  kill(): Promise<void>;
  /** Whether the process is still running. */
  running(): boolean;
}

/** Starts a daemon on `dir` (a new temp dir by default); resolves once its start line is out. */
export async function startDaemon(extra: string[], dir: string = tempDir()): Promise<Daemon> {
  const child = spawn(process.execPath, [ANODE, `--anode-dir=${dir}`, '--addr=127.0.0.1:0', '--rpclisten=127.0.0.1:0', '--restlisten=127.0.0.1:0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      const text = c.toString();
      out += text;
      buf += text;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const o = JSON.parse(l) as Record<string, unknown>;
          if (typeof o.nodeId === 'string') resolve(o);
        } catch {
          /* not JSON */
        }
      }
    });
    void exited.then((code) => reject(new Error(`anode exited ${code} before starting: ${out.slice(-2000)}`)));
  });
  return {
    dir,
    line,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/** anode-cli against the daemon on `dir`; never throws. */
export function cli(dir: string, ...args: string[]): Promise<{ status: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ANODE_CLI, `--anode-dir=${dir}`, ...args], { encoding: 'utf8' }, (e, out, err) => {
      resolve({ status: e ? Number((e as { code?: number }).code ?? 1) : 0, out, err });
    });
  });
}

/** anode-cli's JSON answer; throws with its output when the exit status is not 0. */
export async function cliJson<T = Record<string, unknown>>(dir: string, ...args: string[]): Promise<T> {
  const r = await cli(dir, ...args);
  if (r.status !== 0) throw new Error(`anode-cli ${args.join(' ')} exited ${r.status}: ${r.out}${r.err}`);
  return JSON.parse(r.out) as T;
}
