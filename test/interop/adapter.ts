/**
 * One adapter per real Lightning implementation, so the same interop scenarios run against each.
 *
 * An adapter drives the *remote* implementation (LDK, Electrum, anode as a daemon, …); the scenario
 * drives the anode under test. Everything is on 127.0.0.1 over real TCP sockets. Node ids are 33-byte
 * compressed public keys. An adapter that runs channels with anode says so by its `channels`.
 */
export interface RemotePeerInfo {
  /** Node id of the connected counterpart, hex. */
  nodeId: string;
  /** Feature bits the counterpart sent in its `init` (global|local merged), as a hex string of the bytes. */
  features: string;
}

/** What every adapter does: run the implementation and hold BOLT 8 connections with anode. */
export interface RemoteNode {
  /** Short name used in test titles ("ldk", "electrum", "anode"). */
  readonly name: string;
  /** The remote implementation's own node id (33 bytes). Available after start(). */
  readonly nodeId: Buffer;
  /** Its channel operations, or null when it does not run channels with anode (Electrum here). */
  readonly channels: ChannelOps | null;

  /** Start the implementation (process, runtime, keys). */
  start(): Promise<void>;
  /** Accept inbound connections on 127.0.0.1; resolves with the port bound (an ephemeral port). */
  listen(): Promise<number>;
  /**
   * Dial `host:port`, expecting static key `remoteNodeId`. Resolves once the BOLT 8 handshake completed
   * and both `init` messages have been exchanged.
   */
  connect(host: string, port: number, remoteNodeId: Buffer): Promise<void>;
  /** Resolve when a peer with `nodeId` has completed handshake + init exchange (either direction). */
  waitForPeer(nodeId: Buffer, timeoutMs?: number): Promise<RemotePeerInfo>;
  /** Close the connection to `nodeId` from the remote side. */
  disconnect(nodeId: Buffer): Promise<void>;
  /** Resolve once the remote no longer has a connection to `nodeId`. */
  waitForDisconnect(nodeId: Buffer, timeoutMs?: number): Promise<void>;
  /** Stop everything; idempotent. */
  stop(): Promise<void>;
}

/** A remote node that also counts and sends pings: the BOLT 1/8 scenarios of peer.test.ts. */
export interface PeerAdapter extends RemoteNode {
  /**
   * Make the remote send `count` pings to `nodeId`, one after the other, each waiting for its pong.
   * Resolves with the number of pongs received. Used to push ≥ 1200 messages from the remote side.
   */
  pingRoundTrips(nodeId: Buffer, count: number): Promise<number>;
  /** Number of ping messages the remote has received from `nodeId` (and answered) so far. */
  pingsReceived(nodeId: Buffer): Promise<number>;
}

/** A remote node with channels: what channel-scenarios.test.ts runs against. */
export interface ChannelNode extends RemoteNode {
  readonly channels: ChannelOps;
}

/** A channel as the remote implementation reports it. */
export interface RemoteChannel {
  /** Final channel id, hex. */
  channelId: string;
  /** The counterparty's node id, hex. */
  peerId: string;
  /** Whether the remote implementation opened (funded) it. */
  outbound: boolean;
  /**
   * 'opening' until channel_ready both ways; 'ready' once it is; 'usable' when ready and the peer is
   * connected; 'closing' during shutdown; 'closed' once the implementation considers it ended
   * (closing or commitment transaction out).
   */
  state: 'opening' | 'ready' | 'usable' | 'closing' | 'closed';
  capacitySat: number;
  /** What the remote can send now, and receive, msat (after reserves). */
  spendableMsat: number;
  receivableMsat: number;
  /** Commitment feerate, sat per 1000 weight. */
  feeratePerKw: number;
  /** Display-order txid. */
  fundingTxid?: string;
  /** "BLOCKxTXxOUT". */
  shortChannelId?: string;
}

/** A chain the remote follows: the harness's btcd (test/harness/btcd.ts). */
export interface ChannelChain {
  getBlockCount(): Promise<number>;
  getBlockHash(height: number): Promise<string>;
  getRawBlock(hash: string): Promise<Uint8Array>;
  /** Submits what a node broadcast; one already there or beaten by a conflicting one is fine. */
  publish(txs: readonly string[]): Promise<string[]>;
  /** Pays `amountSat` to `script` from the miner, confirmed by one block. */
  fund(script: Uint8Array, amountSat: bigint): Promise<{ txid: string; vout: number; amountSat: bigint; script: Uint8Array }>;
}

/** Channel operations, driven on the remote implementation. Channel ids are final ids, hex. */
export interface ChannelOps {
  /** The to_self_delay (blocks) the remote asks of its peers: how long anode waits for its own output after a force close. */
  readonly toSelfDelay: number;
  /** Use `chain`: funding comes from it, blocks reach the remote through followChain(), broadcasts go to it. */
  useChain(chain: ChannelChain): Promise<void>;
  /** Bring the remote to the chain's tip and publish what it broadcast; call after mining. */
  followChain(): Promise<void>;
  /**
   * Open a channel to the connected peer `nodeId`, funded by the remote from the chain; resolves once
   * the funding transaction is published.
   */
  open(p: { nodeId: Buffer; amountSat: bigint; pushMsat?: bigint }): Promise<{ channelId: string; fundingTxid: string }>;
  /** The remote's channels, not yet forgotten. */
  list(): Promise<RemoteChannel[]>;
  /** Resolves with the channel once it is usable, or once it is closed (then possibly no longer listed: undefined). */
  waitFor(channelId: string, state: 'usable', timeoutMs?: number): Promise<RemoteChannel>;
  waitFor(channelId: string, state: 'closed', timeoutMs?: number): Promise<RemoteChannel | undefined>;
  /** The remote, as opener, moves the commitment feerate to `feeratePerKw` (update_fee). */
  updateFee(channelId: string, feeratePerKw: number): Promise<void>;
  /** Cooperative close initiated by the remote. */
  close(channelId: string, nodeId: Buffer): Promise<void>;
  /** The remote publishes its latest commitment transaction. */
  forceClose(channelId: string, nodeId: Buffer): Promise<void>;
}

/** Whether a missing peer must fail the test (CI) rather than skip it (a developer's laptop). */
export function interopRequired(): boolean {
  return process.env.ANODE_REQUIRE_INTEROP === '1';
}

export interface InteropGate {
  /** For `describe(…, { skip })`: false when the dependency is usable or required, else the (loudly printed) reason. */
  skip: string | false;
  /** Call first (in before() or the test): fails when the dependency is required but missing. */
  require(): void;
}

/**
 * The project's convention for an external dependency (`dependency`: "btcd", "ldk", …) that `what`
 * needs, given why it is unusable (null when it is usable): skip with a message on stderr, or, under
 * ANODE_REQUIRE_INTEROP=1, run and fail in require(). Never a silent skip.
 */
export function interopGate(dependency: string, what: string, unusable: string | null): InteropGate {
  let skip: string | false = false;
  if (unusable && !interopRequired()) {
    skip = `${dependency.toUpperCase()} NOT AVAILABLE, ${what} skipped: ${unusable} (set ANODE_REQUIRE_INTEROP=1 to make this fatal)`;
    process.stderr.write(`\n*** ${skip} ***\n\n`);
  }
  return {
    skip,
    require() {
      if (unusable) throw new Error(`ANODE_REQUIRE_INTEROP=1 but ${dependency} is not usable: ${unusable}`);
    },
  };
}
