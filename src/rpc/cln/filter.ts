import type { JsonNode } from './json.js';

/**
 * CLN's `filter` (a template of the result: `true` keeps a field, an object or a one-element array
 * descends into it, anything not mentioned is dropped; order is kept).
 */
export type FilterTemplate = true | { kind: 'object'; fields: Map<string, FilterTemplate> } | { kind: 'array'; item: FilterTemplate };

/** The template, or the reason it is invalid (CLN's texts). The top level must be an object. */
export function parseFilter(node: JsonNode): FilterTemplate | { error: string } {
  if (node.kind !== 'object') return { error: 'Expected object' };
  try {
    return build(node);
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function build(node: JsonNode): FilterTemplate {
  switch (node.kind) {
    case 'boolean':
      if (node.value) return true;
      throw new Error('value must be true');
    case 'object': {
      // An empty object names nothing below it: like `true`, it keeps the whole value (lightningd).
      if (node.members.length === 0) return true;
      const fields = new Map<string, FilterTemplate>();
      for (const m of node.members) fields.set(m.key, build(m.value));
      return { kind: 'object', fields };
    }
    case 'array':
      if (node.items.length !== 1) throw new Error('Arrays can only have one element');
      return { kind: 'array', item: build(node.items[0]!) };
    default:
      throw new Error('value must be true');
  }
}

/**
 * The filtered copy of `value`, as lightningd's json_filter: a template object keeps the members it names
 * (a member it does not name is dropped); a template array applies its item template to every item. Where
 * the shapes differ the value is not kept: an object or array met by a template of the other shape is
 * dropped, a scalar member of an object met by a template array is dropped, and the first such misuse of
 * a template by an object or array is reported (`.peers is an array`). Scalar items of an array met by a
 * template object are kept, as lightningd does, until an object or array item was dropped there.
 */
export function applyFilter(value: unknown, tmpl: FilterTemplate, warnings: string[], path = ''): unknown {
  if (tmpl === true) return value;
  if (!isCompound(value)) return value;
  const misuse = (): void => {
    const what = `${path || '.'} is ${tmpl.kind === 'object' ? 'an array' : 'an object'}`;
    if (!warnings.includes(what)) warnings.push(what);
  };
  if (Array.isArray(value)) {
    if (tmpl.kind === 'array') return value.map((v) => applyFilter(v, tmpl.item, warnings, `${path}[]`));
    const out: unknown[] = [];
    let keep = true;
    for (const v of value) {
      if (isCompound(v)) {
        misuse();
        keep = false;
      } else if (keep) out.push(v);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (tmpl.kind === 'array') {
      if (isCompound(v)) misuse();
      continue;
    }
    const sub = tmpl.fields.get(k);
    if (sub !== undefined) out[k] = applyFilter(v, sub, warnings, `${path}.${k}`);
  }
  return out;
}

function isCompound(v: unknown): v is object {
  return v !== null && typeof v === 'object';
}
