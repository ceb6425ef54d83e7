import type { RpcClient } from './client.js';
import type { CliOptions } from './options.js';
import { WTCLIENT_COMMAND } from './wtclient.js';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** What a command gets: the parsed options, output, and a JSON-RPC call helper. */
export interface CliContext {
  readonly options: CliOptions;
  readonly io: CliIO;
  readonly pid: number;
  /** The socket client, opened on first use (TalkError when anode cannot be reached: exit 2). */
  client(): Promise<RpcClient>;
  /** Calls `method` with `params` (a JSON text) and prints the reply as the options say; returns the exit status. */
  callAndPrint(method: string, params: string): Promise<number>;
}

/**
 * A command anode-cli implements itself rather than passing straight to the JSON-RPC method of the
 * same name, with optional subcommands: this is where the lncli-style watchtower commands go
 * (`anode-cli wtclient towers`, `anode-cli wtclient add <pubkey>@<host>`, …), each a thin wrapper that
 * maps its arguments onto JSON-RPC calls.
 */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  /** `<pubkey>@<host>[:port]`, shown by `anode-cli <name> --help`. */
  readonly usage?: string;
  readonly subcommands?: readonly CliCommand[];
  run?(ctx: CliContext, args: string[]): Promise<number>;
}

/** anode-cli's own commands; any other name is sent to anode as a JSON-RPC method. */
export const LOCAL_COMMANDS: readonly CliCommand[] = [
  {
    name: 'tower',
    summary: 'The watchtower this node runs for others (as lncli tower).',
    subcommands: [
      {
        name: 'info',
        summary: "The tower's public key, listening addresses and URIs (JSON-RPC tower-getinfo).",
        run: (ctx) => ctx.callAndPrint('tower-getinfo', '{}'),
      },
    ],
  },
  WTCLIENT_COMMAND,
];

export function findCommand(table: readonly CliCommand[], name: string): CliCommand | undefined {
  return table.find((c) => c.name === name);
}

export function commandHelp(prefix: string, cmd: CliCommand): string {
  const lines = [`Usage: anode-cli ${prefix}${cmd.name}${cmd.usage ? ` ${cmd.usage}` : cmd.subcommands ? ' <subcommand> [args...]' : ''}`, '', cmd.summary];
  if (cmd.subcommands?.length) {
    lines.push('', 'Subcommands:');
    for (const s of cmd.subcommands) lines.push(`  ${s.name.padEnd(20)} ${s.summary}`);
  }
  return `${lines.join('\n')}\n`;
}
