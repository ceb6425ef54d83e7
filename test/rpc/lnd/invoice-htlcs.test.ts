/**
 * LND's `Invoice.htlcs` of a paid invoice are the HTLCs that paid it, as the receiving intake took them:
 * two anode nodes on btcd regtest with one channel, A pays B's invoice and sends B a keysend (CLN's `pay`
 * and `keysend`), and B's LookupInvoice (REST) lists each HTLC on the channel's short id with its index,
 * amount, CLTV expiry, accept height and time, the MPP total, SETTLED at the settle date.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scidFromString } from '../../../src/gossip/messages.js';
import { useBtcd } from '../../harness/btcd.js';
import { fundWallet, startNode, type TestNode } from '../../harness/daemon.js';
import { until } from '../../harness/wait.js';
import { rpcCall } from '../harness.js';
import { rest, type TestLndRpc } from './harness.js';

const btcd = useBtcd('invoice htlcs');

interface Htlc {
  chan_id: string;
  htlc_index: string;
  amt_msat: string;
  accept_height: number;
  accept_time: string;
  resolve_time: string;
  expiry_height: number;
  state: string;
  mpp_total_amt_msat: string;
}

describe('LND invoice HTLCs on btcd regtest', { skip: btcd.skip, timeout: 180_000 }, () => {
  let a: TestNode;
  let b: TestNode;
  before(async () => {
    if (btcd.skip) return;
    a = await startNode(btcd.node);
    b = await startNode(btcd.node);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('an invoice paid and a keysend list the HTLCs that paid them', async () => {
    await fundWallet(btcd.node, a, 2_000_000n);
    await a.node.peers.connect(Buffer.from(b.id, 'hex'), '127.0.0.1', b.port);
    await a.channels.fundChannel({ peerId: b.id, amountSat: 1_000_000n, feeratePerKw: 1000 });
    await btcd.node.mineUntil(() => a.channels.list()[0]?.data.state === 'CHANNELD_NORMAL' && b.channels.list()[0]?.data.state === 'CHANNELD_NORMAL', 'both NORMAL');
    const scid = b.channels.list()[0]!.data.shortChannelId!;
    const chanId = String(scidFromString(scid));

    const aRpc = join(a.dir, 'regtest', 'lightning-rpc');
    const bRpc = join(b.dir, 'regtest', 'lightning-rpc');
    const inv = (await rpcCall(bRpc, 'invoice', { amount_msat: 4_321_000, label: 'htlcs', description: 'htlcs' })).result as { bolt11: string; payment_hash: string };
    const heightBefore = b.channels.blockHeight;
    const t0 = Math.floor(Date.now() / 1000);
    assert.equal(((await rpcCall(aRpc, 'pay', { bolt11: inv.bolt11 })).result as { status: string }).status, 'complete');
    const ks = (await rpcCall(aRpc, 'keysend', { destination: b.id, amount_msat: 1_234_000 })).result as { payment_hash: string; status: string };
    assert.equal(ks.status, 'complete');

    const lnd = b.node.lnd!;
    const t = { admin: readFileSync(lnd.adminMacaroonPath), cert: lnd.certPem, restPort: lnd.rest[0]!.port } as unknown as TestLndRpc;
    const lookup = async (hash: string) => {
      await until(async () => ((await rest(t, 'GET', `/v1/invoice/${hash}`)).body as { state: string }).state === 'SETTLED', { what: 'invoice settled', timeoutMs: 20_000 });
      return (await rest(t, 'GET', `/v1/invoice/${hash}`)).body as { settle_date: string; htlcs: Htlc[] };
    };
    const paid = await lookup(inv.payment_hash);
    assert.equal(paid.htlcs.length, 1, JSON.stringify(paid.htlcs));
    const [h] = paid.htlcs as [Htlc];
    assert.deepEqual([h.chan_id, h.htlc_index, h.amt_msat, h.mpp_total_amt_msat, h.state, h.resolve_time], [chanId, '0', '4321000', '4321000', 'SETTLED', paid.settle_date]);
    assert.ok(h.accept_height >= heightBefore && h.accept_height <= b.channels.blockHeight, `accept_height ${h.accept_height}`);
    assert.ok(h.expiry_height > h.accept_height, 'the HTLC expires after it was accepted');
    assert.ok(Number(h.accept_time) >= t0 && Number(h.accept_time) <= Number(h.resolve_time), `accept_time ${h.accept_time}`);

    const keysend = await lookup(ks.payment_hash);
    assert.deepEqual(
      keysend.htlcs.map((x) => [x.chan_id, x.htlc_index, x.amt_msat, x.mpp_total_amt_msat, x.state]),
      [[chanId, '1', '1234000', '1234000', 'SETTLED']],
    );
  });
});
