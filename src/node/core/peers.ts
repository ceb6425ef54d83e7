import { PeerError } from '../../peer/errors.js';
import type { PeerManager } from '../../peer/manager.js';
import type { Peer } from '../../peer/peer.js';
import { wantsPeerComms } from '../../store/channels.js';
import { decodeAddressDescriptor, formatNetAddr, type Destination } from './address.js';
import type { NodeCore } from './api.js';
import { CoreError } from './errors.js';

/**
 * Peer operations with Core Lightning's semantics (connect, disconnect, listpeers, ping), independent of
 * any wire protocol. "The peer table", as lightningd calls it, is: every connected peer, every peer a
 * disconnect is still tearing down, and every peer with a channel record in any state.
 */

/** Disconnects in flight per peer manager, so concurrent disconnects of one peer complete together. */
const disconnecting = new WeakMap<PeerManager, Map<string, Promise<void>>>();

function inflight(core: NodeCore): Map<string, Promise<void>> {
  let m = disconnecting.get(core.peers);
  if (!m) {
    m = new Map();
    disconnecting.set(core.peers, m);
  }
  return m;
}

/** Whether `id` (hex) is in the peer table. */
export async function isKnownPeer(core: NodeCore, id: string): Promise<boolean> {
  if (core.peers.peer(id) || inflight(core).has(id)) return true;
  return (await core.channels.listByPeer(id)).length > 0;
}

/** What `disconnect` refuses, in lightningd's order, without changing anything (also `check`'s part). */
export async function checkDisconnect(core: NodeCore, id: Buffer, force: boolean): Promise<void> {
  const hex = id.toString('hex');
  if (!(await isKnownPeer(core, hex))) throw new CoreError('UNKNOWN_PEER', `Unknown peer '${hex}'`);
  if (!inflight(core).has(hex) && !core.peers.peer(hex)) throw new CoreError('NOT_CONNECTED', 'Peer not connected');
  const blocking = (await core.channels.listByPeer(hex)).find((c) => wantsPeerComms(c.state));
  if (blocking && !force) throw new CoreError('CHANNEL_BLOCKS', `Peer has (at least one) channel in state ${blocking.state}`);
}

/**
 * `disconnect`, in lightningd's order: unknown peer; known but not connected (even with force); a
 * channel in a state that needs the peer (unless force). Resolves once the connection is really gone.
 * `force` never touches a channel: it only drops the connection.
 */
export async function disconnectPeer(core: NodeCore, id: Buffer, force: boolean): Promise<void> {
  await checkDisconnect(core, id, force);
  const hex = id.toString('hex');
  // Another disconnect may have started while we looked at the channels: join it.
  const joined = inflight(core).get(hex);
  if (joined) return joined;
  const gone = core.peers
    .disconnect(id)
    .catch((err: unknown) => {
      // Gone already (it disconnected on its own meanwhile): that is what was asked.
      if (!(err instanceof PeerError && err.code === 'NOT_CONNECTED')) throw err;
    })
    .finally(() => inflight(core).delete(hex));
  inflight(core).set(hex, gone);
  return gone;
}

/**
 * `connect`: an existing connection (either direction) is returned at once; without an address there
 * is nothing to dial (anode has no gossip yet); otherwise one dial, shared by concurrent callers.
 */
export async function connectPeer(core: NodeCore, id: Buffer, dest: Destination | undefined): Promise<Peer> {
  const live = core.peers.peer(id);
  if (live) return live;
  if (!dest) throw new CoreError('NO_ADDRESS', 'Unable to connect, no address known for peer');
  if (id.equals(core.nodeId)) throw new CoreError('INVALID', 'Cannot connect to ourselves');
  if (dest.kind === 'socket') throw new CoreError('ALL_FAILED', `All addresses failed: ${dest.path}: not supported. `);
  if (dest.kind === 'tor') throw new CoreError('ALL_FAILED', `All addresses failed: ${dest.host}:${dest.port}: need a proxy. `);
  let peer: Peer;
  try {
    peer = await core.peers.connect(id, dest.host, dest.port);
  } catch (err) {
    if (!(err instanceof PeerError)) throw err;
    switch (err.code) {
      case 'SHUTTING_DOWN':
        throw new CoreError('SHUTTING_DOWN', 'anode is shutting down');
      case 'DISCONNECTED':
        throw new CoreError('DISCONNECTED_DURING', 'disconnected during connection');
      default:
        throw new CoreError('ALL_FAILED', `All addresses failed: ${describeDialFailure(err)}. `);
    }
  }
  if (!peer.connected) throw new CoreError('DISCONNECTED_DURING', 'disconnected during connection');
  return peer;
}

