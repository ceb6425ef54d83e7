/**
 * What a started daemon loads (RSS at rest, docs/performance.md): the modules of features that are off by
 * default — the watchtower (server, lookout, its database), the watchtower client and the Prometheus
 * metrics with prom-client — load only when configured, and tiny-secp256k1 and the bip32 package not at all
 * while the native secp256k1 addon serves. The real daemon is started with a module hook
 * (`NODE_OPTIONS=--import`) that writes the URL of every module it loads, imported or required, to a file.
 */
import { strict as assert } from 'node:assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { secpBackend } from '../../src/crypto/secp256k1.js';
import { freePort } from '../harness/btcd.js';
import { startDaemon, tempDir } from '../harness/daemon.js';

const probeDir = tempDir('anode-lazy-');
const hooks = join(probeDir, 'hooks.mjs');
const register = join(probeDir, 'register.mjs');
// Each line is `<pid> <url>`: the TLS certificate's child process (tls-child.js) inherits the hook too.
writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.ANODE_TEST_LOADED, process.pid + ' ' + url + '\\n');\n  return next(url, context);\n}\n`);
// require() (createRequire included) bypasses the ESM hooks in Node 20: Module._load records those.
writeFileSync(
  register,
  `import Module, { register } from 'node:module';\nimport { appendFileSync } from 'node:fs';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n` +
    `const load = Module._load;\nModule._load = function (request, parent, isMain) {\n  try { appendFileSync(process.env.ANODE_TEST_LOADED, process.pid + ' file://' + Module._resolveFilename(request, parent, isMain) + '\\n'); } catch {}\n  return load.apply(this, arguments);\n};\n`,
);

const savedOptions = process.env.NODE_OPTIONS;
after(() => {
  if (savedOptions === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = savedOptions;
  rmSync(probeDir, { recursive: true, force: true });
});

/** Starts the daemon with `extra`, returns the module URLs it (its own process) loaded by its start line, stops it. */
async function loaded(name: string, extra: string[]): Promise<string[]> {
  const list = join(probeDir, `${name}.txt`);
  writeFileSync(list, '');
  process.env.NODE_OPTIONS = `${savedOptions ?? ''} --import=${pathToFileURL(register).href}`;
  process.env.ANODE_TEST_LOADED = list;
  const d = await startDaemon([`--bitcoin-rpcport=${await freePort()}`, ...extra]);
  try {
    const pid = readFileSync(join(d.dir, 'regtest', 'anode.pid'), 'utf8').trim();
    return readFileSync(list, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${pid} `))
      .map((l) => l.slice(pid.length + 1));
  } finally {
    assert.equal(await d.stop(), 0);
  }
}

const OPTIONAL = ['/dist/src/metrics/metrics.js', '/node_modules/prom-client/', '/dist/src/watchtower/server/server.js', '/dist/src/watchtower/lookout/lookout.js', '/dist/src/store/tower.js', '/dist/src/watchtower/client/client.js'];
const has = (urls: string[], part: string): boolean => urls.some((u) => u.includes(part));

// With the native addon, BIP32 goes through src/crypto/bip32.ts and tiny-secp256k1 (the fallback, BIP 340)
// loads on first use: neither it nor the bip32 package is loaded at start.
const NATIVE_ONLY = secpBackend.name === 'libsecp256k1 (native addon)' ? ['/node_modules/tiny-secp256k1/', '/node_modules/bip32/'] : [];
// The TLS certificate (created on this first start) is made in a child process: @peculiar/x509 never loads here.
const CHILD_ONLY = ['/node_modules/@peculiar/x509/', '/node_modules/reflect-metadata/'];

test('default options, first start: no module of the watchtower, the watchtower client or the metrics is loaded, nor tiny-secp256k1, bip32 or @peculiar/x509', async () => {
  const urls = await loaded('default', []);
  // What the hook must see: ESM modules, and a module only ever require()d (better-sqlite3's own).
  assert.ok(has(urls, '/dist/src/node/node.js') && has(urls, '/dist/src/rpc/lnd/server.js') && has(urls, '/node_modules/better-sqlite3/lib/database.js'), `the hook saw the node load (${urls.length} modules)`);
  assert.deepEqual([...OPTIONAL, ...NATIVE_ONLY, ...CHILD_ONLY].filter((p) => has(urls, p)), []);
});

test('the same features configured: their modules load and the daemon starts', async () => {
  const urls = await loaded('configured', ['--metrics-listen=127.0.0.1:0', '--watchtower.active', '--watchtower.listen=127.0.0.1:0', '--wtclient.active']);
  assert.deepEqual(OPTIONAL.filter((p) => !has(urls, p)), []);
});
