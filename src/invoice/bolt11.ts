/**
 * BOLT 11 invoices: decode (every tagged field, signature check or payee key recovery) and encode
 * (signed with a callback, so the node key can stay with its keychain).
 *
 * ```ts
 * const invoice = encodeInvoice(
 *   { network: 'regtest', amountMsat: 50_000n, timestamp: now, paymentHash, paymentSecret, description: 'coffee',
 *     features: Features.fromBits([9, 15]) },
 *   signWithKey(nodePrivateKey),
 * );
 * const decoded = decodeInvoice(invoice); // decoded.payeeNodeId, decoded.amountMsat, decoded.routeHints, …
 * ```
 * Readers' rules follow current BOLT 11 (lightning/bolts#1243): a `p`, `h`, `s` or `n` field of the wrong
 * length fails the invoice, as does a missing `s` and (lightning/bolts#1357) a second `p`. Bech32 is
 * `@scure/base` with BIP 173's 90-character limit lifted.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bech32, bech32m, createBase58check } from '@scure/base';
import { sha256 } from '../crypto/hash.js';
import { secp } from '../crypto/secp256k1.js';
import { checkDependencies, Feature, Features } from '../wire/features.js';
import { scidFromBytes, scidToBytes } from '../onion/scid.js';
import { InvoiceError } from './errors.js';
import { CURRENCY, formatAmount, parseHrp, type InvoiceNetwork } from './hrp.js';

/** Tagged-field types: the bech32 character's 5-bit value. */
export const Tag = { p: 1, r: 3, '9': 5, x: 6, f: 9, d: 13, s: 16, n: 19, h: 23, c: 24, m: 27 } as const;

export const DEFAULT_EXPIRY_SECONDS = 3600;
export const DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA = 18;
/** Even feature bits a reader of this module understands in an invoice (BOLT 9, context `9`). */
export const INVOICE_FEATURES: readonly number[] = [Feature.VAR_ONION_OPTIN, Feature.PAYMENT_SECRET, Feature.BASIC_MPP, Feature.OPTION_PAYMENT_METADATA];

export interface RouteHintHop {
  nodeId: Buffer;
  shortChannelId: string;
  feeBaseMsat: number;
  feeProportionalMillionths: number;
  cltvExpiryDelta: number;
}

/** An `f` field: witness version 0–16 with its program, 17 (P2PKH hash) or 18 (P2SH hash). */
export interface Fallback {
  version: number;
  program: Buffer;
  /** The address on the invoice's network, when the version is one Bitcoin defines. */
  address?: string;
}

export interface InvoiceFields {
  network: InvoiceNetwork;
  amountMsat?: bigint;
  /** Seconds since 1970. */
  timestamp: number;
  paymentHash: Buffer;
  paymentSecret: Buffer;
  description?: string;
  descriptionHash?: Buffer;
  /** Written as an `n` field when set (otherwise readers recover it from the signature). */
  payeeNodeId?: Buffer;
  expirySeconds?: number;
  minFinalCltvExpiryDelta?: number;
  fallbacks?: Omit<Fallback, 'address'>[];
  routeHints?: RouteHintHop[][];
  features?: Features;
  metadata?: Buffer;
}

export interface Invoice extends Required<Pick<InvoiceFields, 'network' | 'timestamp' | 'paymentHash' | 'paymentSecret' | 'expirySeconds' | 'minFinalCltvExpiryDelta' | 'features'>> {
  /** `bc`, `tb`, `tbs` or `bcrt`. */
  currency: string;
  amountMsat: bigint | undefined;
  description: string | undefined;
  descriptionHash: Buffer | undefined;
  payeeNodeId: Buffer;
  fallbacks: Fallback[];
  routeHints: RouteHintHop[][];
  metadata: Buffer | undefined;
  /** Fields of types this module does not know, kept as 5-bit words. */
  unknownFields: { tag: number; words: number[] }[];
  signature: Buffer;
  recoveryId: number;
}

/** Signs a 32-byte digest: a compact signature (64 bytes, low-S) and its recovery id. */
export type InvoiceSigner = (digest: Buffer) => { signature: Uint8Array; recoveryId: number };

