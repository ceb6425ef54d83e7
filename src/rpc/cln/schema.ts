import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The method schemas under `schemas/`, one JSON file per method in Core Lightning's format
 * (`doc/schemas/*.json`): `rpc`, `title`, `description`, `request`, `response`, `errors`, `examples`,
 * `see_also`, …, typed with CLN's custom types (`pubkey`, `u32`, `msat`, `short_channel_id`, …).
 * The server validates requests with them, `help` and the manual pages are generated from them, and the
 * tests validate every response against them.
 */

/** A JSON-Schema (draft-07 subset) node as CLN writes them, plus CLN's documentation keys. */
export interface SchemaNode {
  type?: string | string[];
  description?: string[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  allOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  if?: SchemaNode;
  then?: SchemaNode;
  else?: SchemaNode;
  /** Documentation only: the default, as text ("128"). */
  default?: string;
  added?: string;
  deprecated?: string[];
  hidden?: boolean;
  /** Any JSON value. */
  untyped?: boolean;
  comment?: string;
  format?: string;
  pre_return_value_notes?: string[];
  post_return_value_notes?: string[];
}

export interface SchemaExample {
  description?: string[];
  request: { id: string | number; method: string; params: unknown[] | Record<string, unknown> };
  response: Record<string, unknown>;
}

export interface MethodSchema {
  $schema?: string;
  rpc: string;
  title: string;
  description: string[];
  categories?: string[];
  added?: string;
  deprecated?: string[];
  request: SchemaNode;
  response: SchemaNode;
  errors?: string[];
  notes?: string[];
  usage?: string[];
  examples?: SchemaExample[];
  author?: string[];
  see_also?: string[];
  resources?: string[];
  trivia?: string[];
}

/** The repository (or installed package) root: where package.json, schemas/ and docs/ live. */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'anode') return dir;
    } catch {
      /* keep climbing */
    }
    dir = resolve(dir, '..');
  }
  throw new Error('rpc: cannot find the anode package root (package.json)');
})();

export const SCHEMA_DIR = join(packageRoot, 'schemas');
export const DOCS_DIR = join(packageRoot, 'docs');

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Reads every `<method>.json` in `dir`, keyed by method name. Throws on a file that is not a method schema. */
export function loadSchemas(dir: string = SCHEMA_DIR): Map<string, MethodSchema> {
  const out = new Map<string, MethodSchema>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const path = join(dir, file);
    let schema: MethodSchema;
    try {
      schema = JSON.parse(readFileSync(path, 'utf8')) as MethodSchema;
    } catch (err) {
      throw new Error(`rpc: schema ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof schema.rpc !== 'string' || `${schema.rpc}.json` !== file) {
      throw new Error(`rpc: schema ${path} must have "rpc": "${file.slice(0, -5)}"`);
    }
    if (!schema.request || !schema.response) throw new Error(`rpc: schema ${path} needs "request" and "response"`);
    out.set(schema.rpc, schema);
  }
  return out;
}

export interface ParamSpec {
  name: string;
  required: boolean;
  schema: SchemaNode;
}

/** The parameters in positional order: the order of `request.properties`, as in CLN's schemas. */
export function paramSpecs(schema: MethodSchema): ParamSpec[] {
  const required = new Set(schema.request.required ?? []);
  return Object.entries(schema.request.properties ?? {}).map(([name, s]) => ({ name, required: required.has(name), schema: s }));
}

/** `connect id [host] [port]`: required bare, optional in brackets (CLN's usage string). */
export function usage(schema: MethodSchema): string {
  return paramSpecs(schema)
    .filter((p) => !p.schema.hidden)
    .map((p) => (p.required ? p.name : `[${p.name}]`))
    .join(' ');
}
