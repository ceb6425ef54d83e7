/**
 * Channel balances to the millisatoshi (issue 14): two anodes on btcd regtest, A pays B an invoice of
 * 1 234 567 msat (not a whole satoshi). Every msat figure of the balances is exact on both sides: the
 * Prometheus gauge `anode_channel_balance_msat`, LND's ChannelBalance (REST) `*_msat` fields (its `sat`
 * fields those rounded down, as LND's), and CLN's `listfunds` `our_amount_msat` — computed from what
 * was paid, not from the node's own sums.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { useBtcd } from '../harness/btcd.js';
import { startNode, type TestNode } from '../harness/daemon.js';
import { until } from '../harness/wait.js';
import { rest, type TestLndRpc } from '../rpc/lnd/harness.js';
import { rpcCall } from '../rpc/harness.js';
import { openChannel } from '../channel/onchain-sums.js';
import { onlyChannel } from '../channel/nodes.js';
import { parsePromText, sampleValue } from './prom-text.js';

const btcd = useBtcd('channel balances in msat');

const PAID_MSAT = 1_234_567n;
const CAPACITY_SAT = 1_000_000n;

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

describe('channel balances to the millisatoshi', { skip: btcd.skip, timeout: 180_000 }, () => {
  const running: TestNode[] = [];
  after(async () => {
    for (const n of running) await n.stop().catch(() => undefined);
  });

  for (const format of ['static_remotekey', 'anchors_zero_fee_htlc_tx'] as const)
    it(`${format}: after a payment of ${PAID_MSAT} msat, the metrics, LND ChannelBalance and CLN listfunds are exact`, async () => {
      const a = await startNode(btcd.node, { extra: ['--metrics-listen=127.0.0.1:0'] });
      const b = await startNode(btcd.node, { extra: ['--metrics-listen=127.0.0.1:0'] });
      running.push(a, b);
      await openChannel(btcd.node, a, b, { format, capacitySat: CAPACITY_SAT, pushMsat: 0n });
      const rpc = (n: TestNode, method: string, params: Record<string, unknown> = {}) => rpcCall(join(n.dir, 'regtest', 'lightning-rpc'), method, params);
      const inv = (await rpc(b, 'invoice', { amount_msat: Number(PAID_MSAT), label: 'odd', description: 'not a whole satoshi' })).result as { bolt11: string };
      const paid = await rpc(a, 'pay', { bolt11: inv.bolt11 });
      assert.ok(paid.result, JSON.stringify(paid.error));
      await until(() => onlyChannel(a).data.localCommit.spec.htlcs.length === 0 && onlyChannel(b).data.localCommit.spec.htlcs.length === 0 && onlyChannel(b).data.localCommit.spec.toLocalMsat === PAID_MSAT, { what: 'the payment settled on both commitments', timeoutMs: 30_000 });
      await onlyChannel(a).idle();
      await onlyChannel(b).idle();

      const lndOf = (n: TestNode): TestLndRpc => ({ admin: readFileSync(n.node.lnd!.adminMacaroonPath), cert: n.node.lnd!.certPem, restPort: n.node.lnd!.rest[0]!.port }) as unknown as TestLndRpc;
      type Amount = { sat: string; msat: string };
      const balance = async (n: TestNode) => (await rest(lndOf(n), 'GET', '/v1/balance/channels')).body as { balance: string; local_balance: Amount; remote_balance: Amount };
      // A opened: the commitment fee (and the two anchors) come off its side, whole satoshis.
      const channel = ((await rest(lndOf(a), 'GET', '/v1/channels')).body as { channels: { commit_fee: string }[] }).channels[0]!;
      const openerCostMsat = (BigInt(channel.commit_fee) + (format === 'static_remotekey' ? 0n : 660n)) * 1000n;
      const expected = {
        a: { local: CAPACITY_SAT * 1000n - PAID_MSAT - openerCostMsat, remote: PAID_MSAT, ours: CAPACITY_SAT * 1000n - PAID_MSAT },
        b: { local: PAID_MSAT, remote: CAPACITY_SAT * 1000n - PAID_MSAT - openerCostMsat, ours: PAID_MSAT },
      };
      for (const [n, e] of [[a, expected.a], [b, expected.b]] as const) {
        const m = parsePromText(await scrape(n.node.metrics!.address.port));
        assert.equal(sampleValue(m, 'anode_channel_balance_msat', { side: 'local' }), Number(e.local), 'metrics: local');
        assert.equal(sampleValue(m, 'anode_channel_balance_msat', { side: 'remote' }), Number(e.remote), 'metrics: remote');
        const bal = await balance(n);
        assert.deepEqual(bal.local_balance, { sat: String(e.local / 1000n), msat: String(e.local) }, 'ChannelBalance local_balance');
        assert.deepEqual(bal.remote_balance, { sat: String(e.remote / 1000n), msat: String(e.remote) }, 'ChannelBalance remote_balance');
        assert.equal(bal.balance, String(e.local / 1000n));
        const funds = (await rpc(n, 'listfunds')).result as { channels: { our_amount_msat: number }[] };
        assert.equal(funds.channels[0]!.our_amount_msat, Number(e.ours), 'listfunds our_amount_msat');
      }
      await a.stop();
      await b.stop();
    });
});
