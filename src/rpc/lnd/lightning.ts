import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { parseBlockHeader } from '../../chain/block.js';
import { channelViews, listPeers as peerTable, nodeInfo, storedChannelCounts, type ChannelCounts, type NodeCore } from '../../node/core/index.js';
import { PeerError } from '../../peer/errors.js';
import type { Peer } from '../../peer/peer.js';
import { Feature, Features } from '../../wire/features.js';
import { goHexDecode, parsePubKey } from './pubkey.js';

/**
 * lnrpc.Lightning over the node core, with LND's release behaviour and error texts (rpcserver.go
 * ConnectPeer / DisconnectPeer / ListPeers / GetInfo, server.go ConnectToPeer). GetInfo and ListPeers
 * take their figures from the same core functions as CLN's getinfo and listpeers.
 */

type Msg = Record<string, unknown>;

const DEFAULT_PEER_PORT = 9735;

/** LND's names for feature bits (lnwire.Features), by bit: most pairs share a name, a few bits are named alone. */
const PAIR_NAMES: Record<number, string> = {
  0: 'data-loss-protect',
  4: 'upfront-shutdown-script',
  6: 'gossip-queries',
  8: 'tlv-onion',
  12: 'static-remote-key',
  14: 'payment-addr',
  16: 'multi-path-payments',
  18: 'wumbo-channels',
  20: 'anchor-commitments',
  22: 'anchors-zero-fee-htlc-tx',
  24: 'route-blinding',
  26: 'shutdown-any-segwit',
  30: 'amp',
  34: 'quiescence',
  38: 'onion-messages',
  44: 'explicit-commitment-type',
  46: 'scid-alias',
  48: 'payment-metadata',
  50: 'zero-conf',
  54: 'keysend',
  60: 'rbf-coop-close',
  80: 'simple-taproot-chans',
  160: 'rbf-coop-close-x',
  180: 'simple-taproot-chans-x',
  260: 'endorsement-x',
  262: 'bolt-11-blinded-paths',
  2022: 'script-enforced-lease',
};
/** Bits LND names without their pair partner (initial-routing-sync is only 3; the taproot overlay is 2025/2026). */
const SINGLE_NAMES: Record<number, string> = { 3: 'initial-routing-sync', 2025: 'taproot-overlay-chans', 2026: 'taproot-overlay-chans' };

export function featureName(bit: number): string | undefined {
  if (bit in SINGLE_NAMES) return SINGLE_NAMES[bit];
  if (bit === 2 || bit >= 2024) return undefined;
  return PAIR_NAMES[bit - (bit % 2)];
}

export function featureMap(f: Features): Record<string, Msg> {
  const out: Record<string, Msg> = {};
  for (const bit of f.bits()) {
    const name = featureName(bit);
    out[String(bit)] = { name: name ?? 'unknown', is_required: bit % 2 === 0, is_known: name !== undefined };
  }
  return out;
}

const LND_NETWORK: Record<string, string> = { bitcoin: 'mainnet', testnet: 'testnet', testnet4: 'testnet4', signet: 'signet', regtest: 'regtest' };

/**
 * GetInfo from the node core: channel counts as LND counts them (pending = waiting for the funding to
 * confirm, active = usable with the peer online, inactive = open with the peer away), the chain position
 * the channels have processed and whether it is the backend's best, a URI per listening address.
 */
