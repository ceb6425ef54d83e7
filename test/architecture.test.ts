/**
 * The layer rules of design.md, checked on the source tree: dependencies point down the table, the
 * watchtower client and the tower never import each other, and no source file grows into several roles.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** Lower layers: none of them may reach up into the shells or the wiring. */
const DOMAIN = ['crypto', 'bitcoin', 'wire', 'transport', 'peer', 'chain', 'wallet', 'channel', 'gossip', 'watchtower', 'store'];
const SHELLS = ['rpc', 'node', 'cli'];
const MAX_LINES = 800;

interface Rule {
  why: string;
  /** Does the rule apply to an import from `from` (a path under src/) of `to` (a path under src/)? */
  forbids(from: string, to: string): boolean;
}

const under = (path: string, folder: string): boolean => path === folder || path.startsWith(`${folder}/`);

export const RULES: Rule[] = [
  {
    why: 'domain layers import nothing from src/rpc, src/node or src/cli',
    forbids: (from, to) => DOMAIN.some((d) => under(from, d)) && SHELLS.some((s) => under(to, s)),
  },
  { why: 'src/channel imports nothing from src/watchtower', forbids: (from, to) => under(from, 'channel') && under(to, 'watchtower') },
  {
    why: 'the watchtower client imports nothing of the tower (server, lookout)',
    forbids: (from, to) => under(from, 'watchtower/client') && (under(to, 'watchtower/server') || under(to, 'watchtower/lookout')),
  },
  {
    why: 'the tower (server, lookout) imports nothing of the watchtower client',
    forbids: (from, to) => (under(from, 'watchtower/server') || under(from, 'watchtower/lookout')) && under(to, 'watchtower/client'),
  },
];

/** Every module specifier of a file: static imports and re-exports, and dynamic/type `import('…')`. */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s+['"]([^'"]+)['"]/gm];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Violations of {@link RULES} by a file at `file` (relative to src/) with the given text. */
export function violations(file: string, source: string): string[] {
  const found: string[] = [];
  for (const spec of specifiers(source)) {
    if (!spec.startsWith('.')) continue;
    const target = relative(SRC, resolve(SRC, dirname(file), spec)).replace(/\\/g, '/');
    if (target.startsWith('..')) continue;
    for (const rule of RULES) if (rule.forbids(file, target)) found.push(`${file} imports ${spec}: ${rule.why}`);
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('architecture: the layer rules of design.md', () => {
  const files = sources(SRC).map((p) => ({ file: relative(SRC, p).replace(/\\/g, '/'), text: readFileSync(p, 'utf8') }));

  it('finds the source tree', () => {
    assert.ok(files.length > 100, `only ${files.length} files under ${SRC}`);
    assert.ok(files.some((f) => f.file === 'channel/channel.ts'));
  });

  it('the checker catches each kind of violation (so the tree check can fail)', () => {
    assert.equal(violations('channel/x.ts', "import { a } from '../rpc/cln/index.js';").length, 1);
    assert.equal(violations('store/x.ts', "export { b } from '../node/core/index.js';").length, 1);
    assert.equal(violations('channel/onchain/x.ts', "type T = import('../../watchtower/client/api.js').X;").length, 1);
    assert.equal(violations('watchtower/client/x.ts', "import '../lookout/store.js';").length, 1);
    assert.equal(violations('watchtower/lookout/x.ts', "import { c } from '../client/index.js';").length, 1);
    assert.equal(violations('watchtower/server/x.ts', "import { d } from '../wire/messages.js';").length, 0);
    assert.equal(violations('node/node.ts', "import { e } from '../rpc/cln/index.js';").length, 0);
    assert.equal(violations('channel/x.ts', "import { f } from '../bitcoin/script.js';").length, 0);
  });

  it('no file breaks a layer rule', () => {
    const all = files.flatMap((f) => violations(f.file, f.text));
    assert.deepEqual(all, []);
  });

  it(`no source file is over ${MAX_LINES} lines (one role per file)`, () => {
    const long = files.map((f) => ({ file: f.file, lines: f.text.split('\n').length })).filter((f) => f.lines > MAX_LINES);
    assert.deepEqual(long, []);
  });
});