/** A signer with a private key at hand (tests, and nodes whose key is not behind a keychain). */
export function signWithKey(privateKey: Uint8Array): InvoiceSigner {
  return (digest) => {
    const rec = secp256k1.sign(digest, privateKey, { prehash: false, format: 'recovered' });
    return { signature: rec.subarray(1), recoveryId: rec[0]! };
  };
}

// ---------------------------------------------------------------------------------------------------
// 5-bit words

/**
 * Bytes from words, big-endian bit order; trailing bits that do not fill a byte are dropped, or with
 * `pad` completed with zero bits (how the signed data is hashed).
 */
function wordsToBytes(words: readonly number[], pad = false): Buffer {
  const out = Buffer.alloc((pad ? Math.ceil : Math.floor)((words.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const w of words) {
    acc = ((acc << 5) | w) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (j < out.length) out[j++] = (acc >> bits) & 0xff;
    }
  }
  if (pad && bits > 0) out[j] = (acc << (8 - bits)) & 0xff;
  return out;
}

/** Words from bytes, the last word padded with zero bits. */
const bytesToWords = (b: Uint8Array): number[] => bech32.toWords(b);

function wordsToNumber(words: readonly number[]): number {
  let v = 0n;
  for (const w of words) v = (v << 5n) | BigInt(w);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvoiceError('INVALID_FIELD', `bolt11: a number of ${words.length} words is too large`);
  return Number(v);
}

/** The minimal words of a non-negative integer (none for zero unless `min` says so). */
function numberToWords(n: number, min = 0): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: not a non-negative integer: ${n}`);
  const out: number[] = [];
  let v = BigInt(n);
  while (v > 0n || out.length < min) {
    out.unshift(Number(v & 31n));
    v >>= 5n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Fallback addresses

const base58check = createBase58check(sha256);

function fallbackAddress(network: InvoiceNetwork, version: number, program: Buffer): string | undefined {
  const main = network === 'bitcoin';
  if (version === 17 || version === 18) {
    if (program.length !== 20) return undefined;
    const prefix = version === 17 ? (main ? 0x00 : 0x6f) : main ? 0x05 : 0xc4;
    return base58check.encode(Buffer.concat([Buffer.from([prefix]), program]));
  }
  if (version > 16 || program.length < 2 || program.length > 40 || (version === 0 && program.length !== 20 && program.length !== 32)) return undefined;
  const hrp = main ? 'bc' : network === 'regtest' ? 'bcrt' : 'tb';
  return (version === 0 ? bech32 : bech32m).encode(hrp, [version, ...bech32.toWords(program)], false);
}

// ---------------------------------------------------------------------------------------------------
// Decoding

const ROUTE_HOP_BYTES = 33 + 8 + 4 + 4 + 2;
const SIGNATURE_WORDS = 104;
const TIMESTAMP_WORDS = 7;

export interface DecodeOptions {
  /** Even feature bits the caller understands (default {@link INVOICE_FEATURES}). */
  knownFeatures?: readonly number[];
  /** The description an `h` field commits to, when the caller has it: checked against the hash. */
  description?: string;
}

/** Decode and verify a BOLT 11 invoice (a `lightning:` prefix is accepted). Throws InvoiceError. */
export function decodeInvoice(text: string, options: DecodeOptions = {}): Invoice {
  if (typeof text !== 'string') throw new InvoiceError('BECH32', 'bolt11: not a string');
  const str = text.replace(/^lightning:/i, '');
  let prefix: string;
  let words: number[];
  try {
    ({ prefix, words } = bech32.decode(str as `${string}1${string}`, false));
  } catch (e) {
    throw new InvoiceError('BECH32', `bolt11: ${(e as Error).message.slice(0, 120)}`);
  }
  const hrp = parseHrp(prefix);
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS) throw new InvoiceError('TRUNCATED', `bolt11: ${words.length} data words, fewer than a timestamp and a signature`);
  const data = words.slice(0, -SIGNATURE_WORDS);
  const sigBytes = wordsToBytes(words.slice(-SIGNATURE_WORDS));
  const signature = sigBytes.subarray(0, 64);
  const recoveryId = sigBytes[64]!;

  const inv: Invoice = {
    network: hrp.network,
    currency: hrp.currency,
    amountMsat: hrp.amountMsat,
    timestamp: wordsToNumber(data.slice(0, TIMESTAMP_WORDS)),
    paymentHash: Buffer.alloc(0),
    paymentSecret: Buffer.alloc(0),
    description: undefined,
    descriptionHash: undefined,
    payeeNodeId: Buffer.alloc(0),
    expirySeconds: DEFAULT_EXPIRY_SECONDS,
    minFinalCltvExpiryDelta: DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
    fallbacks: [],
    routeHints: [],
    features: Features.EMPTY,
    metadata: undefined,
    unknownFields: [],
    signature: Buffer.from(signature),
    recoveryId,
  };
  const seen = new Set<number>();
  let payeeField: Buffer | undefined;
  let i = TIMESTAMP_WORDS;
  while (i < data.length) {
    if (data.length - i < 3) throw new InvoiceError('TRUNCATED', 'bolt11: a tagged field ends inside its header');
    const tag = data[i]!;
    const len = data[i + 1]! * 32 + data[i + 2]!;
    if (i + 3 + len > data.length) throw new InvoiceError('TRUNCATED', `bolt11: field ${tag} of ${len} words runs past the data`);
    const w = data.slice(i + 3, i + 3 + len);
    i += 3 + len;
    const first = !seen.has(tag);
    seen.add(tag);
    const fixedLength = (want: number, name: string): Buffer => {
      if (len !== want) throw new InvoiceError('INVALID_FIELD', `bolt11: ${name} field of ${len} words, expected ${want}`);
      return wordsToBytes(w);
    };
    switch (tag) {
      case Tag.p: {
        const hash = fixedLength(52, 'p');
        if (!first) throw new InvoiceError('DUPLICATE_FIELD', 'bolt11: more than one p (payment hash) field');
        inv.paymentHash = hash;
        break;
      }
      case Tag.s:
        if (first) inv.paymentSecret = fixedLength(52, 's');
        break;
      case Tag.h:
        if (first) inv.descriptionHash = fixedLength(52, 'h');
        break;
      case Tag.n:
        if (first) payeeField = fixedLength(53, 'n');
        break;
      case Tag.d:
        if (first) inv.description = utf8(wordsToBytes(w));
        break;
      case Tag.x:
        if (first) inv.expirySeconds = wordsToNumber(w);
        break;
      case Tag.c:
        if (first) inv.minFinalCltvExpiryDelta = wordsToNumber(w);
        break;
      case Tag.m:
        if (first) inv.metadata = wordsToBytes(w);
        break;
      case Tag['9']:
        if (first) inv.features = featuresFromWords(w);
        break;
      case Tag.f:
        if (len > 0) {
          const program = wordsToBytes(w.slice(1));
          const address = fallbackAddress(inv.network, w[0]!, program);
          // An `f` field of a version Bitcoin does not define is skipped, as BOLT 11 asks.
          if (address !== undefined) inv.fallbacks.push({ version: w[0]!, program, address });
        }
        break;
      case Tag.r:
        inv.routeHints.push(routeHint(wordsToBytes(w)));
        break;
      default:
        inv.unknownFields.push({ tag, words: w });
    }
  }
  if (!seen.has(Tag.p)) throw new InvoiceError('MISSING_FIELD', 'bolt11: no p (payment hash) field');
  if (!seen.has(Tag.s)) throw new InvoiceError('MISSING_FIELD', 'bolt11: no s (payment secret) field');
  checkFeatures(inv.features, options.knownFeatures ?? INVOICE_FEATURES);
  if (options.description !== undefined && inv.descriptionHash !== undefined && !sha256(Buffer.from(options.description, 'utf8')).equals(inv.descriptionHash)) {
    throw new InvoiceError('INVALID_FIELD', 'bolt11: the h field is not the hash of the description given');
  }

  const digest = sha256(Buffer.from(prefix, 'utf8'), wordsToBytes(data, true));
  inv.payeeNodeId = payee(digest, signature, recoveryId, payeeField);
  return inv;
}

/** When the invoice stops being payable: its timestamp plus its expiry, in seconds since 1970. */
export function invoiceExpiresAt(inv: Pick<Invoice, 'timestamp' | 'expirySeconds'>): number {
  return inv.timestamp + inv.expirySeconds;
}

function utf8(b: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new InvoiceError('INVALID_FIELD', 'bolt11: d (description) is not UTF-8');
  }
}

function featuresFromWords(w: readonly number[]): Features {
  const bits: number[] = [];
  w.forEach((word, idx) => {
    const base = (w.length - 1 - idx) * 5;
    for (let b = 0; b < 5; b++) if (word & (1 << b)) bits.push(base + b);
  });
  try {
    return Features.fromBits(bits);
  } catch {
    throw new InvoiceError('FEATURES', `bolt11: a feature field of ${w.length} words is too long`);
  }
}

function checkFeatures(f: Features, known: readonly number[]): void {
  const unknown = f.bits().filter((b) => (b & 1) === 0 && !known.includes(b));
  if (unknown.length > 0) throw new InvoiceError('FEATURES', `bolt11: unknown required feature ${unknown.join(', ')}`);
  const missing = checkDependencies(f);
  if (missing !== undefined) throw new InvoiceError('FEATURES', `bolt11: ${missing}`);
}

function routeHint(b: Buffer): RouteHintHop[] {
  if (b.length === 0 || b.length % ROUTE_HOP_BYTES !== 0) throw new InvoiceError('INVALID_FIELD', `bolt11: r field of ${b.length} bytes is not a whole number of ${ROUTE_HOP_BYTES}-byte hops`);
  const hops: RouteHintHop[] = [];
  for (let o = 0; o < b.length; o += ROUTE_HOP_BYTES) {
    hops.push({
      nodeId: Buffer.from(b.subarray(o, o + 33)),
      shortChannelId: scidFromBytes(b.subarray(o + 33, o + 41)),
      feeBaseMsat: b.readUInt32BE(o + 41),
      feeProportionalMillionths: b.readUInt32BE(o + 45),
      cltvExpiryDelta: b.readUInt16BE(o + 49),
    });
  }
  return hops;
}

const HALF_ORDER = secp256k1.Point.CURVE().n >> 1n;

/** The payee: `n` checked against the signature (low-S, as libsecp256k1 verifies), or recovered from it. */
function payee(digest: Buffer, signature: Buffer, recoveryId: number, nField: Buffer | undefined): Buffer {
  if (nField !== undefined) {
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    if (s > HALF_ORDER || !secp.isPublicKey(nField) || !secp.verify(digest, nField, signature)) {
      throw new InvoiceError('SIGNATURE', 'bolt11: the signature does not match the n field (or is high-S)');
    }
    return nField;
  }
  if (recoveryId > 3) throw new InvoiceError('SIGNATURE', `bolt11: recovery id ${recoveryId}`);
  try {
    return Buffer.from(secp256k1.recoverPublicKey(Buffer.concat([Buffer.from([recoveryId]), signature]), digest, { prehash: false }));
  } catch {
    throw new InvoiceError('SIGNATURE', 'bolt11: no public key recovers from the signature');
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoding

function field(tag: number, words: number[]): number[] {
  if (words.length > 1023) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: field ${tag} of ${words.length} words exceeds 1023`);
  return [tag, words.length >> 5, words.length & 31, ...words];
}

