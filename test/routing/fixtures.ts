/** Small hand-made graphs for the pathfinder's tests: node ids in a fixed order, channels with policies. */
import { ChannelGraph, type Policy } from '../../src/gossip/graph.js';
import { scidFromString } from '../../src/gossip/messages.js';

/** A 33-byte node id whose hex order follows `n`. */
export const nodeId = (n: number): string => '02' + n.toString(16).padStart(64, '0');

export interface PolicySpec {
  base?: number;
  ppm?: number;
  cltv?: number;
  min?: bigint;
  max?: bigint;
  disabled?: boolean;
}

/** Adds channel `scid` (BLOCKxTXxOUT) between nodes `a` and `b` with each direction's policy (`ab` is a → b). */
export function addChannel(g: ChannelGraph, scid: string, a: number, b: number, capacitySat: bigint, ab: PolicySpec | undefined, ba: PolicySpec | undefined): void {
  const [n1, n2] = a < b ? [a, b] : [b, a];
  g.addChannel(scidFromString(scid)!, nodeId(n1), nodeId(n2), capacitySat);
  const set = (from: number, p: PolicySpec | undefined): void => {
    if (!p) return;
    const dir = from === n1 ? 0 : 1;
    const policy: Omit<Policy, 'disabled'> = {
      timestamp: 1,
      channelFlags: dir | (p.disabled ? 2 : 0),
      messageFlags: 1,
      cltvExpiryDelta: p.cltv ?? 40,
      htlcMinimumMsat: p.min ?? 1n,
      htlcMaximumMsat: p.max ?? capacitySat * 1000n,
      feeBaseMsat: p.base ?? 1000,
      feeProportionalMillionths: p.ppm ?? 1,
    };
    g.setPolicy(scidFromString(scid)!, policy);
  };
  set(a, ab);
  set(b, ba);
}
