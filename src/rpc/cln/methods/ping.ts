import { MAX_PING_LEN } from '../../../peer/peer.js';
import { pingPeer } from '../../../node/core/index.js';
import { invalidParams } from '../errors.js';
import type { MethodDef } from '../method.js';
import { nodeIdParam } from './peer-id.js';

export const ping: MethodDef = {
  name: 'ping',
  params: { id: (p) => nodeIdParam(p) },
  async run(params, { core }) {
    const len = (params.len as number | undefined) ?? 128;
    const pongbytes = (params.pongbytes as number | undefined) ?? 128;
    if (len > MAX_PING_LEN) throw invalidParams(`${len} would result in oversize ping`);
    if (pongbytes > 65535) throw invalidParams(`pongbytes ${pongbytes} > 65535`);
    return { totlen: await pingPeer(core, params.id as Buffer, len, pongbytes) };
  },
};
