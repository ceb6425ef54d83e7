/**
 * BOLT 4 Sphinx packets: building the 1366-byte `onion_routing_packet` of `update_add_htlc` for a route,
 * and peeling one layer of it at a hop.
 *
 * Packet: `version` (0) ‖ `public_key` (33, the hop's ephemeral key) ‖ `hop_payloads` (1300) ‖ `hmac` (32).
 * Each hop payload is `BigSize length ‖ TLV stream ‖ next hop's HMAC`; the final hop sees an all-zero
 * next HMAC. The associated data is the HTLC's payment hash.
 *
 * Sender:
 * ```ts
 * const { packet, sharedSecrets } = createOnion({
 *   sessionKey: randomBytes(32),
 *   associatedData: paymentHash,
 *   hops: route.map((h) => ({ nodeId: h.nodeId, payload: encodeHopPayload(h.payload) })),
 * });
 * // keep sharedSecrets (or the session key) with the payment, to attribute a failure coming back:
 * const failure = attributeFailure(sharedSecrets, updateFailHtlc.reason);
 * ```
 * Receiving hop (channel layer, on `update_add_htlc`):
 * ```ts
 * const peeled = peelOnion(htlc.onionRoutingPacket, nodePrivateKey, htlc.paymentHash);
 * switch (peeled.kind) {
 *   case 'malformed': // update_fail_malformed_htlc { sha256OfOnion, failureCode }
 *   case 'invalid-payload': // update_fail_htlc { reason: createFailure(peeled.sharedSecret, peeled.failure) }
 *   case 'forward': // check peeled.payload against the policy, add peeled.nextOnion downstream
 *   case 'final': // settle or fail against the invoice
 * }
 * ```
 */
import { hmacSha256, sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { decodeBigSize, encodeBigSize } from '../wire/bigsize.js';
import { WireError } from '../wire/errors.js';
import { OnionError } from './errors.js';
import { FailureCode, type FailureMessage } from './failure.js';
import { blindingFactor, cipherStream, deriveKey, macEquals, senderSecrets, xorInto } from './keys.js';
import { checkHopPayload, decodeHopPayload, type HopPayload } from './payload.js';

export const ONION_VERSION = 0;
export const HOP_PAYLOADS_SIZE = 1300;
const HMAC_SIZE = 32;
export const ONION_PACKET_SIZE = 1 + 33 + HOP_PAYLOADS_SIZE + HMAC_SIZE;

export interface OnionHop {
  /** The hop's node id (33-byte compressed key). */
  nodeId: Uint8Array;
  /** The hop's TLV stream (see `encodeHopPayload`), without its length prefix. */
  payload: Uint8Array;
}

export interface CreateOnionArgs {
  /** 32 random bytes, never reused: the first hop's ephemeral private key. */
  sessionKey: Uint8Array;
  hops: readonly OnionHop[];
  /** The payment hash of the HTLC carrying the onion. */
  associatedData: Uint8Array;
}

/** The onion for a route, and the shared secret of each hop (in route order) to decode failures with. */
export function createOnion({ sessionKey, hops, associatedData }: CreateOnionArgs): { packet: Buffer; sharedSecrets: Buffer[] } {
  if (hops.length === 0) throw new OnionError('INVALID_ARGUMENT', 'onion: a route needs at least one hop');
  const framed = hops.map((h, i) => {
    if (!(h.payload instanceof Uint8Array) || h.payload.length === 0) {
      throw new OnionError('INVALID_ARGUMENT', `onion: hop ${i} has no payload`);
    }
    return Buffer.concat([encodeBigSize(h.payload.length), h.payload]);
  });
  const sizes = framed.map((p) => p.length + HMAC_SIZE);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > HOP_PAYLOADS_SIZE) {
    throw new OnionError('INVALID_ARGUMENT', `onion: hop payloads take ${total} bytes, more than ${HOP_PAYLOADS_SIZE}`);
  }
  const { ephemeralKey, sharedSecrets } = senderSecrets(sessionKey, hops.map((h) => h.nodeId));
  const rhoKeys = sharedSecrets.map((ss) => deriveKey('rho', ss));
  const filler = generateFiller(rhoKeys, sizes);

  let payloads = cipherStream(deriveKey('pad', sessionKey), HOP_PAYLOADS_SIZE);
  let nextHmac: Buffer = Buffer.alloc(HMAC_SIZE);
  for (let i = hops.length - 1; i >= 0; i--) {
    const shifted = Buffer.concat([framed[i]!, nextHmac, payloads.subarray(0, HOP_PAYLOADS_SIZE - sizes[i]!)]);
    xorInto(shifted, cipherStream(rhoKeys[i]!, HOP_PAYLOADS_SIZE));
    if (i === hops.length - 1) filler.copy(shifted, HOP_PAYLOADS_SIZE - filler.length);
    payloads = shifted;
    nextHmac = hmacSha256(deriveKey('mu', sharedSecrets[i]!), payloads, associatedData);
  }
  const packet = Buffer.concat([Buffer.from([ONION_VERSION]), ephemeralKey, payloads, nextHmac]);
  return { packet, sharedSecrets };
}

/**
 * The bytes that hops 0…n-2 leave at the end of the last hop's payloads as each shifts its own payload
 * out: what each would generate from its `rho` stream past the 1300 bytes, accumulated.
 */
