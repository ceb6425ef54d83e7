/**
 * The watchtower client over JSON-RPC: `wtclient-*` methods as thin shells over the same `WtClientCore`
 * the LND gRPC/REST shells use, with LND's error and status texts. Keys and ids are hex (as lncli prints
 * them); a tower may be given as `pubkey@host[:port]` (default port 9911).
 */
import { watchtowerClient } from '../../../node/core/index.js';
import { parseHostPort, parsePubKeyHex, TowerUriError } from '../../../watchtower/client/address.js';
import type { PolicyType, WtSession, WtTower } from '../../../watchtower/client/api.js';
import { RpcCode, RpcError, invalidParams } from '../errors.js';
import type { MethodDef } from '../method.js';

/** Runs a core call, turning its errors (LND texts) into JSON-RPC errors with code -1. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RpcError) throw err;
    throw new RpcError(RpcCode.LIGHTNINGD, (err as Error).message);
  }
}

function towerTarget(params: Record<string, unknown>, addressRequired: boolean): { pubkey: Buffer; address?: { host: string; port: number } } {
  const raw = String(params.pubkey);
  const at = raw.indexOf('@');
  let address = params.address === undefined ? undefined : String(params.address);
  let key = raw;
  if (at >= 0) {
    if (address !== undefined) throw invalidParams('address: given twice (in pubkey@address and as address)');
    key = raw.slice(0, at);
    address = raw.slice(at + 1);
  }
  try {
    const pubkey = parsePubKeyHex(key);
    if (address === undefined) {
      if (addressRequired) throw invalidParams('address: required (pubkey@host[:port] or address)');
      return { pubkey };
    }
    return { pubkey, address: parseHostPort(address) };
  } catch (err) {
    if (err instanceof TowerUriError) throw invalidParams(err.message);
    throw err;
  }
}

function session(s: WtSession): Record<string, unknown> {
  return {
    id: s.id.toString('hex'),
    num_backups: s.numBackups,
    num_pending_backups: s.numPendingBackups,
    max_backups: s.maxBackups,
    sweep_sat_per_vbyte: s.sweepSatPerVbyte,
    status: s.status,
    ...(s.deleteHeight !== undefined ? { delete_height: s.deleteHeight } : {}),
  };
}

function tower(t: WtTower, includeSessions: boolean): Record<string, unknown> {
  return {
    pubkey: t.pubkey.toString('hex'),
    addresses: t.addresses,
    active_session_candidate: t.sessionInfo.some((i) => i.activeSessionCandidate),
    num_sessions: t.sessionInfo.reduce((a, i) => a + i.numSessions, 0),
    session_info: t.sessionInfo.map((i) => ({
      policy_type: i.policyType,
      active_session_candidate: i.activeSessionCandidate,
      num_sessions: i.numSessions,
      sessions: includeSessions ? i.sessions.map(session) : [],
    })),
  };
}

function listOpts(params: Record<string, unknown>): { includeSessions: boolean; excludeExhaustedSessions: boolean } {
  return { includeSessions: params.include_sessions === true, excludeExhaustedSessions: params.exclude_exhausted_sessions === true };
}

export const wtclientAddtower: MethodDef = {
  name: 'wtclient-addtower',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const t = towerTarget(params, true);
    await call(() => c.addTower(t.pubkey, t.address!));
    return {};
  },
};

export const wtclientRemovetower: MethodDef = {
  name: 'wtclient-removetower',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const t = towerTarget(params, false);
    await call(() => c.removeTower(t.pubkey, t.address));
    return {};
  },
};

export const wtclientDeactivatetower: MethodDef = {
  name: 'wtclient-deactivatetower',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const pubkey = Buffer.from(String(params.pubkey), 'hex');
    await call(() => c.deactivateTower(pubkey));
    return { status: `Successful deactivation of tower: ${pubkey.toString('hex')}` };
  },
};

export const wtclientTerminatesession: MethodDef = {
  name: 'wtclient-terminatesession',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const id = Buffer.from(String(params.session_id), 'hex');
    await call(() => c.terminateSession(id));
    return { status: `Successful termination of session: ${id.toString('hex')}` };
  },
};

export const wtclientListtowers: MethodDef = {
  name: 'wtclient-listtowers',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const o = listOpts(params);
    return { towers: (await call(() => c.listTowers(o))).map((t) => tower(t, o.includeSessions)) };
  },
};

export const wtclientGettowerinfo: MethodDef = {
  name: 'wtclient-gettowerinfo',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const o = listOpts(params);
    return tower(await call(() => c.getTowerInfo(Buffer.from(String(params.pubkey), 'hex'), o)), o.includeSessions);
  },
};

export const wtclientStats: MethodDef = {
  name: 'wtclient-stats',
  async run(_params, ctx) {
    const s = await call(() => watchtowerClient(ctx.core).stats());
    return {
      num_backups: s.numBackups,
      num_pending_backups: s.numPendingBackups,
      num_failed_backups: s.numFailedBackups,
      num_sessions_acquired: s.numSessionsAcquired,
      num_sessions_exhausted: s.numSessionsExhausted,
    };
  },
};

export const wtclientPolicy: MethodDef = {
  name: 'wtclient-policy',
  async run(params, ctx) {
    const c = watchtowerClient(ctx.core);
    const t = String(params.policy_type ?? 'legacy').toUpperCase() as PolicyType;
    const p = await call(() => c.policy(t));
    return { max_updates: p.maxUpdates, sweep_sat_per_vbyte: p.sweepSatPerVbyte };
  },
};

export const WTCLIENT_METHODS: readonly MethodDef[] = [
  wtclientAddtower,
  wtclientRemovetower,
  wtclientDeactivatetower,
  wtclientTerminatesession,
  wtclientListtowers,
  wtclientGettowerinfo,
  wtclientStats,
  wtclientPolicy,
];
