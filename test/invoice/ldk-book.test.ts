/**
 * Invoices from the invoice book (as the node issues them: node key, seed preimages, payment_secret,
 * var_onion_optin + payment_secret + basic_mpp, over the real SQLite store), read by LDK 0.1 in a child
 * process (ldk-invoice-host.ts): LDK must accept each and read the node as payee, the amount (or none),
 * the hash, the secret, the CLTV delta, the expiry and the fallback. Skips loudly without LDK; fails
 * with ANODE_REQUIRE_INTEROP=1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { secp } from '../../src/crypto/secp256k1.js';
import { InvoiceBook } from '../../src/invoice/book.js';
import { decodeInvoice, signWithKey } from '../../src/invoice/bolt11.js';
import { openSqliteStore } from '../../src/store/database.js';
import { interopGate } from '../interop/adapter.js';
import { ldkUnavailableReason } from '../interop/peers/ldk.js';
import type { LdkReading } from './ldk-invoice-host.js';

const gate = interopGate('ldk', 'LDK reading the invoice book', ldkUnavailableReason());
const HOST = fileURLToPath(new URL('./ldk-invoice-host.js', import.meta.url));

describe('LDK reads the invoices the book issues', { skip: gate.skip, timeout: 120_000 }, () => {
  it('with and without an amount, a description hash, a fallback, a CLTV delta: as the book stored them', async () => {
    gate.require();
    const dir = mkdtempSync(join(tmpdir(), 'anode-ldk-book-'));
    const store = await openSqliteStore(join(dir, 'a.sqlite3'));
    const key = Buffer.alloc(32, 0x31);
    const book = new InvoiceBook({ repo: store.invoices, network: 'regtest', nodeId: Buffer.from(secp.publicKey(key)), sign: signWithKey(key), preimageKey: InvoiceBook.preimageKey(Buffer.alloc(32, 0x32)) });
    await book.start();
    try {
      const made = [
        await book.create({ label: 'amount', amountMsat: 50_000_000n, description: 'fifty thousand sat' }),
        await book.create({ label: 'any', description: 'any amount', expirySeconds: 120 }),
        await book.create({ label: 'hash', amountMsat: 1001n, description: 'x'.repeat(2000), descriptionHashOnly: true, minFinalCltvExpiryDelta: 144 }),
        await book.create({ label: 'fallback', amountMsat: 7n, description: 'f', fallbacks: [{ version: 0, program: Buffer.alloc(20, 9) }] }),
      ];
      const out = execFileSync(process.execPath, [HOST], { input: JSON.stringify(made.map((m) => m.bolt11)), encoding: 'utf8', timeout: 60_000 });
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      assert.ok(line, `no RESULT line from the LDK host: ${out.slice(0, 200)}`);
      const readings = JSON.parse(line.slice('RESULT '.length)) as LdkReading[];
      readings.forEach((r, i) => {
        const m = made[i]!;
        assert.ok(r.ok, `${m.label}: LDK refused ${m.bolt11}: ${r.error}`);
        assert.equal(r.payee, secp.publicKey(key).toString('hex'));
        assert.equal(r.amountMsat, m.amountMsat === undefined ? null : m.amountMsat.toString(), `${m.label} amount`);
        assert.equal(r.paymentHash, m.paymentHash.toString('hex'));
        assert.equal(r.paymentSecret, m.paymentSecret.toString('hex'));
        assert.equal(r.minFinalCltvExpiryDelta, String(m.minFinalCltvExpiry));
        assert.equal(r.expirySeconds, String(m.expiresAt - m.createdAt));
        assert.deepEqual(r.fallbacks, decodeInvoice(m.bolt11).fallbacks.map((f) => f.address));
      });
    } finally {
      book.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
