/**
 * BOLT 3 "Efficient Per-commitment Secret Storage": the counterparty's revealed per-commitment secrets
 * kept compactly. A secret at index I with B trailing zero bits derives every index that shares I's
 * bits 47 … B, so only secrets no other stored secret derives are kept: 49 at most when secrets arrive
 * in the protocol's descending order, where this is exactly the spec's `insert_secret` (each new secret
 * must derive every stored secret below its bucket, else the secrets do not come from one seed).
 *
 * Secrets received out of order are checked against every stored secret that derives them or that
 * they derive, so any order of a correct chain is accepted and any inconsistency is rejected.
 */
import { ChannelError } from './errors.js';
import { checkIndex, deriveShachainSecret, MAX_SHACHAIN_INDEX } from './keys.js';

export interface ShachainEntry {
  index: bigint;
  secret: Buffer;
}

/** `where_to_put_secret`: the number of trailing zero bits of `index` (48 for index 0). */
export function shachainBucket(index: bigint): number {
  for (let b = 0; b < 48; b++) if ((index >> BigInt(b)) & 1n) return b;
  return 48;
}

/** True when the secret at `from` derives the one at `to` (same bits 47 … bucket(from), `to` ≠ `from` allowed). */
export function canDerive(from: bigint, to: bigint): boolean {
  const b = BigInt(shachainBucket(from));
  const mask = ~((1n << b) - 1n) & MAX_SHACHAIN_INDEX;
  return (to & mask) === from;
}

function hex(index: bigint): string {
  return '0x' + index.toString(16);
}

export class ShachainStore {
  /** Stored secrets, none derivable from another. */
  #entries: ShachainEntry[] = [];

  /** Rebuild from {@link entries} (as persisted); every entry is re-checked. */
  static fromEntries(entries: Iterable<ShachainEntry>): ShachainStore {
    const s = new ShachainStore();
    for (const e of entries) s.insert(e.index, e.secret);
    return s;
  }

  /** The stored secrets (copies), in bucket order: enough to persist and rebuild the store. */
  entries(): ShachainEntry[] {
    return this.#entries
      .map((e) => ({ index: e.index, secret: Buffer.from(e.secret) }))
      .sort((a, b) => shachainBucket(a.index) - shachainBucket(b.index) || (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
  }

  get size(): number {
    return this.#entries.length;
  }

  /**
   * `insert_secret(secret, I)`. Throws INVALID_SECRET (and leaves the store unchanged) when `secret`
   * does not derive a stored secret it covers, or a stored secret does not derive it.
   */
  insert(index: bigint, secret: Uint8Array): void {
    checkIndex(index, 'shachain index');
    if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new ChannelError('INVALID_SECRET', 'channel: shachain secret must be 32 bytes');
    const s = Buffer.from(secret);
    const bucket = shachainBucket(index);
    const covered: ShachainEntry[] = [];
    for (const e of this.#entries) {
      if (canDerive(index, e.index)) {
        if (!deriveShachainSecret(s, bucket, e.index).equals(e.secret))
          throw new ChannelError('INVALID_SECRET', `channel: shachain secret for index ${hex(index)} does not derive the stored secret for ${hex(e.index)}`);
        covered.push(e);
      } else if (canDerive(e.index, index)) {
        if (!deriveShachainSecret(e.secret, shachainBucket(e.index), index).equals(s))
          throw new ChannelError('INVALID_SECRET', `channel: shachain secret for index ${hex(index)} differs from the one the stored secret for ${hex(e.index)} derives`);
        return; // already known through a stored secret
      }
    }
    this.#entries = this.#entries.filter((e) => !covered.includes(e));
    this.#entries.push({ index, secret: s });
  }

  /** `derive_old_secret(I)`: throws UNKNOWN_SECRET when no stored secret derives `index`. */
  get(index: bigint): Buffer {
    checkIndex(index, 'shachain index');
    for (const e of this.#entries) if (canDerive(e.index, index)) return deriveShachainSecret(e.secret, shachainBucket(e.index), index);
    throw new ChannelError('UNKNOWN_SECRET', `channel: no shachain secret received for index ${hex(index)}`);
  }

  has(index: bigint): boolean {
    checkIndex(index, 'shachain index');
    return this.#entries.some((e) => canDerive(e.index, index));
  }
}
