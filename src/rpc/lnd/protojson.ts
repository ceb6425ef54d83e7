import type { PackageDefinition } from '@grpc/proto-loader';
import { RpcError, Status } from './errors.js';

/**
 * proto3 JSON as LND's grpc-gateway writes and reads it (protojson with UseProtoNames, EmitUnpopulated,
 * DiscardUnknown): snake_case keys out, both spellings in; every field emitted; 64-bit integers as
 * strings; bytes as standard base64 (URL-safe and unpadded accepted in); enums by name (numbers
 * accepted in); maps as objects with string keys.
 *
 * Messages in memory are in @grpc/proto-loader's shape (keepCase, longs as String, enums as String,
 * bytes as Buffer), which is what the handlers see over gRPC too.
 */

export interface FieldDesc {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
  jsonName?: string;
}

export interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType: MessageDesc[];
  enumType: EnumDesc[];
  options?: { mapEntry?: boolean } | null;
  oneofDecl?: { name: string }[];
}

export interface EnumDesc {
  name: string;
  value: { name: string; number: number }[];
}

type Resolved = { kind: 'message'; desc: MessageDesc; scope: string } | { kind: 'enum'; desc: EnumDesc };

/** Resolves message and enum types by full name inside the loaded package definition. */
export class Schema {
  constructor(readonly def: PackageDefinition) {}

  message(fullName: string): MessageDesc {
    const t = this.def[fullName] as { type?: MessageDesc; format?: string } | undefined;
    if (!t?.type || !String(t.format).includes('DescriptorProto') || String(t.format).includes('Enum')) {
      throw new Error(`protojson: unknown message ${fullName}`);
    }
    return t.type;
  }

  /** Resolves `typeName` as protobuf.js writes it (relative to the enclosing message or package). */
  resolve(scope: string, parent: MessageDesc, typeName: string): Resolved {
    const nested = parent.nestedType.find((n) => n.name === typeName);
    if (nested) return { kind: 'message', desc: nested, scope: `${scope}.${typeName}` };
    const nestedEnum = parent.enumType.find((e) => e.name === typeName);
    if (nestedEnum) return { kind: 'enum', desc: nestedEnum };
    // Walk outwards from the parent's scope; a name may be nested in a message of an outer scope.
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const found = this.#lookup([...parts.slice(0, i), ...typeName.split('.')]);
      if (found) return found;
    }
    throw new Error(`protojson: cannot resolve ${typeName} from ${scope}`);
  }

  /** A type by the parts of its full name: a top-level type of the definition, then its nested types. */
  #lookup(parts: string[]): Resolved | undefined {
    for (let i = parts.length; i > 0; i--) {
      const name = parts.slice(0, i).join('.');
      const t = this.def[name] as { type?: MessageDesc | EnumDesc; format?: string } | undefined;
      if (!t?.type) continue;
      if (String(t.format).includes('Enum')) return i === parts.length ? { kind: 'enum', desc: t.type as EnumDesc } : undefined;
      let cur: Resolved = { kind: 'message', desc: t.type as MessageDesc, scope: name };
      for (const p of parts.slice(i)) {
        if (cur.kind !== 'message') return undefined;
        const m: MessageDesc | undefined = cur.desc.nestedType.find((n) => n.name === p);
        const e: EnumDesc | undefined = cur.desc.enumType.find((n) => n.name === p);
        if (m) cur = { kind: 'message', desc: m, scope: `${cur.scope}.${p}` };
        else if (e) cur = { kind: 'enum', desc: e };
        else return undefined;
      }
      return cur;
    }
    return undefined;
  }
}

const INT64 = new Set(['TYPE_INT64', 'TYPE_UINT64', 'TYPE_SINT64', 'TYPE_FIXED64', 'TYPE_SFIXED64']);
const INT32 = new Set(['TYPE_INT32', 'TYPE_SINT32', 'TYPE_SFIXED32']);
const UINT32 = new Set(['TYPE_UINT32', 'TYPE_FIXED32']);

