/** Shared helpers for the wire tests: vector loading and WireError assertions. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WireError, type WireErrorCode } from '../../src/wire/errors.js';

/** Load `test/vectors/<name>` (works from `dist/test/wire/` and from `test/wire/`). */
export function loadVectors<T>(name: string): T {
  const candidates = [
    new URL(`../../../test/vectors/${name}`, import.meta.url), // dist/test/wire → repo root
    new URL(`../vectors/${name}`, import.meta.url), // test/wire (ts run directly)
  ];
  for (const url of candidates) {
    try {
      return JSON.parse(readFileSync(url, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`vectors: ${name} not found`);
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Assert `fn` throws a WireError with `code` (and, if given, a message matching `message`). */
export function assertWireError(fn: () => unknown, code: WireErrorCode, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof WireError, `expected WireError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}
