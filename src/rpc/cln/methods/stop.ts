import type { MethodDef } from '../method.js';

/** `stop`: answers, then shuts the node down cleanly (the daemon exits 0). */
export const stop: MethodDef = {
  name: 'stop',
  async run(_params, ctx) {
    ctx.afterResponse(() => {
      ctx.core.stop().catch((err: Error) => ctx.log.error({ err: err.message }, 'error during shutdown'));
    });
    return { result: 'Shutdown complete' };
  },
};