function isMap(schema: Schema, scope: string, parent: MessageDesc, f: FieldDesc): MessageDesc | undefined {
  if (f.label !== 'LABEL_REPEATED' || f.type !== 'TYPE_MESSAGE') return undefined;
  const r = schema.resolve(scope, parent, f.typeName);
  return r.kind === 'message' && r.desc.options?.mapEntry ? r.desc : undefined;
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// ---------------------------------------------------------------------------------------------------
// Out: in-memory message → JSON value

export function toJson(schema: Schema, fullName: string, msg: Record<string, unknown> | null | undefined): Record<string, unknown> {
  return messageToJson(schema, fullName, schema.message(fullName), msg ?? {});
}

function messageToJson(schema: Schema, scope: string, desc: MessageDesc, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of desc.field) {
    const v = msg[f.name];
    // protojson never writes unset oneof members. The descriptors do not tell members apart (every field
    // has oneofIndex 0), so in a message with a oneof an unset message field is left out.
    if (desc.oneofDecl?.length && f.type === 'TYPE_MESSAGE' && (v === undefined || v === null)) continue;
    const entry = isMap(schema, scope, desc, f);
    if (entry) {
      const valueField = entry.field.find((x) => x.number === 2)!;
      const o: Record<string, unknown> = {};
      for (const [k, val] of Object.entries((v as Record<string, unknown>) ?? {})) o[String(k)] = scalarOrMessageToJson(schema, `${scope}.${entry.name}`, entry, valueField, val);
      out[f.name] = o;
    } else if (f.label === 'LABEL_REPEATED') {
      out[f.name] = ((v as unknown[]) ?? []).map((x) => scalarOrMessageToJson(schema, scope, desc, f, x));
    } else {
      out[f.name] = scalarOrMessageToJson(schema, scope, desc, f, v);
    }
  }
  return out;
}

function scalarOrMessageToJson(schema: Schema, scope: string, parent: MessageDesc, f: FieldDesc, v: unknown): unknown {
  if (f.type === 'TYPE_MESSAGE') {
    if (v === null || v === undefined) return null;
    const r = schema.resolve(scope, parent, f.typeName);
    if (r.kind !== 'message') throw new Error('protojson: enum where a message was expected');
    return messageToJson(schema, r.scope, r.desc, v as Record<string, unknown>);
  }
  if (f.type === 'TYPE_ENUM') {
    const r = schema.resolve(scope, parent, f.typeName);
    if (r.kind !== 'enum') throw new Error('protojson: message where an enum was expected');
    if (typeof v === 'string') return v;
    const n = typeof v === 'number' ? v : 0;
    return r.desc.value.find((x) => x.number === n)?.name ?? n;
  }
  if (INT64.has(f.type)) return v === undefined || v === null ? '0' : String(v);
  if (INT32.has(f.type) || UINT32.has(f.type) || f.type === 'TYPE_DOUBLE' || f.type === 'TYPE_FLOAT') return v === undefined || v === null ? 0 : Number(v);
  if (f.type === 'TYPE_BOOL') return v === true;
  if (f.type === 'TYPE_BYTES') return v ? Buffer.from(v as Uint8Array).toString('base64') : '';
  return v === undefined || v === null ? '' : String(v);
}

// ---------------------------------------------------------------------------------------------------
// In: JSON value / path and query strings → in-memory message (defaults filled)

function invalid(message: string): RpcError {
  return new RpcError(Status.INVALID_ARGUMENT, message);
}

/** Default in-memory message (every field present, as proto-loader's `defaults: true`). */
export function defaults(schema: Schema, fullName: string): Record<string, unknown> {
  return messageDefaults(schema, fullName, schema.message(fullName));
}

function messageDefaults(schema: Schema, scope: string, desc: MessageDesc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of desc.field) {
    if (isMap(schema, scope, desc, f)) out[f.name] = {};
    else if (f.label === 'LABEL_REPEATED') out[f.name] = [];
    else out[f.name] = scalarDefault(schema, scope, desc, f);
  }
  return out;
}

function scalarDefault(schema: Schema, scope: string, parent: MessageDesc, f: FieldDesc): unknown {
  if (f.type === 'TYPE_MESSAGE') return null;
  if (f.type === 'TYPE_ENUM') {
    const r = schema.resolve(scope, parent, f.typeName);
    return r.kind === 'enum' ? (r.desc.value.find((x) => x.number === 0)?.name ?? '') : '';
  }
  if (INT64.has(f.type)) return '0';
  if (f.type === 'TYPE_BOOL') return false;
  if (f.type === 'TYPE_BYTES') return Buffer.alloc(0);
  if (f.type === 'TYPE_STRING') return '';
  return 0;
}

/** Parses a JSON request body (an object) into the message. Unknown fields are discarded. */
export function fromJson(schema: Schema, fullName: string, json: unknown): Record<string, unknown> {
  return messageFromJson(schema, fullName, schema.message(fullName), json, fullName);
}

