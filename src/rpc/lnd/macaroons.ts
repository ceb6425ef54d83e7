import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { goHexDecode } from './pubkey.js';

/**
 * LND's macaroons: libmacaroons v2 binary serialisation, bakery "Version3" identifiers (byte 3 + the
 * MacaroonId protobuf: nonce, storage id, sorted operations), location `lnd`, the HMAC-SHA256 chain, the
 * first-party caveats LND honours (`time-before`, `ipaddr`, `iprange`) and bakery's authorisation rule
 * (every required op, or else `uri:<full method>`), with the error texts LND's clients see.
 */

export const MACAROON_LOCATION = 'lnd';
export const DEFAULT_ROOT_KEY_ID = '0';
const KEY_GENERATOR = Buffer.from('macaroons-key-generator');
/** Bakery's identifier version that LND mints and requires. */
const ID_VERSION_3 = 3;
/** Bounds that keep the decoder's work and memory proportional to sane input. */
export const MAX_MACAROON_BYTES = 64 * 1024;
const MAX_CAVEATS = 1024;

export interface Op {
  entity: string;
  action: string;
}

export interface Caveat {
  /** The caveat identifier: for a first-party caveat, its condition (`time-before 2030-01-01T00:00:00Z`). */
  id: Buffer;
  /** Present only on third-party caveats (which LND does not support). */
  verificationId?: Buffer;
  location?: string;
}

export interface Macaroon {
  location: string;
  identifier: Buffer;
  caveats: Caveat[];
  signature: Buffer;
}

export interface MacaroonId {
  version: number;
  nonce: Buffer;
  storageId: Buffer;
  ops: Op[];
}

export type MacaroonErrorCode = 'MALFORMED' | 'UNSUPPORTED_VERSION' | 'BAD_ID' | 'VERIFICATION' | 'CAVEAT' | 'DENIED' | 'NO_MACAROON';

/** Any refusal; `message` is the text LND puts in the gRPC status (code Unknown). */
export class MacaroonError extends Error {
  constructor(
    readonly code: MacaroonErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MacaroonError';
  }
}

// ---------------------------------------------------------------------------------------------------
// uvarint and the v2 binary codec

function readUvarint(b: Buffer, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= b.length) throw new MacaroonError('MALFORMED', 'macaroon: truncated varint');
    const byte = b[pos + i]!;
    result += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) throw new MacaroonError('MALFORMED', 'macaroon: non-minimal varint');
      return [result, pos + i + 1];
    }
    mul *= 128;
  }
  throw new MacaroonError('MALFORMED', 'macaroon: varint too long');
}

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

const F_EOS = 0;
const F_LOCATION = 1;
const F_IDENTIFIER = 2;
const F_VID = 4;
const F_SIGNATURE = 6;

interface Field {
  type: number;
  data: Buffer;
}

/** Reads one field; `null` for the end-of-section marker. */
function readField(b: Buffer, pos: number): [Field | null, number] {
  if (pos >= b.length) throw new MacaroonError('MALFORMED', 'macaroon: unexpected end of data');
  const type = b[pos]!;
  if (type === F_EOS) return [null, pos + 1];
  const [len, p] = readUvarint(b, pos + 1);
  if (p + len > b.length) throw new MacaroonError('MALFORMED', 'macaroon: field data too long');
  return [{ type, data: b.subarray(p, p + len) }, p + len];
}

function field(type: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), uvarint(data.length), data]);
}

