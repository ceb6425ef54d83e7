/**
 * The README as a newcomer reads it: its first commands work as written from the clone (`npx anode
 * --help` runs this clone's daemon, `npx anode-cli` its client, `npm run regtest` exists), and it links
 * nothing a clone does not have.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };

/** The commands of the README's first two shell blocks (the two a newcomer needs, then the next ones), comments dropped. */
function firstCommands(): string[] {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].slice(0, 2).map((m) => m[1]!);
  return blocks.join('\n').split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

function sh(command: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile('sh', ['-c', command], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: join(repoRoot, 'dist', 'readme-home') } }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('README', () => {
  it('links only files a clone has', () => {
    assert.doesNotMatch(readme, /\.\.\/shared|shared\/design\.md/);
    for (const [, target] of readme.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      assert.ok(existsSync(resolve(repoRoot, target!)), `README links ${target}, which the clone does not have`);
    }
  });

  it('its first commands run as written: npx anode --help, npx anode-cli, npm run regtest', { timeout: 120_000 }, async () => {
    const commands = firstCommands();
    // The two commands a newcomer needs on a fresh machine come first: install and run, then the tests.
    assert.deepEqual(commands.slice(0, 2), ['npm install && npm start', 'npm test']);
    assert.ok(commands.includes('npx anode --help'));
    const help = await sh('npx anode --help');
    assert.equal(help.code, 0, help.out);
    assert.match(help.out, /^Usage: anode \[options\]/m);
    assert.match(help.out, /--bitcoin-rpccert/);
    assert.match(help.out, /--rescan/);
    // anode-cli resolves and runs (no daemon here: it says where it looked).
    const cli = commands.find((c) => c.startsWith('npx anode-cli'))!;
    const r = await sh(cli);
    assert.match(r.out, /anode-cli: Connecting to '.*lightning-rpc'/);
    assert.ok(commands.includes('npm run regtest') && pkg.scripts.regtest?.includes('scripts/regtest.mjs'));
    for (const c of commands.filter((x) => x.startsWith('npx '))) assert.ok(pkg.bin[c.split(' ')[1]!], `${c}: a bin of this package`);
    assert.ok(existsSync(join(repoRoot, dirname(pkg.bin.anode!))));
  });
});