function messageFromJson(schema: Schema, scope: string, desc: MessageDesc, json: unknown, path: string): Record<string, unknown> {
  const out = messageDefaults(schema, scope, desc);
  if (json === null) return out;
  if (typeof json !== 'object' || Array.isArray(json)) throw invalid(`proto: syntax error: unexpected token ${JSON.stringify(json)} for message ${path}`);
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const f = desc.field.find((x) => x.name === key || lowerCamel(x.name) === key || x.jsonName === key);
    if (!f) continue;
    if (value === null) continue;
    const entry = isMap(schema, scope, desc, f);
    if (entry) {
      if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`proto: invalid value for map field ${f.name}: ${JSON.stringify(value)}`);
      const keyField = entry.field.find((x) => x.number === 1)!;
      const valueField = entry.field.find((x) => x.number === 2)!;
      const m: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const mk = scalarFromJson(schema, `${scope}.${entry.name}`, entry, keyField, k, true);
        m[String(mk)] = valueFromJson(schema, `${scope}.${entry.name}`, entry, valueField, v, `${path}.${f.name}`);
      }
      out[f.name] = m;
    } else if (f.label === 'LABEL_REPEATED') {
      if (!Array.isArray(value)) throw invalid(`proto: invalid value for repeated field ${f.name}: ${JSON.stringify(value)}`);
      out[f.name] = value.map((v) => valueFromJson(schema, scope, desc, f, v, `${path}.${f.name}`));
    } else {
      out[f.name] = valueFromJson(schema, scope, desc, f, value, `${path}.${f.name}`);
    }
  }
  return out;
}

function valueFromJson(schema: Schema, scope: string, parent: MessageDesc, f: FieldDesc, v: unknown, path: string): unknown {
  if (f.type === 'TYPE_MESSAGE') {
    const r = schema.resolve(scope, parent, f.typeName);
    if (r.kind !== 'message') throw new Error('protojson: enum where a message was expected');
    return messageFromJson(schema, r.scope, r.desc, v, path);
  }
  return scalarFromJson(schema, scope, parent, f, v, false);
}

const INT_RE = /^-?\d+$/;

function scalarFromJson(schema: Schema, scope: string, parent: MessageDesc, f: FieldDesc, v: unknown, fromString: boolean): unknown {
  const bad = (): RpcError => invalid(`proto: invalid value for ${f.type.slice(5).toLowerCase()} field ${f.name}: ${JSON.stringify(v)}`);
  switch (f.type) {
    case 'TYPE_STRING':
      if (typeof v !== 'string') throw bad();
      return v;
    case 'TYPE_BOOL':
      if (typeof v === 'boolean') return v;
      if (fromString && (v === 'true' || v === 'false')) return v === 'true';
      throw bad();
    case 'TYPE_BYTES':
      if (typeof v !== 'string') throw bad();
      return decodeBase64Lenient(v, bad);
    case 'TYPE_ENUM': {
      const r = schema.resolve(scope, parent, f.typeName);
      if (r.kind !== 'enum') throw bad();
      if (typeof v === 'string') {
        const byName = r.desc.value.find((x) => x.name === v);
        if (byName) return byName.name;
        if (!INT_RE.test(v)) throw invalid(`proto: invalid value for enum field ${f.name}: ${JSON.stringify(v)}`);
        v = Number(v);
      }
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 0x7fffffff) throw bad();
      return r.desc.value.find((x) => x.number === v)?.name ?? v;
    }
    default:
      return numberFromJson(f, v, bad);
  }
}

function numberFromJson(f: FieldDesc, v: unknown, bad: () => RpcError): unknown {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad();
    text = Number.isInteger(v) ? BigInt(v).toString() : String(v);
  } else if (typeof v === 'string') text = v.trim() === v ? v : '';
  else throw bad();
  if (f.type === 'TYPE_DOUBLE' || f.type === 'TYPE_FLOAT') {
    const n = Number(text);
    if (text === '' || Number.isNaN(n)) throw bad();
    return n;
  }
  if (!INT_RE.test(text)) {
    // protojson accepts integral values in exponent form ("1e3"); nothing else.
    const n = Number(text);
    if (text === '' || !Number.isInteger(n)) throw bad();
    text = BigInt(n).toString();
  }
  const n = BigInt(text);
  const [min, max] = INT64.has(f.type)
    ? f.type === 'TYPE_UINT64' || f.type === 'TYPE_FIXED64'
      ? [0n, 2n ** 64n - 1n]
      : [-(2n ** 63n), 2n ** 63n - 1n]
    : UINT32.has(f.type)
      ? [0n, 2n ** 32n - 1n]
      : [-(2n ** 31n), 2n ** 31n - 1n];
  if (n < min || n > max) throw bad();
  return INT64.has(f.type) ? n.toString() : Number(n);
}