function generateFiller(rhoKeys: readonly Buffer[], sizes: readonly number[]): Buffer {
  let filler = Buffer.alloc(0);
  for (let i = 0; i < sizes.length - 1; i++) {
    filler = Buffer.concat([filler, Buffer.alloc(sizes[i]!)]);
    const stream = cipherStream(rhoKeys[i]!, HOP_PAYLOADS_SIZE + sizes[i]!);
    xorInto(filler, stream.subarray(stream.length - filler.length));
  }
  return filler;
}

/** The BADONION codes a hop answers with `update_fail_malformed_htlc`. */
export type BadOnionCode =
  | typeof FailureCode.INVALID_ONION_VERSION
  | typeof FailureCode.INVALID_ONION_HMAC
  | typeof FailureCode.INVALID_ONION_KEY
  /** Any failure inside a blinded path after its introduction node (route blinding, `blinded-hop.ts`). */
  | typeof FailureCode.INVALID_ONION_BLINDING;

export type PeeledOnion =
  /** Unreadable: no shared secret to encrypt a failure with, so `update_fail_malformed_htlc`. */
  | { kind: 'malformed'; failureCode: BadOnionCode; sha256OfOnion: Buffer }
  /** Authentic, but the payload is unusable: fail back with `failure`, encrypted with `sharedSecret`. */
  | { kind: 'invalid-payload'; sharedSecret: Buffer; failure: FailureMessage }
  /** Forward `nextOnion` to the channel `payload.shortChannelId`. */
  | { kind: 'forward'; sharedSecret: Buffer; payload: HopPayload; nextOnion: Buffer }
  /** We are the recipient. */
  | { kind: 'final'; sharedSecret: Buffer; payload: HopPayload };

/**
 * Peel one layer of `packet` with our node key; `associatedData` is the HTLC's payment hash. Total: any
 * bytes give a result, never an exception (a wrong-sized packet is `invalid_onion_version`, as no
 * version of this size exists).
 */
export function peelOnion(packet: Uint8Array, nodeKey: Uint8Array, associatedData: Uint8Array): PeeledOnion {
  const malformed = (failureCode: BadOnionCode): PeeledOnion => ({ kind: 'malformed', failureCode, sha256OfOnion: sha256(packet) });
  if (packet.length !== ONION_PACKET_SIZE || packet[0] !== ONION_VERSION) return malformed(FailureCode.INVALID_ONION_VERSION);
  const ephemeralKey = Buffer.from(packet.subarray(1, 34));
  const payloads = packet.subarray(34, 34 + HOP_PAYLOADS_SIZE);
  const hmac = packet.subarray(34 + HOP_PAYLOADS_SIZE);
  let sharedSecret: Buffer;
  try {
    sharedSecret = secp.ecdh(nodeKey, ephemeralKey);
  } catch {
    return malformed(FailureCode.INVALID_ONION_KEY);
  }
  if (!macEquals(hmacSha256(deriveKey('mu', sharedSecret), payloads, associatedData), hmac)) {
    return malformed(FailureCode.INVALID_ONION_HMAC);
  }
  const clear = Buffer.concat([payloads, Buffer.alloc(HOP_PAYLOADS_SIZE)]);
  xorInto(clear, cipherStream(deriveKey('rho', sharedSecret), 2 * HOP_PAYLOADS_SIZE));

  const invalid = (type: bigint, offset: number): PeeledOnion => ({
    kind: 'invalid-payload',
    sharedSecret,
    failure: { code: FailureCode.INVALID_ONION_PAYLOAD, tlvType: type, offset },
  });
  let length: bigint;
  let prefix: number;
  try {
    ({ value: length, size: prefix } = decodeBigSize(clear));
  } catch (e) {
    if (e instanceof WireError) return invalid(0n, 0);
    throw e;
  }
  // A zero length was the retired fixed-size `hop_data`; a payload must leave room for the next HMAC.
  if (length === 0n || BigInt(prefix) + length + BigInt(HMAC_SIZE) > BigInt(HOP_PAYLOADS_SIZE)) return invalid(0n, 0);
  const end = prefix + Number(length);
  const nextHmac = clear.subarray(end, end + HMAC_SIZE);
  const isFinal = nextHmac.every((b) => b === 0);
  const decoded = decodeHopPayload(clear.subarray(prefix, end));
  if (!decoded.ok) return invalid(decoded.type, decoded.offset + prefix);
  const missing = checkHopPayload(decoded.payload, isFinal);
  if (missing !== undefined) return invalid(missing.type, missing.offset);
  if (isFinal) return { kind: 'final', sharedSecret, payload: decoded.payload };

  let nextEphemeral: Buffer;
  try {
    nextEphemeral = secp.pointMultiply(ephemeralKey, blindingFactor(ephemeralKey, sharedSecret));
  } catch {
    // A blinding factor of zero or past the curve order (probability about 2^-128): no next key exists.
    return malformed(FailureCode.INVALID_ONION_KEY);
  }
  const nextOnion = Buffer.concat([
    Buffer.from([ONION_VERSION]),
    nextEphemeral,
    clear.subarray(end + HMAC_SIZE, end + HMAC_SIZE + HOP_PAYLOADS_SIZE),
    nextHmac,
  ]);
  return { kind: 'forward', sharedSecret, payload: decoded.payload, nextOnion };
}