/** Decodes a v2 binary macaroon. Total: any bytes give a macaroon or a MacaroonError. */
export function decodeMacaroon(bytes: Uint8Array): Macaroon {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length === 0) throw new MacaroonError('MALFORMED', 'empty macaroon data');
  if (b.length > MAX_MACAROON_BYTES) throw new MacaroonError('MALFORMED', 'macaroon: too large');
  if (b[0] !== 2) throw new MacaroonError('UNSUPPORTED_VERSION', `unsupported macaroon version: only v2 binary macaroons are accepted`);
  let pos = 1;
  let f: Field | null;
  [f, pos] = readField(b, pos);
  let location = '';
  if (f?.type === F_LOCATION) {
    location = f.data.toString('utf8');
    [f, pos] = readField(b, pos);
  }
  if (f?.type !== F_IDENTIFIER) throw new MacaroonError('MALFORMED', 'macaroon: identifier not found');
  const identifier = Buffer.from(f.data);
  [f, pos] = readField(b, pos);
  if (f !== null) throw new MacaroonError('MALFORMED', 'macaroon: unexpected field after identifier');
  const caveats: Caveat[] = [];
  for (;;) {
    [f, pos] = readField(b, pos);
    if (f === null) break;
    if (caveats.length >= MAX_CAVEATS) throw new MacaroonError('MALFORMED', 'macaroon: too many caveats');
    const cav: Caveat = { id: Buffer.alloc(0) };
    if (f.type === F_LOCATION) {
      cav.location = f.data.toString('utf8');
      [f, pos] = readField(b, pos);
    }
    if (f?.type !== F_IDENTIFIER) throw new MacaroonError('MALFORMED', 'macaroon: caveat identifier not found');
    cav.id = Buffer.from(f.data);
    [f, pos] = readField(b, pos);
    if (f?.type === F_VID) {
      cav.verificationId = Buffer.from(f.data);
      [f, pos] = readField(b, pos);
    }
    if (f !== null) throw new MacaroonError('MALFORMED', 'macaroon: unexpected field in caveat');
    caveats.push(cav);
  }
  [f, pos] = readField(b, pos);
  if (f?.type !== F_SIGNATURE) throw new MacaroonError('MALFORMED', 'macaroon: signature not found');
  if (f.data.length !== 32) throw new MacaroonError('MALFORMED', 'macaroon: signature has unexpected length');
  if (pos !== b.length) throw new MacaroonError('MALFORMED', 'macaroon: trailing data');
  return { location, identifier, caveats, signature: Buffer.from(f.data) };
}

export function encodeMacaroon(m: Macaroon): Buffer {
  const parts: Buffer[] = [Buffer.from([2])];
  if (m.location) parts.push(field(F_LOCATION, Buffer.from(m.location)));
  parts.push(field(F_IDENTIFIER, m.identifier), Buffer.from([F_EOS]));
  for (const c of m.caveats) {
    if (c.location) parts.push(field(F_LOCATION, Buffer.from(c.location)));
    parts.push(field(F_IDENTIFIER, c.id));
    if (c.verificationId) parts.push(field(F_VID, c.verificationId));
    parts.push(Buffer.from([F_EOS]));
  }
  parts.push(Buffer.from([F_EOS]), field(F_SIGNATURE, m.signature));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// The identifier: byte 3 + MacaroonId { bytes nonce = 1; bytes storageId = 2; repeated Op ops = 3 },
// Op { string entity = 1; repeated string actions = 2 }

interface PbField {
  num: number;
  wire: number;
  bytes?: Buffer;
}

function readPb(b: Buffer): PbField[] {
  const out: PbField[] = [];
  let pos = 0;
  while (pos < b.length) {
    const [tag, p] = readPbVarint(b, pos);
    pos = p;
    const num = Math.floor(tag / 8);
    const wire = tag % 8;
    if (num === 0) throw new MacaroonError('BAD_ID', 'invalid macaroon id: field number 0');
    switch (wire) {
      case 0:
        pos = readPbVarint(b, pos)[1];
        out.push({ num, wire });
        break;
      case 1:
        pos += 8;
        out.push({ num, wire });
        break;
      case 2: {
        const [len, q] = readPbVarint(b, pos);
        if (q + len > b.length) throw new MacaroonError('BAD_ID', 'invalid macaroon id: truncated field');
        out.push({ num, wire, bytes: b.subarray(q, q + len) });
        pos = q + len;
        break;
      }
      case 5:
        pos += 4;
        out.push({ num, wire });
        break;
      default:
        throw new MacaroonError('BAD_ID', `invalid macaroon id: wire type ${wire}`);
    }
    if (pos > b.length) throw new MacaroonError('BAD_ID', 'invalid macaroon id: truncated field');
  }
  return out;
}

function readPbVarint(b: Buffer, pos: number): [number, number] {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= b.length) throw new MacaroonError('BAD_ID', 'invalid macaroon id: truncated varint');
    const byte = b[pos + i]!;
    if (i < 7) result += (byte & 0x7f) * mul;
    mul *= 128;
    if ((byte & 0x80) === 0) return [result, pos + i + 1];
  }
  throw new MacaroonError('BAD_ID', 'invalid macaroon id: varint too long');
}

