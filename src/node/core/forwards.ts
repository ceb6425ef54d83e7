import type { ForwardRecord, ForwardRepository } from '../../store/forwards.js';
import type { NodeCore } from './api.js';
import { CoreError } from './errors.js';

/** The switch's forwards, or CLN's refusal when the node has no channels (no chain backend). */
export function forwardStore(core: NodeCore): ForwardRepository {
  if (!core.forwards || !core.channelManager) throw new CoreError('NOT_ACTIVE', 'forwards need channels (no chain backend)');
  return core.forwards;
}

/** The fee a forward earned (incoming − outgoing amount); none before it has an outgoing amount. */
export function forwardFeeMsat(f: ForwardRecord): bigint | undefined {
  return f.outMsat === undefined ? undefined : f.inMsat - f.outMsat;
}
