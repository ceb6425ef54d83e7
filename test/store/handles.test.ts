/**
 * No database handle outside src/store: the repositories are the only way in, whichever backend is
 * behind them. (Checked on the source: no module outside src/store imports a database driver or Kysely.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'src'); // from dist/test/store
const DRIVERS = new Set(['kysely', 'better-sqlite3', 'pg']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

it('only src/store imports kysely, better-sqlite3 or pg', () => {
  const offenders: string[] = [];
  for (const f of files(SRC)) {
    const rel = relative(SRC, f).replace(/\\/g, '/');
    if (rel.startsWith('store/')) continue;
    for (const m of readFileSync(f, 'utf8').matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      if (DRIVERS.has(spec)) offenders.push(`${rel} imports ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});
