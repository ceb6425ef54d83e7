import { fallbackFromScript, type FallbackField } from '../../invoice/fallback.js';
import { addressToScript, btcNetwork } from '../../wallet/keys.js';
import type { NodeCore } from './api.js';

/** An on-chain address of the node's network as a BOLT 11 fallback field; undefined when it is none. */
export function fallbackForAddress(core: NodeCore, address: string): FallbackField | undefined {
  try {
    return fallbackFromScript(addressToScript(address, btcNetwork(core.config.network)));
  } catch {
    return undefined;
  }
}
