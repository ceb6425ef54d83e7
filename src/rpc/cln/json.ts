/**
 * JSON for the CLN JSON-RPC socket: an incremental framer that finds where each top-level value ends in
 * a byte stream (requests arrive back to back with no separator), and a strict parser that keeps every
 * token's position, so ids can be echoed byte for byte, error messages can quote the raw token as CLN
 * does, duplicate keys can be detected and big integers keep their digits.
 *
 * One tolerance, as lightningd's non-strict tokenizer: in a request, an item of the `params` array or a
 * member value of the `params` object may be a bare token that is no JSON literal (`127.0.0.1`, which
 * lightning-cli sends unquoted); it is read as a string. Nothing else is loosened.
 *
 * Both are total: for any input they return a value or a JsonError, within bounded time and memory.
 */

export class JsonError extends Error {
  override name = 'JsonError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

export interface JsonMember {
  key: string;
  value: JsonNode;
}

interface Span {
  /** Offsets into the document text; strings include their quotes. */
  start: number;
  end: number;
}

export type JsonNode =
  | (Span & { kind: 'object'; members: JsonMember[] })
  | (Span & { kind: 'array'; items: JsonNode[] })
  | (Span & { kind: 'string'; value: string; /** Written without quotes (a bare `params` token). */ bare?: true })
  | (Span & { kind: 'number'; raw: string })
  | (Span & { kind: 'boolean'; value: boolean })
  | (Span & { kind: 'null' });

export interface JsonDoc {
  text: string;
  root: JsonNode;
}

/** Deepest nesting accepted; deeper input is refused rather than risking the stack. */
export const MAX_DEPTH = 256;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Parses one complete JSON text (RFC 8259, whitespace allowed around it). Throws JsonError.
 * `request`: the text is a JSON-RPC request, whose `params` items and member values may be bare tokens.
 */
export function parseJson(text: string, opts: { request?: boolean } = {}): JsonDoc {
  const p = new Parser(text, opts.request ?? false);
  p.ws();
  const root = p.value(0);
  p.ws();
  if (p.pos !== text.length) throw new JsonError(`unexpected ${p.describe()} after the value`, p.pos);
  return { text, root };
}

/**
 * The characters of a bare token: printable ASCII except whitespace and what delimits or starts JSON
 * structure (`"` `,` `:` `[` `]` `{` `}`) and the backslash.
 */
const BARE = /[!#-+\--9;-Z^-z|~]+/y;

class Parser {
  pos = 0;
  constructor(
    readonly text: string,
    readonly request: boolean,
  ) {}

  describe(): string {
    if (this.pos >= this.text.length) return 'end of input';
    return `character ${JSON.stringify(this.text[this.pos])} at ${this.pos}`;
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) throw new JsonError(`nesting deeper than ${MAX_DEPTH}`, this.pos);
    const t = this.text;
    const start = this.pos;
    const c = t[this.pos];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return { kind: 'string', start, value: this.string(), end: this.pos };
      case 't':
        return this.literal('true', { kind: 'boolean', start, end: start + 4, value: true });
      case 'f':
        return this.literal('false', { kind: 'boolean', start, end: start + 5, value: false });
      case 'n':
        return this.literal('null', { kind: 'null', start, end: start + 4 });
      default: {
        NUMBER.lastIndex = start;
        const m = NUMBER.exec(t);
        if (!m || m[0].length === 0) throw new JsonError(`unexpected ${this.describe()}`, this.pos);
        this.pos = start + m[0].length;
        return { kind: 'number', start, end: this.pos, raw: m[0] };
      }
    }
  }

  literal<N extends JsonNode>(word: string, node: N): N {
    if (!this.text.startsWith(word, this.pos)) throw new JsonError(`unexpected ${this.describe()}`, this.pos);
    this.pos += word.length;
    return node;
  }

  /** The request's `params`: an array or object whose direct items/values may be bare tokens. */
  params(depth: number): JsonNode {
    const c = this.text[this.pos];
    if (c === '[') return this.array(depth, true);
    if (c === '{') return this.object(depth, true);
    return this.value(depth);
  }

  /** A value, or a bare token read as a string when the text there is no JSON literal. */
  valueOrBare(depth: number): JsonNode {
    const start = this.pos;
    BARE.lastIndex = start;
    const m = BARE.exec(this.text);
    if (!m) return this.value(depth);
    const end = start + m[0].length;
    try {
      const v = this.value(depth);
      if (this.pos === end) return v;
    } catch (err) {
      if (!(err instanceof JsonError)) throw err;
    }
    this.pos = end;
    return { kind: 'string', start, end, value: m[0], bare: true };
  }

