/**
 * Byte-level mutations of valid encodings for the decoders' property tests (BOLT 1 and BOLT 2 codecs):
 * bit flips, truncation, extension, overwrites, deletions and insertions.
 */
import fc from 'fast-check';

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; tail: Buffer }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'delete'; at: number }
  | { kind: 'insert'; at: number; value: number };

const rec: typeof fc.record = ((model: never, constraints?: object) => fc.record(model, { ...(constraints ?? {}), noNullPrototype: true })) as typeof fc.record;
const u8 = fc.integer({ min: 0, max: 255 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  rec({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  rec({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  rec({ kind: fc.constant('extend' as const), tail: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)) }),
  rec({ kind: fc.constant('set' as const), at: fc.nat(), value: u8 }),
  rec({ kind: fc.constant('delete' as const), at: fc.nat() }),
  rec({ kind: fc.constant('insert' as const), at: fc.nat(), value: u8 }),
);

/** One to four mutations. */
export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

/**
 * Applies `mutations` to a copy of `buf`. Positions are taken modulo the length + 1; with `nearEnd`
 * they fall in the last 48 bytes, where length fields and TLV streams live.
 */
export function mutate(buf: Buffer, mutations: readonly Mutation[], nearEnd = false): Buffer {
  let b = Buffer.from(buf);
  for (const m of mutations) {
    if (m.kind === 'extend') {
      b = Buffer.concat([b, m.tail]);
      continue;
    }
    const span = nearEnd ? Math.min(b.length + 1, 48) : b.length + 1;
    const at = b.length + 1 - span + (m.at % span);
    switch (m.kind) {
      case 'flip':
        if (at < b.length) b[at]! ^= 1 << m.bit;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'set':
        if (at < b.length) b[at] = m.value;
        break;
      case 'delete':
        if (at < b.length) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
        break;
    }
  }
  return b;
}
