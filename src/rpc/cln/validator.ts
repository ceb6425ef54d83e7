import { secp } from '../../crypto/secp256k1.js';
import { stringify, toValue, type JsonNode } from './json.js';
import type { SchemaNode } from './schema.js';

/**
 * A small JSON-Schema validator for CLN's method schemas: the draft-07 keywords those schemas use
 * (type, properties, required, additionalProperties, items, enum, const, min/max, lengths, pattern,
 * allOf, anyOf, oneOf, if/then/else) plus CLN's custom types (`pubkey`, `u64`…`u8`, `msat`, `sat`,
 * `short_channel_id`, `hex`, `txid`, …). Documentation keys (`description`, `added`, `default`, …) are
 * ignored. It works on parsed nodes so integers keep every digit.
 *
 * `request` mode follows lightningd's parameter parsers: integers may also be given as digit strings,
 * amounts as strings with a unit (`"1000sat"`, `"0.001btc"`). `response` mode is strict, as the
 * pyln-testing checker is.
 */

export type ValidationMode = 'request' | 'response';

export interface Issue {
  /** `name`, `name.field`, `name[2]`… relative to the validated value ('' for the value itself). */
  path: string;
  /** CLN-style reason: "should be a node id", "should be 'true' or 'false'", … */
  reason: string;
  node: JsonNode;
}

