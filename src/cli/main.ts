import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { member, rawText, type JsonDoc, type JsonNode } from '../rpc/cln/json.js';
import { pageFile } from '../rpc/cln/manpage.js';
import { DOCS_DIR, PACKAGE_VERSION } from '../rpc/cln/schema.js';
import { RpcClient, TalkError } from './client.js';
import { commandHelp, findCommand, LOCAL_COMMANDS, type CliCommand, type CliContext, type CliIO } from './commands.js';
import { formatFlat, formatHuman, formatJson } from './format.js';
import { parseCliArgs, USAGE, UsageError, type CliOptions } from './options.js';
import { buildParams, buildRequest, requestId } from './request.js';

/** lightning-cli's exit statuses. */
export const Exit = { OK: 0, RPC_ERROR: 1, TALK: 2, USAGE: 3 } as const;

export interface RunOptions {
  io: CliIO;
  pid?: number;
  home?: string;
  commands?: readonly CliCommand[];
  /** Where `help <command>` looks for manual pages before asking anode (docs/). */
  docsDir?: string;
}

/** anode-cli: returns the exit status. */
export async function runCli(argv: readonly string[], run: RunOptions): Promise<number> {
  const { io } = run;
  const pid = run.pid ?? process.pid;
  const table = run.commands ?? LOCAL_COMMANDS;
  let options: CliOptions;
  try {
    options = parseCliArgs(argv, run.home, (name) => findCommand(table, name) !== undefined);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`anode-cli: ${err.message}\n${USAGE}\n`);
    return Exit.USAGE;
  }
  if (options.version) {
    io.stdout(`v${PACKAGE_VERSION}-anode\n`);
    return Exit.OK;
  }
  if (options.help || options.args.length === 0) {
    const own = table.length ? `\n\nCommands of anode-cli itself:\n${table.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`).join('\n')}` : '';
    (options.help ? io.stdout : io.stderr)(`${USAGE}${own}\n`);
    return options.help ? Exit.OK : Exit.USAGE;
  }

  let client: RpcClient | undefined;
  const ctx: CliContext = {
    options,
    io,
    pid,
    client: async () => (client ??= await openClient(options, io)),
    callAndPrint: (method, params) => callAndPrint(ctx, method, params),
  };
  try {
    const [name, ...rest] = options.args as [string, ...string[]];
    const local = findCommand(table, name);
    if (local) return await runLocal(ctx, local, rest, '');
    if (name === 'help' && rest.length === 1 && !rest[0]!.includes('=') && options.format !== 'json' && options.format !== 'raw') {
      const page = join(run.docsDir ?? DOCS_DIR, pageFile(rest[0]!));
      if (existsSync(page)) {
        io.stdout(readFileSync(page, 'utf8'));
        return Exit.OK;
      }
    }
    return await callAndPrint(ctx, name, buildParams(rest, options.style));
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`anode-cli: ${err.message}\n`);
      return Exit.USAGE;
    }
    if (err instanceof TalkError) {
      io.stderr(`anode-cli: ${err.message}\n`);
      return Exit.TALK;
    }
    throw err;
  } finally {
    client?.close();
  }
}

async function runLocal(ctx: CliContext, cmd: CliCommand, args: string[], prefix: string): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h' || (cmd.subcommands && args.length === 0)) {
    (args.length ? ctx.io.stdout : ctx.io.stderr)(commandHelp(prefix, cmd));
    return args.length ? Exit.OK : Exit.USAGE;
  }
  if (cmd.subcommands?.length) {
    const sub = findCommand(cmd.subcommands, args[0]!);
    if (!sub) throw new UsageError(`unknown subcommand '${args[0]}' of ${prefix}${cmd.name} (see anode-cli ${prefix}${cmd.name} --help)`);
    return runLocal(ctx, sub, args.slice(1), `${prefix}${cmd.name} `);
  }
  if (!cmd.run) throw new UsageError(`${prefix}${cmd.name} cannot be run by itself`);
  return cmd.run(ctx, args);
}

async function openClient(options: CliOptions, io: CliIO): Promise<RpcClient> {
  const client = await RpcClient.open(options.rpcFile);
  if (options.notifications !== 'none') {
    const order = ['io', 'trace', 'debug', 'info', 'unusual', 'broken'];
    const min = order.indexOf(options.notifications);
    client.onNotification = (doc) => {
      const params = member(doc.root, 'params');
      const level = params && member(params, 'level');
      const message = params && member(params, 'message');
      if (message?.kind === 'string' && (level?.kind !== 'string' || order.indexOf(level.value) >= min)) io.stderr(`# ${message.value}\n`);
    };
    const id = requestId('notifications', process.pid);
    const reply = await client.call(buildRequest('notifications', id, '{"enable": true}'), id);
    if (reply.error) throw new TalkError(`cannot enable notifications: ${rawText(reply.doc, reply.error)}`);
  }
  return client;
}

/** A copy of an object node without one member (the result's `format-hint`). */
function without(node: JsonNode, key: string): JsonNode {
  return node.kind === 'object' ? { ...node, members: node.members.filter((m) => m.key !== key) } : node;
}

async function callAndPrint(ctx: CliContext, method: string, params: string): Promise<number> {
  const { options, io } = ctx;
  const id = requestId(method, ctx.pid);
  const request = buildRequest(method, id, params, options.filter);
  const client = await ctx.client();
  const reply = await client.call(request, id);
  const doc: JsonDoc = reply.doc;
  if (reply.error) {
    io.stdout(options.format === 'raw' ? `${rawText(doc, reply.error)}\n` : formatJson(doc, reply.error));
    return Exit.RPC_ERROR;
  }
  const result = reply.result!;
  const hint = member(result, 'format-hint');
  const format = options.format ?? (method === 'help' || hint ? 'human' : 'json');
  switch (format) {
    case 'raw':
      io.stdout(`${rawText(doc, result)}\n`);
      break;
    case 'json':
      io.stdout(formatJson(doc, result));
      break;
    case 'flat':
      io.stdout(formatFlat(doc, without(result, 'format-hint')));
      break;
    case 'human':
      io.stdout(formatHuman(doc, without(result, 'format-hint')));
      if (method === 'help' && options.format === undefined) {
        io.stdout('---\nrun `anode-cli help <command>` for more information on a specific command\n');
      }
      break;
  }
  return Exit.OK;
}
