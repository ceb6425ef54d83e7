import { CoreError } from '../core/node-core.js';
import type { MethodDef } from '../method.js';

export const towerGetinfo: MethodDef = {
  name: 'tower-getinfo',
  async run(_params, { core }) {
    if (!core.tower) throw new CoreError('NOT_ACTIVE', 'watchtower not active');
    const info = core.tower.info();
    return { pubkey: info.pubkey.toString('hex'), listeners: info.listeners, uris: info.uris };
  },
};
