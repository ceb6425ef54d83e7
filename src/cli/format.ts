import { prettyPrint, rawText, type JsonDoc, type JsonNode } from '../rpc/cln/json.js';

/**
 * lightning-cli's output formats over a parsed response (tokens kept as received): pretty JSON with a
 * 3-space indent, human-readable text, and flat `path=value` lines.
 */

export function formatJson(doc: JsonDoc, node: JsonNode): string {
  return `${prettyPrint(doc, node)}\n`;
}

/**
 * Human-readable: scalars raw (strings without quotes, only \n and \t unescaped), objects as key=value
 * lines, array items one per line, and an object with a single member shown as just its value.
 */
export function formatHuman(doc: JsonDoc, node: JsonNode): string {
  let out = '';
  const walk = (n: JsonNode, term: string): void => {
    switch (n.kind) {
      case 'array':
        // lightning-cli prints nothing at all for an empty array, gluing the next key onto this line.
        if (n.items.length === 0) out += term;
        for (const item of n.items) walk(item, '\n');
        return;
      case 'object':
        if (n.members.length === 0) out += term;
        if (n.members.length === 1) {
          walk(n.members[0]!.value, '\n');
          return;
        }
        for (const m of n.members) {
          out += `${m.key}=`;
          walk(m.value, '\n');
        }
        return;
      default: {
        const raw = n.kind === 'string' ? doc.text.slice(n.start + 1, n.end - 1) : rawText(doc, n);
        out += raw.replace(/\\(.)/g, (all, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : all));
        out += term;
      }
    }
  };
  walk(node, '\n');
  return out;
}

/** `a.b[0].c=value`, one line per scalar. */
export function formatFlat(doc: JsonDoc, node: JsonNode): string {
  const lines: string[] = [];
  const walk = (n: JsonNode, path: string): void => {
    if (n.kind === 'object') {
      if (n.members.length === 0) lines.push(`${path}={}`);
      for (const m of n.members) walk(m.value, path === '' ? m.key : `${path}.${m.key}`);
    } else if (n.kind === 'array') {
      if (n.items.length === 0) lines.push(`${path}=[]`);
      n.items.forEach((v, i) => walk(v, `${path}[${i}]`));
    } else {
      lines.push(`${path}=${rawText(doc, n)}`);
    }
  };
  walk(node, '');
  return lines.length ? `${lines.join('\n')}\n` : '';
}
