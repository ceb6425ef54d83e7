import { secp } from '../../../crypto/secp256k1.js';
import { addressJson, connectPeer, resolveDestination, splitHostPort, type Destination, type NodeCore } from '../../../node/core/index.js';
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
  async check(params, { core }) {
    await destination(params, core);
  },
  async run(params, { core }) {
    const peer = await connectPeer(core, params.id as Buffer, await destination(params, core));
    return {
      id: peer.id,
      features: peer.remoteFeatures.toHex(),
      direction: peer.direction,
      address: addressJson(peer.address),
    };
  },
};

/**
 * Where to dial: the host resolved, on the given port or the network's; without a host, the first
 * address of the node's node_announcement in the gossip graph (Tor last), or none.
 */
async function destination(params: Record<string, unknown>, core: NodeCore): Promise<Destination | undefined> {
  const host = params.host as string | undefined;
  const port = params.port as number | undefined;
  if (host !== undefined) return resolveDestination(host, port ?? core.config.defaultPort);
  if (port !== undefined) throw invalidParams("Can't specify port without host");
  const announced = [...(core.graph?.nodeInfo((params.id as Buffer).toString('hex'))?.addresses ?? [])].sort((a, b) => Number(a.type === 'torv3') - Number(b.type === 'torv3'));
  return announced[0] && resolveDestination(announced[0].host, announced[0].port);
}
