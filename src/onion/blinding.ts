/**
 * BOLT 4 route blinding, pure functions: the `encrypted_data_tlv` a recipient writes for each node of a
 * blinded path, the path's construction (blinded node ids, `path_key`s, each hop's data sealed with
 * ChaCha20-Poly1305 under its `rho`, an all-zero nonce and no associated data), and a node's side:
 * its blinded private key for the onion, the data opened, the next `path_key`.
 *
 * Recipient data (`encrypted_data_tlv`), one table on the wire engine:
 *
 * | type | field | value |
 * |---|---|---|
 * | 1 | `padding` | bytes |
 * | 2 | `short_channel_id` | 8 bytes |
 * | 4 | `next_node_id` | point |
 * | 6 | `path_id` | bytes |
 * | 8 | `next_path_key_override` | point |
 * | 10 | `payment_relay` | u16 `cltv_expiry_delta`, u32 `fee_proportional_millionths`, tu32 `fee_base_msat` |
 * | 12 | `payment_constraints` | u32 `max_cltv_expiry`, tu64 `htlc_minimum_msat` |
 * | 14 | `allowed_features` | bytes |
 *
 * ```ts
 * const path = createBlindedPath(randomBytes(32), [{ nodeId: peer, data: encodeRecipientData({ shortChannelId, paymentRelay, paymentConstraints }) },
 *                                               { nodeId: us, data: encodeRecipientData({ pathId }) }]);
 * // at a node of the path, with the path_key it was given:
 * const opened = openRecipientData(nodeKey, pathKey, encryptedRecipientData); // data, nextPathKey
 * const peeled = peelOnion(onion, blindedNodeKey(nodeKey, pathKey), paymentHash);
 * ```
 */
