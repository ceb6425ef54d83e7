/**
 * Tower addresses as operators give them: `pubkey@host[:port]` (lncli `wtclient add`), `host[:port]`,
 * `[v6]:port`; the default port is the tower's 9911. Parsers are total: a value or a
 * {@link TowerUriError} whose message is fit for an RPC error.
 */
import { isIP } from 'node:net';
import { secp } from '../../crypto/secp256k1.js';

export const DEFAULT_TOWER_PORT = 9911;

export interface TowerAddr {
  host: string;
  port: number;
}

export class TowerUriError extends Error {
  override name = 'TowerUriError';
}

/** `host[:port]`, `[v6][:port]` or a bare IPv6 address; names are kept as given (resolved when dialled). */
export function parseHostPort(s: string, defaultPort = DEFAULT_TOWER_PORT): TowerAddr {
  const t = s.trim();
  if (t.length === 0 || t.length > 300) throw new TowerUriError(`invalid address ${JSON.stringify(s)}`);
  let host = t;
  let port: string | undefined;
  if (t.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::([^:]*))?$/.exec(t);
    if (!m || isIP(m[1]!) !== 6) throw new TowerUriError(`invalid address ${JSON.stringify(s)}`);
    host = m[1]!;
    port = m[2];
  } else if (isIP(t) === 6) {
    host = t;
  } else {
    const i = t.lastIndexOf(':');
    if (i >= 0) {
      host = t.slice(0, i);
      port = t.slice(i + 1);
    }
    if (!/^[A-Za-z0-9._-]+$/.test(host)) throw new TowerUriError(`invalid address ${JSON.stringify(s)}`);
    if (host.endsWith('.onion')) throw new TowerUriError(`invalid address ${JSON.stringify(s)}: onion addresses need a Tor proxy`);
  }
  let p = defaultPort;
  if (port !== undefined) {
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new TowerUriError(`invalid address ${JSON.stringify(s)}: bad port`);
    p = Number(port);
  }
  return { host, port: p };
}

export function formatAddr(a: TowerAddr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A 33-byte compressed public key in hex (66 digits), on the curve. */
export function parsePubKeyHex(s: string, what = 'pubkey'): Buffer {
  if (!/^(02|03)[0-9a-fA-F]{64}$/.test(s)) throw new TowerUriError(`invalid ${what} ${JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s)}`);
  const b = Buffer.from(s, 'hex');
  if (!secp.isPublicKey(b)) throw new TowerUriError(`invalid ${what}: not a point on the curve`);
  return b;
}

/** `pubkey@host[:port]` → key and address; `pubkey` alone when `addressOptional`. */
export function parseTowerUri(s: string, addressOptional = false): { pubkey: Buffer; address?: TowerAddr } {
  const at = s.indexOf('@');
  if (at < 0) {
    if (!addressOptional) throw new TowerUriError(`invalid tower address ${JSON.stringify(s.slice(0, 100))}: expected pubkey@host:port`);
    return { pubkey: parsePubKeyHex(s) };
  }
  return { pubkey: parsePubKeyHex(s.slice(0, at)), address: parseHostPort(s.slice(at + 1)) };
}
