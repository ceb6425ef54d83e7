/**
 * BOLT 9 feature vectors.
 *
 * On the wire a feature vector is a big-endian bit field: bit 0 is the least significant bit of the
 * LAST byte. Features come in pairs: the even bit means "required", the odd bit "supported" — and
 * "it's OK to be odd": a peer may set odd bits we do not know, but an even bit we do not know means
 * we must not talk to it.
 */
import { WireError } from './errors.js';

/**
 * Feature numbers (the even bit of each pair) as assigned by BOLT 9, including historical assignments
 * still seen on the network (initial_routing_sync exists only as bit 3; option_anchor_outputs 20/21
 * was retired in favour of 22/23).
 */
export const Feature = {
  OPTION_DATA_LOSS_PROTECT: 0,
  /** Only the odd bit (3) is defined. */
  INITIAL_ROUTING_SYNC: 2,
  OPTION_UPFRONT_SHUTDOWN_SCRIPT: 4,
  GOSSIP_QUERIES: 6,
  VAR_ONION_OPTIN: 8,
  GOSSIP_QUERIES_EX: 10,
  OPTION_STATIC_REMOTEKEY: 12,
  PAYMENT_SECRET: 14,
  BASIC_MPP: 16,
  OPTION_SUPPORT_LARGE_CHANNEL: 18,
  /** Retired (legacy anchors with non-zero-fee HTLC transactions). */
  OPTION_ANCHOR_OUTPUTS: 20,
  /** `option_anchors` in current BOLT 9. */
  OPTION_ANCHORS_ZERO_FEE_HTLC_TX: 22,
  OPTION_ROUTE_BLINDING: 24,
  OPTION_SHUTDOWN_ANYSEGWIT: 26,
  OPTION_DUAL_FUND: 28,
  OPTION_QUIESCE: 34,
  OPTION_ATTRIBUTION_DATA: 36,
  OPTION_ONION_MESSAGES: 38,
  OPTION_PROVIDE_STORAGE: 42,
  OPTION_CHANNEL_TYPE: 44,
  OPTION_SCID_ALIAS: 46,
  OPTION_PAYMENT_METADATA: 48,
  OPTION_ZEROCONF: 50,
  OPTION_SIMPLE_CLOSE: 60,
  OPTION_SPLICE: 62,
} as const;

export type FeatureName = keyof typeof Feature;

/** Spec name (`option_static_remotekey`) of the pair `bit` belongs to, if BOLT 9 assigns it. */
export function featureName(bit: number): string | undefined {
  const even = bit - (bit & 1);
  if (even === Feature.INITIAL_ROUTING_SYNC && bit !== 3) return undefined;
  return NAMES.get(even);
}

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Feature).map(([k, v]) => [
    v,
    k === 'OPTION_ANCHORS_ZERO_FEE_HTLC_TX' ? 'option_anchors' : k.toLowerCase(),
  ]),
);

/**
 * BOLT 9 dependencies: [feature, feature it depends on]. A vector that offers the first (either bit)
 * must offer the second. Current BOLT 9 lists basic_mpp, option_zeroconf and option_simple_close;
 * the other rows were listed by earlier revisions and every implementation still sets them.
 */
export const DEPENDENCIES: ReadonlyArray<readonly [number, number]> = [
  [Feature.PAYMENT_SECRET, Feature.VAR_ONION_OPTIN],
  [Feature.BASIC_MPP, Feature.PAYMENT_SECRET],
  [Feature.OPTION_ANCHOR_OUTPUTS, Feature.OPTION_STATIC_REMOTEKEY],
  [Feature.OPTION_ZEROCONF, Feature.OPTION_SCID_ALIAS],
  [Feature.OPTION_SIMPLE_CLOSE, Feature.OPTION_SHUTDOWN_ANYSEGWIT],
];

/**
 * Largest bit number accepted by `fromBits`: a feature field in a message is at most 65535 bytes.
 * Keeps a stray bit number from allocating an enormous buffer.
 */
export const MAX_FEATURE_BIT = 65535 * 8 - 1;

const EMPTY = Buffer.alloc(0);

/** An immutable feature vector. */
export class Features {
  /** Minimal big-endian bytes (no leading zero byte). Never exposed directly. */
  readonly #bytes: Buffer;

  private constructor(minimal: Buffer) {
    this.#bytes = minimal;
  }

  static readonly EMPTY: Features = new Features(EMPTY);

  /** From wire bytes of any length (leading zero bytes are allowed and dropped). */
  static fromBytes(b: Uint8Array): Features {
    let start = 0;
    while (start < b.length && b[start] === 0) start++;
    return new Features(Buffer.from(b.subarray(start)));
  }

