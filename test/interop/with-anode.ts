/**
 * The setup the channel interop tests share: a remote implementation on the harness's btcd, an
 * in-process anode node on the same chain, and anode connected to the remote.
 */
import type { ChannelNode } from './adapter.js';
import type { BtcdNode } from '../harness/btcd.js';
import { startNode, type TestNode } from '../harness/daemon.js';

/** Starts `remote` on `btcd`, then an anode node (with `extra` options), and connects anode to it. */
export async function startWithAnode(remote: ChannelNode, btcd: BtcdNode, extra: string[] = []): Promise<TestNode> {
  await remote.start();
  await remote.channels.useChain(btcd);
  const anode = await startNode(btcd, { extra });
  const port = await remote.listen();
  await anode.node.peers.connect(remote.nodeId, '127.0.0.1', port);
  await remote.waitForPeer(anode.node.nodeId, 10_000);
  return anode;
}
