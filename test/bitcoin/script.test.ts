/** Script helpers and BOLT 3 witness scripts (src/bitcoin/script.ts, bolt3-scripts.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Script } from '@scure/btc-signer';
import { hex, readVector } from '../helpers.js';
import { assertCode } from '../watchtower/helpers.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { BitcoinError } from '../../src/bitcoin/errors.js';
import { anchorScript, fundingScript, offeredHtlcScript, receivedHtlcScript, toLocalScript, toRemoteConfirmedScript } from '../../src/bitcoin/bolt3-scripts.js';
import { hash160, p2wpkh, p2wpkhScriptCode, p2wsh, scriptClass } from '../../src/bitcoin/script.js';

const C = readVector<{ appendixC: Record<string, string> }>('bolt3-keys.json').appendixC;
const key = (tag: string): Buffer => secp.publicKey(sha256(Buffer.from(tag)));
const A = key('a');
const B = key('b');
const R = key('r');
const NOT_A_POINT = Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 0xff)]);

/** btcd `ScriptBuilder.AddInt64` for non-negative n, written out from its definition. */
function addInt64(n: number): string {
  if (n === 0) return '00';
  if (n <= 16) return (0x50 + n).toString(16);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.push(v % 256);
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(0);
  return Buffer.from([bytes.length, ...bytes]).toString('hex');
}

describe('BOLT 3 scripts', () => {
  it('funding witness script of Appendix C, whatever the key order', () => {
    assert.equal(fundingScript(hex(C.local_funding_pubkey!), hex(C.remote_funding_pubkey!)).toString('hex'), C.funding_witness_script);
    assert.equal(fundingScript(hex(C.remote_funding_pubkey!), hex(C.local_funding_pubkey!)).toString('hex'), C.funding_witness_script);
  });
  it('to_local pushes to_self_delay as btcd AddInt64 does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 0xffffffff })), (delay) => {
        const s = toLocalScript(R, A, delay).toString('hex');
        assert.equal(s, `63${'21' + R.toString('hex')}67${addInt64(delay)}b275${'21' + A.toString('hex')}68ac`);
      }),
    );
  });
  it('to_remote (anchors) and anchor scripts', () => {
    assert.equal(toRemoteConfirmedScript(A).toString('hex'), `21${A.toString('hex')}ad51b2`);
    assert.equal(anchorScript(A).toString('hex'), `21${A.toString('hex')}ac736460b268`);
  });
  it('HTLC scripts: the anchors variant adds 1 OP_CSV OP_DROP before the last OP_ENDIF', () => {
    const keys = { revocationPubkey: R, localHtlcPubkey: A, remoteHtlcPubkey: B };
    const ph = sha256(Buffer.from('preimage'));
    for (const [plain, anchors] of [
      [offeredHtlcScript(keys, ph, false), offeredHtlcScript(keys, ph, true)],
      [receivedHtlcScript(keys, ph, 500_000, false), receivedHtlcScript(keys, ph, 500_000, true)],
    ] as const) {
      assert.deepEqual(anchors, Buffer.concat([plain.subarray(0, -1), Buffer.from('51b27568', 'hex')]));
      assert.deepEqual(plain.subarray(0, 23), Buffer.concat([Buffer.from('76a914', 'hex'), hash160(R)]));
    }
  });
  it('rejects keys off the curve, bad hashes and numbers with typed errors', () => {
    assertCode(() => fundingScript(A, NOT_A_POINT), BitcoinError, 'INVALID_KEY');
    assertCode(() => toLocalScript(R, A.subarray(1), 144), BitcoinError, 'INVALID_KEY');
    assertCode(() => toLocalScript(R, A, -1), BitcoinError, 'INVALID');
    assertCode(() => toLocalScript(R, A, 2 ** 32), BitcoinError, 'INVALID');
    assertCode(() => offeredHtlcScript({ revocationPubkey: R, localHtlcPubkey: A, remoteHtlcPubkey: B }, Buffer.alloc(31), false), BitcoinError, 'INVALID');
    assertCode(() => p2wpkh(A.subarray(1)), BitcoinError, 'INVALID_KEY');
    assertCode(() => anchorScript(NOT_A_POINT), BitcoinError, 'INVALID_KEY');
  });
  it('every script decodes back to the same bytes (minimal pushes)', () => {
    const keys = { revocationPubkey: R, localHtlcPubkey: A, remoteHtlcPubkey: B };
    for (const s of [fundingScript(A, B), toLocalScript(R, A, 144), offeredHtlcScript(keys, Buffer.alloc(32, 1), true), receivedHtlcScript(keys, Buffer.alloc(32, 1), 17, false)])
      assert.deepEqual(Buffer.from(Script.encode(Script.decode(s))), s);
  });
});

describe('output scripts and their classes', () => {
  it('P2WSH, P2WPKH and the P2WPKH scriptCode', () => {
    const w = toLocalScript(R, A, 144);
    assert.equal(p2wsh(w).toString('hex'), `0020${sha256(w).toString('hex')}`);
    assert.equal(p2wpkh(A).toString('hex'), `0014${hash160(A).toString('hex')}`);
    assert.equal(p2wpkhScriptCode(A).toString('hex'), `76a914${hash160(A).toString('hex')}88ac`);
  });
  it('scriptClass by template', () => {
    assert.equal(scriptClass(p2wpkh(A)), 'p2wpkh');
    assert.equal(scriptClass(p2wsh(Buffer.from([0x51]))), 'p2wsh');
    assert.equal(scriptClass(Buffer.concat([Buffer.from('5120', 'hex'), Buffer.alloc(32)])), 'p2tr');
    assert.equal(scriptClass(p2wpkhScriptCode(A)), 'p2pkh');
    assert.equal(scriptClass(Buffer.concat([Buffer.from('a914', 'hex'), Buffer.alloc(20), Buffer.from('87', 'hex')])), 'p2sh');
    assert.equal(scriptClass(Buffer.from('6a', 'hex')), 'other');
  });
});
