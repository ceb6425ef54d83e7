/**
 * `--watchtower.externalip` values as LND normalises them: `host`, `host:port`, `[v6]`, `[v6]:port` or a
 * bare IPv6 address; a missing port is the tower's default 9911. Used for the URIs `tower info` shows
 * (`<pubkey hex>@<host>:<port>`).
 */
import { isIPv6 } from 'node:net';

export const DEFAULT_TOWER_PORT = 9911;

export interface HostPort {
  host: string;
  port: number;
}

export class TowerAddressError extends Error {
  override name = 'TowerAddressError';
}

function parsePort(s: string, whole: string): number {
  if (!/^[0-9]{1,5}$/.test(s)) throw new TowerAddressError(`watchtower: bad port in address ${JSON.stringify(whole)}`);
  const n = Number(s);
  if (n < 1 || n > 65535) throw new TowerAddressError(`watchtower: port out of range in address ${JSON.stringify(whole)}`);
  return n;
}

/** Parses one address; throws {@link TowerAddressError} for anything that is not `host[:port]`. */
export function parseTowerAddress(s: string, defaultPort = DEFAULT_TOWER_PORT): HostPort {
  const t = s.trim();
  if (t.length === 0 || t.length > 300) throw new TowerAddressError(`watchtower: bad address ${JSON.stringify(s)}`);
  if (t.startsWith('[')) {
    const end = t.indexOf(']');
    const host = end > 0 ? t.slice(1, end) : '';
    if (!isIPv6(host)) throw new TowerAddressError(`watchtower: bad IPv6 address ${JSON.stringify(s)}`);
    const rest = t.slice(end + 1);
    if (rest === '') return { host, port: defaultPort };
    if (!rest.startsWith(':')) throw new TowerAddressError(`watchtower: bad address ${JSON.stringify(s)}`);
    return { host, port: parsePort(rest.slice(1), s) };
  }
  if (isIPv6(t)) return { host: t, port: defaultPort };
  const colon = t.lastIndexOf(':');
  const host = colon < 0 ? t : t.slice(0, colon);
  if (!/^[A-Za-z0-9._-]+$/.test(host)) throw new TowerAddressError(`watchtower: bad host in address ${JSON.stringify(s)}`);
  return { host, port: colon < 0 ? defaultPort : parsePort(t.slice(colon + 1), s) };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
