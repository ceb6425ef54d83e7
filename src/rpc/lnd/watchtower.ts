import { tower, type NodeCore } from '../../node/core/index.js';

/** watchtowerrpc.Watchtower.GetInfo. */
export async function towerGetInfo(core: NodeCore): Promise<Record<string, unknown>> {
  const info = tower(core).info();
  return { pubkey: info.pubkey, listeners: info.listeners, uris: info.uris };
}
