/**
 * BOLT 4 failure messages: every code's data round-trips through the codec; the two spec vectors
 * (`onion-error-test.json`, and the text's trace with a TLV extension padded to 1024 bytes) are
 * reproduced at each hop; the origin attributes a failure to the hop that created it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { attributeFailure, createFailure, failurePacket, wrapFailure } from '../../src/onion/failure-onion.js';
import { decodeFailureMessage, encodeFailureMessage, FailureCode, failureName, type FailureMessage } from '../../src/onion/failure.js';
import { deriveKey, senderSecrets } from '../../src/onion/keys.js';
import { OnionError } from '../../src/onion/errors.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { hex, loadVectors } from '../wire/helpers.js';

interface ErrorVector {
  generate: {
    session_key: string;
    failure_message: string;
    hops: { pubkey: string; hop_shared_secret: string; ammag_key: string; um_key?: string; payload?: string }[];
  };
  errorpacket: string;
}

interface TraceVector {
  session_key: string;
  pubkeys: string[];
  failure_source: number;
  encoded_failure_message: string;
  pad_to: number;
  um_key: string;
  raw_error_packet: string;
  hops: { node: number; shared_secret: string; ammag_key: string; error_packet: string }[];
}

describe('BOLT 4 onion-error-test.json (temporary_node_failure from hop 4)', () => {
  const v = loadVectors<ErrorVector>('bolt04-onion-error.json');
  const { sharedSecrets } = senderSecrets(hex(v.generate.session_key), v.generate.hops.map((h) => hex(h.pubkey)));

  it('the route gives the hops shared secrets and ammag keys of the vector', () => {
    v.generate.hops.forEach((h, i) => {
      assert.equal(sharedSecrets[i]!.toString('hex'), h.hop_shared_secret);
      assert.equal(deriveKey('ammag', sharedSecrets[i]!).toString('hex'), h.ammag_key);
    });
    assert.equal(deriveKey('um', sharedSecrets[4]!).toString('hex'), v.generate.hops[4]!.um_key);
  });

  it('hop 4 creates the packet (padded to 256), each hop obfuscates it, the origin sees the vector', () => {
    const raw = failurePacket(sharedSecrets[4]!, hex(v.generate.failure_message));
    assert.equal(raw.subarray(32).toString('hex'), v.generate.hops[4]!.payload);
    let packet = createFailure(sharedSecrets[4]!, { code: FailureCode.TEMPORARY_NODE_FAILURE });
    for (let i = 3; i >= 0; i--) packet = wrapFailure(sharedSecrets[i]!, packet);
    assert.equal(packet.toString('hex'), v.errorpacket);
  });

  it('the origin attributes it to hop 4 and decodes temporary_node_failure', () => {
    const got = attributeFailure(sharedSecrets, hex(v.errorpacket));
    assert.equal(got.hopIndex, 4);
    assert.equal(got.failure?.code, FailureCode.TEMPORARY_NODE_FAILURE);
    assert.equal(failureName(got.failure!.code), 'temporary_node_failure');
  });
});

describe('BOLT 4 returning-errors trace (incorrect_or_unknown_payment_details with a TLV, padded to 1024)', () => {
  const v = loadVectors<TraceVector>('bolt04-failure-trace.json');
  const { sharedSecrets } = senderSecrets(hex(v.session_key), v.pubkeys.map(hex));
  const failure: FailureMessage = {
    code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
    htlcMsat: 100n,
    height: 800000,
    extraTlvs: [{ type: 34001n, value: Buffer.alloc(300, 0x80) }],
  };

  it('encodes the failure message of the vector, and decodes it back', () => {
    assert.equal(encodeFailureMessage(failure).toString('hex'), v.encoded_failure_message);
    assert.deepEqual(decodeFailureMessage(hex(v.encoded_failure_message)), failure);
  });

  it('the raw packet (um key, HMAC, padding) and the packet as each node forwards it', () => {
    const src = v.failure_source;
    assert.equal(deriveKey('um', sharedSecrets[src]!).toString('hex'), v.um_key);
    assert.equal(failurePacket(sharedSecrets[src]!, failure, v.pad_to).toString('hex'), v.raw_error_packet);
    let packet: Buffer | undefined;
    for (const h of v.hops) {
      assert.equal(sharedSecrets[h.node]!.toString('hex'), h.shared_secret);
      assert.equal(deriveKey('ammag', sharedSecrets[h.node]!).toString('hex'), h.ammag_key);
      packet = packet === undefined ? createFailure(sharedSecrets[h.node]!, failure, v.pad_to) : wrapFailure(sharedSecrets[h.node]!, packet);
      assert.equal(packet.toString('hex'), h.error_packet, `error packet for node ${h.node}`);
    }
  });

  it('the origin attributes the final packet to node 4 with the TLV record', () => {
    const got = attributeFailure(sharedSecrets, hex(v.hops.at(-1)!.error_packet));
    assert.equal(got.hopIndex, v.failure_source);
    assert.deepEqual(got.failure, failure);
  });
});

const update = Buffer.concat([Buffer.from([0x01, 0x02]), randomBytes(128)]);
const sha = randomBytes(32);
/** One message of every code BOLT 4 defines, with its data. */
const EVERY: FailureMessage[] = [
  { code: FailureCode.INVALID_REALM },
  { code: FailureCode.TEMPORARY_NODE_FAILURE },
  { code: FailureCode.PERMANENT_NODE_FAILURE },
  { code: FailureCode.REQUIRED_NODE_FEATURE_MISSING },
  { code: FailureCode.INVALID_ONION_VERSION, sha256OfOnion: sha },
  { code: FailureCode.INVALID_ONION_HMAC, sha256OfOnion: sha },
  { code: FailureCode.INVALID_ONION_KEY, sha256OfOnion: sha },
  { code: FailureCode.TEMPORARY_CHANNEL_FAILURE, channelUpdate: update },
  { code: FailureCode.PERMANENT_CHANNEL_FAILURE },
  { code: FailureCode.REQUIRED_CHANNEL_FEATURE_MISSING },
  { code: FailureCode.UNKNOWN_NEXT_PEER },
  { code: FailureCode.AMOUNT_BELOW_MINIMUM, htlcMsat: 999n, channelUpdate: update },
  { code: FailureCode.FEE_INSUFFICIENT, htlcMsat: 1_000_000n, channelUpdate: update },
  { code: FailureCode.INCORRECT_CLTV_EXPIRY, cltvExpiry: 800_144, channelUpdate: update },
  { code: FailureCode.EXPIRY_TOO_SOON, channelUpdate: update },
  { code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: 5n, height: 101 },
  { code: FailureCode.INCORRECT_PAYMENT_AMOUNT },
  { code: FailureCode.FINAL_EXPIRY_TOO_SOON },
  { code: FailureCode.FINAL_INCORRECT_CLTV_EXPIRY, cltvExpiry: 7 },
  { code: FailureCode.FINAL_INCORRECT_HTLC_AMOUNT, incomingHtlcAmt: 42n },
  { code: FailureCode.CHANNEL_DISABLED, disabledFlags: 0, channelUpdate: update },
  { code: FailureCode.EXPIRY_TOO_FAR },
  { code: FailureCode.INVALID_ONION_PAYLOAD, tlvType: 5482373484n, offset: 17 },
  { code: FailureCode.MPP_TIMEOUT },
  { code: FailureCode.INVALID_ONION_BLINDING, sha256OfOnion: sha },
];

