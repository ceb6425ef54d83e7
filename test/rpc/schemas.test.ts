/**
 * The method schemas under schemas/: CLN's format, only keywords and types the validator knows,
 * examples that validate, a method for every schema and a schema for every method, usage strings as
 * CLN prints them, and docs/ generated from them and up to date.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromValue } from '../../src/rpc/cln/json.js';
import { generateDocs, renderManPage } from '../../src/rpc/cln/manpage.js';
import { METHODS } from '../../src/rpc/cln/methods/index.js';
import { DOCS_DIR, paramSpecs, SCHEMA_DIR, usage, type SchemaNode } from '../../src/rpc/cln/schema.js';
import { KNOWN_KEYWORDS, TYPES, validate } from '../../src/rpc/cln/validator.js';
import { schemas } from './harness.js';

const TOP_KEYS = new Set(['$schema', 'rpc', 'title', 'description', 'categories', 'added', 'deprecated', 'request', 'response', 'errors', 'notes', 'usage', 'examples', 'author', 'see_also', 'resources', 'trivia']);

function walkSchema(node: SchemaNode, path: string, visit: (n: SchemaNode, path: string) => void): void {
  visit(node, path);
  for (const [k, sub] of Object.entries(node.properties ?? {})) walkSchema(sub, `${path}.${k}`, visit);
  if (node.items) walkSchema(node.items, `${path}[]`, visit);
  if (typeof node.additionalProperties === 'object') walkSchema(node.additionalProperties, `${path}.*`, visit);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) node[key]?.forEach((s, i) => walkSchema(s, `${path}.${key}[${i}]`, visit));
  for (const key of ['if', 'then', 'else'] as const) if (node[key]) walkSchema(node[key]!, `${path}.${key}`, visit);
}

describe('method schemas', () => {
  it('one file per method, one method per file', () => {
    assert.deepEqual([...schemas.keys()].sort(), METHODS.map((m) => m.name).sort());
    assert.deepEqual(readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).sort(), METHODS.map((m) => `${m.name}.json`).sort());
  });

  for (const [name, schema] of schemas) {
    it(`${name}: CLN's layout, known keywords and types, jq formatting`, () => {
      for (const k of Object.keys(schema)) assert.ok(TOP_KEYS.has(k), `top-level key ${k}`);
      assert.equal(typeof schema.title, 'string');
      assert.ok(Array.isArray(schema.description) && schema.description.every((l) => typeof l === 'string'));
      // `check` takes another command's parameters besides its own (as CLN's schema says).
      assert.equal(schema.request.additionalProperties, name === 'check', `request.additionalProperties is ${name === 'check'}`);
      for (const r of schema.request.required ?? []) assert.ok(schema.request.properties?.[r], `required ${r} is a property`);
      for (const [part, root] of [['request', schema.request], ['response', schema.response]] as const) {
        walkSchema(root, part, (n, path) => {
          for (const k of Object.keys(n)) assert.ok(KNOWN_KEYWORDS.has(k), `${name} ${path}: keyword ${k}`);
          const types = n.type === undefined ? [] : Array.isArray(n.type) ? n.type : [n.type];
          for (const t of types) assert.ok(TYPES[t], `${name} ${path}: type ${t}`);
          if (n.description !== undefined) assert.ok(Array.isArray(n.description), `${name} ${path}: description is an array of lines`);
          const isField = /\.[^.[\]]+$/.test(path) && !/\.(if|then|else)$/.test(path);
          if (isField && Object.keys(n).length > 0 && !path.includes('.if')) assert.ok(n.description || n.enum, `${name} ${path}: described`);
        });
      }
      const text = readFileSync(join(SCHEMA_DIR, `${name}.json`), 'utf8');
      assert.equal(text, `${JSON.stringify(JSON.parse(text), null, 2)}\n`, 'formatted as jq does (2 spaces, final newline)');
    });

    it(`${name}: every example's request and response validate`, () => {
      assert.ok(schema.examples?.length, 'has examples');
      for (const ex of schema.examples!) {
        assert.equal(ex.request.method, name);
        const specs = paramSpecs(schema);
        const named = Array.isArray(ex.request.params)
          ? Object.fromEntries(ex.request.params.map((v, i) => [specs[i]!.name, v]))
          : ex.request.params;
        assert.deepEqual(validate(schema.request, fromValue(named).root, 'request').map((i) => `${i.path}: ${i.reason}`), [], `${name} example request`);
        assert.deepEqual(validate(schema.response, fromValue(ex.response).root, 'response').map((i) => `${i.path}: ${i.reason}`), [], `${name} example response`);
      }
    });
  }

  it("usage strings as lightningd's help prints them", () => {
    const u = (m: string): string => usage(schemas.get(m)!);
    assert.equal(u('connect'), 'id [host] [port]');
    assert.equal(u('disconnect'), 'id [force]');
    assert.equal(u('listpeers'), '[id] [level]');
    assert.equal(u('ping'), 'id [len] [pongbytes]');
    assert.equal(u('getinfo'), '');
    assert.equal(u('help'), '[command]');
  });
});

describe('manual pages', () => {
  it('docs/ holds exactly what `npm run docs` generates from the schemas', () => {
    for (const [file, text] of generateDocs(schemas.values())) {
      let current = '';
      try {
        current = readFileSync(join(DOCS_DIR, file), 'utf8');
      } catch {
        /* missing */
      }
      assert.equal(current, text, `docs/${file} is out of date: run npm run docs`);
    }
  });

  it('a page has the sections of a CLN manual page, parameters with defaults, conditional fields', () => {
    const page = renderManPage(schemas.get('ping')!);
    for (const s of ['SYNOPSIS', 'DESCRIPTION', 'RETURN VALUE', 'ERRORS', 'NOTES', 'EXAMPLES', 'AUTHOR', 'SEE ALSO', 'RESOURCES']) assert.match(page, new RegExp(`\n${s}\n-+\n`));
    assert.match(page, /\*\*ping\*\* \*id\* \[\*len\*\] \[\*pongbytes\*\]/);
    assert.match(page, /- \*\*len\*\* \(u32, optional\): .* The default is 128\./);
    assert.match(renderManPage(schemas.get('listpeers')!), /- If \*\*connected\*\* is true:\n\s+- \*\*netaddr\*\*/);
    assert.match(renderManPage(schemas.get('disconnect')!), /On success, an empty object is returned\./);
  });
});
