import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { watchtowerClient, type NodeCore } from '../../node/core/index.js';
import type { PolicyType, TowerAddress, WtListOptions, WtSession, WtTower } from '../../watchtower/client/api.js';
import { parsePubKey } from './pubkey.js';

/**
 * wtclientrpc.WatchtowerClient as thin shells over WtClientCore, with LND's validation and texts
 * (lnrpc/wtclientrpc/wtclient.go).
 */

type Msg = Record<string, unknown>;

/** watchtower.DefaultPeerPort */
export const DEFAULT_TOWER_PORT = 9911;

/**
 * lncfg.ParseAddressString for towers: `host`, `host:port`, `[v6]:port`, optional `tcp://`; default
 * port 9911; names resolved. Unix and UDP addresses are refused as LND does.
 */
export async function parseTowerAddress(address: string): Promise<TowerAddress> {
  let rest = address;
  const scheme = /^([a-z0-9]+):\/\//.exec(address);
  if (scheme) {
    if (!['tcp', 'tcp4', 'tcp6'].includes(scheme[1]!)) throw new Error('only TCP or unix socket addresses are supported');
    rest = address.slice(scheme[0].length);
  }
  let host = rest;
  let port = String(DEFAULT_TOWER_PORT);
  const v6 = /^\[([^\]]+)\](?::(\d*))?$/.exec(rest);
  if (v6) {
    host = v6[1]!;
    if (v6[2] !== undefined) port = v6[2];
  } else if (isIP(rest) === 6) {
    host = rest;
  } else if (rest.includes(':')) {
    const i = rest.lastIndexOf(':');
    host = rest.slice(0, i);
    port = rest.slice(i + 1);
    if (host.includes(':')) throw new Error(`address ${rest}: too many colons in address`);
  }
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`address ${rest}: invalid port`);
  if (host === '' || isIP(host)) return { host: host || '0.0.0.0', port: Number(port) };
  if (host.endsWith('.onion')) throw new Error(`address ${rest}: onion addresses need a Tor proxy`);
  try {
    return { host: (await lookup(host)).address, port: Number(port) };
  } catch {
    throw new Error(`lookup ${host}: no such host`);
  }
}

function listOptions(req: Msg): WtListOptions {
  return { includeSessions: req.include_sessions === true, excludeExhaustedSessions: req.exclude_exhausted_sessions === true };
}

function marshallSession(s: WtSession): Msg {
  return {
    num_backups: s.numBackups,
    num_pending_backups: s.numPendingBackups,
    max_backups: s.maxBackups,
    sweep_sat_per_byte: s.sweepSatPerVbyte,
    sweep_sat_per_vbyte: s.sweepSatPerVbyte,
    id: s.id,
  };
}

/** wtclient.go marshallTower, merged over the client types, deprecated fields filled. */
export function marshallTower(t: WtTower, includeSessions: boolean): Msg {
  const first = t.sessionInfo[0];
  return {
    pubkey: t.pubkey,
    addresses: t.addresses,
    active_session_candidate: first?.activeSessionCandidate ?? false,
    num_sessions: first?.numSessions ?? 0,
    sessions: includeSessions ? t.sessionInfo.flatMap((i) => i.sessions.map(marshallSession)) : [],
    session_info: t.sessionInfo.map((i) => ({
      active_session_candidate: i.activeSessionCandidate,
      num_sessions: i.numSessions,
      sessions: includeSessions ? i.sessions.map(marshallSession) : [],
      policy_type: i.policyType,
    })),
  };
}

export async function addTower(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const pubkey = parsePubKey(req.pubkey as Buffer);
  const address = String(req.address ?? '');
  let addr: TowerAddress;
  try {
    addr = await parseTowerAddress(address);
  } catch (err) {
    throw new Error(`invalid address ${address}: ${(err as Error).message}`);
  }
  await c.addTower(pubkey, addr);
  return {};
}

export async function removeTower(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const pubkey = parsePubKey(req.pubkey as Buffer);
  const address = String(req.address ?? '');
  let addr: TowerAddress | undefined;
  if (address !== '') {
    try {
      addr = await parseTowerAddress(address);
    } catch (err) {
      throw new Error(`unable to parse tower address ${address}: ${(err as Error).message}`);
    }
  }
  await c.removeTower(pubkey, addr);
  return {};
}

export async function deactivateTower(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const raw = Buffer.from(req.pubkey as Buffer);
  const pubkey = parsePubKey(raw);
  await c.deactivateTower(pubkey);
  return { status: `Successful deactivation of tower: ${raw.toString('hex')}` };
}

export async function terminateSession(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const id = parsePubKey(req.session_id as Buffer);
  await c.terminateSession(id);
  return { status: `Successful termination of session: ${id.toString('hex')}` };
}

export async function listTowers(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const opts = listOptions(req);
  return { towers: (await c.listTowers(opts)).map((t) => marshallTower(t, opts.includeSessions)) };
}

export async function getTowerInfo(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const pubkey = parsePubKey(req.pubkey as Buffer);
  const opts = listOptions(req);
  return marshallTower(await c.getTowerInfo(pubkey, opts), opts.includeSessions);
}

export async function stats(core: NodeCore): Promise<Msg> {
  const s = await watchtowerClient(core).stats();
  return {
    num_backups: s.numBackups,
    num_pending_backups: s.numPendingBackups,
    num_failed_backups: s.numFailedBackups,
    num_sessions_acquired: s.numSessionsAcquired,
    num_sessions_exhausted: s.numSessionsExhausted,
  };
}

const POLICY_TYPES: readonly PolicyType[] = ['LEGACY', 'ANCHOR', 'TAPROOT'];

export async function policy(core: NodeCore, req: Msg): Promise<Msg> {
  const c = watchtowerClient(core);
  const t = req.policy_type ?? 'LEGACY';
  if (!POLICY_TYPES.includes(t as PolicyType)) throw new Error(`unknown policy type: ${String(t)}`);
  const p = await c.policy(t as PolicyType);
  return { max_updates: p.maxUpdates, sweep_sat_per_byte: p.sweepSatPerVbyte, sweep_sat_per_vbyte: p.sweepSatPerVbyte };
}
