/**
 * The HTLC deadline after a restart (issue 14's money-safety gaps): a paid invoice's preimage is known
 * to the HTLC intake at start from the invoice book (the HTLC keys its payment names), for every HTLC
 * still in a commitment — the payer never has to come back for the incoming HTLC to go on chain at
 * cltv_expiry − INCOMING_BROADCAST_DELTA — and it is dropped only once the HTLC has left both
 * commitments (a fulfil forgotten by a disconnection keeps it). Two real Channel engines, a real
 * invoice book on SQLite.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { htlcDeadline, INCOMING_BROADCAST_DELTA } from '../../src/channel/deadlines.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { InvoiceBook } from '../../src/invoice/book.js';
import { signWithKey } from '../../src/invoice/bolt11.js';
import { HtlcIntake } from '../../src/payment/intake.js';
import { openStore, type Store } from '../../src/store/database.js';
import { tempDir, testLogger } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { pairWithHtlc, PAIR_WAIT } from './pair.js';

const preimage = Buffer.alloc(32, 0x5a);
const paymentHash = createHash('sha256').update(preimage).digest();
const EXPIRY = 700;
const nodeKey = Buffer.alloc(32, 3);

describe('paid preimages for the HTLC deadline after a restart', () => {
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });

  it('filled from the invoice book at start; dropped only when the HTLC left both commitments', async () => {
    const { p, id } = await pairWithHtlc({ amountMsat: 30_000_000n, paymentHash, cltvExpiry: EXPIRY });

    // B's book: the invoice paid by this HTLC (committed before the crash that lost the fulfil).
    const store = await openStore(`sqlite3://${tempDir('anode-paid-')}/db.sqlite3`);
    stores.push(store);
    const book = new InvoiceBook({ repo: store.invoices, network: 'regtest', nodeId: Buffer.from(secp.publicKey(nodeKey)), sign: signWithKey(nodeKey), preimageKey: InvoiceBook.preimageKey(Buffer.alloc(32, 1)) });
    await book.start();
    await book.create({ label: 'paid', amountMsat: 30_000_000n, description: 'd', preimage });
    await book.create({ label: 'other', amountMsat: 1_000n, description: 'd' });
    assert.ok(await book.markPaid(paymentHash, 30_000_000n, 1, [`${p.b.channel.id}/${id}`]));

    // The restarted intake, before any peer comes back.
    let height = EXPIRY - INCOMING_BROADCAST_DELTA - 1;
    const intake = new HtlcIntake({ nodeKey, blockHeight: () => height, log: testLogger(), invoices: book });
    await intake.start([p.b.channel]);
    const lookup = (h: Buffer): Buffer | undefined => intake.preimage(h);
    assert.equal(htlcDeadline(p.b.channel.data, height, lookup), undefined, 'not yet');
    height++;
    assert.equal(htlcDeadline(p.b.channel.data, height, lookup), `Fulfilled HTLC ${id} cltv ${EXPIRY} hit deadline at block ${height}`);
    assert.equal(intake.preimage(paymentHash)?.equals(preimage), true);

    // Fulfilled and gone from both commitments: forgotten at the next block.
    await p.b.channel.fulfillHtlc(id, preimage);
    await until(() => p.a.channel.data.localCommit.spec.htlcs.length === 0 && p.b.channel.data.localCommit.spec.htlcs.length === 0 && p.b.channel.data.remoteCommit.spec.htlcs.length === 0, { what: 'HTLC settled', ...PAIR_WAIT });
    assert.equal(intake.preimage(paymentHash)?.equals(preimage), true, 'kept until the next block');
    height++;
    assert.equal(intake.preimage(paymentHash), undefined);
  });
});
