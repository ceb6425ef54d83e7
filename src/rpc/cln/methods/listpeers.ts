import { listPeers } from '../../../node/core/index.js';
import type { ClnLogLevel } from '../../../node/log-book.js';
import type { MethodDef } from '../method.js';
import { nodeIdParam } from './peer-id.js';

/** Log level names lightningd accepts (case-insensitive), with its aliases. */
const LEVELS: Record<string, string> = {
  io: 'io',
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  unusual: 'unusual',
  warn: 'unusual',
  broken: 'broken',
  error: 'broken',
};

export const listpeers: MethodDef = {
  name: 'listpeers',
  params: {
    id: (p) => nodeIdParam(p),
    level(p) {
      const reason = "should be 'io', 'debug', 'info', or 'unusual'";
      if (p.node.kind !== 'string') throw p.bad(reason);
      const level = LEVELS[p.node.value.toLowerCase()];
      if (!level) throw p.bad(reason);
      return level;
    },
  },
  async run(params, { core }) {
    const id = params.id as Buffer | undefined;
    const level = params.level as ClnLogLevel | undefined;
    const peers = await listPeers(core, id?.toString('hex'));
    return {
      peers: peers.map((p) => ({
        id: p.id,
        connected: p.connected,
        num_channels: p.numChannels,
        ...(p.netaddr !== undefined ? { netaddr: [p.netaddr] } : {}),
        ...(p.remoteAddr !== undefined ? { remote_addr: p.remoteAddr } : {}),
        features: p.features,
        // The peer's entries in the node's log book (none when the node keeps no book).
        ...(level !== undefined ? { log: core.logBook?.list(level, p.id) ?? [] } : {}),
      })),
    };
  },
};