  object(depth: number, bareValues = false): JsonNode {
    const start = this.pos;
    this.pos++; // {
    const members: JsonMember[] = [];
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return { kind: 'object', start, end: this.pos, members };
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') throw new JsonError(`expected a string key, got ${this.describe()}`, this.pos);
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ':') throw new JsonError(`expected ':', got ${this.describe()}`, this.pos);
      this.pos++;
      this.ws();
      const params = this.request && depth === 0 && key === 'params';
      const value = params ? this.params(depth + 1) : bareValues ? this.valueOrBare(depth + 1) : this.value(depth + 1);
      members.push({ key, value });
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return { kind: 'object', start, end: this.pos, members };
      }
      throw new JsonError(`expected ',' or '}', got ${this.describe()}`, this.pos);
    }
  }

  array(depth: number, bareItems = false): JsonNode {
    const start = this.pos;
    this.pos++; // [
    const items: JsonNode[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return { kind: 'array', start, end: this.pos, items };
    }
    for (;;) {
      this.ws();
      items.push(bareItems ? this.valueOrBare(depth + 1) : this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return { kind: 'array', start, end: this.pos, items };
      }
      throw new JsonError(`expected ',' or ']', got ${this.describe()}`, this.pos);
    }
  }

  /** At an opening quote; returns the decoded string and leaves pos after the closing quote. */
  string(): string {
    const t = this.text;
    let i = this.pos + 1;
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= t.length) throw new JsonError('unterminated string', this.pos);
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        out += t.slice(runStart, i);
        this.pos = i + 1;
        return out;
      }
      if (c < 0x20) throw new JsonError(`control character 0x${c.toString(16)} in a string`, i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += t.slice(runStart, i);
      const e = t[i + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          i += 2;
          break;
        case 'b':
          out += '\b';
          i += 2;
          break;
        case 'f':
          out += '\f';
          i += 2;
          break;
        case 'n':
          out += '\n';
          i += 2;
          break;
        case 'r':
          out += '\r';
          i += 2;
          break;
        case 't':
          out += '\t';
          i += 2;
          break;
        case 'u': {
          const hex = t.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonError('bad \\u escape', i);
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
          break;
        }
        default:
          throw new JsonError('bad escape in a string', i);
      }
      runStart = i;
    }
  }
}

/** The token as written, strings with their quotes (CLN's json_tok_full). */
export function rawText(doc: JsonDoc, node: JsonNode): string {
  return doc.text.slice(node.start, node.end);
}

/** The token as jsmn sees it: strings without their quotes, escapes left as written. */
export function tokenText(doc: JsonDoc, node: JsonNode): string {
  return node.kind === 'string' && !node.bare ? doc.text.slice(node.start + 1, node.end - 1) : doc.text.slice(node.start, node.end);
}

/** First member named `key` (as CLN's json_get_member). */
export function member(node: JsonNode, key: string): JsonNode | undefined {
  if (node.kind !== 'object') return undefined;
  for (const m of node.members) if (m.key === key) return m.value;
  return undefined;
}

/**
 * A plain JavaScript value. Integers beyond 2^53 become bigint so no digit is lost; other numbers
 * become number.
 */
export function toValue(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const m of node.members) if (!Object.prototype.hasOwnProperty.call(o, m.key)) o[m.key] = toValue(m.value);
      return o;
    }
    case 'array':
      return node.items.map(toValue);
    case 'string':
    case 'boolean':
      return node.value;
    case 'null':
      return null;
    case 'number': {
      if (/^-?\d+$/.test(node.raw)) {
        const n = Number(node.raw);
        return Number.isSafeInteger(n) ? n : BigInt(node.raw);
      }
      return Number(node.raw);
    }
  }
}

/** Builds a node tree from a plain value (for validating what a method returns before it is sent). */
export function fromValue(value: unknown): JsonDoc {
  const text = stringify(value);
  return parseJson(text);
}

/** Compact JSON like JSON.stringify, but bigint is written as its digits and undefined members dropped. */
export function stringify(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stringify(v))).join(',')}]`;
      const parts: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (v === undefined || typeof v === 'function') continue;
        parts.push(`${JSON.stringify(k)}:${stringify(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return 'null';
  }
}

