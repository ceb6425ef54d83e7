/**
 * The "gone with no outcome" rule: after a restart, an HTLC we offered that left its channel with no
 * recorded outcome counts as failed — by the payment sender (`#resume`) and by the switch (the
 * downstream HTLC of a forward). That is right only if a fulfil's preimage is written before the
 * channel saves a state without the HTLC. Whole nodes (real store, TCP, btcd); the victim's outcome
 * write is held in its repository (the store wrapper) and never completes, as in a crash between the
 * two writes, while the payee fulfils. The victim either writes no channel state meanwhile (its debug log
 * says the write waits for the outcome) or saves one without the HTLC (read back from its database).
 * It is then stopped with the write still held and restarted from its database: the preimage must win.
 * With the channel state saved first, the payer's part was decided failed (though the payee had the
 * money), and the forwarder failed the incoming HTLC back (paying the downstream HTLC out of its own funds).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Channel } from '../../src/channel/channel.js';
import { decodeChannelData } from '../../src/channel/state.js';
import { htlcInChannel } from '../../src/payment/send.js';
import { backendSkip, backendSuffix, walletArgs } from '../harness/backend.js';
import { useBtcd } from '../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';

const btcd = useBtcd('an HTLC outcome recorded before the channel state');

/** What a node logs when a channel state write waits for an HTLC outcome (src/channel/manager.ts). */
const WAITS = 'state write waits for HTLC outcomes to be recorded';
const WAIT = { timeoutMs: 30_000, intervalMs: 20 };

async function call<T = Record<string, unknown>>(n: TestNode, method: string, params: Record<string, unknown> = {}): Promise<T> {
  const r = await rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), method, params);
  if (r.error) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
  return r.result as T;
}

/** A node whose debug log is kept in `lines` (to see the channel wait for an outcome). */
function logged(lines: string[]) {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
}

const channelTo = (n: TestNode, peer: TestNode): Channel => n.channels.list().find((c) => c.data.peerId === peer.id)!;

async function openChannel(btcd: Parameters<typeof fundWallet>[0], from: TestNode, to: TestNode): Promise<void> {
  await fundWallet(btcd, from, 2_000_000n);
  await from.channels.fundChannel({ peerId: to.id, amountSat: 1_000_000n, pushMsat: 0n, feeratePerKw: 1000 });
  await until(() => channelTo(to, from) !== undefined, { what: 'the channel known to both', ...WAIT });
}

describe(`an HTLC outcome is recorded before the channel saves the HTLC gone${backendSuffix()}`, { skip: btcd.skip || backendSkip(), timeout: 240_000 }, () => {
  const nodes: TestNode[] = [];
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
  });

  for (const role of ['payer', 'forwarder'] as const) {
    it(`the ${role} stopped while its preimage write is held: restarted, the payment completes with the preimage`, async () => {
      const lines: string[] = [];
      const key = `${role}-`;
      const xArgs = ['--developer', ...(await walletArgs(`${key}x`))];
      const x = await startNode(btcd.node, { extra: xArgs, log: logged(lines) });
      // The payee holds incoming HTLCs: the test fulfils by hand, when it chooses.
      const y = await startNode(btcd.node, { extra: ['--developer', '--dev-hold-htlcs', ...(await walletArgs(`${key}y`))] });
      const w = role === 'forwarder' ? await startNode(btcd.node, { extra: [...(await walletArgs(`${key}w`))] }) : undefined;
      nodes.push(x, y, ...(w ? [w] : []));
      // x dials both peers, so that after its restart it finds them at the addresses it dialled.
      await x.node.peers.connect(Buffer.from(y.id, 'hex'), '127.0.0.1', y.port);
      await openChannel(btcd.node, x, y);
      if (w) {
        await x.node.peers.connect(Buffer.from(w.id, 'hex'), '127.0.0.1', w.port);
        await openChannel(btcd.node, w, x);
      }
      const usable = (): boolean => channelTo(x, y)?.usable && channelTo(y, x)?.usable && (!w || (channelTo(w, x)?.usable && channelTo(x, w)?.usable));
      await btcd.node.mineUntil(usable, 'every channel usable');

      // Only the preimage's write is held; it never completes (the crash comes first).
      const held: string[] = [];
      if (role === 'payer') {
        const repo = x.node.store.payments;
        const settlePart = repo.settlePart.bind(repo);
        repo.settlePart = (id, outcome, when) => ('preimage' in outcome ? new Promise<void>(() => held.push(`part ${id}`)) : settlePart(id, outcome, when));
      } else {
        const repo = x.node.store.forwards;
        repo.settle = (id) => new Promise<boolean>(() => held.push(`forward ${id}`));
      }

      const preimage = createHash('sha256').update(`outcome order ${role}`).digest();
      const hash = createHash('sha256').update(preimage).digest('hex');
      const amountMsat = 50_000_000;
      const payer = w ?? x;
      const lastHop = { id: y.id, channel: channelTo(x, y).data.shortChannelId, amount_msat: amountMsat, delay: 40 };
      const { feeBaseMsat, feeProportionalMillionths, cltvExpiryDelta } = x.node.config.forwardingPolicy;
      const route = w
        ? [{ id: x.id, channel: channelTo(w, x).data.shortChannelId, amount_msat: amountMsat + feeBaseMsat + Math.floor((amountMsat * feeProportionalMillionths) / 1_000_000), delay: 40 + cltvExpiryDelta }, lastHop]
        : [lastHop];
      await call(payer, 'sendpay', { route, payment_hash: hash });
      const down = channelTo(y, x);
      const incoming = await until(() => down.data.localCommit.spec.htlcs.find((h) => h.direction === 'received' && h.add.paymentHash.toString('hex') === hash && down.usable), { what: 'the payee has the HTLC committed', ...WAIT });
      await down.fulfillHtlc(incoming.add.id, preimage);

      const outId = channelTo(x, y).id;
      const savedWithout = async (): Promise<boolean> => {
        const row = (await x.node.store.channelData.loadAll()).find((r) => r.channelId === outId)!;
        return !htlcInChannel({ data: decodeChannelData(row.data) } as Channel, incoming.add.id);
      };
      await until(async () => held.length > 0 && (lines.some((l) => l.includes(WAITS)) || (await savedWithout())), { what: 'x holds its channel state write, or has saved the HTLC gone', ...WAIT });
      const heldBack = !(await savedWithout());

      // A crash now: x goes down with the preimage's write never done, and starts again from its database.
      await x.stop();
      nodes.splice(nodes.indexOf(x), 1);
      const revived = await startNode(btcd.node, { dir: x.dir, extra: xArgs });
      nodes.push(revived);
      type PayView = { status: string; payment_preimage?: string };
      const pays = async (): Promise<PayView[]> => (await call<{ payments: PayView[] }>(w ? w : revived, 'listsendpays', { payment_hash: hash })).payments;
      await until(async () => (await pays()).some((p) => p.status !== 'pending'), { what: 'the payment resolved', timeoutMs: 60_000, intervalMs: 100 });
      assert.deepEqual((await pays()).map((p) => [p.status, p.payment_preimage]), [['complete', preimage.toString('hex')]]);
      assert.ok(heldBack, 'no channel state without the HTLC was saved before its preimage');
      if (w) {
        await until(async () => (await call<{ forwards: { status: string }[] }>(revived, 'listforwards')).forwards.some((f) => f.status === 'settled'), { what: 'the forward settled', ...WAIT });
      }
    });
  }
});
