import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, helpText, loadConfig, OPTIONS, parseConfigFile, parseHostPort } from '../../src/node/config.js';

const home = mkdtempSync(join(tmpdir(), 'anode-config-'));
after(() => rmSync(home, { recursive: true, force: true }));

describe('configuration', () => {
  it('defaults: regtest in ~/.anode/regtest, peers on 0.0.0.0:19846 (the regtest port), info logs', () => {
    const { config } = loadConfig([], home);
    assert.equal(config.network, 'regtest');
    assert.equal(config.anodeDir, join(home, '.anode'));
    assert.equal(config.dataDir, join(home, '.anode', 'regtest'));
    assert.deepEqual(config.listen, [{ host: '0.0.0.0', port: 19846 }]);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.pingIntervalMs, 60_000);
  });

  it('--lightning-dir is an alias of --anode-dir; both value forms work', () => {
    assert.equal(loadConfig(['--lightning-dir', '/x/y'], home).config.dataDir, '/x/y/regtest');
    assert.equal(loadConfig(['--anode-dir=~/z', '--network=signet'], home).config.dataDir, join(home, 'z', 'signet'));
  });

  it('--addr and --bind-addr are repeatable and parse host:port forms', () => {
    const { config } = loadConfig(['--addr=127.0.0.1:1234', '--addr', '[::1]:9736', '--bind-addr=:9000'], home);
    assert.deepEqual(config.listen, [
      { host: '127.0.0.1', port: 1234 },
      { host: '::1', port: 9736 },
      { host: '0.0.0.0', port: 9000 },
    ]);
    assert.deepEqual(parseHostPort('localhost', 9735, 'addr'), { host: 'localhost', port: 9735 });
    assert.deepEqual(parseHostPort('::1', 9735, 'addr'), { host: '::1', port: 9735 });
    assert.throws(() => parseHostPort('1.2.3.4:99999', 9735, 'addr'), /bad port/);
  });

  it('CLN log level names map to ours', () => {
    assert.equal(loadConfig(['--log-level=io'], home).config.logLevel, 'trace');
    assert.equal(loadConfig(['--log-level=UNUSUAL'], home).config.logLevel, 'warn');
    assert.equal(loadConfig(['--log-level=broken'], home).config.logLevel, 'error');
    assert.throws(() => loadConfig(['--log-level=loud'], home), /log-level: 'loud' is not one of/);
  });

  it('config files: base then network file then command line; comments and flags', () => {
    const dir = join(home, 'cfg');
    mkdirSync(join(dir, 'testnet'), { recursive: true });
    writeFileSync(join(dir, 'config'), '# comment\n\nnetwork = testnet\nping-interval=5\naddr=1.1.1.1:1\n');
    writeFileSync(join(dir, 'testnet', 'config'), 'ping-interval=7\n');
    const a = loadConfig([`--anode-dir=${dir}`], home).config;
    assert.equal(a.network, 'testnet');
    assert.equal(a.pingIntervalMs, 7000);
    assert.deepEqual(a.listen, [{ host: '1.1.1.1', port: 1 }]);
    const b = loadConfig([`--anode-dir=${dir}`, '--ping-interval=9', '--addr=2.2.2.2:2'], home).config;
    assert.equal(b.pingIntervalMs, 9000);
    assert.deepEqual(b.listen, [{ host: '2.2.2.2', port: 2 }], 'a list given on the command line replaces the file’s');
  });

  it('clear errors for unknown options, missing values, bad numbers, cli-only options in files', () => {
    assert.throws(() => loadConfig(['--bogus'], home), (e: unknown) => e instanceof ConfigError && /unknown option 'bogus'/.test(e.message));
    assert.throws(() => loadConfig(['--network'], home), /option '--network' needs a value/);
    assert.throws(() => loadConfig(['--ping-interval=soon'], home), /ping-interval: 'soon' is not a non-negative integer/);
    assert.throws(() => loadConfig(['--ping-interval=0'], home), /at least 1 second/);
    assert.throws(() => loadConfig(['stray'], home), /unexpected argument 'stray'/);
    assert.throws(() => parseConfigFile('anode-dir=/x\n', 'f'), /f:1: 'anode-dir' can only be given on the command line/);
    assert.throws(() => parseConfigFile('ok\n', 'f'), /f:1: unknown option 'ok'/);
    assert.throws(() => loadConfig(['--conf=/nonexistent/anode.conf'], home), /does not exist/);
  });

  it("--max-fee-multiplier (CLN's name): default 10, from the command line or a config file, at least 1", () => {
    assert.equal(loadConfig([], home).config.maxFeeMultiplier, 10);
    assert.equal(loadConfig(['--max-fee-multiplier=3'], home).config.maxFeeMultiplier, 3);
    assert.equal(loadConfig(['--max-fee-multiplier', '0'], home).config.maxFeeMultiplier, 1);
    assert.ok(parseConfigFile('max-fee-multiplier=20\n', 'f').has('max-fee-multiplier'));
    assert.match(helpText(), /--max-fee-multiplier[^\n]*update_fee/);
  });

  it('--dev-hold-htlcs only with --developer (without it the HTLC intake decides every incoming HTLC)', () => {
    assert.equal(loadConfig([], home).config.devHoldHtlcs, false);
    assert.equal(loadConfig(['--developer', '--dev-hold-htlcs'], home).config.devHoldHtlcs, true);
    assert.throws(() => loadConfig(['--dev-hold-htlcs'], home), (e: unknown) => e instanceof ConfigError && e.message === 'dev-hold-htlcs: needs --developer');
  });

  it('--help lists every option', () => {
    const text = helpText();
    for (const o of OPTIONS) assert.ok(text.includes(`--${o.name}`), o.name);
  });

  it('the config-file parser takes arbitrary text without crashing: a value or a ConfigError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          parseConfigFile(text, 'fuzz');
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
        }
      }),
      { numRuns: 500 },
    );
  });
});