interface TypeRule {
  check(node: JsonNode, mode: ValidationMode): boolean;
  reason: string;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const HEX64 = /^[0-9a-fA-F]{64}$/;

/** The integer a node denotes, or undefined. Digit strings count in request mode (as json_to_u64). */
function integerOf(node: JsonNode, mode: ValidationMode): bigint | undefined {
  if (node.kind === 'number' && /^-?[0-9]+$/.test(node.raw)) return BigInt(node.raw);
  if (mode === 'request' && node.kind === 'string' && /^[0-9]{1,40}$/.test(node.value)) return BigInt(node.value);
  return undefined;
}

function unsigned(bits: number): TypeRule['check'] {
  const limit = 1n << BigInt(bits);
  return (node, mode) => {
    const n = integerOf(node, mode);
    return n !== undefined && n >= 0n && n < limit;
  };
}

const U64 = unsigned(64);
const isString = (node: JsonNode, re: RegExp): boolean => node.kind === 'string' && re.test(node.value);

function isPubkey(node: JsonNode): boolean {
  return node.kind === 'string' && /^0[23][0-9a-fA-F]{64}$/.test(node.value) && secp.isPublicKey(Buffer.from(node.value, 'hex'));
}

function isScid(s: string): boolean {
  const m = /^([0-9]{1,8})x([0-9]{1,8})x([0-9]{1,5})$/.exec(s);
  return m !== null && Number(m[1]) < 1 << 24 && Number(m[2]) < 1 << 24 && Number(m[3]) < 1 << 16;
}

const MSAT_STRING = /^(?:[0-9]+(?:msat)?|[0-9]+(?:\.[0-9]{3})?sat|[0-9]+(?:\.(?:[0-9]{8}|[0-9]{11}))?btc)$/;
const SAT_STRING = /^(?:[0-9]+(?:sat)?|[0-9]+000msat|[0-9]+(?:\.[0-9]{8})?btc)$/;

function amount(re: RegExp, words: string[] = []): TypeRule['check'] {
  return (node, mode) => {
    if (node.kind === 'string' && words.includes(node.value)) return true;
    if (mode === 'response') return U64(node, mode);
    return U64(node, mode) || isString(node, re);
  };
}

const FEERATE_NAMES = ['urgent', 'normal', 'slow', 'minimum', 'opening', 'mutual_close', 'unilateral_close', 'unilateral_anchor_close', 'delayed_to_us', 'htlc_resolution', 'penalty', 'min_acceptable', 'max_acceptable', 'splice'];

export const TYPES: Record<string, TypeRule> = {
  object: { check: (n) => n.kind === 'object', reason: 'should be an object' },
  array: { check: (n) => n.kind === 'array', reason: 'should be an array' },
  string: { check: (n) => n.kind === 'string', reason: 'should be a string' },
  boolean: { check: (n) => n.kind === 'boolean', reason: "should be 'true' or 'false'" },
  null: { check: (n) => n.kind === 'null', reason: 'should be null' },
  number: { check: (n) => n.kind === 'number', reason: 'should be a number' },
  integer: { check: (n, m) => integerOf(n, m) !== undefined, reason: 'should be an integer' },
  u64: { check: U64, reason: 'should be an unsigned 64 bit integer' },
  u32: { check: unsigned(32), reason: 'should be an unsigned 32 bit integer' },
  u16: { check: unsigned(16), reason: 'should be a 16-bit integer' },
  u8: { check: unsigned(8), reason: 'should be an 8-bit integer' },
  pubkey: { check: isPubkey, reason: 'should be a node id' },
  point32: { check: (n) => isString(n, HEX64), reason: 'should be a 32 byte hex value' },
  hex: { check: (n) => isString(n, HEX), reason: 'should be a hex value' },
  hash: { check: (n) => isString(n, HEX64), reason: 'should be a 32 byte hex value' },
  secret: { check: (n) => isString(n, HEX64), reason: 'should be a 32 byte hex value' },
  txid: { check: (n) => isString(n, HEX64), reason: 'should be a txid' },
  signature: { check: (n) => isString(n, /^(?:[0-9a-fA-F]{2}){1,72}$/), reason: 'should be a DER signature in hex' },
  bip340sig: { check: (n) => isString(n, /^[0-9a-fA-F]{128}$/), reason: 'should be a 64 byte hex value' },
  msat: { check: amount(MSAT_STRING), reason: 'should be a millisatoshi amount' },
  msat_or_all: { check: amount(MSAT_STRING, ['all']), reason: "should be a millisatoshi amount or 'all'" },
  msat_or_any: { check: amount(MSAT_STRING, ['any']), reason: "should be a millisatoshi amount or 'any'" },
  sat: { check: amount(SAT_STRING), reason: 'should be a satoshi amount' },
  sat_or_all: { check: amount(SAT_STRING, ['all']), reason: "should be a satoshi amount or 'all'" },
  short_channel_id: { check: (n) => n.kind === 'string' && isScid(n.value), reason: 'should be a short_channel_id of form NxNxN' },
  short_channel_id_dir: {
    check: (n) => n.kind === 'string' && /\/[01]$/.test(n.value) && isScid(n.value.slice(0, -2)),
    reason: 'should be a short_channel_id_dir of form NxNxN/dir',
  },
  outpoint: {
    check: (n) => n.kind === 'string' && /^[0-9a-fA-F]{64}:[0-9]{1,10}$/.test(n.value) && Number(n.value.slice(65)) < 2 ** 32,
    reason: 'should be a txid:outnum',
  },
  feerate: {
    check: (n, m) =>
      unsigned(32)(n, m) || (n.kind === 'string' && (FEERATE_NAMES.includes(n.value) || /^[0-9]+(?:perkw|perkb)$/.test(n.value))),
    reason: 'should be a feerate',
  },
  currency: { check: (n) => isString(n, /^[0-9]+(?:\.[0-9]+)?[A-Z]{3}$/), reason: 'should be a currency amount' },
  string_map: { check: (n) => n.kind === 'object' && n.members.every((m) => m.value.kind === 'string'), reason: 'should be an object of strings' },
  outputdesc: {
    check: (n, m) => n.kind === 'object' && n.members.every((x) => amount(SAT_STRING, ['all'])(x.value, m)),
    reason: 'should be an object of address: amount',
  },
  json_scalar: { check: (n) => n.kind !== 'object' && n.kind !== 'array', reason: 'should be a JSON scalar' },
};

/** Every issue of `node` against `schema` (at most `limit`). */
export function validate(schema: SchemaNode, node: JsonNode, mode: ValidationMode = 'response', limit = 20): Issue[] {
  const issues: Issue[] = [];
  walk(schema, node, '', mode, issues, limit);
  return issues;
}

/** The first issue, or undefined when `node` is valid. */
export function firstIssue(schema: SchemaNode, node: JsonNode, mode: ValidationMode): Issue | undefined {
  return validate(schema, node, mode, 1)[0];
}

const matches = (schema: SchemaNode, node: JsonNode, mode: ValidationMode): boolean => validate(schema, node, mode, 1).length === 0;

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
}

/** "should be 'a', 'b', or 'c'" as CLN words its enum errors. */
export function enumReason(values: unknown[]): string {
  const q = values.map((v) => (typeof v === 'string' ? `'${v}'` : stringify(v)));
  if (q.length <= 2) return `should be ${q.join(' or ')}`;
  return `should be ${q.slice(0, -1).join(', ')}, or ${q.at(-1)}`;
}

function equalValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') return String(a) === String(b);
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return stringify(a) === stringify(b);
}

