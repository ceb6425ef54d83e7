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
 * The filtered copy of `value`. A shape mismatch (template object, value array or the reverse) is not an
 * error: the value is kept whole and the first such mismatch is reported as a warning.
 */
export function applyFilter(value: unknown, tmpl: FilterTemplate, warnings: string[], path = ''): unknown {
  if (tmpl === true) return value;
  if (tmpl.kind === 'object') {
    if (Array.isArray(value)) {
      warnings.push(`${path || '.'} is an array`);
      return value;
    }
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const sub = tmpl.fields.get(k);
      if (sub !== undefined) out[k] = applyFilter(v, sub, warnings, `${path}.${k}`);
    }
    return out;
  }
  if (!Array.isArray(value)) {
    if (value !== null && typeof value === 'object') warnings.push(`${path || '.'} is an object`);
    return value;
  }
  return value.map((v) => applyFilter(v, tmpl.item, warnings, path));
}
