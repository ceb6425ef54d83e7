import type { LndRpcCore } from './core.js';

/** LND lnrpc/watchtowerrpc/handler.go ErrTowerNotActive. */
export const ERR_TOWER_NOT_ACTIVE = 'watchtower not active';

/** watchtowerrpc.Watchtower.GetInfo. */
export async function towerGetInfo(core: LndRpcCore): Promise<Record<string, unknown>> {
  if (!core.tower) throw new Error(ERR_TOWER_NOT_ACTIVE);
  const info = await core.tower.getInfo();
  return { pubkey: info.pubkey, listeners: info.listeners, uris: info.uris };
}
