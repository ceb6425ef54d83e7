/**
 * Property tests for the BOLT 11 decoder: random strings, mutated invoices (with and without a
 * re-computed checksum, so the field parser is reached) give an invoice or an InvoiceError, never
 * another exception; what is encoded decodes to the same fields.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bech32 } from '@scure/base';
import { secp } from '../../src/crypto/secp256k1.js';
import { decodeInvoice, encodeInvoice, signWithKey, type InvoiceFields } from '../../src/invoice/bolt11.js';
import { InvoiceError } from '../../src/invoice/errors.js';
import { Features } from '../../src/wire/features.js';
import { loadVectors } from '../wire/helpers.js';
import { totalOf } from '../onion/total.js';

const RUNS = { numRuns: Number(process.env.INVOICE_PROPERTY_RUNS ?? 150) };

const total = totalOf(InvoiceError);

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b));
const KEY = Buffer.alloc(32, 0x42);
const PAYEE = secp.publicKey(KEY);

const fieldsArb: fc.Arbitrary<InvoiceFields> = fc.record(
  {
    network: fc.constantFrom('bitcoin', 'testnet', 'signet', 'regtest' as const),
    amountMsat: fc.option(fc.bigInt({ min: 1n, max: 21_000_000n * 100_000_000_000n }), { nil: undefined }),
    timestamp: fc.nat(2 ** 35 - 1),
    paymentHash: bytes(32, 32),
    paymentSecret: bytes(32, 32),
    description: fc.string({ maxLength: 60 }),
    expirySeconds: fc.option(fc.nat(2 ** 40), { nil: undefined }),
    minFinalCltvExpiryDelta: fc.nat(5000),
    metadata: fc.option(bytes(0, 20), { nil: undefined }),
    features: fc.subarray([9, 14, 17, 49, 99]).map((bits) => {
      const set = new Set(bits);
      if (set.has(17)) set.add(14);
      if (set.has(14)) set.add(9);
      return Features.fromBits([...set]);
    }),
    routeHints: fc.array(
      fc.array(
        fc.record(
          {
            nodeId: fc.constant(PAYEE),
            shortChannelId: fc.tuple(fc.nat(0xffffff), fc.nat(0xffffff), fc.nat(0xffff)).map(([b, t, o]) => `${b}x${t}x${o}`),
            feeBaseMsat: fc.nat(0xffff_ffff),
            feeProportionalMillionths: fc.nat(0xffff_ffff),
            cltvExpiryDelta: fc.nat(0xffff),
          },
          { noNullPrototype: true },
        ),
        { minLength: 1, maxLength: 3 },
      ),
      { maxLength: 2 },
    ),
  },
  { noNullPrototype: true },
);

describe('property: BOLT 11', () => {
  it('decode(encode(f)) gives back every field, the payee recovered', () => {
    fc.assert(
      fc.property(fieldsArb, (f) => {
        const inv = decodeInvoice(encodeInvoice(f, signWithKey(KEY)));
        assert.equal(inv.network, f.network);
        assert.equal(inv.amountMsat, f.amountMsat);
        assert.equal(inv.timestamp, f.timestamp);
        assert.deepEqual([inv.paymentHash, inv.paymentSecret, inv.description], [f.paymentHash, f.paymentSecret, f.description]);
        assert.equal(inv.expirySeconds, f.expirySeconds ?? 3600);
        assert.equal(inv.minFinalCltvExpiryDelta, f.minFinalCltvExpiryDelta);
        assert.deepEqual(inv.metadata, f.metadata);
        assert.ok(inv.features.equals(f.features!));
        assert.deepEqual(inv.routeHints, f.routeHints);
        assert.deepEqual(inv.payeeNodeId, PAYEE);
      }),
      RUNS,
    );
  });

  const valid = loadVectors<{ valid: { invoice: string }[] }>('bolt11-invoices.json').valid.map((v) => v.invoice.toLowerCase());
  const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

  it('random strings → an invoice or InvoiceError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.stringMatching(/^ln(bc|tb|bcrt|tbs)\d{0,6}[munpx]?1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{0,400}$/)), (s) => {
        total(() => decodeInvoice(s));
      }),
      RUNS,
    );
  });

  it('mutated valid invoices, checksum recomputed so fields are parsed → an invoice or InvoiceError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...valid),
        fc.array(fc.tuple(fc.nat(), fc.nat(31), fc.constantFrom('set', 'delete', 'insert')), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (invoice, edits, rechecksum) => {
          const { prefix, words } = bech32.decode(invoice as `${string}1${string}`, false);
          const w = [...words];
          for (const [at, value, op] of edits) {
            const i = at % (w.length + 1);
            if (op === 'set' && i < w.length) w[i] = value;
            else if (op === 'delete') w.splice(i, 1);
            else if (op === 'insert') w.splice(i, 0, value);
          }
          const text = rechecksum ? bech32.encode(prefix, w, false) : `${prefix}1${w.map((x) => CHARSET[x]).join('')}${invoice.slice(-6)}`;
          total(() => decodeInvoice(text));
        },
      ),
      RUNS,
    );
  });
});