export async function getInfo(core: NodeCore): Promise<Msg> {
  const i = await nodeInfo(core, lndChannelCounts);
  const counts = { pending: i.numPendingChannels, active: i.numActiveChannels, inactive: i.numInactiveChannels };
  const headerTime = await bestHeaderTime(core, i.chain.blockHash);
  return {
    // LND's versions have no leading `v` (0.18.0-beta).
    version: i.version.replace(/^v/, ''),
    identity_pubkey: i.id,
    alias: i.alias,
    color: `#${i.color}`,
    num_pending_channels: counts.pending,
    num_active_channels: counts.active,
    num_inactive_channels: counts.inactive,
    // LND counts the peers connected now.
    num_peers: i.numConnectedPeers,
    block_height: i.chain.blockheight,
    block_hash: i.chain.blockHash ?? '',
    ...(headerTime !== undefined ? { best_header_timestamp: String(headerTime) } : {}),
    synced_to_chain: i.chain.syncedToChain,
    testnet: i.network === 'testnet' || i.network === 'testnet4',
    chains: [{ chain: 'bitcoin', network: LND_NETWORK[i.network] ?? i.network }],
    uris: core.peers.bound.filter((a) => !UNSPECIFIED.has(a.host)).map((a) => `${i.id}@${formatHostPort(a.host, a.port)}`),
    features: featureMap(Features.fromHex(i.ourFeatures.init)),
    wallet_synced: i.chain.walletSynced,
    // anode keeps no graph cache.
    graph_cache_status: 'GRAPH_CACHE_STATUS_DISABLED',
  };
}

/** LND's counts from the channels' views (the stored rows' groups when the node has no channels running). */
async function lndChannelCounts(core: NodeCore): Promise<ChannelCounts> {
  if (!core.channelManager) return storedChannelCounts(core);
  const n: ChannelCounts = { pending: 0, active: 0, inactive: 0 };
  for (const v of channelViews(core)) {
    if (v.phase === 'pending_open') n.pending++;
    else if (v.phase === 'open') n[v.active ? 'active' : 'inactive']++;
  }
  return n;
}

/** Listening on every address is no address to give out. */
const UNSPECIFIED = new Set(['0.0.0.0', '::', '']);

/** The timestamp in the header of the block the channels processed last (bytes 68–71, little-endian). */
async function bestHeaderTime(core: NodeCore, hash: string | undefined): Promise<number | undefined> {
  if (!hash || !core.chain?.getRawBlockHeader) return undefined;
  try {
    return parseBlockHeader(await core.chain.getRawBlockHeader(hash)).time;
  } catch {
    return undefined;
  }
}

/** Go's net.TCPAddr.String(). */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** rpcserver.go parseAddr: host[:port] (default 9735), resolved to an IP. */
export async function parsePeerAddr(address: string, defaultPort = DEFAULT_PEER_PORT): Promise<{ host: string; port: number }> {
  let host = address;
  let portText = String(defaultPort);
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(address) ?? /^([^:]*):([^:]*)$/.exec(address);
  if (m) {
    host = m[1]!;
    portText = m[2]!;
  } else if (address.startsWith('[') && address.endsWith(']')) host = address.slice(1, -1);
  const hostPort = formatHostPort(host, Number(portText) || 0);
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) throw new Error(`address ${hostPort}: invalid port`);
  const port = Number(portText);
  if (host === '') return { host: '0.0.0.0', port };
  if (isIP(host)) return { host, port };
  if (host.endsWith('.onion')) throw new Error(`address ${hostPort}: onion addresses need a Tor proxy`);
  try {
    const r = await lookup(host);
    return { host: r.address, port };
  } catch {
    throw new Error(`lookup ${host}: no such host`);
  }
}

function describeDialError(err: PeerError, where: string): string {
  if (err.code === 'HANDSHAKE_FAILED' && err.transportCode === 'TIMEOUT') return `dial tcp ${where}: i/o timeout`;
  const goText = err.dial?.errno && GO_DIAL_ERRORS[err.dial.errno];
  if (goText) return `dial tcp ${where}: ${goText}`;
  if (err.code === 'HANDSHAKE_FAILED' && err.dial) return err.dial.detail;
  return err.message;
}

/** Socket error codes as Go's net package words a failed dial. */
const GO_DIAL_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  ETIMEDOUT: 'i/o timeout',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
};