/**
 * The peer layer's failure text in lightningd's words: `<addr>: <stage>: <error>`. A handshake the
 * other side hangs up on means it does not have the key we dialled.
 */
function describeDialFailure(err: PeerError): string {
  if (err.code === 'HANDSHAKE_FAILED' && err.transportCode === 'CLOSED' && err.dial) {
    return `${err.dial.address}: ${err.dial.stage}: peer closed connection (wrong key?)`;
  }
  return err.message;
}

export interface PeerSummary {
  id: string;
  connected: boolean;
  numChannels: number;
  /** Live connection address (`1.2.3.4:9735`), when connected. */
  netaddr?: string;
  /** Who dialled, when connected. */
  direction?: 'in' | 'out';
  /** Our address as the peer sees it (init's remote_addr), when connected and sent. */
  remoteAddr?: string;
  /** The peer's init features, hex (persisted, so known for offline channel peers too). */
  features: string;
}

/** The peer table (or the one entry for `id`), connected peers first. */
export async function listPeers(core: NodeCore, id?: string): Promise<PeerSummary[]> {
  const counts = await core.channels.countByPeer();
  const out: PeerSummary[] = [];
  const live = id === undefined ? core.peers.list() : [core.peers.peer(id)].filter((p): p is Peer => p !== undefined);
  const seen = new Set<string>();
  for (const p of live) {
    seen.add(p.id);
    const remote = p.remoteInit?.remoteAddr ? decodeAddressDescriptor(p.remoteInit.remoteAddr) : undefined;
    out.push({
      id: p.id,
      connected: true,
      numChannels: counts.get(p.id) ?? 0,
      netaddr: formatNetAddr(p.address),
      direction: p.direction,
      ...(remote ? { remoteAddr: remote } : {}),
      features: p.remoteFeatures.toHex(),
    });
  }
  const offline = [...counts.keys()].filter((k) => !seen.has(k) && (id === undefined || k === id)).sort();
  for (const k of offline) {
    const rec = await core.peerStore.get(k);
    out.push({ id: k, connected: false, numChannels: counts.get(k)!, features: rec?.features ?? '' });
  }
  return out;
}

/** Size of the peer table (getinfo's num_peers). */
export async function countPeers(core: NodeCore): Promise<number> {
  const ids = new Set(core.peers.list().map((p) => p.id));
  for (const k of inflight(core).keys()) ids.add(k);
  for (const k of (await core.channels.countByPeer()).keys()) ids.add(k);
  return ids.size;
}

/**
 * `ping`: resolves with the pong's total length (4 + pongBytes), or 0 at once when pongBytes ≥ 65532.
 * Unlike lightningd, a ping pending when the peer disconnects fails instead of hanging.
 */
export async function pingPeer(core: NodeCore, id: Buffer, len: number, pongBytes: number): Promise<number> {
  const peer = core.peers.peer(id);
  if (!peer) throw new CoreError('NOT_CONNECTED', 'Peer not connected');
  try {
    return await peer.ping(len, pongBytes);
  } catch (err) {
    if (!(err instanceof PeerError)) throw err;
    switch (err.code) {
      case 'PING_PENDING':
        throw new CoreError('PING_PENDING', 'Ping already pending');
      case 'NOT_CONNECTED':
        throw new CoreError('NOT_CONNECTED', 'Peer not connected');
      case 'INVALID':
        throw new CoreError('INVALID', err.message);
      default:
        throw new CoreError('PING_FAILED', `Ping failed: ${err.message}`);
    }
  }
}
