/**
 * BOLT 4 failure messages: `failure_code` (u16) ‖ the code's data ‖ an optional TLV stream, one table
 * on the wire engine. The top bits of a code are flags: BADONION (the onion was unreadable), PERM
 * (permanent), NODE (the node, not a channel), UPDATE (a `channel_update` is enclosed, with its 0x0102
 * type prefix — older nodes omitted it; this codec keeps the bytes as they came).
 *
 * ```ts
 * const reason = createFailure(peeled.sharedSecret, { code: FailureCode.FEE_INSUFFICIENT, htlcMsat, channelUpdate });
 * const msg = decodeFailureMessage(bytes); // msg.code === FailureCode.FEE_INSUFFICIENT → msg.htlcMsat
 * ```
 */
import { encodeBigSize } from '../wire/bigsize.js';
import { bytes16, field, fixed, message, MessageTable, u16, u32, u64, type Codec, type MessageOfTable } from '../wire/codec.js';
import { WireError } from '../wire/errors.js';
import type { TlvRecord } from '../wire/tlv.js';
import { OnionError } from './errors.js';

export const BADONION = 0x8000;
export const PERM = 0x4000;
export const NODE = 0x2000;
export const UPDATE = 0x1000;

/** Every `failure_code` BOLT 4 defines (and the two it retired, which old nodes still send). */
export const FailureCode = {
  INVALID_REALM: 0x4001, // PERM | 1
  TEMPORARY_NODE_FAILURE: 0x2002, // NODE | 2
  PERMANENT_NODE_FAILURE: 0x6002, // PERM | NODE | 2
  REQUIRED_NODE_FEATURE_MISSING: 0x6003, // PERM | NODE | 3
  INVALID_ONION_VERSION: 0xc004, // BADONION | PERM | 4
  INVALID_ONION_HMAC: 0xc005, // BADONION | PERM | 5
  INVALID_ONION_KEY: 0xc006, // BADONION | PERM | 6
  TEMPORARY_CHANNEL_FAILURE: 0x1007, // UPDATE | 7
  PERMANENT_CHANNEL_FAILURE: 0x4008, // PERM | 8
  REQUIRED_CHANNEL_FEATURE_MISSING: 0x4009, // PERM | 9
  UNKNOWN_NEXT_PEER: 0x400a, // PERM | 10
  AMOUNT_BELOW_MINIMUM: 0x100b, // UPDATE | 11
  FEE_INSUFFICIENT: 0x100c, // UPDATE | 12
  INCORRECT_CLTV_EXPIRY: 0x100d, // UPDATE | 13
  EXPIRY_TOO_SOON: 0x100e, // UPDATE | 14
  INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: 0x400f, // PERM | 15
  /** Retired (probing): replaced by incorrect_or_unknown_payment_details. */
  INCORRECT_PAYMENT_AMOUNT: 0x4010, // PERM | 16
  /** Retired (probing): replaced by incorrect_or_unknown_payment_details. */
  FINAL_EXPIRY_TOO_SOON: 0x0011, // 17
  FINAL_INCORRECT_CLTV_EXPIRY: 0x0012, // 18
  FINAL_INCORRECT_HTLC_AMOUNT: 0x0013, // 19
  CHANNEL_DISABLED: 0x1014, // UPDATE | 20
  EXPIRY_TOO_FAR: 0x0015, // 21
  INVALID_ONION_PAYLOAD: 0x4016, // PERM | 22
  MPP_TIMEOUT: 0x0017, // 23
  INVALID_ONION_BLINDING: 0xc018, // BADONION | PERM | 24
} as const;

const bigSize: Codec<bigint> = {
  read: (r, f) => r.bigSize(f),
  write: (w, v, f) => {
    if (typeof v !== 'bigint') throw w.invalid(f, `not a bigsize: ${String(v)}`);
    w.bytes(encodeBigSize(v), f);
  },
};

const sha256OfOnion = field('sha256OfOnion', fixed(32), 'sha256_of_onion');
const channelUpdate = field('channelUpdate', bytes16('len'), 'channel_update');
const htlcMsat = field('htlcMsat', u64, 'htlc_msat');
const cltvExpiry = field('cltvExpiry', u32, 'cltv_expiry');

/** Every failure message has the optional TLV stream (no record is defined yet: all go to extraTlvs). */
function failure<const N extends number, const F extends readonly ReturnType<typeof field>[]>(type: N, name: string, fields: F) {
  return message({ type, name, fields, tlvs: [] });
}

