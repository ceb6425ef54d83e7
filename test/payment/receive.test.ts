/**
 * The HTLC intake settling against a real invoice book (SQLite): two Channel engines (test/channel/pair.ts)
 * carry the HTLCs, A pays, B's intake decides. Refusals come back as BOLT 4 failures A attributes to B
 * with their data; MPP parts are held until the total arrives or failed whole with mpp_timeout; keysend
 * is checked and recorded; the payment is committed before the preimage leaves, and a restart between
 * the two fulfils (never fails); the HTLC deadline learns the preimage of a paid, unfulfilled HTLC.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { htlcDeadline, INCOMING_BROADCAST_DELTA } from '../../src/channel/deadlines.js';
import { sha256 } from '../../src/crypto/hash.js';
import { secp } from '../../src/crypto/secp256k1.js';
import { InvoiceBook } from '../../src/invoice/book.js';
import { signWithKey } from '../../src/invoice/bolt11.js';
import { attributeFailure } from '../../src/onion/failure-onion.js';
import { FailureCode, type FailureMessage } from '../../src/onion/failure.js';
import { encodeHopPayload, type HopPayload } from '../../src/onion/payload.js';
import { createOnion } from '../../src/onion/sphinx.js';
import { HtlcIntake, type HtlcIntakeOptions } from '../../src/payment/intake.js';
import { openSqliteStore, type Store } from '../../src/store/database.js';
import { until } from '../harness/wait.js';
import { normalPair, PAIR_WAIT, type Pair } from '../channel/pair.js';

const NODE_KEY = Buffer.alloc(32, 0x31);
const NODE_ID = secp.publicKey(NODE_KEY);
const HEIGHT = 700;
const CLTV = HEIGHT + 100;
const log = pino({ level: 'silent' });

interface Payment {
  id: bigint;
  sharedSecrets: Buffer[];
}

describe('the intake settles final HTLCs against the invoice book', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anode-receive-'));
  const stores: Store[] = [];
  after(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;

  async function setup(opts: Partial<HtlcIntakeOptions> = {}): Promise<{ p: Pair; book: InvoiceBook; intake: HtlcIntake; settled: { id: bigint; preimage?: Buffer; failure?: Buffer }[]; attach: (o?: Partial<HtlcIntakeOptions>) => HtlcIntake }> {
    const store = await openSqliteStore(join(dir, `r${n++}.sqlite3`));
    stores.push(store);
    const book = new InvoiceBook({ repo: store.invoices, network: 'regtest', nodeId: NODE_ID, sign: signWithKey(NODE_KEY), preimageKey: InvoiceBook.preimageKey(Buffer.alloc(32, 4)) });
    await book.start();
    const p = await normalPair();
    const attach = (o: Partial<HtlcIntakeOptions> = {}): HtlcIntake => {
      const intake = new HtlcIntake({ nodeKey: NODE_KEY, blockHeight: () => HEIGHT, log, invoices: book, ...opts, ...o });
      p.b.channel.on('htlcReceived', (h) => void intake.receive(p.b.channel, h));
      return intake;
    };
    const intake = attach();
    const settled: { id: bigint; preimage?: Buffer; failure?: Buffer }[] = [];
    p.a.channel.on('htlcSettled', (s) => settled.push(s));
    return { p, book, intake, settled, attach };
  }

  /** A pays B `amountMsat` for `paymentHash` with final payload `payload` (amount and CLTV filled in). */
  async function pay(p: Pair, paymentHash: Buffer, amountMsat: bigint, payload: Partial<HopPayload>, cltvExpiry = CLTV): Promise<Payment> {
    const o = createOnion({ sessionKey: randomBytes(32), associatedData: paymentHash, hops: [{ nodeId: NODE_ID, payload: encodeHopPayload({ amtToForward: amountMsat, outgoingCltvValue: cltvExpiry, ...payload }) }] });
    const id = await p.a.channel.addHtlc({ amountMsat, paymentHash, cltvExpiry, onion: o.packet });
    return { id, sharedSecrets: o.sharedSecrets };
  }

  async function outcome(settled: { id: bigint; preimage?: Buffer; failure?: Buffer }[], pm: Payment): Promise<{ preimage?: Buffer; failure?: FailureMessage }> {
    const s = await until(() => settled.find((x) => x.id === pm.id), { what: `HTLC ${pm.id} settled`, ...PAIR_WAIT });
    if (s.preimage) return { preimage: s.preimage };
    const { hopIndex, failure } = attributeFailure(pm.sharedSecrets, s.failure!);
    assert.equal(hopIndex, 0, 'attributed to B');
    return { failure };
  }

  const unknownDetails = (amountMsat: bigint): FailureMessage => ({ code: FailureCode.INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, htlcMsat: amountMsat, height: HEIGHT, extraTlvs: [] }) as FailureMessage;

  it('pays an invoice in one part; refuses unknown, wrong secret, underpaid, short CLTV and expired with incorrect_or_unknown_payment_details', async () => {
    const { p, book, settled } = await setup();
    const inv = await book.create({ label: 'one', amountMsat: 5_000_000n, description: 'one' });
    const secret = { paymentSecret: inv.paymentSecret, totalMsat: 5_000_000n };
    const refusals: [string, Buffer, bigint, Partial<HopPayload>, number?][] = [
      ['unknown hash', sha256(randomBytes(32)), 5_000_000n, { paymentData: secret }],
      ['wrong secret', inv.paymentHash, 5_000_000n, { paymentData: { paymentSecret: randomBytes(32), totalMsat: 5_000_000n } }],
      ['no secret', inv.paymentHash, 5_000_000n, {}],
      ['underpaid', inv.paymentHash, 4_999_999n, { paymentData: { ...secret, totalMsat: 4_999_999n } }],
      // BOLT 4: a cltv_expiry too near the present is incorrect_or_unknown_payment_details (CLN and LND alike).
      ['short CLTV', inv.paymentHash, 5_000_000n, { paymentData: secret }, HEIGHT + inv.minFinalCltvExpiry - 1],
    ];
    for (const [what, hash, amount, payload, cltv] of refusals) {
      const o = await outcome(settled, await pay(p, hash, amount, payload, cltv));
      assert.deepEqual(o.failure, unknownDetails(amount), what);
    }
    assert.equal((await book.get(inv.paymentHash))!.status, 'unpaid');
    const ok = await pay(p, inv.paymentHash, 5_000_000n, { paymentData: secret });
    assert.deepEqual((await outcome(settled, ok)).preimage, inv.preimage);
    const paid = (await book.get(inv.paymentHash))!;
    assert.deepEqual([paid.status, paid.amountReceivedMsat, paid.paidParts], ['paid', 5_000_000n, 1]);
    assert.deepEqual(paid.paidHtlcs, [`${p.b.channel.id}/${ok.id}`], 'the HTLC that paid is named');
    // Another HTLC for the paid invoice: refused, as CLN refuses it (only the HTLCs that paid are fulfilled).
    const again = await pay(p, inv.paymentHash, 5_000_000n, { paymentData: secret });
    assert.deepEqual((await outcome(settled, again)).failure, unknownDetails(5_000_000n));
    assert.equal((await book.get(inv.paymentHash))!.payIndex, 1);
    const expired = await book.create({ label: 'expired', amountMsat: 1_000_000n, description: 'x', expirySeconds: 0 });
    const late = await pay(p, expired.paymentHash, 1_000_000n, { paymentData: { paymentSecret: expired.paymentSecret, totalMsat: 1_000_000n } });
    assert.deepEqual((await outcome(settled, late)).failure, unknownDetails(1_000_000n));
  });

  it('MPP: parts held until the total arrives, then every part fulfilled; an incomplete set fails whole with mpp_timeout', async () => {
    const { p, book, settled } = await setup({ mppTimeoutMs: 300 });
    const inv = await book.create({ label: 'mpp', amountMsat: 9_000_000n, description: 'mpp' });
    const data = { paymentSecret: inv.paymentSecret, totalMsat: 9_000_000n };
    const first = await pay(p, inv.paymentHash, 4_000_000n, { paymentData: data });
    await until(() => p.b.channel.data.localCommit.spec.htlcs.length === 1 && p.b.channel.data.remoteCommit.spec.htlcs.length === 1, { what: 'part 1 committed', ...PAIR_WAIT });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled.length, 0, 'part 1 held');
    const second = await pay(p, inv.paymentHash, 5_000_000n, { paymentData: data });
    assert.deepEqual((await outcome(settled, first)).preimage, inv.preimage);
    assert.deepEqual((await outcome(settled, second)).preimage, inv.preimage);
    assert.deepEqual([(await book.get(inv.paymentHash))!.paidParts, (await book.get(inv.paymentHash))!.amountReceivedMsat], [2, 9_000_000n]);

    const short = await book.create({ label: 'short', description: 'any amount' });
    const lone = await pay(p, short.paymentHash, 2_000_000n, { paymentData: { paymentSecret: short.paymentSecret, totalMsat: 6_000_000n } });
    const t0 = Date.now();
    const o = await outcome(settled, lone);
    assert.ok(Date.now() - t0 >= 200, 'held until the timeout');
    assert.deepEqual(o.failure, { code: FailureCode.MPP_TIMEOUT, extraTlvs: [] });
    assert.equal((await book.get(short.paymentHash))!.status, 'unpaid');
  });

  it('an invoice of any amount takes what the payer sends (total_msat reached)', async () => {
    const { p, book, settled } = await setup();
    const inv = await book.create({ label: 'any', description: 'any' });
    const pm = await pay(p, inv.paymentHash, 1_234_567n, { paymentData: { paymentSecret: inv.paymentSecret, totalMsat: 1_234_567n } });
    assert.deepEqual((await outcome(settled, pm)).preimage, inv.preimage);
    assert.equal((await book.get(inv.paymentHash))!.amountReceivedMsat, 1_234_567n);
  });

  it('keysend: recorded as a paid keysend invoice, then fulfilled; a preimage not matching the hash is refused', async () => {
    const { p, book, settled } = await setup();
    const preimage = randomBytes(32);
    const bad = await pay(p, sha256(randomBytes(32)), 3_000_000n, { keysendPreimage: preimage });
    assert.deepEqual((await outcome(settled, bad)).failure, unknownDetails(3_000_000n));
    const good = await pay(p, sha256(preimage), 3_000_000n, { keysendPreimage: preimage });
    assert.deepEqual((await outcome(settled, good)).preimage, preimage);
    const row = (await book.get(sha256(preimage)))!;
    assert.match(row.label, /^keysend-\d+\.\d{9}$/);
    assert.deepEqual([row.status, row.amountMsat, row.amountReceivedMsat, row.description], ['paid', 3_000_000n, 3_000_000n, 'keysend']);
  });

  it('a crash between markPaid and the fulfil: after the restart the re-announced HTLC is fulfilled, the invoice paid once', async () => {
    let crash = true;
    const { p, book, settled, attach } = await setup({
      afterPaid: () => {
        // A dead process sends nothing: the intake stops at this point.
        if (crash) throw new Error('simulated crash');
      },
    });
    const inv = await book.create({ label: 'crash', amountMsat: 2_000_000n, description: 'crash' });
    const pm = await pay(p, inv.paymentHash, 2_000_000n, { paymentData: { paymentSecret: inv.paymentSecret, totalMsat: 2_000_000n } });
    await until(async () => (await book.get(inv.paymentHash))!.status === 'paid', { what: 'payment committed', ...PAIR_WAIT });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled.length, 0, 'no preimage left');
    await p.disconnect();
    crash = false;
    p.restart(p.b);
    attach();
    await p.connect();
    assert.deepEqual((await outcome(settled, pm)).preimage, inv.preimage);
    assert.equal((await book.get(inv.paymentHash))!.payIndex, 1, 'paid once');
  });

  it('the HTLC deadline knows the preimage of a paid HTLC whose fulfil could not be sent', async () => {
    let pair: Pair | undefined;
    const { p, book, intake } = await setup({ afterPaid: () => void pair!.disconnect() });
    pair = p;
    const inv = await book.create({ label: 'deadline', amountMsat: 2_000_000n, description: 'deadline' });
    await pay(p, inv.paymentHash, 2_000_000n, { paymentData: { paymentSecret: inv.paymentSecret, totalMsat: 2_000_000n } });
    await until(() => intake.preimage(inv.paymentHash) !== undefined, { what: 'preimage kept for the deadline', ...PAIR_WAIT });
    await p.b.channel.idle();
    const at = CLTV - INCOMING_BROADCAST_DELTA;
    assert.equal(htlcDeadline(p.b.channel.data, at), undefined, "the channel alone does not know it (no fulfil of its own)");
    assert.match(htlcDeadline(p.b.channel.data, at, (h) => intake.preimage(h)) ?? '', /Fulfilled HTLC 0 cltv 800 hit deadline/);
  });
});
