/**
 * Invoices anode writes, read by LDK 0.1 (the implementation the interop tests pay and get paid by):
 * every network, with and without an amount, with route hints, fallback addresses, an `n` field, a
 * description hash, metadata. LDK must read the same payee, amount, hash, secret, CLTV delta, expiry,
 * fallbacks and hints. LDK runs in a child process (ldk-invoice-host.ts); without LDK this test skips
 * loudly, and fails with ANODE_REQUIRE_INTEROP=1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { decodeInvoice, encodeInvoice, signWithKey, type InvoiceFields } from '../../src/invoice/bolt11.js';
import { Features } from '../../src/wire/features.js';
import { interopGate } from '../interop/adapter.js';
import { ldkUnavailableReason } from '../interop/peers/ldk.js';
import type { LdkReading } from './ldk-invoice-host.js';

const gate = interopGate('ldk', 'LDK reading anode invoices', ldkUnavailableReason());
const HOST = fileURLToPath(new URL('./ldk-invoice-host.js', import.meta.url));

function ldkRead(invoices: string[]): LdkReading[] {
  const out = execFileSync(process.execPath, [HOST], { input: JSON.stringify(invoices), encoding: 'utf8', timeout: 60_000 });
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no RESULT line from the LDK host: ${out.slice(0, 200)}`);
  return JSON.parse(line.slice('RESULT '.length)) as LdkReading[];
}

describe('LDK reads the invoices anode writes', { skip: gate.skip, timeout: 120_000 }, () => {
  it('payee, amount, hash, secret, CLTV delta, expiry, fallbacks and route hints as anode wrote them', () => {
    gate.require();
    const key = randomBytes(32);
    const payee = secp.publicKey(key);
    const hop = (i: number) => ({
      nodeId: secp.publicKey(randomBytes(32)),
      shortChannelId: `${700_000 + i}x${i}x${i % 2}`,
      feeBaseMsat: 1000 + i,
      feeProportionalMillionths: 100 * i,
      cltvExpiryDelta: 40 + i,
    });
    const features = Features.fromBits([9, 14, 17]);
    const base = (over: Partial<InvoiceFields>): InvoiceFields => ({
      network: 'regtest',
      timestamp: Math.floor(Date.now() / 1000),
      paymentHash: sha256(randomBytes(32)),
      paymentSecret: randomBytes(32),
      description: 'anode ↔ LDK',
      features,
      ...over,
    });
    const cases: InvoiceFields[] = [
      base({ amountMsat: 50_000_000n }),
      base({}),
      base({ amountMsat: 1n, expirySeconds: 86_400, minFinalCltvExpiryDelta: 144 }),
      base({ network: 'bitcoin', amountMsat: 2_500_000_000n, payeeNodeId: payee, description: undefined, descriptionHash: sha256(Buffer.from('a long description')) }),
      base({ network: 'testnet', routeHints: [[hop(1), hop(2)], [hop(3)]], metadata: Buffer.from('01fafaf0', 'hex') }),
      base({ network: 'signet', amountMsat: 123_456_789n, fallbacks: [{ version: 0, program: randomBytes(20) }, { version: 1, program: randomBytes(32) }] }),
      base({ fallbacks: [{ version: 17, program: randomBytes(20) }, { version: 18, program: randomBytes(20) }, { version: 0, program: randomBytes(32) }] }),
    ];
    const texts = cases.map((c) => encodeInvoice(c, signWithKey(key)));
    const readings = ldkRead(texts);
    readings.forEach((r, i) => {
      const c = cases[i]!;
      assert.ok(r.ok, `case ${i}: LDK refused ${texts[i]}: ${r.error}`);
      assert.equal(r.payee, payee.toString('hex'), `case ${i} payee`);
      assert.equal(r.amountMsat, c.amountMsat === undefined ? null : c.amountMsat.toString(), `case ${i} amount`);
      assert.equal(r.paymentHash, c.paymentHash.toString('hex'));
      assert.equal(r.paymentSecret, c.paymentSecret.toString('hex'));
      assert.equal(r.minFinalCltvExpiryDelta, String(c.minFinalCltvExpiryDelta ?? 18));
      assert.equal(r.expirySeconds, String(c.expirySeconds ?? 3600));
      assert.deepEqual(r.fallbacks, decodeInvoice(texts[i]!).fallbacks.map((f) => f.address), `case ${i} fallbacks as anode names them`);
      assert.equal(r.fallbacks!.length, c.fallbacks?.length ?? 0);
      assert.deepEqual(r.routeHints, (c.routeHints ?? []).map((h) => h.map((x) => ({ ...x, nodeId: x.nodeId.toString('hex') }))), `case ${i} hints`);
    });
  });
});
