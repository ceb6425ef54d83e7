import { tower } from '../../../node/core/index.js';
import type { MethodDef } from '../method.js';

export const towerGetinfo: MethodDef = {
  name: 'tower-getinfo',
  async run(_params, { core }) {
    const info = tower(core).info();
    return { pubkey: info.pubkey.toString('hex'), listeners: info.listeners, uris: info.uris };
  },
};
