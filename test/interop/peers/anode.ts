/**
 * anode itself as the remote implementation: the daemon (`dist/src/bin/anode.js`) in a child process on
 * a btcd, driven only through its JSON-RPC socket, as an operator drives it. With it, the channel
 * scenarios that run anode against LDK also run anode against anode.
 *
 * The daemon follows btcd by itself (polling it), so it is started on the chain it will use, and it
 * publishes its own transactions.
 */
import { rpcCall } from '../../rpc/harness.js';
import type { BtcdNode } from '../../harness/btcd.js';
import { CHAIN_POLL_MS, chainArgs, startDaemon, TO_SELF_DELAY, type Daemon } from '../../harness/daemon.js';
import { sleep, until } from '../../harness/wait.js';
import { addressToScript, btcNetwork } from '../../../src/wallet/index.js';
import type { ChannelChain, ChannelNode, ChannelOps, RemoteChannel, RemotePeerInfo } from '../adapter.js';

/** What listpeerchannels says of a channel, the fields used here. */
interface ListedChannel {
  channel_id: string;
  peer_id: string;
  peer_connected: boolean;
  state: string;
  opener: 'local' | 'remote';
  total_msat: number;
  spendable_msat: number;
  receivable_msat: number;
  feerate: { perkw: number };
  funding_txid: string;
  short_channel_id?: string;
}

export class AnodePeer implements ChannelNode {
  readonly name = 'anode';
  readonly channels: ChannelOps;
  private daemon: Daemon | undefined;

  /** `btcd`: the chain the daemon is started on. */
  constructor(private readonly btcd: BtcdNode) {
    this.channels = new AnodeChannelOps(this, btcd);
  }

  private get started(): Daemon {
    if (!this.daemon) throw new Error('AnodePeer: start() first');
    return this.daemon;
  }

  get nodeId(): Buffer {
    return Buffer.from(this.started.line.nodeId as string, 'hex');
  }

  /** A JSON-RPC call; throws with anode's error object when it answers with one. */
  async rpc<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const r = await rpcCall(this.started.line.rpc as string, method, params);
    if (r.error) throw new Error(`AnodePeer ${method}: ${JSON.stringify(r.error)}`);
    return r.result as T;
  }

  async start(): Promise<void> {
    if (this.daemon) throw new Error('AnodePeer: already started');
    this.daemon = await startDaemon(['--developer', ...chainArgs(this.btcd)]);
  }

  /** The daemon listens from the start (--addr=127.0.0.1:0): its port from the start line. */
  async listen(): Promise<number> {
    const [address] = this.started.line.listening as string[];
    return Number(address!.split(':').at(-1));
  }

  async connect(host: string, port: number, remoteNodeId: Buffer): Promise<void> {
    await this.rpc('connect', { id: remoteNodeId.toString('hex'), host, port });
  }

  private async peer(nodeId: Buffer): Promise<{ id: string; connected: boolean; features?: string } | undefined> {
    const { peers } = await this.rpc<{ peers: { id: string; connected: boolean; features?: string }[] }>('listpeers', { id: nodeId.toString('hex') });
    return peers[0];
  }

  async waitForPeer(nodeId: Buffer, timeoutMs = 10_000): Promise<RemotePeerInfo> {
    const p = await until(async () => {
      const found = await this.peer(nodeId);
      return found?.connected && found;
    }, { what: `anode to be connected to ${nodeId.toString('hex')}`, timeoutMs });
    return { nodeId: p.id, features: p.features ?? '' };
  }

  async disconnect(nodeId: Buffer): Promise<void> {
    await this.rpc('disconnect', { id: nodeId.toString('hex'), force: true });
  }

  async waitForDisconnect(nodeId: Buffer, timeoutMs = 10_000): Promise<void> {
    await until(async () => !(await this.peer(nodeId))?.connected, { what: `anode to drop ${nodeId.toString('hex')}`, timeoutMs });
  }

  async stop(): Promise<void> {
    if (this.daemon?.running()) await this.daemon.stop();
  }
}

class AnodeChannelOps implements ChannelOps {
  readonly toSelfDelay = TO_SELF_DELAY;
  constructor(
    private readonly anode: AnodePeer,
    private readonly btcd: BtcdNode,
  ) {}

