import type { PayContext } from '../../payment/pay.js';
import type { PaymentSender } from '../../payment/send.js';
import type { NodeCore } from './api.js';
import { CoreError } from './errors.js';

/** The payment sender, or CLN's refusal when the node has no channels (no chain backend). */
export function paymentSender(core: NodeCore): PaymentSender {
  if (!core.payments || !core.channelManager) throw new CoreError('NOT_ACTIVE', 'payments need channels (no chain backend)');
  return core.payments;
}

/** What `pay`, `keysend` and SendPaymentV2 need of the node: the sender, our network, the peers our usable channels reach. */
export function payContext(core: NodeCore): PayContext {
  const sender = paymentSender(core);
  const manager = core.channelManager!;
  return {
    sender,
    network: core.config.network,
    nodeId: core.nodeId.toString('hex'),
    ...(core.graph ? { graph: core.graph } : {}),
    reachablePeers: () => new Set(manager.list().filter((c) => c.usable).map((c) => c.data.peerId)),
    blockHeight: () => manager.blockHeight,
  };
}