describe('failure messages: every code', () => {
  it('lists every code of FailureCode once', () => {
    assert.deepEqual(EVERY.map((m) => m.code).sort(), Object.values(FailureCode).sort());
  });

  for (const msg of EVERY) {
    it(`${failureName(msg.code)} round-trips, and reaches the origin from any hop of a 3-hop route`, () => {
      const bytes = encodeFailureMessage(msg);
      assert.equal(bytes.readUInt16BE(0), msg.code);
      assert.deepEqual(decodeFailureMessage(bytes), { ...msg, extraTlvs: [] });
      const { sharedSecrets } = senderSecrets(randomBytes(32), [1, 2, 3].map(() => secpPub()));
      for (let erring = 0; erring < 3; erring++) {
        let packet = createFailure(sharedSecrets[erring]!, msg);
        assert.ok(packet.length >= 32 + 4 + 256);
        for (let i = erring - 1; i >= 0; i--) packet = wrapFailure(sharedSecrets[i]!, packet);
        const got = attributeFailure(sharedSecrets, packet);
        assert.equal(got.hopIndex, erring);
        assert.deepEqual(got.failure, { ...msg, extraTlvs: [] });
      }
    });
  }

  it('an unknown code keeps its data; truncated data is MALFORMED; a corrupted packet is UNATTRIBUTABLE', () => {
    assert.deepEqual(decodeFailureMessage(hex('0099abcd')), { code: 0x99, unknownCode: true, data: hex('abcd') });
    assert.throws(() => decodeFailureMessage(hex('100c0000')), (e) => e instanceof OnionError && e.code === 'MALFORMED');
    const { sharedSecrets } = senderSecrets(randomBytes(32), [secpPub(), secpPub()]);
    const packet = createFailure(sharedSecrets[1]!, { code: FailureCode.MPP_TIMEOUT });
    packet[40] ^= 1;
    assert.throws(() => attributeFailure(sharedSecrets, wrapFailure(sharedSecrets[0]!, packet)), (e) => e instanceof OnionError && e.code === 'UNATTRIBUTABLE');
  });

  it('extra bytes that are no TLV stream are ignored, as BOLT 4 asks of the origin', () => {
    assert.deepEqual(decodeFailureMessage(hex('2002ff')), { code: FailureCode.TEMPORARY_NODE_FAILURE });
  });
});

function secpPub(): Buffer {
  return secp.publicKey(randomBytes(32));
}
