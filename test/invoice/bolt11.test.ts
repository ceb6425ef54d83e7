/**
 * BOLT 11 against every example of `invoice-test.json` (test/vectors/bolt11-invoices.json): the valid
 * ones decode to the fields their breakdowns give, and re-encode (signed with the examples' key) to
 * invoices that decode the same; the invalid ones fail with the rule they break. Invoices we encode are
 * also read by ln-service's BOLT 11 library (`invoices`, the decoder ln-service's `pay` uses), as an
 * independent reader.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { secp } from '../../src/crypto/secp256k1.js';
import { decodeInvoice, encodeInvoice, invoiceExpiresAt, signWithKey, type Invoice, type InvoiceFields } from '../../src/invoice/bolt11.js';
import { InvoiceError } from '../../src/invoice/errors.js';
import { formatAmount, parseHrp } from '../../src/invoice/hrp.js';
import { Features } from '../../src/wire/features.js';
import { hex, loadVectors } from '../wire/helpers.js';

interface Expected {
  network: string;
  amountMsat?: string;
  timestamp: number;
  paymentHash: string;
  paymentSecret: string;
  payeeNodeId: string;
  description?: string;
  descriptionHash?: string;
  expirySeconds?: number;
  minFinalCltvExpiryDelta?: number;
  features: number[];
  fallbacks?: string[];
  metadata?: string;
  routeHints?: { nodeId: string; shortChannelId: string; feeBaseMsat: number; feeProportionalMillionths: number; cltvExpiryDelta: number }[][];
}

interface Vectors {
  private_key: string;
  valid: { description: string; invoice: string; expected: Expected }[];
  invalid: { description: string; invoice: string; code: string }[];
}

const v = loadVectors<Vectors>('bolt11-invoices.json');
const require = createRequire(import.meta.url);
const { parsePaymentRequest } = require('invoices') as { parsePaymentRequest: (a: { request: string }) => Record<string, any> };

/** What a decoded invoice says, in the vector's terms. */
function summary(inv: Invoice): Expected {
  return {
    network: inv.network,
    ...(inv.amountMsat !== undefined ? { amountMsat: inv.amountMsat.toString() } : {}),
    timestamp: inv.timestamp,
    paymentHash: inv.paymentHash.toString('hex'),
    paymentSecret: inv.paymentSecret.toString('hex'),
    payeeNodeId: inv.payeeNodeId.toString('hex'),
    ...(inv.description !== undefined ? { description: inv.description } : {}),
    ...(inv.descriptionHash !== undefined ? { descriptionHash: inv.descriptionHash.toString('hex') } : {}),
    ...(inv.expirySeconds !== 3600 ? { expirySeconds: inv.expirySeconds } : {}),
    ...(inv.minFinalCltvExpiryDelta !== 18 ? { minFinalCltvExpiryDelta: inv.minFinalCltvExpiryDelta } : {}),
    features: inv.features.bits(),
    ...(inv.fallbacks.length > 0 ? { fallbacks: inv.fallbacks.map((f) => f.address!) } : {}),
    ...(inv.metadata !== undefined ? { metadata: inv.metadata.toString('hex') } : {}),
    ...(inv.routeHints.length > 0 ? { routeHints: inv.routeHints.map((r) => r.map((h) => ({ ...h, nodeId: h.nodeId.toString('hex') }))) } : {}),
  };
}

/** The fields to encode `inv` again. */
function fieldsOf(inv: Invoice): InvoiceFields {
  return {
    network: inv.network,
    amountMsat: inv.amountMsat,
    timestamp: inv.timestamp,
    paymentHash: inv.paymentHash,
    paymentSecret: inv.paymentSecret,
    description: inv.description,
    descriptionHash: inv.descriptionHash,
    expirySeconds: inv.expirySeconds,
    minFinalCltvExpiryDelta: inv.minFinalCltvExpiryDelta,
    fallbacks: inv.fallbacks.map(({ version, program }) => ({ version, program })),
    routeHints: inv.routeHints,
    features: inv.features,
    metadata: inv.metadata,
  };
}

