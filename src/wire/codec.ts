/**
 * The declarative message codec: BOLT 1, BOLT 2 and the watchtower wire are tables of messages, each a
 * type, a spec name, its fields in wire order and (optionally) a TLV stream. One engine decodes and
 * encodes every table, and the TypeScript type of each message is derived from its table entry
 * ({@link MessageOf}), so the compiler links a message's fields to its layout and no caller casts.
 *
 * Extension rule (BOLT 1): bytes after the fields a message defines are its TLV stream when the entry
 * has `tlvs` (known records become typed fields, unknown odd records are kept in `extraTlvs`, in stream
 * order, and re-encoded; an unknown even record is TLV_UNKNOWN_EVEN) and are ignored otherwise.
 *
 * Every error is a {@link WireError} whose message starts with the message's spec name
 * (`update_fee: feerate_per_kw truncated (need 4, have 1)`). Decoded buffers are copies, never views.
 */
import { WireError, type WireErrorCode } from './errors.js';
import { Reader } from './reader.js';
import { decodeTlvStream, encodeTlvStream, type TlvRecord } from './tlv.js';
import { Writer } from './writer.js';

/** How one value is read and written; `field` is its spec name, for errors. */
export interface Codec<T> {
  read(r: Reader, field: string): T;
  write(w: Writer, value: T, field: string): void;
}

// ---------------------------------------------------------------------------------------------------
// Field codecs

export const u8: Codec<number> = { read: (r, f) => r.u8(f), write: (w, v, f) => void w.u8(v, f) };
export const u16: Codec<number> = { read: (r, f) => r.u16(f), write: (w, v, f) => void w.u16(v, f) };
export const u32: Codec<number> = { read: (r, f) => r.u32(f), write: (w, v, f) => void w.u32(v, f) };
export const u64: Codec<bigint> = { read: (r, f) => r.u64(f), write: (w, v, f) => void w.u64(v, f) };

/** Exactly `n` bytes (hashes, points, signatures, the onion packet). */
export function fixed(n: number): Codec<Buffer> {
  return { read: (r, f) => r.bytes(n, f), write: (w, v, f) => void w.fixed(v, n, f) };
}

/** All remaining bytes (a raw TLV value). */
export const rest: Codec<Buffer> = {
  read: (r) => Buffer.from(r.rest()),
  write: (w, v, f) => void w.bytes(v, f),
};

/**
 * A u16 length, then that many bytes. `length` names the length field as its spec does (`gflen`,
 * `byteslen`; default `<field> length`). A value longer than 65535 bytes is `tooLong`: BOLT 1 has always
 * reported it as TOO_LARGE, BOLT 2 as an INVALID field.
 */
export function bytes16(length?: string, tooLong: WireErrorCode = 'INVALID'): Codec<Buffer> {
  const lengthName = (f: string): string => length ?? `${f} length`;
  return {
    read: (r, f) => r.bytes(r.u16(lengthName(f)), f),
    write: (w, v, f) => {
      if (!(v instanceof Uint8Array)) throw w.invalid(f, 'is not bytes');
      if (v.length > 0xffff) throw new WireError(tooLong, `${w.where(lengthName(f))} not a u16: ${v.length} bytes exceeds 65535`);
      w.u16(v.length, lengthName(f)).bytes(v, f);
    },
  };
}

