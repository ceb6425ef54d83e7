/** Justice kits and blobs against the §6.2 vectors (test/vectors/watchtower-blob.json). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { secp } from '../../src/crypto/secp256k1.js';
import {
  BlobError,
  BlobType,
  blobSize,
  blobTypeFor,
  breachHint,
  breachKey,
  commitmentType,
  decodeJusticeKitV0,
  decodeJusticeKitV1,
  decryptJusticeKit,
  encodeJusticeKit,
  encryptJusticeKit,
  hasToRemote,
  isSupportedBlobType,
  plaintextSize,
  txidFromHex,
  type JusticeKitV0,
  type JusticeKitV1,
} from '../../src/watchtower/blob/index.js';
import { tapLeafHash, taprootDelayScript } from '../../src/bitcoin/taproot.js';
import { assertCode, hex, readVector } from './helpers.js';

interface BlobVectors {
  keys: Record<string, string>;
  csv_delay: number;
  sweep_script: string;
  breach_txid_internal: string;
  breach_txid_display: string;
  hint: string;
  key: string;
  nonce: string;
  to_local_sig: string;
  to_remote_sig: string;
  v0_plaintext: string;
  v0_blob: string;
  v1_plaintext: string;
  v1_blob: string;
  delay_leaf_staging: { script: string; hash: string };
  delay_leaf_final: { script: string; hash: string };
}
const V = readVector<BlobVectors>('watchtower-blob.json');

const v0Kit = (): JusticeKitV0 => ({
  version: 0,
  sweepScript: hex(V.sweep_script),
  revocationPubKey: hex(V.keys.revocation_pub!),
  localDelayPubKey: hex(V.keys.to_local_pub!),
  csvDelay: V.csv_delay,
  toLocalSig: hex(V.to_local_sig),
  toRemotePubKey: hex(V.keys.to_remote_pub!),
  toRemoteSig: hex(V.to_remote_sig),
});
const v1Kit = (): JusticeKitV1 => ({
  version: 1,
  sweepScript: hex(V.sweep_script),
  revocationPubKey: hex(V.keys.revocation_pub!).subarray(1),
  localDelayPubKey: hex(V.keys.to_local_pub!).subarray(1),
  toLocalSig: hex(V.to_local_sig),
  delayScriptHash: hex(V.delay_leaf_staging.hash),
  toRemotePubKey: hex(V.keys.to_remote_pub!),
  toRemoteSig: hex(V.to_remote_sig),
});

describe('§6.2 keys and derivation', () => {
  it('the LND test private keys give the listed public keys', () => {
    assert.equal(secp.publicKey(hex(V.keys.revocation_priv!)).toString('hex'), V.keys.revocation_pub);
    assert.equal(secp.publicKey(hex(V.keys.to_local_priv!)).toString('hex'), V.keys.to_local_pub);
    assert.equal(secp.publicKey(hex(V.keys.to_remote_priv!)).toString('hex'), V.keys.to_remote_pub);
  });
  it('txid display ↔ internal order', () => {
    assert.equal(txidFromHex(V.breach_txid_display).toString('hex'), V.breach_txid_internal);
  });
  it('hint = SHA256(txid)[0:16] and key = SHA256(txid‖txid), txid in internal order', () => {
    const txid = hex(V.breach_txid_internal);
    assert.equal(breachHint(txid).toString('hex'), V.hint);
    assert.equal(breachKey(txid).toString('hex'), V.key);
    assert.notEqual(breachHint(txidFromHex(V.breach_txid_internal)).toString('hex'), V.hint);
  });
  it('rejects txids that are not 32 bytes', () => {
    assertCode(() => breachHint(Buffer.alloc(31)), BlobError, 'INVALID');
    assertCode(() => breachKey(Buffer.alloc(33)), BlobError, 'INVALID');
    assertCode(() => txidFromHex('zz'), BlobError, 'INVALID');
  });
  it('delay leaves (staging and final) and their TapLeaf hashes', () => {
    const x = hex(V.keys.to_local_pub!).subarray(1);
    const s = taprootDelayScript(x, V.csv_delay, 'staging');
    const f = taprootDelayScript(x, V.csv_delay, 'final');
    assert.equal(s.toString('hex'), V.delay_leaf_staging.script);
    assert.equal(f.toString('hex'), V.delay_leaf_final.script);
    assert.equal(tapLeafHash(s).toString('hex'), V.delay_leaf_staging.hash);
    assert.equal(tapLeafHash(f).toString('hex'), V.delay_leaf_final.hash);
  });
});

describe('justice kit V0 (274 bytes)', () => {
  it('encodes the §6.2 plaintext', () => assert.equal(encodeJusticeKit(v0Kit()).toString('hex'), V.v0_plaintext));
  it('decodes it', () => assert.deepEqual(decodeJusticeKitV0(hex(V.v0_plaintext)), v0Kit()));
  it('encrypts to the §6.2 blob with the fixed nonce', () => {
    assert.equal(encryptJusticeKit(v0Kit(), hex(V.key), hex(V.nonce)).toString('hex'), V.v0_blob);
  });
  it('decrypts the §6.2 blob for legacy, reward and anchor types', () => {
    for (const t of [0x0002, 0x0003, 0x0006]) assert.deepEqual(decryptJusticeKit(hex(V.v0_blob), hex(V.key), t), v0Kit());
  });
  it('without to_remote: zeros encoded; garbage after a non-02/03 prefix decodes as absent', () => {
    const k = { ...v0Kit(), toRemotePubKey: Buffer.alloc(33), toRemoteSig: Buffer.alloc(64) };
    const p = encodeJusticeKit(k);
    assert.ok(p.subarray(177).equals(Buffer.alloc(97)));
    assert.equal(hasToRemote(decodeJusticeKitV0(p)), false);
    p[177] = 0x04;
    p.fill(0x33, 178);
    const d = decodeJusticeKitV0(p);
    assert.equal(hasToRemote(d), false);
    assert.deepEqual(d, k);
  });
  it('padding after the sweep script is ignored', () => {
    const p = hex(V.v0_plaintext);
    p[42] = 0xff;
    assert.deepEqual(decodeJusticeKitV0(p), v0Kit());
  });
  it('sweep script: 42 bytes ok, 43 refused both ways', () => {
    const k = { ...v0Kit(), sweepScript: Buffer.alloc(42, 7) };
    assert.deepEqual(decodeJusticeKitV0(encodeJusticeKit(k)), k);
    assertCode(() => encodeJusticeKit({ ...k, sweepScript: Buffer.alloc(43) }), BlobError, 'SWEEP_TOO_LONG');
    const p = hex(V.v0_plaintext);
    p[0] = 43;
    assertCode(() => decodeJusticeKitV0(p), BlobError, 'SWEEP_TOO_LONG');
  });
  it('wrong plaintext sizes are BAD_SIZE', () => {
    assertCode(() => decodeJusticeKitV0(Buffer.alloc(273)), BlobError, 'BAD_SIZE');
    assertCode(() => decodeJusticeKitV0(Buffer.alloc(300)), BlobError, 'BAD_SIZE');
  });
  it('bad field sizes are INVALID', () => {
    assertCode(() => encodeJusticeKit({ ...v0Kit(), revocationPubKey: Buffer.alloc(32) }), BlobError, 'INVALID');
    assertCode(() => encodeJusticeKit({ ...v0Kit(), csvDelay: 2 ** 32 }), BlobError, 'INVALID');
    assertCode(() => encodeJusticeKit({ ...v0Kit(), toRemoteSig: Buffer.alloc(65) }), BlobError, 'INVALID');
  });
});

describe('justice kit V1 (300 bytes)', () => {
  it('encodes the §6.2 plaintext', () => assert.equal(encodeJusticeKit(v1Kit()).toString('hex'), V.v1_plaintext));
  it('decodes it', () => assert.deepEqual(decodeJusticeKitV1(hex(V.v1_plaintext)), v1Kit()));
  it('encrypts to the §6.2 blob with the fixed nonce', () => {
    assert.equal(encryptJusticeKit(v1Kit(), hex(V.key), hex(V.nonce)).toString('hex'), V.v1_blob);
  });
  it('decrypts the §6.2 blob for taproot and taproot-final types', () => {
    for (const t of [0x000a, 0x001a]) assert.deepEqual(decryptJusticeKit(hex(V.v1_blob), hex(V.key), t), v1Kit());
  });
  it('sig before the delay-leaf hash', () => {
    const p = encodeJusticeKit(v1Kit());
    assert.ok(p.subarray(107, 171).equals(hex(V.to_local_sig)));
    assert.ok(p.subarray(171, 203).equals(hex(V.delay_leaf_staging.hash)));
  });
});

describe('blobs', () => {
  it('sizes: 314 for V0 types, 340 for V1 types', () => {
    assert.deepEqual([0x02, 0x03, 0x06, 0x0a, 0x1a].map(blobSize), [314, 314, 314, 340, 340]);
    assert.deepEqual([0x02, 0x0a].map(plaintextSize), [274, 300]);
  });
  it('types, flags and commitment types', () => {
    assert.deepEqual([0x02, 0x03, 0x06, 0x0a, 0x1a].map(commitmentType), ['legacy', 'legacy', 'anchor', 'taproot', 'taproot-final']);
    assert.deepEqual([0, 1, 4, 0x0e, 0x12, 0x07, 0xffff].map(isSupportedBlobType), [false, false, false, false, false, false, false]);
    assert.equal(blobTypeFor('legacy', true), BlobType.RewardCommit);
    assert.equal(blobTypeFor('taproot-final'), BlobType.AltruistTaprootFinalCommit);
    assertCode(() => commitmentType(0), BlobError, 'UNKNOWN_BLOB_TYPE');
  });
  it('a random nonce per blob; wrong key → DECRYPT_FAILED; wrong size → BAD_SIZE; no CommitOutputs flag → UNKNOWN_BLOB_TYPE', () => {
    const a = encryptJusticeKit(v0Kit(), hex(V.key));
    const b = encryptJusticeKit(v0Kit(), hex(V.key));
    assert.equal(a.length, 314);
    assert.ok(!a.subarray(0, 24).equals(b.subarray(0, 24)));
    assert.deepEqual(decryptJusticeKit(a, hex(V.key), 0x02), v0Kit());
    assertCode(() => decryptJusticeKit(a, Buffer.alloc(32), 0x02), BlobError, 'DECRYPT_FAILED');
    assertCode(() => decryptJusticeKit(a, hex(V.key), 0x0a), BlobError, 'BAD_SIZE');
    assertCode(() => decryptJusticeKit(a.subarray(1), hex(V.key), 0x02), BlobError, 'BAD_SIZE');
    assertCode(() => decryptJusticeKit(a, hex(V.key), 0x04), BlobError, 'UNKNOWN_BLOB_TYPE');
    assertCode(() => commitmentType(0x10), BlobError, 'UNKNOWN_BLOB_TYPE');
    assert.equal(commitmentType(0x07), 'anchor');
    const t = Buffer.from(a);
    t[100]! ^= 1;
    assertCode(() => decryptJusticeKit(t, hex(V.key), 0x02), BlobError, 'DECRYPT_FAILED');
  });
});
