/**
 * A strict parser of Prometheus' text exposition format (0.0.4), for tests: every line is a HELP, a
 * TYPE, or a sample of a family declared by a TYPE before it; names and label names as the format
 * allows them, label values with only its three escapes, values as Go's ParseFloat reads them; no
 * family declared twice, no series twice; histograms with cumulative buckets ending at le="+Inf"
 * whose count equals `_count`. Throws PromTextError on anything else.
 */
export class PromTextError extends Error {
  override name = 'PromTextError';
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?Inf$|^NaN$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function fail(line: number, what: string): never {
  throw new PromTextError(`line ${line}: ${what}`);
}

function parseValue(s: string, line: number): number {
  if (!FLOAT.test(s)) fail(line, `bad value '${s}'`);
  if (/Inf$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  return s === 'NaN' ? NaN : Number(s);
}

/** `{a="x",b="y"}` at `text[i]`: the labels and the index after `}`. */
function parseLabels(text: string, i: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++;
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(text.slice(i));
    if (!m) fail(line, 'bad label name');
    const name = m[0];
    i += name.length;
    if (text[i] !== '=' || text[i + 1] !== '"') fail(line, `label ${name}: expected ="`);
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) fail(line, `label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else fail(line, `label ${name}: bad escape \\${e ?? ''}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    if (name in labels) fail(line, `label ${name} twice`);
    labels[name] = value;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(line, `after label ${name}: expected , or }`);
  }
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(name);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

export function parsePromText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new PromTextError('the page does not end with a newline');
  const families = new Map<string, Family>();
  const series = new Set<string>();
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((raw, n) => {
    const line = n + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(raw);
      if (!m) return; // a comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC.test(name)) fail(line, `bad metric name ${name}`);
      const f = families.get(name);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) fail(line, `bad type ${rest}`);
        if (f?.samples.length || (f && f.type !== 'untyped')) fail(line, `TYPE of ${name} twice or after its samples`);
        families.set(name, { name, type: rest as Family['type'], samples: [], ...(f?.help !== undefined ? { help: f.help } : {}) });
      } else {
        if (f?.help !== undefined) fail(line, `HELP of ${name} twice`);
        if (/\\(?![\\n])/.test(rest)) fail(line, 'bad escape in HELP');
        families.set(name, { ...(f ?? { name, type: 'untyped', samples: [] }), help: rest });
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
    if (!nm) fail(line, 'bad sample name');
    const name = nm[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    if (raw[i] !== ' ') fail(line, 'expected a space before the value');
    const parts = raw.slice(i + 1).split(' ');
    if (parts.length > 2 || parts[0] === '') fail(line, 'expected a value and at most a timestamp');
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail(line, 'bad timestamp');
    const family = familyOf(name, families);
    if (!family) fail(line, `sample ${name} has no TYPE before it`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) fail(line, `series ${key} twice`);
    series.add(key);
    family.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (s.name === `${f.name}_bucket` && le === undefined) throw new PromTextError(`${f.name}: a bucket without le`);
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  for (const [key, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    const last = buckets.at(-1);
    if (!last || last.labels.le !== '+Inf') throw new PromTextError(`${f.name}${key}: buckets do not end with le="+Inf"`);
    for (let i = 1; i < buckets.length; i++) {
      if (Number(buckets[i]!.labels.le!.replace('+Inf', 'Infinity')) <= Number(buckets[i - 1]!.labels.le)) throw new PromTextError(`${f.name}${key}: le not increasing`);
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new PromTextError(`${f.name}${key}: buckets not cumulative`);
    }
    if (!count || count.value !== last.value) throw new PromTextError(`${f.name}${key}: _count differs from the +Inf bucket`);
  }
}

/** The value of one series (labels matched exactly), or undefined. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = familyOf(name, families);
  const want = JSON.stringify(Object.entries(labels).sort());
  return f?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