/** A u16 count `num_<field>s`, then that many items (`htlc_signature 0`, `htlc_signature 1`, …). */
export function list16<T>(item: Codec<T>): Codec<T[]> {
  return {
    read: (r, f) => {
      const count = r.u16(`num_${f}s`);
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(item.read(r, `${f} ${i}`));
      return out;
    },
    write: (w, v, f) => {
      if (!Array.isArray(v)) throw w.invalid(`${f}s`, 'is not an array');
      w.u16(v.length, `num_${f}s`);
      v.forEach((x, i) => item.write(w, x, `${f} ${i}`));
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Message tables

/** One fixed field: property `key` of the TS message, `name` in the spec. */
export interface Field<K extends string = string, T = any> {
  readonly key: K;
  readonly name: string;
  readonly codec: Codec<T>;
}

/** A known TLV record; `length`, if set, is the only valid value length (TLV_LENGTH otherwise). */
export interface TlvField<K extends string = string, T = any> extends Field<K, T> {
  readonly tlvType: bigint;
  readonly length?: number;
}

export interface MessageSpec<
  N extends number = number,
  F extends readonly Field[] = readonly Field[],
  X extends readonly TlvField[] | undefined = readonly TlvField[] | undefined,
> {
  readonly type: N;
  readonly name: string;
  readonly fields: F;
  /** The message's TLV stream; without it, bytes after the fields are ignored. */
  readonly tlvs: X;
  /** Largest payload (bytes after the type) the fields may take, if the protocol sets one per message. */
  readonly maxPayload?: number;
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function field<const K extends string, T>(key: K, codec: Codec<T>, name: string = snake(key)): Field<K, T> {
  return { key, name, codec };
}

export function tlv<const K extends string, T>(
  tlvType: bigint,
  key: K,
  codec: Codec<T>,
  { name = snake(key), length }: { name?: string; length?: number } = {},
): TlvField<K, T> {
  return length === undefined ? { tlvType, key, name, codec } : { tlvType, key, name, codec, length };
}

export function message<
  const N extends number,
  const F extends readonly Field[],
  const X extends readonly TlvField[] | undefined = undefined,
>(spec: { type: N; name: string; fields: F; tlvs?: X; maxPayload?: number }): MessageSpec<N, F, X> {
  return { ...spec, tlvs: spec.tlvs as X };
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<E> = E extends Field<string, infer T> ? T : never;
type FieldValues<F extends readonly Field[]> = { [E in F[number] as E['key']]: ValueOf<E> };
type TlvValues<X> = X extends readonly TlvField[]
  ? { [E in X[number] as E['key']]?: ValueOf<E> } & { extraTlvs: TlvRecord[] }
  : unknown;

/** The TS type of the message a table entry describes; a union of entries gives a union keyed by `type`. */
export type MessageOf<S> =
  S extends MessageSpec<infer N, infer F, infer X> ? Simplify<{ type: N } & FieldValues<F> & TlvValues<X>> : never;

/** Every message of a table: the union of its entries' types, keyed by `type`. */
export type MessageOfTable<T> = T extends MessageTable<infer S> ? MessageOf<S> : never;

/** Decodes and encodes the payloads (bytes after the 2-byte type) of the messages of one table. */
export class MessageTable<S extends MessageSpec> {
  readonly #specs: ReadonlyMap<number, S>;

  /** `maxPayload` bounds every payload before it is decoded and after it is encoded. */
  constructor(
    specs: readonly S[],
    readonly maxPayload = Infinity,
  ) {
    this.#specs = new Map(specs.map((s) => [s.type, s]));
  }

  has(type: number): boolean {
    return this.#specs.has(type);
  }

  /** Spec name of a type in the table (`open_channel`). */
  name(type: number): string | undefined {
    return this.#specs.get(type)?.name;
  }

  spec(type: number): S | undefined {
    return this.#specs.get(type);
  }

  /**
   * The message of `type` in `payload`, or undefined for a type not in the table. Throws WireError:
   * TRUNCATED, NON_CANONICAL, TOO_LARGE, TLV_* or INVALID, prefixed with the spec name.
   */
  decode(type: number, payload: Uint8Array): MessageOf<S> | undefined {
    const spec = this.#specs.get(type);
    if (spec === undefined) return undefined;
    if (!(payload instanceof Uint8Array)) throw new WireError('INVALID', `${spec.name}: payload is not bytes`);
    if (payload.length > this.maxPayload) {
      throw new WireError('TOO_LARGE', `${spec.name}: payload of ${payload.length} bytes exceeds ${this.maxPayload}`);
    }
    const r = new Reader(payload, spec.name);
    const out: Record<string, unknown> = { type };
    for (const f of spec.fields) out[f.key] = f.codec.read(r, f.name);
    if (spec.tlvs !== undefined) decodeTlvs(spec.name, spec.tlvs, r.rest(), out);
    if (spec.maxPayload !== undefined && r.offset > spec.maxPayload) {
      throw new WireError('TOO_LARGE', `${spec.name}: payload of ${r.offset} bytes exceeds ${spec.maxPayload}`);
    }
    // The object was built field by field from `spec`, whose entries MessageOf<S> maps one to one.
    return out as MessageOf<S>;
  }

  /** The payload of `msg`. Throws WireError INVALID for a malformed field, TOO_LARGE over the maximum. */
  encode(msg: MessageOf<S>): Buffer {
    if (typeof msg !== 'object' || msg === null) throw new WireError('INVALID', 'message: not an object');
    const m = msg as Record<string, unknown>;
    const spec = this.#specs.get(m.type as number);
    if (spec === undefined) throw new WireError('INVALID', `message: cannot encode type ${String(m.type)}`);
    const w = new Writer(spec.name);
    for (const f of spec.fields) f.codec.write(w, m[f.key], f.name);
    if (spec.tlvs !== undefined) w.bytes(encodeTlvs(w, spec.tlvs, m), 'tlvs');
    const max = Math.min(spec.maxPayload ?? Infinity, this.maxPayload);
    if (w.length > max) throw new WireError('TOO_LARGE', `${spec.name}: payload of ${w.length} bytes exceeds ${max}`);
    return w.finish();
  }

  /** The whole message: its 2-byte type, then {@link encode}'s payload. */
  encodeMessage(msg: MessageOf<S>): Buffer {
    return frame((msg as { type: number }).type, this.encode(msg));
  }
}

/** `type ‖ payload`: a whole message, as the transport carries it. */
function frame(type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(2 + payload.length);
  out.writeUInt16BE(type, 0);
  payload.copy(out, 2);
  return out;
}

function decodeTlvs(name: string, tlvs: readonly TlvField[], stream: Uint8Array, out: Record<string, unknown>): void {
  let records: TlvRecord[];
  try {
    records = decodeTlvStream(stream, (t) => tlvs.some((s) => s.tlvType === t));
  } catch (e) {
    throw e instanceof WireError ? e.withContext(name) : e;
  }
  const extraTlvs: TlvRecord[] = [];
  for (const rec of records) {
    const known = tlvs.find((s) => s.tlvType === rec.type);
    if (known === undefined) {
      extraTlvs.push(rec);
      continue;
    }
    if (known.length !== undefined && rec.value.length !== known.length) {
      throw new WireError('TLV_LENGTH', `${name}: ${known.name} is ${rec.value.length} bytes, expected ${known.length}`);
    }
    out[known.key] = known.codec.read(new Reader(rec.value, name), known.name);
  }
  out.extraTlvs = extraTlvs;
}

function encodeTlvs(w: Writer, tlvs: readonly TlvField[], m: Record<string, unknown>): Buffer {
  const records: TlvRecord[] = [];
  for (const t of tlvs) {
    const v = m[t.key];
    if (v === undefined) continue;
    const value = new Writer(w.context);
    t.codec.write(value, v, t.name);
    records.push({ type: t.tlvType, value: value.finish() });
  }
  const extra = m.extraTlvs ?? [];
  if (!Array.isArray(extra)) throw w.invalid('extraTlvs', 'is not an array');
  for (const rec of extra as unknown[]) {
    const type = (rec as TlvRecord | null)?.type;
    if (typeof type !== 'bigint') throw w.invalid('extraTlvs', 'record without a bigint type');
    if (tlvs.some((s) => s.tlvType === type)) throw w.invalid('extraTlvs', `must not contain known type ${type}`);
    if ((type & 1n) === 0n) throw w.invalid('extraTlvs', `must hold odd types only, got ${type}`);
    records.push(rec as TlvRecord);
  }
  try {
    return encodeTlvStream(records);
  } catch (e) {
    throw e instanceof WireError ? e.withContext(w.context) : e;
  }
}
