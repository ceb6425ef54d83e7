/**
 * BOLT 4 hop payloads (`payload` TLV stream), one table on the wire engine:
 *
 * | type | field | value |
 * |---|---|---|
 * | 2 | `amt_to_forward` | tu64 |
 * | 4 | `outgoing_cltv_value` | tu32 |
 * | 6 | `short_channel_id` | 8 bytes (as `BLOCKxTXxOUT`) |
 * | 8 | `payment_data` | `payment_secret` (32 bytes), `total_msat` (tu64) |
 * | 10 | `encrypted_recipient_data` (route blinding) | bytes |
 * | 12 | `current_path_key` (route blinding: we are the introduction node) | point |
 * | 16 | `payment_metadata` | bytes |
 * | 18 | `total_amount_msat` (route blinding's final hop) | tu64 |
 * | 5482373484 | keysend preimage (LND, CLN, LDK; not in BOLT 4) | 32 bytes |
 *
 * The keysend type is even, so it must be known here or every keysend would be refused as an unknown
 * even record; whether to accept one is the receiver's decision. Unknown odd records stay in
 * `extraTlvs` in stream order. A payload with `encrypted_recipient_data` is a hop of a blinded path: what it
 * must and must not carry is `blinded-hop.ts`'s check, not {@link checkHopPayload}'s.
 */
import { bigSizeLength } from '../wire/bigsize.js';
import { fixed, message, MessageTable, rest, tlv, type Codec, type MessageOf } from '../wire/codec.js';
import { WireError } from '../wire/errors.js';
import { Reader } from '../wire/reader.js';
import { decodeTlvStream, decodeTu32, decodeTu64, encodeTu32, encodeTu64 } from '../wire/tlv.js';
import { wireAsOnion } from './errors.js';
import { shortChannelId } from './scid.js';

/** The keysend record (LND, CLN, LDK): the payment preimage in the final hop's payload. */
export const KEYSEND_TLV_TYPE = 5482373484n;

const tu64: Codec<bigint> = {
  read: (r) => decodeTu64(r.rest()),
  write: (w, v, f) => void w.bytes(encodeTu64(v), f),
};

const tu32: Codec<number> = {
  read: (r) => decodeTu32(r.rest()),
  write: (w, v, f) => void w.bytes(encodeTu32(v), f),
};

export interface PaymentData {
  paymentSecret: Buffer;
  totalMsat: bigint;
}

const paymentData: Codec<PaymentData> = {
  read: (r, f) => ({ paymentSecret: fixed(32).read(r, `${f} payment_secret`), totalMsat: tu64.read(r, `${f} total_msat`) }),
  write: (w, v, f) => {
    fixed(32).write(w, v?.paymentSecret, `${f} payment_secret`);
    tu64.write(w, v?.totalMsat, `${f} total_msat`);
  },
};

const HOP_PAYLOAD = message({
  // Hop payloads have no message type; the engine's table needs one, and 0 is never sent.
  type: 0,
  name: 'payload',
  fields: [],
  tlvs: [
    tlv(2n, 'amtToForward', tu64, { name: 'amt_to_forward' }),
    tlv(4n, 'outgoingCltvValue', tu32, { name: 'outgoing_cltv_value' }),
    tlv(6n, 'shortChannelId', shortChannelId, { length: 8 }),
    tlv(8n, 'paymentData', paymentData),
    tlv(10n, 'encryptedRecipientData', rest),
    tlv(12n, 'currentPathKey', fixed(33), { name: 'current_path_key', length: 33 }),
    tlv(16n, 'paymentMetadata', rest),
    tlv(18n, 'totalAmountMsat', tu64, { name: 'total_amount_msat' }),
    tlv(KEYSEND_TLV_TYPE, 'keysendPreimage', fixed(32), { name: 'keysend_preimage', length: 32 }),
  ],
});

const TABLE = new MessageTable([HOP_PAYLOAD]);

/** A decoded hop payload (every field optional on the wire; {@link checkHopPayload} says what a hop needs). */
export type HopPayload = Omit<MessageOf<typeof HOP_PAYLOAD>, 'type'>;

/** The TLV stream of a hop payload (without its BigSize length prefix). Throws OnionError INVALID_ARGUMENT. */
export function encodeHopPayload(p: Partial<HopPayload>): Buffer {
  return wireAsOnion('INVALID_ARGUMENT', 'onion', () => TABLE.encode({ type: 0, extraTlvs: [], ...p }));
}

/** What `invalid_onion_payload` reports: the offending TLV type and its byte offset in the payload. */
export interface PayloadProblem {
  type: bigint;
  offset: number;
}

/** A hop payload's TLV stream decoded, or the problem an `invalid_onion_payload` failure reports. */
export function decodeHopPayload(stream: Uint8Array): { ok: true; payload: HopPayload } | ({ ok: false } & PayloadProblem) {
  try {
    const { type: _type, ...payload } = TABLE.decode(0, stream)!;
    return { ok: true, payload };
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
    return { ok: false, ...locateProblem(stream) };
  }
}

/** The first record that fails on its own (an unknown even type or a bad value); type 0 for a broken stream. */
function locateProblem(stream: Uint8Array): PayloadProblem {
  let records;
  try {
    records = decodeTlvStream(stream, () => true);
  } catch {
    return { type: 0n, offset: 0 };
  }
  let offset = 0;
  for (const rec of records) {
    const known = HOP_PAYLOAD.tlvs.find((t) => t.tlvType === rec.type);
    let bad = known === undefined ? (rec.type & 1n) === 0n : known.length !== undefined && known.length !== rec.value.length;
    if (!bad && known !== undefined) {
      try {
        const r = new Reader(rec.value, 'payload');
        known.codec.read(r, known.name);
      } catch {
        bad = true;
      }
    }
    if (bad) return { type: rec.type, offset };
    offset += bigSizeLength(rec.type) + bigSizeLength(rec.value.length) + rec.value.length;
  }
  return { type: 0n, offset: 0 };
}

/**
 * What BOLT 4 requires of a payload before anything else is checked: a forwarding hop needs
 * `amt_to_forward`, `outgoing_cltv_value` and `short_channel_id`; the final hop the first two. The
 * missing field's type is what `invalid_onion_payload` reports. A blinded hop's payload is checked once
 * its recipient data is open (`blinded-hop.ts`).
 */
export function checkHopPayload(p: HopPayload, isFinal: boolean): PayloadProblem | undefined {
  if (p.encryptedRecipientData !== undefined) return undefined;
  // A path key without the data it opens: a hop outside a blinded path must carry neither.
  if (p.currentPathKey !== undefined) return { type: 12n, offset: 0 };
  if (p.amtToForward === undefined) return { type: 2n, offset: 0 };
  if (p.outgoingCltvValue === undefined) return { type: 4n, offset: 0 };
  if (!isFinal && p.shortChannelId === undefined) return { type: 6n, offset: 0 };
  return undefined;
}
