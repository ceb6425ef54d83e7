import type { MethodDef } from '../method.js';

/** `notifications {enable}`: per-connection switch for command notifications (none emitted yet). */
export const notifications: MethodDef = {
  name: 'notifications',
  async run(params, ctx) {
    ctx.connection.notifications = params.enable as boolean;
    return {};
  },
};
