import { RpcCode, RpcError, invalidParams } from '../errors.js';
import type { JsonNode } from '../json.js';
import { bindParams, type MethodDef } from '../method.js';

/**
 * `check command_to_check [parameters…]`: lightningd's dry run. The parameters after the command's name
 * (the rest of the array, or every other member of the object) are bound to that command exactly as a
 * call would bind them, bad ones reported with the token quoted; then the command's own checks that
 * change nothing run (its `check`). The command itself never runs. Replies `{"command_to_check": name}`.
 */
export const check: MethodDef = {
  name: 'check',
  async runRaw(params, doc, ctx) {
    let nameNode: JsonNode | undefined;
    let rest: JsonNode;
    if (params.kind === 'array') {
      nameNode = params.items[0];
      rest = { ...params, items: params.items.slice(1) };
    } else if (params.kind === 'object') {
      nameNode = params.members.find((m) => m.key === 'command_to_check')?.value;
      rest = { ...params, members: params.members.filter((m) => m.key !== 'command_to_check') };
    } else {
      throw invalidParams('Expected array or object for params');
    }
    if (!nameNode || nameNode.kind === 'null') throw invalidParams('missing required parameter: command_to_check');
    const name = nameNode.kind === 'string' ? nameNode.value : doc.text.slice(nameNode.start, nameNode.end);
    const def = ctx.methods.get(name);
    if (!def) throw new RpcError(RpcCode.METHOD_NOT_FOUND, `Unknown command '${name}'`);
    if (def.name.startsWith('dev-') && !ctx.developer) throw new RpcError(RpcCode.METHOD_NOT_FOUND, `Command ${def.name} is developer-only`);
    const checking = { ...ctx, checkOnly: true };
    if (def.runRaw) {
      // `check check …`: checking the check checks the command it names.
      await def.runRaw(rest, doc, checking);
    } else {
      const bound = await bindParams(def, ctx.schemas.get(def.name)!, rest, doc, checking);
      await def.check?.(bound, checking);
    }
    return { command_to_check: def.name };
  },
};