function pbVarint(n: number): Buffer {
  return uvarint(n);
}

function pbBytes(num: number, data: Buffer): Buffer {
  return Buffer.concat([pbVarint(num * 8 + 2), pbVarint(data.length), data]);
}

/** Sorts by entity then action, drops duplicates: bakery's canonical op order. */
export function canonicalOps(ops: Op[]): Op[] {
  const seen = new Set<string>();
  const out: Op[] = [];
  for (const op of [...ops].sort((a, b) => cmp(a.entity, b.entity) || cmp(a.action, b.action))) {
    const k = `${op.entity}\u0000${op.action}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(op);
  }
  return out;
}

function cmp(a: string, b: string): number {
  // Go compares strings bytewise.
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function encodeMacaroonId(id: { nonce: Buffer; storageId: Buffer; ops: Op[] }): Buffer {
  const parts: Buffer[] = [Buffer.from([ID_VERSION_3]), pbBytes(1, id.nonce), pbBytes(2, id.storageId)];
  const ops = canonicalOps(id.ops);
  for (let i = 0; i < ops.length; ) {
    const entity = ops[i]!.entity;
    const actions: Buffer[] = [];
    for (; i < ops.length && ops[i]!.entity === entity; i++) actions.push(pbBytes(2, Buffer.from(ops[i]!.action)));
    parts.push(pbBytes(3, Buffer.concat([pbBytes(1, Buffer.from(entity)), ...actions])));
  }
  return Buffer.concat(parts);
}

export function decodeMacaroonId(raw: Buffer): MacaroonId {
  if (raw.length === 0 || raw[0] !== ID_VERSION_3) throw new MacaroonError('BAD_ID', 'invalid macaroon ID format');
  const id: MacaroonId = { version: ID_VERSION_3, nonce: Buffer.alloc(0), storageId: Buffer.alloc(0), ops: [] };
  for (const f of readPb(raw.subarray(1))) {
    if (f.wire !== 2) continue;
    if (f.num === 1) id.nonce = Buffer.from(f.bytes!);
    else if (f.num === 2) id.storageId = Buffer.from(f.bytes!);
    else if (f.num === 3) {
      let entity = '';
      const actions: string[] = [];
      for (const g of readPb(f.bytes!)) {
        if (g.wire !== 2) continue;
        if (g.num === 1) entity = g.bytes!.toString('utf8');
        else if (g.num === 2) actions.push(g.bytes!.toString('utf8'));
      }
      for (const action of actions) id.ops.push({ entity, action });
    }
  }
  return id;
}

// ---------------------------------------------------------------------------------------------------
// Signatures, minting, attenuation

function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function signatureChain(rootKey: Buffer, identifier: Buffer, caveats: Caveat[]): Buffer {
  let sig = hmac(hmac(KEY_GENERATOR, rootKey), identifier);
  for (const c of caveats) {
    if (c.verificationId) {
      // libmacaroons' third-party binding: HMAC(sig, HMAC(sig, vid) || HMAC(sig, cid)).
      sig = hmac(sig, Buffer.concat([hmac(sig, c.verificationId), hmac(sig, c.id)]));
    } else {
      sig = hmac(sig, c.id);
    }
  }
  return sig;
}

export function mintMacaroon(opts: { rootKey: Buffer; ops: Op[]; storageId?: string; nonce?: Buffer; location?: string }): Macaroon {
  const identifier = encodeMacaroonId({
    nonce: opts.nonce ?? randomBytes(16),
    storageId: Buffer.from(opts.storageId ?? DEFAULT_ROOT_KEY_ID),
    ops: opts.ops,
  });
  return {
    location: opts.location ?? MACAROON_LOCATION,
    identifier,
    caveats: [],
    signature: signatureChain(opts.rootKey, identifier, []),
  };
}

/** Adds a first-party caveat (`time-before …`, `ipaddr …`): anyone holding a macaroon may narrow it. */
export function addFirstPartyCaveat(m: Macaroon, condition: string): Macaroon {
  const id = Buffer.from(condition);
  return { ...m, caveats: [...m.caveats, { id }], signature: hmac(m.signature, id) };
}

/** `time-before <RFC 3339>` as bakery writes it. */
export function timeBeforeCaveat(t: Date): string {
  return `time-before ${t.toISOString()}`;
}

// ---------------------------------------------------------------------------------------------------
// Permissions LND bakes into its default macaroons (rpcserver.go readPermissions / writePermissions)

const ENTITIES_RW = ['onchain', 'offchain', 'address', 'message', 'peers', 'info', 'invoices'];
export const READ_PERMISSIONS: Op[] = [...ENTITIES_RW, 'signer', 'macaroon'].map((entity) => ({ entity, action: 'read' }));
export const WRITE_PERMISSIONS: Op[] = [
  ...ENTITIES_RW.map((entity) => ({ entity, action: 'write' })),
  { entity: 'signer', action: 'generate' },
  { entity: 'macaroon', action: 'generate' },
  { entity: 'macaroon', action: 'write' },
];
/** admin.macaroon: read + write + remote signer (lnd.go adminPermissions). 20 ops. */
export const ADMIN_PERMISSIONS: Op[] = canonicalOps([...READ_PERMISSIONS, ...WRITE_PERMISSIONS, { entity: 'remotesigner', action: 'generate' }]);
export const READONLY_PERMISSIONS: Op[] = canonicalOps(READ_PERMISSIONS);
export const PERMISSION_ENTITY_URI = 'uri';

// ---------------------------------------------------------------------------------------------------
// Root keys

/**
 * Where root keys live. The daemon backs it with the database; keys are 32 random bytes, never logged.
 * `createRootKey` returns the existing key when there is one.
 */
export interface RootKeyStore {
  getRootKey(id: string): Promise<Buffer | undefined>;
  createRootKey(id: string): Promise<Buffer>;
}

/** For unit tests and for nodes without a database. */
export class MemoryRootKeyStore implements RootKeyStore {
  readonly #keys = new Map<string, Buffer>();
  constructor(initial?: Record<string, Buffer>) {
    for (const [k, v] of Object.entries(initial ?? {})) this.#keys.set(k, Buffer.from(v));
  }
  async getRootKey(id: string): Promise<Buffer | undefined> {
    const k = this.#keys.get(id);
    return k ? Buffer.from(k) : undefined;
  }
  async createRootKey(id: string): Promise<Buffer> {
    let k = this.#keys.get(id);
    if (!k) {
      k = randomBytes(32);
      this.#keys.set(id, k);
    }
    return Buffer.from(k);
  }
}

// ---------------------------------------------------------------------------------------------------
// Verification

export interface CheckContext {
  /** The caller's IP address (no port), for `ipaddr` / `iprange`. */
  peerIp: string | undefined;
  now?: Date;
}

/**
 * Verifies macaroons against the store's root keys and checks them for operations, as LND's
 * `macaroons.Service.CheckMacAuth` does with bakery's checker.
 */
export class MacaroonVerifier {
  readonly #store: RootKeyStore;
  /** Root keys are immutable once created, so they are cached after the first lookup. */
  readonly #cache = new Map<string, Buffer>();

  constructor(store: RootKeyStore) {
    this.#store = store;
  }

  async rootKey(id: string): Promise<Buffer | undefined> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const k = await this.#store.getRootKey(id);
    if (k) this.#cache.set(id, k);
    return k;
  }

  /**
   * LND's metadata handling: exactly one value, hex, v2 binary, identifier version 3; then the
   * required ops, or `uri:<fullMethod>`. Throws MacaroonError with LND's message on refusal.
   */
  async checkMetadata(values: string[], required: Op[], fullMethod: string, ctx: CheckContext): Promise<void> {
    if (values.length !== 1) throw new MacaroonError('NO_MACAROON', `expected 1 macaroon, got ${values.length}`);
    const bytes = decodeGoHex(values[0]!);
    const mac = decodeMacaroon(bytes);
    if (mac.identifier.length === 0 || mac.identifier[0] !== ID_VERSION_3) throw new MacaroonError('BAD_ID', 'invalid macaroon ID format');
    await this.check(mac, required, fullMethod, ctx);
  }

  async check(mac: Macaroon, required: Op[], fullMethod: string, ctx: CheckContext): Promise<void> {
    const verified = await this.#verify(mac);
    // bakery: first party caveats checked against this request, then the ops; on failure the error is
    // the first verification / caveat error, else "permission denied".
    const failure = verified.error ?? checkConditions(verified.conditions, ctx);
    if (failure) throw failure;
    const have = new Set(verified.ops.map((o) => `${o.entity}:${o.action}`));
    if (required.every((o) => have.has(`${o.entity}:${o.action}`))) return;
    if (have.has(`${PERMISSION_ENTITY_URI}:${fullMethod}`)) return;
    throw new MacaroonError('DENIED', 'permission denied');
  }

  async #verify(mac: Macaroon): Promise<{ ops: Op[]; conditions: string[]; error?: MacaroonError }> {
    let id: MacaroonId;
    try {
      id = decodeMacaroonId(mac.identifier);
    } catch (err) {
      return { ops: [], conditions: [], error: new MacaroonError('VERIFICATION', `verification failed: ${(err as Error).message}`) };
    }
    const storageId = id.storageId.toString('utf8');
    const rootKey = await this.rootKey(storageId);
    if (!rootKey) {
      return { ops: [], conditions: [], error: new MacaroonError('VERIFICATION', `cannot get macaroon: root key with id ${storageId} doesn't exist`) };
    }
    if (mac.caveats.some((c) => c.verificationId)) {
      return { ops: [], conditions: [], error: new MacaroonError('VERIFICATION', 'verification failed: cannot find discharge macaroon for caveat') };
    }
    const expected = signatureChain(rootKey, mac.identifier, mac.caveats);
    if (!timingSafeEqual(expected, mac.signature)) {
      return { ops: [], conditions: [], error: new MacaroonError('VERIFICATION', 'verification failed: signature mismatch after caveat verification') };
    }
    return { ops: id.ops, conditions: mac.caveats.map((c) => c.id.toString('utf8')) };
  }
}