  /** From a hex string of wire bytes (`"5102"`); throws WireError INVALID on bad hex. */
  static fromHex(hex: string): Features {
    if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new WireError('INVALID', `features: bad hex ${JSON.stringify(hex.slice(0, 40))}`);
    }
    return Features.fromBytes(Buffer.from(hex, 'hex'));
  }

  /** From bit numbers; throws WireError INVALID (not a non-negative integer) or TOO_LARGE. */
  static fromBits(bits: Iterable<number>): Features {
    const list: number[] = [];
    let max = -1;
    for (const bit of bits) {
      if (!Number.isInteger(bit) || bit < 0) {
        throw new WireError('INVALID', `features: bad bit number ${bit}`);
      }
      if (bit > MAX_FEATURE_BIT) {
        throw new WireError('TOO_LARGE', `features: bit ${bit} exceeds ${MAX_FEATURE_BIT}`);
      }
      list.push(bit);
      if (bit > max) max = bit;
    }
    if (max < 0) return Features.EMPTY;
    const len = (max >> 3) + 1;
    const out = Buffer.alloc(len);
    for (const bit of list) {
      out[len - 1 - (bit >> 3)] |= 1 << (bit & 7);
    }
    return new Features(out);
  }

  /** Minimal wire bytes (empty for no bits); a fresh copy. */
  toBytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  toHex(): string {
    return this.#bytes.toString('hex');
  }

  has(bit: number): boolean {
    if (!Number.isInteger(bit) || bit < 0) return false;
    const idx = this.#bytes.length - 1 - (bit >> 3);
    if (idx < 0) return false;
    return (this.#bytes[idx] & (1 << (bit & 7))) !== 0;
  }

  /** All set bits, ascending. */
  bits(): number[] {
    const out: number[] = [];
    const len = this.#bytes.length;
    for (let i = len - 1; i >= 0; i--) {
      const byte = this.#bytes[i];
      if (byte === 0) continue;
      const base = (len - 1 - i) * 8;
      for (let j = 0; j < 8; j++) if (byte & (1 << j)) out.push(base + j);
    }
    return out;
  }

  isEmpty(): boolean {
    return this.#bytes.length === 0;
  }

  /** Either bit of the pair `feature` belongs to is set (`feature` may be the even or the odd bit). */
  supports(feature: number): boolean {
    const even = feature - (feature & 1);
    return this.has(even) || this.has(even + 1);
  }

  /** The even (compulsory) bit of the pair is set. */
  requires(feature: number): boolean {
    return this.has(feature - (feature & 1));
  }

  /** Bitwise OR (e.g. init's `globalfeatures | features`). */
  or(other: Features): Features {
    const a = this.#bytes;
    const b = other.#bytes;
    const len = Math.max(a.length, b.length);
    const out = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      const ai = a.length - len + i;
      const bi = b.length - len + i;
      out[i] = (ai >= 0 ? a[ai] : 0) | (bi >= 0 ? b[bi] : 0);
    }
    return new Features(out);
  }

  /** A copy with `bits` set. */
  with(...bits: number[]): Features {
    return this.or(Features.fromBits(bits));
  }

  /** A copy with `bits` cleared. */
  without(...bits: number[]): Features {
    const drop = new Set(bits);
    return Features.fromBits(this.bits().filter((b) => !drop.has(b)));
  }

  equals(other: Features): boolean {
    return this.#bytes.equals(other.#bytes);
  }

  /** e.g. `0x5102 [option_data_loss_protect(0), var_onion_optin(8), option_static_remotekey(12), payment_secret(14)]`. */
  toString(): string {
    const parts = this.bits().map((bit) => `${featureName(bit) ?? 'unknown'}(${bit})`);
    return `0x${this.toHex()} [${parts.join(', ')}]`;
  }
}

export type NegotiationResult = { ok: true } | { ok: false; unknownRequired: number[] };

/**
 * "It's OK to be odd": `theirs` is acceptable unless it sets an even bit whose pair is entirely
 * absent from `ours`. Unknown odd bits are ignored. `unknownRequired` lists the offending even bits.
 */
export function negotiate(ours: Features, theirs: Features): NegotiationResult {
  const unknownRequired: number[] = [];
  for (const bit of theirs.bits()) {
    if ((bit & 1) === 0 && !ours.supports(bit)) unknownRequired.push(bit);
  }
  return unknownRequired.length === 0 ? { ok: true } : { ok: false, unknownRequired };
}

/** The first BOLT 9 dependency `f` sets without what it needs (see {@link DEPENDENCIES}): [feature, needs], or undefined. */
export function missingDependency(f: Features): readonly [number, number] | undefined {
  return DEPENDENCIES.find(([feature, needs]) => f.supports(feature) && !f.supports(needs));
}

/**
 * BOLT 9 transitive dependencies (see {@link DEPENDENCIES}): a description of the first missing one,
 * e.g. `basic_mpp requires payment_secret`, or undefined if all are set.
 */
export function checkDependencies(f: Features): string | undefined {
  const missing = missingDependency(f);
  return missing && `${featureName(missing[0])} requires ${featureName(missing[1])}`;
}
