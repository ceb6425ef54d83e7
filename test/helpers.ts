import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from a compiled test file under dist/ or a source file under test/. */
export const repoRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'anode') return dir;
    } catch {
      /* keep climbing */
    }
    dir = resolve(dir, '..');
  }
  throw new Error('helpers: repository root not found');
})();

export function readVector<T>(name: string): T {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', name), 'utf8')) as T;
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