const C = FailureCode;
const SPECS = [
  failure(C.INVALID_REALM, 'invalid_realm', []),
  failure(C.TEMPORARY_NODE_FAILURE, 'temporary_node_failure', []),
  failure(C.PERMANENT_NODE_FAILURE, 'permanent_node_failure', []),
  failure(C.REQUIRED_NODE_FEATURE_MISSING, 'required_node_feature_missing', []),
  failure(C.INVALID_ONION_VERSION, 'invalid_onion_version', [sha256OfOnion]),
  failure(C.INVALID_ONION_HMAC, 'invalid_onion_hmac', [sha256OfOnion]),
  failure(C.INVALID_ONION_KEY, 'invalid_onion_key', [sha256OfOnion]),
  failure(C.TEMPORARY_CHANNEL_FAILURE, 'temporary_channel_failure', [channelUpdate]),
  failure(C.PERMANENT_CHANNEL_FAILURE, 'permanent_channel_failure', []),
  failure(C.REQUIRED_CHANNEL_FEATURE_MISSING, 'required_channel_feature_missing', []),
  failure(C.UNKNOWN_NEXT_PEER, 'unknown_next_peer', []),
  failure(C.AMOUNT_BELOW_MINIMUM, 'amount_below_minimum', [htlcMsat, channelUpdate]),
  failure(C.FEE_INSUFFICIENT, 'fee_insufficient', [htlcMsat, channelUpdate]),
  failure(C.INCORRECT_CLTV_EXPIRY, 'incorrect_cltv_expiry', [cltvExpiry, channelUpdate]),
  failure(C.EXPIRY_TOO_SOON, 'expiry_too_soon', [channelUpdate]),
  failure(C.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, 'incorrect_or_unknown_payment_details', [htlcMsat, field('height', u32)]),
  failure(C.INCORRECT_PAYMENT_AMOUNT, 'incorrect_payment_amount', []),
  failure(C.FINAL_EXPIRY_TOO_SOON, 'final_expiry_too_soon', []),
  failure(C.FINAL_INCORRECT_CLTV_EXPIRY, 'final_incorrect_cltv_expiry', [cltvExpiry]),
  failure(C.FINAL_INCORRECT_HTLC_AMOUNT, 'final_incorrect_htlc_amount', [field('incomingHtlcAmt', u64, 'incoming_htlc_amt')]),
  failure(C.CHANNEL_DISABLED, 'channel_disabled', [field('disabledFlags', u16, 'disabled_flags'), channelUpdate]),
  failure(C.EXPIRY_TOO_FAR, 'expiry_too_far', []),
  failure(C.INVALID_ONION_PAYLOAD, 'invalid_onion_payload', [field('tlvType', bigSize, 'type'), field('offset', u16)]),
  failure(C.MPP_TIMEOUT, 'mpp_timeout', []),
  failure(C.INVALID_ONION_BLINDING, 'invalid_onion_blinding', [sha256OfOnion]),
] as const;

const TABLE = new MessageTable<(typeof SPECS)[number]>(SPECS);
/** The same messages read without their TLV stream: BOLT 4 has the origin ignore extra bytes it cannot read. */
const LENIENT = new MessageTable<(typeof SPECS)[number]>(SPECS.map((s) => ({ ...s, tlvs: undefined })) as never);

type Wire = MessageOfTable<typeof TABLE>;
type WithCode<M> = M extends { type: infer Code } ? Omit<M, 'type' | 'extraTlvs'> & { code: Code; extraTlvs?: TlvRecord[] } : never;

/** A failure message of a known code, or an unknown code with its raw data. */
export type FailureMessage = WithCode<Wire> | { code: number; unknownCode: true; data: Buffer };

/** The spec name of a failure code (`fee_insufficient`), or `unknown_failure_0x…`. */
export function failureName(code: number): string {
  return TABLE.name(code) ?? `unknown_failure_0x${code.toString(16).padStart(4, '0')}`;
}

/** `failure_code ‖ data ‖ tlvs`. Throws OnionError INVALID_ARGUMENT for a malformed message. */
export function encodeFailureMessage(msg: FailureMessage): Buffer {
  const out = Buffer.alloc(2);
  if (typeof msg?.code !== 'number' || !Number.isInteger(msg.code) || msg.code < 0 || msg.code > 0xffff) {
    throw new OnionError('INVALID_ARGUMENT', `failure: bad failure code ${String(msg?.code)}`);
  }
  out.writeUInt16BE(msg.code);
  if ('unknownCode' in msg) return Buffer.concat([out, Buffer.from(msg.data)]);
  const { code, ...rest } = msg;
  try {
    return TABLE.encodeMessage({ type: code, extraTlvs: [], ...rest } as unknown as Wire);
  } catch (e) {
    if (e instanceof WireError) throw new OnionError('INVALID_ARGUMENT', `failure: ${e.message}`);
    throw e;
  }
}

/** A failure message from its bytes. Throws OnionError MALFORMED (too short, or the code's data truncated). */
export function decodeFailureMessage(bytes: Uint8Array): FailureMessage {
  if (bytes.length < 2) throw new OnionError('MALFORMED', `failure: ${bytes.length} bytes, no failure_code`);
  const code = (bytes[0]! << 8) | bytes[1]!;
  const data = bytes.subarray(2);
  if (!TABLE.has(code)) return { code, unknownCode: true, data: Buffer.from(data) };
  let wire: Wire;
  try {
    wire = TABLE.decode(code, data)!;
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    try {
      wire = LENIENT.decode(code, data)!;
    } catch (e2) {
      if (e2 instanceof WireError) throw new OnionError('MALFORMED', `failure: ${e2.message}`);
      throw e2;
    }
  }
  const { type, ...fields } = wire;
  return { code: type, ...fields } as FailureMessage;
}