export async function connectPeer(core: NodeCore, req: Msg, onAsyncError: (err: Error) => void): Promise<Msg> {
  const addr = req.addr as { pubkey?: string; host?: string } | null | undefined;
  if (!addr) throw new Error('need: lnc pubkeyhash@hostname');
  const pubkey = parsePubKey(goHexDecode(addr.pubkey ?? ''));
  if (pubkey.equals(core.nodeId)) throw new Error('cannot make connection to self');
  const { host, port } = await parsePeerAddr(addr.host ?? '');
  const where = formatHostPort(host, port);
  const live = core.peers.peer(pubkey);
  if (live) throw new Error(`already connected to peer: ${live.id}@${formatHostPort(live.address.host, live.address.port)}`);
  const target = `${pubkey.toString('hex')}@${where}`;
  const timeoutS = Number(req.timeout ?? 0);
  const attempt = (): Promise<Peer> => {
    const dial = core.peers.connect(pubkey, host, port);
    if (!timeoutS) return dial;
    return Promise.race([
      dial,
      new Promise<Peer>((_, reject) => {
        const t = setTimeout(() => reject(new PeerError('CONNECT_FAILED', 'Connection timed out', undefined, { address: where, stage: 'Connection establishment', errno: 'ETIMEDOUT', detail: 'Connection timed out' })), timeoutS * 1000);
        void dial.finally(() => clearTimeout(t)).catch(() => undefined);
      }),
    ]);
  };
  if (req.perm === true) {
    // LND: a persistent connection request returns at once and connects in the background.
    attempt().catch((err: Error) => onAsyncError(err));
  } else {
    try {
      await attempt();
    } catch (err) {
      if (err instanceof PeerError) {
        if (err.code === 'SHUTTING_DOWN') throw new Error('server is shutting down');
        throw new Error(describeDialError(err, where));
      }
      throw err;
    }
  }
  return { status: `connection to ${target} initiated` };
}

export async function disconnectPeer(core: NodeCore, req: Msg): Promise<Msg> {
  let bytes: Buffer;
  try {
    bytes = goHexDecode(String(req.pub_key ?? ''));
  } catch (err) {
    throw new Error(`unable to decode pubkey bytes: ${(err as Error).message}`);
  }
  let pubkey: Buffer;
  try {
    pubkey = parsePubKey(bytes);
  } catch (err) {
    throw new Error(`unable to parse pubkey: ${(err as Error).message}`);
  }
  // LND release builds disconnect even with open channels (UnsafeDisconnect is on outside dev builds).
  try {
    await core.peers.disconnect(pubkey);
  } catch (err) {
    if (err instanceof PeerError && err.code === 'NOT_CONNECTED') {
      throw new Error(`unable to disconnect peer: peer ${pubkey.toString('hex')} is not connected`);
    }
    throw new Error(`unable to disconnect peer: ${(err as Error).message}`);
  }
  return { status: 'disconnect initiated' };
}

/** LND lists the peers connected now, in the peer table's order, with the connection's own counters. */
export async function listPeers(core: NodeCore): Promise<Msg> {
  const connected = (await peerTable(core)).filter((p) => p.connected);
  return {
    peers: connected.flatMap((p) => {
      const live = core.peers.peer(p.id);
      if (!live) return [];
      return [
        {
          pub_key: p.id,
          address: p.netaddr,
          bytes_sent: String(live.bytesSent),
          bytes_recv: String(live.bytesReceived),
          inbound: p.direction === 'in',
          // LND: -1 until a pong has come back.
          ping_time: String(live.pingTimeUs ?? -1),
          // Every peer that negotiated gossip_queries is asked (gossip_timestamp_filter) for new gossip: LND's
          // active sync. Without it no sync was negotiated (UNKNOWN_SYNC).
          sync_type: core.graph && live.remoteFeatures.supports(Feature.GOSSIP_QUERIES) ? 'ACTIVE_SYNC' : 'UNKNOWN_SYNC',
          features: featureMap(Features.fromHex(p.features)),
        },
      ];
    }),
  };
}
