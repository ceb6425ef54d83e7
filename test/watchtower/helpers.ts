/** Shared helpers for the watchtower tests. */
import assert from 'node:assert/strict';
import { readVector } from '../helpers.js';

export { readVector };
export const hex = (s: string): Buffer => Buffer.from(s, 'hex');

/** Assert `fn` throws an instance of `cls` whose `code` is `code`. */
export function assertCode(fn: () => unknown, cls: new (...a: never[]) => Error, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal((e as Error & { code: string }).code, code, `expected ${code}, got ${(e as Error & { code: string }).code}: ${(e as Error).message}`);
    if (message) assert.match((e as Error).message, message);
    return true;
  });
}
