/**
 * The node's options as lightningd's listconfigs/setconfig show them: each option's value(s) and where
 * each came from (`default`, `cmdline`, `<file>:<line>`), read again from the same command line and
 * config files the configuration was built from; and the options that change while running.
 *
 * Dynamic today: `log-level` (the printed level; the log book keeps every level anyway). Everything
 * else needs a restart. setconfig writes the change to the config file first (commenting out the line
 * it replaces, as lightningd does) and only then changes the running node.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LOG_LEVELS, OPTIONS, parseArgs, type Config, type LogLevel } from './config.js';
import { CoreError, type ConfigEntry, type SettingsCore } from './core/index.js';
import type { LogControl } from './logger.js';

const byName = new Map<string, (typeof OPTIONS)[number]>();
for (const o of OPTIONS) for (const n of [o.name, ...(o.aliases ?? [])]) byName.set(n, o);

/** Options that only act once (print and exit) are not settings. */
const NOT_SETTINGS = new Set(['help', 'version']);
const CLN_LEVELS: Record<string, LogLevel> = { io: 'trace', unusual: 'warn', broken: 'error' };
const INSERTED = '# Inserted by setconfig ';
/** The one option that changes while running. */
const DYNAMIC = 'log-level';

interface FileValue {
  value: string;
  line: number;
  text: string;
}

/** The option lines of a config file: canonical name → every value with its line (1-based). */
function scanFile(path: string): Map<string, FileValue[]> {
  const out = new Map<string, FileValue[]>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return out;
  }
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    const eq = t.indexOf('=');
    const spec = byName.get((eq < 0 ? t : t.slice(0, eq)).trim().replace(/^--/, ''));
    if (!spec) return;
    const list = out.get(spec.name) ?? [];
    const value = eq < 0 ? 'true' : t.slice(eq + 1).trim();
    if (spec.kind === 'list') list.push({ value, line: i + 1, text: raw });
    else list.splice(0, list.length, { value, line: i + 1, text: raw });
    out.set(spec.name, list);
  });
  return out;
}

export class NodeSettings implements SettingsCore {
  readonly #config: Config;
  readonly #argv: readonly string[];
  readonly #log: LogControl | undefined;
  /** Values set by setconfig since start (they win over every source). */
  readonly #live = new Map<string, { value: string; source: string }>();

  constructor(config: Config, argv: readonly string[], log: LogControl | undefined) {
    this.#config = config;
    this.#argv = argv;
    this.#log = log;
  }

  /** The config files in the order they are read: the base (or --conf) file, then the network's. */
  #files(): { base: string; net: string; explicit: boolean } {
    const cli = parseArgs(this.#argv);
    const conf = cli.get('conf')?.at(-1);
    const home = homedir();
    const expand = (p: string): string => (p === '~' || p.startsWith('~/') ? join(home, p.slice(1)) : p);
    return { base: conf ? resolve(expand(conf)) : join(this.#config.anodeDir, 'config'), net: join(this.#config.dataDir, 'config'), explicit: conf !== undefined };
  }

  option(name: string): { dynamic: boolean } | undefined {
    return OPTIONS.some((o) => o.name === name && !NOT_SETTINGS.has(name)) ? { dynamic: name === DYNAMIC } : undefined;
  }

  list(): ConfigEntry[] {
    const cli = parseArgs(this.#argv);
    const files = this.#files();
    const base = scanFile(files.base);
    const net = scanFile(files.net);
    const out: ConfigEntry[] = [];
    for (const spec of OPTIONS) {
      if (NOT_SETTINGS.has(spec.name)) continue;
      const dynamic = spec.name === DYNAMIC;
      const entry = (values: string[], sources: string[]): ConfigEntry => ({ name: spec.name, kind: spec.kind, values, sources, dynamic });
      const live = this.#live.get(spec.name);
      const fromCli = cli.get(spec.name);
      const fromFile = net.get(spec.name) ? { path: files.net, vals: net.get(spec.name)! } : base.get(spec.name) ? { path: files.base, vals: base.get(spec.name)! } : undefined;
      if (live) out.push(entry([live.value], [live.source]));
      else if (fromCli) out.push(entry(spec.kind === 'list' ? fromCli : [fromCli.at(-1)!], (spec.kind === 'list' ? fromCli : [0]).map(() => 'cmdline')));
      else if (fromFile) {
        const vals = spec.kind === 'list' ? fromFile.vals : [fromFile.vals.at(-1)!];
        out.push(entry(vals.map((v) => v.value), vals.map((v) => `${fromFile.path}:${v.line}`)));
      } else if (spec.kind === 'flag') out.push(entry(['false'], ['default']));
      else if (Array.isArray(spec.default)) out.push(entry([...spec.default], spec.default.map(() => 'default')));
      else if (spec.default !== undefined) out.push(entry([String(spec.default)], ['default']));
    }
    return out;
  }

  async set(name: string, value: string, transient: boolean): Promise<ConfigEntry> {
    if (name !== DYNAMIC) throw new CoreError('INVALID', `${name}: not dynamic`);
    const lower = value.toLowerCase();
    const level = (CLN_LEVELS[lower] ?? lower) as LogLevel;
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new CoreError('INVALID', `Error setting ${name}: '${value}' is not one of ${LOG_LEVELS.join(', ')}`);
    let source = 'setconfig transient';
    if (!transient) source = this.#save(name, `${name}=${value}`);
    if (this.#log) this.#log.printLevel = level;
    this.#live.set(name, { value, source });
    return this.list().find((e) => e.name === name)!;
  }

  /**
   * lightningd's configvar_save: the line that set the option in a file is replaced when setconfig wrote
   * it, else commented out; otherwise the new line is appended (to --conf's file, else the network's).
   * Returns the new line's `<file>:<line>`. Written through a temporary file and a rename.
   */
  #save(name: string, confline: string): string {
    const files = this.#files();
    const stamp = `${INSERTED}${new Date().toUTCString()}`;
    for (const path of [files.net, files.base]) {
      const old = scanFile(path).get(name)?.at(-1);
      if (!old) continue;
      const lines = readFileSync(path, 'utf8').split('\n');
      if (old.line > 1 && lines[old.line - 2]!.startsWith(INSERTED)) {
        lines[old.line - 2] = stamp;
        lines[old.line - 1] = confline;
        writeAtomic(path, lines.join('\n'));
        return `${path}:${old.line}`;
      }
      lines[old.line - 1] = `# setconfig commented out: ${lines[old.line - 1]}`;
      writeAtomic(path, lines.join('\n'));
      break;
    }
    const target = files.explicit ? files.base : files.net;
    let text = '';
    try {
      text = readFileSync(target, 'utf8');
    } catch {
      /* a new file */
    }
    if (text !== '' && !text.endsWith('\n')) text += '\n';
    const line = text === '' ? 2 : text.split('\n').length + 1;
    writeAtomic(target, `${text}${stamp}\n${confline}\n`);
    return `${target}:${line}`;
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.setconfig.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
