/**
 * One adapter per real Lightning implementation, so the same interop scenarios run against each.
 *
 * An adapter drives the *remote* implementation (LDK, Electrum, …); the scenario drives anode.
 * Everything is on 127.0.0.1 over real TCP sockets. Node ids are 33-byte compressed public keys.
 */
export interface RemotePeerInfo {
  /** Node id of the connected counterpart, hex. */
  nodeId: string;
  /** Feature bits the counterpart sent in its `init` (global|local merged), as a hex string of the bytes. */
  features: string;
}

export interface PeerAdapter {
  /** Short name used in test titles ("ldk", "electrum"). */
  readonly name: string;
  /** The remote implementation's own node id (33 bytes). Available after start(). */
  readonly nodeId: Buffer;

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
  /**
   * Make the remote send `count` pings to `nodeId`, one after the other, each waiting for its pong.
   * Resolves with the number of pongs received. Used to push ≥ 1200 messages from the remote side.
   */
  pingRoundTrips(nodeId: Buffer, count: number): Promise<number>;
  /** Number of ping messages the remote has received from `nodeId` (and answered) so far. */
  pingsReceived(nodeId: Buffer): Promise<number>;
  /** Close the connection to `nodeId` from the remote side. */
  disconnect(nodeId: Buffer): Promise<void>;
  /** Resolve once the remote no longer has a connection to `nodeId`. */
  waitForDisconnect(nodeId: Buffer, timeoutMs?: number): Promise<void>;
  /** Stop everything; idempotent. */
  stop(): Promise<void>;
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
