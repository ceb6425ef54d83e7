/**
 * The optional native/trim addon (glibc's malloc_trim) and its use by the daemon (docs/performance.md,
 * "RSS at rest"): on glibc the addon loads and gives back memory malloc holds free (measured in a child
 * process that frees 59 of every 60 KiB it allocated, so the heap cannot shrink from its top); the trim
 * runs after start-up and each minute until stopped; and a started daemon has the addon mapped.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadMallocTrim, trimMallocAtRest, type MallocTrim } from '../../src/node/startup.js';
import { freePort } from '../harness/btcd.js';
import { startDaemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';

const report = process.report.getReport() as unknown as { header: { glibcVersionRuntime?: string } };
const glibc = process.platform === 'linux' && report.header.glibcVersionRuntime !== undefined;
const addonPath = (): string => {
  const loaded = loadMallocTrim();
  assert.ok(!('error' in loaded), `the native/trim addon loads on glibc (npm install builds it): ${'error' in loaded ? loaded.error : ''}`);
  return join(import.meta.dirname, '../../../native/trim/index.js');
};

test('on glibc the addon loads and trim() returns freed heap memory to the OS', { skip: !glibc && 'not glibc' }, () => {
  const script = `
    const t = require(${JSON.stringify(addonPath())});
    const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    const keep = []; let all = [];
    for (let i = 0; i < 60000; i++) { const b = Buffer.alloc(1024, 1); all.push(b); if (i % 64 === 0) keep.push(b); }
    all = null; gc(); gc();
    setTimeout(() => { gc(); const before = rss(); const released = t.trim(); console.log(JSON.stringify({ before, after: rss(), released, supported: t.supported, kept: keep.length })); }, 200);`;
  const r = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' })) as { before: number; after: number; released: boolean; supported: boolean };
  assert.equal(r.supported, true);
  assert.equal(r.released, true);
  // ~58 MiB of 1 KiB buffers were freed but stay resident until trimmed (about 64 MiB comes back here).
  assert.ok(r.before - r.after >= 32, `RSS ${r.before.toFixed(1)} → ${r.after.toFixed(1)} MiB after trim()`);
});

test('the trim runs at each start-up delay, then periodically, and not after it is stopped', async () => {
  let calls = 0;
  const fake: MallocTrim = { supported: true, trim: () => (calls++, true) };
  const stop = trimMallocAtRest(fake, [5, 20], 40);
  await new Promise((r) => setTimeout(r, 150));
  const seen = calls;
  // Two start-up trims and at least two periodic ones in 150 ms (delays 5, 20 ms; every 40 ms).
  assert.ok(seen >= 4, `${seen} trims`);
  stop();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, seen);
});

test('a started daemon has the trim addon loaded', { skip: !glibc && 'not glibc' }, async () => {
  addonPath();
  const d = await startDaemon([`--bitcoin-rpcport=${await freePort()}`]);
  try {
    const pid = readFileSync(join(d.dir, 'regtest', 'anode.pid'), 'utf8').trim();
    // The bin loads it right after the start line.
    await until(() => /\/trim\.node$/m.test(readFileSync(`/proc/${pid}/maps`, 'utf8')), 'the daemon maps trim.node');
  } finally {
    assert.equal(await d.stop(), 0);
  }
});
