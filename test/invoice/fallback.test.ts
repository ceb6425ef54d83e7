/**
 * Fallback fields from output scripts and back: the four address kinds and a taproot output map to
 * BOLT 11's versions; any bytes give a field or undefined, never a throw, and a field found maps back to
 * the very script (property run).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fallbackFromScript, fallbackScript } from '../../src/invoice/fallback.js';
import { addressToScript, btcNetwork } from '../../src/wallet/keys.js';

describe('BOLT 11 fallback fields', () => {
  it('addresses of every kind become their version and program', () => {
    const net = btcNetwork('bitcoin');
    const cases: [string, number, number][] = [
      ['1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2', 17, 20],
      ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 18, 20],
      ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 0, 20],
      ['bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3', 0, 32],
      ['bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 1, 32],
    ];
    for (const [address, version, length] of cases) {
      const script = addressToScript(address, net);
      const f = fallbackFromScript(script);
      assert.equal(f?.version, version, address);
      assert.equal(f?.program.length, length, address);
      assert.deepEqual(fallbackScript(f!), Buffer.from(script), address);
    }
    assert.equal(fallbackFromScript(Buffer.from('6a0401020304', 'hex')), undefined, 'OP_RETURN is no fallback');
  });

  it('property: any bytes give undefined or a field that maps back to the same script', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (bytes) => {
        const f = fallbackFromScript(bytes);
        if (f) assert.deepEqual(fallbackScript(f), Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