import { chachaOpen, chachaSeal } from '../crypto/aead.js';
import { hmacSha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { fixed, message, MessageTable, rest, tlv, u16, u32, type Codec, type MessageOf } from '../wire/codec.js';
import { decodeTu32, decodeTu64, encodeTu32, encodeTu64 } from '../wire/tlv.js';
import { OnionError, wireAsOnion } from './errors.js';
import { blindingFactor, deriveKey, multiplyScalars } from './keys.js';
import { shortChannelId } from './scid.js';

export interface PaymentRelay {
  cltvExpiryDelta: number;
  feeProportionalMillionths: number;
  feeBaseMsat: number;
}

export interface PaymentConstraints {
  maxCltvExpiry: number;
  htlcMinimumMsat: bigint;
}

const paymentRelay: Codec<PaymentRelay> = {
  read: (r, f) => ({
    cltvExpiryDelta: u16.read(r, `${f} cltv_expiry_delta`),
    feeProportionalMillionths: u32.read(r, `${f} fee_proportional_millionths`),
    feeBaseMsat: decodeTu32(r.rest()),
  }),
  write: (w, v, f) => {
    u16.write(w, v?.cltvExpiryDelta, `${f} cltv_expiry_delta`);
    u32.write(w, v?.feeProportionalMillionths, `${f} fee_proportional_millionths`);
    w.bytes(encodeTu32(v?.feeBaseMsat), `${f} fee_base_msat`);
  },
};

const paymentConstraints: Codec<PaymentConstraints> = {
  read: (r, f) => ({ maxCltvExpiry: u32.read(r, `${f} max_cltv_expiry`), htlcMinimumMsat: decodeTu64(r.rest()) }),
  write: (w, v, f) => {
    u32.write(w, v?.maxCltvExpiry, `${f} max_cltv_expiry`);
    w.bytes(encodeTu64(v?.htlcMinimumMsat), `${f} htlc_minimum_msat`);
  },
};

const RECIPIENT_DATA = message({
  // A TLV stream of its own, not a message; the engine's table needs a type, and 0 is never sent.
  type: 0,
  name: 'encrypted_data_tlv',
  fields: [],
  tlvs: [
    tlv(1n, 'padding', rest),
    tlv(2n, 'shortChannelId', shortChannelId, { length: 8 }),
    tlv(4n, 'nextNodeId', fixed(33), { name: 'next_node_id', length: 33 }),
    tlv(6n, 'pathId', rest),
    tlv(8n, 'nextPathKeyOverride', fixed(33), { length: 33 }),
    tlv(10n, 'paymentRelay', paymentRelay),
    tlv(12n, 'paymentConstraints', paymentConstraints),
    tlv(14n, 'allowedFeatures', rest),
  ],
});

const TABLE = new MessageTable([RECIPIENT_DATA]);

/** The decoded `encrypted_data_tlv` (every field optional; unknown odd records in `extraTlvs`). */
export type RecipientData = Omit<MessageOf<typeof RECIPIENT_DATA>, 'type'>;

/** The TLV stream of recipient data. Throws OnionError INVALID_ARGUMENT. */
export function encodeRecipientData(d: Partial<RecipientData>): Buffer {
  return wireAsOnion('INVALID_ARGUMENT', 'blinding', () => TABLE.encode({ type: 0, extraTlvs: [], ...d }));
}

/** Recipient data from its TLV stream. Throws OnionError MALFORMED (a bad stream, an unknown even record, a bad value). */
export function decodeRecipientData(stream: Uint8Array): RecipientData {
  const { type: _type, ...d } = wireAsOnion('MALFORMED', 'blinding', () => TABLE.decode(0, stream)!);
  return d;
}

const BLINDED_NODE_ID = Buffer.from('blinded_node_id');
const ZERO_NONCE = Buffer.alloc(12);
const NO_AD = Buffer.alloc(0);

/** `HMAC256("blinded_node_id", ss)`: the tweak between a node id and its blinded id. */
function blindingTweak(sharedSecret: Uint8Array): Buffer {
  return hmacSha256(BLINDED_NODE_ID, sharedSecret);
}

/** One hop of a blinded path as the recipient describes it: its real node id and its recipient data (encoded). */
export interface BlindingHop {
  nodeId: Uint8Array;
  data: Uint8Array;
}

/** What the recipient hands the payer (a BOLT 12 `blinded_path`). */
export interface BlindedPath {
  introductionNodeId: Buffer;
  /** `E_0`, the first `path_key` (the spec's older name: `blinding`). */
  pathKey: Buffer;
  hops: { blindedNodeId: Buffer; encryptedData: Buffer }[];
}

/** The per-hop values of a path's construction (tests read them against the spec's vectors). */
export interface BlindingStep {
  /** `e_i`: secret, only the path's creator knows it. */
  ephemeralPrivateKey: Buffer;
  ephemeralKey: Buffer;
  sharedSecret: Buffer;
  rho: Buffer;
  blindedNodeId: Buffer;
  encryptedData: Buffer;
}

/**
 * A blinded path through `hops` (the introduction node first, the recipient last), from `sessionKey`
 * (`e_0`, 32 random bytes). Throws OnionError INVALID_ARGUMENT for a bad key or node id.
 */
export function createBlindedPath(sessionKey: Uint8Array, hops: readonly BlindingHop[]): BlindedPath & { steps: BlindingStep[] } {
  if (hops.length === 0) throw new OnionError('INVALID_ARGUMENT', 'blinding: a path needs at least one hop');
  if (!secp.isPrivateKey(sessionKey)) throw new OnionError('INVALID_ARGUMENT', 'blinding: invalid session key');
  let e: Buffer = Buffer.from(sessionKey);
  let E = secp.publicKey(e);
  const steps: BlindingStep[] = [];
  hops.forEach((hop, i) => {
    let ss: Buffer;
    let blindedNodeId: Buffer;
    try {
      ss = secp.ecdh(e, hop.nodeId);
      blindedNodeId = secp.pointMultiply(hop.nodeId, blindingTweak(ss));
    } catch {
      throw new OnionError('INVALID_ARGUMENT', `blinding: hop ${i} node id is not a valid public key`);
    }
    const rho = deriveKey('rho', ss);
    steps.push({ ephemeralPrivateKey: e, ephemeralKey: E, sharedSecret: ss, rho, blindedNodeId, encryptedData: chachaSeal(rho, ZERO_NONCE, NO_AD, hop.data) });
    const factor = blindingFactor(E, ss);
    e = multiplyScalars(e, factor);
    E = secp.publicKey(e);
  });
  return {
    introductionNodeId: Buffer.from(hops[0]!.nodeId),
    pathKey: steps[0]!.ephemeralKey,
    hops: steps.map((s) => ({ blindedNodeId: s.blindedNodeId, encryptedData: s.encryptedData })),
    steps,
  };
}

/** A node's blinded private key `b_i = HMAC256("blinded_node_id", ss_i)·k_i` for `path_key` E_i: the key its onion layer is for. Throws OnionError INVALID_ARGUMENT for a bad point. */
export function blindedNodeKey(nodeKey: Uint8Array, pathKey: Uint8Array): Buffer {
  const ss = sharedSecretOf(nodeKey, pathKey);
  return multiplyScalars(nodeKey, blindingTweak(ss));
}

function sharedSecretOf(nodeKey: Uint8Array, pathKey: Uint8Array): Buffer {
  try {
    return secp.ecdh(nodeKey, pathKey);
  } catch {
    throw new OnionError('INVALID_ARGUMENT', 'blinding: path_key is not a valid public key');
  }
}

/**
 * A node's recipient data opened with the `path_key` it was given: the data, and the `path_key` for
 * the next node (`next_path_key_override` if the data sets one, else `SHA256(E_i ‖ ss_i)·E_i`). Throws
 * OnionError INVALID_ARGUMENT (a bad point) or MALFORMED (the data does not decrypt or decode).
 */
export function openRecipientData(
  nodeKey: Uint8Array,
  pathKey: Uint8Array,
  encryptedData: Uint8Array,
): { data: RecipientData; plaintext: Buffer; sharedSecret: Buffer; nextPathKey: Buffer } {
  const ss = sharedSecretOf(nodeKey, pathKey);
  let plaintext: Buffer;
  try {
    plaintext = chachaOpen(deriveKey('rho', ss), ZERO_NONCE, NO_AD, encryptedData, 'blinding: encrypted_recipient_data');
  } catch {
    throw new OnionError('MALFORMED', 'blinding: encrypted_recipient_data does not decrypt');
  }
  const data = decodeRecipientData(plaintext);
  return { data, plaintext, sharedSecret: ss, nextPathKey: data.nextPathKeyOverride ?? nextPathKey(pathKey, ss) };
}

/** `E_{i+1} = SHA256(E_i ‖ ss_i)·E_i`. */
export function nextPathKey(pathKey: Uint8Array, sharedSecret: Uint8Array): Buffer {
  try {
    return secp.pointMultiply(pathKey, blindingFactor(pathKey, sharedSecret));
  } catch {
    throw new OnionError('INVALID_ARGUMENT', 'blinding: no next path_key (a factor of zero)');
  }
}

/**
 * The amount a blinded hop forwards for `amountMsat` received (BOLT 4: the fee taken from what arrives,
 * rounded so the sender never pays less than `payment_relay` asks); undefined when the amount does not
 * cover the base fee.
 */
export function blindedAmountToForward(amountMsat: bigint, relay: PaymentRelay): bigint | undefined {
  const base = BigInt(relay.feeBaseMsat);
  if (amountMsat < base) return undefined;
  const ppm = BigInt(relay.feeProportionalMillionths);
  return ((amountMsat - base) * 1_000_000n + 1_000_000n + ppm - 1n) / (1_000_000n + ppm);
}

/**
 * The fees and CLTV delta a payer pays for a whole blinded path (BOLT 12's `blinded_payinfo`): the
 * relays' `payment_relay`s folded from the recipient back, each fee rounded up so that paying the
 * aggregate always covers what every relay takes with BOLT 4's formula.
 */
export function aggregatePaymentRelay(relays: readonly PaymentRelay[]): PaymentRelay {
  const M = 1_000_000n;
  const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;
  let base = 0n;
  let ppm = 0n;
  let cltv = 0;
  for (const r of [...relays].reverse()) {
    const p = BigInt(r.feeProportionalMillionths);
    base = ceilDiv(BigInt(r.feeBaseMsat) * M + base * (M + p), M);
    ppm = ceilDiv((ppm + p) * M + ppm * p, M);
    cltv += r.cltvExpiryDelta;
  }
  return { feeBaseMsat: Number(base), feeProportionalMillionths: Number(ppm), cltvExpiryDelta: cltv };
}