describe('BOLT 11 examples: valid', () => {
  const key = hex(v.private_key);
  for (const { description, invoice, expected } of v.valid) {
    it(description, () => {
      const inv = decodeInvoice(invoice);
      assert.deepEqual(summary(inv), expected);
      const again = encodeInvoice(fieldsOf(inv), signWithKey(key));
      const signer = secp.publicKey(key).toString('hex');
      assert.deepEqual(summary(decodeInvoice(again)), { ...expected, payeeNodeId: signer }, 're-encoded and decoded');
      const ln = parsePaymentRequest({ request: again });
      assert.equal(ln.id, expected.paymentHash);
      assert.equal(ln.destination, signer);
      assert.equal(ln.mtokens, expected.amountMsat ?? '0');
    });
  }
});

describe('BOLT 11 examples: invalid', () => {
  for (const { description, invoice, code } of v.invalid) {
    it(`${description} → ${code}`, () => {
      assert.throws(
        () => decodeInvoice(invoice),
        (e: unknown) => e instanceof InvoiceError && e.code === code && e.message.startsWith('bolt11: '),
      );
    });
  }
});

describe('BOLT 11 encoding', () => {
  const key = randomBytes(32);
  const base: InvoiceFields = {
    network: 'regtest',
    timestamp: 1_700_000_000,
    paymentHash: randomBytes(32),
    paymentSecret: randomBytes(32),
    description: 'anode',
    features: Features.fromBits([9, 15, 17]),
  };

  it('amounts take the shortest multiplier, and parse back exactly', () => {
    const cases: [bigint, string][] = [
      [100_000_000_000n, '1'],
      [250_000_000n, '2500u'],
      [2_000_000_000n, '20m'],
      [1_000n, '10n'],
      [1n, '10p'],
      [967_878_534n, '9678785340p'],
    ];
    for (const [msat, text] of cases) {
      assert.equal(formatAmount(msat), text);
      assert.equal(parseHrp(`lnbc${text}`).amountMsat, msat);
    }
  });

  it('every network prefix (bc, tb, tbs, bcrt), amount-less or not, payee recovered or given by n', () => {
    for (const network of ['bitcoin', 'testnet', 'signet', 'regtest'] as const) {
      for (const amountMsat of [undefined, 123_456n]) {
        for (const payeeNodeId of [undefined, secp.publicKey(key)]) {
          const text = encodeInvoice({ ...base, network, amountMsat, payeeNodeId }, signWithKey(key));
          const inv = decodeInvoice(text);
          assert.equal(inv.network, network);
          assert.equal(inv.amountMsat, amountMsat);
          assert.deepEqual(inv.payeeNodeId, secp.publicKey(key));
          assert.equal(parsePaymentRequest({ request: text }).destination, secp.publicKey(key).toString('hex'));
        }
      }
    }
    assert.equal(decodeInvoice(`lightning:${encodeInvoice(base, signWithKey(key)).toUpperCase()}`).description, 'anode');
  });

  it('an h field is checked against the description the caller has; the expiry is timestamp + x', () => {
    const long = 'One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon';
    const hashed = v.valid.find((x) => x.description.startsWith('Now send $24'))!.invoice;
    assert.equal(decodeInvoice(hashed, { description: long }).descriptionHash?.toString('hex'), v.valid[3]!.expected.descriptionHash);
    assert.throws(() => decodeInvoice(hashed, { description: 'another' }), (e: unknown) => e instanceof InvoiceError && e.code === 'INVALID_FIELD');
    const coffee = decodeInvoice(v.valid[1]!.invoice);
    assert.equal(invoiceExpiresAt(coffee), 1496314658 + 60);
  });

  it('an n field naming another key fails the signature check', () => {
    const text = encodeInvoice({ ...base, payeeNodeId: secp.publicKey(randomBytes(32)) }, signWithKey(key));
    assert.throws(() => decodeInvoice(text), (e: unknown) => e instanceof InvoiceError && e.code === 'SIGNATURE');
  });

  it('refuses to write an invoice without one description, or with a bad hash', () => {
    assert.throws(() => encodeInvoice({ ...base, description: undefined }, signWithKey(key)), /exactly one of description/);
    assert.throws(() => encodeInvoice({ ...base, paymentHash: Buffer.alloc(31) }, signWithKey(key)), /paymentHash must be 32 bytes/);
  });
});
