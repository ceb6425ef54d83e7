/**
 * `listconfigs [config]` and `setconfig config [val] [transient]` in lightningd's shapes: a flag is
 * `{set, source}`, a list option `{values_str, sources}`, any other `{value_int|value_str, source}`;
 * `dynamic: true` marks what setconfig can change (anode: `log-level`).
 */
import { CoreError, type ConfigEntry, type SettingsCore } from '../../../node/core/index.js';
import { RpcCode, RpcError } from '../errors.js';
import type { CallContext, MethodDef, ParamContext } from '../method.js';

function settings(ctx: CallContext): SettingsCore {
  if (!ctx.core.settings) throw new CoreError('NOT_ACTIVE', 'configuration not available');
  return ctx.core.settings;
}

export function configJson(e: ConfigEntry): Record<string, unknown> {
  const dynamic = e.dynamic ? { dynamic: true } : {};
  if (e.kind === 'flag') return { set: e.values[0] === 'true', source: e.sources[0], ...dynamic };
  if (e.kind === 'list') return { values_str: e.values, sources: e.sources, ...dynamic };
  if (e.kind === 'integer' && /^-?\d+$/.test(e.values[0]!)) return { value_int: Number(e.values[0]), source: e.sources[0], ...dynamic };
  return { value_str: e.values[0], source: e.sources[0], ...dynamic };
}

/** A config name the node has (lightningd's param_opt_config). */
function configName(p: ParamContext): unknown {
  const name = p.standard() as string;
  if (!settings(p.call).option(name)) throw p.bad('Unknown config option');
  return name;
}

export const listconfigs: MethodDef = {
  name: 'listconfigs',
  params: { config: configName },
  async run(params, ctx) {
    const only = params.config as string | undefined;
    const configs: Record<string, unknown> = {};
    for (const e of settings(ctx).list()) if (only === undefined || e.name === only) configs[e.name] = configJson(e);
    return { configs };
  },
};

export const setconfig: MethodDef = {
  name: 'setconfig',
  params: {
    config(p) {
      const name = configName(p) as string;
      if (!settings(p.call).option(name)!.dynamic) throw p.bad('Not a dynamic config option');
      return name;
    },
  },
  async check(params, ctx) {
    // Every dynamic option takes a value (there is no dynamic flag).
    if (params.val === undefined) throw new RpcError(RpcCode.INVALID_PARAMS, `${String(params.config)} requires a value`);
  },
  async run(params, ctx) {
    await setconfig.check!(params, ctx);
    const name = params.config as string;
    try {
      const e = await settings(ctx).set(name, String(params.val), params.transient === true);
      return { config: { config: e.name, ...configJson(e) } };
    } catch (err) {
      if (err instanceof CoreError && err.kind === 'INVALID') throw new RpcError(RpcCode.INVALID_PARAMS, err.message);
      throw err;
    }
  },
};

export const CONFIG_METHODS: readonly MethodDef[] = [listconfigs, setconfig];