/** Pretty JSON from a parsed document, tokens kept as written: lightning-cli's layout (3-space indent). */
export function prettyPrint(doc: JsonDoc, node: JsonNode = doc.root, indent = 3, level = 0): string {
  const pad = ' '.repeat(indent * (level + 1));
  const close = ' '.repeat(indent * level);
  switch (node.kind) {
    case 'object':
      if (node.members.length === 0) return '{}';
      return `{\n${node.members.map((m) => `${pad}${JSON.stringify(m.key)}: ${prettyPrint(doc, m.value, indent, level + 1)}`).join(',\n')}\n${close}}`;
    case 'array':
      if (node.items.length === 0) return '[]';
      return `[\n${node.items.map((v) => `${pad}${prettyPrint(doc, v, indent, level + 1)}`).join(',\n')}\n${close}]`;
    default:
      return rawText(doc, node);
  }
}

// ---------------------------------------------------------------------------------------------------
// Framing

export type FrameResult = { ok: true; text: string } | { ok: false; reason: string; preview: string };

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Splits a byte stream into top-level JSON values. It only tracks strings, escapes and bracket depth,
 * so each byte is looked at once however the stream is chunked; the parser validates the value later.
 * A value larger than `maxBytes`, nested deeper than MAX_DEPTH, or starting with anything but `{`, `[`
 * or `"` is an error, after which the framer stays failed.
 */
export class JsonFramer {
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes in #buf that hold data; [#head, #len) is unconsumed. */
  #len = 0;
  #head = 0;
  /** Next byte to scan. */
  #scan = 0;
  #inValue = false;
  #inString = false;
  #escape = false;
  #depth = 0;
  #failed: FrameResult | undefined;
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(readonly maxBytes: number) {}

  /** Bytes of an unfinished value (0 when between values). */
  get partialBytes(): number {
    return this.#inValue ? this.#len - this.#head : 0;
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  push(chunk: Uint8Array): void {
    if (this.#failed) return;
    const need = this.#len - this.#head + chunk.length;
    if (this.#head > 0 && (need <= this.#buf.length || this.#head * 2 >= this.#len)) {
      this.#buf.copy(this.#buf, 0, this.#head, this.#len);
      this.#len -= this.#head;
      this.#scan -= this.#head;
      this.#head = 0;
    }
    if (this.#len + chunk.length > this.#buf.length) {
      const grown = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + chunk.length, 4096));
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  /** The next complete value, an error, or undefined when more bytes are needed. */
  next(): FrameResult | undefined {
    if (this.#failed) return this.#failed;
    const b = this.#buf;
    while (this.#scan < this.#len) {
      const c = b[this.#scan]!;
      if (!this.#inValue) {
        if (WS.has(c)) {
          this.#scan++;
          this.#head = this.#scan;
          continue;
        }
        if (c === 0x7b || c === 0x5b) {
          this.#inValue = true;
          this.#depth = 1;
        } else if (c === 0x22) {
          this.#inValue = true;
          this.#inString = true;
          this.#depth = 0;
        } else {
          return this.#fail(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
        }
        this.#scan++;
        continue;
      }
      this.#scan++;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === 0x5c) this.#escape = true;
        else if (c === 0x22) {
          this.#inString = false;
          if (this.#depth === 0) return this.#complete();
        }
        continue;
      }
      if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (++this.#depth > MAX_DEPTH) return this.#fail(`nesting deeper than ${MAX_DEPTH}`);
      } else if (c === 0x7d || c === 0x5d) {
        if (--this.#depth === 0) return this.#complete();
      }
    }
    if (this.#inValue && this.#len - this.#head > this.maxBytes) {
      return this.#fail(`request larger than ${this.maxBytes} bytes`);
    }
    return undefined;
  }

  #complete(): FrameResult {
    const size = this.#scan - this.#head;
    if (size > this.maxBytes) return this.#fail(`request larger than ${this.maxBytes} bytes`);
    const text = this.#decoder.decode(this.#buf.subarray(this.#head, this.#scan));
    this.#head = this.#scan;
    this.#inValue = false;
    this.#depth = 0;
    return { ok: true, text };
  }

  #fail(reason: string): FrameResult {
    const end = Math.min(this.#len, this.#head + PREVIEW_BYTES);
    let preview = this.#decoder.decode(this.#buf.subarray(this.#head, end));
    if (this.#len > end) preview += '...';
    this.#failed = { ok: false, reason, preview };
    this.#buf = Buffer.alloc(0);
    this.#len = this.#head = this.#scan = 0;
    return this.#failed;
  }
}

/** How much of a bad buffer an error message quotes. */
export const PREVIEW_BYTES = 256;

/** `text` cut to PREVIEW_BYTES characters for quoting in an error. */
export function preview(text: string): string {
  return text.length > PREVIEW_BYTES ? `${text.slice(0, PREVIEW_BYTES)}...` : text;
}
