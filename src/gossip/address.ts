/**
 * BOLT 7 address descriptors, as `node_announcement` carries them back to back: 1 = IPv4 (4 + 2 bytes),
 * 2 = IPv6 (16 + 2), 3 = Tor v2 (10 + 2, skipped), 4 = Tor v3 (35 + 2), 5 = DNS hostname (1-byte length,
 * ASCII name, port). Reading stops at the first unknown type, as BOLT 7 requires (its length is unknown).
 */
import { isIP } from 'node:net';
import { base32 } from '@scure/base';
import { WireError } from '../wire/errors.js';

export type AnnouncedAddress = { type: 'ipv4' | 'ipv6' | 'torv3' | 'dns'; host: string; port: number };

/** `host:port` (`[v6]:port`), as the reconnector dials and CLN prints. */
export function formatAddress(a: AnnouncedAddress): string {
  return a.type === 'ipv6' ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const LENGTH: Record<number, number> = { 1: 6, 2: 18, 3: 12, 4: 37 };

/** The addresses of a `node_announcement`. Throws WireError for a truncated descriptor. */
export function decodeAddresses(buf: Uint8Array): AnnouncedAddress[] {
  const b = Buffer.from(buf);
  const out: AnnouncedAddress[] = [];
  let i = 0;
  while (i < b.length) {
    const type = b[i]!;
    const len = type === 5 ? (i + 1 < b.length ? 1 + b[i + 1]! + 2 : Infinity) : LENGTH[type];
    if (len === undefined) break;
    if (i + 1 + len > b.length) throw new WireError('TRUNCATED', `node_announcement: address of type ${type} truncated`);
    const body = b.subarray(i + 1, i + 1 + len);
    const port = body.readUInt16BE(len - 2);
    i += 1 + len;
    if (type === 1) out.push({ type: 'ipv4', host: [...body.subarray(0, 4)].join('.'), port });
    else if (type === 2) {
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(body.readUInt16BE(g * 2).toString(16));
      out.push({ type: 'ipv6', host: groups.join(':'), port });
    } else if (type === 4) out.push({ type: 'torv3', host: `${base32.encode(body.subarray(0, 35)).toLowerCase()}.onion`, port });
    else if (type === 5) {
      const host = body.subarray(1, len - 2).toString('latin1');
      if (/^[\x21-\x7e]+$/.test(host)) out.push({ type: 'dns', host, port });
    }
  }
  return out;
}

/** `host:port` strings (IPv4, `[IPv6]`, `x.onion`, DNS names) as address descriptors; unparseable ones are skipped. */
export function encodeAddresses(addrs: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const s of addrs) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
    if (m === null) continue;
    const host = (m[1] ?? m[2])!;
    const port = Buffer.alloc(2);
    port.writeUInt16BE(Number(m[3]));
    if (isIP(host) === 4) parts.push(Buffer.concat([Buffer.of(1), Buffer.from(host.split('.').map(Number)), port]));
    else if (isIP(host) === 6) parts.push(Buffer.concat([Buffer.of(2), ipv6Bytes(host), port]));
    else if (/^[a-z2-7]{56}\.onion$/.test(host)) parts.push(Buffer.concat([Buffer.of(4), Buffer.from(base32.decode(host.slice(0, 56).toUpperCase())), port]));
    else if (host.length <= 255 && /^[\x21-\x7e]+$/.test(host)) parts.push(Buffer.concat([Buffer.of(5, host.length), Buffer.from(host, 'latin1'), port]));
  }
  // BOLT 7: descriptors in ascending order of type.
  return Buffer.concat(parts.sort((a, b) => a[0]! - b[0]!));
}

function ipv6Bytes(host: string): Buffer {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
