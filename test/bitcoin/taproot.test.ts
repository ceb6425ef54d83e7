/** Taproot helpers (src/bitcoin/taproot.ts) against @scure/btc-signer's own P2TR construction. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as btc from '@scure/btc-signer';
import { assertCode } from '../watchtower/helpers.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { BitcoinError } from '../../src/bitcoin/errors.js';
import {
  TAPROOT_NUMS_X,
  tapBranchHash,
  tapLeafHash,
  taprootDelayScript,
  taprootOutput,
  taprootToLocal,
  taprootToRemote,
  taprootToRemoteScript,
} from '../../src/bitcoin/taproot.js';

const x = (tag: string): Buffer => secp.xOnlyPublicKey(sha256(Buffer.from(tag)));

describe('taproot', () => {
  it('tapBranchHash does not depend on the order of its children', () => {
    const a = tapLeafHash(Buffer.from([0x51]));
    const b = tapLeafHash(Buffer.from([0x52]));
    assert.deepEqual(tapBranchHash(a, b), tapBranchHash(b, a));
  });
  it('to_local and to_remote outputs equal @scure/btc-signer p2tr of the same trees', () => {
    for (const flavour of ['staging', 'final'] as const) {
      const delay = taprootDelayScript(x('delay'), 144, flavour);
      const local = taprootToLocal(x('revocation'), x('delay'), tapLeafHash(delay));
      assert.deepEqual(local.pkScript, Buffer.from(btc.p2tr(TAPROOT_NUMS_X, [{ script: local.revokeScript }, { script: delay }], undefined, true).script));
      const remote = taprootToRemote(x('remote'), flavour);
      assert.deepEqual(remote.leafScript, taprootToRemoteScript(x('remote'), flavour));
      assert.deepEqual(remote.pkScript, Buffer.from(btc.p2tr(TAPROOT_NUMS_X, { script: remote.leafScript }, undefined, true).script));
      assert.equal(remote.controlBlock.length, 33);
      assert.equal(local.controlBlock.length, 65);
    }
  });
  it('an internal key off the curve is INVALID_KEY', () => {
    assertCode(() => taprootOutput(Buffer.alloc(32, 0xff), Buffer.alloc(32)), BitcoinError, 'INVALID_KEY');
    assertCode(() => taprootToRemoteScript(Buffer.alloc(31, 1), 'final'), BitcoinError, 'INVALID_KEY');
  });
});
