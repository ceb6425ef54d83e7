import { lookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';
import type { NetAddress } from '../../peer/peer.js';
import { CoreError } from './errors.js';

/**
 * Addresses as operators type them (`host`, `host:port`, `[v6]:port`, `/path/to/socket`, `x.onion`)
 * and as CLN reports them (`{type, address, port}`, `1.2.3.4:9735`).
 */

/**
 * Splits the part after `@` in `id@host[:port]` (CLN's separate_address_and_port): `[v6]` needs
 * brackets when a port follows; a bare IPv6 (several colons) is a host without port. Returns undefined
 * when malformed (non-numeric or zero port, unclosed bracket).
 */
export function splitHostPort(s: string): { host: string; port?: number } | undefined {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return undefined;
    const host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest === '') return { host };
    if (!rest.startsWith(':')) return undefined;
    const port = parsePort(rest.slice(1));
    return port === undefined ? undefined : { host, port };
  }
  const colons = s.split(':').length - 1;
  if (colons !== 1) return { host: s };
  const i = s.indexOf(':');
  const port = parsePort(s.slice(i + 1));
  return port === undefined ? undefined : { host: s.slice(0, i), port };
}

function parsePort(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n > 0 && n <= 65535 ? n : undefined;
}

export type Destination =
  | { kind: 'ip'; host: string; port: number }
  | { kind: 'socket'; path: string }
  | { kind: 'tor'; host: string; port: number };

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const TOR_V3 = /^[a-z2-7]{56}\.onion$/;

const GAI_TEXT: Record<string, string> = {
  ENOTFOUND: 'Name or service not known',
  EAI_NONAME: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EAI_FAIL: 'Non-recoverable failure in name resolution',
  ENODATA: 'No address associated with hostname',
};

/**
 * Turns a host given to `connect` into something to dial, resolving DNS names at request time as
 * lightningd does. Refusals are CoreError BAD_HOST with CLN's texts.
 */
export async function resolveDestination(host: string, port: number): Promise<Destination> {
  if (host.startsWith('/')) return { kind: 'socket', path: host };
  if (host === '' || host.startsWith('autotor:') || host.startsWith('statictor:')) {
    throw new CoreError('BAD_HOST', `Host ${host}:${port} not a simple type`);
  }
  if (host.endsWith('.onion')) {
    if (!TOR_V3.test(host.toLowerCase())) throw new CoreError('BAD_HOST', `Host ${host}:${port} not valid: Invalid Tor address`);
    return { kind: 'tor', host, port };
  }
  if (isIP(host)) return { kind: 'ip', host: normalizeIp(host), port };
  if (host === 'localhost') return { kind: 'ip', host: '127.0.0.1', port };
  if (host === 'ip6-localhost') return { kind: 'ip', host: '::1', port };
  if (!HOSTNAME.test(host)) throw new CoreError('BAD_HOST', `Host ${host}:${port} not valid: ${GAI_TEXT.ENOTFOUND}`);
  try {
    const { address } = await lookup(host);
    return { kind: 'ip', host: normalizeIp(address), port };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new CoreError('BAD_HOST', `Host ${host}:${port} not valid: ${GAI_TEXT[code] ?? (code || (err as Error).message)}`);
  }
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) as plain IPv4. */
export function normalizeIp(host: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return m ? m[1]! : host;
}

export type AddressJson =
  | { type: 'ipv4' | 'ipv6' | 'torv3' | 'dns'; address: string; port: number }
  | { type: 'local socket'; socket: string };

/** CLN's address object: `{type: "ipv4", address: "127.0.0.1", port: 9735}` (IPv6 without brackets). */
export function addressJson(a: NetAddress): AddressJson {
  const host = normalizeIp(a.host);
  if (host.startsWith('/')) return { type: 'local socket', socket: host };
  return { type: isIPv4(host) ? 'ipv4' : isIP(host) ? 'ipv6' : host.endsWith('.onion') ? 'torv3' : 'dns', address: host, port: a.port };
}

/** `1.2.3.4:9735`, `[2001:db8::1]:9735` (listpeers' netaddr). */
export function formatNetAddr(a: NetAddress): string {
  const host = normalizeIp(a.host);
  if (host.startsWith('/')) return host;
  return isIP(host) === 6 ? `[${host}]:${a.port}` : `${host}:${a.port}`;
}

/**
 * BOLT 7 address descriptor (as in init's remote_addr TLV) as `host:port`, or undefined if it is not
 * one we can print: 1 = IPv4, 2 = IPv6, 4 = Tor v3, 5 = DNS hostname.
 */
export function decodeAddressDescriptor(b: Uint8Array): string | undefined {
  const buf = Buffer.from(b);
  const type = buf[0];
  const port = (at: number): number | undefined => (buf.length === at + 2 ? buf.readUInt16BE(at) : undefined);
  if (type === 1 && buf.length === 7) return `${[...buf.subarray(1, 5)].join('.')}:${port(5)}`;
  if (type === 2 && buf.length === 19) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(1 + i * 2).toString(16));
    return `[${compressV6(groups)}]:${port(17)}`;
  }
  if (type === 4 && buf.length === 38) return `${base32(buf.subarray(1, 36))}.onion:${port(36)}`;
  if (type === 5 && buf.length >= 2) {
    const len = buf[1]!;
    if (buf.length !== 2 + len + 2) return undefined;
    const host = buf.subarray(2, 2 + len).toString('latin1');
    if (!/^[\x21-\x7e]+$/.test(host)) return undefined;
    return `${host}:${port(2 + len)}`;
  }
  return undefined;
}

function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function base32(b: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
