/**
 * A small Lightning network of real LDK nodes around one in-process anode node, on the harness's btcd:
 * each LDK node in its own child process (ldk-host.ts), fed every block (`follow`), listening on
 * 127.0.0.1; anode connected to the LDK nodes it is told to dial, its wallet funded. Shared by the
 * interop tests that need one LDK peer (gossip, closes) or several (routing over the graph).
 */
import type { BtcdNode } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { LdkPeer, type LdkChannelOptions } from './peers/ldk.js';

export interface LdkNodeSpec {
  /** One byte, repeated: the 32-byte seed (fixes the node id). */
  seed: number;
  channels?: LdkChannelOptions;
}

export interface LdkNetworkOptions {
  ldk: LdkNodeSpec[];
  /** anode's extra command-line options. */
  anodeExtra?: string[];
  /** Indexes of the LDK nodes anode dials (default: every one). */
  anodeDials?: number[];
  /** Pairs [i, j]: LDK node i dials LDK node j. */
  ldkLinks?: [number, number][];
  /** anode's wallet funding, sat (none when absent). */
  fundSat?: bigint;
}

export interface LdkNetwork {
  btcd: BtcdNode;
  anode: TestNode;
  ldk: LdkPeer[];
  /** Each LDK node's listening port, by index. */
  ports: number[];
  /** Feeds new blocks to every LDK node (publishing what they broadcast) and lets anode see them. */
  follow(): Promise<void>;
  /** Mines one block at a time (following) until `cond` holds. */
  mineUntil(cond: () => boolean | Promise<boolean>, what: string, maxBlocks?: number): Promise<void>;
  /**
   * LDK node `from` opens an (announced unless told otherwise) channel to LDK node `to`, funded from the
   * miner, and mines until both sides have it usable. Returns the channel id.
   */
  openLdkChannel(from: number, to: number, amountSat: bigint, opts?: { pushMsat?: bigint; announce?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export async function startLdkNetwork(btcd: BtcdNode, opts: LdkNetworkOptions): Promise<LdkNetwork> {
  const verbose = process.env.ANODE_INTEROP_VERBOSE === '1';
  const ldk = opts.ldk.map(
    (s, i) =>
      new LdkPeer({
        seed: Buffer.alloc(32, s.seed),
        ...(s.channels ? { channels: s.channels } : {}),
        ...(verbose ? { log: (l: string) => process.stderr.write(`[ldk${opts.ldk.length > 1 ? i + 1 : ''}] ${l}\n`) } : {}),
      }),
  );
  let anode: TestNode | undefined;
  const stop = async (): Promise<void> => {
    await anode?.stop();
    await Promise.all(ldk.map((l) => l.stop()));
  };
  try {
    for (const l of ldk) {
      await l.start();
      await l.channels.useChain(btcd);
    }
    anode = await startNode(btcd, { extra: opts.anodeExtra ?? [] });
    const ports: number[] = [];
    for (const l of ldk) ports.push(await l.listen());
    for (const i of opts.anodeDials ?? ldk.map((_, i) => i)) {
      await anode.node.peers.connect(ldk[i]!.nodeId, '127.0.0.1', ports[i]!);
      await ldk[i]!.waitForPeer(anode.node.nodeId, 10_000);
    }
    for (const [i, j] of opts.ldkLinks ?? []) {
      await ldk[i]!.connect('127.0.0.1', ports[j]!, ldk[j]!.nodeId);
      await ldk[j]!.waitForPeer(ldk[i]!.nodeId, 10_000);
    }
    if (opts.fundSat !== undefined) await fundWallet(btcd, anode, opts.fundSat);
    const a = anode;
    const follow = async (): Promise<void> => {
      for (const l of ldk) await l.channels.followChain();
      await a.channels.syncChain();
    };
    const mineUntil = (cond: () => boolean | Promise<boolean>, what: string, maxBlocks = 8): Promise<void> => btcd.mineUntil(cond, what, { maxBlocks, settleMs: 500, follow });
    const openLdkChannel = async (from: number, to: number, amountSat: bigint, o: { pushMsat?: bigint; announce?: boolean } = {}): Promise<string> => {
      await follow();
      const { channelId } = await ldk[from]!.channels.open({ nodeId: ldk[to]!.nodeId, amountSat, announce: o.announce ?? true, ...(o.pushMsat !== undefined ? { pushMsat: o.pushMsat } : {}) });
      // open() mined the block funding the funder's input: every other node must see it too.
      await follow();
      const usable = async (l: LdkPeer): Promise<boolean> => (await l.listChannels()).some((c) => c.channelId === channelId && c.isUsable);
      await mineUntil(async () => (await usable(ldk[from]!)) && (await usable(ldk[to]!)), `LDK${from + 1} → LDK${to + 1} usable`);
      return channelId;
    };
    return { btcd, anode: a, ldk, ports, follow, mineUntil, openLdkChannel, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