function numberOf(node: JsonNode, mode: ValidationMode): number | undefined {
  if (node.kind === 'number') return Number(node.raw);
  const i = integerOf(node, mode);
  return i === undefined ? undefined : Number(i);
}

function walk(schema: SchemaNode, node: JsonNode, path: string, mode: ValidationMode, issues: Issue[], limit: number): void {
  if (issues.length >= limit) return;
  const add = (reason: string, at: JsonNode = node, p: string = path): void => {
    if (issues.length < limit) issues.push({ path: p, reason, node: at });
  };

  if (schema.type !== undefined && !schema.untyped) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    let ok = false;
    for (const t of types) {
      const rule = TYPES[t];
      if (!rule) {
        add(`schema error: unknown type '${t}'`);
        return;
      }
      if (rule.check(node, mode)) {
        ok = true;
        break;
      }
    }
    if (!ok) {
      add(TYPES[types[0]!]!.reason);
      return;
    }
  }

  if (schema.enum !== undefined) {
    const v = toValue(node);
    if (!schema.enum.some((e) => equalValue(e, v))) {
      add(enumReason(schema.enum));
      return;
    }
  }
  if (schema.const !== undefined && !equalValue(schema.const, toValue(node))) {
    add(`should be ${stringify(schema.const)}`);
    return;
  }

  if (node.kind === 'string') {
    const len = [...node.value].length;
    if (schema.minLength !== undefined && len < schema.minLength) add(`should be at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && len > schema.maxLength) add(`should be at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !safeRegExp(schema.pattern).test(node.value)) add(`should match ${schema.pattern}`);
  }
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    const n = numberOf(node, mode);
    if (n !== undefined) {
      if (schema.minimum !== undefined && n < schema.minimum) add(`should be at least ${schema.minimum}`);
      if (schema.maximum !== undefined && n > schema.maximum) add(`should be at most ${schema.maximum}`);
    }
  }

  if (node.kind === 'object') {
    const seen = new Set<string>();
    for (const m of node.members) {
      if (seen.has(m.key)) add(`duplicate field '${m.key}'`, m.value, join(path, m.key));
      seen.add(m.key);
    }
    for (const r of schema.required ?? []) {
      if (!seen.has(r)) add(`missing required field '${r}'`);
    }
    const props = schema.properties ?? {};
    for (const m of node.members) {
      const sub = Object.prototype.hasOwnProperty.call(props, m.key) ? props[m.key] : undefined;
      if (sub) walk(sub, m.value, join(path, m.key), mode, issues, limit);
      else if (schema.additionalProperties === false) add('unexpected field', m.value, join(path, m.key));
      else if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, m.value, join(path, m.key), mode, issues, limit);
    }
  }

  if (node.kind === 'array') {
    if (schema.minItems !== undefined && node.items.length < schema.minItems) add(`should have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && node.items.length > schema.maxItems) add(`should have at most ${schema.maxItems} items`);
    if (schema.items) node.items.forEach((item, i) => walk(schema.items!, item, join(path, i), mode, issues, limit));
  }

  for (const sub of schema.allOf ?? []) walk(sub, node, path, mode, issues, limit);
  if (schema.if) {
    const branch = matches(schema.if, node, mode) ? schema.then : schema.else;
    if (branch) walk(branch, node, path, mode, issues, limit);
  }
  if (schema.anyOf && !schema.anyOf.some((s) => matches(s, node, mode))) add('should match one of the allowed forms');
  if (schema.oneOf) {
    const n = schema.oneOf.filter((s) => matches(s, node, mode)).length;
    if (n !== 1) add(n === 0 ? 'should match one of the allowed forms' : 'matches more than one allowed form');
  }
}

const regexCache = new Map<string, RegExp>();
function safeRegExp(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'u');
    regexCache.set(pattern, re);
  }
  return re;
}

/**
 * The schema keywords this validator understands (validation or documentation). A schema using any
 * other keyword is a mistake the schema test reports, rather than a rule silently ignored.
 */
export const KNOWN_KEYWORDS = new Set([
  'type', 'description', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'minimum', 'maximum',
  'minLength', 'maxLength', 'minItems', 'maxItems', 'pattern', 'allOf', 'anyOf', 'oneOf', 'if', 'then', 'else', 'default',
  'added', 'deprecated', 'hidden', 'untyped', 'comment', 'format', 'pre_return_value_notes', 'post_return_value_notes',
  'oneOfMany', 'pairedWith', 'dependentUpon',
]);
