import { RpcCode, RpcError } from '../errors.js';
import type { MethodDef } from '../method.js';
import { usage, type MethodSchema } from '../schema.js';

/** `help [command]`: usage lines generated from the schemas, sorted by name (dev- commands only with --developer). */
export const help: MethodDef = {
  name: 'help',
  async check(params, { schemas }) {
    commandNames(params, schemas, true);
  },
  async run(params, { schemas, developer }) {
    return {
      help: commandNames(params, schemas, developer).map((n) => ({ command: `${n} ${usage(schemas.get(n)!)}`.trimEnd() })),
      'format-hint': 'simple',
    };
  },
};

/** The command asked for (which must exist), or every command sorted by name (dev- commands only with --developer). */
function commandNames(params: Record<string, unknown>, schemas: ReadonlyMap<string, MethodSchema>, developer: boolean): string[] {
  const command = params.command as string | undefined;
  if (command !== undefined && !schemas.has(command)) throw new RpcError(RpcCode.METHOD_NOT_FOUND, `Unknown command ${command}`);
  return command !== undefined ? [command] : [...schemas.keys()].filter((n) => developer || !n.startsWith('dev-')).sort();
}
