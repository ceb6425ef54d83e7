/**
 * Benchmark: payments per second over ONE channel, anode ↔ anode, next to the HTLC round-trip floor
 * measured in the same run (bench/channel.ts's `Rounds.htlc`: the bare add → commit → fulfill → commit
 * of one HTLC on the same channel).
 *
 * Same pair as bench/channel.ts (two PeerManagers over loopback BOLT 8, one SQLite file each, WAL +
 * synchronous=FULL). Each side runs the real `PaymentSender` on its own database: a payment is
 * `sendpay` (the payment row and the part row committed before the HTLC leaves, a real Sphinx onion for
 * the peer) then `waitsendpay` (the preimage recorded when the fulfil arrives). The recipient peels the
 * onion with its node key and fulfils from the preimages the bench made (standing in for the invoice
 * book, which another part of issue 14 builds). Payments alternate direction, as the HTLC rounds do, so
 * the balances stay put.
 *
 * Forwarded: A → B → C, all anode, each side on its own database, through B's real switch
 * (payment/forward.ts: the forward row committed before the downstream add, the preimage committed
 * before the upstream fulfil) over two such channels (two pairs; B holds one side of each, its forwards
 * in its first database), next to the HTLC round-trip floor of the same run. Directions alternate
 * (A → B → C, C → B → A) so the balances stay put.
 *
 * Standalone: `node dist/bench/payment.js [--rounds N] [--batch-ms N]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Channel } from '../src/channel/channel.js';
import type { HtlcAdd } from '../src/channel/state.js';
import { sha256 } from '../src/crypto/hash.js';
import { secp } from '../src/crypto/secp256k1.js';
import { peelOnion } from '../src/onion/sphinx.js';
import { OutcomeWrites } from '../src/channel/outcome-writes.js';
import { PaymentSender } from '../src/payment/send.js';
import { Forwarder } from '../src/payment/forward.js';
import { DEFAULT_POLICY } from '../src/gossip/announce.js';
import { forwardingFee } from '../src/payment/forward-policy.js';
import { CHAIN_HASH } from '../src/wire/messages.js';
import { openPair, Rounds, type Side } from './channel.js';
import { compare, fmt, fmtInt, fmtPct, table, type Comparison, type Op, type RunOptions } from './harness.js';

const silent = pino({ level: 'silent' });
const AMOUNT_MSAT = 10_000_000n;
/** As bench/channel.ts: a payment takes tens of milliseconds, so timed batches are this many times --batch-ms. */
const BATCH_FACTOR = 3;
/** The node keys bench/channel.ts's pair uses (A 0x11, B 0x22). */
const NODE_KEYS = { A: Buffer.alloc(32, 0x11), B: Buffer.alloc(32, 0x22) };

export interface PaymentBenchResult {
  amountMsat: number;
  vsHtlc: Comparison;
  paymentMs: number;
  htlcMs: number;
  payments: number;
  /** Payments through one forwarding anode (A → B → C) against the HTLC floor measured alongside. */
  forwarded?: { vsHtlc: Comparison; paymentMs: number; htlcMs: number; payments: number };
}

/** A sender on `s`'s database and channel, and a recipient that fulfils what it can peel and knows. */
function wire(s: Side, preimages: Map<string, Buffer>): PaymentSender {
  const ch = s.channel;
  const sender = new PaymentSender({
    channels: { list: () => [ch], get: (id) => (id === ch.id ? ch : undefined) },
    store: s.store.payments,
    nodeId: secp.publicKey(NODE_KEYS[s.name]),
    blockHeight: () => 800_000,
    log: silent,
  });
  // As the node does (src/node/node.ts): a fulfil's record is awaited by the channel's next state write.
  const outcomes = (s.outcomes ??= new OutcomeWrites());
  ch.on('htlcSettled', (ev) => {
    const written = (ev.preimage ? sender.fulfilled(ch, ev.id, ev.preimage) : sender.settled(ch, ev)).catch((e: Error) => {
      s.failures.push(`settled: ${e.message}`);
      throw e;
    });
    if (ev.preimage) outcomes.track(ch.id, written);
    else written.catch(() => undefined);
  });
  ch.on('htlcReceived', (h: HtlcAdd) => {
    const preimage = preimages.get(h.paymentHash.toString('hex'));
    if (!preimage) return; // an HTLC round of the reference: Rounds settles it
    const peeled = peelOnion(h.onion, NODE_KEYS[s.name], h.paymentHash);
    if (peeled.kind !== 'final') {
      s.failures.push(`payment: cannot settle HTLC ${h.id} (${peeled.kind})`);
      return;
    }
    ch.fulfillHtlc(h.id, preimage).catch((e: Error) => s.failures.push(`fulfill: ${e.message}`));
  });
  return sender;
}

