import { checkDisconnect, disconnectPeer, isKnownPeer } from '../../../node/core/index.js';
import { invalidParams } from '../errors.js';
import { tokenText } from '../json.js';
import type { MethodDef } from '../method.js';
import { nodeIdParam } from './peer-id.js';

/**
 * `disconnect id [force]`: the peer must be in the peer table (checked while parsing `id`, as
 * lightningd's param_peer), connected, and without a channel that needs it unless `force`. Replies
 * `{}` once the connection is gone.
 */
export const disconnect: MethodDef = {
  name: 'disconnect',
  params: {
    async id(p) {
      const id = nodeIdParam(p, 'invalid peer id');
      if (!(await isKnownPeer(p.call.core, id.toString('hex')))) throw invalidParams(`Unknown peer '${tokenText(p.doc, p.node)}'`);
      return id;
    },
  },
  async check(params, { core }) {
    await checkDisconnect(core, params.id as Buffer, (params.force as boolean | undefined) ?? false);
  },
  async run(params, { core }) {
    await disconnectPeer(core, params.id as Buffer, (params.force as boolean | undefined) ?? false);
    return {};
  },
};