const bytes32 = (b: Buffer | undefined, name: string): Buffer => {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: ${name} must be 32 bytes`);
  return b;
};

/** The invoice text (lower case) for `f`, signed by `sign`. Throws InvoiceError INVALID_ARGUMENT. */
export function encodeInvoice(f: InvoiceFields, sign: InvoiceSigner): string {
  const currency = CURRENCY[f.network];
  if (currency === undefined) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: unknown network ${String(f.network)}`);
  const prefix = `ln${currency}${f.amountMsat === undefined ? '' : formatAmount(f.amountMsat)}`;
  if (!Number.isSafeInteger(f.timestamp) || f.timestamp < 0 || f.timestamp >= 2 ** 35) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: bad timestamp ${f.timestamp}`);
  if ((f.description === undefined) === (f.descriptionHash === undefined)) {
    throw new InvoiceError('INVALID_ARGUMENT', 'bolt11: exactly one of description and descriptionHash');
  }
  const words: number[] = numberToWords(f.timestamp, TIMESTAMP_WORDS);
  words.push(...field(Tag.p, bytesToWords(bytes32(f.paymentHash, 'paymentHash'))));
  words.push(...field(Tag.s, bytesToWords(bytes32(f.paymentSecret, 'paymentSecret'))));
  if (f.description !== undefined) words.push(...field(Tag.d, bytesToWords(Buffer.from(f.description, 'utf8'))));
  else words.push(...field(Tag.h, bytesToWords(bytes32(f.descriptionHash, 'descriptionHash'))));
  if (f.payeeNodeId !== undefined) {
    if (!secp.isPublicKey(f.payeeNodeId)) throw new InvoiceError('INVALID_ARGUMENT', 'bolt11: payeeNodeId is not a public key');
    words.push(...field(Tag.n, bytesToWords(f.payeeNodeId)));
  }
  if (f.expirySeconds !== undefined) words.push(...field(Tag.x, numberToWords(f.expirySeconds)));
  words.push(...field(Tag.c, numberToWords(f.minFinalCltvExpiryDelta ?? DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA)));
  for (const fb of f.fallbacks ?? []) {
    if (!Number.isInteger(fb.version) || fb.version < 0 || fb.version > 31) throw new InvoiceError('INVALID_ARGUMENT', `bolt11: fallback version ${fb.version}`);
    words.push(...field(Tag.f, [fb.version, ...bytesToWords(fb.program)]));
  }
  for (const hint of f.routeHints ?? []) words.push(...field(Tag.r, bytesToWords(encodeRouteHint(hint))));
  if (f.features !== undefined && !f.features.isEmpty()) words.push(...field(Tag['9'], featuresToWords(f.features)));
  if (f.metadata !== undefined) words.push(...field(Tag.m, bytesToWords(f.metadata)));

  const digest = sha256(Buffer.from(prefix, 'utf8'), wordsToBytes(words, true));
  const { signature, recoveryId } = sign(digest);
  if (signature.length !== 64 || !Number.isInteger(recoveryId) || recoveryId < 0 || recoveryId > 3) {
    throw new InvoiceError('INVALID_ARGUMENT', 'bolt11: the signer must return 64 bytes and a recovery id 0–3');
  }
  words.push(...bytesToWords(Buffer.concat([signature, Buffer.from([recoveryId])])));
  return bech32.encode(prefix, words, false);
}

function encodeRouteHint(hops: readonly RouteHintHop[]): Buffer {
  if (hops.length === 0) throw new InvoiceError('INVALID_ARGUMENT', 'bolt11: an empty route hint');
  return Buffer.concat(
    hops.map((h) => {
      const scid = scidToBytes(h.shortChannelId);
      if (!secp.isPublicKey(h.nodeId) || scid === undefined) throw new InvoiceError('INVALID_ARGUMENT', 'bolt11: a route hint hop needs a node id and a BLOCKxTXxOUT channel');
      const b = Buffer.alloc(ROUTE_HOP_BYTES);
      h.nodeId.copy(b, 0);
      scid.copy(b, 33);
      b.writeUInt32BE(h.feeBaseMsat, 41);
      b.writeUInt32BE(h.feeProportionalMillionths, 45);
      b.writeUInt16BE(h.cltvExpiryDelta, 49);
      return b;
    }),
  );
}

function featuresToWords(f: Features): number[] {
  const bits = f.bits();
  const out = new Array<number>(Math.floor(bits.at(-1)! / 5) + 1).fill(0);
  for (const b of bits) out[out.length - 1 - Math.floor(b / 5)]! |= 1 << (b % 5);
  return out;
}
