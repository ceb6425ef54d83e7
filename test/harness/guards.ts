/**
 * Guards a test file can turn on with one call. Top-level hooks: call them at module level, once per file.
 */
import assert from 'node:assert/strict';
import { after } from 'node:test';

/**
 * Collects every unhandled promise rejection while this file runs and fails the file at the end if there
 * was one: a background task (a poller, a notifier, a child's stream) that rejects with nobody listening
 * is a bug even when every test's own assertions pass.
 */
export function failOnUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };
  process.on('unhandledRejection', onUnhandled);
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    assert.deepEqual(unhandled, [], 'no unhandled rejections');
  });
}
