import { secp } from '../../../crypto/secp256k1.js';
import { addressJson, connectPeer, resolveDestination, splitHostPort, type Destination } from '../../../node/core/index.js';
import { invalidParams } from '../errors.js';
import type { MethodDef } from '../method.js';

const BOTH_HOST = "Can't specify host as both xxx@yyy and separate argument";
const BOTH_PORT = "Can't specify port as both xxx@yyy:port and separate argument";

/**
 * `connect id [host] [port]`, `id` also as `id@host` or `id@host:port`. As lightningd, the three are
 * parsed in the order given, so `host` conflicts are reported whichever comes first.
 */
export const connect: MethodDef = {
  name: 'connect',
  params: {
    id(p) {
      const text = p.standard() as string;
      const at = text.indexOf('@');
      const idPart = at < 0 ? text : text.slice(0, at);
      if (!/^0[23][0-9a-fA-F]{64}$/.test(idPart) || !secp.isPublicKey(Buffer.from(idPart, 'hex'))) throw p.bad('should be a node id');
      if (at >= 0) {
        if (p.values.host !== undefined) throw invalidParams(BOTH_HOST);
        const hp = splitHostPort(text.slice(at + 1));
        if (!hp) throw invalidParams('malformed host @part');
        p.values.host = hp.host;
        if (hp.port !== undefined) {
          if (p.values.port !== undefined) throw invalidParams(BOTH_PORT);
          p.values.port = hp.port;
        }
      }
      return Buffer.from(idPart, 'hex');
    },
    host(p) {
      if (p.values.host !== undefined) throw invalidParams(BOTH_HOST);
      return p.standard();
    },
    port(p) {
      if (p.values.port !== undefined) throw invalidParams(BOTH_PORT);
      const port = p.standard() as number;
      if (port === 0) throw p.bad('should be non-zero');
      return port;
    },
  },
  async run(params, { core }) {
    const id = params.id as Buffer;
    const host = params.host as string | undefined;
    const port = params.port as number | undefined;
    let dest: Destination | undefined;
    if (host !== undefined) dest = await resolveDestination(host, port ?? core.config.defaultPort);
    else if (port !== undefined) throw invalidParams("Can't specify port without host");
    const peer = await connectPeer(core, id, dest);
    return {
      id: peer.id,
      features: peer.remoteFeatures.toHex(),
      direction: peer.direction,
      address: addressJson(peer.address),
    };
  },
};
