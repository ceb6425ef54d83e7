/**
 * `anode-cli wtclient …`: lncli's watchtower-client commands and flags, each mapped onto a
 * `wtclient-*` JSON-RPC method.
 */
import type { CliCommand, CliContext } from './commands.js';
import { UsageError } from './options.js';

function flags(args: string[], known: readonly string[]): { set: Set<string>; rest: string[] } {
  const set = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    const m = /^--?([a-z_]+)(=(true|false))?$/.exec(a);
    if (m) {
      if (!known.includes(m[1]!)) throw new UsageError(`unknown flag ${a}`);
      if (m[3] !== 'false') set.add(m[1]!);
    } else rest.push(a);
  }
  return { set, rest };
}

function positional(rest: string[], n: number, usage: string): string[] {
  if (rest.length !== n) throw new UsageError(`usage: ${usage}`);
  return rest;
}

const LIST_FLAGS = ['include_sessions', 'exclude_exhausted_sessions'] as const;

function listParams(set: Set<string>): Record<string, boolean> {
  const p: Record<string, boolean> = {};
  for (const f of LIST_FLAGS) if (set.has(f)) p[f] = true;
  return p;
}

const call = (ctx: CliContext, method: string, params: unknown): Promise<number> => ctx.callAndPrint(method, JSON.stringify(params));

export const WTCLIENT_COMMAND: CliCommand = {
  name: 'wtclient',
  summary: 'The watchtower client: towers and sessions (as lncli wtclient).',
  subcommands: [
    {
      name: 'add',
      usage: '<pubkey>@<host>[:<port>]',
      summary: 'Add a tower, or an address of a known tower (default port 9911).',
      run: (ctx, args) => {
        const [uri] = positional(flags(args, []).rest, 1, 'wtclient add <pubkey>@<host>[:<port>]');
        return call(ctx, 'wtclient-addtower', { pubkey: uri });
      },
    },
    {
      name: 'remove',
      usage: '<pubkey>[@<host>[:<port>]]',
      summary: "Remove a tower (its un-acked updates go to another tower), or only one of its addresses.",
      run: (ctx, args) => {
        const [uri] = positional(flags(args, []).rest, 1, 'wtclient remove <pubkey>[@<host>[:<port>]]');
        return call(ctx, 'wtclient-removetower', { pubkey: uri });
      },
    },
    {
      name: 'deactivate',
      usage: '<pubkey>',
      summary: 'Stop using a tower until it is added again.',
      run: (ctx, args) => {
        const [pubkey] = positional(flags(args, []).rest, 1, 'wtclient deactivate <pubkey>');
        return call(ctx, 'wtclient-deactivatetower', { pubkey });
      },
    },
    {
      name: 'towers',
      usage: '[--include_sessions] [--exclude_exhausted_sessions]',
      summary: 'List the towers.',
      run: (ctx, args) => {
        const f = flags(args, LIST_FLAGS);
        positional(f.rest, 0, 'wtclient towers [--include_sessions] [--exclude_exhausted_sessions]');
        return call(ctx, 'wtclient-listtowers', listParams(f.set));
      },
    },
    {
      name: 'tower',
      usage: '<pubkey> [--include_sessions] [--exclude_exhausted_sessions]',
      summary: 'Show one tower.',
      run: (ctx, args) => {
        const f = flags(args, LIST_FLAGS);
        const [pubkey] = positional(f.rest, 1, 'wtclient tower <pubkey> [--include_sessions] [--exclude_exhausted_sessions]');
        return call(ctx, 'wtclient-gettowerinfo', { pubkey, ...listParams(f.set) });
      },
    },
    {
      name: 'stats',
      summary: "The client's counters since start-up.",
      run: (ctx, args) => {
        positional(flags(args, []).rest, 0, 'wtclient stats');
        return call(ctx, 'wtclient-stats', {});
      },
    },
    {
      name: 'policy',
      usage: '[--legacy|--anchor|--taproot]',
      summary: 'The session policy of a client type (default legacy).',
      run: (ctx, args) => {
        const f = flags(args, ['legacy', 'anchor', 'taproot']);
        positional(f.rest, 0, 'wtclient policy [--legacy|--anchor|--taproot]');
        if (f.set.size > 1) throw new UsageError('only one of --legacy, --anchor, --taproot');
        return call(ctx, 'wtclient-policy', { policy_type: [...f.set][0] ?? 'legacy' });
      },
    },
    {
      name: 'session',
      summary: 'Session commands.',
      subcommands: [
        {
          name: 'terminate',
          usage: '<session id>',
          summary: 'Never use a session again (its un-acked updates go to another session).',
          run: (ctx, args) => {
            const [id] = positional(flags(args, []).rest, 1, 'wtclient session terminate <session id>');
            return call(ctx, 'wtclient-terminatesession', { session_id: id });
          },
        },
      ],
    },
  ],
};
