/**
 * The default forwarding policy from lightningd's option names: --fee-base, --fee-per-satoshi,
 * --cltv-delta, --htlc-minimum-msat, --htlc-maximum-msat (defaults 1000 msat, 10 ppm, 34 blocks, 0,
 * the channel's limit), each refused in one line when out of range.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/node/config.js';

const home = mkdtempSync(join(tmpdir(), 'anode-policy-config-'));
after(() => rmSync(home, { recursive: true, force: true }));

describe('forwarding policy options', () => {
  it('lightningd’s defaults, and each option sets its field', () => {
    assert.deepEqual(loadConfig([], home).config.forwardingPolicy, { feeBaseMsat: 1000, feeProportionalMillionths: 10, cltvExpiryDelta: 34, htlcMinimumMsat: 0n, htlcMaximumMsat: undefined });
    const { config } = loadConfig(['--fee-base=0', '--fee-per-satoshi=4294967295', '--cltv-delta=144', '--htlc-minimum-msat=9007199254740993', '--htlc-maximum-msat=18446744073709551615'], home);
    assert.deepEqual(config.forwardingPolicy, { feeBaseMsat: 0, feeProportionalMillionths: 0xffff_ffff, cltvExpiryDelta: 144, htlcMinimumMsat: 9007199254740993n, htlcMaximumMsat: (1n << 64n) - 1n });
  });

  it('out of range values are refused in one line', () => {
    const refused = (argv: string[], re: RegExp): void => assert.throws(() => loadConfig(argv, home), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
    refused(['--fee-base=4294967296'], /^fee-base: 4294967296 does not fit in 32 bits$/);
    refused(['--fee-per-satoshi=-1'], /^fee-per-satoshi: '-1' is not a non-negative integer$/);
    refused(['--cltv-delta=0'], /^cltv-delta: 0 is not between 1 and 65535$/);
    refused(['--cltv-delta=65536'], /^cltv-delta: 65536 is not between 1 and 65535$/);
    refused(['--htlc-minimum-msat=18446744073709551616'], /^htlc-minimum-msat: 18446744073709551616 does not fit in 64 bits$/);
    refused(['--htlc-maximum-msat=lots'], /^htlc-maximum-msat: 'lots' is not a non-negative integer$/);
  });
});
