/**
 * What a started daemon loads (RSS at rest, docs/performance.md): the modules of features that are off by
 * default — the watchtower (server, lookout, its database), the watchtower client and the Prometheus
 * metrics with prom-client — load only when configured. The real daemon is started with a module hook
 * (`NODE_OPTIONS=--import`) that writes the URL of every module it loads to a file.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { freePort } from '../harness/btcd.js';
import { startDaemon, tempDir } from '../harness/daemon.js';

const probeDir = tempDir('anode-lazy-');
const hooks = join(probeDir, 'hooks.mjs');
const register = join(probeDir, 'register.mjs');
writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.ANODE_TEST_LOADED, url + '\\n');\n  return next(url, context);\n}\n`);
writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

const savedOptions = process.env.NODE_OPTIONS;
after(() => {
  if (savedOptions === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = savedOptions;
  rmSync(probeDir, { recursive: true, force: true });
});

/** Starts the daemon with `extra`, returns the module URLs it loaded by its start line, stops it. */
async function loaded(name: string, extra: string[]): Promise<string[]> {
  const list = join(probeDir, `${name}.txt`);
  writeFileSync(list, '');
  process.env.NODE_OPTIONS = `${savedOptions ?? ''} --import=${pathToFileURL(register).href}`;
  process.env.ANODE_TEST_LOADED = list;
  const d = await startDaemon([`--bitcoin-rpcport=${await freePort()}`, ...extra]);
  try {
    return readFileSync(list, 'utf8').split('\n').filter(Boolean);
  } finally {
    assert.equal(await d.stop(), 0);
  }
}

const OPTIONAL = ['/dist/src/metrics/metrics.js', '/node_modules/prom-client/', '/dist/src/watchtower/server/server.js', '/dist/src/watchtower/lookout/lookout.js', '/dist/src/store/tower.js', '/dist/src/watchtower/client/client.js'];
const has = (urls: string[], part: string): boolean => urls.some((u) => u.includes(part));

test('default options: no module of the watchtower, the watchtower client or the metrics is loaded', async () => {
  const urls = await loaded('default', []);
  assert.ok(has(urls, '/dist/src/node/node.js') && has(urls, '/dist/src/rpc/lnd/server.js'), `the hook saw the node load (${urls.length} modules)`);
  assert.deepEqual(OPTIONAL.filter((p) => has(urls, p)), []);
});

test('the same features configured: their modules load and the daemon starts', async () => {
  const urls = await loaded('configured', ['--metrics-listen=127.0.0.1:0', '--watchtower.active', '--watchtower.listen=127.0.0.1:0', '--wtclient.active']);
  assert.deepEqual(OPTIONAL.filter((p) => !has(urls, p)), []);
});
