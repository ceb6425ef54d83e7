/**
 * A paid invoice's HTLC claimed on chain after a restart, the payer gone (issue 14's money-safety gaps),
 * two whole anodes on btcd regtest: A pays B's invoice; B commits the payment and dies before its fulfil
 * leaves (`--dev-crash-after-paid`); A goes away for good. B restarts with the HTLC in its commitments
 * and the preimage only in its invoice book: at cltv_expiry − INCOMING_BROADCAST_DELTA the HTLC deadline
 * (its preimage filled from the book at start) takes the channel on chain, and the resolver (asking the
 * book) claims the HTLC with its HTLC-success transaction — the preimage in its witness — confirmed
 * before the HTLC expires. And when the payer stays up (never reconnected), its payment completes with
 * the preimage its sweeper reads from that HTLC-success on chain.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { witnessPreimage } from '../../src/channel/onchain/outcomes.js';
import { useBtcd } from '../harness/btcd.js';
import { chainArgs, startDaemon, startNode, type Daemon } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rpcCall } from '../rpc/harness.js';
import { onlyChannel } from '../channel/nodes.js';
import { daemons, descendants, openChannel } from '../channel/onchain-sums.js';
import { slowCall } from './slow-rpc.js';

const btcd = useBtcd('a paid HTLC claimed on chain after a restart');
const CAPACITY = 1_000_000n;

describe('paid invoice, payer gone, restart: the HTLC is claimed on chain with the book’s preimage', { skip: btcd.skip, timeout: 240_000 }, () => {
  const { running } = daemons('anode-paid-restart-logs-');
  const procs: Daemon[] = [];

  /**
   * A → B channel (static_remotekey); A pays B's invoice, B dies right after committing the payment (A
   * never hears of the fulfil), and B restarts without ever reconnecting: mined block by block until an
   * HTLC-success with the preimage confirms or the HTLC expires.
   */
  async function paidThenCut(t: TestContext, opts: { payerStays: boolean }) {
    t.after(async () => {
      for (const p of procs) if (p.running()) await p.stop();
    });
    const a = await startNode(btcd.node, { extra: opts.payerStays ? ['--developer', '--dev-no-reconnect'] : [] });
    const b0 = await startNode(btcd.node);
    running.push(a, b0);
    const { funding, fundingHeight } = await openChannel(btcd.node, a, b0, { format: 'static_remotekey', capacitySat: CAPACITY, pushMsat: 0n });
    await b0.stop();
    const bRpc = (method: string, params: Record<string, unknown> = {}) => rpcCall(join(b0.dir, 'regtest', 'lightning-rpc'), method, params);
    const launch = async (extra: string[]): Promise<Daemon> => {
      const d = await startDaemon([`--addr=127.0.0.1:${b0.port}`, '--developer', '--dev-no-reconnect', '--log-level=debug', ...chainArgs(btcd.node), ...extra], b0.dir);
      procs.push(d);
      return d;
    };

    let b = await launch(['--dev-crash-after-paid']);
    await a.node.peers.connect(Buffer.from(b0.id, 'hex'), '127.0.0.1', b0.port);
    await until(() => onlyChannel(a).usable, { what: 'A and B reestablished', timeoutMs: 30_000 });
    const inv = (await bRpc('invoice', { amount_msat: 20_000_000, label: 'lost', description: 'paid, then the payer left' })).result as { bolt11: string; payment_hash: string };
    const paying = slowCall<{ status: string; payment_preimage: string }>(a.dir, 'pay', { bolt11: inv.bolt11 }, 200_000).catch(() => undefined);
    await b.exited;
    assert.match(b.output(), /invoice paid/, 'B died after committing the payment');
    const htlc = onlyChannel(a).data.localCommit.spec.htlcs[0]?.add;
    assert.ok(htlc, 'the HTLC is in A’s commitment');
    if (!opts.payerStays) await a.stop();

    // B alone: the preimage is in its invoice book only.
    b = await launch([]);
    const preimage = Buffer.from(((await bRpc('listinvoices', { label: 'lost' })).result as { invoices: { payment_preimage: string }[] }).invoices[0]!.payment_preimage, 'hex');
    const hashes = new Set([inv.payment_hash]);
    let claimed: { height: number } | undefined;
    while (!claimed && (await btcd.node.getBlockCount()) < htlc.cltvExpiry) {
      await btcd.node.generate(1);
      const h = await btcd.node.getBlockCount();
      await until(() => new RegExp(`"height":${h}[^\\n]*channels: block applied`).test(b.output()), { what: `B applied block ${h}`, timeoutMs: 30_000 });
      const { txs } = await descendants(btcd.node, funding, CAPACITY, fundingHeight);
      for (const { tx, height } of txs.values()) if (tx.inputs.some((_, i) => witnessPreimage(tx.raw, i, hashes)?.equals(preimage))) claimed = { height };
    }
    assert.match(b.output(), /HTLC deadline: going on chain/, 'the deadline took the channel on chain');
    assert.ok(claimed, `an HTLC-success with the preimage confirmed by the expiry ${htlc.cltvExpiry}`);
    assert.ok(claimed.height <= htlc.cltvExpiry, `claimed at ${claimed.height}, expiry ${htlc.cltvExpiry}`);
    t.diagnostic(`HTLC cltv_expiry ${htlc.cltvExpiry}, claimed at height ${claimed.height}`);
    return { a, inv, preimage, paying };
  }

  it('the payer gone for good: B goes on chain at the deadline and its HTLC-success with the preimage confirms before the expiry', async (t) => {
    await paidThenCut(t, { payerStays: false });
  });

  it('the payer still up but never reconnected: its payment completes with the preimage read from B’s HTLC-success on chain', async (t) => {
    const { a, inv, preimage, paying } = await paidThenCut(t, { payerStays: true });
    const aRpc = (method: string, params: Record<string, unknown> = {}) => rpcCall(join(a.dir, 'regtest', 'lightning-rpc'), method, params);
    let pays: { status: string; preimage?: string }[] = [];
    await until(
      async () => {
        pays = ((await aRpc('listpays', { payment_hash: inv.payment_hash })).result as { pays: { status: string; preimage?: string }[] }).pays;
        return pays[0]?.status === 'complete';
      },
      { what: 'A’s payment complete', timeoutMs: 30_000 },
    ).catch(() => assert.fail(`A's payment: ${JSON.stringify(pays)}`));
    assert.equal(pays[0]!.preimage, preimage.toString('hex'));
    const answer = await paying;
    assert.deepEqual([answer?.result?.status, answer?.result?.payment_preimage], ['complete', preimage.toString('hex')], 'the pay call returns the preimage');
  });
});