  /** The daemon was started on its chain: only that one will do. */
  async useChain(chain: ChannelChain): Promise<void> {
    if (chain !== this.btcd) throw new Error('AnodePeer.channels.useChain: the daemon follows the btcd it was started on');
  }

  /** The daemon polls btcd itself: give it two polls to see the new tip. */
  async followChain(): Promise<void> {
    await sleep(2 * CHAIN_POLL_MS);
  }

  /** Funds the daemon's wallet from the miner (confirmed), then `fundchannel` as anode's user would. */
  async open(p: { nodeId: Buffer; amountSat: bigint; pushMsat?: bigint }): Promise<{ channelId: string; fundingTxid: string }> {
    const { bech32 } = await this.anode.rpc<{ bech32: string }>('newaddr');
    const { txid } = await this.btcd.fund(addressToScript(bech32, btcNetwork('regtest')), p.amountSat + 100_000n);
    await until(async () => {
      const { outputs } = await this.anode.rpc<{ outputs: { txid: string; status: string }[] }>('listfunds');
      return outputs.some((o) => o.txid === txid && o.status === 'confirmed');
    }, `anode's wallet to see ${txid} confirmed`);
    const r = await this.anode.rpc<{ channel_id: string; txid: string }>('fundchannel', {
      id: p.nodeId.toString('hex'),
      amount: Number(p.amountSat),
      feerate: '1000perkw',
      announce: false,
      ...(p.pushMsat !== undefined ? { push_msat: Number(p.pushMsat) } : {}),
    });
    return { channelId: r.channel_id, fundingTxid: r.txid };
  }

  async list(): Promise<RemoteChannel[]> {
    const { channels } = await this.anode.rpc<{ channels: ListedChannel[] }>('listpeerchannels');
    return channels.map(remoteChannel);
  }

  private async find(channelId: string): Promise<RemoteChannel | undefined> {
    return (await this.list()).find((c) => c.channelId === channelId);
  }

  async waitFor(channelId: string, state: 'usable', timeoutMs?: number): Promise<RemoteChannel>;
  async waitFor(channelId: string, state: 'closed', timeoutMs?: number): Promise<RemoteChannel | undefined>;
  async waitFor(channelId: string, state: 'usable' | 'closed', timeoutMs = 10_000): Promise<RemoteChannel | undefined> {
    const what = `anode's channel ${channelId} to be ${state}`;
    if (state === 'usable') return until(async () => {
      const c = await this.find(channelId);
      return c?.state === 'usable' && c;
    }, { what, timeoutMs });
    let last: RemoteChannel | undefined;
    await until(async () => {
      last = await this.find(channelId);
      return last === undefined || last.state === 'closed';
    }, { what, timeoutMs });
    return last;
  }

  async updateFee(channelId: string, feeratePerKw: number): Promise<void> {
    await this.anode.rpc('dev-updatefee', { id: channelId, feerate_perkw: feeratePerKw });
  }

  async close(channelId: string): Promise<void> {
    await this.anode.rpc('close', { id: channelId });
  }

  /** Drops the peer first: `close` with a peer connected would negotiate a mutual close instead. */
  async forceClose(channelId: string, nodeId: Buffer): Promise<void> {
    await this.anode.disconnect(nodeId);
    await this.anode.rpc('close', { id: channelId, unilateraltimeout: 1 });
  }
}

function remoteChannel(c: ListedChannel): RemoteChannel {
  return {
    channelId: c.channel_id,
    peerId: c.peer_id,
    outbound: c.opener === 'local',
    state: channelState(c),
    capacitySat: Number(c.total_msat) / 1000,
    spendableMsat: Number(c.spendable_msat),
    receivableMsat: Number(c.receivable_msat),
    feeratePerKw: c.feerate.perkw,
    fundingTxid: c.funding_txid,
    ...(c.short_channel_id !== undefined ? { shortChannelId: c.short_channel_id } : {}),
  };
}

/** CLN's state names on the adapter's scale. */
function channelState(c: ListedChannel): RemoteChannel['state'] {
  switch (c.state) {
    case 'CHANNELD_AWAITING_LOCKIN':
      return 'opening';
    case 'CHANNELD_NORMAL':
      return c.peer_connected ? 'usable' : 'ready';
    case 'CHANNELD_SHUTTING_DOWN':
    case 'CLOSINGD_SIGEXCHANGE':
      return 'closing';
    default:
      return 'closed';
  }
}
