import { sendable } from '../../payment/capacity.js';
import { routeHints, type ExposePrivate, type HintChannel, type HintResult } from '../../payment/route-hints.js';
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

/**
 * Route hints for a new invoice over our private channels (`payment/route-hints.ts`): CLN `invoice`'s
 * `exposeprivatechannels`, LND `AddInvoice`'s `private`.
 */
export function invoiceRouteHints(core: NodeCore, amountMsat: bigint | undefined, expose: ExposePrivate): HintResult {
  const m = core.channelManager;
  const channels: HintChannel[] = (m?.list() ?? []).map((ch) => {
    const d = ch.data;
    return {
      peerId: d.peerId,
      ...(d.shortChannelId !== undefined ? { shortChannelId: d.shortChannelId } : {}),
      ...(d.localAlias !== undefined ? { localAlias: d.localAlias } : {}),
      ...(d.remoteAlias !== undefined ? { remoteAlias: d.remoteAlias } : {}),
      private: !d.announce,
      active: d.state === 'CHANNELD_NORMAL' && !d.closing?.localScript && !d.closing?.remoteScript && m!.isPeerConnected(d.peerId),
      inboundMsat: sendable(d, 'remote'),
    };
  });
  return routeHints({ nodeId: core.nodeId, channels, ...(amountMsat !== undefined ? { amountMsat } : {}), expose, updatesOf: (scid) => core.privateChannelUpdates?.(scid) ?? [] });
}