export async function benchPayment(opts: RunOptions & { progress?: (s: string) => void }): Promise<PaymentBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-payment-'));
  const pair = await openPair(dir);
  try {
    const preimages = new Map<string, Buffer>();
    const senders = { A: wire(pair.a, preimages), B: wire(pair.b, preimages) };
    await Promise.all([senders.A.start(), senders.B.start()]);
    let n = 0;
    const pay = async (): Promise<void> => {
      const [from, to] = n % 2 === 0 ? [pair.a, pair.b] : [pair.b, pair.a];
      const preimage = Buffer.alloc(32);
      preimage.writeUInt32BE(++n, 24);
      preimage.writeUInt32BE(0xbe4c, 28);
      const paymentHash = sha256(preimage);
      preimages.set(paymentHash.toString('hex'), preimage);
      const route = [{ id: secp.publicKey(NODE_KEYS[to.name]).toString('hex'), channel: from.channel.data.shortChannelId ?? '1x1x0', amountMsat: AMOUNT_MSAT, delay: 800_040 }];
      const sender = senders[from.name];
      await sender.sendpay({ paymentHash, route });
      await sender.waitsendpay(paymentHash, 0, 30_000);
      await Promise.all([pair.a.channel.idle(), pair.b.channel.idle()]);
      preimages.delete(paymentHash.toString('hex'));
      for (const s of [pair.a, pair.b]) if (s.failures.length) throw new Error(`bench: ${s.failures.join('; ')}`);
    };
    // Both HTLC rounds and payments start from the same direction and leave the balances as they found them.
    const rounds = new Rounds(pair);
    const candidate: Op = { name: 'payments (sendpay + waitsendpay)', run: async (k) => void (await (async () => { for (let i = 0; i < k; i++) await pay(); })()) };
    const reference: Op = { name: 'HTLC round trips (bare channel)', run: async (k) => void (await (async () => { for (let i = 0; i < k; i++) await rounds.htlc(); })()) };
    opts.progress?.('payment: payments vs HTLC round trips …');
    const vsHtlc = await compare(candidate, reference, { ...opts, batchMs: opts.batchMs * BATCH_FACTOR });
    const forwarded = await benchForwarded(opts);
    return { amountMsat: Number(AMOUNT_MSAT), vsHtlc, paymentMs: 1000 / vsHtlc.candidate.median, htlcMs: 1000 / vsHtlc.reference.median, payments: n, forwarded };
  } finally {
    await pair.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The second pair's channel as B's switch sees it: its own id and short channel id (both pairs are built alike). */
function asSecondChannel(ch: Channel): Channel {
  return new Proxy(ch, {
    get: (t, p) => {
      if (p === 'id') return 'b2'.repeat(32);
      const v = Reflect.get(t, p, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** Payments A → B → C (and back) through B's switch, next to HTLC rounds on A–B. */
async function benchForwarded(opts: RunOptions & { progress?: (s: string) => void }): Promise<NonNullable<PaymentBenchResult['forwarded']>> {
  const dir = mkdtempSync(join(tmpdir(), 'anode-bench-forward-'));
  const ab = await openPair(join(dir, 'ab'), [join(dir, 'a.sqlite3'), join(dir, 'b1.sqlite3')]);
  const bc = await openPair(join(dir, 'bc'), [join(dir, 'b2.sqlite3'), join(dir, 'c.sqlite3')]);
  try {
    for (const s of [bc.a, bc.b]) s.channel.data.shortChannelId = '2x1x0';
    const preimages = new Map<string, Buffer>();
    // A is ab.a (node key 0x11), C is bc.b (0x22); B is 0x22 towards A and 0x11 towards C (the pairs' keys):
    // each side of B peels with the key its peer knows it by.
    const senders = { A: wire(ab.a, preimages), C: wire(bc.b, preimages) };
    await Promise.all([senders.A.start(), senders.C.start()]);
    const bIn = ab.b.channel;
    const bOut = asSecondChannel(bc.a.channel);
    const mine = [bIn, bOut];
    const failures: string[] = [];
    const fwd = new Forwarder({
      channels: { list: () => mine, get: (id) => mine.find((c) => c.id === id) },
      store: ab.b.store.forwards,
      nodeId: secp.publicKey(NODE_KEYS.B),
      nodeKey: NODE_KEYS.B,
      chainHash: CHAIN_HASH.regtest,
      policyOf: () => DEFAULT_POLICY,
      blockHeight: () => 800_000,
      log: silent,
    });
    await fwd.start();
    for (const view of mine) {
      const real = view === bOut ? bc.a.channel : bIn;
      const key = view === bOut ? NODE_KEYS.A : NODE_KEYS.B;
      real.on('htlcReceived', (h: HtlcAdd) => {
        const peeled = peelOnion(h.onion, key, h.paymentHash);
        if (peeled.kind !== 'forward') return; // an HTLC round of the reference: Rounds settles it
        void fwd.forward(view, h, peeled.payload, peeled.sharedSecret, peeled.nextOnion).catch((e: Error) => failures.push(`forward: ${e.message}`));
      });
      const outcomes = ((view === bOut ? bc.a : ab.b).outcomes ??= new OutcomeWrites());
      real.on('htlcSettled', (ev) => {
        if (!ev.preimage) return void fwd.settled(view, ev).catch((e: Error) => failures.push(`settled: ${e.message}`));
        outcomes.track(real.id, fwd.fulfilled(view, ev.id, ev.preimage).catch((e: Error) => {
          failures.push(`settled: ${e.message}`);
          throw e;
        }));
      });
    }
    const fee = forwardingFee(DEFAULT_POLICY, AMOUNT_MSAT);
    const [key11, key22] = [secp.publicKey(NODE_KEYS.A).toString('hex'), secp.publicKey(NODE_KEYS.B).toString('hex')];
    let n = 0;
    const pay = async (): Promise<void> => {
      const forward = n % 2 === 0;
      const preimage = Buffer.alloc(32);
      preimage.writeUInt32BE(++n, 24);
      preimage.writeUInt32BE(0xf0d, 28);
      const paymentHash = sha256(preimage);
      preimages.set(paymentHash.toString('hex'), preimage);
      // A → B (B known to A as 0x22) → C (0x22); C → B (known to C as 0x11) → A (0x11).
      const [bId, payee] = forward ? [key22, key22] : [key11, key11];
      const route = [
        { id: bId, channel: forward ? '1x1x0' : '2x1x0', amountMsat: AMOUNT_MSAT + fee, delay: 800_040 + DEFAULT_POLICY.cltvExpiryDelta },
        { id: payee, channel: forward ? '2x1x0' : '1x1x0', amountMsat: AMOUNT_MSAT, delay: 800_040 },
      ];
      const sender = forward ? senders.A : senders.C;
      await sender.sendpay({ paymentHash, route });
      const part = await sender.waitsendpay(paymentHash, 0, 30_000).catch((e: Error) => {
        throw new Error(`bench: forwarded payment failed: ${e.message}; ${failures.join('; ')}`);
      });
      if (part.status !== 'complete') throw new Error('bench: forwarded payment not complete');
      await Promise.all([ab.a.channel.idle(), ab.b.channel.idle(), bc.a.channel.idle(), bc.b.channel.idle()]);
      preimages.delete(paymentHash.toString('hex'));
      for (const s of [ab.a, ab.b, bc.a, bc.b]) if (s.failures.length) throw new Error(`bench: ${s.failures.join('; ')}`);
      if (failures.length) throw new Error(`bench: ${failures.join('; ')}`);
    };
    const rounds = new Rounds(ab);
    const candidate: Op = { name: 'forwarded payments (A → B → C)', run: async (k) => void (await (async () => { for (let i = 0; i < k; i++) await pay(); })()) };
    const reference: Op = { name: 'HTLC round trips (bare channel)', run: async (k) => void (await (async () => { for (let i = 0; i < k; i++) await rounds.htlc(); })()) };
    opts.progress?.('payment: forwarded payments vs HTLC round trips …');
    const vsHtlc = await compare(candidate, reference, { ...opts, batchMs: opts.batchMs * BATCH_FACTOR });
    return { vsHtlc, paymentMs: 1000 / vsHtlc.candidate.median, htlcMs: 1000 / vsHtlc.reference.median, payments: n };
  } finally {
    await ab.close();
    await bc.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printPayment(r: PaymentBenchResult): string[] {
  const out: string[] = [];
  out.push('## Payments over one channel, anode ↔ anode (loopback BOLT 8, both nodes in this process, each durable: SQLite WAL + synchronous=FULL;');
  out.push(`##    the real sender with its payment and part rows, a Sphinx onion per payment; ${r.amountMsat} msat, alternating direction)`);
  out.push('');
  out.push(
    table(
      ['what', 'per second', 'ms each', 'ratio to the HTLC floor', 'ratio IQR'],
      [
        ['payments (sendpay + waitsendpay)', fmtInt(r.vsHtlc.candidate.median), fmt(r.paymentMs, 2), fmt(r.vsHtlc.ratio, 3), fmtPct(r.vsHtlc.ratioIqrPct)],
        ['HTLC round trips (same channel, no payment layer)', fmtInt(r.vsHtlc.reference.median), fmt(r.htlcMs, 2), '1', ''],
        ...(r.forwarded
          ? [
              ['payments through one forwarding anode (A → B → C, all durable)', fmtInt(r.forwarded.vsHtlc.candidate.median), fmt(r.forwarded.paymentMs, 2), fmt(r.forwarded.vsHtlc.ratio, 3), fmtPct(r.forwarded.vsHtlc.ratioIqrPct)],
              ['HTLC round trips (A–B, measured alongside the forwarded payments)', fmtInt(r.forwarded.vsHtlc.reference.median), fmt(r.forwarded.htlcMs, 2), '1', ''],
            ]
          : []),
      ],
    ),
  );
  out.push('');
  out.push(`(${r.payments} payments made${r.forwarded ? `, ${r.forwarded.payments} forwarded` : ''}; published anchors, 2021, 8 vCPU: Eclair 89, CLN 61, LND 33 payments/s — those are end to end through real invoices.)`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: number): number => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const r = await benchPayment({ rounds: arg('--rounds', 9), batchMs: arg('--batch-ms', 100), warmupMs: 200, progress: (s) => process.stderr.write(`${s}\n`) });
  process.stdout.write(`${printPayment(r).join('\n')}\n`);
}
