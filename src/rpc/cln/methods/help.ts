import { RpcCode, RpcError } from '../errors.js';
import type { MethodDef } from '../method.js';
import { usage } from '../schema.js';

/** `help [command]`: usage lines generated from the schemas, sorted by name (dev- commands only with --developer). */
export const help: MethodDef = {
  name: 'help',
  async run(params, { schemas, developer }) {
    const command = params.command as string | undefined;
    if (command !== undefined && !schemas.has(command)) throw new RpcError(RpcCode.METHOD_NOT_FOUND, `Unknown command ${command}`);
    // As lightningd: developer-only commands are listed only in --developer mode.
    const names = command !== undefined ? [command] : [...schemas.keys()].filter((n) => developer || !n.startsWith('dev-')).sort();
    return {
      help: names.map((n) => ({ command: `${n} ${usage(schemas.get(n)!)}`.trimEnd() })),
      'format-hint': 'simple',
    };
  },
};