/** Standard base64, else URL-safe; padding optional (protojson and runtime.Bytes accept these). */
export function decodeBase64Lenient(s: string, bad: () => Error): Buffer {
  const std = /^[A-Za-z0-9+/]*={0,2}$/;
  const url = /^[A-Za-z0-9_-]*={0,2}$/;
  if (!std.test(s) && !url.test(s)) throw bad();
  const body = s.replace(/=+$/, '');
  const pad = s.length - body.length;
  if (body.length % 4 === 1) throw bad();
  if (pad > 0 && (body.length + pad) % 4 !== 0) throw bad();
  const b = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  // Reject non-canonical trailing bits, as Go's strict decoders do.
  if (b.toString('base64').replace(/=+$/, '') !== body.replace(/-/g, '+').replace(/_/g, '/')) throw bad();
  return b;
}

/**
 * Sets one field from a URL path segment or query value (grpc-gateway's runtime.PopulateFieldFromPath
 * and PopulateQueryParameters): bool as strconv.ParseBool, bytes base64 std then URL-safe, enums by
 * name or number. Unknown names are ignored (`false` returned).
 */
export function setFieldFromString(schema: Schema, fullName: string, msg: Record<string, unknown>, name: string, value: string, param: boolean): boolean {
  const desc = schema.message(fullName);
  const f = desc.field.find((x) => x.name === name || lowerCamel(x.name) === name || x.jsonName === name);
  if (!f || f.type === 'TYPE_MESSAGE') return false;
  const fail = (e: string): RpcError =>
    invalid(param ? `type mismatch, parameter: ${name}, error: ${e}` : `could not parse field ${JSON.stringify(name)}: ${e}`);
  let parsed: unknown;
  switch (f.type) {
    case 'TYPE_BOOL': {
      const t = ['1', 't', 'T', 'TRUE', 'true', 'True'];
      const fl = ['0', 'f', 'F', 'FALSE', 'false', 'False'];
      if (t.includes(value)) parsed = true;
      else if (fl.includes(value)) parsed = false;
      else throw fail(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
      break;
    }
    case 'TYPE_BYTES':
      parsed = decodeBase64Lenient(value, () => fail('illegal base64 data at input byte 0'));
      break;
    case 'TYPE_STRING':
      parsed = value;
      break;
    case 'TYPE_ENUM': {
      const r = schema.resolve(fullName, desc, f.typeName);
      if (r.kind !== 'enum') return false;
      const byName = r.desc.value.find((x) => x.name === value);
      if (byName) parsed = byName.name;
      else if (INT_RE.test(value) && r.desc.value.some((x) => x.number === Number(value))) parsed = r.desc.value.find((x) => x.number === Number(value))!.name;
      else throw fail(`${JSON.stringify(value)} is not a valid value`);
      break;
    }
    default:
      try {
        parsed = numberFromJson(f, value, () => fail(`strconv.Parse: parsing ${JSON.stringify(value)}: invalid syntax`));
      } catch (e) {
        throw e instanceof RpcError ? e : fail(String(e));
      }
  }
  if (f.label === 'LABEL_REPEATED') (msg[f.name] as unknown[]).push(parsed);
  else msg[f.name] = parsed;
  return true;
}

/**
 * A query parameter `field[key]=value` for a map field, as the gateway reads it (LND documents it for
 * EstimateFee's AddrToAmount). Integer values are checked as integers; returns false when `field` is not
 * a map of scalars.
 */
export function setMapEntryFromString(schema: Schema, fullName: string, msg: Record<string, unknown>, field: string, key: string, value: string): boolean {
  const desc = schema.message(fullName);
  const f = desc.field.find((x) => x.name === field || lowerCamel(x.name) === field);
  if (!f) return false;
  const entry = isMap(schema, fullName, desc, f);
  if (!entry) return false;
  const v = entry.field.find((x) => x.number === 2)!;
  let parsed: unknown = value;
  if (INT64.has(v.type) || INT32.has(v.type) || UINT32.has(v.type)) {
    if (!INT_RE.test(value)) throw invalid(`could not parse field ${JSON.stringify(field)}: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
    parsed = INT64.has(v.type) ? BigInt(value).toString() : Number(value);
  } else if (v.type !== 'TYPE_STRING') return false;
  const map = (msg[f.name] as Record<string, unknown> | undefined) ?? {};
  map[key] = parsed;
  msg[f.name] = map;
  return true;
}