/** Go's hex.DecodeString, with its error texts, as a MacaroonError. */
export function decodeGoHex(s: string): Buffer {
  try {
    return goHexDecode(s);
  } catch (err) {
    throw new MacaroonError('MALFORMED', (err as Error).message);
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function checkConditions(conditions: string[], ctx: CheckContext): MacaroonError | undefined {
  for (const cond of conditions) {
    const sp = cond.indexOf(' ');
    const name = sp < 0 ? cond : cond.slice(0, sp);
    const arg = sp < 0 ? '' : cond.slice(sp + 1);
    const problem = checkCondition(name, arg, ctx);
    if (problem) return new MacaroonError('CAVEAT', `caveat ${goQuote(cond)} not satisfied: ${problem}`);
  }
  return undefined;
}

function checkCondition(name: string, arg: string, ctx: CheckContext): string | undefined {
  switch (name) {
    case 'time-before': {
      if (!RFC3339.test(arg)) return `parsing time ${goQuote(arg)} as RFC 3339 failed`;
      const t = Date.parse(arg.toUpperCase());
      if (Number.isNaN(t)) return `parsing time ${goQuote(arg)} as RFC 3339 failed`;
      return (ctx.now ?? new Date()).getTime() < t ? undefined : 'macaroon has expired';
    }
    case 'ipaddr': {
      const want = normalizeIp(arg);
      const got = ctx.peerIp === undefined ? undefined : normalizeIp(ctx.peerIp);
      if (got === undefined) return 'unable to get peer info from context';
      return want !== undefined && want === got ? undefined : 'macaroon locked to different IP address';
    }
    case 'iprange': {
      const got = ctx.peerIp === undefined ? undefined : normalizeIp(ctx.peerIp);
      if (got === undefined) return 'unable to get peer info from context';
      const inRange = cidrContains(arg, got);
      if (inRange === undefined) return `invalid CIDR address: ${arg}`;
      return inRange ? undefined : 'macaroon locked to different IP range';
    }
    case 'declared':
    case 'error':
    case 'lnd-custom':
    default:
      // Nothing anode serves declares values or custom conditions, so these never hold.
      return name === 'error' ? arg : 'caveat not recognized';
  }
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Canonical text of an IP (IPv4-mapped IPv6 folded to IPv4, as Go's net.IP.Equal does). */
export function normalizeIp(s: string): string | undefined {
  const ip = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const v = isIP(ip);
  if (v === 4) return ip.split('.').map((x) => String(Number(x))).join('.');
  if (v !== 6) return undefined;
  const bytes = ipv6Bytes(ip);
  if (!bytes) return undefined;
  if (bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return [...bytes.subarray(12)].join('.');
  return bytes.toString('hex');
}

function ipv6Bytes(ip: string): Buffer | undefined {
  let s = ip;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    tail = v4[1]!.split('.').map(Number);
    const hi = (tail[0]! << 8) | tail[1]!;
    const lo = (tail[2]! << 8) | tail[3]!;
    s = s.slice(0, -v4[1]!.length) + hi.toString(16) + ':' + lo.toString(16);
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const groups = [...h, ...Array(Math.max(0, fill)).fill('0'), ...r];
  if (groups.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function cidrContains(cidr: string, ip: string): boolean | undefined {
  const [base, bitsText] = cidr.split('/');
  if (!base || bitsText === undefined || !/^\d+$/.test(bitsText)) return undefined;
  const b = normalizeIp(base);
  if (b === undefined) return undefined;
  const bits = Number(bitsText);
  const toBytes = (x: string): Buffer => (x.includes('.') ? Buffer.from(x.split('.').map(Number)) : Buffer.from(x, 'hex'));
  const bb = toBytes(b);
  const ib = toBytes(ip);
  if (bits > bb.length * 8) return undefined;
  if (bb.length !== ib.length) return false;
  for (let i = 0; i < bits; i++) {
    const m = 0x80 >> i % 8;
    if ((bb[i >> 3]! & m) !== (ib[i >> 3]! & m)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Default macaroon files

export const ADMIN_MACAROON_FILE = 'admin.macaroon';
export const READONLY_MACAROON_FILE = 'readonly.macaroon';

/**
 * Creates the root key (id "0") if needed, then `admin.macaroon` and `readonly.macaroon` in `dir`
 * (binary, mode 0600) when they are missing or no longer verify under the root key.
 */
export async function ensureDefaultMacaroons(dir: string, store: RootKeyStore): Promise<{ admin: string; readonly: string }> {
  await mkdir(dir, { recursive: true });
  const rootKey = await store.createRootKey(DEFAULT_ROOT_KEY_ID);
  const files = { admin: join(dir, ADMIN_MACAROON_FILE), readonly: join(dir, READONLY_MACAROON_FILE) };
  for (const [path, ops] of [
    [files.admin, ADMIN_PERMISSIONS],
    [files.readonly, READONLY_PERMISSIONS],
  ] as const) {
    if (await stillValid(path, rootKey)) continue;
    const tmp = `${path}.tmp`;
    await writeFile(tmp, encodeMacaroon(mintMacaroon({ rootKey, ops })), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  }
  return files;
}

async function stillValid(path: string, rootKey: Buffer): Promise<boolean> {
  try {
    const mac = decodeMacaroon(await readFile(path));
    return timingSafeEqual(signatureChain(rootKey, mac.identifier, mac.caveats), mac.signature);
  } catch {
    return false;
  }
}
